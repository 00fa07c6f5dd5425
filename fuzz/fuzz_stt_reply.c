/* fuzz_stt_reply.c - libFuzzer target for the parsers of remote speech
 * providers' replies (src/agent/remote_speech.c): OpenAI transcription
 * JSON, Deepgram streaming messages and the WAV header of a TTS reply.
 * Every input goes through all three, from an exact-size heap copy so
 * ASan catches any read past the end.
 *
 * Properties checked (abort() on violation), beyond "does not crash":
 *  - failures are EBADMSG (WAV: EBADMSG or ENODATA) and leave the
 *    outputs untouched; input the strict JSON parser rejects is rejected;
 *  - texts and transcripts are trimmed NUL-terminated strings; only
 *    Results messages carry a transcript;
 *  - a parsed WAV header is sane (rate, channels, data offset inside
 *    the input), every prefix shorter than its data offset asks for more
 *    (ENODATA) and every longer prefix gives the same answer;
 *  - an input that needs more (ENODATA) needs more at every prefix.
 */
#include <re.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "agent/remote_speech.h"
#include "audio/wav.h"
#include "json/json.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}


static void check_trimmed(const char *s)
{
	size_t n;

	if (!s)
		abort();

	n = strlen(s);
	if (n && (is_space(s[0]) || is_space(s[n - 1])))
		abort();
}


static bool json_ok(const char *s, size_t n)
{
	struct odict *o = NULL;
	struct json_err jerr;

	if (json_parse(&o, NULL, s, n, &jerr))
		return false;

	mem_deref(o);

	return true;
}


static void fuzz_openai(const char *s, size_t n, bool valid_json)
{
	char *canary = (char *)&canary, *text = canary;
	int err;

	err = rspeech_openai_text(&text, s, n);
	if (err) {
		if (err != EBADMSG || text != canary)
			abort();
		return;
	}

	if (!valid_json)
		abort();

	check_trimmed(text);
	mem_deref(text);
}


static void fuzz_deepgram(const char *s, size_t n, bool valid_json)
{
	struct rspeech_dg_msg m;
	int err;

	memset(&m, 0xa5, sizeof(m));

	err = rspeech_dg_parse(&m, s, n);
	if (err) {
		const uint8_t *b = (const uint8_t *)&m;

		if (err != EBADMSG)
			abort();
		for (size_t i = 0; i < sizeof(m); i++) {
			if (b[i] != 0xa5)
				abort();
		}
		return;
	}

	if (!valid_json)
		abort();

	switch (m.type) {

	case RSPEECH_DG_RESULTS:
		check_trimmed(m.transcript);
		if (m.is_final > 1 || m.from_finalize > 1)
			abort();
		break;

	case RSPEECH_DG_ERROR:
	case RSPEECH_DG_OTHER:
		if (m.transcript)
			abort();
		break;

	default:
		abort();
	}

	mem_deref(m.transcript);
}


static int wav_at(struct wav_info *w, const uint8_t *data, size_t n)
{
	uint8_t *copy = malloc(n ? n : 1);
	int err;

	if (!copy)
		abort();
	memcpy(copy, data, n);
	err = wav_header_parse(w, copy, n);
	free(copy);

	return err;
}


static void fuzz_wav(const uint8_t *data, size_t size)
{
	struct wav_info w, w2;
	size_t n, step;
	int err;

	memset(&w, 0xa5, sizeof(w));
	err = wav_header_parse(&w, data, size);

	if (err == ENODATA || err == EBADMSG) {
		const uint8_t *b = (const uint8_t *)&w;

		for (size_t i = 0; i < sizeof(w); i++) {
			if (b[i] != 0xa5)
				abort();
		}
		if (err == ENODATA) {
			step = size <= 256 ? 1 : size / 64;
			for (n = 0; n < size; n += step) {
				if (wav_at(&w2, data, n) != ENODATA)
					abort();
			}
		}
		return;
	}
	if (err)
		abort();

	if (!w.srate || w.channels < 1 || w.channels > 2 ||
	    w.data_off < 12 + 8 + 16 + 8 || w.data_off > size ||
	    w.data_off > WAV_MAXHDR + 8 || !w.data_len)
		abort();

	/* shorter than the header: more please; longer: the same answer */
	step = w.data_off <= 256 ? 1 : w.data_off / 64;
	for (n = 0; n < w.data_off; n += step) {
		if (wav_at(&w2, data, n) != ENODATA)
			abort();
	}
	for (n = w.data_off; n <= size; n += (size - w.data_off) / 4 + 1) {
		if (wav_at(&w2, data, n) || w2.srate != w.srate ||
		    w2.channels != w.channels ||
		    w2.data_off != w.data_off || w2.data_len != w.data_len)
			abort();
	}
}


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = malloc(size ? size : 1);
	bool valid_json;

	if (!copy)
		abort();
	memcpy(copy, data, size);

	valid_json = json_ok(copy, size);
	fuzz_openai(copy, size, valid_json);
	fuzz_deepgram(copy, size, valid_json);
	free(copy);

	fuzz_wav(data, size);

	return 0;
}
