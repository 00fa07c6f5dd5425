/* callrec.h - a call's rows in the store (calls, call_events), written
 * in order on the worker pool while the call goes on. Operations queue
 * on the loop and run one at a time, so an event never precedes the
 * row it belongs to and updates apply in the order they were made.
 */
#ifndef PARLEY_CALLREC_H
#define PARLEY_CALLREC_H

#include <stdbool.h>
#include <stdint.h>

struct pool;
struct db_val;
struct callrec;

/** For an existing row (outbound calls: the API inserted it). */
int callrec_alloc(struct callrec **crp, struct pool *pool, int64_t tenant_id,
		  int64_t call_id);

/**
 * Insert the row: sql is an INSERT ... RETURNING id whose first three
 * parameters the caller provides as usual. The id becomes known when it
 * has run (callrec_id()).
 */
int callrec_insert(struct callrec *cr, const char *sql,
		   const struct db_val *params, size_t n);

/** "UPDATE calls SET <set_sql> WHERE id = <id>"; params for set_sql. */
int callrec_update(struct callrec *cr, const char *set_sql,
		   const struct db_val *params, size_t n);

/**
 * Add a row that belongs to the call (call_events, transcripts):
 * table_cols is "table (col, ...)" for the row's own columns, params
 * their values; tenant_id, created_at, updated_at and call_id are added.
 */
int callrec_child(struct callrec *cr, const char *table_cols,
		  const struct db_val *params, size_t n);

/** Any other statement in the call's order (e.g. a DNC entry). */
int callrec_exec(struct callrec *cr, const char *sql,
		 const struct db_val *params, size_t n);

/** Add a call_events row; data_json may be NULL. */
int callrec_event(struct callrec *cr, const char *type, const char *data_json);

int64_t callrec_id(const struct callrec *cr);
int64_t callrec_tenant(const struct callrec *cr);
/** Nothing queued or running. */
bool callrec_idle(const struct callrec *cr);

#endif
