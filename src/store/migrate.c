/* migrate.c - versioned schema migrations.
 *
 * Several processes may start at once against the same database (nodes
 * sharing a PostgreSQL server, or a restart overlapping a stop on
 * SQLite), so applying a migration must be decided inside the
 * transaction that applies it: on PostgreSQL a session advisory lock
 * serialises whole runs, on SQLite BEGIN IMMEDIATE serialises each
 * migration and the version is re-checked once the write lock is held.
 */
#include <errno.h>
#include <time.h>
#include <re.h>
#include "store/db.h"
#include "store/migrate.h"

/* pg_advisory_lock() key of migration runs: "parley" in ASCII */
#define MIGRATE_LOCK_KEY INT64_C(0x7061726c6579)


static int64_t now_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts))
		return 0;

	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}


static int table_exists(struct db *db, bool *existsp)
{
	struct db_res *res = NULL;
	int err;

	err = db_exec(db, &res, db_kind(db) == DB_PG ?
		      "SELECT 1 WHERE to_regclass('schema_migrations') "
		      "IS NOT NULL" :
		      "SELECT 1 FROM sqlite_master WHERE type = 'table' "
		      "AND name = 'schema_migrations'", NULL, 0);
	if (err)
		goto out;

	*existsp = db_res_nrows(res) > 0;

 out:
	mem_deref(res);

	return err;
}


int migrate_version(struct db *db, int *versionp)
{
	struct db_res *res = NULL;
	bool exists = false;
	int err;

	if (!db || !versionp)
		return EINVAL;

	err = table_exists(db, &exists);
	if (err)
		goto out;

	if (!exists) {
		*versionp = 0;
		goto out;
	}

	err = db_exec(db, &res, "SELECT COALESCE(MAX(version), 0) "
		      "FROM schema_migrations", NULL, 0);
	if (err)
		goto out;

	*versionp = (int)db_res_int(res, 0, 0);

 out:
	mem_deref(res);

	return err;
}


static bool is_applied(const struct db_res *res, int version)
{
	size_t i;

	for (i = 0; i < db_res_nrows(res); i++) {
		if (db_res_int(res, i, 0) == version)
			return true;
	}

	return false;
}


/* Apply m in its own transaction unless someone else just did. */
static int apply(struct db *db, const struct migration *m, bool *appliedp)
{
	struct db_res *res = NULL;
	struct db_val v[3];
	bool begun = false;
	char *sql = NULL;
	int err;

	*appliedp = false;

	err = db_dialect(&sql, db_kind(db), m->sql);
	if (err)
		goto out;

	err = db_begin(db);
	if (err)
		goto out;

	begun = true;

	v[0] = DBV_INT(m->version);
	v[1] = DBV_TEXT(m->name ? m->name : "");
	v[2] = DBV_INT(now_ms());

	err = db_exec(db, &res, "SELECT 1 FROM schema_migrations "
		      "WHERE version = ?", v, 1);
	if (err)
		goto out;

	if (db_res_nrows(res) == 0) {

		err = db_exec_script(db, sql);
		if (err)
			goto out;

		err = db_exec(db, NULL, "INSERT INTO schema_migrations "
			      "(version, name, applied_at) VALUES (?, ?, ?)",
			      v, 3);
		if (err)
			goto out;

		*appliedp = true;
	}

	err = db_commit(db);
	if (err)
		goto out;

	begun = false;

 out:
	if (err) {
		*appliedp = false;
		if (begun)
			(void)db_rollback(db);
	}

	mem_deref(res);
	mem_deref(sql);

	return err;
}


static bool list_valid(const struct migration *list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (list[i].version < 1 || !list[i].sql)
			return false;

		if (i && list[i].version <= list[i - 1].version)
			return false;
	}

	return true;
}


int migrate_run(struct db *db, const struct migration *list, size_t n,
		int *appliedp)
{
	const struct db_val key = DBV_INT(MIGRATE_LOCK_KEY);
	struct db_res *res = NULL;
	bool locked = false;
	int applied = 0, err;
	size_t i;

	if (!db || (n && !list) || !list_valid(list, n))
		return EINVAL;

	if (db_kind(db) == DB_PG) {
		err = db_exec(db, NULL, "SELECT pg_advisory_lock(?)", &key, 1);
		if (err)
			goto out;

		locked = true;
	}

	err = db_exec(db, NULL, "CREATE TABLE IF NOT EXISTS schema_migrations ("
		      "version BIGINT PRIMARY KEY, "
		      "name TEXT NOT NULL, "
		      "applied_at BIGINT NOT NULL)", NULL, 0);
	if (err)
		goto out;

	err = db_exec(db, &res, "SELECT version FROM schema_migrations "
		      "ORDER BY version", NULL, 0);
	if (err)
		goto out;

	/* a newer Parley migrated this database: do not touch it */
	if (db_res_nrows(res) &&
	    db_res_int(res, db_res_nrows(res) - 1, 0) >
	    (n ? list[n - 1].version : 0)) {
		err = EINVAL;
		goto out;
	}

	for (i = 0; i < n; i++) {
		bool done;

		if (is_applied(res, list[i].version))
			continue;

		err = apply(db, &list[i], &done);
		if (err)
			goto out;

		if (done)
			++applied;
	}

 out:
	if (locked)
		(void)db_exec(db, NULL, "SELECT pg_advisory_unlock(?)", &key, 1);

	mem_deref(res);

	if (appliedp)
		*appliedp = applied;

	return err;
}
