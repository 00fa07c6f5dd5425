/* simulate.c - `parley simulate`: place a real call from Parley to a
 * scripted caller in this process and report what happened.
 *
 * The order matters: the script is synthesised before anything is
 * created (a bad line costs nothing), the SIP listener exists before the
 * trunk that points at it, and the trunk is deleted on every way out
 * once it exists. The API is only used while the loop is not running:
 * httpc is blocking, and a blocked loop would stall the media tick and
 * with it every measurement.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <re.h>
#include "cli/args.h"
#include "cli/httpc.h"
#include "cli/simulate.h"
#include "config/config.h"
#include "core/log.h"
#include "json/json.h"
#include "sim/script.h"
#include "sim/sim.h"
#include "speech/tts.h"

/* what Parley dials: a fictitious number (NANP 555-0100) that passes the
 * API's validation, which +15550100100 does not (exchange 010) */
#define SIM_NUMBER "+15555550100"

enum {
	EXIT_OK = 0,
	EXIT_FAIL = 1,
	EXIT_USAGE = 2,
	EXIT_INCOMPLETE = 3,
	BYE_SETTLE_MS = 300,        /* our BYE gets its answer meanwhile */
	CALL_END_WAIT_MS = 5000,    /* the server's row to say ended */
	INVITE_WAIT_MS = 15000,
};

void simulate_usage(FILE *f)
{
	fprintf(f,
"usage: parley simulate --agent ID --script FILE [--server URL]\n"
"         [--api-key KEY] [--config FILE] [--voice ENGINE[:VOICE]]\n"
"         [--record OUT.wav] [--json] [--turn-silence MS] [--timeout S]\n"
"         [--message TEXT] [--variables JSON]\n"
"\n"
"Calls a scripted caller in this process through the running server (a\n"
"temporary trunk to 127.0.0.1, deleted afterwards) and prints the\n"
"agent's turns, response latencies, barge-in reactions, the transcript\n"
"and the call's events. Exit status: 0 answered and the script ran to\n"
"its end, 1 setup or API failure, 2 bad usage or script, 3 the call or\n"
"the script did not complete.\n"
"\n"
"The caller's lines are synthesised before the call with --voice:\n"
"espeak-ng (default) or flite, optionally with a voice name\n"
"(espeak-ng:en-gb, flite:slt).\n"
"\n"
"Script: one caller utterance per line, spoken once the agent has\n"
"finished its turn (its audio silent for --turn-silence ms, default 800,\n"
"after it spoke; or 4 s without any agent audio). Blank lines and lines\n"
"starting with '#' are ignored. Directives:\n"
"  @wait SECONDS        stay silent that long\n"
"  @barge SECONDS TEXT  during the agent's next turn, say TEXT SECONDS\n"
"                       after its audio began\n"
"  @dtmf DIGITS         send RFC 4733 digits (0-9 * # A-D)\n"
"  @hangup              hang up now\n"
"  @expect-hangup       wait for the agent to hang up (fails at --timeout)\n"
"After the last line the caller waits for the agent's turn to end, then\n"
"hangs up. --timeout (default 120 s) bounds the whole call.\n"
"--record writes a stereo WAV: left what the caller heard, right what it\n"
"said. --json prints one JSON object instead of the report. --message\n"
"and --variables go into the call request (a one-way notification;\n"
"template variables as a JSON object). A transfer by the agent is taken\n"
"as successful (the target answered).\n");
}

struct args {
	const char *agent, *script, *server, *key, *config, *voice, *record;
	const char *turn_silence, *timeout, *message, *variables;
	bool json;
};

struct run {
	struct sim_caller *caller;
	struct tmr tmr_quit;
	bool done, interrupted;
};

/* re_main's signal handler takes no argument */
static struct run *g_run;

static int parse_args(struct args *a, int argc, char **argv)
{
	const struct cli_opt opts[] = {
		{"--agent", &a->agent, NULL},
		{"--script", &a->script, NULL},
		{"--server", &a->server, NULL},
		{"--api-key", &a->key, NULL},
		{"--config", &a->config, NULL},
		{"--voice", &a->voice, NULL},
		{"--record", &a->record, NULL},
		{"--turn-silence", &a->turn_silence, NULL},
		{"--timeout", &a->timeout, NULL},
		{"--message", &a->message, NULL},
		{"--variables", &a->variables, NULL},
		{"--json", NULL, &a->json},
	};

	return cli_parse(argc, argv, opts, ARRAY_SIZE(opts), "simulate");
}

