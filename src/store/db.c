/* db.c - the backend-independent half of the portable SQL layer.
 *
 * Parley writes its SQL once and runs it on SQLite (single node) or
 * PostgreSQL (several nodes). Everything that does not depend on the
 * backend lives here so the two backends cannot drift apart: URL
 * dispatch, the result set both fill (all values as text, like libpq
 * gives them), the migration dialect markers and the '?' -> $n rewrite
 * PostgreSQL needs. The backends (db_sqlite.c, db_pg.c) plug in through
 * the vtable in db_int.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <re.h>
#include "store/db_int.h"

#define RES_NULL SIZE_MAX

struct db {
	const struct db_backend *be;
	void *conn;
};

/*
 * All strings of a result live in one buffer; names and vals hold
 * offsets into it (RES_NULL for SQL NULL) so that growing the buffer
 * while rows arrive does not invalidate anything.
 */
struct db_res {
	size_t ncols;
	size_t nvals;         /* values appended so far, row-major */
	size_t cap;           /* capacity of vals */
	size_t *names;        /* ncols offsets into data */
	size_t *vals;         /* cap offsets into data */
	struct mbuf *data;
};

/* Dialect markers used by migrations; add a row for a new marker. */
static const struct {
	const char *marker;
	const char *sqlite;
	const char *pg;
} dialect[] = {
	{"{{ID}}", "INTEGER PRIMARY KEY AUTOINCREMENT",
	 "BIGSERIAL PRIMARY KEY"},
};


static void db_destructor(void *arg)
{
	struct db *db = arg;

	if (db->conn)
		db->be->close(db->conn);
}


static void res_destructor(void *arg)
{
	struct db_res *res = arg;

	mem_deref(res->names);
	mem_deref(res->vals);
	mem_deref(res->data);
}


static bool has_prefix(const char *s, const char *prefix)
{
	return !strncasecmp(s, prefix, strlen(prefix));
}


int db_open(struct db **dbp, const char *url)
{
	const struct db_backend *be;
	const char *target = url;
	struct db *db;
	int err;

	if (!dbp || !str_isset(url))
		return EINVAL;

	if (has_prefix(url, "postgres://") || has_prefix(url, "postgresql://")) {
		be = &db_backend_pg;
	}
	else {
		be = &db_backend_sqlite;
		if (has_prefix(url, "sqlite://"))
			target = url + strlen("sqlite://");
		else if (has_prefix(url, "sqlite:"))
			target = url + strlen("sqlite:");
	}

	if (!*target)
		return EINVAL;

	db = mem_zalloc(sizeof(*db), db_destructor);
	if (!db)
		return ENOMEM;

	db->be = be;

	err = be->open(&db->conn, target);
	if (err)
		goto out;

 out:
	if (err)
		mem_deref(db);
	else
		*dbp = db;

	return err;
}


enum db_kind db_kind(const struct db *db)
{
	return db ? db->be->kind : DB_SQLITE;
}


const char *db_errmsg(const struct db *db)
{
	if (!db)
		return "no database";

	return db->be->errmsg(db->conn);
}


int db_exec(struct db *db, struct db_res **resp, const char *sql,
	    const struct db_val *params, size_t nparams)
{
	if (!db || !sql || (nparams && !params))
		return EINVAL;

	return db->be->exec(db->conn, resp, sql, params, nparams);
}


int db_exec_script(struct db *db, const char *sql)
{
	if (!db || !sql)
		return EINVAL;

	return db->be->exec_script(db->conn, sql);
}


int db_begin(struct db *db)
{
	/* SQLite: take the write lock now; a deferred transaction that
	 * upgrades later fails with SQLITE_BUSY without waiting. */
	return db_exec(db, NULL, db_kind(db) == DB_SQLITE ?
		       "BEGIN IMMEDIATE" : "BEGIN", NULL, 0);
}


int db_commit(struct db *db)
{
	return db_exec(db, NULL, "COMMIT", NULL, 0);
}


int db_rollback(struct db *db)
{
	return db_exec(db, NULL, "ROLLBACK", NULL, 0);
}


uint64_t db_changes(const struct db *db)
{
	return db ? db->be->changes(db->conn) : 0;
}


