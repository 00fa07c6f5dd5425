/* httpd.c - see httpd.h for why Parley has its own connection layer. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <re.h>
#include "core/log.h"
#include "http/httpd.h"
#include "json/json.h"

enum {
	MAX_HEADER = 16384,   /* bytes of request line + headers */
	LINGER_MS = 2000,     /* a refused upload may go on this long */
	INIT_TIMEOUT_MS = 10000,
};

struct httpd {
	struct tcp_sock *ts;
	struct list conns;
	uint32_t idle_ms;
	httpd_limit_h *limith;
	httpd_req_h *reqh;
	void *arg;
};

struct hconn {
	struct le le;
	struct httpd *httpd;     /* NULL once the server is gone */
	struct tcp_conn *tc;     /* NULL once closed */
	struct mbuf *mb;         /* received, not yet handled */
	struct tmr tmr;
	struct sa peer;
	bool busy;               /* a request awaits its reply */
	bool close_after;        /* close once the reply is sent */
	bool linger;             /* ...after the client stops sending */
	bool lingering;          /* replied; reading and dropping input */
	bool continued;          /* 100 Continue already sent */
	bool processing;         /* inside conn_process() */
	bool head;               /* the request awaiting a reply is HEAD */
};

static void conn_process(struct hconn *conn);

const char *http_reason(uint16_t scode)
{
	switch (scode) {
	case 100: return "Continue";
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 206: return "Partial Content";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 415: return "Unsupported Media Type";
	case 416: return "Range Not Satisfiable";
	case 422: return "Unprocessable Content";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	default:  return "Status";
	}
}

static void conn_close(struct hconn *conn)
{
	list_unlink(&conn->le);
	tmr_cancel(&conn->tmr);
	conn->tc = mem_deref(conn->tc);
	conn->mb = mem_deref(conn->mb);
}

static void conn_destructor(void *data)
{
	struct hconn *conn = data;

	conn_close(conn);
}

/* the list's reference goes when the connection closes; a pending
 * asynchronous reply may hold another */
static void conn_drop(struct hconn *conn)
{
	if (!conn->tc && !conn->le.list)
		return;
	conn_close(conn);
	mem_deref(conn);
}

static void timeout_handler(void *arg)
{
	conn_drop(arg);
}

static void close_handler(int err, void *arg)
{
	(void)err;
	conn_drop(arg);
}

static int send_raw(struct hconn *conn, struct mbuf *mb)
{
	mb->pos = 0;
	return conn->tc ? tcp_send(conn->tc, mb) : 0;
}

int hconn_reply(struct hconn *conn, uint16_t scode, const char *reason,
		const char *ctype, const char *xhdrs, const void *body,
		size_t len)
{
	struct mbuf *mb;
	int err;

	if (!conn)
		return EINVAL;
	conn->busy = false;
	if (!conn->tc)
		return 0;

	mb = mbuf_alloc(256 + len);
	if (!mb)
		return ENOMEM;

	err = mbuf_printf(mb, "HTTP/1.1 %u %s\r\n"
			  "Content-Length: %zu\r\n"
			  "Cache-Control: no-store\r\n"
			  "%s%s%s"
			  "%s"
			  "%s\r\n",
			  scode, reason ? reason : http_reason(scode), len,
			  ctype ? "Content-Type: " : "",
			  ctype ? ctype : "", ctype ? "\r\n" : "",
			  xhdrs ? xhdrs : "",
			  conn->close_after ? "Connection: close\r\n" : "");
	/* HEAD: the GET's Content-Length, but no body (RFC 9110 9.3.2) */
	if (!err && len && !conn->head)
		err = mbuf_write_mem(mb, body, len);
	if (!err)
		err = send_raw(conn, mb);
	mem_deref(mb);

	/* a refused request whose body is still coming (a 413 before the
	 * upload ended): closing now would answer the client's next bytes
	 * with a reset, which may destroy our reply in its receive buffer
	 * before it is read. Stop writing, drop what still arrives, close
	 * when the client does (or after LINGER_MS). */
	if (!err && conn->close_after && conn->linger && conn->tc) {
		(void)shutdown(tcp_conn_fd(conn->tc), SHUT_WR);
		conn->lingering = true;
		conn->mb = mem_deref(conn->mb);
		tmr_start(&conn->tmr, LINGER_MS, timeout_handler, conn);
		return 0;
	}
	if (err || conn->close_after) {
		conn_drop(conn);
		return err;
	}

	if (conn->httpd)
		tmr_start(&conn->tmr, conn->httpd->idle_ms, timeout_handler,
			  conn);
	/* a pipelined request may be waiting (unless we are answering from
	 * inside conn_process(), whose loop will go on by itself) */
	if (!conn->processing && conn->mb && mbuf_get_left(conn->mb)) {
		mem_ref(conn);
		conn_process(conn);
		mem_deref(conn);
	}
	return 0;
}

