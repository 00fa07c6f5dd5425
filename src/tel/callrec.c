/* callrec.c - see callrec.h. Each operation owns copies of its SQL and
 * text parameters; the record holds a reference on itself while an
 * operation runs, so a call may end (and drop it) at any time.
 *
 * A call_events row of a type webhooks receive is written in one
 * transaction with its webhook_outbox rows (events_emit_call). call.ended
 * waits for what the call writes as it ends (the row's final state, the
 * last transcript turn, queued in the same loop turn): they run in its
 * job, before its webhook payload is read from the store, and commit
 * with it. */
#include <errno.h>
#include <string.h>
#include <re.h>
#include "core/log.h"
#include "core/pool.h"
#include "core/util.h"
#include "events/events.h"
#include "store/db.h"
#include "store/worker.h"
#include "tel/callrec.h"

enum { MAX_PARAMS = 24 };
enum op_kind { OP_INSERT, OP_UPDATE, OP_CHILD, OP_EXEC };

struct op {
	struct le le;
	enum op_kind kind;
	char *sql;
	struct db_val p[MAX_PARAMS];
	char *owned[MAX_PARAMS];
	size_t n;
	int64_t at;
};

struct callrec {
	struct pool *pool;
	struct list ops;        /* loop thread */
	struct list running;    /* the job's ops; the worker reads them */
	struct tmr tmr_ended;   /* call.ended waits for the loop turn's ops */
	int64_t tenant_id;
	int64_t id;             /* set on the loop before later ops run */
	int64_t result_id;      /* LOCK: written by the worker, read in done */
	int err;
};

static void op_destructor(void *data)
{
	struct op *op = data;

	list_unlink(&op->le);
	mem_deref(op->sql);
	for (size_t i = 0; i < op->n; i++)
		mem_deref(op->owned[i]);
}

static void callrec_destructor(void *data)
{
	struct callrec *cr = data;

	tmr_cancel(&cr->tmr_ended);
	list_flush(&cr->ops);
	list_flush(&cr->running);
	mem_deref(cr->pool);
}

int callrec_alloc(struct callrec **crp, struct pool *pool, int64_t tenant_id,
		  int64_t call_id)
{
	struct callrec *cr = mem_zalloc(sizeof(*cr), callrec_destructor);

	if (!cr)
		return ENOMEM;
	cr->pool = mem_ref(pool);
	cr->tenant_id = tenant_id;
	cr->id = call_id;
	tmr_init(&cr->tmr_ended);
	*crp = cr;
	return 0;
}

static void run_next(struct callrec *cr);

/* the type of a call_events row that webhooks receive, else NULL */
static const char *webhook_event(const struct op *op)
{
	if (op->kind != OP_CHILD || strncmp(op->sql, "call_events ", 12) ||
	    op->n < 1 || op->p[0].type != DB_TEXT ||
	    !events_webhook_type(op->p[0].s))
		return NULL;
	return op->p[0].s;
}

static bool is_ended(const struct op *op)
{
	const char *type = webhook_event(op);

	return type && !strcmp(type, "call.ended");
}

