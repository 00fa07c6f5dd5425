/* db_pg.c - PostgreSQL backend of the portable SQL layer.
 *
 * Several Parley nodes share one PostgreSQL database. Statements go out
 * with PQexecParams and text parameters (values never end up in the SQL
 * text), results come back as text. A lost connection is reported as
 * ENOTCONN by the call that hit it, and the next call tries PQreset()
 * once, so a restarted server is picked up again without the caller
 * reopening; a statement is never retried behind the caller's back, as
 * it may have been applied already.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libpq-fe.h>
#include <re.h>
#include "store/db_int.h"

enum {
	NUM_SIZE   = 32,      /* text of one int64 or double parameter */
	MAX_PARAMS = 65535,   /* protocol limit */
};

struct pg_conn {
	PGconn *pg;
	uint64_t changes;
	char err[DB_ERRMSG_SIZE];
};


static void conn_destructor(void *arg)
{
	struct pg_conn *c = arg;

	PQfinish(c->pg);
}


static void notice_swallow(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}


static bool state_is(const char *state, const char *prefix)
{
	return state && !strncmp(state, prefix, strlen(prefix));
}


static int map_sqlstate(const char *state)
{
	if (!state || strlen(state) != 5)
		return EIO;

	if (state_is(state, "23505"))
		return EEXIST;

	if (state_is(state, "23") || state_is(state, "42") ||
	    state_is(state, "22"))
		return EINVAL;

	if (state_is(state, "40P01") || state_is(state, "55P03") ||
	    state_is(state, "40001"))
		return EBUSY;

	/* 57P0x: admin shutdown, crash shutdown, database dropped, ... */
	if (state_is(state, "08") || state_is(state, "57P0"))
		return ENOTCONN;

	return EIO;
}


/*
 * Data exceptions (class 22) quote the offending input in the message
 * ('invalid input syntax for type bigint: "abc"'), which may be a
 * parameter value: keep the text before ": " and blank quoted parts.
 */
static void redact(char *dst, size_t size, const char *msg)
{
	const char *end = strstr(msg, ": ");
	bool quoted = false;
	size_t w = 0;

	if (!end)
		end = msg + strlen(msg);

	for (; msg < end && w + 3 < size; msg++) {
		if (*msg == '"') {
			quoted = !quoted;
			dst[w++] = '"';
			if (quoted)
				dst[w++] = '?';
		}
		else if (!quoted) {
			dst[w++] = *msg;
		}
	}

	if (quoted)
		dst[w++] = '"';

	dst[w] = '\0';
}


/* Record why r failed (r may be NULL); returns the errno. */
static int fail(struct pg_conn *c, const PGresult *r)
{
	const char *state = NULL, *primary = NULL;
	int err;

	if (r) {
		state   = PQresultErrorField(r, PG_DIAG_SQLSTATE);
		primary = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
	}

	if (PQstatus(c->pg) != CONNECTION_OK)
		err = ENOTCONN;
	else if (!r)
		err = ENOMEM;
	else
		err = map_sqlstate(state);

	if (primary) {
		char msg[DB_ERRMSG_SIZE], red[DB_ERRMSG_SIZE];

		db_errmsg_set(msg, sizeof(msg), primary);
		if (state_is(state, "22")) {
			redact(red, sizeof(red), msg);
			str_ncpy(msg, red, sizeof(msg));
		}

		(void)re_snprintf(c->err, sizeof(c->err), "%s [%s]", msg,
				  state ? state : "?");
	}
	else {
		db_errmsg_set(c->err, sizeof(c->err),
			      r ? PQresultErrorMessage(r) :
			      PQerrorMessage(c->pg));
	}

	return err;
}


