/* bench_int.h - what bench.c (the run) hands to bench_report.c (the
 * server's side of each call, the statistics and the JSON report). */
#ifndef PARLEY_BENCH_INT_H
#define PARLEY_BENCH_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <re.h>

struct bench_run;
struct odict;
struct script;
struct sim;
struct sim_caller;

/* One call: our caller and what the API said when we asked for it. */
struct bench_call {
	struct le le;                /* in bench.awaiting until answered */
	struct bench *b;
	struct sim_caller *caller;   /* NULL: could not be set up */
	struct tmr tmr_stop;
	unsigned idx;
	char number[16];             /* what Parley dials, +1555555xxxx */
	bool done;                   /* the caller finished */
	uint64_t answer_us;          /* monotonic; 0: not answered */

	/* the POST, written by a pool worker, read on the loop after its
	 * done handler (the pool's queue orders the two) */
	uint64_t post_us;            /* monotonic, before the request */
	long long call_id;           /* 0: no call */
	uint16_t status;             /* HTTP status, 0: not reached */
	int err;                     /* transport error */
	char why[160];               /* the API's message on failure */

	struct odict *detail;        /* GET /api/v1/calls/{id} afterwards */
};

struct bench {
	struct bench_run *run;       /* the loop's state (bench.c) */

	/* settings */
	const char *url, *key, *script_path;
	uint32_t agent, ncalls, duration_s;
	double rate;
	long long trunk;

	struct script *sc;
	struct sim *sim;
	struct bench_call *calls;    /* ncalls */
	unsigned nalloc;             /* callers set up so far */
	unsigned ndone;
	struct list awaiting;        /* placed, not yet answered or done */

	uint64_t t0_us;              /* placing began */
	uint64_t plateau_us;         /* every call answered or failed */
	uint64_t hangup_us;          /* the first scheduled hang-up */
	uint64_t end_us;             /* the last caller finished */
	bool trunk_deleted;
	bool interrupted;
};

/** GET every call's detail from the server, waiting (bounded) for the
 * rows to say ended; calls still going are hung up. */
void bench_collect(struct bench *b);

/** The report on arg, a struct bench: one JSON object and a newline
 * (for re_printf's %H). */
int bench_report(struct re_printf *pf, void *arg);

#endif
