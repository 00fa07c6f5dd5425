/* Every resource's field table must match its table's columns: the
 * generic CRUD maps fields to columns by name. */
#include "test.h"
#include <unistd.h>
#include "api/resource.h"
#include "api/schema.h"
#include "store/db.h"
#include "store/migrate.h"

static const struct resource *const all[] = {
	&res_agents, &res_trunks, &res_numbers, &res_campaigns, &res_contacts,
	&res_dnc, &res_webhooks, &res_calls, &res_call_tasks, &res_api_keys,
	&res_deliveries,
};

TEST(fields_are_columns)
{
	char path[64], url[80];
	struct db *db = NULL;

	snprintf(path, sizeof(path), "/tmp/parley-res-%d.db", (int)getpid());
	snprintf(url, sizeof(url), "sqlite:%s", path);
	CHECK_EQ_INT(db_open(&db, url), 0);
	CHECK_EQ_INT(migrate_run(db, schema_migrations, schema_nmigrations,
				 NULL), 0);
	for (size_t i = 0; i < sizeof(all) / sizeof(*all); i++) {
		char *cols = NULL, *sql = NULL;
		struct db_res *rows = NULL;
		int err;

		CHECK_EQ_INT(res_columns(&cols, all[i]), 0);
		re_sdprintf(&sql, "SELECT %s FROM %s LIMIT 0", cols,
			    all[i]->table);
		err = db_exec(db, &rows, sql, NULL, 0);
		if (err)
			fprintf(stderr, "%s: %s\n", all[i]->table,
				db_errmsg(db));
		mem_deref(rows);
		mem_deref(sql);
		mem_deref(cols);
		CHECK_EQ_INT(err, 0);
	}
	mem_deref(db);
	unlink(path);
}

TEST(secret_fields_are_strings)
{
	for (size_t i = 0; i < sizeof(all) / sizeof(*all); i++)
		for (const struct field *f = all[i]->fields; f->name; f++)
			CHECK(!(f->flags & FF_SECRET) || f->type == FT_STRING);
}

TEST_MAIN()
