/* remote_speech.h - what the remote speech providers (stt_openai,
 * stt_deepgram, tts_openai) share: reading their config, building their
 * URLs, the WAV bytes they send and receive, and the parsers of the
 * providers' replies (also the fuzz target's subject).
 *
 * Everything here is pure (no loop, no I/O) and returns errno-style ints.
 * WAV headers are written with audio/wav.h's wav_header().
 */
#ifndef PARLEY_AGENT_REMOTE_SPEECH_H
#define PARLEY_AGENT_REMOTE_SPEECH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct odict;
struct re_printf;

/**
 * A string setting of a provider config: cfg[key] when it is a non-empty
 * string, else dflt (cfg may be NULL).
 */
const char *rspeech_cfg_str(const struct odict *cfg, const char *key,
			    const char *dflt);

/** A number setting (int or double), else dflt. */
double rspeech_cfg_num(const struct odict *cfg, const char *key, double dflt);

/** True when s can go into an HTTP header value (no control bytes). */
bool rspeech_hdr_safe(const char *s);

/**
 * *urlp = base (trailing '/' removed) + path, mem-allocated. base NULL or
 * empty: dflt.
 */
int rspeech_url(char **urlp, const char *base, const char *dflt,
		const char *path);

/** re_printf handler: s percent-encoded for a URL query value. */
int rspeech_pct_print(struct re_printf *pf, const char *s);

/* WAV replies are read with wav_header_parse() (audio/wav.h). */

/**
 * The text of an OpenAI-compatible transcription reply
 * ({"text":"...", ...}), whitespace trimmed, mem-allocated. EBADMSG for
 * anything else.
 */
int rspeech_openai_text(char **textp, const char *body, size_t len);

enum rspeech_dg_type {
	RSPEECH_DG_RESULTS,    /* a transcript (interim or final) */
	RSPEECH_DG_ERROR,      /* the server reports an error */
	RSPEECH_DG_OTHER,      /* Metadata, SpeechStarted, UtteranceEnd ... */
};

/** One message of Deepgram's streaming (/v1/listen) protocol. */
struct rspeech_dg_msg {
	enum rspeech_dg_type type;
	char *transcript;      /* RESULTS: mem string, trimmed ("" none) */
	bool is_final;         /* the segment will not change any more */
	bool from_finalize;    /* the answer to a Finalize message */
};

/**
 * Parse a text message from Deepgram. Results need
 * channel.alternatives (an array; empty means no transcript) whose first
 * element has a string transcript. EBADMSG for malformed messages.
 * On success release m->transcript with mem_deref().
 */
int rspeech_dg_parse(struct rspeech_dg_msg *m, const char *msg, size_t len);

#endif
