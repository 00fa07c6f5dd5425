/* api.c - request life cycle: route on the loop, run on a worker with the
 * worker's own store connection, answer on the loop.
 *
 * Every request passes the same gates in the same order: route and
 * method (404/405), API key (401), body media type and JSON syntax
 * (415/400), then the handler. Errors always use one JSON shape.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <re.h>
#include "agent/rtcfg.h"
#include "api/api.h"
#include "api/keys.h"
#include "api/handlers.h"
#include "api/resource.h"
#include "api/schema.h"
#include "config/config.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/pool.h"
#include "core/util.h"
#include "http/httpd.h"
#include "json/json.h"
#include "store/db.h"
#include "store/worker.h"

struct authent {
	struct le le;
	char hash[65];
	int64_t tenant_id, key_id, expires_ms;
};

struct api {
	const struct config *cfg;
	struct httpd *httpd;
	struct pool *pool;
	struct metrics *metrics;
	struct rtcfg_cache *rtcfg;
	struct tel *tel;             /* NULL without telephony */
	struct agent_env *env;       /* voice agent providers */
	pthread_mutex_t auth_mtx;
	struct list authl;           /* LOCK: auth_mtx; small */
	unsigned inflight;           /* loop thread only */
	uint64_t started;
};

static void api_destructor(void *data)
{
	struct api *api = data;

	mem_deref(api->httpd);
	mem_deref(api->pool);
	mem_deref(api->rtcfg);
	mem_deref(api->metrics);
	list_flush(&api->authl);
	pthread_mutex_destroy(&api->auth_mtx);
}

/* ---- responses (worker side) ---- */

int api_reply_json(struct areq *r, uint16_t status, const struct odict *o)
{
	r->resp = mem_deref(r->resp);
	r->resp = mbuf_alloc(512);
	if (!r->resp)
		return ENOMEM;
	r->status = status;
	r->ctype  = "application/json";
	return mbuf_printf(r->resp, "%H", json_print, o);
}

int api_reply_text(struct areq *r, uint16_t status, const char *ctype,
		   const char *fmt, ...)
{
	va_list ap;
	int err;

	r->resp = mem_deref(r->resp);
	r->resp = mbuf_alloc(1024);
	if (!r->resp)
		return ENOMEM;
	r->status = status;
	r->ctype  = ctype;
	va_start(ap, fmt);
	err = mbuf_vprintf(r->resp, fmt, ap);
	va_end(ap);
	return err;
}

static int error_body(struct areq *r, uint16_t status, const char *code,
		      const char *field, const char *msg)
{
	if (field)
		return api_reply_text(r, status, "application/json",
				      "{\"error\":{\"code\":%H,\"message\":%H,"
				      "\"field\":%H}}", json_print_str, code,
				      json_print_str, msg, json_print_str,
				      field);
	return api_reply_text(r, status, "application/json",
			      "{\"error\":{\"code\":%H,\"message\":%H}}",
			      json_print_str, code, json_print_str, msg);
}

int api_error(struct areq *r, uint16_t status, const char *code,
	      const char *field, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	(void)re_vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	(void)error_body(r, status, code, field, msg);
	return EPROTO;
}

int api_error_verr(struct areq *r, const struct verr *ve)
{
	(void)error_body(r, 400, ve->code, ve->field[0] ? ve->field : NULL,
			 ve->msg);
	return EPROTO;
}

int api_error_db(struct areq *r, int err, const char *what)
{
	metrics_inc(r->api->metrics, M_DB_ERRORS);
	switch (err) {
	case EEXIST:
		return api_error(r, 409, "conflict", NULL,
				 "%s already exists", what);
	case ENOTCONN:
	case EBUSY:
		log_warn("store unavailable (%s): %s", what,
			 r->db ? db_errmsg(r->db) : strerror(err));
		return api_error(r, 503, "store_unavailable", NULL,
				 "the database cannot be reached; retry "
				 "later");
	default:
		log_error("store error (%s): %s", what,
			  r->db ? db_errmsg(r->db) : strerror(err));
		return api_error(r, 500, "internal", NULL,
				 "internal error while handling %s", what);
	}
}

/* ---- query strings ---- */

static int hexval(char c)
{
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	return -1;
}

