/* events.c - webhook delivery: claims due webhook_outbox rows through the
 * pool, POSTs them from the loop, writes each attempt's result back.
 *
 * What a receiver gets, one POST per event and webhook:
 *
 *   POST <the webhook's url>
 *   Content-Type: application/json
 *   X-Parley-Event: call.ended
 *   X-Parley-Delivery: 1234          (the delivery's id; retries repeat it)
 *   X-Parley-Timestamp: 1732153254   (Unix seconds when this attempt was sent)
 *   X-Parley-Signature: v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd
 *
 *   {"id":"evt_9f86d081884c7d659a2feaa0c55ad015","type":"call.ended",
 *    "created_at":"2026-11-21T01:40:54.123Z","tenant_id":1,"call_id":42,
 *    "campaign_id":7,"data":{"outcome":"answered","duration":31.52,...}}
 *
 * "id" names the event (the same for every webhook that gets it);
 * "call_id" and "campaign_id" are there when the event has them. The
 * types and their data are listed in docs/webhooks.md.
 *
 * To verify a delivery, compute HMAC-SHA256 with the webhook's secret as
 * the key over the X-Parley-Timestamp value, a ".", and the raw body
 * bytes exactly as received; hex-encode it (lower case), prefix "v1=",
 * and compare with X-Parley-Signature in constant time. Reject
 * timestamps more than a few minutes from your clock (a replayed
 * request), and skip events whose id you have already processed:
 * delivery is at least once. In Python:
 *
 *   mac = hmac.new(secret, ts.encode() + b"." + body, hashlib.sha256)
 *   ok = hmac.compare_digest("v1=" + mac.hexdigest(), signature)
 *
 * A 2xx answer within events.timeout delivers; anything else (another
 * status, a redirect, a timeout, no connection) is a failed attempt,
 * retried after events.retry_base * 2^(attempts-1) ms (at most
 * events.retry_max, plus up to 25% jitter) until events.max_attempts.
 * The deliveries API shows each row's status, attempts, last_status,
 * last_error, next_attempt_at and delivered_at.
 *
 * Claims are atomic (one UPDATE ... RETURNING; on PostgreSQL its rows
 * are chosen FOR UPDATE SKIP LOCKED), so nodes sharing a database never
 * send a row at the same time. A claimed row is 'sending' with
 * next_attempt_at at the end of a lease (events.timeout + 30 s): a node
 * that dies mid-delivery leaves it to be claimed again then.
 *
 * Secrets are read with the claim, used to sign, and never logged; logs
 * name the webhook and delivery by id, not by URL (it may hold a token).
 */
#include <errno.h>
#include <string.h>
#include <time.h>
#include <re.h>
#include "agent/rhttp.h"
#include "config/config.h"
#include "core/log.h"
#include "core/pool.h"
#include "core/util.h"
#include "events/events.h"
#include "store/db.h"
#include "store/worker.h"

enum {
	CLAIM_MAX = 100,          /* rows per claim */
	LEASE_EXTRA_MS = 30000,   /* a claim outlives its request by this */
	ERROR_MAX = 200,          /* bytes of a receiver's error kept */
};

struct events {
	const struct config *cfg;
	struct pool *pool;
	struct http_cli *http;
	struct tmr tmr;
	struct list inflight;     /* struct delivery, claimed until written */
	bool claiming;            /* a claim job is on the pool */
	bool more;                /* the last claim was full */
	bool stopped;
};

struct delivery {
	struct le le;
	struct events *ev;        /* ev->inflight holds the delivery */
	struct rhttp *req;
	int64_t id, webhook_id, attempts;
	char *event, *payload, *url, *secret;
	bool hook_ok;             /* the webhook exists and is active */
	/* the attempt's result, written by a result job */
	const char *state;        /* delivered, pending or failed */
	uint16_t status;
	char *error;
	int64_t at, next_at;
};

/* a pool job: holds the deliverer until its done handler has run */
struct job {
	struct events *ev;
	struct delivery *d;       /* result jobs */
	struct list items;        /* claim jobs: struct delivery */
	uint32_t limit;
	int64_t now;
	int err;
};

