#include "test.h"
#include <pthread.h>
#include "core/pool.h"

struct job_state {
	pthread_t loop_thread;
	pthread_t worker_thread;
	int ran, done, *remaining;
};

static int ctx_init(void **ctxp, void *arg)
{
	int *nctx = arg;

	__atomic_add_fetch(nctx, 1, __ATOMIC_SEQ_CST);
	*ctxp = mem_zalloc(1, NULL);
	return 0;
}

static void ctx_close(void *ctx, void *arg)
{
	int *nctx = arg;

	__atomic_sub_fetch(nctx, 1, __ATOMIC_SEQ_CST);
	mem_deref(ctx);
}

static void work(void *ctx, void *arg)
{
	struct job_state *j = arg;

	j->worker_thread = pthread_self();
	j->ran = ctx != NULL;
}

static void done(int err, void *arg)
{
	struct job_state *j = arg;

	j->done = !err && pthread_equal(pthread_self(), j->loop_thread);
	if (--*j->remaining == 0)
		re_cancel();
}

TEST(jobs_run_on_workers_and_finish_on_loop)
{
	struct pool *pool = NULL;
	struct job_state jobs[50];
	int remaining = 50, nctx = 0;

	CHECK_EQ_INT(pool_alloc(&pool, 3, ctx_init, ctx_close, &nctx), 0);
	for (int i = 0; i < 50; i++) {
		memset(&jobs[i], 0, sizeof(jobs[i]));
		jobs[i].loop_thread = pthread_self();
		jobs[i].remaining = &remaining;
		CHECK_EQ_INT(pool_submit(pool, work, done, &jobs[i]), 0);
	}
	re_main(NULL);
	CHECK_EQ_INT(remaining, 0);
	CHECK_EQ_INT(pool_pending(pool), 0);
	for (int i = 0; i < 50; i++) {
		CHECK(jobs[i].ran);
		CHECK(jobs[i].done);
		CHECK(!pthread_equal(jobs[i].worker_thread, pthread_self()));
	}
	mem_deref(pool);
	CHECK_EQ_INT(nctx, 0);   /* every context closed */
}

TEST(submit_refuses_bad_arguments)
{
	CHECK_EQ_INT(pool_submit(NULL, work, done, NULL), EINVAL);
	CHECK_EQ_INT(pool_alloc(NULL, 1, NULL, NULL, NULL), EINVAL);
}

TEST_MAIN()
