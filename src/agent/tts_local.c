/* tts_local.c - the local TTS providers "espeak-ng" and "flite":
 * speech/tts.h's engines run on the speech worker pool.
 *
 * The agent's "tts" object picks the voice ("voice", the engine's name
 * for it; unknown: the engine's default voice, with one warning per
 * call) and the speed ("speed", 1.0 normal).
 *
 * Requests are synthesised one at a time per call, in order: the head
 * of st->reqs is the one on the pool, the rest wait. Each request's
 * audio comes back as one chunk (last = true); a sentence takes a few
 * ms to synthesise, so streaming within it would gain nothing.
 *
 * A request is a mem object with two references while it is on the
 * pool, the state's (its place in st->reqs) and the pool's (dropped in
 * done_h), so it outlives the state: cancel and the destructor only
 * unlink requests and clear req->st, and done_h throws away the audio
 * of a request whose st is gone. The handler may release the state, so
 * nothing touches the state after calling it; a next request that
 * could not be put on the pool reports its error from a zero timer.
 */

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <re.h>
#include "agent/provider.h"
#include "core/log.h"
#include "core/pool.h"
#include "speech/tts.h"

struct tts_local {
	struct pool *pool;          /* borrowed: env outlives calls */
	enum tts_engine engine;
	char *voice;                /* NULL: the engine's default */
	double speed;
	tts_audio_h *audioh;
	void *arg;

	struct list reqs;           /* struct req; the head is under way */
	struct tmr tmr;             /* reports a failed submission */
};

struct req {
	struct le le;
	struct tts_local *st;       /* NULL once dropped: audio discarded */
	uint32_t id;

	/* the worker reads these; the loop does not touch them meanwhile */
	char *text;
	struct tts_opts opts;
	char *voice;                /* a reference backing opts.voice */

	/* the worker writes these; the loop reads them after done_h */
	int err;
	int16_t *pcm;
	size_t n;
	bool fallback;              /* the voice was unknown */

	bool done;                  /* loop thread */
};


static void advance(struct tts_local *st);


static void req_destructor(void *data)
{
	struct req *req = data;

	list_unlink(&req->le);
	mem_deref(req->text);
	mem_deref(req->voice);
	mem_deref(req->pcm);
}


static void req_drop(struct req *req)
{
	list_unlink(&req->le);
	req->st = NULL;
	mem_deref(req);             /* the state's reference */
}


static void work_h(void *ctx, void *arg)
{
	struct req *req = arg;

	req->err = tts_synth(&req->opts, req->text, &req->pcm, &req->n);
	if (req->err == ENOENT && req->opts.voice) {
		req->fallback = true;
		req->opts.voice = NULL;
		req->err = tts_synth(&req->opts, req->text, &req->pcm,
				     &req->n);
	}
}


static void done_h(int err, void *arg)
{
	struct req *req = arg;
	struct tts_local *st = req->st;

	if (!st) {
		mem_deref(req);     /* the pool's reference, the last */
		return;
	}

	req->done = true;
	mem_deref(req);             /* the pool's; st->reqs still holds it */

	advance(st);
}


static void advance_tmr_h(void *arg)
{
	advance(arg);
}


/* Put req (the head) on the pool with the state's current settings. */
static int submit(struct tts_local *st, struct req *req)
{
	int err;

	req->voice = mem_ref(st->voice);
	req->opts.engine = st->engine;
	req->opts.voice = req->voice;
	req->opts.speed = st->speed;

	err = pool_submit(st->pool, work_h, done_h, mem_ref(req));
	if (err)
		mem_deref(req);     /* the pool's reference */

	return err;
}


