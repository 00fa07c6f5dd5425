/* worker.c - see worker.h. */
#include <errno.h>
#include <string.h>
#include <re.h>
#include "core/log.h"
#include "store/db.h"
#include "store/worker.h"

struct store_worker {
	const char *url;
	struct db *db;
};

int store_worker_init(void **ctxp, void *url)
{
	struct store_worker *w = mem_zalloc(sizeof(*w), NULL);

	if (!w)
		return ENOMEM;
	w->url = url;
	*ctxp = w;
	return 0;
}

void store_worker_close(void *ctx, void *url)
{
	struct store_worker *w = ctx;
	(void)url;

	if (!w)
		return;
	mem_deref(w->db);
	mem_deref(w);
}

int store_worker_db(void *ctx, struct db **dbp)
{
	struct store_worker *w = ctx;
	int err;

	if (!w)
		return ENOTCONN;
	if (!w->db) {
		err = db_open(&w->db, w->url);
		if (err) {
			log_warn("store: cannot connect: %s", strerror(err));
			return ENOTCONN;
		}
	}
	*dbp = w->db;
	return 0;
}

void store_worker_reset(void *ctx)
{
	struct store_worker *w = ctx;

	if (w)
		w->db = mem_deref(w->db);
}
