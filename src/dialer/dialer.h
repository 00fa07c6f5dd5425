/* dialer.h - the campaign dialer: a scheduler on the loop that places the
 * calls of running campaigns (and of POST /api/outbound-call) from the
 * durable queue in call_tasks.
 *
 * Every tick_ms a claim job runs on the worker pool: it creates missing
 * tasks of started campaigns in batches, completes campaigns with
 * nothing left to do, and atomically claims due tasks within the pacing
 * limits (per campaign: max_concurrent and calls_per_second; per trunk:
 * max_channels and calls_per_second; per node: dialer.max_calls),
 * leasing them to this node. On PostgreSQL the claim is an UPDATE over a
 * SELECT ... FOR UPDATE SKIP LOCKED with the campaign and trunk rows
 * locked, so several nodes share one database; on SQLite the same
 * UPDATE ... WHERE id IN (SELECT ... LIMIT n) RETURNING runs in a
 * BEGIN IMMEDIATE transaction. In the claiming transaction each task is
 * checked against the DNC lists and its calling window, and an attempt
 * that goes ahead gets its attempt number and its calls row before the
 * transaction commits; only then does the loop call tel_dial(). So a
 * crash at any point leaves either an attempt that never happened (no
 * calls row: given back) or one that may have (a calls row: it counts),
 * and a task is dialled at most once per attempt.
 *
 * Leases are renewed while calls live; expired ones (a crashed node) are
 * recovered by any node. A call's end (tel's end handler) moves its task
 * on by the retry rules (policy.h).
 */
#ifndef PARLEY_DIALER_H
#define PARLEY_DIALER_H

#include <stdint.h>

struct config;
struct db;
struct odict;
struct pool;
struct rtcfg_cache;
struct tel;
struct dialer;

/** Start the scheduler; it takes tel's end handler. */
int dialer_alloc(struct dialer **dp, const struct config *cfg,
		 struct pool *pool, struct tel *tel,
		 struct rtcfg_cache *rtcfg);

/**
 * Stop claiming (graceful shutdown). Calls in progress keep their leases
 * renewed until they end; attempts claimed but not yet dialled are
 * given back.
 */
void dialer_shutdown(struct dialer *d);

/** Tasks this node holds (claimed and not yet finished). */
unsigned dialer_inflight(const struct dialer *d);

/**
 * Create the next batch of a started campaign's tasks (one per contact,
 * DNC-listed and invalid numbers finished at once); the dialer creates
 * the rest. Idempotent. Worker thread.
 */
int dialer_create_tasks(struct db *db, int64_t campaign_id);

/**
 * A campaign's progress as a JSON object: counts by task status and
 * final outcome, attempts, calls, answer rate, AMD results, average
 * answered duration. ENOENT when tenant_id has no such campaign.
 * Worker thread.
 */
int dialer_stats(struct db *db, int64_t tenant_id, int64_t campaign_id,
		 struct odict **statsp);

#endif
