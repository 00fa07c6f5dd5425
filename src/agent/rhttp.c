/* rhttp.c - see rhttp.h. One remote request on libre's HTTP client.
 *
 * libre's client has fixed timeouts (30 s connect, 60 s until the
 * headers, none once a body handler streams), so the deadline is our own
 * timer: the full timeout_ms until the first body byte, then - with a
 * data handler - restarted by every arrival (an idle timeout, so a long
 * stream that keeps talking is not cut). Without a data handler it bounds
 * the whole request. On expiry the libre request is released, which
 * closes its connection.
 *
 * The body is always taken through libre's data handler, so it is never
 * limited by libre's 512 KiB buffer. Only a 2xx body goes to our data
 * handler; the body of any other status (an error message from the
 * provider) is kept, up to ERRBODY_MAX, and handed to done even without
 * collect, so the caller can log it.
 *
 * Re-entrancy: a handler may release the request (mem_deref) from inside
 * our data or done handler. libre still uses its request after its data
 * handler returns, so it must not be freed there: we hold a reference
 * across the call, and when ours is the last one the user let go; we
 * then return an error to libre, which closes the request and calls our
 * response handler, where our reference goes (libre has already cleared
 * req->req through the reqp pointer by then).
 */
#include <string.h>
#include <re.h>
#include "agent/rhttp.h"

enum {
	DEFAULT_TIMEOUT_MS = 10000,
	COLLECT_MAX = 16 * 1024 * 1024,
	ERRBODY_MAX = 4096,
};

struct rhttp {
	struct http_req *req;      /* cleared by libre when it closes */
	struct tmr tmr;
	struct mbuf *body;
	rhttp_data_h *datah;
	rhttp_done_h *doneh;
	void *arg;
	char *ctype;
	uint32_t timeout_ms;
	uint16_t status;
	bool collect;
	bool released;             /* let go inside our data handler */
};

static void destructor(void *data)
{
	struct rhttp *rh = data;

	tmr_cancel(&rh->tmr);
	mem_deref(rh->req);
	mem_deref(rh->body);
	mem_deref(rh->ctype);
}

static bool is_2xx(uint16_t status)
{
	return status >= 200 && status < 300;
}

static void take_status(struct rhttp *rh, const struct http_msg *msg)
{
	const struct http_hdr *hdr;

	if (!msg || rh->status)
		return;

	rh->status = msg->scode;
	hdr = http_msg_hdr(msg, HTTP_HDR_CONTENT_TYPE);
	if (hdr && pl_isset(&hdr->val))
		(void)pl_strdup(&rh->ctype, &hdr->val);
}

/* The end, once: done may release rh, so nothing touches rh after it. */
static void finish(struct rhttp *rh, int err)
{
	rhttp_done_h *doneh = rh->doneh;
	struct mbuf *body = NULL;

	tmr_cancel(&rh->tmr);
	rh->doneh = NULL;
	rh->datah = NULL;

	if (rh->body && (rh->collect || !is_2xx(rh->status))) {
		/* NUL-terminate without counting the NUL */
		if (!mbuf_write_u8(rh->body, 0)) {
			--rh->body->end;
			rh->body->pos = 0;
			body = rh->body;
		}
	}

	if (doneh)
		doneh(err, rh->status, rh->ctype, body, rh->arg);
}

static void timeout_h(void *arg)
{
	struct rhttp *rh = arg;

	rh->req = mem_deref(rh->req);
	finish(rh, ETIMEDOUT);
}

static int keep(struct rhttp *rh, const uint8_t *buf, size_t size,
		size_t max)
{
	size_t room;

	if (!rh->body) {
		rh->body = mbuf_alloc(size < 1024 ? 1024 : size + 1);
		if (!rh->body)
			return ENOMEM;
	}

	room = max > rh->body->end ? max - rh->body->end : 0;
	if (size > room) {
		if (rh->collect && is_2xx(rh->status))
			return EOVERFLOW;
		size = room;    /* an error body is only kept for the log */
	}

	return mbuf_write_mem(rh->body, buf, size);
}