static void claim(struct events *ev);

void events_sign(char sig[68], const char *secret, int64_t ts,
		 const void *body, size_t n)
{
	uint8_t mac[32];
	char pre[24];
	size_t pn;
	uint8_t *msg;

	pn = (size_t)re_snprintf(pre, sizeof(pre), "%lld.", (long long)ts);
	msg = mem_alloc(pn + n + 1, NULL);
	if (!msg) {
		sig[0] = '\0';
		return;
	}
	memcpy(msg, pre, pn);
	if (n)
		memcpy(msg + pn, body, n);
	util_hmac_sha256(mac, secret, strlen(secret), msg, pn + n);
	mem_deref(msg);
	memcpy(sig, "v1=", 3);
	util_hex(sig + 3, mac, sizeof(mac));
}

uint64_t events_backoff_ms(uint32_t n, uint32_t base_ms, uint32_t max_ms,
			   uint32_t rnd)
{
	uint64_t d = base_ms ? base_ms : 1;

	for (uint32_t i = 1; i < n && d < max_ms; i++)
		d *= 2;
	if (d > max_ms)
		d = max_ms;
	return d + rnd % (d / 4 + 1);
}

/* ---- deliveries ---- */

static void delivery_destructor(void *data)
{
	struct delivery *d = data;

	list_unlink(&d->le);
	mem_deref(d->req);
	mem_deref(d->event);
	mem_deref(d->payload);
	mem_deref(d->url);
	if (d->secret)
		memset(d->secret, 0, strlen(d->secret));
	mem_deref(d->secret);
	mem_deref(d->error);
}

static void job_destructor(void *data)
{
	struct job *job = data;

	list_flush(&job->items);
	mem_deref(job->d);
	mem_deref(job->ev);
}

static struct job *job_alloc(struct events *ev)
{
	struct job *job = mem_zalloc(sizeof(*job), job_destructor);

	if (job)
		job->ev = mem_ref(ev);
	return job;
}

/* worker: the attempt's result, unless the claim was lost meanwhile
 * (the lease ran out and another node took the row) */
static void result_work(void *ctx, void *arg)
{
	struct job *job = arg;
	struct delivery *d = job->d;
	struct db *db = NULL;
	int err;

	err = store_worker_db(ctx, &db);
	if (err)
		goto out;
	if (!strcmp(d->state, "delivered")) {
		struct db_val p[] = {DBV_INT(d->attempts + 1),
				     DBV_INT(d->status), DBV_INT(d->at),
				     DBV_INT(d->at), DBV_INT(d->id),
				     DBV_INT(d->attempts)};
		err = db_exec(db, NULL, "UPDATE webhook_outbox SET status = "
			      "'delivered', attempts = ?, last_status = ?, "
			      "last_error = NULL, delivered_at = ?, "
			      "updated_at = ? WHERE id = ? AND status = "
			      "'sending' AND attempts = ?", p, 6);
	}
	else {
		struct db_val p[] = {DBV_TEXT(d->state),
				     DBV_INT(d->hook_ok ? d->attempts + 1 :
					     d->attempts),
				     d->status ? DBV_INT(d->status) : DBV_NULL,
				     DBV_TEXT(d->error), DBV_INT(d->next_at),
				     DBV_INT(d->at), DBV_INT(d->id),
				     DBV_INT(d->attempts)};
		err = db_exec(db, NULL, "UPDATE webhook_outbox SET status = ?, "
			      "attempts = ?, last_status = ?, last_error = ?, "
			      "next_attempt_at = ?, updated_at = ? WHERE id = ? "
			      "AND status = 'sending' AND attempts = ?", p, 8);
	}
	if (err) {
		log_warn("events: delivery %lld: result not written: %s",
			 (long long)d->id, db_errmsg(db));
		if (err == ENOTCONN)
			store_worker_reset(ctx);
	}
 out:
	job->err = err;
}

static void result_done(int err, void *arg)
{
	struct job *job = arg;
	struct events *ev = job->ev;
	(void)err;

	/* written or not, the delivery is over on this node (an unwritten
	 * one is claimed again when its lease ends): the list's reference
	 * goes, the job's with the job */
	list_unlink(&job->d->le);
	mem_deref(job->d);
	if (ev->more)
		claim(ev);
	mem_deref(job);
}

