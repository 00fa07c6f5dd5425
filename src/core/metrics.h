/* metrics.h - process-wide counters and gauges in Prometheus text form.
 *
 * Every metric is declared once in the table in metrics.c; any thread
 * may update them (C11 atomics). Pass the struct metrics around rather
 * than reaching for a global.
 */
#ifndef PARLEY_METRICS_H
#define PARLEY_METRICS_H

#include <stdint.h>

struct re_printf;
struct metrics;

enum metric_id {
	M_HTTP_2XX, M_HTTP_3XX, M_HTTP_4XX, M_HTTP_5XX,
	M_RTCFG_HIT, M_RTCFG_MISS, M_RTCFG_STALE, M_RTCFG_DEFAULT,
	M_AUTH_OK, M_AUTH_FAIL,
	M_DB_ERRORS,
	M_CONTACTS_IMPORTED,
	M_COUNT
};

enum { METRICS_NBUCKETS = 10 };

int metrics_alloc(struct metrics **mp);
void metrics_inc(struct metrics *m, enum metric_id id);
void metrics_add(struct metrics *m, enum metric_id id, uint64_t n);
uint64_t metrics_get(const struct metrics *m, enum metric_id id);
/** Record an HTTP request's duration (histogram). */
void metrics_http_observe(struct metrics *m, uint16_t status, double secs);

/** Gauges sampled at scrape time. */
struct metrics_gauges {
	double uptime_s;
	unsigned workers_pending;
	unsigned http_inflight;
	unsigned calls_active;
	unsigned rtcfg_entries;
};

int metrics_print(struct re_printf *pf, const struct metrics *m,
		  const struct metrics_gauges *g);

#endif
