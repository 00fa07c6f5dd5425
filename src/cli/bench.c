/* bench.c - `parley bench`: load a running server's voice agent with N
 * concurrent calls and measure it from the caller's side.
 *
 * This process is the far end of every call: one sim (sim.h: a SIP
 * listener and one media engine whose single 20 ms tick clocks all
 * callers) and N scripted callers on it, each waiting for its own
 * number. A temporary trunk points at the sim; the calls are asked for
 * with POST /api/v1/calls at --rate per second, and Parley dials them.
 * Each caller plays the script (repeated, so that it outlasts the run)
 * and hangs up after ramp + --duration seconds counted from its own
 * placement: every call then overlaps every other for --duration
 * seconds, and the hang-ups come at the same rate as the set-ups.
 *
 * The API is blocking (httpc), and a blocked loop would stall the tick
 * and every measurement with it, so the POSTs run on a small pool of
 * threads; the trunk, and the call details afterwards, are handled while
 * the loop is not running. Call set-up time is from just before the
 * POST to the caller's answer, which a 1 ms timer notices (sim.h does
 * not report the moment).
 *
 * Progress goes to stderr as JSON lines ({"event":"plateau",...}) so a
 * driver (bench/agent_bench.py) can measure the server over the plateau;
 * the report is one JSON object on stdout (bench_report.c).
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include <re.h>
#include "cli/bench.h"
#include "cli/bench_int.h"
#include "cli/args.h"
#include "cli/httpc.h"
#include "config/config.h"
#include "core/log.h"
#include "core/pool.h"
#include "core/util.h"
#include "sim/script.h"
#include "sim/sim.h"
#include "speech/tts.h"

enum {
	EXIT_OK = 0,
	EXIT_FAIL = 1,
	EXIT_USAGE = 2,
	EXIT_INCOMPLETE = 3,
	MAX_CALLS = 10000,            /* the numbers +1555555xxxx */
	PLACERS = 4,                  /* threads POSTing calls */
	POLL_MS = 1,
	BYE_SETTLE_MS = 500,          /* our BYEs get their answers */
	INVITE_WAIT_MS = 60000,
	CALL_MARGIN_MS = 60000,       /* sim timeout beyond our hang-up */
};

void bench_usage(FILE *f)
{
	fprintf(f,
"usage: parley bench --agent ID --script FILE [--calls N] [--rate R]\n"
"         [--duration S] [--server URL] [--api-key KEY] [--config FILE]\n"
"         [--voice ENGINE[:VOICE]] [--turn-silence MS]\n"
"         [--sip-listen ADDR:PORT] [--rtp-ports MIN-MAX]\n"
"\n"
"Places N concurrent calls (default 1) from this process to its own\n"
"scripted callers through the running server (a temporary trunk to the\n"
"callers' SIP listener, deleted afterwards), at R calls per second\n"
"(default 20). Each caller plays the script, repeated so that it lasts,\n"
"and hangs up N/R + S seconds after its call was placed (S: --duration,\n"
"default 60), so all N calls overlap for S seconds. Then the server's\n"
"record of every call is read and one JSON object is printed: calls\n"
"placed, answered and failed; set-up time (POST to answer); response\n"
"latency (end of a caller line to the agent's first audio, endpointing\n"
"silence included); barge-in reaction; received-audio gaps and jitter;\n"
"the callers' tick health; and the server's per-turn timings (platform\n"
"latency: first_rtp_ms, from the end of the caller's turn to the first\n"
"RTP packet of the reply). Progress events go to stderr as JSON lines.\n"
"Exit status: 0 all answered, 1 setup failure, 2 bad usage or script,\n"
"3 some calls were not answered.\n"
"\n"
"Script: as for parley simulate (parley simulate --help); the caller's\n"
"lines are synthesised once, with --voice (espeak-ng default, flite).\n");
}

struct args {
	const char *agent, *script, *server, *key, *config, *voice;
	const char *calls, *rate, *duration, *turn_silence, *sip_listen;
	const char *rtp_ports;
};

/* re_main's signal handler takes no argument */
static struct bench *g_bench;

/* the loop's side of a run, beside what the report reads */
struct bench_run {
	struct pool *pool;
	struct sim_opts so;
	struct tmr tmr_place, tmr_poll, tmr_quit;
	uint32_t life_ms;            /* placement to our hang-up */
	atomic_bool stopping;        /* read by the placers */
	bool quitting;
	unsigned failures_shown;
};