static int data_h(const uint8_t *buf, size_t size, const struct http_msg *msg,
		  void *arg)
{
	struct rhttp *rh = arg;
	int err;

	take_status(rh, msg);

	/* streaming: an idle timeout from now on */
	if (rh->datah)
		tmr_start(&rh->tmr, rh->timeout_ms, timeout_h, rh);

	if (!is_2xx(rh->status))
		return keep(rh, buf, size,
			    rh->collect ? COLLECT_MAX : ERRBODY_MAX);

	if (rh->datah) {
		mem_ref(rh);
		err = rh->datah(buf, size, rh->arg);
		if (mem_nrefs(rh) == 1) {
			/* released by the handler: our reference goes in
			 * resp_h, which libre calls after this error */
			rh->released = true;
			rh->datah = NULL;
			rh->doneh = NULL;
			tmr_cancel(&rh->tmr);
			return ECANCELED;
		}
		mem_deref(rh);
		if (err)
			return err;
	}

	if (rh->collect)
		return keep(rh, buf, size, COLLECT_MAX);

	return 0;
}

static void resp_h(int err, const struct http_msg *msg, void *arg)
{
	struct rhttp *rh = arg;

	if (rh->released) {
		mem_deref(rh);
		return;
	}

	take_status(rh, msg);
	finish(rh, err);
}

/* A header value must not carry a line break (header injection). */
static bool hval_ok(const char *s)
{
	return !s || !strpbrk(s, "\r\n");
}

static int build(struct mbuf *mb, const struct rhttp_opts *o,
		 const char *method)
{
	bool has_body = o->body_len || !strcmp(method, "POST") ||
			!strcmp(method, "PUT") || !strcmp(method, "PATCH");
	int err = 0;

	err |= mbuf_printf(mb, "User-Agent: parley/%s\r\n", PARLEY_VERSION);
	if (o->auth)
		err |= mbuf_printf(mb, "Authorization: %s\r\n", o->auth);
	else if (o->bearer)
		err |= mbuf_printf(mb, "Authorization: Bearer %s\r\n",
				   o->bearer);
	if (o->extra_headers)
		err |= mbuf_write_str(mb, o->extra_headers);
	if (has_body)
		err |= mbuf_printf(mb, "Content-Type: %s\r\n"
				   "Content-Length: %zu\r\n",
				   o->ctype ? o->ctype :
				   "application/octet-stream", o->body_len);
	err |= mbuf_write_str(mb, "\r\n");
	if (o->body_len)
		err |= mbuf_write_mem(mb, o->body, o->body_len);

	return err;
}

int rhttp_request(struct rhttp **reqp, struct http_cli *cli,
		  const struct rhttp_opts *o, rhttp_data_h *datah,
		  rhttp_done_h *doneh, void *arg)
{
	const char *method;
	struct rhttp *rh;
	struct mbuf *mb = NULL;
	size_t xlen;
	int err;

	if (!reqp || !cli || !o || !o->url || !doneh ||
	    (o->body_len && !o->body))
		return EINVAL;

	method = o->method && *o->method ? o->method : "POST";
	if (!hval_ok(o->auth) || !hval_ok(o->bearer) || !hval_ok(o->ctype) ||
	    strpbrk(method, " \r\n"))
		return EINVAL;
	if (o->extra_headers) {
		xlen = strlen(o->extra_headers);
		if (xlen && (xlen < 2 ||
			     strcmp(o->extra_headers + xlen - 2, "\r\n") ||
			     strstr(o->extra_headers, "\r\n\r\n")))
			return EINVAL;
	}

	rh = mem_zalloc(sizeof(*rh), destructor);
	if (!rh)
		return ENOMEM;

	rh->datah = datah;
	rh->doneh = doneh;
	rh->arg = arg;
	rh->collect = o->collect;
	rh->timeout_ms = o->timeout_ms ? o->timeout_ms : DEFAULT_TIMEOUT_MS;

	mb = mbuf_alloc(512 + o->body_len);
	if (!mb) {
		err = ENOMEM;
		goto out;
	}
	err = build(mb, o, method);
	if (err)
		goto out;

	err = http_request(&rh->req, cli, method, o->url, resp_h, data_h, rh,
			   "%b", mb->buf, mb->end);
	if (err)
		goto out;

	tmr_start(&rh->tmr, rh->timeout_ms, timeout_h, rh);

 out:
	mem_deref(mb);
	if (err)
		mem_deref(rh);
	else
		*reqp = rh;

	return err;
}
