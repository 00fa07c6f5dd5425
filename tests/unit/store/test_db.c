/* test_db.c - the portable SQL layer and migrations, on both backends.
 *
 * Every backend-dependent test body runs against a fresh SQLite file
 * and, when PARLEY_TEST_PG_URL is set (scripts/pg.sh start), against a
 * PostgreSQL database created for this run and dropped at exit; its
 * public schema is emptied before each test.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <unistd.h>
#include <libpq-fe.h>
#include "store/db.h"
#include "store/db_int.h"
#include "store/migrate.h"
#include "test.h"

typedef void (body_h)(int *failed_, const char *url);

/* per-run PostgreSQL database (test harness state, set up lazily) */
static struct {
	bool tried;
	bool ok;
	char name[64];
	char admin[512];
	char url[600];
} pg;


static void pg_silence(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}


static bool pg_run(const char *url, const char *sql)
{
	PGconn *conn = PQconnectdb(url);
	PGresult *r = NULL;
	bool ok = false;

	if (PQstatus(conn) != CONNECTION_OK) {
		fprintf(stderr, "pg: %s", PQerrorMessage(conn));
		goto out;
	}

	PQsetNoticeProcessor(conn, pg_silence, NULL);

	r = PQexec(conn, sql);
	ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	if (!ok)
		fprintf(stderr, "pg: %s: %s", sql, PQerrorMessage(conn));

 out:
	PQclear(r);
	PQfinish(conn);

	return ok;
}


static void pg_drop(void)
{
	char sql[128];

	snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)",
		 pg.name);
	(void)pg_run(pg.admin, sql);
}


/* URL of the per-run database: the admin URL with its path replaced */
static bool pg_make_url(void)
{
	const char *auth, *rest, *query;
	int n;

	auth = strstr(pg.admin, "://");
	if (!auth)
		return false;

	auth += 3;
	rest  = auth + strcspn(auth, "/?");
	query = strchr(rest, '?');

	n = snprintf(pg.url, sizeof(pg.url), "%.*s/%s%s",
		     (int)(rest - pg.admin), pg.admin, pg.name,
		     query ? query : "");

	return n > 0 && (size_t)n < sizeof(pg.url);
}


/* NULL when PostgreSQL tests are off; *failed_ set if setup broke */
static const char *pg_url(int *failed_)
{
	const char *env = getenv("PARLEY_TEST_PG_URL");
	char sql[128];

	if (!str_isset(env))
		return NULL;

	if (!pg.tried) {
		pg.tried = true;

		str_ncpy(pg.admin, env, sizeof(pg.admin));
		snprintf(pg.name, sizeof(pg.name), "parley_test_%d_%08x",
			 (int)getpid(), rand_u32());
		snprintf(sql, sizeof(sql), "CREATE DATABASE %s", pg.name);

		pg.ok = pg_make_url() && pg_run(pg.admin, sql);
		if (pg.ok)
			atexit(pg_drop);
	}

	if (!pg.ok) {
		fprintf(stderr, "PARLEY_TEST_PG_URL is set but the test "
			"database could not be created\n");
		*failed_ = 1;
		return NULL;
	}

	return pg.url;
}


static void run_both(int *failed_, body_h *body)
{
	char path[64], url[80], side[80];
	const char *purl;
	int fd;

	str_ncpy(path, "/tmp/parley_test_db_XXXXXX.db", sizeof(path));
	fd = mkstemps(path, 3);
	CHECK(fd >= 0);
	close(fd);

	snprintf(url, sizeof(url), "sqlite:%s", path);
	body(failed_, url);

	unlink(path);
	snprintf(side, sizeof(side), "%s-wal", path);
	unlink(side);
	snprintf(side, sizeof(side), "%s-shm", path);
	unlink(side);

	if (*failed_) {
		fprintf(stderr, "  ... on SQLite\n");
		return;
	}

	purl = pg_url(failed_);
	if (!purl)
		return;

	CHECK(pg_run(purl, "SET client_min_messages TO warning;"
		     "DROP SCHEMA public CASCADE; CREATE SCHEMA public"));

	body(failed_, purl);
	if (*failed_)
		fprintf(stderr, "  ... on PostgreSQL\n");
}