int hconn_reply_error(struct hconn *conn, uint16_t scode, const char *code,
		      const char *message, const char *field)
{
	char *body = NULL;
	int err;

	if (field)
		err = re_sdprintf(&body,
				  "{\"error\":{\"code\":%H,\"message\":%H,"
				  "\"field\":%H}}",
				  json_print_str, code, json_print_str,
				  message, json_print_str, field);
	else
		err = re_sdprintf(&body,
				  "{\"error\":{\"code\":%H,\"message\":%H}}",
				  json_print_str, code, json_print_str,
				  message);
	if (err)
		return err;
	err = hconn_reply(conn, scode, NULL, "application/json", NULL, body,
			  strlen(body));
	mem_deref(body);
	return err;
}

const struct sa *hconn_peer(const struct hconn *conn)
{
	return conn ? &conn->peer : NULL;
}

static bool hdr_has_token(const struct http_msg *msg, enum http_hdrid id,
			  const char *token)
{
	const struct http_hdr *h = http_msg_hdr(msg, id);

	if (!h)
		return false;
	for (size_t i = 0; i + strlen(token) <= h->val.l; i++)
		if (!strncasecmp(h->val.p + i, token, strlen(token)))
			return true;
	return false;
}

/* Content-Length: one header of digits only (RFC 9112 6.3); libre
 * reads "abc" or "-5" as 0 and would frame the stream wrongly */
static bool clen_valid(const struct http_msg *msg)
{
	const struct http_hdr *h = http_msg_hdr(msg, HTTP_HDR_CONTENT_LENGTH);

	if (!h)
		return true;
	if (http_msg_hdr_count(msg, HTTP_HDR_CONTENT_LENGTH) != 1 ||
	    !h->val.l || h->val.l > 10)
		return false;
	for (size_t i = 0; i < h->val.l; i++)
		if (h->val.p[i] < '0' || h->val.p[i] > '9')
			return false;
	return pl_u64(&h->val) <= UINT32_MAX;
}

/* refuse with a JSON error and close: the rest of the stream cannot be
 * framed any more */
static void refuse(struct hconn *conn, uint16_t scode, const char *code,
		   const char *message)
{
	conn->close_after = true;
	conn->linger = true;
	conn->head = false;
	conn->mb = mem_deref(conn->mb);
	(void)hconn_reply_error(conn, scode, code, message, NULL);
}

/* handle as many complete requests as the buffer holds, one at a time */
static void conn_process(struct hconn *conn)
{
	conn->processing = true;
	while (conn->tc && conn->mb && !conn->busy) {
		struct mbuf *mb = conn->mb;
		size_t start = mb->pos, limit;
		struct http_msg *msg;
		int err;

		if (!mbuf_get_left(mb)) {
			conn->mb = mem_deref(conn->mb);
			break;
		}

		err = http_msg_decode(&msg, mb, true);
		if (err == ENODATA) {
			mb->pos = start;
			if (mbuf_get_left(mb) > MAX_HEADER)
				refuse(conn, 431, "header_too_large",
				       "request line and headers exceed 16384 "
				       "bytes");
			break;
		}
		if (err) {
			refuse(conn, 400, "bad_request",
			       "malformed HTTP request");
			break;
		}
		/* also when the whole head arrived in one read */
		if (mb->pos - start > MAX_HEADER) {
			mem_deref(msg);
			refuse(conn, 431, "header_too_large",
			       "request line and headers exceed 16384 bytes");
			break;
		}

		if (!clen_valid(msg)) {
			mem_deref(msg);
			refuse(conn, 400, "bad_request",
			       "invalid Content-Length header");
			break;
		}

		if (http_msg_hdr(msg, HTTP_HDR_TRANSFER_ENCODING)) {
			mem_deref(msg);
			refuse(conn, 411, "length_required",
			       "chunked request bodies are not supported; "
			       "send Content-Length");
			break;
		}

		limit = conn->httpd && conn->httpd->limith ?
			conn->httpd->limith(msg, conn->httpd->arg) : 0;
		if (msg->clen > limit) {
			char text[96];

			re_snprintf(text, sizeof(text),
				    "request body of %u bytes exceeds the "
				    "limit of %zu bytes", msg->clen, limit);
			mem_deref(msg);
			refuse(conn, 413, "body_too_large", text);
			break;
		}

		if (mbuf_get_left(mb) < msg->clen) {
			if (!conn->continued &&
			    hdr_has_token(msg, HTTP_HDR_EXPECT,
					  "100-continue")) {
				struct mbuf *c = mbuf_alloc(32);
				if (c) {
					(void)mbuf_write_str(c,
					  "HTTP/1.1 100 Continue\r\n\r\n");
					(void)send_raw(conn, c);
					mem_deref(c);
				}
				conn->continued = true;
			}
			mb->pos = start;
			mem_deref(msg);
			break;
		}
		conn->continued = false;

		/* body: the next clen bytes; keep the rest for later */
		msg->mb = mem_deref(msg->mb);
		msg->mb = mbuf_alloc(msg->clen ? msg->clen : 1);
		if (!msg->mb) {
			mem_deref(msg);
			conn_drop(conn);
			break;
		}
		(void)mbuf_write_mem(msg->mb, mbuf_buf(mb), msg->clen);
		msg->mb->pos = 0;
		mbuf_advance(mb, (ssize_t)msg->clen);

		conn->close_after =
			hdr_has_token(msg, HTTP_HDR_CONNECTION, "close") ||
			!pl_strcmp(&msg->ver, "1.0");
		conn->busy = true;
		conn->head = !pl_strcmp(&msg->met, "HEAD");
		tmr_cancel(&conn->tmr);

		if (conn->httpd)
			conn->httpd->reqh(conn, msg, conn->httpd->arg);
		else
			conn->busy = false;
		mem_deref(msg);
	}
	conn->processing = false;
}

