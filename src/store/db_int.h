/* db_int.h - private contract between db.c and the SQL backends.
 *
 * db.c owns everything that is the same for both backends (URL dispatch,
 * the result set, the dialect and the '?' rewrite); a backend only turns
 * SQL plus parameters into a result set and an errno-style code. Keeping
 * the result set here lets each backend fill it row by row without
 * knowing how it is stored.
 */
#ifndef PARLEY_DB_INT_H
#define PARLEY_DB_INT_H

#include "store/db.h"

/** Size of a backend's error message buffer (first line only). */
#define DB_ERRMSG_SIZE 256

/**
 * One backend. conn is the backend's own connection object, created by
 * open() and freed by close(). errmsg() returns the message of the last
 * failed call on conn (successful calls leave it alone, so a ROLLBACK
 * after a failure keeps the interesting message); never NULL.
 */
struct db_backend {
	enum db_kind kind;
	int (*open)(void **connp, const char *target);
	int (*exec)(void *conn, struct db_res **resp, const char *sql,
		    const struct db_val *params, size_t nparams);
	int (*exec_script)(void *conn, const char *sql);
	uint64_t (*changes)(const void *conn);
	const char *(*errmsg)(const void *conn);
	void (*close)(void *conn);
};

extern const struct db_backend db_backend_sqlite;
extern const struct db_backend db_backend_pg;

/* Result set construction (db.c) */
int  db_res_alloc(struct db_res **resp, size_t ncols);
int  db_res_set_colname(struct db_res *res, size_t col, const char *name);
/** Append the next value in row-major order; val NULL is SQL NULL. */
int  db_res_append(struct db_res *res, const char *val, size_t len);

/**
 * Rewrite '?' placeholders to $1..$n, leaving '...' literals, "..."
 * identifiers, -- and block comments untouched. *countp (may be NULL)
 * gets the number of placeholders. Result is a mem-allocated string.
 */
int db_sql_rewrite(char **outp, size_t *countp, const char *sql);

/** Copy the first line of msg into buf (size DB_ERRMSG_SIZE or less). */
void db_errmsg_set(char *buf, size_t size, const char *msg);

#endif
