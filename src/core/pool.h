/* pool.h - worker threads for work that may take longer than a
 * millisecond (database queries, imports, later speech engines).
 *
 * Jobs are queued from the loop thread; each runs on a worker with that
 * worker's private context (e.g. its own database connection), then its
 * done handler runs back on the loop thread via a libre mqueue. The loop
 * never waits for a worker.
 */
#ifndef PARLEY_POOL_H
#define PARLEY_POOL_H

struct pool;

/** Create/destroy per-thread context, on the worker thread itself. */
typedef int (pool_ctx_init_h)(void **ctxp, void *arg);
typedef void (pool_ctx_close_h)(void *ctx, void *arg);

/** Runs on a worker thread. ctx is that worker's context. */
typedef void (pool_work_h)(void *ctx, void *arg);
/**
 * Runs on the loop thread after work (err is 0). Done handlers only run
 * while the loop runs: an owner that must see them all waits for
 * pool_pending() == 0 before it stops the loop and releases the pool.
 */
typedef void (pool_done_h)(int err, void *arg);

/** Must be called on the loop thread (the done handlers run there). */
int pool_alloc(struct pool **poolp, unsigned nthreads,
	       pool_ctx_init_h *inith, pool_ctx_close_h *closeh, void *arg);

/**
 * Queue a job. arg is owned by the caller and must stay valid until done
 * runs. Returns 0, ENOMEM or ESHUTDOWN.
 */
int pool_submit(struct pool *pool, pool_work_h *workh, pool_done_h *doneh,
		void *arg);

/** Jobs queued or running (for metrics). */
unsigned pool_pending(const struct pool *pool);

#endif
