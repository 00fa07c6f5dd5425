/* server.c - start-up, the loop, and graceful shutdown.
 *
 * On SIGTERM or SIGINT the HTTP listener closes at once, requests in
 * progress are allowed to finish (up to shutdown.grace seconds), then the
 * loop ends and everything is released, so sanitizer builds can check
 * for leaks on every test run.
 */
#include <errno.h>
#include <signal.h>
#include <sys/resource.h>
#include <string.h>
#include <re.h>
#include "agent/env.h"
#include "agent/provider.h"
#include "api/api.h"
#include "config/config.h"
#include "core/log.h"
#include "core/pool.h"
#include "dialer/dialer.h"
#include "events/events.h"
#include "media/media.h"
#include "tel/tel.h"
#include "server/server.h"
#include "store/db.h"
#include "store/migrate.h"
#include "store/worker.h"

struct server {
	struct pool *pool;
	struct agent_env *env;
	struct media *media;
	struct tel *tel;
	struct api *api;
	struct events *events;  /* webhook deliveries */
	struct dialer *dialer;  /* campaign calls (dialer.enabled) */
	bool calls_hung_up;
	struct tmr tmr_drain;
	uint64_t drain_deadline;
	bool stopping;
	bool hurry;            /* a second signal: no grace left */
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

/* first calls finish (until the grace period ends, then they are hung
 * up), then their store writes and the HTTP requests in progress */
static void drain_h(void *arg)
{
	struct server *srv = arg;
	bool late = tmr_jiffies() >= srv->drain_deadline;

	if (!srv->calls_hung_up && (late || !tel_active(srv->tel))) {
		if (tel_active(srv->tel))
			log_warn("shutdown: grace period over, hanging up "
				 "%u call(s)", tel_active(srv->tel));
		tel_shutdown(srv->tel, true);
		srv->calls_hung_up = true;
		srv->drain_deadline = tmr_jiffies() + 5000;
	}
	/* the calls' last events are queued: deliveries in flight finish,
	 * the rest wait in the outbox for the next start */
	if (srv->calls_hung_up && tel_idle(srv->tel))
		events_stop(srv->events);
	/* speech work of the last calls (syntheses, MP3s) ends too: its
	 * done handlers release it on the loop */
	if (srv->calls_hung_up && tel_idle(srv->tel) &&
	    events_idle(srv->events) && !agent_env_pending(srv->env) &&
	    api_drain(srv->api)) {
		re_cancel();
		return;
	}
	if (srv->calls_hung_up && tmr_jiffies() >= srv->drain_deadline) {
		log_warn("shutdown: work still in progress; stopping anyway");
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
	/* a second signal ends the grace period: calls are hung up now and
	 * their rows still written; only a third one stops at once (which
	 * may lose store writes in progress) */
	if (srv->stopping && !srv->hurry) {
		log_warn("second signal %d: hanging up %u call(s) now", sig,
			 tel_active(srv->tel));
		srv->hurry = true;
		if (!srv->calls_hung_up)
			srv->drain_deadline = tmr_jiffies();
		tmr_start(&srv->tmr_drain, 0, drain_h, srv);
		return;
	}
	if (srv->stopping) {
		log_warn("third signal %d: stopping now", sig);
		re_cancel();
		return;
	}
	srv->stopping = true;
	log_info("signal %d: shutting down (%u call(s) in progress)", sig,
		 tel_active(srv->tel));
	dialer_shutdown(srv->dialer);   /* claims nothing more */
	tel_shutdown(srv->tel, false);
	(void)api_drain(srv->api);   /* stops taking HTTP connections */
	srv->drain_deadline = tmr_jiffies() +
		(uint64_t)api_config(srv->api)->shutdown_grace * 1000;
	tmr_start(&srv->tmr_drain, 0, drain_h, srv);
}

/* host part of "ADDRESS:PORT" ("[v6]:port" too) */
static void host_of(char *out, size_t sz, const char *hostport)
{
	struct sa sa;

	out[0] = '\0';
	if (*hostport && !sa_decode(&sa, hostport, strlen(hostport)))
		(void)re_snprintf(out, sz, "%j", &sa);
}

static int start_telephony(struct server *srv, const struct config *cfg)
{
	char local[64], public[64];
	struct media_cfg mc;
	int err;

	if (cfg->rtp_port_min >= cfg->rtp_port_max) {
		log_error("rtp.port_min must be below rtp.port_max");
		return EINVAL;
	}
	if (cfg->sip_tls_listen[0] && !cfg->sip_tls_cert[0]) {
		log_error("sip.tls_listen needs sip.tls_cert (a PEM file)");
		return EINVAL;
	}
	host_of(local, sizeof(local), cfg->sip_listen);
	host_of(public, sizeof(public), cfg->public_addr);
	memset(&mc, 0, sizeof(mc));
	mc.local_ip = local;
	mc.public_ip = public[0] ? public : NULL;
	mc.port_min = (uint16_t)cfg->rtp_port_min;
	mc.port_max = (uint16_t)cfg->rtp_port_max;

	err = media_alloc(&srv->media, &mc);
	if (!err)
		err = tel_alloc(&srv->tel, cfg, srv->pool, srv->media,
				api_metrics(srv->api), api_rtcfg(srv->api),
				srv->env);
	if (err) {
		log_error("cannot start SIP on %s: %m", cfg->sip_listen, err);
		return err;
	}
	api_set_tel(srv->api, srv->tel);
	log_info("SIP on %s (UDP, TCP)%s%s", cfg->sip_listen,
		 cfg->sip_tls_listen[0] ? ", TLS on " : "",
		 cfg->sip_tls_listen);
	return 0;
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

	/* libre polls at most FD_SETSIZE (1024) descriptors unless sized
	 * before the first socket; a call holds 3 (RTP, RTCP, recording),
	 * so the default stopped calls at about 330 (make bench found it) */
	{
		struct rlimit rl;
		if (!getrlimit(RLIMIT_NOFILE, &rl)) {
			if (rl.rlim_cur < rl.rlim_max) {
				rl.rlim_cur = rl.rlim_max;
				(void)setrlimit(RLIMIT_NOFILE, &rl);
				(void)getrlimit(RLIMIT_NOFILE, &rl);
			}
			(void)fd_setsize((int)MIN(rl.rlim_cur, 65536));
		}
	}

	err = server_migrate(cfg, &applied);
	if (err)
		return 1;
	if (applied)
		log_info("store: applied %d migration(s)", applied);

	err = pool_alloc(&srv.pool, cfg->workers, store_worker_init,
			 store_worker_close, (void *)cfg->db_url);
	if (!err)
		err = agent_env_alloc(&srv.env, cfg->speech_workers,
				      cfg->prompt_cache, cfg->provider_timeout);
	if (!err)
		err = api_alloc(&srv.api, cfg, srv.pool);
	if (!err)
		api_set_env(srv.api, srv.env);
	if (!err)
		err = api_listen(srv.api);
	if (err) {
		log_error("cannot serve HTTP on %s: %s", cfg->http_listen,
			  strerror(err));
		goto out;
	}
	err = start_telephony(&srv, cfg);
	if (!err)
		err = events_alloc(&srv.events, cfg, srv.pool, srv.env->http);
	if (!err && cfg->dialer_enabled)
		err = dialer_alloc(&srv.dialer, cfg, srv.pool, srv.tel,
				   api_rtcfg(srv.api));
	if (err)
		goto out;
	(void)api_local(srv.api, &laddr);
	log_info("parley %s: HTTP on http://%J, store %s", PARLEY_VERSION,
		 &laddr, !strncmp(cfg->db_url, "postgres", 8) ?
		 "postgresql" : cfg->db_url);

	the_server = &srv;
	err = re_main(signal_h);
	the_server = NULL;

	tmr_cancel(&srv.tmr_drain);
	log_info("stopped");
 out:
	mem_deref(srv.dialer);
	mem_deref(srv.events);
	mem_deref(srv.api);
	mem_deref(srv.tel);
	mem_deref(srv.media);
	mem_deref(srv.env);
	mem_deref(srv.pool);
	return err ? 1 : 0;
}