static void record(struct delivery *d, uint16_t status, const char *error)
{
	struct events *ev = d->ev;
	const struct config *cfg = ev->cfg;
	struct job *job;
	char why[64];

	d->at = util_now_ms();
	d->status = status;
	mem_deref(d->error);
	d->error = NULL;
	if (error)
		(void)str_dup(&d->error, error);
	/* the log says why without the receiver's words */
	if (status)
		re_snprintf(why, sizeof(why), "HTTP %u", status);
	else
		str_ncpy(why, error ? error : "", sizeof(why));
	if (status >= 200 && status < 300) {
		d->state = "delivered";
		log_debug("events: delivery %lld (%s) to webhook %lld: %u",
			  (long long)d->id, d->event,
			  (long long)d->webhook_id, status);
	}
	else if (!d->hook_ok || d->attempts + 1 >= cfg->events_max_attempts) {
		d->state = "failed";
		d->next_at = d->at;
		log_warn("events: delivery %lld (%s) to webhook %lld failed "
			 "for good after %lld attempt(s): %s", (long long)d->id,
			 d->event, (long long)d->webhook_id,
			 (long long)(d->hook_ok ? d->attempts + 1 :
				     d->attempts), why);
	}
	else {
		uint64_t wait = events_backoff_ms((uint32_t)d->attempts + 1,
						  cfg->events_retry_base,
						  cfg->events_retry_max,
						  rand_u32());
		d->state = "pending";
		d->next_at = d->at + (int64_t)wait;
		log_info("events: delivery %lld (%s) to webhook %lld: attempt "
			 "%lld failed (%s); next in %llu ms", (long long)d->id,
			 d->event, (long long)d->webhook_id,
			 (long long)d->attempts + 1, why,
			 (unsigned long long)wait);
	}

	job = job_alloc(ev);
	if (job) {
		job->d = mem_ref(d);
		if (!pool_submit(ev->pool, result_work, result_done, job))
			return;
		mem_deref(job);
	}
	/* the pool is gone: the lease returns the row to the queue */
	mem_deref(d);
}

/* a receiver's answer, made safe for a log line and an API field */
static void error_text(char *buf, size_t sz, int err, uint16_t status,
		       struct mbuf *body)
{
	size_t n = 0;

	if (err == ETIMEDOUT)
		n = (size_t)re_snprintf(buf, sz, "timeout");
	else if (err)
		n = (size_t)re_snprintf(buf, sz, "connection failed: %m", err);
	else
		n = (size_t)re_snprintf(buf, sz, "HTTP %u", status);
	if (!err && body && mbuf_get_left(body) && n + 3 < sz) {
		const uint8_t *p = mbuf_buf(body);
		size_t left = mbuf_get_left(body);

		n += (size_t)re_snprintf(buf + n, sz - n, ": ");
		for (size_t i = 0; i < left && n + 1 < sz; i++)
			buf[n++] = p[i] >= 0x20 && p[i] < 0x7f ? (char)p[i] :
				' ';
		buf[n] = '\0';
	}
}

static void http_done(int err, uint16_t status, const char *ctype,
		      struct mbuf *body, void *arg)
{
	struct delivery *d = arg;
	char error[ERROR_MAX + 24];
	(void)ctype;

	/* body belongs to the request: read it before letting that go */
	if (err || status < 200 || status >= 300)
		error_text(error, sizeof(error), err, err ? 0 : status, body);
	d->req = mem_deref(d->req);
	if (!err && status >= 200 && status < 300)
		record(d, status, NULL);
	else
		record(d, err ? 0 : status, error);
}

