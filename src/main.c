/* main.c - the `parley` command line. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <re.h>
#include <time.h>
#include "api/keys.h"
#include "cli/amd.h"
#include "cli/bench.h"
#include "cli/campaign.h"
#include "cli/contacts.h"
#include "cli/httpc.h"
#include "cli/simulate.h"
#include "json/json.h"
#include "config/config.h"
#include "core/log.h"
#include "server/server.h"
#include "store/db.h"

static void usage(FILE *f)
{
	fprintf(f,
"usage: parley COMMAND [OPTIONS]\n"
"\n"
"Parley %s: a self-hosted AI voice-agent calling server.\n"
"\n"
"commands:\n"
"  serve [--config FILE]        run the server (HTTP API; SIP once enabled)\n"
"  migrate [--config FILE]      apply pending database migrations and exit\n"
"  apikey create --tenant NAME [--name LABEL] [--config FILE]\n"
"                               create the tenant if needed and print a new\n"
"                               API key (shown once; only its hash is stored)\n"
"  call --agent ID --to NUMBER [--trunk ID] [--from NUMBER]\n"
"                               place a call through the running server and\n"
"                               follow it until it ends\n"
"  trunk check ID               send OPTIONS to a trunk through the server;\n"
"                               prints reachability and round-trip time\n"
"  simulate --agent ID --script FILE [--voice espeak-ng|flite]\n"
"           [--record OUT.wav] [--json] [--turn-silence MS] [--timeout S]\n"
"                               call a scripted caller in this process\n"
"                               through the server; prints the agent's\n"
"                               turns, latencies and transcript. Script:\n"
"                               one utterance per line, said when the agent\n"
"                               ends its turn; '#' comments; @wait SECONDS,\n"
"                               @barge SECONDS TEXT, @dtmf DIGITS, @hangup,\n"
"                               @expect-hangup (parley simulate --help)\n"
"  bench --agent ID --script FILE [--calls N] [--rate R] [--duration S]\n"
"                               N concurrent scripted calls through the\n"
"                               server to this process; prints one JSON\n"
"                               report of set-up time, response latency,\n"
"                               barge-in, audio gaps and the server's\n"
"                               per-turn timings (parley bench --help)\n"
"  amd analyze FILE.wav [FILE.wav ...] [--PARAM VALUE ...] [--json]\n"
"                               run the answering-machine detector on\n"
"                               recordings of callees: decision, time,\n"
"                               cause, beep (parley amd --help)\n"
"  contacts import --campaign ID FILE.csv [--chunk-size BYTES] [--json]\n"
"                               import a CSV of any size into a campaign\n"
"                               through the server, with a progress bar;\n"
"                               rejected rows are listed by line number\n"
"                               (parley contacts --help)\n"
"  campaign start|pause|resume|cancel ID\n"
"                               change a campaign's state through the\n"
"                               server (409: not from its current state)\n"
"  campaign status ID [--watch] [--json]\n"
"                               counts by task status and outcome, answer\n"
"                               rate, attempts; --watch draws a live\n"
"                               progress bar (parley campaign --help)\n"
"  config sample                print the commented sample configuration\n"
"  --help, -h                   this text\n"
"  --version                    print the version\n"
"\n"
"Settings come from the built-in defaults, then --config FILE, then\n"
"PARLEY_* environment variables (e.g. PARLEY_DB_URL, PARLEY_HTTP_LISTEN).\n"
"`parley config sample` lists them all.\n"
"\n"
"`call`, `trunk check` and `simulate` talk to the server's API: --api-key\n"
"KEY (or PARLEY_API_KEY) and --server URL (default: http:// +\n"
"http.listen).\n"
"`call` exits 0 when the call was answered, 3 when it ended otherwise;\n"
"`simulate` 0 when the script ran to its end, 3 when it did not, 2 for a\n"
"bad script (the message names the line).\n",
PARLEY_VERSION);
}

/* parse "--config FILE" and the given extra options; NULL-ended */
struct opt {
	const char *name;
	const char **valp;
};

static int parse_opts(int argc, char **argv, struct opt *opts)
{
	for (int i = 0; i < argc; i++) {
		struct opt *o;

		for (o = opts; o->name; o++)
			if (!strcmp(argv[i], o->name))
				break;
		if (!o->name) {
			fprintf(stderr, "parley: unknown option '%s'\n",
				argv[i]);
			return EINVAL;
		}
		if (i + 1 >= argc) {
			fprintf(stderr, "parley: %s needs a value\n", argv[i]);
			return EINVAL;
		}
		*o->valp = argv[++i];
	}
	return 0;
}

static int load_config(struct config *cfg, const char *path)
{
	struct config_err ce;
	enum log_level lvl;

	if (config_load(cfg, path, &ce)) {
		fprintf(stderr, "parley: config: %s\n", ce.msg);
		return EINVAL;
	}
	if (!log_level_parse(&lvl, cfg->log_level))
		log_set_level(lvl);
	return 0;
}

