/* worker.h - the per-thread store connection of a pool worker.
 *
 * Every worker thread keeps its own database connection (SQLite and libpq
 * connections must not be shared between threads), opened on first use
 * and dropped after a connection failure so the next job reconnects.
 */
#ifndef PARLEY_STORE_WORKER_H
#define PARLEY_STORE_WORKER_H

struct db;

/** pool_ctx_init_h / pool_ctx_close_h for a pool whose arg is the URL
 * (the string must outlive the pool). */
int store_worker_init(void **ctxp, void *url);
void store_worker_close(void *ctx, void *url);

/** The worker's connection, opened if needed. ENOTCONN when unreachable. */
int store_worker_db(void *ctx, struct db **dbp);

/** Forget a broken connection (after ENOTCONN). */
void store_worker_reset(void *ctx);

#endif