static void url_decode(char *dst, size_t sz, const char *s, size_t n)
{
	size_t o = 0;

	for (size_t i = 0; i < n && o + 1 < sz; i++) {
		if (s[i] == '+') {
			dst[o++] = ' ';
		}
		else if (s[i] == '%' && i + 2 < n &&
			 hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
			dst[o++] = (char)(hexval(s[i + 1]) * 16 +
					  hexval(s[i + 2]));
			i += 2;
		}
		else {
			dst[o++] = s[i];
		}
	}
	dst[o] = '\0';
}

/* calls h for each name=value pair; stops when h returns true */
static const char *query_each(const char *q, bool (*h)(const char *name,
		size_t nlen, const char *val, size_t vlen, void *arg),
		void *arg)
{
	while (q && *q) {
		const char *amp = strchr(q, '&');
		size_t len = amp ? (size_t)(amp - q) : strlen(q);
		const char *eq = memchr(q, '=', len);
		size_t nlen = eq ? (size_t)(eq - q) : len;

		if (len && h(q, nlen, eq ? eq + 1 : q + len,
			     eq ? len - nlen - 1 : 0, arg))
			return q;
		q = amp ? amp + 1 : NULL;
	}
	return NULL;
}

struct qfind {
	const char *name;
	char *buf;
	size_t sz;
};

static bool qfind_h(const char *name, size_t nlen, const char *val,
		    size_t vlen, void *arg)
{
	struct qfind *f = arg;
	char dec[128];

	url_decode(dec, sizeof(dec), name, nlen);
	if (strcmp(dec, f->name))
		return false;
	url_decode(f->buf, f->sz, val, vlen);
	return true;
}

const char *api_query(const struct areq *r, const char *name, char *buf,
		      size_t sz)
{
	struct qfind f = {name, buf, sz};

	return query_each(r->query, qfind_h, &f) ? buf : NULL;
}

struct qcheck {
	const char *const *known;
	char bad[128];
};

static bool qcheck_h(const char *name, size_t nlen, const char *val,
		     size_t vlen, void *arg)
{
	struct qcheck *c = arg;
	(void)val;
	(void)vlen;

	url_decode(c->bad, sizeof(c->bad), name, nlen);
	for (const char *const *k = c->known; *k; k++)
		if (!strcmp(*k, c->bad))
			return false;
	return true;
}

int api_query_check(struct areq *r, const char *const *known)
{
	struct qcheck c = {known, ""};

	if (!query_each(r->query, qcheck_h, &c))
		return 0;
	return api_error(r, 400, "invalid_query", c.bad,
			 "unknown query parameter '%s'", c.bad);
}

/* ---- routing ---- */

/* match path against pattern; fills ids */
static bool route_match(const char *pattern, const char *path,
			int64_t ids[2])
{
	unsigned nid = 0;

	while (*pattern && *path) {
		if (!strncmp(pattern, "{id}", 4)) {
			char *end;
			long long v;

			if (*path < '1' || *path > '9')
				return false;
			errno = 0;
			v = strtoll(path, &end, 10);
			if (errno || nid >= 2)
				return false;
			ids[nid++] = v;
			path = end;
			pattern += 4;
			continue;
		}
		if (*pattern != *path)
			return false;
		++pattern;
		++path;
	}
	return !*pattern && (!*path || !strcmp(path, "/"));
}

static const struct route *route_find(const char *method, const char *path,
				      int64_t ids[2], bool *path_known,
				      char *allow, size_t allow_sz)
{
	size_t n;
	const struct route *routes = api_routes(&n), *found = NULL;

	*path_known = false;
	if (allow_sz)
		allow[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		int64_t tmp[2] = {0, 0};

		if (!route_match(routes[i].pattern, path, tmp))
			continue;
		*path_known = true;
		if (allow_sz) {
			if (allow[0])
				strncat(allow, ", ", allow_sz - strlen(allow) - 1);
			strncat(allow, routes[i].method,
				allow_sz - strlen(allow) - 1);
		}
		if (!found && (!strcmp(routes[i].method, method) ||
			       (!strcmp(method, "HEAD") &&
				!strcmp(routes[i].method, "GET")) ||
			       (!strcmp(method, "PUT") &&
				!strcmp(routes[i].method, "PATCH")))) {
			found = &routes[i];
			ids[0] = tmp[0];
			ids[1] = tmp[1];
		}
	}
	return found;
}

/* ---- authentication ---- */

static void authent_destructor(void *data)
{
	struct authent *a = data;

	list_unlink(&a->le);
}

