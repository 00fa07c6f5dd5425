/* server.c - start-up, the loop, and graceful shutdown.
 *
 * On SIGTERM or SIGINT the HTTP listener closes at once, requests in
 * progress are allowed to finish (up to shutdown.grace seconds), then the
 * loop ends and everything is released, so sanitizer builds can check
 * for leaks on every test run.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <re.h>
#include "api/api.h"
#include "config/config.h"
#include "core/log.h"
#include "core/pool.h"
#include "server/server.h"
#include "store/db.h"
#include "store/migrate.h"
#include "store/worker.h"

struct server {
	struct pool *pool;
	struct api *api;
	struct tmr tmr_drain;
	uint64_t drain_deadline;
	bool stopping;
};

/* libre's signal handler takes no argument */
static struct server *the_server;

int server_migrate(const struct config *cfg, int *appliedp)
{
	struct db *db = NULL;
	int err;

	err = db_open(&db, cfg->db_url);
	if (err) {
		log_error("cannot open the database: %s", strerror(err));
		return err;
	}
	err = migrate_run(db, schema_migrations, schema_nmigrations,
			  appliedp);
	if (err)
		log_error("migration failed: %s", db_errmsg(db));
	mem_deref(db);
	return err;
}

static void drain_h(void *arg)
{
	struct server *srv = arg;

	if (api_drain(srv->api) || tmr_jiffies() >= srv->drain_deadline) {
		if (!api_drain(srv->api))
			log_warn("shutdown: grace period over with requests "
				 "in progress");
		re_cancel();
		return;
	}
	tmr_start(&srv->tmr_drain, 20, drain_h, srv);
}

static void signal_h(int sig)
{
	struct server *srv = the_server;

	if (!srv)
		return;
	if (srv->stopping) {
		log_warn("second signal %d: stopping now", sig);
		re_cancel();
		return;
	}
	srv->stopping = true;
	log_info("signal %d: shutting down", sig);
	srv->drain_deadline = tmr_jiffies() +
		(uint64_t)api_config(srv->api)->shutdown_grace * 1000;
	tmr_start(&srv->tmr_drain, 0, drain_h, srv);
}

int server_run(const struct config *cfg)
{
	struct server srv;
	struct sa laddr;
	enum log_level lvl;
	int applied = 0, err;

	memset(&srv, 0, sizeof(srv));
	if (!log_level_parse(&lvl, cfg->log_level))
		log_set_level(lvl);

	err = server_migrate(cfg, &applied);
	if (err)
		return 1;
	if (applied)
		log_info("store: applied %d migration(s)", applied);

	err = pool_alloc(&srv.pool, cfg->workers, store_worker_init,
			 store_worker_close, (void *)cfg->db_url);
	if (!err)
		err = api_alloc(&srv.api, cfg, srv.pool);
	if (!err)
		err = api_listen(srv.api);
	if (err) {
		log_error("cannot serve HTTP on %s: %s", cfg->http_listen,
			  strerror(err));
		mem_deref(srv.api);
		mem_deref(srv.pool);
		return 1;
	}
	(void)api_local(srv.api, &laddr);
	log_info("parley %s: HTTP on http://%J, store %s", PARLEY_VERSION,
		 &laddr, !strncmp(cfg->db_url, "postgres", 8) ?
		 "postgresql" : cfg->db_url);

	the_server = &srv;
	err = re_main(signal_h);
	the_server = NULL;

	tmr_cancel(&srv.tmr_drain);
	/* wait for workers still running so their done handlers are not
	 * lost; the listener is already closed */
	mem_deref(srv.api);
	mem_deref(srv.pool);
	log_info("stopped");
	return err ? 1 : 0;
}
