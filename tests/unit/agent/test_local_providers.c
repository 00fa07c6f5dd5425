/* test_local_providers.c - the local providers (stt "pocketsphinx", tts
 * "espeak-ng" and "flite") driven like a call drives them: on the libre
 * loop, with a real speech worker pool. Results arrive in order on the
 * loop thread; cancel and release drop work in flight without a late
 * handler call; releasing the state inside its own handler is safe.
 * Every test waits for the pool to drain and frees it, so LeakSanitizer
 * sees jobs, audio and decoders freed. */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include "test.h"
#include "agent/provider.h"
#include "core/pool.h"
#include "speech/tts.h"
#include "speech/worker.h"

extern const struct stt_ops stt_pocketsphinx;
extern const struct tts_ops tts_espeak_ops;
extern const struct tts_ops tts_flite_ops;

#define YESNO "#JSGF V1.0;\ngrammar yesno;\npublic <answer> = yes | no;\n"

enum {
	MAX_EVENTS = 16,
	TIMEOUT_MS = 60000,     /* generous: ASan, two cores */
	FRAME      = 160,       /* 20 ms at 8 kHz, as RTP brings it */
};

struct event {
	int err;
	uint32_t id;
	size_t n;
	bool last;
	bool final;
	char text[64];
	bool on_loop;
};

struct fixture {
	struct pool *pool;
	struct agent_env env;
	pthread_t loop;

	struct event ev[MAX_EVENTS];
	unsigned nev;
	unsigned want;          /* stop the loop after this many events */
	void *st;               /* released in the handler when ... */
	unsigned release_at;    /* ... this event arrives (0: never) */
	const struct tts_ops *tts;
	const struct stt_ops *stt;

	struct tmr tmr;
	uint64_t deadline;
	bool timeout;
};


static void fixture_init(struct fixture *f)
{
	memset(f, 0, sizeof(*f));
	f->loop = pthread_self();
	tmr_init(&f->tmr);
}


static int fixture_pool(struct fixture *f)
{
	int err = pool_alloc(&f->pool, 2, speech_worker_init,
			     speech_worker_close, NULL);

	f->env.speech = f->pool;

	return err;
}


static void record(struct fixture *f, struct event *e)
{
	e->on_loop = pthread_equal(pthread_self(), f->loop);
	if (f->nev < MAX_EVENTS)
		f->ev[f->nev] = *e;
	f->nev++;

	if (f->release_at && f->nev == f->release_at) {
		f->st = mem_deref(f->st);
	}

	if (f->want && f->nev >= f->want)
		re_cancel();
}


static void audio_h(int err, int16_t *pcm, size_t n, bool last,
		    uint32_t id, void *arg)
{
	struct event e;

	memset(&e, 0, sizeof(e));
	e.err = err;
	e.n = pcm ? n : 0;
	e.last = last;
	e.id = id;
	mem_deref(pcm);

	record(arg, &e);
}


static void result_h(int err, const char *text, bool final, void *arg)
{
	struct event e;

	memset(&e, 0, sizeof(e));
	e.err = err;
	e.final = final;
	str_ncpy(e.text, text ? text : "(null)", sizeof(e.text));

	record(arg, &e);
}


static void timeout_h(void *arg)
{
	struct fixture *f = arg;

	f->timeout = true;
	re_cancel();
}


/* Run the loop until f->want events arrived (or the timeout). */
static void run(struct fixture *f, unsigned want)
{
	f->want = want;
	if (f->nev >= want)
		return;
	f->timeout = false;
	tmr_start(&f->tmr, TIMEOUT_MS, timeout_h, f);
	re_main(NULL);
	tmr_cancel(&f->tmr);
}


static void idle_poll_h(void *arg)
{
	struct fixture *f = arg;

	if (!pool_pending(f->pool) || tmr_jiffies() > f->deadline)
		re_cancel();
	else
		tmr_start(&f->tmr, 5, idle_poll_h, f);
}


/* Let every job finish and its done handler run; free the pool. A
 * handler that should not run any more would be recorded meanwhile. */
static void drain(struct fixture *f)
{
	if (!f->pool)
		return;

	f->want = 0;
	f->deadline = tmr_jiffies() + TIMEOUT_MS;
	tmr_start(&f->tmr, 0, idle_poll_h, f);
	re_main(NULL);
	tmr_cancel(&f->tmr);

	f->pool = mem_deref(f->pool);
}


/* Let late results through, if any were to come: a few loop turns. */
static void settle(struct fixture *f, uint64_t ms)
{
	f->want = 0;
	tmr_start(&f->tmr, ms, timeout_h, f);
	re_main(NULL);
	tmr_cancel(&f->tmr);
}


static struct odict *tts_cfg(const char *voice, double speed)
{
	struct odict *o = NULL;