static int parse_args(struct args *a, int argc, char **argv)
{
	const struct cli_opt opts[] = {
		{"--agent", &a->agent, NULL},
		{"--script", &a->script, NULL},
		{"--server", &a->server, NULL},
		{"--api-key", &a->key, NULL},
		{"--config", &a->config, NULL},
		{"--voice", &a->voice, NULL},
		{"--calls", &a->calls, NULL},
		{"--rate", &a->rate, NULL},
		{"--duration", &a->duration, NULL},
		{"--turn-silence", &a->turn_silence, NULL},
		{"--sip-listen", &a->sip_listen, NULL},
		{"--rtp-ports", &a->rtp_ports, NULL},
	};

	return cli_parse(argc, argv, opts, ARRAY_SIZE(opts), "bench");
}

/* ---- the script, repeated to outlast the run ---- */

static int read_file(char **bufp, size_t *lenp, const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	size_t n;
	int err = 0;

	if (!f)
		return errno;
	buf = mem_alloc(SCRIPT_MAX_FILE + 2, NULL);
	if (!buf) {
		fclose(f);
		return ENOMEM;
	}
	n = fread(buf, 1, SCRIPT_MAX_FILE + 1, f);
	if (ferror(f))
		err = EIO;
	else if (n > SCRIPT_MAX_FILE)
		err = EFBIG;
	fclose(f);
	if (err) {
		mem_deref(buf);
		return err;
	}
	buf[n] = '\0';
	*bufp = buf;
	*lenp = n;
	return 0;
}

/* speech and waits of one pass through the script: a lower bound of
 * how long it takes to play */
static uint64_t script_ms(const struct script *sc, bool *endsp)
{
	uint64_t ms = 0;

	*endsp = false;
	for (size_t i = 0; i < sc->n; i++) {
		const struct script_step *st = &sc->steps[i];

		if (st->kind == SCRIPT_SAY || st->kind == SCRIPT_BARGE)
			ms += st->n * 1000 / MEDIA_SRATE;
		else if (st->kind == SCRIPT_WAIT)
			ms += st->ms;
		else if (st->kind == SCRIPT_HANGUP ||
			 st->kind == SCRIPT_EXPECT_HANGUP)
			*endsp = true;
	}
	return ms;
}

static int synth(struct script *sc, const struct tts_opts *to,
		 const char *path, const char *voice)
{
	struct script_err se = {0, ""};
	int err = script_synth(sc, to, &se);

	if (!err)
		return 0;
	if (err == ENOSYS)
		fprintf(stderr, "parley: the %s voice is not available in "
			"this build\n", voice);
	else if (err == ENOENT)
		fprintf(stderr, "parley: --voice %s: no such voice\n", voice);
	else
		fprintf(stderr, "parley: %s:%u: %s\n", path, se.line, se.msg);
	return err;
}

/* The script, played in a loop: its text again and again until one
 * pass through all of it takes longer than life_ms (unless it ends the
 * call itself with @hangup or @expect-hangup). */
static int load_script(struct script **scp, const char *path,
		       const struct tts_opts *to, const char *voice,
		       uint32_t life_ms)
{
	struct script_err se = {0, ""};
	struct script *sc = NULL;
	struct mbuf *mb = NULL;
	char *buf = NULL;
	size_t len = 0, reps;
	uint64_t pass;
	bool ends;
	int err;

	err = read_file(&buf, &len, path);
	if (err) {
		fprintf(stderr, "parley: %s: %s\n", path, strerror(err));
		return EXIT_USAGE;
	}
	err = script_parse(&sc, buf, len, &se);
	if (err) {
		fprintf(stderr, "parley: %s:%u: %s\n", path, se.line,
			se.msg[0] ? se.msg : strerror(err));
		err = EXIT_USAGE;
		goto out;
	}
	err = synth(sc, to, path, voice);
	if (err) {
		err = err == ENOENT ? EXIT_USAGE : EXIT_FAIL;
		goto out;
	}
	pass = script_ms(sc, &ends);
	reps = ends || !pass ? 1 : (size_t)(life_ms / pass + 1);
	if (reps > SCRIPT_MAX_STEPS / sc->n)
		reps = SCRIPT_MAX_STEPS / sc->n;
	if (reps <= 1)
		goto out;

	mb = mbuf_alloc(len * reps + reps);
	for (size_t i = 0; mb && !err && i < reps; i++) {
		err = mbuf_write_mem(mb, (uint8_t *)buf, len);
		if (!err)
			err = mbuf_write_u8(mb, '\n');
	}
	if (!mb || err) {
		err = EXIT_FAIL;
		goto out;
	}
	sc = mem_deref(sc);
	err = script_parse(&sc, (char *)mb->buf, mb->end, &se);
	if (!err)
		err = synth(sc, to, path, voice);
	if (err)
		err = EXIT_FAIL;
 out:
	mem_deref(mb);
	mem_deref(buf);
	if (err)
		mem_deref(sc);
	else
		*scp = sc;
	return err;
}