static bool auth_cached(struct api *api, const char *hash, int64_t *tenantp,
			int64_t *keyp)
{
	bool hit = false;
	int64_t now = util_now_ms();

	pthread_mutex_lock(&api->auth_mtx);
	for (struct le *le = api->authl.head; le; le = le->next) {
		struct authent *a = le->data;
		if (a->expires_ms > now && !strcmp(a->hash, hash)) {
			*tenantp = a->tenant_id;
			*keyp = a->key_id;
			hit = true;
			break;
		}
	}
	pthread_mutex_unlock(&api->auth_mtx);
	return hit;
}

static void auth_remember(struct api *api, const char *hash,
			  int64_t tenant_id, int64_t key_id)
{
	int64_t now = util_now_ms();
	struct authent *a;

	if (!api->cfg->auth_cache_ttl)
		return;
	pthread_mutex_lock(&api->auth_mtx);
	/* drop expired entries; bound the list */
	for (struct le *le = api->authl.head; le;) {
		struct authent *x = le->data;
		le = le->next;
		if (x->expires_ms <= now || list_count(&api->authl) > 1000)
			mem_deref(x);
	}
	a = mem_zalloc(sizeof(*a), authent_destructor);
	if (a) {
		memcpy(a->hash, hash, sizeof(a->hash));
		a->tenant_id  = tenant_id;
		a->key_id     = key_id;
		a->expires_ms = now + (int64_t)api->cfg->auth_cache_ttl * 1000;
		list_append(&api->authl, &a->le, a);
	}
	pthread_mutex_unlock(&api->auth_mtx);
}

void api_auth_forget(struct api *api, int64_t key_id)
{
	pthread_mutex_lock(&api->auth_mtx);
	for (struct le *le = api->authl.head; le;) {
		struct authent *a = le->data;
		le = le->next;
		if (a->key_id == key_id)
			mem_deref(a);
	}
	pthread_mutex_unlock(&api->auth_mtx);
}

static int authenticate(struct areq *r)
{
	const struct http_hdr *h;
	char key[128], hash[65];
	struct pl v;
	int err;

	h = http_msg_hdr(r->msg, HTTP_HDR_AUTHORIZATION);
	if (h) {
		v = h->val;
		if (v.l < 7 || strncasecmp(v.p, "Bearer ", 7)) {
			metrics_inc(r->api->metrics, M_AUTH_FAIL);
			return api_error(r, 401, "unauthorized", NULL,
					 "Authorization must be 'Bearer KEY'");
		}
		pl_advance(&v, 7);
		while (v.l && *v.p == ' ')
			pl_advance(&v, 1);
	}
	else if ((h = http_msg_xhdr(r->msg, "X-API-Key"))) {
		v = h->val;
	}
	else {
		metrics_inc(r->api->metrics, M_AUTH_FAIL);
		return api_error(r, 401, "unauthorized", NULL,
				 "missing API key: send 'Authorization: "
				 "Bearer KEY' or 'X-API-Key: KEY'");
	}
	if (v.l >= sizeof(key))
		v.l = sizeof(key) - 1;
	pl_strcpy(&v, key, sizeof(key));
	util_sha256_hex(hash, key, strlen(key));

	if (auth_cached(r->api, hash, &r->tenant_id, &r->key_id)) {
		metrics_inc(r->api->metrics, M_AUTH_OK);
		return 0;
	}
	err = r->db ? apikey_verify(r->db, key, &r->tenant_id, &r->key_id)
		    : ENOTCONN;
	memset(key, 0, sizeof(key));
	if (err == ENOENT) {
		metrics_inc(r->api->metrics, M_AUTH_FAIL);
		return api_error(r, 401, "unauthorized", NULL,
				 "invalid or revoked API key");
	}
	if (err)
		return api_error_db(r, err, "API key check");
	metrics_inc(r->api->metrics, M_AUTH_OK);
	auth_remember(r->api, hash, r->tenant_id, r->key_id);
	return 0;
}

/* ---- the request, on a worker ---- */

static bool ctype_is(const struct http_msg *msg, const char *type,
		     const char *subtype)
{
	return !pl_strcasecmp(&msg->ctyp.type, type) &&
	       !pl_strcasecmp(&msg->ctyp.subtype, subtype);
}

