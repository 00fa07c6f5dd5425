/* pool.c - a fixed set of worker threads fed from one queue.
 *
 * mem_deref() of the pool stops accepting jobs, lets the workers finish
 * the queue, joins them and closes their contexts. Done handlers only run
 * from the loop, so an owner that must see every done handler waits for
 * pool_pending() == 0 (keeping the loop running) before releasing it.
 */
#include <errno.h>
#include <pthread.h>
#include <re.h>
#include "core/pool.h"

struct job {
	struct le le;
	pool_work_h *workh;
	pool_done_h *doneh;
	void *arg;
};

struct pool {
	pthread_mutex_t mtx;      /* guards queue, pending, stop */
	pthread_cond_t cond;
	struct list queue;        /* LOCK: mtx */
	unsigned pending;         /* LOCK: mtx */
	bool stop;                /* LOCK: mtx */
	pthread_t *threads;
	unsigned nthreads, nstarted;
	struct mqueue *mq;        /* finished jobs back to the loop */
	pool_ctx_init_h *inith;
	pool_ctx_close_h *closeh;
	void *arg;
};

static void *worker_main(void *varg)
{
	struct pool *pool = varg;
	void *ctx = NULL;

	if (pool->inith && pool->inith(&ctx, pool->arg))
		ctx = NULL;

	for (;;) {
		struct job *job;

		pthread_mutex_lock(&pool->mtx);
		while (!pool->queue.head && !pool->stop)
			pthread_cond_wait(&pool->cond, &pool->mtx);
		if (!pool->queue.head) {
			pthread_mutex_unlock(&pool->mtx);
			break;
		}
		job = pool->queue.head->data;
		list_unlink(&job->le);
		pthread_mutex_unlock(&pool->mtx);

		job->workh(ctx, job->arg);

		if (mqueue_push(pool->mq, 0, job)) {
			/* the loop cannot hear about it; never lose memory */
			pthread_mutex_lock(&pool->mtx);
			--pool->pending;
			pthread_mutex_unlock(&pool->mtx);
			mem_deref(job);
		}
	}

	if (pool->closeh)
		pool->closeh(ctx, pool->arg);
	return NULL;
}

static void mq_handler(int id, void *data, void *arg)
{
	struct pool *pool = arg;
	struct job *job = data;
	(void)id;

	pthread_mutex_lock(&pool->mtx);
	--pool->pending;
	pthread_mutex_unlock(&pool->mtx);

	if (job->doneh)
		job->doneh(0, job->arg);
	mem_deref(job);
}

static void pool_destructor(void *data)
{
	struct pool *pool = data;

	pthread_mutex_lock(&pool->mtx);
	pool->stop = true;
	pthread_cond_broadcast(&pool->cond);
	pthread_mutex_unlock(&pool->mtx);

	for (unsigned i = 0; i < pool->nstarted; i++)
		pthread_join(pool->threads[i], NULL);

	mem_deref(pool->mq);
	mem_deref(pool->threads);
	pthread_cond_destroy(&pool->cond);
	pthread_mutex_destroy(&pool->mtx);
}

int pool_alloc(struct pool **poolp, unsigned nthreads,
	       pool_ctx_init_h *inith, pool_ctx_close_h *closeh, void *arg)
{
	struct pool *pool;
	int err;

	if (!poolp || !nthreads)
		return EINVAL;

	pool = mem_zalloc(sizeof(*pool), pool_destructor);
	if (!pool)
		return ENOMEM;

	pthread_mutex_init(&pool->mtx, NULL);
	pthread_cond_init(&pool->cond, NULL);
	pool->inith  = inith;
	pool->closeh = closeh;
	pool->arg    = arg;

	err = mqueue_alloc(&pool->mq, mq_handler, pool);
	if (err)
		goto out;

	pool->threads = mem_zalloc(nthreads * sizeof(*pool->threads), NULL);
	if (!pool->threads) {
		err = ENOMEM;
		goto out;
	}
	pool->nthreads = nthreads;

	for (unsigned i = 0; i < nthreads; i++) {
		err = pthread_create(&pool->threads[i], NULL, worker_main,
				     pool);
		if (err)
			goto out;
		++pool->nstarted;
	}

 out:
	if (err)
		mem_deref(pool);
	else
		*poolp = pool;
	return err;
}

int pool_submit(struct pool *pool, pool_work_h *workh, pool_done_h *doneh,
		void *arg)
{
	struct job *job;

	if (!pool || !workh)
		return EINVAL;

	job = mem_zalloc(sizeof(*job), NULL);
	if (!job)
		return ENOMEM;
	job->workh = workh;
	job->doneh = doneh;
	job->arg   = arg;

	pthread_mutex_lock(&pool->mtx);
	if (pool->stop) {
		pthread_mutex_unlock(&pool->mtx);
		mem_deref(job);
		return ESHUTDOWN;
	}
	list_append(&pool->queue, &job->le, job);
	++pool->pending;
	pthread_cond_signal(&pool->cond);
	pthread_mutex_unlock(&pool->mtx);
	return 0;
}

unsigned pool_pending(const struct pool *pool)
{
	unsigned n;

	if (!pool)
		return 0;
	pthread_mutex_lock((pthread_mutex_t *)&pool->mtx);
	n = pool->pending;
	pthread_mutex_unlock((pthread_mutex_t *)&pool->mtx);
	return n;
}