/* ---- the API, outside the loop ---- */

static void api_message(char *buf, size_t sz, const struct httpc_resp *r)
{
	const struct odict_entry *e = r->json ?
		odict_lookup(r->json, "error") : NULL;
	const char *msg = e && e->type == ODICT_OBJECT ?
		odict_string(e->u.odict, "message") : NULL;

	snprintf(buf, sz, "HTTP %u: %s", r->status,
		 msg ? msg : r->body ? r->body : "");
}

static long long jint(const struct odict *o, const char *k)
{
	const struct odict_entry *e = o ? odict_lookup(o, k) : NULL;

	return e && e->type == ODICT_INT ? (long long)e->u.integer : 0;
}

static int create_trunk(struct bench *b)
{
	struct httpc_resp r;
	char body[160], why[200];
	int err;

	snprintf(body, sizeof(body), "{\"name\":\"bench %d\","
		 "\"sip_uri\":\"sip:127.0.0.1:%u\"}", (int)getpid(),
		 sim_port(b->sim));
	err = httpc_request(&r, b->url, "POST", "/api/v1/trunks", b->key,
			    body);
	if (err) {
		fprintf(stderr, "parley: cannot reach %s: %s\n", b->url,
			strerror(err));
		return err;
	}
	if (r.status != 201 || jint(r.json, "id") <= 0) {
		api_message(why, sizeof(why), &r);
		fprintf(stderr, "parley: trunk: %s\n", why);
		httpc_resp_reset(&r);
		return EPROTO;
	}
	b->trunk = jint(r.json, "id");
	httpc_resp_reset(&r);
	return 0;
}

static void delete_trunk(struct bench *b)
{
	struct httpc_resp r;
	char path[64], why[200];
	int err;

	re_snprintf(path, sizeof(path), "/api/v1/trunks/%lld", b->trunk);
	err = httpc_request(&r, b->url, "DELETE", path, b->key, NULL);
	if (err) {
		fprintf(stderr, "parley: cannot delete trunk %lld: %s\n",
			b->trunk, strerror(err));
		return;
	}
	if (r.status == 204) {
		b->trunk_deleted = true;
	}
	else {
		api_message(why, sizeof(why), &r);
		fprintf(stderr, "parley: deleting the temporary trunk: %s\n",
			why);
	}
	httpc_resp_reset(&r);
}

/* ---- progress ---- */

static double secs_since(const struct bench *b, uint64_t us)
{
	return us > b->t0_us ? (double)(us - b->t0_us) / 1e6 : 0.0;
}

static void progress(const struct bench *b, const char *event)
{
	unsigned answered = 0;

	for (unsigned i = 0; i < b->nalloc; i++)
		answered += b->calls[i].answer_us != 0;
	(void)re_fprintf(stderr, "{\"event\":\"%s\",\"t_s\":%.3f,"
			 "\"placed\":%u,\"answered\":%u,\"ended\":%u}\n",
			 event, secs_since(b, util_mono_us()), b->nalloc,
			 answered, b->ndone);
}

/* ---- placing calls (pool workers) ---- */