/* ---- the API ---- */

/* POST body, expecting 201 with an "id" */
static int api_create(long long *idp, const char *url, const char *key,
		      const char *path, const char *body, const char *what)
{
	struct httpc_resp r;
	int err;

	err = httpc_request(&r, url, "POST", path, key, body);
	if (err) {
		fprintf(stderr, "parley: cannot reach %s: %s\n", url,
			strerror(err));
		return err;
	}
	if (r.status != 201 || !r.json || httpc_int(r.json, "id") <= 0) {
		httpc_failed(what, &r);
		httpc_resp_reset(&r);
		return EPROTO;
	}
	*idp = httpc_int(r.json, "id");
	httpc_resp_reset(&r);
	return 0;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* The call's row once the server says it ended (it writes it a moment
 * after the BYE), or the latest seen. Hangs up a call still going. */
static int fetch_call(struct httpc_resp *out, const char *url,
		      const char *key, long long id)
{
	char path[64];
	bool hung_up = false;
	int waited = 0;

	memset(out, 0, sizeof(*out));
	re_snprintf(path, sizeof(path), "/api/v1/calls/%lld", id);
	for (;;) {
		struct httpc_resp r;
		int err = httpc_request(&r, url, "GET", path, key, NULL);

		if (err || r.status != 200 || !r.json) {
			if (!err)
				httpc_failed("call", &r);
			httpc_resp_reset(&r);
			return err ? err : EPROTO;
		}
		httpc_resp_reset(out);
		*out = r;
		if (!strcmp(httpc_str(r.json, "status"), "ended"))
			return 0;
		if (waited >= CALL_END_WAIT_MS) {
			struct httpc_resp h;
			char hp[80];

			if (hung_up)
				return 0;
			/* our side is over; the server's is not (an INVITE
			 * that never reached us): end it there too */
			re_snprintf(hp, sizeof(hp), "%s/hangup", path);
			if (!httpc_request(&h, url, "POST", hp, key, NULL))
				httpc_resp_reset(&h);
			hung_up = true;
			waited = 0;
		}
		sleep_ms(100);
		waited += 100;
	}
}

static void delete_trunk(const char *url, const char *key, long long id)
{
	struct httpc_resp r;
	char path[64];
	int err;

	re_snprintf(path, sizeof(path), "/api/v1/trunks/%lld", id);
	err = httpc_request(&r, url, "DELETE", path, key, NULL);
	if (err)
		fprintf(stderr, "parley: cannot delete trunk %lld: %s\n", id,
			strerror(err));
	else if (r.status != 204)
		httpc_failed("deleting the temporary trunk", &r);
	if (!err)
		httpc_resp_reset(&r);
}

/* POST /api/v1/calls's body */
static int call_body(char **bodyp, uint32_t agent, long long trunk,
		     const char *message, const struct odict *vars)
{
	struct odict *o = NULL;
	int err;

	err = odict_alloc(&o, 8);
	if (!err)
		err = odict_entry_add(o, "agent_id", ODICT_INT, (int64_t)agent);
	if (!err)
		err = odict_entry_add(o, "to", ODICT_STRING, SIM_NUMBER);
	if (!err)
		err = odict_entry_add(o, "trunk_id", ODICT_INT,
				      (int64_t)trunk);
	if (!err && message)
		err = odict_entry_add(o, "message", ODICT_STRING, message);
	if (!err && vars)
		err = odict_entry_add(o, "variables", ODICT_OBJECT, vars);
	if (!err)
		err = json_encode(bodyp, o);
	mem_deref(o);
	return err;
}

/* ---- the loop ---- */

static void quit_tmr_h(void *arg)
{
	(void)arg;
	re_cancel();
}

static void done_h(struct sim_caller *caller, void *arg)
{
	struct run *run = arg;
	const struct sim_result *r = sim_caller_result(caller);
	bool our_bye = r->hangup_by && !strcmp(r->hangup_by, "caller");

	run->done = true;
	tmr_start(&run->tmr_quit, our_bye ? BYE_SETTLE_MS : 0, quit_tmr_h,
		  run);
}

