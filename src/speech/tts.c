/* tts.c - local speech synthesis: argument checks and engine dispatch.
 *
 * Each engine lives in its own file behind one function with the
 * signature of tts_synth(), and is picked here from opts->engine, so the
 * checks every engine needs (empty text, defaults) are done once.
 * Engines: espeak-ng (tts_espeak.c) and flite (tts_flite.c).
 */

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <re.h>
#include "speech/tts.h"

typedef int (tts_synth_h)(const struct tts_opts *opts, const char *text,
			  int16_t **pcmp, size_t *np);

/* tts_espeak.c */
int tts_espeak_synth(const struct tts_opts *opts, const char *text,
		     int16_t **pcmp, size_t *np);
/* tts_flite.c */
int tts_flite_synth(const struct tts_opts *opts, const char *text,
		    int16_t **pcmp, size_t *np);


static tts_synth_h * const engines[] = {
	[TTS_ESPEAK] = tts_espeak_synth,
	[TTS_FLITE]  = tts_flite_synth,
};


static bool is_blank(const char *s)
{
	for (; *s; s++) {
		if (!isspace((unsigned char)*s))
			return false;
	}

	return true;
}


int tts_synth(const struct tts_opts *opts, const char *text,
	      int16_t **pcmp, size_t *np)
{
	static const struct tts_opts defaults = {TTS_ESPEAK, NULL, 1.0};

	if (!text || !pcmp || !np || is_blank(text))
		return EINVAL;

	/* NULL opts: the default engine and voice at normal speed */
	if (!opts)
		opts = &defaults;

	if ((size_t)opts->engine >= ARRAY_SIZE(engines) ||
	    !engines[opts->engine])
		return EINVAL;

	return engines[opts->engine](opts, text, pcmp, np);
}