	if (odict_alloc(&o, 8))
		return NULL;
	if ((voice && odict_entry_add(o, "voice", ODICT_STRING, voice)) ||
	    odict_entry_add(o, "speed", ODICT_DOUBLE, speed))
		o = mem_deref(o);

	return o;
}


/* kal is deterministic: the samples a request should give. */
static size_t kal_len(const char *text, double speed)
{
	struct tts_opts o = {TTS_FLITE, "kal", speed};
	int16_t *pcm = NULL;
	size_t n = 0;

	if (tts_synth(&o, text, &pcm, &n))
		return 0;
	mem_deref(pcm);

	return n;
}


TEST(tts_results_in_order_on_loop)
{
	static const char *texts[] = {
		"Hello.", "Your appointment is on Tuesday at three.", "Bye.",
	};
	const struct tts_ops *ops[] = {&tts_flite_ops, &tts_espeak_ops};
	struct fixture f;
	size_t want[3], i, k;
	int err = 0;

	for (i = 0; i < 3; i++)
		want[i] = kal_len(texts[i], 1.2);

	fixture_init(&f);
	CHECK_EQ_INT(fixture_pool(&f), 0);

	for (k = 0; k < ARRAY_SIZE(ops) && !err; k++) {
		struct odict *cfg = tts_cfg(k ? NULL : "kal", 1.2);
		void *st = NULL;

		f.nev = 0;
		err = ops[k]->alloc(&st, &f.env, cfg, audio_h, &f);
		mem_deref(cfg);
		for (i = 0; i < 3 && !err; i++)
			err = ops[k]->speak(st, texts[i], (uint32_t)(10 + i));
		if (!err)
			run(&f, 3);
		mem_deref(st);

		for (i = 0; i < 3 && !err; i++) {
			const struct event *e = &f.ev[i];

			if (f.nev != 3 || e->err || e->id != 10 + i ||
			    !e->last || !e->on_loop || e->n < 800)
				err = EPROTO;
			/* flite: kal at speed 1.2, exactly */
			else if (!k && e->n != want[i])
				err = EPROTO;
		}
	}

	drain(&f);
	CHECK_EQ_INT(err, 0);
	CHECK(!f.timeout);
}


TEST(tts_unknown_voice_falls_back)
{
	struct fixture f;
	struct odict *cfg;
	void *st = NULL;
	size_t want = kal_len("Good morning.", 1.0);

	fixture_init(&f);
	CHECK_EQ_INT(fixture_pool(&f), 0);
	cfg = tts_cfg("no-such-voice", 1.0);
	CHECK(cfg != NULL);
	CHECK_EQ_INT(tts_flite_ops.alloc(&st, &f.env, cfg, audio_h, &f), 0);
	mem_deref(cfg);

	CHECK_EQ_INT(tts_flite_ops.speak(st, "Good morning.", 1), 0);
	CHECK_EQ_INT(tts_flite_ops.speak(st, "Good morning.", 2), 0);
	run(&f, 2);
	mem_deref(st);
	drain(&f);

	CHECK_EQ_INT(f.nev, 2);
	CHECK_EQ_INT(f.ev[0].err, 0);
	CHECK_EQ_INT(f.ev[0].n, want);
	CHECK_EQ_INT(f.ev[1].err, 0);
	CHECK_EQ_INT(f.ev[1].n, want);
}


TEST(tts_cancel_discards)
{
	struct fixture f;
	void *st = NULL;

	fixture_init(&f);
	CHECK_EQ_INT(fixture_pool(&f), 0);
	CHECK_EQ_INT(tts_espeak_ops.alloc(&st, &f.env, NULL, audio_h, &f),
		     0);

	/* one under way, two queued: all dropped */
	CHECK_EQ_INT(tts_espeak_ops.speak(st, "One two three four.", 1), 0);
	CHECK_EQ_INT(tts_espeak_ops.speak(st, "Five.", 2), 0);
	CHECK_EQ_INT(tts_espeak_ops.speak(st, "Six.", 3), 0);
	tts_espeak_ops.cancel(st);

	/* the state still works afterwards */
	CHECK_EQ_INT(tts_espeak_ops.speak(st, "Seven.", 7), 0);
	run(&f, 1);
	settle(&f, 100);

	CHECK_EQ_INT(f.nev, 1);
	CHECK_EQ_INT(f.ev[0].id, 7);
	CHECK_EQ_INT(f.ev[0].err, 0);

	/* cancel between requests, then nothing at all */
	CHECK_EQ_INT(tts_espeak_ops.speak(st, "Eight.", 8), 0);
	tts_espeak_ops.cancel(st);
	tts_espeak_ops.cancel(st);
	drain(&f);
	CHECK_EQ_INT(f.nev, 1);

	mem_deref(st);

	CHECK_EQ_INT(tts_espeak_ops.speak(NULL, "x", 1), EINVAL);
	tts_espeak_ops.cancel(NULL);
}