static void signal_h(int sig)
{
	struct run *run = g_run;
	(void)sig;

	if (run->done || run->interrupted) {
		re_cancel();
		return;
	}
	run->interrupted = true;
	sim_caller_hangup(run->caller);
}

/* ---- output ---- */

static const struct odict *jarray(const struct odict *o, const char *k)
{
	const struct odict_entry *e = o ? odict_lookup(o, k) : NULL;

	return e && e->type == ODICT_ARRAY ? e->u.odict : NULL;
}

struct json_out {
	long long call_id, agent_id;
	const struct sim_result *res;
	const struct script *sc;
	const struct odict *call;   /* the API's call, or NULL */
};

static int print_json(struct re_printf *pf, void *arg)
{
	const struct json_out *j = arg;
	const struct odict *tr = jarray(j->call, "transcript");
	const struct odict *ev = jarray(j->call, "events");
	int err;

	err = re_hprintf(pf, "{\"call_id\":%lld,\"agent_id\":%lld,",
			 j->call_id, j->agent_id);
	err |= sim_result_json(pf, j->res, j->sc);
	err |= re_hprintf(pf, ",\"call\":");
	if (j->call) {
		err |= re_hprintf(pf, "{\"status\":%H,\"outcome\":%H,"
				  "\"hangup_cause\":%H,\"hangup_by\":%H}",
				  json_print_str, httpc_str(j->call, "status"),
				  json_print_str, httpc_str(j->call, "outcome"),
				  json_print_str, httpc_str(j->call,
						       "hangup_cause"),
				  json_print_str, httpc_str(j->call, "hangup_by"));
	}
	else {
		err |= re_hprintf(pf, "null");
	}
	err |= re_hprintf(pf, ",\"transcript\":");
	err |= tr ? json_print_array(pf, tr) : re_hprintf(pf, "[]");
	err |= re_hprintf(pf, ",\"events\":");
	err |= ev ? json_print_array(pf, ev) : re_hprintf(pf, "[]");
	err |= re_hprintf(pf, "}\n");
	return err;
}

static double sec(uint32_t ms)
{
	return ms / 1000.0;
}

static void print_turn(const struct sim_turn *t, size_t i)
{
	printf("  %7.2f - %7.2f  agent   turn %zu, %.2f s%s\n",
	       sec(t->start_ms), sec(t->end_ms), i + 1,
	       sec(t->end_ms - t->start_ms), t->barged ? ", barged in on" : "");
}

static void print_line(const struct sim_line *l, const struct script *sc)
{
	printf("  %7.2f - %7.2f  caller  line %u: \"%s\"", sec(l->start_ms),
	       sec(l->end_ms), l->line, sc->steps[l->step].text);
	if (l->barge) {
		if (l->barge_after_ms >= 0)
			printf(", %.2f s into the agent's turn",
			       l->barge_after_ms / 1000.0);
		if (l->barge_ms >= 0)
			printf(", the agent stopped after %.2f s",
			       l->barge_ms / 1000.0);
		else
			printf(", the agent %s", l->barge_after_ms >= 0 ?
			       "did not stop" : "was not speaking");
	}
	if (l->latency_ms >= 0)
		printf(", reply after %.2f s", l->latency_ms / 1000.0);
	else
		printf(", no reply");
	printf("\n");
}

