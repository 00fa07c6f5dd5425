/* campaign.c - `parley campaign ...`, see campaign.h. A blocking client
 * of the API: it never runs inside the server's loop. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <re.h>
#include "cli/campaign.h"
#include "cli/httpc.h"
#include "config/config.h"
#include "json/json.h"

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2, BAR_WIDTH = 40 };

void campaign_usage(FILE *f)
{
	fprintf(f,
"usage: parley campaign start|pause|resume|cancel ID [OPTIONS]\n"
"       parley campaign status ID [--watch] [--interval SECONDS] [--json]\n"
"                                 [OPTIONS]\n"
"\n"
"start    a draft campaign: its contacts get call tasks and the dialer\n"
"         calls them inside their calling windows\n"
"pause    a running campaign (calls in progress finish)\n"
"resume   a paused campaign\n"
"cancel   a draft, running or paused campaign: queued calls are dropped\n"
"status   counts by task status and final outcome, attempts, answer\n"
"         rate, AMD results; --watch redraws them with a progress bar\n"
"         until the campaign is completed or cancelled (on a terminal in\n"
"         place, otherwise one line per change); --json prints the raw\n"
"         statistics\n"
"\n"
"options: --server URL, --api-key KEY (or PARLEY_API_KEY), --config FILE\n");
}

static const struct odict *obj(const struct odict *o, const char *key)
{
	const struct odict_entry *e = o ? odict_lookup(o, key) : NULL;

	return e && e->type == ODICT_OBJECT ? e->u.odict : NULL;
}

static double dbl(const struct odict *o, const char *key)
{
	const struct odict_entry *e = o ? odict_lookup(o, key) : NULL;

	if (e && e->type == ODICT_DOUBLE)
		return e->u.dbl;
	if (e && e->type == ODICT_INT)
		return (double)e->u.integer;
	return 0.0;
}

static bool finished_state(const char *state)
{
	return !strcmp(state, "completed") || !strcmp(state, "cancelled");
}

/* "name N" pairs of the non-zero members of o (all of them when all) */
static int print_counts(FILE *f, const char *label, const struct odict *o,
			bool all)
{
	int n = fprintf(f, "%-9s", label);
	bool any = false;

	for (struct le *le = o ? o->lst.head : NULL; le; le = le->next) {
		const struct odict_entry *e = le->data;

		if (e->type != ODICT_INT || (!all && !e->u.integer))
			continue;
		n += fprintf(f, " %s %lld", e->key, (long long)e->u.integer);
		any = true;
	}
	if (!any)
		n += fprintf(f, " -");
	fputc('\n', f);
	return n;
}

/* the block --watch redraws; returns its number of lines */
static int print_status(FILE *f, const struct odict *s, bool tty)
{
	const struct odict *pr = obj(s, "progress"), *calls = obj(s, "calls");
	double pct = dbl(pr, "percent");
	int fill = (int)(pct / 100.0 * BAR_WIDTH + 0.5);
	const char *clr = tty ? "\033[K" : "";

	if (fill > BAR_WIDTH)
		fill = BAR_WIDTH;
	fprintf(f, "%scampaign %lld \"%s\": %s\n", clr,
		httpc_int(s, "campaign_id"), httpc_str(s, "name"),
		httpc_str(s, "state"));
	fprintf(f, "%s[", clr);
	for (int i = 0; i < BAR_WIDTH; i++)
		fputc(i < fill ? '#' : '.', f);
	fprintf(f, "] %5.1f%%  %lld/%lld contacts finished\n", pct,
		httpc_int(pr, "finished"), httpc_int(pr, "total"));
	fputs(clr, f);
	print_counts(f, "tasks", obj(s, "tasks"), true);
	fputs(clr, f);
	print_counts(f, "outcomes", obj(s, "outcomes"), false);
	fprintf(f, "%scalls     %lld (%lld active), attempts %lld, answer rate "
		"%.1f%%, avg answered %.1f s\n", clr, httpc_int(calls, "total"),
		httpc_int(calls, "active"), httpc_int(s, "attempts"),
		100.0 * dbl(s, "answer_rate"),
		dbl(s, "avg_answered_duration_s"));
	fputs(clr, f);
	print_counts(f, "amd", obj(s, "amd"), true);
	return 6;
}

/* one line for logs and pipes */
static void print_line(FILE *f, const struct odict *s)
{
	const struct odict *pr = obj(s, "progress"), *t = obj(s, "tasks");

	fprintf(f, "%s %5.1f%% finished %lld/%lld queued %lld dialing %lld "
		"done %lld failed %lld cancelled %lld attempts %lld\n",
		httpc_str(s, "state"), dbl(pr, "percent"),
		httpc_int(pr, "finished"), httpc_int(pr, "total"),
		httpc_int(t, "queued"), httpc_int(t, "dialing"),
		httpc_int(t, "done"), httpc_int(t, "failed"),
		httpc_int(t, "cancelled"), httpc_int(s, "attempts"));
	fflush(f);
}

