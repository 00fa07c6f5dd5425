/* dialer.c - the scheduler's loop half: the tick that sends claim jobs
 * to the pool, dialling what they armed, lease renewal, and each call's
 * end back to the store. See dialer.h for the design.
 *
 * Loop thread only. Jobs hold a reference to the dialer, so a job
 * finishing after dialer_shutdown() still finds it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <re.h>
#include "config/config.h"
#include "core/log.h"
#include "core/pool.h"
#include "core/util.h"
#include "dialer/dialer.h"
#include "dialer/dialer_int.h"
#include "store/db.h"
#include "store/worker.h"
#include "tel/tel.h"

enum {
	TURN_MAX = 100,           /* claims per turn at most */
	HOUSE_MS = 1000,          /* recovery and the test clock */
	SWEEP_MS = 30000,         /* orphaned calls rows */
};

/* a task this node holds: claimed, maybe dialled, not yet finished */
struct dtask {
	struct le le;
	int64_t task_id, call_id, attempt;
	bool live;                /* tel has the call */
	bool ended;               /* its end is on the way to the store */
};

struct dialer {
	const struct config *cfg;
	struct pool *pool;
	struct tel *tel;
	struct rtcfg_cache *rtcfg;
	char node[128];
	bool node_fixed;
	struct tmr tmr_tick, tmr_renew;
	struct list tasks;        /* struct dtask */
	unsigned live;
	bool ticking, renewing, stopping, started;
	uint64_t house_at, sweep_at;
	int64_t cfg_offset_s, offset_s;
	bool offset_known;
	int last_err;             /* of the last turn, logged once */
};

static void dtask_destructor(void *data)
{
	struct dtask *dt = data;

	list_unlink(&dt->le);
}

static struct dtask *dtask_find(const struct dialer *d, int64_t task_id,
				int64_t call_id)
{
	for (struct le *le = d->tasks.head; le; le = le->next) {
		struct dtask *dt = le->data;
		if (dt->task_id == task_id && dt->call_id == call_id)
			return dt;
	}
	return NULL;
}

unsigned dialer_inflight(const struct dialer *d)
{
	return d ? list_count(&d->tasks) : 0;
}

/* ---- the end of an attempt ---- */

static void end_destructor(void *data)
{
	struct end_job *e = data;

	mem_deref(e->d);
}

static void end_work_h(void *ctx, void *arg)
{
	struct end_job *e = arg;
	struct db *db;

	e->err = store_worker_db(ctx, &db);
	if (!e->err)
		e->err = dialer_end(db, e, util_now_ms());
	if (e->err == ENOTCONN)
		store_worker_reset(ctx);
}

static void end_done_h(int err, void *arg)
{
	struct end_job *e = arg;
	struct dtask *dt = dtask_find(e->d, e->task_id, e->call_id);

	if (err || e->err)
		log_warn("dialer: task %lld: %s not stored (%m); the lease "
			 "will expire and recovery take it",
			 (long long)e->task_id,
			 e->unarm ? "unused attempt" : "call end",
			 err ? err : e->err);
	/* stored, or left to recovery: either way no longer renewed */
	mem_deref(dt);
	mem_deref(e);
}

static void end_submit(struct dialer *d, int64_t task_id, int64_t call_id,
		       const char *outcome, bool dnc, bool unarm,
		       int64_t attempt)
{
	struct end_job *e = mem_zalloc(sizeof(*e), end_destructor);
	int err;

	if (!e)
		return;
	e->d = mem_ref(d);
	str_ncpy(e->node, d->node, sizeof(e->node));
	e->task_id = task_id;
	e->call_id = call_id;
	str_ncpy(e->outcome, outcome ? outcome : "failed", sizeof(e->outcome));
	e->dnc = dnc;
	e->unarm = unarm;
	e->attempt = attempt;
	err = pool_submit(d->pool, end_work_h, end_done_h, e);
	if (err) {
		log_warn("dialer: task %lld: cannot store the call's end (%m)",
			 (long long)task_id, err);
		mem_deref(dtask_find(d, task_id, call_id));
		mem_deref(e);
	}
}

static void call_end_h(const struct tel_call_end *ce, void *arg)
{
	struct dialer *d = arg;
	struct dtask *dt;

	if (!ce->task_id)
		return;
	dt = dtask_find(d, ce->task_id, ce->call_id);
	if (dt) {
		if (dt->live) {
			dt->live = false;
			--d->live;
		}
		if (dt->ended)
			return;
		dt->ended = true;
	}
	log_debug("dialer: task %lld: call %lld ended %s%s",
		  (long long)ce->task_id, (long long)ce->call_id, ce->outcome,
		  ce->dnc ? " (do not call)" : "");
	end_submit(d, ce->task_id, ce->call_id, ce->outcome, ce->dnc, false,
		   0);
}