int db_res_alloc(struct db_res **resp, size_t ncols)
{
	struct db_res *res;
	size_t i;
	int err = 0;

	if (!resp)
		return EINVAL;

	res = mem_zalloc(sizeof(*res), res_destructor);
	if (!res)
		return ENOMEM;

	res->ncols = ncols;

	res->data = mbuf_alloc(256);
	res->names = mem_reallocarray(NULL, ncols ? ncols : 1,
				      sizeof(*res->names), NULL);
	if (!res->data || !res->names) {
		err = ENOMEM;
		goto out;
	}

	for (i = 0; i < ncols; i++)
		res->names[i] = RES_NULL;

 out:
	if (err)
		mem_deref(res);
	else
		*resp = res;

	return err;
}


static int res_put(struct db_res *res, size_t *offp, const char *s,
		   size_t len)
{
	size_t off = res->data->end;
	int err;

	res->data->pos = off;
	err  = mbuf_write_mem(res->data, (const uint8_t *)s, len);
	err |= mbuf_write_u8(res->data, 0);
	if (err)
		return ENOMEM;

	*offp = off;

	return 0;
}


int db_res_set_colname(struct db_res *res, size_t col, const char *name)
{
	if (!res || col >= res->ncols || !name)
		return EINVAL;

	return res_put(res, &res->names[col], name, strlen(name));
}


int db_res_append(struct db_res *res, const char *val, size_t len)
{
	if (!res || !res->ncols)
		return EINVAL;

	if (res->nvals == res->cap) {
		size_t cap = res->cap ? res->cap * 2 : 16;
		size_t *vals;

		vals = mem_reallocarray(res->vals, cap, sizeof(*vals), NULL);
		if (!vals)
			return ENOMEM;

		res->vals = vals;
		res->cap  = cap;
	}

	if (!val) {
		res->vals[res->nvals++] = RES_NULL;
		return 0;
	}

	if (res_put(res, &res->vals[res->nvals], val, len))
		return ENOMEM;

	++res->nvals;

	return 0;
}


size_t db_res_nrows(const struct db_res *res)
{
	if (!res || !res->ncols)
		return 0;

	return res->nvals / res->ncols;
}


size_t db_res_ncols(const struct db_res *res)
{
	return res ? res->ncols : 0;
}


const char *db_res_colname(const struct db_res *res, size_t col)
{
	if (!res || col >= res->ncols || res->names[col] == RES_NULL)
		return NULL;

	return (const char *)res->data->buf + res->names[col];
}


const char *db_res_str(const struct db_res *res, size_t row, size_t col)
{
	size_t off;

	if (!res || col >= res->ncols || row >= db_res_nrows(res))
		return NULL;

	off = res->vals[row * res->ncols + col];
	if (off == RES_NULL)
		return NULL;

	return (const char *)res->data->buf + off;
}


bool db_res_isnull(const struct db_res *res, size_t row, size_t col)
{
	return db_res_str(res, row, col) == NULL;
}


int64_t db_res_int(const struct db_res *res, size_t row, size_t col)
{
	const char *s = db_res_str(res, row, col);

	return s ? (int64_t)strtoll(s, NULL, 10) : 0;
}


double db_res_real(const struct db_res *res, size_t row, size_t col)
{
	const char *s = db_res_str(res, row, col);

	return s ? strtod(s, NULL) : 0.0;
}


int db_dialect(char **outp, enum db_kind kind, const char *sql)
{
	struct mbuf *mb;
	const char *p, *start;
	int err = 0;

	if (!outp || !sql)
		return EINVAL;

	mb = mbuf_alloc(strlen(sql) + 64);
	if (!mb)
		return ENOMEM;

	for (p = start = sql; (p = strstr(p, "{{")); ) {
		const char *repl = NULL;
		size_t i, mlen = 0;

		for (i = 0; i < ARRAY_SIZE(dialect); i++) {
			mlen = strlen(dialect[i].marker);
			if (!strncmp(p, dialect[i].marker, mlen)) {
				repl = kind == DB_PG ? dialect[i].pg :
					dialect[i].sqlite;
				break;
			}
		}

		/* unknown markers are left alone: "{{" may be data */
		if (!repl) {
			++p;
			continue;
		}

		err  = mbuf_write_mem(mb, (const uint8_t *)start,
				      (size_t)(p - start));
		err |= mbuf_write_str(mb, repl);
		if (err)
			goto out;

		p += mlen;
		start = p;
	}

	err = mbuf_write_str(mb, start);
	if (err)
		goto out;

	mbuf_set_pos(mb, 0);
	err = mbuf_strdup(mb, outp, mb->end);

 out:
	mem_deref(mb);

	return err;
}


