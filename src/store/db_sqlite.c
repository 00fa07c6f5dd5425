/* db_sqlite.c - SQLite backend of the portable SQL layer.
 *
 * A single-node Parley keeps everything in one SQLite file. Each thread
 * has its own connection (opened NOMUTEX, so SQLite does no locking of
 * its own); WAL lets readers run while one writer commits, and the busy
 * timeout makes concurrent writers wait for each other instead of
 * failing at once. Values come back as text so callers see the same
 * thing as on PostgreSQL.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sqlite3.h>
#include <re.h>
#include "store/db_int.h"

struct sqlite_conn {
	sqlite3 *db;
	char err[DB_ERRMSG_SIZE];
};


static void conn_destructor(void *arg)
{
	struct sqlite_conn *c = arg;

	sqlite3_close_v2(c->db);
}


static int map_rc(int rc)
{
	switch (rc) {

	case SQLITE_CONSTRAINT_UNIQUE:
	case SQLITE_CONSTRAINT_PRIMARYKEY:
	case SQLITE_CONSTRAINT_ROWID:
		return EEXIST;

	default:
		break;
	}

	switch (rc & 0xff) {

	case SQLITE_CONSTRAINT:
	case SQLITE_ERROR:      /* bad SQL, missing table, ... */
	case SQLITE_MISMATCH:
	case SQLITE_RANGE:
		return EINVAL;

	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return EBUSY;

	case SQLITE_NOMEM:
		return ENOMEM;

	default:
		return EIO;
	}
}


/* Record the connection's current error; returns the errno for rc. */
static int fail(struct sqlite_conn *c, int rc)
{
	db_errmsg_set(c->err, sizeof(c->err),
		      c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));

	return map_rc(rc);
}


static int sq_open(void **connp, const char *path)
{
	struct sqlite_conn *c;
	int rc, err = 0;

	c = mem_zalloc(sizeof(*c), conn_destructor);
	if (!c)
		return ENOMEM;

	rc = sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READWRITE |
			     SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		err = fail(c, rc);
		goto out;
	}

	sqlite3_extended_result_codes(c->db, 1);

	/* before journal_mode: switching to WAL may have to wait too */
	rc = sqlite3_busy_timeout(c->db, 5000);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(c->db,
				  "PRAGMA journal_mode=WAL;"
				  "PRAGMA foreign_keys=ON;"
				  "PRAGMA synchronous=NORMAL;",
				  NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		err = fail(c, rc);
		goto out;
	}

 out:
	if (err) {
		re_fprintf(stderr, "db: sqlite open %s: %s\n", path, c->err);
		mem_deref(c);
	}
	else {
		*connp = c;
	}

	return err;
}


static int bind_params(struct sqlite_conn *c, sqlite3_stmt *stmt,
		       const struct db_val *params, size_t nparams)
{
	size_t i;
	int rc = SQLITE_OK;

	if ((size_t)sqlite3_bind_parameter_count(stmt) != nparams) {
		(void)re_snprintf(c->err, sizeof(c->err),
				  "statement has %d placeholders, "
				  "%zu parameters given",
				  sqlite3_bind_parameter_count(stmt), nparams);
		return EINVAL;
	}

	for (i = 0; i < nparams && rc == SQLITE_OK; i++) {
		const struct db_val *v = &params[i];
		const int idx = (int)i + 1;

		switch (v->type) {

		case DB_NULL:
			rc = sqlite3_bind_null(stmt, idx);
			break;

		case DB_INT:
			rc = sqlite3_bind_int64(stmt, idx, v->i);
			break;

		case DB_REAL:
			rc = sqlite3_bind_double(stmt, idx, v->r);
			break;

		case DB_TEXT:
			if (v->s)
				rc = sqlite3_bind_text(stmt, idx, v->s, -1,
						       SQLITE_TRANSIENT);
			else
				rc = sqlite3_bind_null(stmt, idx);
			break;

		default:
			(void)re_snprintf(c->err, sizeof(c->err),
					  "parameter %d: bad type", idx);
			return EINVAL;
		}
	}

	return rc == SQLITE_OK ? 0 : fail(c, rc);
}