static int cmd_apikey_create(const struct config *cfg, const char *tenant,
			     const char *name)
{
	struct db *db = NULL;
	char key[APIKEY_LEN + 1];
	int64_t tid, kid;
	int err;

	if (!tenant || !*tenant || strlen(tenant) > 200) {
		fprintf(stderr, "parley: apikey create needs --tenant NAME "
			"(1 to 200 characters)\n");
		return 2;
	}
	err = server_migrate(cfg, NULL);
	if (err)
		return 1;
	err = db_open(&db, cfg->db_url);
	if (!err)
		err = tenant_ensure(db, tenant, &tid);
	if (!err)
		err = apikey_issue(db, tid, name, key, &kid);
	if (err) {
		fprintf(stderr, "parley: cannot create the key: %s\n",
			db ? db_errmsg(db) : strerror(err));
		mem_deref(db);
		return 1;
	}
	mem_deref(db);
	printf("%s\n", key);
	fprintf(stderr, "API key %lld for tenant '%s' (id %lld). It is shown "
		"only now: store it safely.\n", (long long)kid, tenant,
		(long long)tid);
	memset(key, 0, sizeof(key));
	return 0;
}

/* the server's URL and the key for API-based commands */
static int cmd_call(const char *url, const char *key, const char *agent,
		    const char *to, const char *trunk, const char *from)
{
	struct httpc_resp r;
	char body[512], path[64];
	int shown = 0;
	long long id;
	int err, rc = 3;

	if (!agent || !to) {
		fprintf(stderr, "parley: call needs --agent ID and --to NUMBER\n");
		return 2;
	}
	/* the ids go as numbers, the rest as JSON strings */
	{
		struct odict *o = NULL;
		char *enc = NULL;
		err = odict_alloc(&o, 8);
		if (!err)
			err = odict_entry_add(o, "agent_id", ODICT_INT,
					      (int64_t)strtoll(agent, NULL, 10));
		if (!err)
			err = odict_entry_add(o, "to", ODICT_STRING, to);
		if (!err && trunk)
			err = odict_entry_add(o, "trunk_id", ODICT_INT,
					      (int64_t)strtoll(trunk, NULL, 10));
		if (!err && from)
			err = odict_entry_add(o, "from", ODICT_STRING, from);
		if (!err)
			err = json_encode(&enc, o);
		if (!err)
			snprintf(body, sizeof(body), "%s", enc);
		mem_deref(enc);
		mem_deref(o);
		if (err)
			return 1;
	}
	err = httpc_request(&r, url, "POST", "/api/v1/calls", key, body);
	if (err) {
		fprintf(stderr, "parley: cannot reach %s: %s\n", url,
			strerror(err));
		return 1;
	}
	if (r.status != 201 || !r.json) {
		httpc_failed("call", &r);
		httpc_resp_reset(&r);
		return 1;
	}
	id = httpc_int(r.json, "id");
	httpc_resp_reset(&r);
	printf("call %lld to %s\n  initiated\n", id, to);
	re_snprintf(path, sizeof(path), "/api/v1/calls/%lld", id);

	for (;;) {
		const char *status;
		struct timespec ts = {0, 200 * 1000000L};

		err = httpc_request(&r, url, "GET", path, key, NULL);
		if (err || r.status != 200 || !r.json) {
			fprintf(stderr, "parley: lost track of call %lld\n", id);
			httpc_resp_reset(&r);
			return 1;
		}
		status = httpc_str(r.json, "status");
		/* every milestone once, in order, from the row's timestamps, so
		 * none is missed between two polls */
		{
			static const char *const steps[][2] = {
				{"ringing_at", "ringing"},
				{"answered_at", "answered"},
				{"ended_at", "ended"}};
			for (size_t i = 0; i < 3; i++) {
				if ((int)i < shown || !odict_string(r.json,
							steps[i][0]))
					continue;
				printf("  %s\n", steps[i][1]);
				shown = (int)i + 1;
			}
			fflush(stdout);
		}
		if (!strcmp(status, "ended")) {
			printf("outcome %s, SIP %lld, %s by %s\n",
			       httpc_str(r.json, "outcome"), httpc_int(r.json, "sip_code"),
			       httpc_str(r.json, "hangup_cause"),
			       httpc_str(r.json, "hangup_by"));
			rc = !strcmp(httpc_str(r.json, "outcome"), "answered") ? 0 : 3;
			httpc_resp_reset(&r);
			return rc;
		}
		httpc_resp_reset(&r);
		nanosleep(&ts, NULL);
	}
}

