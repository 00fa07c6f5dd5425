/* stt_pocketsphinx.c - the "pocketsphinx" STT provider: local, offline
 * recognition on the speech worker pool (speech/worker.h).
 *
 * pocketsphinx recognises a whole utterance at a time here (it is
 * accurate enough only with the dialogue's grammar, and fast: a short
 * answer decodes in a few ms), so the provider buffers the utterance's
 * audio (up to MAX_SECS; the rest is dropped) and at end hands it to
 * one pool job. No interim results.
 *
 * A job is a mem object with two references while it runs, the state's
 * (its place in st->jobs) and the pool's (dropped in done_h), so it
 * outlives the state when the call goes away mid-recognition: cancel
 * and the destructor only unlink jobs and clear job->st, and done_h
 * throws away the result of a job whose st is gone.
 *
 * Utterances may overlap (a new one ends before the previous result is
 * back); their jobs run in parallel on the pool and results come back
 * in utterance order. At most one handler call per loop callback, since
 * the handler may release the state: a result that is ready behind the
 * one just delivered goes out from a zero timer.
 */

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <re.h>
#include "agent/provider.h"
#include "core/pool.h"
#include "speech/worker.h"

enum {
	RATE      = 8000,
	MAX_SECS  = 30,
	MAX_SAMPLES = RATE * MAX_SECS,
	FIRST_CAP = RATE * 2,   /* samples buffered before the first grow */
};

struct stt_ps {
	struct pool *pool;          /* borrowed: env outlives calls */
	stt_result_h *resulth;
	void *arg;

	/* the utterance being fed */
	bool open;
	char *grammar;              /* NULL: free speech */
	int16_t *pcm;
	size_t n, cap;

	struct list jobs;           /* struct job, oldest first */
	struct tmr tmr;             /* delivers a queued-up result */
};

struct job {
	struct le le;
	struct stt_ps *st;          /* NULL once dropped: result discarded */

	/* the worker reads these; the loop does not touch them meanwhile */
	int16_t *pcm;
	size_t n;
	char *grammar;

	/* the worker writes these; the loop reads them after done_h */
	char *text;
	int32_t score;
	int err;

	bool done;                  /* loop thread */
};


static void deliver(struct stt_ps *st);


static void job_destructor(void *data)
{
	struct job *job = data;

	list_unlink(&job->le);
	mem_deref(job->pcm);
	mem_deref(job->grammar);
	mem_deref(job->text);
}


/* Forget a job: its result, if it still comes, is discarded. */
static void job_drop(struct job *job)
{
	list_unlink(&job->le);
	job->st = NULL;
	mem_deref(job);             /* the state's reference */
}


static void work_h(void *ctx, void *arg)
{
	struct job *job = arg;

	job->err = speech_recognize(ctx, job->pcm, job->n, job->grammar,
				    &job->text, &job->score);

	/* the audio is not needed any more: free it here, not later */
	job->pcm = mem_deref(job->pcm);
}


static void done_h(int err, void *arg)
{
	struct job *job = arg;
	struct stt_ps *st = job->st;

	if (!st) {
		mem_deref(job);     /* the pool's reference, the last */
		return;
	}

	job->done = true;
	mem_deref(job);             /* the pool's; st->jobs still holds it */

	deliver(st);
}


static void deliver_tmr_h(void *arg)
{
	deliver(arg);
}


/* Hand the oldest finished result to the handler, in utterance order. */
static void deliver(struct stt_ps *st)
{
	struct job *job = list_ledata(list_head(&st->jobs));
	struct job *next;

	if (!job || !job->done)
		return;

	list_unlink(&job->le);
	job->st = NULL;

	next = list_ledata(list_head(&st->jobs));
	if (next && next->done)
		tmr_start(&st->tmr, 0, deliver_tmr_h, st);

	/* the handler may release st: do not touch it afterwards */
	st->resulth(job->err, job->err ? NULL : job->text, true, st->arg);

	mem_deref(job);
}