/* db_exec() runs one statement: anything but comments after it is an
 * error rather than silently ignored. */
static int check_tail(struct sqlite_conn *c, const char *tail)
{
	sqlite3_stmt *stmt = NULL;
	int rc, err = 0;

	tail += strspn(tail, " \t\r\n;");
	if (!*tail)
		return 0;

	rc = sqlite3_prepare_v2(c->db, tail, -1, &stmt, NULL);
	if (rc != SQLITE_OK) {
		err = fail(c, rc);
	}
	else if (stmt) {
		db_errmsg_set(c->err, sizeof(c->err),
			      "more than one statement in db_exec()");
		err = EINVAL;
	}

	sqlite3_finalize(stmt);

	return err;
}


static int fetch_row(struct sqlite_conn *c, struct db_res *res,
		     sqlite3_stmt *stmt, int ncols)
{
	int i, err;

	for (i = 0; i < ncols; i++) {
		const unsigned char *s = NULL;
		size_t len = 0;

		if (sqlite3_column_type(stmt, i) != SQLITE_NULL) {
			s = sqlite3_column_text(stmt, i);
			if (!s)
				return fail(c, SQLITE_NOMEM);

			len = (size_t)sqlite3_column_bytes(stmt, i);
		}

		err = db_res_append(res, (const char *)s, len);
		if (err)
			return err;
	}

	return 0;
}


static int sq_exec(void *arg, struct db_res **resp, const char *sql,
		   const struct db_val *params, size_t nparams)
{
	struct sqlite_conn *c = arg;
	sqlite3_stmt *stmt = NULL;
	struct db_res *res = NULL;
	const char *tail = NULL;
	int i, rc, ncols, err;

	rc = sqlite3_prepare_v2(c->db, sql, -1, &stmt, &tail);
	if (rc != SQLITE_OK) {
		err = fail(c, rc);
		goto out;
	}

	err = check_tail(c, tail ? tail : "");
	if (err)
		goto out;

	if (stmt) {
		err = bind_params(c, stmt, params, nparams);
		if (err)
			goto out;
	}
	else if (nparams) {
		db_errmsg_set(c->err, sizeof(c->err), "empty statement");
		err = EINVAL;
		goto out;
	}

	ncols = stmt ? sqlite3_column_count(stmt) : 0;

	if (resp) {
		err = db_res_alloc(&res, (size_t)ncols);
		if (err)
			goto out;

		for (i = 0; i < ncols; i++) {
			const char *name = sqlite3_column_name(stmt, i);

			err = db_res_set_colname(res, (size_t)i,
						 name ? name : "");
			if (err)
				goto out;
		}
	}

	if (!stmt)
		goto out;

	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (!res)
			continue;

		err = fetch_row(c, res, stmt, ncols);
		if (err)
			goto out;
	}

	if (rc != SQLITE_DONE) {
		err = fail(c, rc);
		goto out;
	}

 out:
	sqlite3_finalize(stmt);

	if (err)
		mem_deref(res);
	else if (resp)
		*resp = res;

	return err;
}


static int sq_exec_script(void *arg, const char *sql)
{
	struct sqlite_conn *c = arg;
	char *msg = NULL;
	int rc, err = 0;

	rc = sqlite3_exec(c->db, sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK) {
		err = map_rc(rc);
		db_errmsg_set(c->err, sizeof(c->err),
			      msg ? msg : sqlite3_errstr(rc));
	}

	sqlite3_free(msg);

	return err;
}


static uint64_t sq_changes(const void *arg)
{
	const struct sqlite_conn *c = arg;

	return (uint64_t)sqlite3_changes64(c->db);
}


static const char *sq_errmsg(const void *arg)
{
	const struct sqlite_conn *c = arg;

	return c->err;
}


static void sq_close(void *arg)
{
	mem_deref(arg);
}


const struct db_backend db_backend_sqlite = {
	.kind        = DB_SQLITE,
	.open        = sq_open,
	.exec        = sq_exec,
	.exec_script = sq_exec_script,
	.changes     = sq_changes,
	.errmsg      = sq_errmsg,
	.close       = sq_close,
};
