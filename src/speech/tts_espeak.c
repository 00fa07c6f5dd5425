/* tts_espeak.c - the espeak-ng engine: text to 8 kHz PCM in memory.
 *
 * espeak-ng is one global synthesiser (voice, parameters, callback and
 * buffers are all process state, and none of it is locked), so it is
 * initialised once and every use of it, from any thread, runs under
 * one mutex; nothing else in the process may call espeak-ng directly.
 * Synchronous output mode hands the samples to a callback inside
 * espeak_ng_Synthesize() and opens no audio device. The espeak_ng_*
 * calls are used rather than espeak_Initialize(), which prints errors
 * to stderr and may exit(). Voice and rate are set on every call, as the
 * previous caller may have left others.
 *
 * Output is espeak's native rate (22050 Hz for its voices) resampled to
 * the 8 kHz of a call.
 */

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <re.h>
#include <espeak-ng/espeak_ng.h>
#include <espeak-ng/speak_lib.h>
#include "audio/resample.h"
#include "speech/tts.h"

enum {
	OUT_RATE     = 8000,
	NORMAL_WPM   = 175,
	BUFLEN_MS    = 200,     /* audio handed to the callback per call */
	MAX_VOICE    = 40,      /* espeak's own voice-name buffers */
};

#define DEFAULT_VOICE "en-us"

/* the samples of one synthesis, grown by the callback */
struct collect {
	int16_t *pcm;
	size_t n;
	size_t cap;
	int err;
};

static pthread_once_t once = PTHREAD_ONCE_INIT;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int init_err;            /* set once, read after pthread_once */
static int native_rate;         /* set once, read after pthread_once */
static struct collect *cur;     /* LOCK: lock */


int tts_espeak_synth(const struct tts_opts *opts, const char *text,
		     int16_t **pcmp, size_t *np);


static int synth_handler(short *wav, int n, espeak_EVENT *events)
{
	struct collect *c = cur;
	size_t need;

	if (!c || !wav || n <= 0)
		return 0;

	need = c->n + (size_t)n;
	if (need > c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 16384;
		int16_t *pcm;

		while (cap < need)
			cap *= 2;

		/* libre's mem_realloc() does not take NULL */
		if (c->pcm)
			pcm = mem_realloc(c->pcm, cap * sizeof(*pcm));
		else
			pcm = mem_alloc(cap * sizeof(*pcm), NULL);
		if (!pcm) {
			c->err = ENOMEM;
			return 1;       /* abort the synthesis */
		}
		c->pcm = pcm;
		c->cap = cap;
	}

	memcpy(c->pcm + c->n, wav, (size_t)n * sizeof(*wav));
	c->n = need;

	return 0;
}


static void init(void)
{
	espeak_ng_ERROR_CONTEXT ctx = NULL;
	espeak_ng_STATUS st;

	/* NULL: $ESPEAK_DATA_PATH or the compiled-in espeak-ng-data */
	espeak_ng_InitializePath(NULL);

	st = espeak_ng_Initialize(&ctx);
	if (st != ENS_OK) {
		espeak_ng_ClearErrorContext(&ctx);
		init_err = ENOTSUP;     /* espeak-ng-data missing or bad */
		return;
	}

	st = espeak_ng_InitializeOutput(ENOUTPUT_MODE_SYNCHRONOUS, BUFLEN_MS,
					NULL);
	if (st != ENS_OK) {
		init_err = ENOTSUP;
		return;
	}

	espeak_SetSynthCallback(synth_handler);
	native_rate = espeak_ng_GetSampleRate();
	if (native_rate <= 0) {
		init_err = ENOTSUP;
		return;
	}

	/* The first utterance after start-up comes out shorter than every
	 * later one (espeak keeps state between utterances), so speak one
	 * into the void here and let all callers see the same state. */
	if (espeak_ng_SetVoiceByName(DEFAULT_VOICE) == ENS_OK)
		(void)espeak_ng_Synthesize("a.", 3, 0, POS_CHARACTER, 0,
					   espeakCHARS_UTF8, NULL, NULL);
}


/* Voice names come from agent config: keep them to plain names that
 * espeak resolves inside its voices directory. MBROLA voices ("mb-en1")
 * are refused: espeak would fork an mbrola process for them and print
 * to stderr when it is missing. */
static bool voice_ok(const char *v)
{
	size_t len = strlen(v);

	if (!len || len >= MAX_VOICE || v[0] == '/' || strstr(v, "..") ||
	    !strncasecmp(v, "mb-", 3) || strstr(v, "mb/"))
		return false;

	for (; *v; v++) {
		if ((unsigned char)*v < 0x20 || *v == '\\')
			return false;
	}

	return true;
}


static int wpm(double speed)
{
	double r;

	/* 0 (a zeroed tts_opts) and nonsense mean normal speed */
	if (!isfinite(speed) || speed <= 0)
		speed = 1.0;

	r = NORMAL_WPM * speed;
	if (r < espeakRATE_MINIMUM)
		r = espeakRATE_MINIMUM;
	if (r > espeakRATE_MAXIMUM)
		r = espeakRATE_MAXIMUM;

	return (int)lround(r);
}


/* Synthesise at the native rate into c. Called with the lock held. */
static int speak_locked(struct collect *c, const char *voice, int rate,
			const char *text)
{
	espeak_ng_STATUS st;

	st = espeak_ng_SetVoiceByName(voice);
	if (st == ENS_VOICE_NOT_FOUND)
		return ENOENT;
	if (st != ENS_OK)
		return EIO;

	st = espeak_ng_SetParameter(espeakRATE, rate, 0);
	if (st != ENS_OK)
		return EIO;

	cur = c;
	st = espeak_ng_Synthesize(text, strlen(text) + 1, 0, POS_CHARACTER,
				  0, espeakCHARS_UTF8, NULL, NULL);
	cur = NULL;

	if (c->err)
		return c->err;
	if (st != ENS_OK)
		return EIO;

	return 0;
}


int tts_espeak_synth(const struct tts_opts *opts, const char *text,
		     int16_t **pcmp, size_t *np)
{
	struct collect c = {NULL, 0, 0, 0};
	const char *voice;
	int err;

	if (!opts || !text || !pcmp || !np)
		return EINVAL;

	voice = opts->voice && opts->voice[0] ? opts->voice : DEFAULT_VOICE;
	if (!voice_ok(voice))
		return ENOENT;

	pthread_once(&once, init);
	if (init_err)
		return init_err;

	pthread_mutex_lock(&lock);
	err = speak_locked(&c, voice, wpm(opts->speed), text);
	pthread_mutex_unlock(&lock);
	if (err)
		goto out;

	err = resample(pcmp, np, c.pcm, c.n, (uint32_t)native_rate,
		       OUT_RATE);

 out:
	mem_deref(c.pcm);

	return err;
}
