/* tts_flite.c - the flite engine: text to 8 kHz PCM in memory.
 *
 * Two voices are linked in: "kal" (diphone, 8 kHz native: no resampling,
 * the default) and "slt" (clustergen, 16 kHz, resampled to 8 kHz).
 *
 * flite keeps process state that is not locked (the voices' feature
 * sets, which hold the speed; its lexicon caches; cst_errjmp), so it is
 * initialised once and every use of it, from any thread, runs under one
 * mutex; nothing else in the process may call flite. Speed is the
 * voice's "duration_stretch" feature, set on every call since the
 * previous caller may have left another.
 *
 * flite's cst_error() calls exit() unless cst_errjmp is set: the
 * synthesis runs under a setjmp() so that an internal flite error
 * becomes EIO instead of ending the server (what flite allocated for
 * that utterance is lost then; it should never happen).
 */

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <re.h>
#include <flite/flite.h>
#include "audio/resample.h"
#include "speech/tts.h"

enum { OUT_RATE = 8000 };

/* speed factors outside this range are clamped */
#define MIN_SPEED 0.25
#define MAX_SPEED 4.0

/* the voice libraries' registration functions (they have no header) */
cst_voice *register_cmu_us_kal(const char *voxdir);
cst_voice *register_cmu_us_slt(const char *voxdir);

struct voice {
	const char *name;
	cst_voice *(*reg)(const char *voxdir);
	cst_voice *v;           /* set once, under pthread_once */
};

static struct voice voices[] = {
	{"kal", register_cmu_us_kal, NULL},     /* the default */
	{"slt", register_cmu_us_slt, NULL},
};

static pthread_once_t once = PTHREAD_ONCE_INIT;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int init_err;            /* set once, read after pthread_once */


int tts_flite_synth(const struct tts_opts *opts, const char *text,
		    int16_t **pcmp, size_t *np);


/* Voices live as long as the process: flite offers no way to free
 * one that was used without leaking its lexicon anyway. */
static void init(void)
{
	size_t i;

	flite_init();

	for (i = 0; i < ARRAY_SIZE(voices); i++) {
		voices[i].v = voices[i].reg(NULL);
		if (!voices[i].v) {
			init_err = ENOTSUP;
			return;
		}
	}
}


static struct voice *voice_find(const char *name)
{
	size_t i;

	if (!name || !name[0])
		return &voices[0];

	for (i = 0; i < ARRAY_SIZE(voices); i++) {
		if (!strcasecmp(name, voices[i].name))
			return &voices[i];
	}

	return NULL;
}


static float stretch(double speed)
{
	/* 0 (a zeroed tts_opts) and nonsense mean normal speed */
	if (!isfinite(speed) || speed <= 0)
		speed = 1.0;
	if (speed < MIN_SPEED)
		speed = MIN_SPEED;
	if (speed > MAX_SPEED)
		speed = MAX_SPEED;

	return (float)(1.0 / speed);
}


/* Synthesise with the lock held. *wavep: flite's wave, or NULL. */
static int speak_locked(cst_voice *v, float dur, const char *text,
			cst_wave **wavep)
{
	jmp_buf jb;
	cst_wave *volatile w = NULL;

	feat_set_float(v->features, "duration_stretch", dur);

	cst_errjmp = &jb;
	if (setjmp(jb)) {
		cst_errjmp = NULL;
		return EIO;
	}
	w = flite_text_to_wave(text, v);
	cst_errjmp = NULL;

	*wavep = w;

	return w ? 0 : EIO;
}


int tts_flite_synth(const struct tts_opts *opts, const char *text,
		    int16_t **pcmp, size_t *np)
{
	struct voice *voice;
	cst_wave *w = NULL;
	int err;

	if (!opts || !text || !pcmp || !np)
		return EINVAL;

	voice = voice_find(opts->voice);
	if (!voice)
		return ENOENT;

	pthread_once(&once, init);
	if (init_err)
		return init_err;

	pthread_mutex_lock(&lock);
	err = speak_locked(voice->v, stretch(opts->speed), text, &w);
	pthread_mutex_unlock(&lock);
	if (err)
		goto out;

	if (w->num_channels != 1 || w->sample_rate <= 0 ||
	    w->num_samples < 0) {
		err = EPROTO;
		goto out;
	}

	/* the wave is ours now; no lock needed to read and free it */
	err = resample(pcmp, np, w->samples, (size_t)w->num_samples,
		       (uint32_t)w->sample_rate, OUT_RATE);

 out:
	if (w)
		delete_wave(w);

	return err;
}