static int parse_body(struct areq *r)
{
	struct json_err je;
	const struct http_msg *msg = r->msg;
	size_t len = mbuf_get_left(msg->mb);
	int err;

	if (!len)
		return api_error(r, 400, "invalid_body", NULL,
				 "a JSON request body is required");
	if (http_msg_hdr(msg, HTTP_HDR_CONTENT_TYPE) &&
	    !ctype_is(msg, "application", "json"))
		return api_error(r, 415, "unsupported_media_type", NULL,
				 "send the body as application/json");
	err = json_parse(&r->body, &r->body_type,
			 (const char *)mbuf_buf(msg->mb), len, &je);
	if (err == EBADMSG)
		return api_error(r, 400, "invalid_json", NULL,
				 "invalid JSON at line %u column %u: %s",
				 je.line, je.col, je.msg);
	if (err)
		return api_error(r, 500, "internal", NULL, "out of memory");
	return 0;
}

/* unknown query parameters are refused, as in lists: handlers that read
 * the query check it themselves; writes may name default_country */
static bool query_refused(struct areq *r)
{
	static const char *const write[] = {"default_country", NULL};
	static const char *const none[] = {NULL};
	api_h *h = r->route->h;

	if (h == res_list || h == contacts_import || h == dnc_check ||
	    h == webhook_deliveries || h == voice_pipeline ||
	    h == call_recording)
		return false;
	return api_query_check(r, h == res_create || h == res_update ?
			       write : none) != 0;
}

static void work_h(void *ctx, void *arg)
{
	struct areq *r = arg;
	int err;

	/* /health reports an unreachable store itself; the runtime config
	 * falls back to its cache (with a cached API key) */
	err = store_worker_db(ctx, &r->db);
	if (err)
		r->db = NULL;
	if (err && r->route->h != api_health &&
	    r->route->h != agent_runtime_config) {
		api_error_db(r, err, "request");
		return;
	}
	if ((r->route->flags & RT_AUTH) && authenticate(r))
		return;
	if ((r->route->flags & RT_JSON) && parse_body(r))
		return;
	if ((r->route->flags & RT_AUTH) && query_refused(r))
		return;

	err = r->route->h(r);
	if (err && !r->status)
		api_error(r, 500, "internal", NULL,
			  "internal error (%s)", strerror(err));
	if (!r->status)
		api_error(r, 500, "internal", NULL, "no response");

	/* a connection that failed mid-request is dropped, so the next
	 * request opens a fresh one */
	if (r->db && r->status == 503)
		store_worker_reset(ctx);
	r->db = NULL;
}

/* ---- the request, on the loop ---- */

static void areq_destructor(void *data)
{
	struct areq *r = data;

	mem_deref(r->conn);
	mem_deref((void *)r->msg);
	mem_deref(r->path);
	mem_deref(r->query);
	mem_deref(r->body);
	mem_deref(r->resp);
	mem_deref(r->after_arg);
}

static void send_response(struct areq *r)
{
	double secs;

	if (!r->status)
		api_error(r, 500, "internal", NULL, "no response");
	/* for HEAD, httpd sends the headers of this body only */
	if (r->status == 204 || !r->resp)
		(void)hconn_reply(r->conn, r->status, NULL, NULL,
				  r->xhdrs[0] ? r->xhdrs : NULL, NULL, 0);
	else
		(void)hconn_reply(r->conn, r->status, NULL, r->ctype,
				  r->xhdrs[0] ? r->xhdrs : NULL,
				  r->resp->buf, r->resp->end);
	secs = (double)(util_mono_us() - r->t_start) / 1e6;
	metrics_http_observe(r->api->metrics, r->status, secs);
	log_debug("%r %s -> %u (%.1f ms)", &r->msg->met, r->path, r->status,
		  secs * 1e3);
}

static void done_h(int err, void *arg)
{
	struct areq *r = arg;

	if (err)
		api_error(r, 503, "shutting_down", NULL,
			  "the server is shutting down");
	/* loop-side second half (telephony actions); it may keep the
	 * request and answer later with api_finish() */
	if (!err && r->afterh && r->afterh(r)) {
		--r->api->inflight;
		return;
	}
	send_response(r);
	--r->api->inflight;
	mem_deref(r);
}

static size_t limit_h(const struct http_msg *msg, void *arg)
{
	struct api *api = arg;
	char path[512], method[16];
	const struct route *rt;
	int64_t ids[2];
	bool known;

	pl_strcpy(&msg->path, path, sizeof(path));
	pl_strcpy(&msg->met, method, sizeof(method));
	rt = route_find(method, path, ids, &known, NULL, 0);
	if (rt && (rt->flags & RT_IMPORT))
		return api->cfg->import_max_body;
	return api->cfg->http_max_body;
}

