/* metrics.c - see metrics.h. The exposition follows the Prometheus text
 * format 0.0.4 (checked by `promtool check metrics` in the tests). */
#include <errno.h>
#include <stdio.h>
#include <stdatomic.h>
#include <re.h>
#include "core/metrics.h"

struct metrics {
	atomic_uint_fast64_t v[M_COUNT];
	atomic_uint_fast64_t bucket[METRICS_NBUCKETS + 1];  /* +Inf last */
	atomic_uint_fast64_t sum_us;
};

static const double bounds[METRICS_NBUCKETS] = {
	0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1.0};

/* families of labelled counters: name, help, label, first id, values */
struct family {
	const char *name, *help, *label;
	enum metric_id first;
	const char *values[4];
};

static const struct family families[] = {
	{"parley_http_requests_total", "HTTP requests answered, by status class",
	 "code", M_HTTP_2XX, {"2xx", "3xx", "4xx", "5xx"}},
	{"parley_runtime_config_cache_total",
	 "Agent runtime config lookups by where the answer came from",
	 "result", M_RTCFG_HIT, {"hit", "miss", "stale", "default"}},
	{"parley_api_auth_total", "API key checks", "result", M_AUTH_OK,
	 {"ok", "fail", NULL, NULL}},
	{"parley_db_errors_total", "Store operations that failed", NULL,
	 M_DB_ERRORS, {NULL}},
	{"parley_contacts_imported_total", "Contacts created or updated by imports",
	 NULL, M_CONTACTS_IMPORTED, {NULL}},
};

int metrics_alloc(struct metrics **mp)
{
	struct metrics *m = mem_zalloc(sizeof(*m), NULL);

	if (!m)
		return ENOMEM;
	*mp = m;
	return 0;
}

void metrics_add(struct metrics *m, enum metric_id id, uint64_t n)
{
	if (m && id < M_COUNT)
		atomic_fetch_add(&m->v[id], n);
}

void metrics_inc(struct metrics *m, enum metric_id id)
{
	metrics_add(m, id, 1);
}

uint64_t metrics_get(const struct metrics *m, enum metric_id id)
{
	return m && id < M_COUNT ? atomic_load(&m->v[id]) : 0;
}

void metrics_http_observe(struct metrics *m, uint16_t status, double secs)
{
	unsigned i;

	if (!m)
		return;
	if (status >= 200 && status < 600)
		metrics_inc(m, (enum metric_id)(M_HTTP_2XX + status / 100 - 2));
	for (i = 0; i < METRICS_NBUCKETS && secs > bounds[i]; i++)
		;
	atomic_fetch_add(&m->bucket[i], 1);
	atomic_fetch_add(&m->sum_us, (uint64_t)(secs * 1e6));
}

/* libre's printf has no %g */
static const char *num(char *buf, size_t sz, double v)
{
	snprintf(buf, sz, "%g", v);
	return buf;
}

static int print_gauge(struct re_printf *pf, const char *name,
		       const char *help, double v)
{
	char b[32];
	return re_hprintf(pf, "# HELP %s %s\n# TYPE %s gauge\n%s %s\n",
			  name, help, name, name, num(b, sizeof(b), v));
}

int metrics_print(struct re_printf *pf, const struct metrics *m,
		  const struct metrics_gauges *g)
{
	uint64_t cum = 0;
	char b[32];
	int err = 0;

	for (size_t f = 0; f < ARRAY_SIZE(families) && !err; f++) {
		const struct family *fa = &families[f];

		err = re_hprintf(pf, "# HELP %s %s\n# TYPE %s counter\n",
				 fa->name, fa->help, fa->name);
		if (!fa->label) {
			err |= re_hprintf(pf, "%s %llu\n", fa->name,
					  (unsigned long long)metrics_get(
						  m, fa->first));
			continue;
		}
		for (int i = 0; i < 4 && fa->values[i]; i++)
			err |= re_hprintf(pf, "%s{%s=\"%s\"} %llu\n", fa->name,
					  fa->label, fa->values[i],
					  (unsigned long long)metrics_get(
						  m, (enum metric_id)(fa->first + i)));
	}

	err |= re_hprintf(pf, "# HELP parley_http_request_duration_seconds "
			  "Time from request to response\n"
			  "# TYPE parley_http_request_duration_seconds "
			  "histogram\n");
	for (unsigned i = 0; i <= METRICS_NBUCKETS; i++) {
		cum += atomic_load(&m->bucket[i]);
		if (i < METRICS_NBUCKETS)
			err |= re_hprintf(pf, "parley_http_request_duration_"
					  "seconds_bucket{le=\"%s\"} %llu\n",
					  num(b, sizeof(b), bounds[i]),
					  (unsigned long long)cum);
		else
			err |= re_hprintf(pf, "parley_http_request_duration_"
					  "seconds_bucket{le=\"+Inf\"} %llu\n",
					  (unsigned long long)cum);
	}
	err |= re_hprintf(pf, "parley_http_request_duration_seconds_sum %s\n"
			  "parley_http_request_duration_seconds_count %llu\n",
			  num(b, sizeof(b), (double)atomic_load(&m->sum_us) / 1e6),
			  (unsigned long long)cum);

	err |= print_gauge(pf, "parley_uptime_seconds",
			   "Seconds since the server started", g->uptime_s);
	err |= print_gauge(pf, "parley_worker_jobs_pending",
			   "Jobs queued or running on worker threads",
			   g->workers_pending);
	err |= print_gauge(pf, "parley_http_requests_in_flight",
			   "HTTP requests being handled", g->http_inflight);
	err |= print_gauge(pf, "parley_calls_active", "Calls in progress",
			   g->calls_active);
	err |= print_gauge(pf, "parley_runtime_config_cache_entries",
			   "Agents in the runtime config cache",
			   g->rtcfg_entries);
	err |= re_hprintf(pf, "# HELP parley_build_info Parley version\n"
			  "# TYPE parley_build_info gauge\n"
			  "parley_build_info{version=\"%s\"} 1\n",
			  PARLEY_VERSION);
	return err;
}