static void recv_handler(struct mbuf *mb, void *arg)
{
	struct hconn *conn = arg;
	int err = 0;

	if (conn->lingering)
		return;

	if (!conn->mb) {
		conn->mb = mbuf_alloc(mbuf_get_left(mb));
		if (!conn->mb) {
			conn_drop(conn);
			return;
		}
	}
	else if (conn->mb->pos > 0 && conn->mb->pos == conn->mb->end) {
		conn->mb->pos = conn->mb->end = 0;
	}

	{
		size_t pos = conn->mb->pos;
		conn->mb->pos = conn->mb->end;
		err = mbuf_write_mem(conn->mb, mbuf_buf(mb),
				     mbuf_get_left(mb));
		conn->mb->pos = pos;
	}
	if (err) {
		conn_drop(conn);
		return;
	}

	mem_ref(conn);
	conn_process(conn);
	mem_deref(conn);
}

static void connect_handler(const struct sa *peer, void *arg)
{
	struct httpd *httpd = arg;
	struct hconn *conn;
	int err;

	conn = mem_zalloc(sizeof(*conn), conn_destructor);
	if (!conn) {
		tcp_reject(httpd->ts);
		return;
	}
	conn->httpd = httpd;
	conn->peer  = *peer;
	list_append(&httpd->conns, &conn->le, conn);

	err = tcp_accept(&conn->tc, httpd->ts, NULL, recv_handler,
			 close_handler, conn);
	if (err) {
		conn_drop(conn);
		tcp_reject(httpd->ts);
		return;
	}
	tmr_start(&conn->tmr, INIT_TIMEOUT_MS, timeout_handler, conn);
}

static void httpd_destructor(void *data)
{
	struct httpd *httpd = data;
	struct le *le = httpd->conns.head;

	while (le) {
		struct hconn *conn = le->data;

		le = le->next;
		conn->httpd = NULL;
		conn_drop(conn);
	}
	mem_deref(httpd->ts);
}

int httpd_alloc(struct httpd **httpdp, const struct sa *laddr,
		uint32_t idle_timeout_s, httpd_limit_h *limith,
		httpd_req_h *reqh, void *arg)
{
	struct httpd *httpd;
	int err;

	if (!httpdp || !laddr || !reqh)
		return EINVAL;

	httpd = mem_zalloc(sizeof(*httpd), httpd_destructor);
	if (!httpd)
		return ENOMEM;
	httpd->idle_ms = idle_timeout_s * 1000;
	httpd->limith  = limith;
	httpd->reqh    = reqh;
	httpd->arg     = arg;

	err = tcp_listen(&httpd->ts, laddr, connect_handler, httpd);
	if (err)
		mem_deref(httpd);
	else
		*httpdp = httpd;
	return err;
}

int httpd_local(const struct httpd *httpd, struct sa *laddr)
{
	if (!httpd || !httpd->ts)
		return EINVAL;
	return tcp_sock_local_get(httpd->ts, laddr);
}

void httpd_stop_listening(struct httpd *httpd)
{
	if (httpd)
		httpd->ts = mem_deref(httpd->ts);
}