static int pg_open(void **connp, const char *url)
{
	/* the URL comes last and so overrides these defaults */
	const char *keys[] = {"connect_timeout", "client_encoding",
			      "fallback_application_name", "dbname", NULL};
	const char *vals[] = {"5", "UTF8", "parley", url, NULL};
	PQconninfoOption *opts;
	struct pg_conn *c;
	char *perr = NULL;
	int err = 0;

	c = mem_zalloc(sizeof(*c), conn_destructor);
	if (!c)
		return ENOMEM;

	/* a malformed URL is the caller's fault, not the network's */
	opts = PQconninfoParse(url, &perr);
	if (!opts) {
		db_errmsg_set(c->err, sizeof(c->err),
			      perr ? perr : "out of memory");
		err = perr ? EINVAL : ENOMEM;
		PQfreemem(perr);
		goto out;
	}

	PQconninfoFree(opts);

	c->pg = PQconnectdbParams(keys, vals, 1);
	if (!c->pg) {
		db_errmsg_set(c->err, sizeof(c->err), "out of memory");
		err = ENOMEM;
		goto out;
	}

	PQsetNoticeProcessor(c->pg, notice_swallow, NULL);

	if (PQstatus(c->pg) != CONNECTION_OK) {
		db_errmsg_set(c->err, sizeof(c->err), PQerrorMessage(c->pg));
		err = ENOTCONN;
		goto out;
	}

 out:
	if (err) {
		re_fprintf(stderr, "db: postgresql open: %s\n", c->err);
		mem_deref(c);
	}
	else {
		*connp = c;
	}

	return err;
}


/* A connection found broken by an earlier call gets one PQreset(). */
static int pg_ready(struct pg_conn *c)
{
	if (PQstatus(c->pg) == CONNECTION_OK)
		return 0;

	PQreset(c->pg);

	if (PQstatus(c->pg) == CONNECTION_OK)
		return 0;

	db_errmsg_set(c->err, sizeof(c->err), PQerrorMessage(c->pg));

	return ENOTCONN;
}


/* Leave a COPY the statement started, so the connection stays usable. */
static void copy_abort(struct pg_conn *c, ExecStatusType st)
{
	PGresult *r;
	char *buf;

	if (st == PGRES_COPY_IN || st == PGRES_COPY_BOTH)
		(void)PQputCopyEnd(c->pg, "COPY is not supported");

	if (st == PGRES_COPY_OUT || st == PGRES_COPY_BOTH) {
		while (PQgetCopyData(c->pg, &buf, 0) > 0)
			PQfreemem(buf);
	}

	while ((r = PQgetResult(c->pg)))
		PQclear(r);
}


/* Check a result; on success remember the changed row count. */
static int check(struct pg_conn *c, PGresult *r)
{
	static const char *const dml[] = {"INSERT ", "UPDATE ", "DELETE ",
					  "MERGE "};
	const char *status;
	ExecStatusType st;
	size_t i;

	if (!r)
		return fail(c, NULL);

	st = PQresultStatus(r);

	switch (st) {

	case PGRES_COMMAND_OK:
	case PGRES_TUPLES_OK:
	case PGRES_EMPTY_QUERY:
		break;

	case PGRES_COPY_IN:
	case PGRES_COPY_OUT:
	case PGRES_COPY_BOTH:
		copy_abort(c, st);
		db_errmsg_set(c->err, sizeof(c->err), "COPY is not supported");
		return EINVAL;

	default:
		return fail(c, r);
	}

	/* like sqlite3_changes(): only DML counts, a SELECT keeps it */
	status = PQcmdStatus(r);
	for (i = 0; status && i < ARRAY_SIZE(dml); i++) {
		if (!strncmp(status, dml[i], strlen(dml[i]))) {
			c->changes = (uint64_t)atoll(PQcmdTuples(r));
			break;
		}
	}

	return 0;
}