static void post_work(void *ctx, void *arg)
{
	struct bench_call *c = arg;
	const struct bench *b = c->b;
	struct httpc_resp r;
	char body[200];
	(void)ctx;

	if (atomic_load(&b->run->stopping)) {
		snprintf(c->why, sizeof(c->why), "interrupted before it was "
			 "placed");
		return;
	}
	snprintf(body, sizeof(body), "{\"agent_id\":%u,\"to\":\"%s\","
		 "\"trunk_id\":%lld}", b->agent, c->number, b->trunk);
	c->post_us = util_mono_us();
	c->err = httpc_request(&r, b->url, "POST", "/api/v1/calls", b->key,
			       body);
	if (c->err) {
		snprintf(c->why, sizeof(c->why), "cannot reach the server: "
			 "%s", strerror(c->err));
		return;
	}
	c->status = r.status;
	if (r.status == 201 && jint(r.json, "id") > 0)
		c->call_id = jint(r.json, "id");
	else
		api_message(c->why, sizeof(c->why), &r);
	httpc_resp_reset(&r);
}

static void quit_h(void *arg)
{
	(void)arg;
	re_cancel();
}

/* The loop ends once every caller has finished and no POST is pending;
 * our last BYEs get their answers meanwhile. */
static void maybe_quit(struct bench *b)
{
	struct bench_run *run = b->run;

	if (run->quitting || b->ndone < b->nalloc ||
	    pool_pending(run->pool))
		return;
	if (b->nalloc < b->ncalls && !atomic_load(&run->stopping))
		return;
	run->quitting = true;
	progress(b, "ended");
	tmr_start(&run->tmr_quit, BYE_SETTLE_MS, quit_h, b);
}

/* every call placed is answered or over: all N are up together */
static void check_plateau(struct bench *b)
{
	if (b->plateau_us || b->nalloc < b->ncalls || b->awaiting.head)
		return;
	b->plateau_us = util_mono_us();
	progress(b, "plateau");
}

static void post_done(int err, void *arg)
{
	struct bench_call *c = arg;
	struct bench *b = c->b;
	(void)err;

	if (!c->call_id) {
		if (b->run->failures_shown++ < 3)
			fprintf(stderr, "parley: call %u not placed: %s\n",
				c->idx, c->why);
		if (!c->done)
			sim_caller_hangup(c->caller);
	}
	maybe_quit(b);
}

/* ---- the loop ---- */

static void poll_h(void *arg)
{
	struct bench *b = arg;
	uint64_t now = util_mono_us();
	struct le *le = b->awaiting.head;

	while (le) {
		struct bench_call *c = le->data;
		const struct sim_result *r = sim_caller_result(c->caller);

		le = le->next;
		if (r->answered) {
			c->answer_us = now;
			list_unlink(&c->le);
		}
		else if (r->outcome != SIM_PENDING) {
			list_unlink(&c->le);
		}
	}
	check_plateau(b);
	if (b->awaiting.head)
		tmr_start(&b->run->tmr_poll, POLL_MS, poll_h, b);
}

static void caller_done_h(struct sim_caller *caller, void *arg)
{
	struct bench_call *c = arg;
	struct bench *b = c->b;

	if (sim_caller_result(caller)->answered && !c->answer_us)
		c->answer_us = util_mono_us();
	list_unlink(&c->le);
	tmr_cancel(&c->tmr_stop);
	c->done = true;
	++b->ndone;
	b->end_us = util_mono_us();
	check_plateau(b);
	maybe_quit(b);
}

static void stop_h(void *arg)
{
	struct bench_call *c = arg;
	struct bench *b = c->b;

	if (!b->hangup_us) {
		b->hangup_us = util_mono_us();
		progress(b, "hangup");
	}
	if (!c->done)
		sim_caller_hangup(c->caller);
}

static void place_one(struct bench *b, struct bench_call *c)
{
	struct bench_run *run = b->run;
	struct sim_opts so = run->so;
	int err;

	so.user = c->number;
	err = sim_caller_alloc(&c->caller, b->sim, b->sc, &so, caller_done_h,
			       c);
	if (err) {
		snprintf(c->why, sizeof(c->why), "cannot set up the caller: "
			 "%s", strerror(err));
		c->done = true;
		++b->ndone;
		return;
	}
	list_append(&b->awaiting, &c->le, c);
	if (!tmr_isrunning(&run->tmr_poll))
		tmr_start(&run->tmr_poll, POLL_MS, poll_h, b);
	tmr_start(&c->tmr_stop, run->life_ms, stop_h, c);
	err = pool_submit(run->pool, post_work, post_done, c);
	if (err) {
		snprintf(c->why, sizeof(c->why), "cannot queue the POST: %s",
			 strerror(err));
		sim_caller_hangup(c->caller);
	}
}