TEST(tts_release_in_flight_and_in_handler)
{
	struct fixture f;
	void *st = NULL;

	fixture_init(&f);
	CHECK_EQ_INT(fixture_pool(&f), 0);

	/* released with work under way and queued: no handler runs */
	CHECK_EQ_INT(tts_flite_ops.alloc(&st, &f.env, NULL, audio_h, &f), 0);
	CHECK_EQ_INT(tts_flite_ops.speak(st, "Never heard.", 1), 0);
	CHECK_EQ_INT(tts_flite_ops.speak(st, "Never heard either.", 2), 0);
	st = mem_deref(st);
	drain(&f);
	CHECK_EQ_INT(f.nev, 0);

	/* released by the handler of the first of three */
	CHECK_EQ_INT(fixture_pool(&f), 0);
	CHECK_EQ_INT(tts_flite_ops.alloc(&f.st, &f.env, NULL, audio_h, &f),
		     0);
	f.release_at = 1;
	CHECK_EQ_INT(tts_flite_ops.speak(f.st, "First.", 1), 0);
	CHECK_EQ_INT(tts_flite_ops.speak(f.st, "Second.", 2), 0);
	CHECK_EQ_INT(tts_flite_ops.speak(f.st, "Third.", 3), 0);
	run(&f, 1);
	drain(&f);

	CHECK(f.st == NULL);
	CHECK_EQ_INT(f.nev, 1);
	CHECK_EQ_INT(f.ev[0].id, 1);
}


TEST(tts_errors)
{
	struct fixture f;
	struct agent_env none;
	void *st = NULL;

	fixture_init(&f);
	memset(&none, 0, sizeof(none));
	CHECK_EQ_INT(tts_flite_ops.alloc(&st, &none, NULL, audio_h, &f),
		     EINVAL);
	CHECK_EQ_INT(tts_flite_ops.alloc(&st, NULL, NULL, audio_h, &f),
		     EINVAL);

	CHECK_EQ_INT(fixture_pool(&f), 0);
	CHECK_EQ_INT(tts_flite_ops.alloc(&st, &f.env, NULL, NULL, &f),
		     EINVAL);
	CHECK_EQ_INT(tts_flite_ops.alloc(&st, &f.env, NULL, audio_h, &f), 0);
	CHECK_EQ_INT(tts_flite_ops.speak(st, "", 1), EINVAL);
	CHECK_EQ_INT(tts_flite_ops.speak(st, "  \n", 1), EINVAL);
	CHECK_EQ_INT(tts_flite_ops.speak(st, NULL, 1), EINVAL);
	mem_deref(st);
	drain(&f);
	CHECK_EQ_INT(f.nev, 0);
	CHECK_STR(tts_flite_ops.name, "flite");
	CHECK_STR(tts_espeak_ops.name, "espeak-ng");
}


/* Feed text spoken by kal to the STT as 20 ms frames. */
static int feed_speech(void *st, const char *text)
{
	struct tts_opts o = {TTS_FLITE, "kal", 1.0};
	int16_t *pcm = NULL;
	size_t n = 0, i;
	int err;

	err = tts_synth(&o, text, &pcm, &n);
	for (i = 0; !err && i < n; i += FRAME)
		stt_pocketsphinx.feed(st, pcm + i, n - i < FRAME ? n - i
				      : FRAME);
	mem_deref(pcm);

	return err;
}


static int utterance(void *st, const char *grammar, const char *text)
{
	int err = stt_pocketsphinx.begin(st, grammar);

	if (!err)
		err = feed_speech(st, text);
	if (!err)
		err = stt_pocketsphinx.end(st);

	return err;
}


TEST(stt_results_in_order_on_loop)
{
	static const char *words[] = {"yes", "no", "no", "yes"};
	struct fixture f;
	void *st = NULL;
	size_t i;
	int err = 0;

	fixture_init(&f);
	CHECK_EQ_INT(fixture_pool(&f), 0);
	CHECK_STR(stt_pocketsphinx.name, "pocketsphinx");
	CHECK_EQ_INT(stt_pocketsphinx.alloc(&st, &f.env, NULL, result_h, &f),
		     0);

	/* four utterances before any result: two workers decode them in
	 * parallel, results still come in order */
	for (i = 0; i < ARRAY_SIZE(words) && !err; i++)
		err = utterance(st, YESNO, words[i]);
	if (!err)
		run(&f, ARRAY_SIZE(words));
	mem_deref(st);
	drain(&f);

	CHECK_EQ_INT(err, 0);
	CHECK(!f.timeout);
	CHECK_EQ_INT(f.nev, ARRAY_SIZE(words));
	for (i = 0; i < ARRAY_SIZE(words); i++) {
		CHECK_EQ_INT(f.ev[i].err, 0);
		CHECK(f.ev[i].final);
		CHECK(f.ev[i].on_loop);
		CHECK_STR(f.ev[i].text, words[i]);
	}
}