static int to_res(struct db_res **resp, const PGresult *r)
{
	struct db_res *res = NULL;
	int row, col, nrows, ncols, err;

	nrows = PQntuples(r);
	ncols = PQnfields(r);

	err = db_res_alloc(&res, (size_t)ncols);
	if (err)
		goto out;

	for (col = 0; col < ncols; col++) {
		const char *name = PQfname(r, col);

		err = db_res_set_colname(res, (size_t)col, name ? name : "");
		if (err)
			goto out;
	}

	for (row = 0; row < nrows; row++) {
		for (col = 0; col < ncols; col++) {
			const bool null = PQgetisnull(r, row, col);

			err = db_res_append(res,
					    null ? NULL : PQgetvalue(r, row, col),
					    (size_t)PQgetlength(r, row, col));
			if (err)
				goto out;
		}
	}

 out:
	if (err)
		mem_deref(res);
	else
		*resp = res;

	return err;
}


static int params_text(struct pg_conn *c, const char ***valsp, char **bufp,
		       const struct db_val *params, size_t nparams)
{
	const char **vals;
	char *buf;
	size_t i;

	vals = mem_zalloc(nparams * sizeof(*vals), NULL);
	buf  = mem_zalloc(nparams * NUM_SIZE, NULL);
	if (!vals || !buf) {
		mem_deref(vals);
		mem_deref(buf);
		return ENOMEM;
	}

	for (i = 0; i < nparams; i++) {
		const struct db_val *v = &params[i];
		char *num = buf + i * NUM_SIZE;

		switch (v->type) {

		case DB_NULL:
			break;

		case DB_INT:
			(void)snprintf(num, NUM_SIZE, "%" PRId64, v->i);
			vals[i] = num;
			break;

		case DB_REAL:
			(void)snprintf(num, NUM_SIZE, "%.17g", v->r);
			vals[i] = num;
			break;

		case DB_TEXT:
			vals[i] = v->s;
			break;

		default:
			(void)re_snprintf(c->err, sizeof(c->err),
					  "parameter %zu: bad type", i + 1);
			mem_deref(vals);
			mem_deref(buf);
			return EINVAL;
		}
	}

	*valsp = vals;
	*bufp  = buf;

	return 0;
}


static int pg_exec(void *arg, struct db_res **resp, const char *sql,
		   const struct db_val *params, size_t nparams)
{
	struct pg_conn *c = arg;
	const char **vals = NULL;
	char *query = NULL, *buf = NULL;
	PGresult *r = NULL;
	size_t n;
	int err;

	err = db_sql_rewrite(&query, &n, sql);
	if (err)
		goto out;

	if (n != nparams || nparams > MAX_PARAMS) {
		(void)re_snprintf(c->err, sizeof(c->err),
				  "statement has %zu placeholders, "
				  "%zu parameters given", n, nparams);
		err = EINVAL;
		goto out;
	}

	if (nparams) {
		err = params_text(c, &vals, &buf, params, nparams);
		if (err)
			goto out;
	}

	err = pg_ready(c);
	if (err)
		goto out;

	r = PQexecParams(c->pg, query, (int)nparams, NULL, vals, NULL, NULL,
			 0);

	err = check(c, r);
	if (err)
		goto out;

	if (resp)
		err = to_res(resp, r);

 out:
	PQclear(r);
	mem_deref(query);
	mem_deref(vals);
	mem_deref(buf);

	return err;
}


static int pg_exec_script(void *arg, const char *sql)
{
	struct pg_conn *c = arg;
	PGresult *r;
	int err;

	err = pg_ready(c);
	if (err)
		return err;

	r = PQexec(c->pg, sql);
	err = check(c, r);
	PQclear(r);

	return err;
}


static uint64_t pg_changes(const void *arg)
{
	const struct pg_conn *c = arg;

	return c->changes;
}


static const char *pg_errmsg(const void *arg)
{
	const struct pg_conn *c = arg;

	return c->err;
}


static void pg_close(void *arg)
{
	mem_deref(arg);
}


const struct db_backend db_backend_pg = {
	.kind        = DB_PG,
	.open        = pg_open,
	.exec        = pg_exec,
	.exec_script = pg_exec_script,
	.changes     = pg_changes,
	.errmsg      = pg_errmsg,
	.close       = pg_close,
};