/* Set up the callers that are due, on a fixed schedule from t0 (a late
 * timer catches up rather than shifting the rest). */
static void place_h(void *arg)
{
	struct bench *b = arg;
	struct bench_run *run = b->run;
	uint64_t now = util_mono_us();

	while (b->nalloc < b->ncalls && !atomic_load(&run->stopping)) {
		uint64_t due = b->t0_us +
			(uint64_t)((double)b->nalloc * 1e6 / b->rate);

		if (due > now) {
			tmr_start(&run->tmr_place, (due - now + 999) / 1000,
				  place_h, b);
			return;
		}
		place_one(b, &b->calls[b->nalloc++]);
	}
	check_plateau(b);
	maybe_quit(b);
}

/* First signal: stop placing and hang up; the second ends at once. */
static void signal_h(int sig)
{
	struct bench *b = g_bench;
	struct bench_run *run = b->run;
	(void)sig;

	if (atomic_load(&run->stopping)) {
		re_cancel();
		return;
	}
	atomic_store(&run->stopping, true);
	b->interrupted = true;
	tmr_cancel(&run->tmr_place);
	for (unsigned i = 0; i < b->nalloc; i++)
		if (!b->calls[i].done)
			sim_caller_hangup(b->calls[i].caller);
	maybe_quit(b);
}

/* ---- the command ---- */

/* Room for N calls' sockets (RTP and RTCP each): libre polls at most
 * FD_SETSIZE descriptors unless told before the first socket. */
static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
		(void)getrlimit(RLIMIT_NOFILE, &rl);
	}
	(void)fd_setsize((int)MIN(rl.rlim_cur, 65536));
}

/* the numeric options into b, run and cfg */
static int settings(struct bench *b, struct bench_run *run,
		    struct sim_cfg *scfg, const struct args *a)
{
	uint32_t v;

	if (!a->agent || !a->script) {
		fprintf(stderr, "parley: bench needs --agent ID and --script "
			"FILE\n");
		return EINVAL;
	}
	if (!cli_u32(a->agent, 1, UINT32_MAX, &b->agent)) {
		fprintf(stderr, "parley: --agent takes an agent id\n");
		return EINVAL;
	}
	b->ncalls = 1;
	if (a->calls && !cli_u32(a->calls, 1, MAX_CALLS, &b->ncalls)) {
		fprintf(stderr, "parley: --calls takes 1 to %d\n", MAX_CALLS);
		return EINVAL;
	}
	b->rate = 20;
	if (a->rate) {
		char *end;
		errno = 0;
		b->rate = strtod(a->rate, &end);
		if (errno || *end || end == a->rate || !(b->rate >= 0.1) ||
		    b->rate > 1000) {
			fprintf(stderr, "parley: --rate takes 0.1 to 1000 "
				"calls per second\n");
			return EINVAL;
		}
	}
	b->duration_s = 60;
	if (a->duration && !cli_u32(a->duration, 1, 86400,
				      &b->duration_s)) {
		fprintf(stderr, "parley: --duration takes 1 to 86400 "
			"seconds\n");
		return EINVAL;
	}
	if (a->turn_silence) {
		if (!cli_u32(a->turn_silence, 100, 10000, &v)) {
			fprintf(stderr, "parley: --turn-silence takes 100 to "
				"10000 ms\n");
			return EINVAL;
		}
		run->so.turn_silence_ms = v;
	}
	if (a->rtp_ports) {
		unsigned lo = 0, hi = 0;
		char tail;
		if (sscanf(a->rtp_ports, "%u-%u%c", &lo, &hi, &tail) != 2 ||
		    lo < 1024 || hi > 65535 || hi < lo + 2) {
			fprintf(stderr, "parley: --rtp-ports takes MIN-MAX "
				"(1024 to 65535)\n");
			return EINVAL;
		}
		scfg->rtp_port_min = (uint16_t)lo;
		scfg->rtp_port_max = (uint16_t)hi;
	}
	scfg->sip_listen = a->sip_listen;
	run->life_ms = (uint32_t)((double)b->ncalls * 1000.0 / b->rate) +
		b->duration_s * 1000;
	run->so.timeout_ms = run->life_ms + CALL_MARGIN_MS;
	run->so.invite_timeout_ms = INVITE_WAIT_MS;
	return 0;
}

