/* fuzz_wav.c - libFuzzer target for wav_read() in src/audio/wav.c.
 *
 * wav_read() takes a path, so each input is written to a per-process
 * file in /tmp (reused across inputs, removed at exit). Properties
 * checked (abort() on violation), beyond "does not crash":
 *  - the result is 0 or EBADMSG (or ENOMEM), nothing else;
 *  - on success channels is 1 or 2, the rate is not 0, and all
 *    nframes * channels samples are readable (each one is touched, so
 *    ASan sees a short buffer);
 *  - the samples, written back with wav_writer, read back identical.
 */
#include <re.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "audio/wav.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char in_path[64], out_path[64];


static void cleanup(void)
{
	(void)unlink(in_path);
	(void)unlink(out_path);
}


static void put_file(const uint8_t *data, size_t size)
{
	FILE *f;

	if (!in_path[0]) {
		snprintf(in_path, sizeof(in_path), "/tmp/fuzz_wav.%d.in.wav",
			 (int)getpid());
		snprintf(out_path, sizeof(out_path),
			 "/tmp/fuzz_wav.%d.out.wav", (int)getpid());
		atexit(cleanup);
	}

	f = fopen(in_path, "wb");
	if (!f)
		abort();
	if (size && fwrite(data, 1, size, f) != size)
		abort();
	if (fclose(f))
		abort();
}


static void check_rewrite(const int16_t *s, size_t nframes, uint32_t srate,
			  unsigned ch)
{
	struct wav_writer *w = NULL;
	int16_t *s2 = NULL;
	size_t n2 = 0;
	uint32_t srate2 = 0;
	unsigned ch2 = 0;

	if (wav_writer_open(&w, out_path, srate, ch))
		abort();
	if (wav_write(w, s, nframes) || wav_frames(w) != nframes)
		abort();
	w = mem_deref(w);

	if (wav_read(out_path, &s2, &n2, &srate2, &ch2))
		abort();
	if (n2 != nframes || srate2 != srate || ch2 != ch ||
	    memcmp(s2, s, nframes * ch * sizeof(*s)))
		abort();

	mem_deref(s2);
}


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int16_t *s = NULL;
	size_t nframes = 0, i;
	uint32_t srate = 0;
	static volatile uint32_t sum;
	unsigned ch = 0;
	int err;

	put_file(data, size);

	err = wav_read(in_path, &s, &nframes, &srate, &ch);
	if (err == EBADMSG || err == ENOMEM)
		return 0;
	if (err || !s)
		abort();

	if (ch < 1 || ch > 2 || !srate)
		abort();

	/* the buffer holds every sample it claims to */
	for (i = 0, sum = 0; i < nframes * ch; i++)
		sum += (uint16_t)s[i];
	if (nframes * ch * 2 > size)
		abort();

	/* our writer takes rates up to UINT32_MAX / 4 */
	if (srate <= UINT32_MAX / 4)
		check_rewrite(s, nframes, srate, ch);

	mem_deref(s);

	return 0;
}
