/* api.h - the REST API: routing, authentication, request/response.
 *
 * A request is accepted on the loop thread, runs on a worker thread (it
 * may query the store), and is answered back on the loop thread. Handlers
 * therefore see a struct areq with the worker's database connection and
 * fill in its response; they never touch libre objects of the loop.
 */
#ifndef PARLEY_API_H
#define PARLEY_API_H

#include <stdbool.h>
#include <stdint.h>
#include <re.h>

struct config;
struct db;
struct odict;
struct pool;
struct hconn;
struct rtcfg_cache;
struct metrics;
struct verr;
struct agent_env;
struct tel;

struct api;

/** Per-request state; owned by the API, handed to handlers. */
struct areq {
	struct api *api;
	const struct route *route;
	struct hconn *conn;          /* loop side only */
	const struct http_msg *msg;  /* read-only on the worker */
	char *path;                  /* decoded path */
	char *query;                 /* raw query string (without '?') */
	int64_t ids[2];              /* {id} path parameters in order */
	struct db *db;               /* the worker's connection */
	int64_t tenant_id;
	int64_t key_id;
	struct odict *body;          /* parsed JSON body (JSON routes) */
	int body_type;               /* ODICT_OBJECT or ODICT_ARRAY */
	uint64_t t_start;            /* util_mono_us() at arrival */

	/*
	 * Optional second half on the loop thread, run after the handler
	 * (e.g. to act on a live call). Return false to send the response
	 * now; true to keep the request and call api_finish() later.
	 */
	bool (*afterh)(struct areq *r);
	void *after_arg;             /* mem object, released with the request */

	/* response */
	uint16_t status;
	struct mbuf *resp;
	const char *ctype;
	char xhdrs[256];
};

/** What a route needs before its handler runs. */
enum {
	RT_AUTH     = 1 << 0,   /* API key required */
	RT_JSON     = 1 << 1,   /* JSON body required */
	RT_IMPORT   = 1 << 2,   /* large body (CSV or JSON) allowed */
	RT_LOOP     = 1 << 3,   /* runs on the loop thread (no store) */
};

typedef int (api_h)(struct areq *r);

struct route {
	const char *method;
	const char *pattern;     /* "/api/v1/agents/{id}" */
	api_h *h;
	unsigned flags;
	const void *data;        /* handler data (e.g. struct resource) */
	const char *summary;     /* for the OpenAPI document */
	const char *tag;
};

/** The pool runs handlers; its contexts are store workers (worker.h). */
int api_alloc(struct api **apip, const struct config *cfg, struct pool *pool);
/** Telephony for the live-call endpoints (may stay unset). */
void api_set_tel(struct api *api, struct tel *tel);
struct tel *api_tel(const struct api *api);
/** The voice agent's providers (POST /api/voice-pipeline). */
void api_set_env(struct api *api, struct agent_env *env);
struct agent_env *api_env(const struct api *api);
struct pool *api_pool(const struct api *api);
/** Send the response of a request kept by its afterh, and release it. */
void api_finish(struct areq *r);
/** Bind and start serving HTTP. */
int api_listen(struct api *api);
int api_local(const struct api *api, struct sa *laddr);
/** Stop accepting connections; true once no request is in progress. */
bool api_drain(struct api *api);

const struct config *api_config(const struct api *api);
/** Forget a cached API key at once (after revocation). */
void api_auth_forget(struct api *api, int64_t key_id);
/** Seconds since the API started. */
double api_uptime(const struct api *api);
/** Requests in progress and worker jobs pending, for /metrics. */
void api_gauges(const struct api *api, unsigned *inflightp,
		unsigned *pendingp);
struct rtcfg_cache *api_rtcfg(const struct api *api);
struct metrics *api_metrics(const struct api *api);

/** The route table (for the OpenAPI document). */
const struct route *api_routes(size_t *np);

/* Response helpers, for handlers (worker thread). */
int api_reply_json(struct areq *r, uint16_t status, const struct odict *o);
int api_reply_text(struct areq *r, uint16_t status, const char *ctype,
		   const char *fmt, ...);
int api_error(struct areq *r, uint16_t status, const char *code,
	      const char *field, const char *fmt, ...);
int api_error_verr(struct areq *r, const struct verr *ve);
/** Map a store error to a response (503 unreachable, 409, 500). */
int api_error_db(struct areq *r, int err, const char *what);

/**
 * Query string parameters. Returns the decoded value of name into buf or
 * NULL when absent. api_query_check() answers 400 naming the first
 * parameter not in the NULL-ended list `known`.
 */
const char *api_query(const struct areq *r, const char *name, char *buf,
		      size_t sz);
int api_query_check(struct areq *r, const char *const *known);

/* handlers outside the generic resources (api/handlers.c etc.) */
int api_health(struct areq *r);
int api_metrics_h(struct areq *r);
int api_openapi(struct areq *r);

#endif