/* The head is done: start the next request, then hand the audio over. */
static void advance(struct tts_local *st)
{
	struct req *req = list_ledata(list_head(&st->reqs));
	struct req *next;
	int16_t *pcm;
	int err;

	if (!req || !req->done)
		return;

	list_unlink(&req->le);
	req->st = NULL;

	if (req->fallback && st->voice) {
		log_warn("tts: unknown voice \"%s\", using the default",
			 st->voice);
		st->voice = mem_deref(st->voice);
	}

	next = list_ledata(list_head(&st->reqs));
	if (next) {
		err = submit(st, next);
		if (err) {
			next->err = err;
			next->done = true;
			tmr_start(&st->tmr, 0, advance_tmr_h, st);
		}
	}

	pcm = req->pcm;             /* the handler's reference now */
	req->pcm = NULL;

	/* the handler may release st: do not touch it afterwards */
	st->audioh(req->err, req->err ? NULL : pcm, req->err ? 0 : req->n,
		   true, req->id, st->arg);

	if (req->err)
		mem_deref(pcm);
	mem_deref(req);
}


static void local_cancel(void *arg)
{
	struct tts_local *st = arg;

	if (!st)
		return;

	tmr_cancel(&st->tmr);
	while (st->reqs.head)
		req_drop(st->reqs.head->data);
}


static void st_destructor(void *data)
{
	struct tts_local *st = data;

	local_cancel(st);
	mem_deref(st->voice);
}


static double cfg_speed(const struct odict *cfg)
{
	const struct odict_entry *e = cfg ? odict_lookup(cfg, "speed") : NULL;
	double speed = 1.0;

	if (e && e->type == ODICT_INT)
		speed = (double)e->u.integer;
	else if (e && e->type == ODICT_DOUBLE)
		speed = e->u.dbl;

	/* the engines clamp it to what they can do */
	return speed > 0 ? speed : 1.0;
}


static int local_alloc(void **stp, const struct agent_env *env,
		       const struct odict *cfg, tts_audio_h *audioh,
		       void *arg, enum tts_engine engine)
{
	struct tts_local *st;
	const char *voice;
	int err = 0;

	if (!stp || !env || !env->speech || !audioh)
		return EINVAL;

	st = mem_zalloc(sizeof(*st), st_destructor);
	if (!st)
		return ENOMEM;

	st->pool = env->speech;
	st->engine = engine;
	st->speed = cfg_speed(cfg);
	st->audioh = audioh;
	st->arg = arg;
	tmr_init(&st->tmr);

	voice = cfg ? odict_string(cfg, "voice") : NULL;
	if (voice && voice[0])
		err = str_dup(&st->voice, voice);

	if (err)
		mem_deref(st);
	else
		*stp = st;

	return err;
}


static int espeak_alloc(void **stp, const struct agent_env *env,
			const struct odict *cfg, tts_audio_h *audioh,
			void *arg)
{
	return local_alloc(stp, env, cfg, audioh, arg, TTS_ESPEAK);
}


static int flite_alloc(void **stp, const struct agent_env *env,
		       const struct odict *cfg, tts_audio_h *audioh,
		       void *arg)
{
	return local_alloc(stp, env, cfg, audioh, arg, TTS_FLITE);
}


static bool blank(const char *s)
{
	for (; *s; s++) {
		if (!isspace((unsigned char)*s))
			return false;
	}

	return true;
}


static int local_speak(void *arg, const char *text, uint32_t id)
{
	struct tts_local *st = arg;
	struct req *req;
	int err;

	if (!st || !text || blank(text))
		return EINVAL;

	req = mem_zalloc(sizeof(*req), req_destructor);
	if (!req)
		return ENOMEM;

	req->st = st;
	req->id = id;
	err = str_dup(&req->text, text);
	if (err) {
		mem_deref(req);
		return err;
	}

	list_append(&st->reqs, &req->le, req);

	/* the only one: nothing under way, so start it now */
	if (st->reqs.head == &req->le) {
		err = submit(st, req);
		if (err)
			req_drop(req);
	}

	return err;
}


const struct tts_ops tts_espeak_ops = {
	.name   = "espeak-ng",
	.alloc  = espeak_alloc,
	.speak  = local_speak,
	.cancel = local_cancel,
};

const struct tts_ops tts_flite_ops = {
	.name   = "flite",
	.alloc  = flite_alloc,
	.speak  = local_speak,
	.cancel = local_cancel,
};
