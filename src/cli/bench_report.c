/* bench_report.c - `parley bench` after the run: the server's record of
 * each call (GET /api/v1/calls/{id}, with its transcript and per-turn
 * timings) and the report, one JSON object.
 *
 * Percentiles are nearest-rank over every sample of the run (all turns
 * of all calls together), not averages of per-call figures: a p99 says
 * what one reply in a hundred waited at least.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <re.h>
#include "cli/bench_int.h"
#include "cli/httpc.h"
#include "core/util.h"
#include "json/json.h"
#include "media/media.h"
#include "sim/script.h"
#include "sim/sim.h"

enum {
	COLLECT_WAIT_MS = 20000,   /* for the rows to say ended */
	RETRY_MS = 200,
	MAX_ERRORS = 5,            /* distinct failure messages reported */
	MAX_KINDS = 16,            /* distinct outcomes counted */
};

/* ---- the server's side ---- */

static const char *jstr(const struct odict *o, const char *k)
{
	const char *s = o ? odict_string(o, k) : NULL;

	return s ? s : "";
}

static bool ended(const struct odict *detail)
{
	return detail && !strcmp(jstr(detail, "status"), "ended");
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

static void get_call(struct bench *b, struct bench_call *c)
{
	struct httpc_resp r;
	char path[64];

	re_snprintf(path, sizeof(path), "/api/v1/calls/%lld", c->call_id);
	if (httpc_request(&r, b->url, "GET", path, b->key, NULL))
		return;
	if (r.status == 200 && r.json) {
		mem_deref(c->detail);
		c->detail = mem_ref(r.json);
	}
	httpc_resp_reset(&r);
}

void bench_collect(struct bench *b)
{
	uint64_t deadline = util_mono_us() + COLLECT_WAIT_MS * 1000ULL;

	for (;;) {
		bool waiting = false;

		for (unsigned i = 0; i < b->ncalls; i++) {
			struct bench_call *c = &b->calls[i];

			if (!c->call_id || ended(c->detail))
				continue;
			get_call(b, c);
			waiting |= !ended(c->detail);
		}
		if (!waiting || util_mono_us() > deadline)
			break;
		sleep_ms(RETRY_MS);
	}

	/* a call the server still has up (its INVITE never reached us,
	 * or our BYE was lost): end it there too */
	for (unsigned i = 0; i < b->ncalls; i++) {
		struct bench_call *c = &b->calls[i];
		struct httpc_resp r;
		char path[80];

		if (!c->call_id || ended(c->detail))
			continue;
		re_snprintf(path, sizeof(path), "/api/v1/calls/%lld/hangup",
			    c->call_id);
		if (!httpc_request(&r, b->url, "POST", path, b->key, NULL))
			httpc_resp_reset(&r);
	}
}

/* ---- samples ---- */

struct vec {
	double *v;
	size_t n, cap;
};

static void vec_add(struct vec *x, double v)
{
	if (x->n == x->cap) {
		size_t cap = x->cap ? x->cap * 2 : 64;
		double *p = mem_reallocarray(x->v, cap, sizeof(*p), NULL);

		if (!p)
			return;   /* a sample short rather than no report */
		x->v = p;
		x->cap = cap;
	}
	x->v[x->n++] = v;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* nearest rank: the smallest sample with at least p % at or below it */
static double rank(const struct vec *x, double p)
{
	size_t k = (size_t)ceil(p / 100.0 * (double)x->n);

	return x->v[k ? k - 1 : 0];
}

/* {"n":..,"p50":..,"p99":..,"max":..}; nulls without samples */
static int print_dist(struct re_printf *pf, struct vec *x)
{
	if (!x->n)
		return re_hprintf(pf, "{\"n\":0,\"p50\":null,\"p99\":null,"
				  "\"max\":null}");
	qsort(x->v, x->n, sizeof(*x->v), cmp_double);
	return re_hprintf(pf, "{\"n\":%zu,\"p50\":%.1f,\"p99\":%.1f,"
			  "\"max\":%.1f}", x->n, rank(x, 50), rank(x, 99),
			  x->v[x->n - 1]);
}

/* names counted, e.g. outcomes */
struct tally {
	const char *name[MAX_KINDS];
	unsigned count[MAX_KINDS];
	size_t n;
};

static void tally_add(struct tally *t, const char *name)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		if (!strcmp(t->name[i], name))
			break;
	if (i == t->n) {
		if (t->n == MAX_KINDS)
			return;
		t->name[t->n] = name;
		t->count[t->n++] = 0;
	}
	++t->count[i];
}

static int print_tally(struct re_printf *pf, const struct tally *t)
{
	int err = re_hprintf(pf, "{");

	for (size_t i = 0; i < t->n; i++) {
		err |= re_hprintf(pf, "%s", i ? "," : "");
		err |= json_print_str(pf, t->name[i]);
		err |= re_hprintf(pf, ":%u", t->count[i]);
	}
	return err | re_hprintf(pf, "}");
}

/* ---- the caller's side ---- */

struct side {
	unsigned placed, answered;
	struct tally outcomes;
	const char *errors[MAX_ERRORS];
	size_t nerrors;
	struct vec setup, response, barge, jitter;
	unsigned lines, answered_lines, barges_missed, turns_heard;
	uint64_t rx, tx, lost, late, missing, gaps;
	unsigned gappy;
};

static void note_error(struct side *s, const char *why)
{
	if (!why || !*why)
		return;
	for (size_t i = 0; i < s->nerrors; i++)
		if (!strcmp(s->errors[i], why))
			return;
	if (s->nerrors < MAX_ERRORS)
		s->errors[s->nerrors++] = why;
}

static void caller_side(struct side *s, const struct bench *b)
{
	for (unsigned i = 0; i < b->ncalls; i++) {
		const struct bench_call *c = &b->calls[i];
		const struct sim_result *r = sim_caller_result(c->caller);

		s->placed += c->call_id > 0;
		note_error(s, c->why);
		if (!r)
			continue;
		tally_add(&s->outcomes, sim_outcome_name(r->outcome));
		if (r->error[0] && r->outcome != SIM_INTERRUPTED &&
		    r->outcome != SIM_COMPLETED)
			note_error(s, r->error);
		if (!c->answer_us)
			continue;
		s->answered++;
		if (c->post_us && c->answer_us >= c->post_us)
			vec_add(&s->setup, (double)(c->answer_us -
						    c->post_us) / 1000.0);
		for (size_t k = 0; k < r->nlines; k++) {
			const struct sim_line *l = &r->lines[k];

			s->lines++;
			if (l->latency_ms >= 0) {
				s->answered_lines++;
				vec_add(&s->response, l->latency_ms);
			}
			if (l->barge && l->barge_ms >= 0)
				vec_add(&s->barge, l->barge_ms);
			else if (l->barge && l->barge_after_ms >= 0)
				s->barges_missed++;
		}
		s->turns_heard += (unsigned)r->nturns;
		s->rx += r->rtp.rx_packets;
		s->tx += r->rtp.tx_packets;
		s->lost += r->rtp.rx_lost;
		s->late += r->rtp.rx_late;
		s->missing += r->rtp.rx_missing_frames;
		/* the jitter buffer plays once it holds two packets: the
		 * tick after the first one arrived has nothing, by design */
		if (r->rtp.rx_missing_frames > 1)
			s->gaps += r->rtp.rx_missing_frames - 1;
		s->gappy += r->rtp.rx_lost || r->rtp.rx_missing_frames > 1;
		vec_add(&s->jitter, r->rtp.jitter_ms);
	}
}

/* ---- the server's timings ---- */

static const char *const timing_names[] = {
	"first_rtp_ms", "stt_ms", "llm_first_token_ms",
	"llm_first_sentence_ms", "tts_first_audio_ms",
};

enum { NTIMINGS = sizeof(timing_names) / sizeof(timing_names[0]) };

struct server_side {
	unsigned read, ended, turns, agent_turns, user_turns;
	unsigned interrupted, replies;
	struct tally outcomes, causes;
	struct vec t[NTIMINGS];
	struct vec after_tts;      /* first_rtp_ms - tts_first_audio_ms */
};

static bool number(const struct odict *o, const char *k, double *vp)
{
	const struct odict_entry *e = o ? odict_lookup(o, k) : NULL;

	if (!e)
		return false;
	if (e->type == ODICT_INT)
		*vp = (double)e->u.integer;
	else if (e->type == ODICT_DOUBLE)
		*vp = e->u.dbl;
	else
		return false;
	return true;
}

static void one_turn(struct server_side *s, const struct odict *t)
{
	const struct odict_entry *e = odict_lookup(t, "timings");
	const struct odict *tm = e && e->type == ODICT_OBJECT ?
		e->u.odict : NULL;
	const struct odict_entry *in = odict_lookup(t, "interrupted");
	double v;

	s->turns++;
	if (strcmp(jstr(t, "speaker"), "agent")) {
		s->user_turns++;
		return;
	}
	s->agent_turns++;
	if (in && in->type == ODICT_BOOL && in->u.boolean)
		s->interrupted++;
	if (!tm)
		return;
	if (number(tm, "endpoint_at_ms", &v))
		s->replies++;
	for (size_t i = 0; i < NTIMINGS; i++)
		if (number(tm, timing_names[i], &v))
			vec_add(&s->t[i], v);
	/* what the platform adds on top of the providers: the reply's
	 * first audio ready -> its first RTP packet */
	{
		double rtp, tts;
		if (number(tm, "first_rtp_ms", &rtp) &&
		    number(tm, "tts_first_audio_ms", &tts) && rtp >= tts)
			vec_add(&s->after_tts, rtp - tts);
	}
}

static void server_side(struct server_side *s, const struct bench *b)
{
	for (unsigned i = 0; i < b->ncalls; i++) {
		const struct odict *d = b->calls[i].detail;
		const struct odict_entry *e = d ?
			odict_lookup(d, "transcript") : NULL;

		if (!d)
			continue;
		s->read++;
		s->ended += ended(d);
		tally_add(&s->outcomes, *jstr(d, "outcome") ?
			  jstr(d, "outcome") : "none");
		tally_add(&s->causes, *jstr(d, "hangup_cause") ?
			  jstr(d, "hangup_cause") : "none");
		if (!e || e->type != ODICT_ARRAY)
			continue;
		for (struct le *le = e->u.odict->lst.head; le; le = le->next) {
			const struct odict_entry *t = le->data;
			if (t->type == ODICT_OBJECT)
				one_turn(s, t->u.odict);
		}
	}
}

/* ---- the report ---- */

static double span_s(uint64_t from, uint64_t to)
{
	return from && to > from ? (double)(to - from) / 1e6 : 0.0;
}

static int print_caller_side(struct re_printf *pf, const struct bench *b,
			     struct side *s)
{
	int err;

	err = re_hprintf(pf, "\"calls\":{\"requested\":%u,\"placed\":%u,"
			 "\"answered\":%u,\"failed\":%u,\"outcomes\":",
			 b->ncalls, s->placed, s->answered,
			 b->ncalls - s->answered);
	err |= print_tally(pf, &s->outcomes);
	err |= re_hprintf(pf, ",\"errors\":[");
	for (size_t i = 0; i < s->nerrors; i++) {
		err |= re_hprintf(pf, "%s", i ? "," : "");
		err |= json_print_str(pf, s->errors[i]);
	}
	err |= re_hprintf(pf, "]},\"timeline_s\":{\"ramp\":%.2f,"
			  "\"plateau\":%.2f,\"total\":%.2f},",
			  span_s(b->t0_us, b->plateau_us),
			  span_s(b->plateau_us, b->hangup_us),
			  span_s(b->t0_us, b->end_us));
	err |= re_hprintf(pf, "\"setup_ms\":");
	err |= print_dist(pf, &s->setup);
	err |= re_hprintf(pf, ",\"response_ms\":");
	err |= print_dist(pf, &s->response);
	err |= re_hprintf(pf, ",\"lines\":{\"said\":%u,\"answered\":%u},"
			  "\"barge_in_ms\":", s->lines, s->answered_lines);
	err |= print_dist(pf, &s->barge);
	err |= re_hprintf(pf, ",\"barge_in_missed\":%u,\"agent_turns_heard"
			  "\":%u,", s->barges_missed, s->turns_heard);
	err |= re_hprintf(pf, "\"audio\":{\"rx_packets\":%llu,\"tx_packets"
			  "\":%llu,\"rx_lost\":%llu,\"rx_late\":%llu,"
			  "\"rx_missing_frames\":%llu,\"gap_frames\":%llu,"
			  "\"calls_with_gaps\":%u},",
			  (unsigned long long)s->rx,
			  (unsigned long long)s->tx,
			  (unsigned long long)s->lost,
			  (unsigned long long)s->late,
			  (unsigned long long)s->missing,
			  (unsigned long long)s->gaps, s->gappy);
	err |= re_hprintf(pf, "\"jitter_ms\":");
	err |= print_dist(pf, &s->jitter);
	return err;
}

static int print_server_side(struct re_printf *pf, struct server_side *s)
{
	int err;

	err = re_hprintf(pf, "\"server\":{\"calls_read\":%u,\"calls_ended\""
			 ":%u,\"turns\":%u,\"agent_turns\":%u,\"user_turns\""
			 ":%u,\"interrupted_turns\":%u,\"replies\":%u,"
			 "\"outcomes\":", s->read, s->ended, s->turns,
			 s->agent_turns, s->user_turns, s->interrupted,
			 s->replies);
	err |= print_tally(pf, &s->outcomes);
	err |= re_hprintf(pf, ",\"hangup_causes\":");
	err |= print_tally(pf, &s->causes);
	for (size_t i = 0; i < NTIMINGS; i++) {
		err |= re_hprintf(pf, ",\"%s\":", timing_names[i]);
		err |= print_dist(pf, &s->t[i]);
	}
	err |= re_hprintf(pf, ",\"tts_to_rtp_ms\":");
	err |= print_dist(pf, &s->after_tts);
	return err | re_hprintf(pf, "}");
}

int bench_report(struct re_printf *pf, void *arg)
{
	const struct bench *b = arg;
	struct side s;
	struct server_side ss;
	struct media_tick_stats ts;
	int err;

	memset(&s, 0, sizeof(s));
	memset(&ss, 0, sizeof(ss));
	memset(&ts, 0, sizeof(ts));
	caller_side(&s, b);
	server_side(&ss, b);
	if (b->sim)
		media_tick_stats(sim_media(b->sim), &ts);

	err = re_hprintf(pf, "{\"server_url\":");
	err |= json_print_str(pf, b->url);
	err |= re_hprintf(pf, ",\"agent_id\":%u,\"script\":", b->agent);
	err |= json_print_str(pf, b->script_path);
	err |= re_hprintf(pf, ",\"script_steps\":%zu,\"rate\":%.2f,"
			  "\"duration_s\":%u,\"interrupted\":%s,",
			  b->sc ? b->sc->n : (size_t)0, b->rate,
			  b->duration_s, b->interrupted ? "true" : "false");
	err |= print_caller_side(pf, b, &s);
	err |= re_hprintf(pf, ",\"sim_tick\":{\"ticks\":%llu,"
			  "\"late_mean_us\":%llu,\"late_max_us\":%llu,"
			  "\"work_max_us\":%llu},",
			  (unsigned long long)ts.ticks,
			  (unsigned long long)(ts.ticks ? ts.late_total_us /
					       ts.ticks : 0),
			  (unsigned long long)ts.late_max_us,
			  (unsigned long long)ts.work_max_us);
	err |= print_server_side(pf, &ss);
	err |= re_hprintf(pf, ",\"trunk_deleted\":%s}\n",
			  b->trunk_deleted ? "true" : "false");

	mem_deref(s.setup.v);
	mem_deref(s.response.v);
	mem_deref(s.barge.v);
	mem_deref(s.jitter.v);
	for (size_t i = 0; i < NTIMINGS; i++)
		mem_deref(ss.t[i].v);
	mem_deref(ss.after_tts.v);
	return err;
}