/* ---- dialling ---- */

static void dial_one(struct dialer *d, struct dial *dl)
{
	struct dtask *dt = mem_zalloc(sizeof(*dt), dtask_destructor);
	struct tel_dial td = {
		.tenant_id = dl->tenant_id, .call_id = dl->call_id,
		.agent_id = dl->agent_id, .to = dl->to, .from = dl->from,
		.trunk_uri = dl->uri, .username = dl->user,
		.password = dl->pass, .agent_json = dl->agent_json,
		.vars_json = dl->vars_json, .campaign_id = dl->campaign_id,
		.task_id = dl->task_id,
	};
	int err;

	if (!dt) {
		/* never dialled: the attempt goes back */
		end_submit(d, dl->task_id, dl->call_id, NULL, false, true,
			   dl->attempt);
		return;
	}
	dt->task_id = dl->task_id;
	dt->call_id = dl->call_id;
	dt->attempt = dl->attempt;
	list_append(&d->tasks, &dt->le, dt);

	log_debug("dialer: task %lld attempt %lld: call %lld to %s",
		  (long long)dl->task_id, (long long)dl->attempt,
		  (long long)dl->call_id, dl->to);
	/* held across tel_dial: its end may come (and go) inside it */
	mem_ref(dt);
	err = tel_dial(d->tel, &td);
	if (dt->ended) {
		/* a call that failed at once went through call_end_h */
	}
	else if (err) {
		/* tel could not even take the call (no end will come) */
		dt->ended = true;
		end_submit(d, dl->task_id, dl->call_id, "failed", false, false,
			   0);
	}
	else {
		dt->live = true;
		++d->live;
	}
	mem_deref(dt);
}

/* ---- the turn ---- */

static void tick_destructor(void *data)
{
	struct tick_job *j = data;

	list_flush(&j->dials);
	mem_deref(j->d);
}

static void tick_work_h(void *ctx, void *arg)
{
	struct tick_job *j = arg;
	struct db *db;

	j->err = store_worker_db(ctx, &db);
	if (!j->err)
		dialer_tick_work(db, j);
	if (j->err == ENOTCONN)
		store_worker_reset(ctx);
}

static void tick_done_h(int err, void *arg)
{
	struct tick_job *j = arg;
	struct dialer *d = j->d;
	struct le *le;

	d->ticking = false;
	if (!err) {
		d->offset_known = true;
		if (d->offset_s != j->new_offset_s)
			log_info("dialer: clock offset %lld s",
				 (long long)j->new_offset_s);
		d->offset_s = j->new_offset_s;
	}
	if (j->err && j->err != d->last_err)
		log_warn("dialer: store: %m (claims wait)", j->err);
	else if (!j->err && d->last_err)
		log_info("dialer: store reachable again");
	d->last_err = j->err;
	if (j->recovered)
		log_info("dialer: recovered %u task(s) of expired leases",
			 j->recovered);

	while ((le = list_head(&j->dials))) {
		struct dial *dl = le->data;

		list_unlink(le);
		if (d->stopping)
			end_submit(d, dl->task_id, dl->call_id, NULL, false,
				   true, dl->attempt);
		else
			dial_one(d, dl);
		mem_deref(dl);
	}
	mem_deref(j);
}

static void tick_h(void *arg)
{
	struct dialer *d = arg;
	const struct config *cfg = d->cfg;
	uint64_t now = tmr_jiffies();
	unsigned active = tel_active(d->tel);
	unsigned other = active > d->live ? active - d->live : 0;
	unsigned used = list_count(&d->tasks) + other;
	struct tick_job *j;
	bool house;
	int err;

	if (d->stopping)
		return;
	tmr_start(&d->tmr_tick, cfg->dialer_tick_ms, tick_h, d);
	if (d->ticking)
		return;
	house = !d->started || now - d->house_at >= HOUSE_MS;
	if (!house && used >= cfg->dialer_max_calls)
		return;

	j = mem_zalloc(sizeof(*j), tick_destructor);
	if (!j)
		return;
	j->d = mem_ref(d);
	j->rtcfg = d->rtcfg;
	str_ncpy(j->node, d->node, sizeof(j->node));
	str_ncpy(j->clock_file, cfg->dialer_clock_file,
		 sizeof(j->clock_file));
	j->now = util_now_ms();
	j->lease_ms = cfg->dialer_lease * 1000;
	j->budget = used < cfg->dialer_max_calls ?
		MIN(cfg->dialer_max_calls - used, TURN_MAX) : 0;
	j->house = house;
	j->sweep = house && (!d->started || now - d->sweep_at >= SWEEP_MS);
	j->first = !d->started;
	j->reclaim_own = d->node_fixed;
	j->cfg_offset_s = d->cfg_offset_s;
	j->offset_s = d->offset_s;
	j->offset_known = d->offset_known;

	err = pool_submit(d->pool, tick_work_h, tick_done_h, j);
	if (err) {
		mem_deref(j);
		return;
	}
	d->ticking = true;
	d->started = true;
	if (house)
		d->house_at = now;
	if (j->sweep)
		d->sweep_at = now;
}