static void request_h(struct hconn *conn, const struct http_msg *msg,
		      void *arg)
{
	struct api *api = arg;
	struct areq *r;
	char method[16], allow[128];
	bool known;
	int err;

	r = mem_zalloc(sizeof(*r), areq_destructor);
	if (!r) {
		(void)hconn_reply_error(conn, 503, "overloaded",
					"out of memory", NULL);
		return;
	}
	r->api     = api;
	r->conn    = mem_ref(conn);
	r->msg     = mem_ref((void *)msg);
	r->t_start = util_mono_us();
	err  = pl_strdup(&r->path, &msg->path);
	if (msg->prm.l > 1)
		err |= re_sdprintf(&r->query, "%b", msg->prm.p + 1,
				   msg->prm.l - 1);
	pl_strcpy(&msg->met, method, sizeof(method));
	if (err) {
		api_error(r, 503, "overloaded", NULL, "out of memory");
		send_response(r);
		mem_deref(r);
		return;
	}

	r->route = route_find(method, r->path, r->ids, &known, allow,
			      sizeof(allow));
	if (!r->route) {
		if (known) {
			re_snprintf(r->xhdrs, sizeof(r->xhdrs),
				    "Allow: %s\r\n", allow);
			api_error(r, 405, "method_not_allowed", NULL,
				  "%s is not allowed here; allowed: %s",
				  method, allow);
		}
		else {
			api_error(r, 404, "not_found", NULL,
				  "no such endpoint: %s", r->path);
		}
		send_response(r);
		mem_deref(r);
		return;
	}

	if (r->route->flags & RT_LOOP) {
		(void)r->route->h(r);
		send_response(r);
		mem_deref(r);
		return;
	}

	err = pool_submit(api->pool, work_h, done_h, r);
	if (err) {
		api_error(r, 503, "shutting_down", NULL,
			  "the server is not taking requests");
		send_response(r);
		mem_deref(r);
		return;
	}
	++api->inflight;
}

/* ---- life cycle ---- */

int api_alloc(struct api **apip, const struct config *cfg, struct pool *pool)
{
	struct api *api;
	char *defaults = NULL;
	int err;

	api = mem_zalloc(sizeof(*api), api_destructor);
	if (!api)
		return ENOMEM;
	pthread_mutex_init(&api->auth_mtx, NULL);
	api->cfg = cfg;
	api->started = tmr_jiffies();

	err = metrics_alloc(&api->metrics);
	if (!err)
		err = agent_defaults_json(&defaults);
	if (!err)
		err = rtcfg_alloc(&api->rtcfg, cfg->cache_ttl,
				  cfg->cache_stale_ttl, defaults,
				  api->metrics);
	if (!err)
		api->pool = mem_ref(pool);
	mem_deref(defaults);
	if (err)
		mem_deref(api);
	else
		*apip = api;
	return err;
}

int api_listen(struct api *api)
{
	struct sa laddr;
	int err;

	err = sa_decode(&laddr, api->cfg->http_listen,
			strlen(api->cfg->http_listen));
	if (err)
		return err;
	return httpd_alloc(&api->httpd, &laddr, api->cfg->http_idle_timeout,
			   limit_h, request_h, api);
}

int api_local(const struct api *api, struct sa *laddr)
{
	return httpd_local(api->httpd, laddr);
}

bool api_drain(struct api *api)
{
	httpd_stop_listening(api->httpd);
	return api->inflight == 0 && pool_pending(api->pool) == 0;
}

void api_finish(struct areq *r)
{
	send_response(r);
	mem_deref(r);
}

void api_set_tel(struct api *api, struct tel *tel)
{
	api->tel = tel;
}

void api_set_env(struct api *api, struct agent_env *env)
{
	api->env = env;
}

struct agent_env *api_env(const struct api *api)
{
	return api->env;
}

struct tel *api_tel(const struct api *api)
{
	return api->tel;
}

struct pool *api_pool(const struct api *api)
{
	return api->pool;
}

const struct config *api_config(const struct api *api)
{
	return api->cfg;
}

struct rtcfg_cache *api_rtcfg(const struct api *api)
{
	return api->rtcfg;
}

struct metrics *api_metrics(const struct api *api)
{
	return api->metrics;
}

double api_uptime(const struct api *api)
{
	return (double)(tmr_jiffies() - api->started) / 1000.0;
}

void api_gauges(const struct api *api, unsigned *inflightp,
		unsigned *pendingp)
{
	*inflightp = api->inflight;
	*pendingp = pool_pending(api->pool);
}