static void print_human(const struct json_out *j)
{
	const struct sim_result *r = j->res;
	const struct odict *tr = jarray(j->call, "transcript");
	const struct odict *ev = jarray(j->call, "events");
	size_t ti = 0, li = 0, nlat = 0;
	uint32_t lat_sum = 0, lat_max = 0;

	printf("call %lld: %s, %s", j->call_id, r->answered ? "answered" :
	       "not answered", r->outcome == SIM_COMPLETED ?
	       "script completed" : sim_outcome_name(r->outcome));
	if (r->hangup_by)
		printf(", hung up by the %s", r->hangup_by);
	printf(" after %.2f s (%zu of %zu steps)\n", sec(r->duration_ms),
	       r->steps_done, r->steps);
	if (r->error[0])
		printf("  %s\n", r->error);
	if (j->call)
		printf("server: status %s, outcome %s, %s by %s\n",
		       httpc_str(j->call, "status"), httpc_str(j->call, "outcome"),
		       httpc_str(j->call, "hangup_cause"),
		       httpc_str(j->call, "hangup_by"));

	if (r->nturns || r->nlines)
		printf("timeline (s from answer):\n");
	while (ti < r->nturns || li < r->nlines) {
		if (li >= r->nlines || (ti < r->nturns &&
		    r->turns[ti].start_ms <= r->lines[li].start_ms)) {
			print_turn(&r->turns[ti], ti);
			ti++;
		}
		else {
			print_line(&r->lines[li++], j->sc);
		}
	}
	for (size_t i = 0; i < r->nlines; i++) {
		if (r->lines[i].latency_ms < 0)
			continue;
		nlat++;
		lat_sum += (uint32_t)r->lines[i].latency_ms;
		if ((uint32_t)r->lines[i].latency_ms > lat_max)
			lat_max = (uint32_t)r->lines[i].latency_ms;
	}
	if (nlat)
		printf("latency: %zu of %zu lines answered, mean %.2f s, "
		       "max %.2f s\n", nlat, r->nlines,
		       lat_sum / 1000.0 / (double)nlat, lat_max / 1000.0);
	if (r->dtmf_rx[0])
		printf("DTMF from the agent: %s\n", r->dtmf_rx);
	if (r->transfer_to[0])
		printf("transfer: the agent transferred the call to %s\n",
		       r->transfer_to);

	printf("transcript:%s\n", tr && tr->lst.head ? "" : " (none)");
	for (struct le *le = tr ? tr->lst.head : NULL; le; le = le->next) {
		const struct odict_entry *e = le->data;
		const struct odict *t = e->type == ODICT_OBJECT ?
			e->u.odict : NULL;
		const struct odict_entry *in = t ?
			odict_lookup(t, "interrupted") : NULL;

		if (!t)
			continue;
		printf("  %7.2f - %7.2f  %-6s  %s%s\n",
		       httpc_int(t, "start_ms") / 1000.0, httpc_int(t, "end_ms") / 1000.0,
		       httpc_str(t, "speaker"), httpc_str(t, "text"),
		       in && in->type == ODICT_BOOL && in->u.boolean ?
		       " (interrupted)" : "");
	}
	printf("events:%s\n", ev && ev->lst.head ? "" : " (none)");
	for (struct le *le = ev ? ev->lst.head : NULL; le; le = le->next) {
		const struct odict_entry *e = le->data;
		const struct odict *o = e->type == ODICT_OBJECT ?
			e->u.odict : NULL;
		const struct odict_entry *d = o ? odict_lookup(o, "data") :
			NULL;

		if (!o)
			continue;
		re_printf("  %s  %s", httpc_str(o, "at"), httpc_str(o, "type"));
		if (d && d->type == ODICT_OBJECT)
			re_printf(" %H", json_print, d->u.odict);
		re_printf("\n");
	}
}

/* ---- the command ---- */

static int prepare(struct script **scp, const struct args *a,
		   struct sim_opts *so, uint32_t *agentp)
{
	struct script_err se = {0, ""};
	struct tts_opts to;
	char voice[64];
	uint32_t v;
	int err;

	if (!a->agent || !a->script) {
		fprintf(stderr, "parley: simulate needs --agent ID and "
			"--script FILE\n");
		return EXIT_USAGE;
	}
	if (!cli_u32(a->agent, 1, UINT32_MAX, agentp)) {
		fprintf(stderr, "parley: --agent takes an agent id\n");
		return EXIT_USAGE;
	}
	memset(so, 0, sizeof(*so));
	so->user = SIM_NUMBER;
	so->record = a->record;
	if (a->turn_silence) {
		if (!cli_u32(a->turn_silence, 100, 10000, &v)) {
			fprintf(stderr, "parley: --turn-silence takes 100 to "
				"10000 ms\n");
			return EXIT_USAGE;
		}
		so->turn_silence_ms = v;
	}
	if (a->timeout) {
		if (!cli_u32(a->timeout, 1, 86400, &v)) {
			fprintf(stderr, "parley: --timeout takes 1 to 86400 "
				"seconds\n");
			return EXIT_USAGE;
		}
		so->timeout_ms = v * 1000;
	}
	so->invite_timeout_ms = INVITE_WAIT_MS;
	if (cli_voice(&to, voice, sizeof(voice), a->voice))
		return EXIT_USAGE;