static void utt_reset(struct stt_ps *st)
{
	st->open = false;
	st->grammar = mem_deref(st->grammar);
	st->pcm = mem_deref(st->pcm);
	st->n = st->cap = 0;
}


static void stt_ps_cancel(void *arg)
{
	struct stt_ps *st = arg;

	if (!st)
		return;

	utt_reset(st);
	tmr_cancel(&st->tmr);
	while (st->jobs.head)
		job_drop(st->jobs.head->data);
}


static void st_destructor(void *data)
{
	stt_ps_cancel(data);
}


static int stt_ps_alloc(void **stp, const struct agent_env *env,
			const struct odict *cfg, stt_result_h *resulth,
			void *arg)
{
	struct stt_ps *st;

	if (!stp || !env || !env->speech || !resulth)
		return EINVAL;

	st = mem_zalloc(sizeof(*st), st_destructor);
	if (!st)
		return ENOMEM;

	st->pool = env->speech;
	st->resulth = resulth;
	st->arg = arg;
	tmr_init(&st->tmr);

	*stp = st;

	return 0;
}


static int stt_ps_begin(void *arg, const char *grammar)
{
	struct stt_ps *st = arg;

	if (!st)
		return EINVAL;

	/* a begin without end restarts the utterance */
	utt_reset(st);

	if (grammar && grammar[0]) {
		int err = str_dup(&st->grammar, grammar);

		if (err)
			return err;
	}

	st->open = true;

	return 0;
}


static int grow(struct stt_ps *st, size_t need)
{
	size_t cap = st->cap ? st->cap : FIRST_CAP;
	int16_t *pcm;

	while (cap < need)
		cap *= 2;
	if (cap > MAX_SAMPLES)
		cap = MAX_SAMPLES;

	/* libre's mem_realloc() does not take NULL */
	if (st->pcm)
		pcm = mem_realloc(st->pcm, cap * sizeof(*pcm));
	else
		pcm = mem_alloc(cap * sizeof(*pcm), NULL);
	if (!pcm)
		return ENOMEM;

	st->pcm = pcm;
	st->cap = cap;

	return 0;
}


static void stt_ps_feed(void *arg, const int16_t *pcm, size_t n)
{
	struct stt_ps *st = arg;

	if (!st || !st->open || !pcm)
		return;

	/* past MAX_SECS the rest of the utterance is dropped */
	if (n > MAX_SAMPLES - st->n)
		n = MAX_SAMPLES - st->n;
	if (!n)
		return;

	if (st->n + n > st->cap && grow(st, st->n + n))
		return;         /* out of memory: recognise what we have */

	memcpy(st->pcm + st->n, pcm, n * sizeof(*pcm));
	st->n += n;
}


static int stt_ps_end(void *arg)
{
	struct stt_ps *st = arg;
	struct job *job;
	int err;

	if (!st)
		return EINVAL;
	if (!st->open)
		return EPROTO;          /* no utterance begun */

	job = mem_zalloc(sizeof(*job), job_destructor);
	if (!job)
		return ENOMEM;

	/* the utterance's audio and grammar move to the job */
	job->st = st;
	job->pcm = st->pcm;
	job->n = st->n;
	job->grammar = st->grammar;
	st->pcm = NULL;
	st->grammar = NULL;
	utt_reset(st);

	list_append(&st->jobs, &job->le, job);

	err = pool_submit(st->pool, work_h, done_h, mem_ref(job));
	if (err) {
		mem_deref(job);         /* the pool's reference */
		job_drop(job);
	}

	return err;
}


const struct stt_ops stt_pocketsphinx = {
	.name   = "pocketsphinx",
	.alloc  = stt_ps_alloc,
	.begin  = stt_ps_begin,
	.feed   = stt_ps_feed,
	.end    = stt_ps_end,
	.cancel = stt_ps_cancel,
};