static bool all_answered(const struct bench *b)
{
	for (unsigned i = 0; i < b->ncalls; i++)
		if (!b->calls[i].answer_us)
			return false;
	return true;
}

int cmd_bench(int argc, char **argv)
{
	struct args a;
	struct config cfg;
	struct bench b;
	struct bench_run run;
	struct sim_cfg scfg;
	struct tts_opts to;
	char url[300], voice[64];
	int rc = EXIT_FAIL, err;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	memset(&run, 0, sizeof(run));
	memset(&scfg, 0, sizeof(scfg));
	atomic_init(&run.stopping, false);
	tmr_init(&run.tmr_place);
	tmr_init(&run.tmr_poll);
	tmr_init(&run.tmr_quit);
	list_init(&b.awaiting);
	b.run = &run;
	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			bench_usage(stdout);
			return EXIT_OK;
		}
	}
	if (parse_args(&a, argc, argv) || cli_settings(&cfg, a.config) ||
	    settings(&b, &run, &scfg, &a) ||
	    cli_voice(&to, voice, sizeof(voice), a.voice))
		return EXIT_USAGE;
	b.key = a.key ? a.key : getenv("PARLEY_API_KEY");
	if (!b.key || !*b.key) {
		fprintf(stderr, "parley: an API key is needed: --api-key KEY "
			"or PARLEY_API_KEY\n");
		return EXIT_USAGE;
	}
	{
		const char *server = a.server ? a.server : cfg.http_listen;
		snprintf(url, sizeof(url), "%s%s",
			 strncmp(server, "http://", 7) ? "http://" : "",
			 server);
	}
	b.url = url;
	b.script_path = a.script;

	rc = load_script(&b.sc, a.script, &to, a.voice, run.life_ms);
	if (rc)
		goto out;

	rc = EXIT_FAIL;
	raise_nofile();
	b.calls = mem_zalloc(b.ncalls * sizeof(*b.calls), NULL);
	if (!b.calls)
		goto out;
	for (unsigned i = 0; i < b.ncalls; i++) {
		struct bench_call *c = &b.calls[i];
		c->b = &b;
		c->idx = i;
		tmr_init(&c->tmr_stop);
		snprintf(c->number, sizeof(c->number), "+1555555%04u", i);
	}
	err = sim_alloc(&b.sim, &scfg);
	if (!err)
		err = pool_alloc(&run.pool, PLACERS, NULL, NULL, NULL);
	if (err) {
		fprintf(stderr, "parley: cannot set up the callers: %s\n",
			strerror(err));
		goto out;
	}
	if (create_trunk(&b))
		goto out;

	b.t0_us = util_mono_us();
	progress(&b, "placing");
	place_h(&b);
	g_bench = &b;
	(void)re_main(signal_h);
	g_bench = NULL;
	tmr_cancel(&run.tmr_place);
	tmr_cancel(&run.tmr_poll);
	tmr_cancel(&run.tmr_quit);
	for (unsigned i = 0; i < b.nalloc; i++) {
		tmr_cancel(&b.calls[i].tmr_stop);
		if (!b.calls[i].done)
			sim_caller_hangup(b.calls[i].caller);
	}
	/* workers still running (a forced stop) finish before the calls
	 * they write to go */
	run.pool = mem_deref(run.pool);

	progress(&b, "collecting");
	bench_collect(&b);
	delete_trunk(&b);
	re_printf("%H", bench_report, &b);
	fflush(stdout);
	rc = all_answered(&b) ? EXIT_OK : EXIT_INCOMPLETE;

 out:
	if (b.trunk && !b.trunk_deleted && rc == EXIT_FAIL)
		delete_trunk(&b);
	run.pool = mem_deref(run.pool);
	tmr_cancel(&run.tmr_place);
	tmr_cancel(&run.tmr_poll);
	tmr_cancel(&run.tmr_quit);
	for (unsigned i = 0; b.calls && i < b.ncalls; i++) {
		tmr_cancel(&b.calls[i].tmr_stop);
		list_unlink(&b.calls[i].le);
		mem_deref(b.calls[i].caller);
		mem_deref(b.calls[i].detail);
	}
	mem_deref(b.calls);
	mem_deref(b.sim);
	mem_deref(b.sc);
	return rc;
}