static int get_stats(struct httpc_resp *r, const char *url, const char *key,
		     long long id)
{
	char path[96];
	int err;

	re_snprintf(path, sizeof(path), "/api/v1/campaigns/%lld/stats", id);
	err = httpc_request(r, url, "GET", path, key, NULL);
	if (err) {
		fprintf(stderr, "parley: cannot reach %s: %s\n", url,
			strerror(err));
		return EXIT_FAIL;
	}
	if (r->status != 200 || !r->json) {
		httpc_failed("campaign status", r);
		httpc_resp_reset(r);
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

static int cmd_status(const char *url, const char *key, long long id,
		      bool watch, unsigned interval_ms, bool json)
{
	const bool tty = isatty(STDOUT_FILENO);
	char *last = NULL;
	int lines = 0, rc;

	for (;;) {
		struct httpc_resp r;
		bool done;

		rc = get_stats(&r, url, key, id);
		if (rc)
			break;
		done = finished_state(httpc_str(r.json, "state"));
		if (json) {
			printf("%s\n", r.body);
		}
		else if (!watch || tty) {
			if (lines)
				printf("\033[%dA\r", lines);
			lines = print_status(stdout, r.json, tty && watch);
		}
		else {
			char *enc = NULL;

			/* a new line only when something changed */
			(void)json_encode(&enc, r.json);
			if (!last || !enc || strcmp(last, enc))
				print_line(stdout, r.json);
			mem_deref(last);
			last = enc;
		}
		fflush(stdout);
		httpc_resp_reset(&r);
		if (!watch || done)
			break;
		{
			struct timespec ts = {interval_ms / 1000,
					      (long)(interval_ms % 1000) *
					      1000000L};
			nanosleep(&ts, NULL);
		}
	}
	mem_deref(last);
	return rc;
}

static int cmd_action(const char *url, const char *key, const char *action,
		      long long id)
{
	struct httpc_resp r;
	char path[96], what[32];
	int err;

	re_snprintf(path, sizeof(path), "/api/v1/campaigns/%lld/%s", id,
		    action);
	err = httpc_request(&r, url, "POST", path, key, NULL);
	if (err) {
		fprintf(stderr, "parley: cannot reach %s: %s\n", url,
			strerror(err));
		return EXIT_FAIL;
	}
	if (r.status != 200 || !r.json) {
		re_snprintf(what, sizeof(what), "campaign %s", action);
		httpc_failed(what, &r);
		httpc_resp_reset(&r);
		return EXIT_FAIL;
	}
	printf("campaign %lld: %s\n", id, httpc_str(r.json, "state"));
	httpc_resp_reset(&r);
	return EXIT_OK;
}

int cmd_campaign(int argc, char **argv)
{
	static const char *const actions[] = {"start", "pause", "resume",
					      "cancel", "status", NULL};
	const char *server = NULL, *key = NULL, *cfg_path = NULL,
		*interval = NULL, *action, *idstr;
	bool watch = false, json = false;
	struct config cfg;
	struct config_err ce;
	unsigned interval_ms = 1000;
	char url[300], *end;
	long long id;
	size_t a;

	if (argc >= 1 && (!strcmp(argv[0], "--help") ||
			  !strcmp(argv[0], "-h"))) {
		campaign_usage(stdout);
		return EXIT_OK;
	}
	if (argc < 2) {
		campaign_usage(stderr);
		return EXIT_USAGE;
	}
	action = argv[0];
	idstr = argv[1];
	for (a = 0; actions[a]; a++)
		if (!strcmp(actions[a], action))
			break;
	if (!actions[a]) {
		fprintf(stderr, "parley: unknown campaign command '%s' (see "
			"parley campaign --help)\n", action);
		return EXIT_USAGE;
	}
	errno = 0;
	id = strtoll(idstr, &end, 10);
	if (*idstr < '1' || *idstr > '9' || *end || errno) {
		fprintf(stderr, "parley: campaign %s needs a campaign id\n",
			action);
		return EXIT_USAGE;
	}
	for (int i = 2; i < argc; i++) {
		static const char *const with_value[] = {
			"--server", "--api-key", "--config", "--interval",
			NULL};
		const char **dst[] = {&server, &key, &cfg_path, &interval};
		size_t k;

		if (!strcmp(action, "status") && !strcmp(argv[i], "--watch")) {
			watch = true;
			continue;
		}
		if (!strcmp(action, "status") && !strcmp(argv[i], "--json")) {
			json = true;
			continue;
		}
		for (k = 0; with_value[k]; k++)
			if (!strcmp(argv[i], with_value[k]))
				break;
		if (!with_value[k] || (k == 3 && strcmp(action, "status"))) {
			fprintf(stderr, "parley: unexpected '%s' (see parley "
				"campaign --help)\n", argv[i]);
			return EXIT_USAGE;
		}
		if (i + 1 >= argc) {
			fprintf(stderr, "parley: %s needs a value\n", argv[i]);
			return EXIT_USAGE;
		}
		*dst[k] = argv[++i];
	}
	if (interval) {
		double s = strtod(interval, &end);
		if (*end || s < 0.1 || s > 3600) {
			fprintf(stderr, "parley: --interval takes 0.1 to 3600 "
				"seconds\n");
			return EXIT_USAGE;
		}
		interval_ms = (unsigned)(s * 1000);
	}
	if (config_load(&cfg, cfg_path, &ce)) {
		fprintf(stderr, "parley: config: %s\n", ce.msg);
		return EXIT_USAGE;
	}
	if (httpc_target(url, sizeof(url), server, cfg.http_listen, &key))
		return EXIT_USAGE;
	if (!strcmp(action, "status"))
		return cmd_status(url, key, id, watch, interval_ms, json);
	return cmd_action(url, key, action, id);
}
