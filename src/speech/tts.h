/* tts.h - local speech synthesis to 8 kHz, 16-bit mono PCM.
 *
 * Two engines: espeak-ng (voices by espeak name, default "en-us") and
 * flite (voices "kal", 8 kHz native and the default, and "slt").
 * Synchronous and thread-safe: call it from a worker thread, never from
 * the loop. Both engines keep global state, so calls to each engine are
 * serialised (one synthesis per engine at a time).
 */
#ifndef PARLEY_TTS_H
#define PARLEY_TTS_H

#include <stddef.h>
#include <stdint.h>

enum tts_engine { TTS_ESPEAK, TTS_FLITE };

struct tts_opts {
	enum tts_engine engine;
	const char *voice;     /* engine voice name; NULL or "" for the default */
	double speed;          /* 1.0 = normal */
};

/**
 * Speak text into a mem-allocated buffer of 8 kHz samples. ENOENT for an
 * unknown voice, EINVAL for empty text.
 */
int tts_synth(const struct tts_opts *opts, const char *text,
	      int16_t **pcmp, size_t *np);

#endif