static bool is_ident(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		(c >= '0' && c <= '9') || c == '_' || c == '$' ||
		(unsigned char)c >= 0x80;
}


/* p at the opening quote; returns the char after the closing one. A
 * doubled quote ('it''s') is two literals back to back for this scan. */
static const char *skip_quoted(const char *p, bool backslash)
{
	const char q = *p++;

	for (; *p; ++p) {
		if (backslash && *p == '\\' && p[1])
			++p;
		else if (*p == q)
			return p + 1;
	}

	return p;
}


/* p at the opening slash-star; PostgreSQL block comments nest. */
static const char *skip_block_comment(const char *p)
{
	unsigned depth = 0;

	while (*p) {
		if (p[0] == '/' && p[1] == '*') {
			++depth;
			p += 2;
		}
		else if (p[0] == '*' && p[1] == '/') {
			p += 2;
			if (--depth == 0)
				break;
		}
		else {
			++p;
		}
	}

	return p;
}


/* p at '$'; returns past a $tag$...$tag$ string, or NULL if none. */
static const char *skip_dollar_quoted(const char *p)
{
	const char *t = p + 1, *end;
	char tag[64];
	size_t len;

	while (*t && *t != '$' && is_ident(*t) && !(*t >= '0' && *t <= '9'
	       && t == p + 1))
		++t;

	if (*t != '$')
		return NULL;

	len = (size_t)(t - p) + 1;
	if (len >= sizeof(tag))
		return NULL;

	memcpy(tag, p, len);
	tag[len] = '\0';

	end = strstr(t + 1, tag);

	return end ? end + len : t + 1 + strlen(t + 1);
}


int db_sql_rewrite(char **outp, size_t *countp, const char *sql)
{
	struct mbuf *mb;
	const char *p, *start;
	size_t n = 0;
	int err = 0;

	if (!outp || !sql)
		return EINVAL;

	mb = mbuf_alloc(strlen(sql) + 16);
	if (!mb)
		return ENOMEM;

	for (p = start = sql; *p; ) {
		bool prev_ident = p > sql && is_ident(p[-1]);
		const char *q;

		switch (*p) {

		case '\'':
			/* E'...' strings take backslash escapes */
			p = skip_quoted(p, p > sql && (p[-1] == 'E' ||
				p[-1] == 'e') && !(p - 1 > sql &&
				is_ident(p[-2])));
			break;

		case '"':
			p = skip_quoted(p, false);
			break;

		case '-':
			if (p[1] == '-')
				p += strcspn(p, "\n");
			else
				++p;
			break;

		case '/':
			if (p[1] == '*')
				p = skip_block_comment(p);
			else
				++p;
			break;

		case '$':
			q = prev_ident ? NULL : skip_dollar_quoted(p);
			p = q ? q : p + 1;
			break;

		case '?':
			err  = mbuf_write_mem(mb, (const uint8_t *)start,
					      (size_t)(p - start));
			err |= mbuf_printf(mb, "$%zu", ++n);
			if (err)
				goto out;

			start = ++p;
			break;

		default:
			++p;
			break;
		}
	}

	err = mbuf_write_str(mb, start);
	if (err)
		goto out;

	mbuf_set_pos(mb, 0);
	err = mbuf_strdup(mb, outp, mb->end);
	if (err)
		goto out;

	if (countp)
		*countp = n;

 out:
	mem_deref(mb);

	return err;
}


void db_errmsg_set(char *buf, size_t size, const char *msg)
{
	size_t len;

	if (!buf || !size)
		return;

	if (!str_isset(msg))
		msg = "unknown error";

	len = strcspn(msg, "\r\n");
	while (len && (msg[len - 1] == ' ' || msg[len - 1] == '\t'))
		--len;

	if (len >= size)
		len = size - 1;

	memcpy(buf, msg, len);
	buf[len] = '\0';
}
