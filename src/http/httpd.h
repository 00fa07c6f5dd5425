/* httpd.h - HTTP/1.1 server connections on libre's TCP and HTTP parser.
 *
 * libre 1.1.0's http_listen() closes the connection without a response on
 * bodies over 512 KiB and gives no hook to refuse a body before it is
 * read, so Parley keeps its own connection layer: it parses with libre's
 * http_msg_decode(), answers 413/431/411/400 itself with a JSON error,
 * honours Expect: 100-continue and keep-alive, and lets a request be
 * answered later (after work on a worker thread) while holding further
 * pipelined requests of that connection until then.
 */
#ifndef PARLEY_HTTPD_H
#define PARLEY_HTTPD_H

#include <stddef.h>
#include <stdint.h>

struct httpd;
struct hconn;
struct http_msg;
struct sa;

/**
 * A complete request (body in msg->mb). To answer later, mem_ref(conn)
 * (and msg if needed) and call hconn_reply() from the loop thread. Each
 * request must get exactly one reply; the next request on the connection
 * waits for it.
 */
typedef void (httpd_req_h)(struct hconn *conn, const struct http_msg *msg,
			   void *arg);

/** Largest body allowed for this request (headers already parsed). */
typedef size_t (httpd_limit_h)(const struct http_msg *msg, void *arg);

int httpd_alloc(struct httpd **httpdp, const struct sa *laddr,
		uint32_t idle_timeout_s, httpd_limit_h *limith,
		httpd_req_h *reqh, void *arg);

/** The bound address (useful with port 0). */
int httpd_local(const struct httpd *httpd, struct sa *laddr);

/** Stop accepting connections (open ones finish their requests). */
void httpd_stop_listening(struct httpd *httpd);

/**
 * Send a response. xhdrs is extra header lines, each ending in "\r\n"
 * (may be NULL). Safe after the peer has gone (then a no-op).
 */
int hconn_reply(struct hconn *conn, uint16_t scode, const char *reason,
		const char *ctype, const char *xhdrs, const void *body,
		size_t len);

/** Send {"error":{"code":...,"message":...[,"field":...]}}. */
int hconn_reply_error(struct hconn *conn, uint16_t scode, const char *code,
		      const char *message, const char *field);

const struct sa *hconn_peer(const struct hconn *conn);

/** Reason phrase for a status code. */
const char *http_reason(uint16_t scode);

#endif