static void send_one(struct delivery *d)
{
	struct events *ev = d->ev;
	struct rhttp_opts o;
	char sig[68], hdrs[512];
	int64_t ts = (int64_t)time(NULL);
	int err;

	if (!d->hook_ok) {
		record(d, 0, "webhook inactive or deleted");
		return;
	}
	events_sign(sig, d->secret, ts, d->payload, strlen(d->payload));
	re_snprintf(hdrs, sizeof(hdrs), "X-Parley-Event: %s\r\n"
		    "X-Parley-Delivery: %lld\r\nX-Parley-Timestamp: %lld\r\n"
		    "X-Parley-Signature: %s\r\n"
		    "User-Agent: Parley/" PARLEY_VERSION "\r\n", d->event,
		    (long long)d->id, (long long)ts, sig);
	memset(&o, 0, sizeof(o));
	o.method = "POST";
	o.url = d->url;
	o.ctype = "application/json";
	o.body = (const uint8_t *)d->payload;
	o.body_len = strlen(d->payload);
	o.extra_headers = hdrs;
	o.timeout_ms = ev->cfg->events_timeout;
	err = rhttp_request(&d->req, ev->http, &o, NULL, http_done, d);
	if (err) {
		char error[64];
		re_snprintf(error, sizeof(error), "request failed: %m", err);
		record(d, 0, error);
	}
}

/* ---- claims ---- */

static int take_str(char **dst, const struct db_res *r, size_t row,
		    size_t col)
{
	const char *s = db_res_str(r, row, col);

	return str_dup(dst, s ? s : "");
}

/* worker: claim due rows, then read their webhooks' URL and secret */
static void claim_work(void *ctx, void *arg)
{
	struct job *job = arg;
	const struct config *cfg = job->ev->cfg;
	int64_t lease = job->now + cfg->events_timeout + LEASE_EXTRA_MS;
	struct db_res *rows = NULL, *hooks = NULL;
	struct mbuf *ids = NULL;
	struct db *db = NULL;
	int err;

	err = store_worker_db(ctx, &db);
	if (err)
		goto out;
	/* mostly nothing is due: a read says so without the write lock
	 * (SQLite's UPDATE would take it, and wait behind an import) */
	{
		struct db_val p[] = {DBV_INT(job->now)};
		err = db_exec(db, &rows, "SELECT 1 FROM webhook_outbox WHERE "
			      "status IN ('pending', 'sending') AND "
			      "next_attempt_at <= ? LIMIT 1", p, 1);
		if (err || !db_res_nrows(rows))
			goto out;
		rows = mem_deref(rows);
	}
	if (db_kind(db) == DB_PG) {
		struct db_val p[] = {DBV_INT(job->now), DBV_INT(job->limit),
				     DBV_INT(lease), DBV_INT(job->now)};
		err = db_exec(db, &rows, "WITH due AS (SELECT id FROM "
			      "webhook_outbox WHERE status IN ('pending', "
			      "'sending') AND next_attempt_at <= ? ORDER BY "
			      "next_attempt_at LIMIT ? FOR UPDATE SKIP LOCKED) "
			      "UPDATE webhook_outbox o SET status = 'sending', "
			      "next_attempt_at = ?, updated_at = ? FROM due "
			      "WHERE o.id = due.id RETURNING o.id, "
			      "o.webhook_id, o.event, o.payload, o.attempts",
			      p, 4);
	}
	else {
		struct db_val p[] = {DBV_INT(lease), DBV_INT(job->now),
				     DBV_INT(job->now), DBV_INT(job->limit)};
		err = db_exec(db, &rows, "UPDATE webhook_outbox SET status = "
			      "'sending', next_attempt_at = ?, updated_at = ? "
			      "WHERE id IN (SELECT id FROM webhook_outbox "
			      "WHERE status IN ('pending', 'sending') AND "
			      "next_attempt_at <= ? ORDER BY next_attempt_at "
			      "LIMIT ?) RETURNING id, webhook_id, event, "
			      "payload, attempts", p, 4);
	}
	if (err || !db_res_nrows(rows))
		goto out;

	ids = mbuf_alloc(256);
	if (!ids) {
		err = ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < db_res_nrows(rows) && !err; i++)
		err = mbuf_printf(ids, "%s%lld", i ? "," : "",
				  (long long)db_res_int(rows, i, 1));
	if (!err) {
		char *sql = NULL;
		err = re_sdprintf(&sql, "SELECT id, url, secret FROM webhooks "
				  "WHERE COALESCE(active, 1) <> 0 AND id IN "
				  "(%b)", ids->buf, ids->end);
		if (!err)
			err = db_exec(db, &hooks, sql, NULL, 0);
		mem_deref(sql);
	}

	/* rows claimed and not listed here go back with their lease */
	for (size_t i = 0; i < db_res_nrows(rows) && !err; i++) {
		struct delivery *d = mem_zalloc(sizeof(*d),
						delivery_destructor);
		if (!d) {
			err = ENOMEM;
			break;
		}
		d->ev = job->ev;
		d->id = db_res_int(rows, i, 0);
		d->webhook_id = db_res_int(rows, i, 1);
		d->attempts = db_res_int(rows, i, 4);
		err = take_str(&d->event, rows, i, 2);
		if (!err)
			err = take_str(&d->payload, rows, i, 3);
		for (size_t h = 0; !err && h < db_res_nrows(hooks); h++) {
			if (db_res_int(hooks, h, 0) != d->webhook_id)
				continue;
			d->hook_ok = true;
			err = take_str(&d->url, hooks, h, 1);
			if (!err)
				err = take_str(&d->secret, hooks, h, 2);
			break;
		}
		list_append(&job->items, &d->le, d);
	}
 out:
	if (err && db) {
		log_warn("events: claiming deliveries failed: %s",
			 db_errmsg(db));
		if (err == ENOTCONN)
			store_worker_reset(ctx);
	}
	job->err = err;
	mem_deref(ids);
	mem_deref(hooks);
	mem_deref(rows);
}