TEST(stt_cancel_and_limits)
{
	static int16_t silence[8000];
	struct fixture f;
	void *st = NULL;
	int i;

	fixture_init(&f);
	CHECK_EQ_INT(fixture_pool(&f), 0);
	CHECK_EQ_INT(stt_pocketsphinx.alloc(&st, &f.env, NULL, result_h, &f),
		     0);

	/* no utterance begun */
	CHECK_EQ_INT(stt_pocketsphinx.end(st), EPROTO);
	stt_pocketsphinx.feed(st, silence, 100);

	/* cancelled while decoding, and while being fed */
	CHECK_EQ_INT(utterance(st, YESNO, "yes"), 0);
	stt_pocketsphinx.cancel(st);
	CHECK_EQ_INT(stt_pocketsphinx.begin(st, YESNO), 0);
	CHECK_EQ_INT(feed_speech(st, "no"), 0);
	stt_pocketsphinx.cancel(st);
	CHECK_EQ_INT(stt_pocketsphinx.end(st), EPROTO);

	/* 35 s of silence: capped at 30 s, nothing recognised */
	CHECK_EQ_INT(stt_pocketsphinx.begin(st, YESNO), 0);
	for (i = 0; i < 35; i++)
		stt_pocketsphinx.feed(st, silence, ARRAY_SIZE(silence));
	CHECK_EQ_INT(stt_pocketsphinx.end(st), 0);
	run(&f, 1);
	settle(&f, 100);

	CHECK_EQ_INT(f.nev, 1);
	CHECK_EQ_INT(f.ev[0].err, 0);
	CHECK_STR(f.ev[0].text, "");

	/* a begin without end starts over */
	CHECK_EQ_INT(stt_pocketsphinx.begin(st, YESNO), 0);
	CHECK_EQ_INT(feed_speech(st, "no"), 0);
	CHECK_EQ_INT(utterance(st, YESNO, "yes"), 0);
	run(&f, 2);
	mem_deref(st);
	drain(&f);

	CHECK_EQ_INT(f.nev, 2);
	CHECK_STR(f.ev[1].text, "yes");

	CHECK_EQ_INT(stt_pocketsphinx.begin(NULL, NULL), EINVAL);
	CHECK_EQ_INT(stt_pocketsphinx.end(NULL), EINVAL);
	stt_pocketsphinx.cancel(NULL);
	stt_pocketsphinx.feed(NULL, silence, 1);
}


TEST(stt_release_in_flight_and_in_handler)
{
	struct fixture f;
	void *st = NULL;

	fixture_init(&f);
	CHECK_EQ_INT(fixture_pool(&f), 0);

	/* released with two utterances decoding: no handler runs */
	CHECK_EQ_INT(stt_pocketsphinx.alloc(&st, &f.env, NULL, result_h, &f),
		     0);
	CHECK_EQ_INT(utterance(st, YESNO, "yes"), 0);
	CHECK_EQ_INT(utterance(st, YESNO, "no"), 0);
	CHECK_EQ_INT(stt_pocketsphinx.begin(st, YESNO), 0);
	CHECK_EQ_INT(feed_speech(st, "yes"), 0);
	st = mem_deref(st);
	drain(&f);
	CHECK_EQ_INT(f.nev, 0);

	/* released by the handler of the first of three results */
	CHECK_EQ_INT(fixture_pool(&f), 0);
	CHECK_EQ_INT(stt_pocketsphinx.alloc(&f.st, &f.env, NULL, result_h,
					    &f), 0);
	f.release_at = 1;
	CHECK_EQ_INT(utterance(f.st, YESNO, "yes"), 0);
	CHECK_EQ_INT(utterance(f.st, YESNO, "no"), 0);
	CHECK_EQ_INT(utterance(f.st, YESNO, "yes"), 0);
	run(&f, 1);
	drain(&f);

	CHECK(f.st == NULL);
	CHECK_EQ_INT(f.nev, 1);
	CHECK_STR(f.ev[0].text, "yes");

	fixture_init(&f);
	CHECK_EQ_INT(stt_pocketsphinx.alloc(&st, &f.env, NULL, result_h, &f),
		     EINVAL);
	CHECK_EQ_INT(stt_pocketsphinx.alloc(&st, NULL, NULL, result_h, &f),
		     EINVAL);
}


TEST_MAIN()
