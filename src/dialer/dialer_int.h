/* dialer_int.h - what the dialer's loop half (dialer.c) and its store
 * half (claim.c, tasks.c; worker threads) share. Jobs are mem objects
 * filled on the loop, run on a worker with that worker's connection,
 * and read back on the loop; nothing in them is touched by both sides
 * at once. */
#ifndef PARLEY_DIALER_INT_H
#define PARLEY_DIALER_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <re.h>

struct db;
struct dialer;
struct rtcfg_cache;

/* task statuses */
#define TS_QUEUED    "queued"
#define TS_DIALING   "dialing"
#define TS_DONE      "done"
#define TS_FAILED    "failed"
#define TS_CANCELLED "cancelled"

/** One armed attempt: its calls row is written, the loop dials it. */
struct dial {
	struct le le;
	int64_t tenant_id, task_id, call_id, campaign_id, agent_id, attempt;
	char *to, *from, *uri, *user, *pass, *agent_json, *vars_json;
};

/** One turn of the scheduler (tick_work in claim.c). */
struct tick_job {
	struct dialer *d;            /* referenced; loop side only */
	struct rtcfg_cache *rtcfg;
	char node[128];
	int64_t now;                 /* wall clock, ms */
	uint32_t lease_ms;
	unsigned budget;             /* calls this node may still place */
	bool house;                  /* recover expired leases, read clock */
	bool sweep;                  /* end calls rows left by lost nodes */
	bool first;                  /* first turn of this node */
	bool reclaim_own;            /* node id is fixed: take back its tasks */
	int64_t cfg_offset_s;        /* dialer.clock_offset */
	int64_t offset_s;            /* clock offset in use */
	bool offset_known;
	char clock_file[256];
	/* out */
	struct list dials;           /* struct dial */
	int64_t new_offset_s;
	unsigned recovered, armed, deferred, finished;
	int err;
};

/** The end of one dialled attempt (end_work in tasks.c). */
struct end_job {
	struct le le;                /* retry list */
	struct dialer *d;            /* referenced; loop side only */
	char node[128];
	int64_t task_id, call_id;
	char outcome[24];
	bool dnc;
	bool unarm;                  /* never dialled: undo the attempt */
	int64_t attempt;             /* with unarm */
	int err;
};

/** Lease renewal for the tasks this node holds. */
struct renew_job {
	struct dialer *d;
	char node[128];
	int64_t until;
	int64_t *ids;
	size_t n;
	int err;
};

/* claim.c (worker) */
void dialer_tick_work(struct db *db, struct tick_job *j);

/* tasks.c (worker) */
int dialer_seed(struct db *db, int64_t campaign_id, int64_t now);
int dialer_complete(struct db *db, int64_t campaign_id, int64_t now,
		    bool *donep);
int dialer_recover(struct db *db, int64_t now, unsigned *np);
int dialer_sweep(struct db *db, int64_t now);
int dialer_end(struct db *db, const struct end_job *e, int64_t now);
int dialer_renew(struct db *db, const struct renew_job *r);
int dialer_reclaim_own(struct db *db, const char *node);
int dialer_window_recheck(struct db *db, int64_t now);
/** The next state of a task after attempt (outcome, dnc); tx held. */
int dialer_task_next(struct db *db, int64_t task_id, int64_t attempt,
		     const char *outcome, bool dnc, int64_t now);

/* small store helpers (tasks.c) */
bool dialer_is_pg(const struct db *db);
int dialer_tx_begin(struct db *db);
int dialer_tx_end(struct db *db, int err);
int dialer_dnc_listed(struct db *db, int64_t tenant_id, int64_t campaign_id,
		      const char *phone, bool *listedp);

#endif
