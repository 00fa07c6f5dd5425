/* migrate.h - versioned schema migrations, applied in order, each once.
 *
 * Applied versions are kept in table schema_migrations(version BIGINT
 * PRIMARY KEY, name TEXT, applied_at BIGINT ms). Each migration runs in
 * its own transaction after db_dialect() translation. On PostgreSQL the
 * run holds an advisory lock so several nodes starting at once apply each
 * migration exactly once.
 */
#ifndef PARLEY_MIGRATE_H
#define PARLEY_MIGRATE_H

#include <stddef.h>

struct db;

struct migration {
	int version;          /* strictly increasing, starting at 1 */
	const char *name;     /* short description */
	const char *sql;      /* ';'-separated statements with dialect markers */
};

/** The migrations Parley ships (src/store/schema.c). */
extern const struct migration schema_migrations[];
extern const size_t schema_nmigrations;

/**
 * Apply every migration in list[0..n) not yet applied. *appliedp (may be
 * NULL) gets how many were applied now. Fails with EINVAL if the database
 * has a version newer than the list knows (a newer Parley migrated it).
 */
int migrate_run(struct db *db, const struct migration *list, size_t n,
		int *appliedp);

/** Highest applied version, 0 for an empty database. */
int migrate_version(struct db *db, int *versionp);

#endif
