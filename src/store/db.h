/* db.h - portable SQL over SQLite and PostgreSQL.
 *
 * One connection object per thread (never share a struct db between
 * threads). SQL is written once with '?' placeholders and a common dialect
 * (BIGINT, TEXT, DOUBLE PRECISION, INTEGER 0/1 for booleans, RETURNING);
 * the PostgreSQL backend rewrites '?' to $1..$n. Result values are text,
 * as both backends can give them; NULL means SQL NULL.
 *
 * Errors are errno-style: 0, EEXIST (unique/primary key violation),
 * EINVAL (foreign key / check / not-null violation, bad SQL),
 * ENOTCONN (server unreachable or connection lost), EBUSY (lock timeout),
 * ENOMEM, EIO (anything else). db_errmsg() has the backend's message for
 * logs (it never contains parameter values).
 */
#ifndef PARLEY_DB_H
#define PARLEY_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct db;
struct db_res;

enum db_kind { DB_SQLITE, DB_PG };

enum db_type { DB_NULL = 0, DB_INT, DB_TEXT, DB_REAL };

/** A statement parameter; strings are borrowed for the call only. */
struct db_val {
	enum db_type type;
	int64_t i;
	double r;
	const char *s;
};

#define DBV_NULL    ((struct db_val){.type = DB_NULL})
#define DBV_INT(x)  ((struct db_val){.type = DB_INT, .i = (int64_t)(x)})
#define DBV_REAL(x) ((struct db_val){.type = DB_REAL, .r = (x)})
static inline struct db_val db_val_text(const char *s)
{
	struct db_val v = {.type = s ? DB_TEXT : DB_NULL, .s = s};
	return v;
}
#define DBV_TEXT(x) db_val_text(x)

/**
 * Open a database by URL:
 *   "sqlite:PATH", "sqlite://PATH" or a bare path  -> SQLite (WAL,
 *       foreign keys on, busy timeout 5 s; file created if missing)
 *   "postgres://..." or "postgresql://..." (any libpq conninfo URI) -> PostgreSQL
 * The returned object is a libre mem object: release with mem_deref().
 */
int db_open(struct db **dbp, const char *url);
enum db_kind db_kind(const struct db *db);
const char *db_errmsg(const struct db *db);

/**
 * Run one statement. resp may be NULL when no rows are wanted; otherwise
 * *resp is set (also for zero rows) and must be mem_deref()'d.
 */
int db_exec(struct db *db, struct db_res **resp, const char *sql,
	    const struct db_val *params, size_t nparams);

/** Run several ';'-separated statements without parameters (migrations). */
int db_exec_script(struct db *db, const char *sql);

int db_begin(struct db *db);
int db_commit(struct db *db);
int db_rollback(struct db *db);

/** Rows changed by the last INSERT/UPDATE/DELETE on this connection. */
uint64_t db_changes(const struct db *db);

size_t db_res_nrows(const struct db_res *res);
size_t db_res_ncols(const struct db_res *res);
const char *db_res_colname(const struct db_res *res, size_t col);
/** NULL for SQL NULL or out of range. */
const char *db_res_str(const struct db_res *res, size_t row, size_t col);
bool db_res_isnull(const struct db_res *res, size_t row, size_t col);
/** 0 for NULL or out of range. */
int64_t db_res_int(const struct db_res *res, size_t row, size_t col);
double db_res_real(const struct db_res *res, size_t row, size_t col);

/**
 * Translate the dialect markers used in migrations:
 *   {{ID}}  -> "INTEGER PRIMARY KEY AUTOINCREMENT" | "BIGSERIAL PRIMARY KEY"
 * Result is a mem-allocated string.
 */
int db_dialect(char **outp, enum db_kind kind, const char *sql);

#endif