static void claim_done(int err, void *arg)
{
	struct job *job = arg;
	struct events *ev = job->ev;
	size_t n = list_count(&job->items);
	struct le *le;
	(void)err;

	ev->claiming = false;
	ev->more = !job->err && n >= job->limit;
	while ((le = job->items.head)) {
		struct delivery *d = le->data;
		list_unlink(le);
		list_append(&ev->inflight, &d->le, d);
	}
	/* send_one may finish a delivery at once (inactive webhook) */
	for (le = ev->inflight.head; le; ) {
		struct delivery *d = le->data;
		le = le->next;
		if (!d->req && !d->state)
			send_one(d);
	}
	if (ev->more)
		claim(ev);
	mem_deref(job);
}

static void claim(struct events *ev)
{
	uint32_t busy = list_count(&ev->inflight);
	struct job *job;

	if (ev->stopped || ev->claiming || busy >= ev->cfg->events_concurrency)
		return;
	job = job_alloc(ev);
	if (!job)
		return;
	job->limit = MIN(ev->cfg->events_concurrency - busy, CLAIM_MAX);
	job->now = util_now_ms();
	ev->claiming = true;
	if (pool_submit(ev->pool, claim_work, claim_done, job)) {
		ev->claiming = false;
		mem_deref(job);
	}
}

static void tick(void *arg)
{
	struct events *ev = arg;

	claim(ev);
	tmr_start(&ev->tmr, ev->cfg->events_poll, tick, ev);
}

/* ---- the deliverer ---- */

static void events_destructor(void *data)
{
	struct events *ev = data;

	tmr_cancel(&ev->tmr);
	list_flush(&ev->inflight);
}

int events_alloc(struct events **evp, const struct config *cfg,
		 struct pool *pool, struct http_cli *http)
{
	struct events *ev;

	if (!evp || !cfg || !pool || !http)
		return EINVAL;
	ev = mem_zalloc(sizeof(*ev), events_destructor);
	if (!ev)
		return ENOMEM;
	ev->cfg = cfg;
	ev->pool = pool;
	ev->http = http;
	tmr_init(&ev->tmr);
	tmr_start(&ev->tmr, 0, tick, ev);
	*evp = ev;
	return 0;
}

void events_stop(struct events *ev)
{
	if (!ev)
		return;
	ev->stopped = true;
	tmr_cancel(&ev->tmr);
}

bool events_idle(const struct events *ev)
{
	return !ev || (!ev->claiming && list_isempty(&ev->inflight));
}