	err = script_load(scp, a->script, &se);
	if (err) {
		if (se.line)
			fprintf(stderr, "parley: %s:%u: %s\n", a->script,
				se.line, se.msg);
		else
			fprintf(stderr, "parley: %s: %s\n", a->script,
				se.msg[0] ? se.msg : strerror(err));
		return EXIT_USAGE;
	}
	err = script_synth(*scp, &to, &se);
	if (err) {
		if (err == ENOSYS)
			fprintf(stderr, "parley: the %s voice is not available "
				"in this build\n", a->voice);
		else if (err == ENOENT)
			fprintf(stderr, "parley: --voice %s: no such voice\n",
				a->voice);
		else
			fprintf(stderr, "parley: %s:%u: %s\n", a->script,
				se.line, se.msg);
		return err == ENOENT ? EXIT_USAGE : EXIT_FAIL;
	}
	return EXIT_OK;
}

int cmd_simulate(int argc, char **argv)
{
	struct args a;
	struct config cfg;
	struct sim_opts so;
	struct script *sc = NULL;
	struct sim *sim = NULL;
	struct run run;
	struct httpc_resp call;
	struct odict *vars = NULL;
	const char *key;
	char *cbody = NULL;
	char url[300], body[256];
	long long trunk = 0, call_id = 0;
	uint32_t agent = 0;
	int rc, err;

	memset(&a, 0, sizeof(a));
	memset(&run, 0, sizeof(run));
	memset(&call, 0, sizeof(call));
	tmr_init(&run.tmr_quit);
	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			simulate_usage(stdout);
			return EXIT_OK;
		}
	}
	if (parse_args(&a, argc, argv) || cli_settings(&cfg, a.config))
		return EXIT_USAGE;
	key = a.key;
	if (httpc_target(url, sizeof(url), a.server, cfg.http_listen, &key))
		return EXIT_USAGE;

	rc = prepare(&sc, &a, &so, &agent);
	if (rc)
		goto out;
	if (a.variables) {
		int type = 0;
		if (json_parse(&vars, &type, a.variables, strlen(a.variables),
			       NULL) || type != ODICT_OBJECT) {
			fprintf(stderr, "parley: --variables takes a JSON "
				"object\n");
			rc = EXIT_USAGE;
			goto out;
		}
	}

	rc = EXIT_FAIL;
	err = sim_alloc(&sim, NULL);
	if (!err)
		err = sim_caller_alloc(&run.caller, sim, sc, &so, done_h, &run);
	if (err) {
		fprintf(stderr, "parley: cannot set up the caller%s%s: %s\n",
			a.record ? " or " : "", a.record ? a.record : "",
			strerror(err));
		goto out;
	}

	snprintf(body, sizeof(body), "{\"name\":\"simulate %d\","
		 "\"sip_uri\":\"sip:127.0.0.1:%u\"}", (int)getpid(),
		 sim_port(sim));
	if (api_create(&trunk, url, key, "/api/v1/trunks", body, "trunk"))
		goto out;
	if (call_body(&cbody, agent, trunk, a.message, vars))
		goto out;
	if (api_create(&call_id, url, key, "/api/v1/calls", cbody, "call"))
		goto out;
	if (!a.json)
		fprintf(stderr, "call %lld placed; the caller waits on "
			"127.0.0.1:%u\n", call_id, sim_port(sim));

	g_run = &run;
	(void)re_main(signal_h);
	g_run = NULL;
	tmr_cancel(&run.tmr_quit);
	if (!run.done)
		sim_caller_hangup(run.caller);

	(void)fetch_call(&call, url, key, call_id);
	{
		const struct sim_result *r = sim_caller_result(run.caller);
		struct json_out j = {call_id, agent, r, sc, call.json};

		if (a.json)
			re_printf("%H", print_json, &j);
		else
			print_human(&j);
		fflush(stdout);
		rc = r->answered && r->outcome == SIM_COMPLETED ? EXIT_OK :
			EXIT_INCOMPLETE;
	}

 out:
	if (trunk)
		delete_trunk(url, key, trunk);
	httpc_resp_reset(&call);
	tmr_cancel(&run.tmr_quit);
	mem_deref(run.caller);
	mem_deref(sim);
	mem_deref(sc);
	mem_deref(vars);
	mem_deref(cbody);
	return rc;
}