/* ---- leases ---- */

static void renew_destructor(void *data)
{
	struct renew_job *r = data;

	mem_deref(r->ids);
	mem_deref(r->d);
}

static void renew_work_h(void *ctx, void *arg)
{
	struct renew_job *r = arg;
	struct db *db;

	r->err = store_worker_db(ctx, &db);
	if (!r->err)
		r->err = dialer_renew(db, r);
	if (r->err == ENOTCONN)
		store_worker_reset(ctx);
}

static void renew_done_h(int err, void *arg)
{
	struct renew_job *r = arg;

	r->d->renewing = false;
	if (err || r->err)
		log_warn("dialer: lease renewal failed: %m",
			 err ? err : r->err);
	mem_deref(r);
}

static void renew_h(void *arg)
{
	struct dialer *d = arg;
	struct renew_job *r;
	size_t i = 0;

	tmr_start(&d->tmr_renew, d->cfg->dialer_lease * 1000 / 3, renew_h, d);
	if (d->renewing || !d->tasks.head)
		return;
	r = mem_zalloc(sizeof(*r), renew_destructor);
	if (!r)
		return;
	r->ids = mem_alloc(list_count(&d->tasks) * sizeof(*r->ids), NULL);
	if (!r->ids) {
		mem_deref(r);
		return;
	}
	for (struct le *le = d->tasks.head; le; le = le->next) {
		struct dtask *dt = le->data;
		r->ids[i++] = dt->task_id;
	}
	r->n = i;
	r->d = mem_ref(d);
	str_ncpy(r->node, d->node, sizeof(r->node));
	r->until = util_now_ms() + (int64_t)d->cfg->dialer_lease * 1000;
	if (pool_submit(d->pool, renew_work_h, renew_done_h, r)) {
		mem_deref(r);
		return;
	}
	d->renewing = true;
}

/* ---- life cycle ---- */

static void dialer_destructor(void *data)
{
	struct dialer *d = data;

	tmr_cancel(&d->tmr_tick);
	tmr_cancel(&d->tmr_renew);
	if (d->tel)
		tel_set_end_handler(d->tel, NULL, NULL);
	list_flush(&d->tasks);
}

int dialer_alloc(struct dialer **dp, const struct config *cfg,
		 struct pool *pool, struct tel *tel,
		 struct rtcfg_cache *rtcfg)
{
	struct dialer *d;

	if (!dp || !cfg || !pool || !tel)
		return EINVAL;
	d = mem_zalloc(sizeof(*d), dialer_destructor);
	if (!d)
		return ENOMEM;
	d->cfg = cfg;
	d->pool = pool;
	d->tel = tel;
	d->rtcfg = rtcfg;
	d->cfg_offset_s = strtoll(cfg->dialer_clock_offset, NULL, 10);
	if (cfg->dialer_node_id[0]) {
		str_ncpy(d->node, cfg->dialer_node_id, sizeof(d->node));
		d->node_fixed = true;
	}
	else {
		char host[64] = "node";

		(void)gethostname(host, sizeof(host) - 1);
		host[sizeof(host) - 1] = '\0';
		re_snprintf(d->node, sizeof(d->node), "%s:%d", host,
			    (int)getpid());
	}
	tmr_init(&d->tmr_tick);
	tmr_init(&d->tmr_renew);
	tel_set_end_handler(tel, call_end_h, d);
	tmr_start(&d->tmr_tick, 0, tick_h, d);
	tmr_start(&d->tmr_renew, cfg->dialer_lease * 1000 / 3, renew_h, d);
	log_info("dialer: node %s, up to %u calls, lease %u s%s", d->node,
		 cfg->dialer_max_calls, cfg->dialer_lease,
		 d->cfg_offset_s || cfg->dialer_clock_file[0] ?
		 " (test clock)" : "");
	*dp = d;
	return 0;
}

void dialer_shutdown(struct dialer *d)
{
	if (!d || d->stopping)
		return;
	d->stopping = true;
	tmr_cancel(&d->tmr_tick);
	log_info("dialer: stopped claiming; %u task(s) in progress",
		 list_count(&d->tasks));
}