static int cmd_trunk_check(const char *url, const char *key, const char *id)
{
	struct httpc_resp r;
	char path[64];
	int err, rc;

	re_snprintf(path, sizeof(path), "/api/v1/trunks/%s/check", id);
	err = httpc_request(&r, url, "POST", path, key, NULL);
	if (err) {
		fprintf(stderr, "parley: cannot reach %s: %s\n", url,
			strerror(err));
		return 1;
	}
	if (r.status != 200 || !r.json) {
		httpc_failed("trunk check", &r);
		httpc_resp_reset(&r);
		return 1;
	}
	{
		const struct odict_entry *e = odict_lookup(r.json, "reachable");
		bool up = e && e->type == ODICT_BOOL && e->u.boolean;
		if (up)
			printf("trunk %s: reachable, SIP %lld, %lld ms\n", id,
			       httpc_int(r.json, "sip_code"), httpc_int(r.json, "rtt_ms"));
		else
			printf("trunk %s: unreachable (%s)\n", id,
			       httpc_str(r.json, "error"));
		rc = up ? 0 : 1;
	}
	httpc_resp_reset(&r);
	return rc;
}

static int run(int argc, char **argv)
{
	struct config cfg;
	const char *path = NULL, *tenant = NULL, *name = NULL;
	const char *cmd = argc > 1 ? argv[1] : NULL;

	if (!cmd || !strcmp(cmd, "--help") || !strcmp(cmd, "-h") ||
	    !strcmp(cmd, "help")) {
		usage(stdout);
		return cmd ? 0 : 2;
	}
	if (!strcmp(cmd, "--version")) {
		printf("parley %s\n", PARLEY_VERSION);
		return 0;
	}

	if (!strcmp(cmd, "serve") || !strcmp(cmd, "migrate")) {
		struct opt o[] = {{"--config", &path}, {NULL, NULL}};
		if (parse_opts(argc - 2, argv + 2, o) ||
		    load_config(&cfg, path))
			return 2;
		if (!strcmp(cmd, "serve"))
			return server_run(&cfg);
		int applied = 0;
		if (server_migrate(&cfg, &applied))
			return 1;
		printf("migrations applied: %d\n", applied);
		return 0;
	}

	if (!strcmp(cmd, "apikey")) {
		struct opt o[] = {{"--config", &path}, {"--tenant", &tenant},
				  {"--name", &name}, {NULL, NULL}};
		if (argc < 3 || strcmp(argv[2], "create")) {
			fprintf(stderr, "parley: usage: parley apikey create "
				"--tenant NAME\n");
			return 2;
		}
		if (parse_opts(argc - 3, argv + 3, o) ||
		    load_config(&cfg, path))
			return 2;
		return cmd_apikey_create(&cfg, tenant, name);
	}

	if (!strcmp(cmd, "call") || (!strcmp(cmd, "trunk") && argc >= 3 &&
				      !strcmp(argv[2], "check"))) {
		const char *key = NULL, *server = NULL, *agent = NULL,
			*to = NULL, *trunk = NULL, *from = NULL;
		struct opt o[] = {{"--config", &path}, {"--api-key", &key},
				  {"--server", &server}, {"--agent", &agent},
				  {"--to", &to}, {"--trunk", &trunk},
				  {"--from", &from}, {NULL, NULL}};
		bool is_call = !strcmp(cmd, "call");
		int first = is_call ? 2 : 4;
		char url[300];

		if (!is_call && argc < 4) {
			fprintf(stderr, "parley: usage: parley trunk check ID\n");
			return 2;
		}
		if (parse_opts(argc - first, argv + first, o) ||
		    load_config(&cfg, path) ||
		    httpc_target(url, sizeof(url), server, cfg.http_listen, &key))
			return 2;
		return is_call ? cmd_call(url, key, agent, to, trunk, from)
			       : cmd_trunk_check(url, key, argv[3]);
	}

	if (!strcmp(cmd, "simulate"))
		return cmd_simulate(argc - 2, argv + 2);

	if (!strcmp(cmd, "amd"))
		return cmd_amd(argc - 2, argv + 2);

	if (!strcmp(cmd, "bench"))
		return cmd_bench(argc - 2, argv + 2);

	if (!strcmp(cmd, "contacts"))
		return cmd_contacts(argc - 2, argv + 2);

	if (!strcmp(cmd, "campaign"))
		return cmd_campaign(argc - 2, argv + 2);

	if (!strcmp(cmd, "config") && argc == 3 &&
	    !strcmp(argv[2], "sample")) {
		re_printf("%H", config_print_sample, NULL);
		return 0;
	}

	fprintf(stderr, "parley: unknown command '%s' (see parley --help)\n",
		cmd);
	return 2;
}

int main(int argc, char **argv)
{
	int rc;

	if (libre_init()) {
		fprintf(stderr, "parley: cannot initialise libre\n");
		return 1;
	}
	rc = run(argc, argv);
	libre_close();
	return rc;
}