/* worker thread: one statement */
static int run_op(struct db *db, struct callrec *cr, struct op *op)
{
	struct db_res *rows = NULL;
	char *sql = NULL;
	int err = 0;

	switch (op->kind) {
	case OP_INSERT:
		err = db_exec(db, &rows, op->sql, op->p, op->n);
		if (!err)
			cr->result_id = db_res_int(rows, 0, 0);
		break;
	case OP_UPDATE: {
		struct db_val p[MAX_PARAMS + 2];
		memcpy(p, op->p, op->n * sizeof(*p));
		p[op->n] = DBV_INT(cr->id);
		p[op->n + 1] = DBV_INT(cr->tenant_id);
		err = re_sdprintf(&sql, "UPDATE calls SET updated_at = %lld, "
				  "%s WHERE id = ? AND tenant_id = ?",
				  (long long)op->at, op->sql);
		if (!err)
			err = db_exec(db, NULL, sql, p, op->n + 2);
		break;
	}
	case OP_EXEC:
		err = db_exec(db, NULL, op->sql, op->p, op->n);
		break;
	case OP_CHILD: {
		/* op->sql: "table (col, ...)"; the row's own values follow
		 * the ones every child row of a call has */
		struct db_val p[MAX_PARAMS + 4] = {DBV_INT(cr->tenant_id),
			DBV_INT(op->at), DBV_INT(op->at), DBV_INT(cr->id)};
		const char *cols = strchr(op->sql, '(');
		struct mbuf *q = mbuf_alloc(128);

		memcpy(p + 4, op->p, op->n * sizeof(*p));
		err = q ? 0 : ENOMEM;
		if (!err)
			err = mbuf_printf(q, "INSERT INTO %b(tenant_id, "
					  "created_at, updated_at, call_id, %s "
					  "VALUES (?, ?, ?, ?", op->sql,
					  (size_t)(cols - op->sql), cols + 1);
		for (size_t i = 0; i < op->n && !err; i++)
			err = mbuf_write_str(q, ", ?");
		if (!err)
			err = mbuf_write_str(q, ")");
		if (!err)
			err = mbuf_write_u8(q, 0);
		if (!err)
			err = db_exec(db, NULL, (const char *)q->buf, p,
				      op->n + 4);
		mem_deref(q);
		break;
	}
	}
	mem_deref(sql);
	mem_deref(rows);
	return err;
}

static int emit(struct db *db, struct callrec *cr, const struct op *op)
{
	return events_emit_call(db, cr->tenant_id, cr->id, op->at,
				op->p[0].s, op->n > 1 && op->p[1].type ==
				DB_TEXT ? op->p[1].s : NULL);
}

/* one op and/or its webhook rows, inside a savepoint when it shares the
 * job's transaction with others (on PostgreSQL a failed statement would
 * abort them all) */
static int run_one(struct db *db, struct callrec *cr, struct op *op,
		   bool savepoint, bool run, bool emit_now)
{
	int err = 0;

	if (savepoint)
		err = db_exec(db, NULL, "SAVEPOINT callrec", NULL, 0);
	if (!err && run)
		err = run_op(db, cr, op);
	if (!err && emit_now)
		err = emit(db, cr, op);
	if (err)
		log_warn("call %lld: store write failed: %s",
			 (long long)cr->id, db_errmsg(db));
	if (savepoint && err != ENOTCONN)
		(void)db_exec(db, NULL, err ? "ROLLBACK TO SAVEPOINT callrec" :
			      "RELEASE SAVEPOINT callrec", NULL, 0);
	return err;
}

/* worker thread: the job's ops in order */
static void work_h(void *ctx, void *arg)
{
	struct callrec *cr = arg;
	struct op *ended = NULL;
	struct db *db = NULL;
	bool tx = false, many;
	int err, last = 0;

	err = store_worker_db(ctx, &db);
	if (err)
		goto out;
	many = cr->running.head != cr->running.tail;
	for (struct le *le = cr->running.head; le; le = le->next)
		tx |= webhook_event(le->data) != NULL;
	if (tx)
		err = db_begin(db);
	for (struct le *le = cr->running.head; le && !err; le = le->next) {
		struct op *op = le->data;
		bool hook = webhook_event(op) != NULL;

		if (hook && many && is_ended(op))
			ended = op;
		last = run_one(db, cr, op, tx && many, true,
			       hook && op != ended);
		/* alone, an event and its webhook rows go or stay together */
		if (last == ENOTCONN || (tx && !many && last))
			err = last;
	}
	/* call.ended's payload sees everything written before it */
	if (!err && ended) {
		int e = run_one(db, cr, ended, true, false, true);
		if (e == ENOTCONN)
			err = e;
	}
	if (tx && !err)
		err = db_commit(db);
	if (tx && err && err != ENOTCONN)
		(void)db_rollback(db);
	if (err == ENOTCONN)
		store_worker_reset(ctx);
 out:
	cr->err = err ? err : last;
}