#define TEST_BOTH(name)                                                \
	static void body_##name(int *failed_, const char *url);       \
	TEST(name)                                                     \
	{                                                              \
		run_both(failed_, body_##name);                        \
	}                                                              \
	static void body_##name(int *failed_, const char *url)


/* run a dialect-translated script */
static int script(struct db *db, const char *sql)
{
	char *s = NULL;
	int err;

	err = db_dialect(&s, db_kind(db), sql);
	if (!err)
		err = db_exec_script(db, s);

	mem_deref(s);

	return err;
}


static int64_t count(struct db *db, const char *table)
{
	struct db_res *res = NULL;
	char sql[128];
	int64_t n = -1;

	snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM %s", table);
	if (!db_exec(db, &res, sql, NULL, 0))
		n = db_res_int(res, 0, 0);

	mem_deref(res);

	return n;
}


/* --- pure functions ------------------------------------------------ */

static bool rewrites(const char *in, const char *want, size_t wantn)
{
	char *out = NULL;
	size_t n = 99;
	bool ok;

	if (db_sql_rewrite(&out, &n, in))
		return false;

	ok = !strcmp(out, want) && n == wantn;
	if (!ok)
		fprintf(stderr, "rewrite(%s) = %s (%zu), want %s (%zu)\n",
			in, out, n, want, wantn);

	mem_deref(out);

	return ok;
}


TEST(rewrite)
{
	CHECK(rewrites("", "", 0));
	CHECK(rewrites("SELECT 1", "SELECT 1", 0));
	CHECK(rewrites("SELECT ?", "SELECT $1", 1));
	CHECK(rewrites("a=? AND b=?", "a=$1 AND b=$2", 2));
	CHECK(rewrites("?,?,?,?,?,?,?,?,?,?,?", "$1,$2,$3,$4,$5,$6,$7,$8,$9,"
		       "$10,$11", 11));
	CHECK(rewrites("'?' ?", "'?' $1", 1));
	CHECK(rewrites("'it''s ?' ?", "'it''s ?' $1", 1));
	CHECK(rewrites("'' ?", "'' $1", 1));
	CHECK(rewrites("\"we?ird\" = ?", "\"we?ird\" = $1", 1));
	CHECK(rewrites("\"a\"\"?\" ?", "\"a\"\"?\" $1", 1));
	CHECK(rewrites("-- what?\n?", "-- what?\n$1", 1));
	CHECK(rewrites("? -- what?", "$1 -- what?", 1));
	CHECK(rewrites("a - ? -1", "a - $1 -1", 1));
	CHECK(rewrites("/* ? */ ?", "/* ? */ $1", 1));
	CHECK(rewrites("/* /* ? */ ? */ ?", "/* /* ? */ ? */ $1", 1));
	CHECK(rewrites("a / ?", "a / $1", 1));
	CHECK(rewrites("E'\\'?' ?", "E'\\'?' $1", 1));
	CHECK(rewrites("'\\' ?", "'\\' $1", 1));
	CHECK(rewrites("$$ ? $$ ?", "$$ ? $$ $1", 1));
	CHECK(rewrites("$t$ ? $$ ? $t$ ?", "$t$ ? $$ ? $t$ $1", 1));
	CHECK(rewrites("a$b ?", "a$b $1", 1));
	CHECK(rewrites("'unterminated ?", "'unterminated ?", 0));
	CHECK(rewrites("/* open ?", "/* open ?", 0));
}


TEST(dialect)
{
	char *s = NULL;

	CHECK_EQ_INT(db_dialect(&s, DB_SQLITE, "CREATE TABLE t (id {{ID}}, "
				"x TEXT DEFAULT '{{name}}')"), 0);
	CHECK_STR(s, "CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, "
		  "x TEXT DEFAULT '{{name}}')");
	s = mem_deref(s);

	CHECK_EQ_INT(db_dialect(&s, DB_PG, "{{ID}}{{ID}} {{"), 0);
	CHECK_STR(s, "BIGSERIAL PRIMARY KEYBIGSERIAL PRIMARY KEY {{");
	s = mem_deref(s);

	CHECK_EQ_INT(db_dialect(&s, DB_PG, ""), 0);
	CHECK_STR(s, "");
	s = mem_deref(s);

	CHECK_EQ_INT(db_dialect(&s, DB_PG, NULL), EINVAL);
}


TEST(open_urls)
{
	char dir[64], path[128], url[160], cwd[512];
	struct db *db = NULL;

	CHECK(getcwd(cwd, sizeof(cwd)));
	str_ncpy(dir, "/tmp/parley_test_dir_XXXXXX", sizeof(dir));
	CHECK(mkdtemp(dir));

	/* sqlite:///abs */
	snprintf(path, sizeof(path), "%s/a.db", dir);
	snprintf(url, sizeof(url), "sqlite://%s", path);
	CHECK_EQ_INT(db_open(&db, url), 0);
	CHECK_EQ_INT(db_kind(db), DB_SQLITE);
	db = mem_deref(db);
	CHECK(access(path, F_OK) == 0);

	/* sqlite:PATH and a bare path */
	snprintf(url, sizeof(url), "sqlite:%s", path);
	CHECK_EQ_INT(db_open(&db, url), 0);
	db = mem_deref(db);
	CHECK_EQ_INT(db_open(&db, path), 0);
	db = mem_deref(db);
	unlink(path);

	/* sqlite://rel.db is relative */
	CHECK(chdir(dir) == 0);
	CHECK_EQ_INT(db_open(&db, "sqlite://rel.db"), 0);
	db = mem_deref(db);
	CHECK(access("rel.db", F_OK) == 0);
	unlink("rel.db");
	CHECK(chdir(cwd) == 0);
	CHECK(rmdir(dir) == 0);

	CHECK_EQ_INT(db_open(&db, ""), EINVAL);
	CHECK_EQ_INT(db_open(&db, "sqlite:"), EINVAL);
	CHECK_EQ_INT(db_open(&db, "sqlite://"), EINVAL);
	CHECK_EQ_INT(db_open(&db, NULL), EINVAL);
	CHECK_EQ_INT(db_open(&db, "sqlite:/nonexistent/dir/x.db"), EIO);

	/* malformed PostgreSQL URL vs. unreachable server */
	CHECK_EQ_INT(db_open(&db, "postgresql://h/db?nosuchoption=1"), EINVAL);
	CHECK_EQ_INT(db_open(&db, "postgres://parley@127.0.0.1:1/x"),
		     ENOTCONN);
	CHECK(db == NULL);
}


/* --- both backends -------------------------------------------------- */

TEST_BOTH(crud)
{
	const char *quoted = "O'Brien \"q\" ?; -- ';\\";
	struct db *db = NULL;
	struct db_res *res = NULL;
	struct db_val v[4];

	CHECK_EQ_INT(db_open(&db, url), 0);

	/* NOTICE on PostgreSQL; must not show up on stderr */
	CHECK_EQ_INT(db_exec(db, NULL, "DROP TABLE IF EXISTS items", NULL, 0),
		     0);

	CHECK_EQ_INT(script(db, "CREATE TABLE items (id {{ID}}, "
			    "name TEXT NOT NULL UNIQUE, qty BIGINT, "
			    "price DOUBLE PRECISION, note TEXT);"), 0);

	v[0] = DBV_TEXT("first");
	v[1] = DBV_INT(INT64_MAX);
	v[2] = DBV_REAL(0.1);
	v[3] = DBV_NULL;
	CHECK_EQ_INT(db_exec(db, &res, "INSERT INTO items (name, qty, price, "
			     "note) VALUES (?, ?, ?, ?) RETURNING id",
			     v, 4), 0);
	CHECK_EQ_INT(db_res_nrows(res), 1);
	CHECK_EQ_INT(db_res_ncols(res), 1);
	CHECK_STR(db_res_colname(res, 0), "id");
	CHECK_EQ_INT(db_res_int(res, 0, 0), 1);
	CHECK_EQ_INT(db_changes(db), 1);
	res = mem_deref(res);

	v[0] = DBV_TEXT(quoted);
	v[1] = DBV_INT(INT64_MIN);
	v[2] = DBV_REAL(-1e300);
	v[3] = DBV_TEXT(NULL);
	CHECK_EQ_INT(db_exec(db, &res, "INSERT INTO items (name, qty, price, "
			     "note) VALUES (?, ?, ?, ?) RETURNING id, name",
			     v, 4), 0);
	CHECK_EQ_INT(db_res_int(res, 0, 0), 2);
	CHECK_STR(db_res_str(res, 0, 1), quoted);
	res = mem_deref(res);

	/* '?' inside a literal, an identifier and a comment is no param */
	v[0] = DBV_INT(7);
	CHECK_EQ_INT(db_exec(db, NULL, "INSERT INTO items (\"name\", qty, "
			     "note) VALUES ('lit''s ?', ? /* ? */, '-- ?') "
			     "-- trailing ?", v, 1), 0);
	CHECK_EQ_INT(db_changes(db), 1);

	v[0] = DBV_TEXT(quoted);
	CHECK_EQ_INT(db_exec(db, &res, "SELECT id, name, qty, price, note "
			     "FROM items WHERE name = ?", v, 1), 0);
	CHECK_EQ_INT(db_res_nrows(res), 1);
	CHECK_EQ_INT(db_res_ncols(res), 5);
	CHECK_STR(db_res_colname(res, 0), "id");
	CHECK_STR(db_res_colname(res, 4), "note");
	CHECK(db_res_colname(res, 5) == NULL);
	CHECK_EQ_INT(db_res_int(res, 0, 0), 2);
	CHECK_STR(db_res_str(res, 0, 1), quoted);
	CHECK(db_res_int(res, 0, 2) == INT64_MIN);
	CHECK(db_res_real(res, 0, 3) == -1e300);
	CHECK(db_res_isnull(res, 0, 4));
	CHECK(db_res_str(res, 0, 4) == NULL);
	CHECK(!db_res_isnull(res, 0, 3));
	/* out of range */
	CHECK(db_res_str(res, 1, 0) == NULL);
	CHECK(db_res_str(res, 0, 9) == NULL);
	CHECK(db_res_isnull(res, 3, 3));
	CHECK_EQ_INT(db_res_int(res, 1, 0), 0);
	CHECK(db_res_real(res, 0, 9) == 0.0);
	res = mem_deref(res);

	CHECK_EQ_INT(db_exec(db, &res, "SELECT id, name, qty, price, note "
			     "FROM items ORDER BY id", NULL, 0), 0);
	CHECK_EQ_INT(db_res_nrows(res), 3);
	CHECK_STR(db_res_str(res, 0, 1), "first");
	CHECK(db_res_int(res, 0, 2) == INT64_MAX);
	CHECK(db_res_real(res, 0, 3) == 0.1);
	CHECK_STR(db_res_str(res, 2, 1), "lit's ?");
	CHECK_EQ_INT(db_res_int(res, 2, 2), 7);
	CHECK_STR(db_res_str(res, 2, 4), "-- ?");
	CHECK(db_res_isnull(res, 2, 3));
	res = mem_deref(res);

	/* zero rows still give a result with columns */
	v[0] = DBV_INT(12345);
	CHECK_EQ_INT(db_exec(db, &res, "SELECT name FROM items WHERE id = ?",
			     v, 1), 0);
	CHECK(res != NULL);
	CHECK_EQ_INT(db_res_nrows(res), 0);
	CHECK_EQ_INT(db_res_ncols(res), 1);
	CHECK_STR(db_res_colname(res, 0), "name");
	res = mem_deref(res);

	/* a statement without result columns */
	CHECK_EQ_INT(db_exec(db, &res, "UPDATE items SET qty = 1", NULL, 0),
		     0);
	CHECK_EQ_INT(db_res_nrows(res), 0);
	CHECK_EQ_INT(db_res_ncols(res), 0);
	res = mem_deref(res);
	CHECK_EQ_INT(db_changes(db), 3);

	/* a SELECT keeps the count of the last change */
	CHECK_EQ_INT(count(db, "items"), 3);
	CHECK_EQ_INT(db_changes(db), 3);

	v[0] = DBV_INT(2);
	CHECK_EQ_INT(db_exec(db, NULL, "DELETE FROM items WHERE id = ?", v, 1),
		     0);
	CHECK_EQ_INT(db_changes(db), 1);
	CHECK_EQ_INT(db_exec(db, NULL, "DELETE FROM items WHERE id = ?", v, 1),
		     0);
	CHECK_EQ_INT(db_changes(db), 0);

	/* params in expressions: PostgreSQL must be told their types */
	v[0] = DBV_REAL(2.5);
	v[1] = DBV_TEXT("x");
	CHECK_EQ_INT(db_exec(db, &res, "SELECT CAST(? AS DOUBLE PRECISION) * 2,"
			     " CAST(? AS TEXT) || 'y'", v, 2), 0);
	CHECK(db_res_real(res, 0, 0) == 5.0);
	CHECK_STR(db_res_str(res, 0, 1), "xy");
	res = mem_deref(res);

	/* wrong number of parameters */
	CHECK_EQ_INT(db_exec(db, NULL, "SELECT ?", NULL, 0), EINVAL);
	CHECK(str_isset(db_errmsg(db)));
	CHECK_EQ_INT(db_exec(db, NULL, "SELECT ?", v, 2), EINVAL);
	CHECK_EQ_INT(db_exec(db, NULL, "SELECT 1", v, 1), EINVAL);

	/* still usable after errors */
	CHECK_EQ_INT(count(db, "items"), 2);

	db = mem_deref(db);
}


TEST_BOTH(errors)
{
	const char *secret = "secret-value-42";
	struct db *db = NULL;
	struct db_val v[2];

	CHECK_EQ_INT(db_open(&db, url), 0);

	CHECK_EQ_INT(script(db,
			    "CREATE TABLE parent (id {{ID}}, "
			    "  email TEXT NOT NULL UNIQUE);"
			    "CREATE TABLE child (id {{ID}}, "
			    "  parent_id BIGINT NOT NULL REFERENCES parent(id),"
			    "  n BIGINT CHECK (n >= 0));"), 0);

	v[0] = DBV_TEXT(secret);
	CHECK_EQ_INT(db_exec(db, NULL, "INSERT INTO parent (email) VALUES (?)",
			     v, 1), 0);

	/* unique violation */
	CHECK_EQ_INT(db_exec(db, NULL, "INSERT INTO parent (email) VALUES (?)",
			     v, 1), EEXIST);
	CHECK(str_isset(db_errmsg(db)));
	CHECK(!strstr(db_errmsg(db), secret));
	CHECK(!strchr(db_errmsg(db), '\n'));

	/* primary key violation */
	v[0] = DBV_INT(1);
	v[1] = DBV_TEXT("other");
	CHECK_EQ_INT(db_exec(db, NULL, "INSERT INTO parent (id, email) "
			     "VALUES (?, ?)", v, 2), EEXIST);

	/* foreign key violation */
	v[0] = DBV_INT(999);
	CHECK_EQ_INT(db_exec(db, NULL, "INSERT INTO child (parent_id) "
			     "VALUES (?)", v, 1), EINVAL);
	CHECK(!strstr(db_errmsg(db), "999"));

	/* not-null and check violations */
	CHECK_EQ_INT(db_exec(db, NULL, "INSERT INTO child (parent_id) "
			     "VALUES (NULL)", NULL, 0), EINVAL);
	v[0] = DBV_INT(1);
	v[1] = DBV_INT(-5);
	CHECK_EQ_INT(db_exec(db, NULL, "INSERT INTO child (parent_id, n) "
			     "VALUES (?, ?)", v, 2), EINVAL);

	/* bad SQL, unknown table, two statements */
	CHECK_EQ_INT(db_exec(db, NULL, "SELEKT 1", NULL, 0), EINVAL);
	CHECK(str_isset(db_errmsg(db)));
	CHECK_EQ_INT(db_exec(db, NULL, "SELECT * FROM nosuch", NULL, 0),
		     EINVAL);
	CHECK_EQ_INT(db_exec(db, NULL, "SELECT 1; SELECT 2", NULL, 0), EINVAL);
	CHECK_EQ_INT(db_exec_script(db, "SELECT 1; SELEKT 2"), EINVAL);

	/* a value PostgreSQL rejects must not be echoed in the message */
	if (db_kind(db) == DB_PG) {
		v[0] = DBV_TEXT(secret);
		CHECK_EQ_INT(db_exec(db, NULL, "SELECT CAST(? AS BIGINT)",
				     v, 1), EINVAL);
		CHECK(!strstr(db_errmsg(db), secret));
		CHECK(strstr(db_errmsg(db), "22P02"));
	}

	/* trailing semicolons and comments are fine */
	CHECK_EQ_INT(db_exec(db, NULL, "SELECT 1; -- done", NULL, 0), 0);

	CHECK_EQ_INT(count(db, "parent"), 1);
	CHECK_EQ_INT(count(db, "child"), 0);

	db = mem_deref(db);
}


TEST_BOTH(transactions)
{
	struct db *db = NULL;
	struct db_val v[1];

	CHECK_EQ_INT(db_open(&db, url), 0);
	CHECK_EQ_INT(script(db, "CREATE TABLE tx (id {{ID}}, "
			    "name TEXT UNIQUE)"), 0);

	v[0] = DBV_TEXT("a");
	CHECK_EQ_INT(db_begin(db), 0);
	CHECK_EQ_INT(db_exec(db, NULL, "INSERT INTO tx (name) VALUES (?)",
			     v, 1), 0);
	CHECK_EQ_INT(count(db, "tx"), 1);
	CHECK_EQ_INT(db_rollback(db), 0);
	CHECK_EQ_INT(count(db, "tx"), 0);

	CHECK_EQ_INT(db_begin(db), 0);
	CHECK_EQ_INT(db_exec(db, NULL, "INSERT INTO tx (name) VALUES (?)",
			     v, 1), 0);
	CHECK_EQ_INT(db_commit(db), 0);
	CHECK_EQ_INT(count(db, "tx"), 1);

	/* a failed statement inside; rollback keeps its message */
	CHECK_EQ_INT(db_begin(db), 0);
	v[0] = DBV_TEXT("b");
	CHECK_EQ_INT(db_exec(db, NULL, "INSERT INTO tx (name) VALUES (?)",
			     v, 1), 0);
	v[0] = DBV_TEXT("a");
	CHECK_EQ_INT(db_exec(db, NULL, "INSERT INTO tx (name) VALUES (?)",
			     v, 1), EEXIST);
	CHECK_EQ_INT(db_rollback(db), 0);
	CHECK(str_isset(db_errmsg(db)));
	CHECK_EQ_INT(count(db, "tx"), 1);

	/* a script */
	CHECK_EQ_INT(db_exec_script(db,
		"INSERT INTO tx (name) VALUES ('x;y'); -- c;\n"
		"/* ; */ INSERT INTO tx (name) VALUES ('z');"), 0);
	CHECK_EQ_INT(count(db, "tx"), 3);

	/* nested BEGIN: an error on SQLite, a warning on PostgreSQL */
	CHECK_EQ_INT(db_begin(db), 0);
	CHECK(db_begin(db) != 0 || db_kind(db) == DB_PG);
	CHECK_EQ_INT(db_rollback(db), 0);

	db = mem_deref(db);
}


/* --- migrations ---------------------------------------------------- */

static const struct migration migs[] = {
	{1, "items",
	 "CREATE TABLE m_items (id {{ID}}, name TEXT NOT NULL);\n"
	 "-- a comment; with a semicolon\n"
	 "CREATE INDEX m_items_name ON m_items (name);"},
	{2, "tags",
	 "CREATE TABLE m_tags (id {{ID}}, "
	 "  item_id BIGINT NOT NULL REFERENCES m_items(id), tag TEXT);"
	 "INSERT INTO m_items (name) VALUES ('seed');"},
	{3, "more",
	 "ALTER TABLE m_items ADD COLUMN qty BIGINT NOT NULL DEFAULT 0;"},
};


TEST_BOTH(migrate)
{
	static const struct migration bad[] = {
		{1, "items", "unused"},
		{2, "tags", "unused"},
		{3, "more", "unused"},
		{4, "broken", "CREATE TABLE m_half (x BIGINT); SELEKT 1"},
	};
	static const struct migration unordered[] = {
		{2, "a", ""},
		{1, "b", ""},
	};
	struct db *db = NULL;
	struct db_res *res = NULL;
	int applied = -1, version = -1;

	CHECK_EQ_INT(db_open(&db, url), 0);

	CHECK_EQ_INT(migrate_version(db, &version), 0);
	CHECK_EQ_INT(version, 0);

	CHECK_EQ_INT(migrate_run(db, migs, 2, &applied), 0);
	CHECK_EQ_INT(applied, 2);
	CHECK_EQ_INT(migrate_version(db, &version), 0);
	CHECK_EQ_INT(version, 2);
	CHECK_EQ_INT(count(db, "m_items"), 1);
	CHECK_EQ_INT(count(db, "m_tags"), 0);

	CHECK_EQ_INT(db_exec(db, &res, "SELECT version, name, applied_at "
			     "FROM schema_migrations ORDER BY version",
			     NULL, 0), 0);
	CHECK_EQ_INT(db_res_nrows(res), 2);
	CHECK_STR(db_res_str(res, 1, 1), "tags");
	CHECK(db_res_int(res, 1, 2) > 1600000000000LL);
	res = mem_deref(res);

	/* idempotent */
	CHECK_EQ_INT(migrate_run(db, migs, 2, &applied), 0);
	CHECK_EQ_INT(applied, 0);
	CHECK_EQ_INT(count(db, "m_items"), 1);

	/* one more */
	CHECK_EQ_INT(migrate_run(db, migs, 3, &applied), 0);
	CHECK_EQ_INT(applied, 1);
	CHECK_EQ_INT(db_exec(db, NULL, "INSERT INTO m_items (name, qty) "
			     "VALUES ('x', 2)", NULL, 0), 0);

	/* the database is newer than the list */
	CHECK_EQ_INT(migrate_run(db, migs, 2, &applied), EINVAL);
	CHECK_EQ_INT(applied, 0);
	CHECK_EQ_INT(migrate_run(db, migs, 0, NULL), EINVAL);

	/* a failing migration is rolled back entirely */
	CHECK(migrate_run(db, bad, 4, &applied) != 0);
	CHECK_EQ_INT(applied, 0);
	CHECK(str_isset(db_errmsg(db)));
	CHECK_EQ_INT(migrate_version(db, &version), 0);
	CHECK_EQ_INT(version, 3);
	CHECK_EQ_INT(db_exec(db, NULL, "SELECT * FROM m_half", NULL, 0),
		     EINVAL);

	/* bad lists */
	CHECK_EQ_INT(migrate_run(db, unordered, 2, NULL), EINVAL);
	CHECK_EQ_INT(migrate_run(NULL, migs, 2, NULL), EINVAL);

	db = mem_deref(db);
}


struct racer {
	const char *url;
	pthread_barrier_t *barrier;
	int err;
	int applied;
};


static void *race(void *arg)
{
	struct racer *r = arg;
	struct db *db = NULL;

	r->err = db_open(&db, r->url);
	pthread_barrier_wait(r->barrier);
	if (!r->err)
		r->err = migrate_run(db, migs, ARRAY_SIZE(migs), &r->applied);

	mem_deref(db);

	return NULL;
}


TEST_BOTH(migrate_concurrent)
{
	enum { N = 4 };
	pthread_barrier_t barrier;
	struct racer racers[N];
	pthread_t tids[N];
	struct db *db = NULL;
	int i, total = 0, version = 0;

	/* schema_migrations exists already, so the racers all read "nothing
	 * applied" at about the same time and then queue for the lock */
	CHECK_EQ_INT(db_open(&db, url), 0);
	CHECK_EQ_INT(migrate_run(db, migs, 0, NULL), 0);
	db = mem_deref(db);

	CHECK(pthread_barrier_init(&barrier, NULL, N) == 0);

	for (i = 0; i < N; i++) {
		racers[i] = (struct racer){url, &barrier, -1, 0};
		CHECK(pthread_create(&tids[i], NULL, race, &racers[i]) == 0);
	}

	for (i = 0; i < N; i++)
		pthread_join(tids[i], NULL);

	pthread_barrier_destroy(&barrier);

	for (i = 0; i < N; i++) {
		CHECK_EQ_INT(racers[i].err, 0);
		total += racers[i].applied;
	}

	CHECK_EQ_INT(total, ARRAY_SIZE(migs));

	CHECK_EQ_INT(db_open(&db, url), 0);
	CHECK_EQ_INT(migrate_version(db, &version), 0);
	CHECK_EQ_INT(version, 3);
	CHECK_EQ_INT(count(db, "m_items"), 1);
	CHECK_EQ_INT(count(db, "schema_migrations"), 3);
	db = mem_deref(db);
}


/* --- PostgreSQL only ----------------------------------------------- */

TEST(pg_reconnect)
{
	const char *url = pg_url(failed_);
	struct db *db = NULL, *admin = NULL;
	struct db_res *res = NULL;
	struct db_val v[1];

	if (!url)
		return;

	CHECK_EQ_INT(db_open(&db, url), 0);
	CHECK_EQ_INT(db_open(&admin, url), 0);

	CHECK_EQ_INT(db_exec(db, &res, "SELECT pg_backend_pid()", NULL, 0), 0);
	v[0] = DBV_INT(db_res_int(res, 0, 0));
	res = mem_deref(res);

	/* wait (up to 5 s) until the backend is gone */
	CHECK_EQ_INT(db_exec(admin, &res, "SELECT pg_terminate_backend(?, "
			     "5000)", v, 1), 0);
	CHECK_STR(db_res_str(res, 0, 0), "t");
	res = mem_deref(res);

	CHECK_EQ_INT(db_exec(db, &res, "SELECT 1", NULL, 0), ENOTCONN);
	CHECK(res == NULL);
	CHECK(str_isset(db_errmsg(db)));

	/* the next call resets the connection */
	CHECK_EQ_INT(db_exec(db, &res, "SELECT 2", NULL, 0), 0);
	CHECK_EQ_INT(db_res_int(res, 0, 0), 2);
	res = mem_deref(res);

	/* the same for a script */
	CHECK_EQ_INT(db_exec(db, &res, "SELECT pg_backend_pid()", NULL, 0), 0);
	v[0] = DBV_INT(db_res_int(res, 0, 0));
	res = mem_deref(res);
	CHECK_EQ_INT(db_exec(admin, NULL, "SELECT pg_terminate_backend(?, "
			     "5000)", v, 1), 0);
	CHECK_EQ_INT(db_exec_script(db, "SELECT 1; SELECT 2"), ENOTCONN);
	CHECK_EQ_INT(db_exec_script(db, "SELECT 1; SELECT 2"), 0);

	db = mem_deref(db);
	admin = mem_deref(admin);
}


TEST_MAIN()