static void done_h(int err, void *arg)
{
	struct callrec *cr = arg;
	struct op *op = cr->running.head ? cr->running.head->data : NULL;

	if (!err && !cr->err && op && op->kind == OP_INSERT)
		cr->id = cr->result_id;
	list_flush(&cr->running);
	run_next(cr);
	mem_deref(cr);   /* the reference taken by run_next */
}

static void ended_tmr_h(void *arg)
{
	struct callrec *cr = arg;

	run_next(cr);
	mem_deref(cr);   /* the timer's */
}

static void run_next(struct callrec *cr)
{
	struct op *op;

	if (cr->running.head || !cr->ops.head)
		return;
	op = cr->ops.head->data;
	/* updates and events need the row */
	if (op->kind != OP_INSERT && !cr->id) {
		mem_deref(op);
		run_next(cr);
		return;
	}
	if (is_ended(op) && tmr_isrunning(&cr->tmr_ended))
		return;
	list_unlink(&op->le);
	list_append(&cr->running, &op->le, op);
	while (is_ended(op) && cr->ops.head) {
		struct op *next = cr->ops.head->data;
		list_unlink(&next->le);
		list_append(&cr->running, &next->le, next);
	}
	mem_ref(cr);
	if (pool_submit(cr->pool, work_h, done_h, cr)) {
		list_flush(&cr->running);
		mem_deref(cr);
	}
}

static int enqueue(struct callrec *cr, enum op_kind kind, const char *sql,
		   const struct db_val *params, size_t n)
{
	struct op *op;
	int err = 0;

	if (!cr || n > MAX_PARAMS)
		return EINVAL;
	op = mem_zalloc(sizeof(*op), op_destructor);
	if (!op)
		return ENOMEM;
	op->kind = kind;
	op->at = util_now_ms();
	if (sql)
		err = str_dup(&op->sql, sql);
	for (size_t i = 0; i < n && !err; i++) {
		op->p[i] = params[i];
		if (params[i].type == DB_TEXT) {
			err = str_dup(&op->owned[i], params[i].s);
			op->p[i].s = op->owned[i];
		}
		op->n = i + 1;
	}
	if (err) {
		mem_deref(op);
		return err;
	}
	list_append(&cr->ops, &op->le, op);
	/* what the call writes in this loop turn after call.ended goes
	 * with it (the timer holds the record) */
	if (is_ended(op) && !cr->running.head &&
	    !tmr_isrunning(&cr->tmr_ended)) {
		tmr_start(&cr->tmr_ended, 0, ended_tmr_h, mem_ref(cr));
		return 0;
	}
	run_next(cr);
	return 0;
}

int callrec_insert(struct callrec *cr, const char *sql,
		   const struct db_val *params, size_t n)
{
	return enqueue(cr, OP_INSERT, sql, params, n);
}

int callrec_update(struct callrec *cr, const char *set_sql,
		   const struct db_val *params, size_t n)
{
	return enqueue(cr, OP_UPDATE, set_sql, params, n);
}

int callrec_child(struct callrec *cr, const char *table_cols,
		  const struct db_val *params, size_t n)
{
	if (!table_cols || !strchr(table_cols, '('))
		return EINVAL;
	return enqueue(cr, OP_CHILD, table_cols, params, n);
}

int callrec_exec(struct callrec *cr, const char *sql,
		 const struct db_val *params, size_t n)
{
	return enqueue(cr, OP_EXEC, sql, params, n);
}

int callrec_event(struct callrec *cr, const char *type, const char *data_json)
{
	struct db_val p[2] = {DBV_TEXT(type), DBV_TEXT(data_json)};

	return callrec_child(cr, "call_events (type, data)", p, 2);
}

int64_t callrec_id(const struct callrec *cr)
{
	return cr ? cr->id : 0;
}

int64_t callrec_tenant(const struct callrec *cr)
{
	return cr ? cr->tenant_id : 0;
}

bool callrec_idle(const struct callrec *cr)
{
	return !cr || (!cr->running.head && !cr->ops.head);
}
