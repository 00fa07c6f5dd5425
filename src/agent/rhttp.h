/* rhttp.h - requests to remote providers (LLM, STT, TTS, HTTP tools,
 * webhooks of scenarios) over libre's HTTP client, on the loop thread.
 *
 * One request: method, URL, optional bearer/authorization header, a body
 * with its content type, and a deadline. The response body is handed over
 * as it arrives (streaming: SSE, chunked audio) and/or collected whole.
 * Exactly one done handler call ends a request, unless it is released
 * first with mem_deref() (then nothing more is called).
 */
#ifndef PARLEY_AGENT_RHTTP_H
#define PARLEY_AGENT_RHTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct http_cli;
struct mbuf;
struct rhttp;

struct rhttp_opts {
	const char *method;        /* "POST" (default) */
	const char *url;
	const char *auth;          /* full Authorization value, or NULL */
	const char *bearer;        /* API key sent as "Bearer KEY", or NULL */
	const char *ctype;         /* body type, e.g. "application/json" */
	const uint8_t *body;
	size_t body_len;
	const char *extra_headers; /* "Name: value\r\n..." or NULL */
	uint32_t timeout_ms;       /* whole request; 0: 10 s */
	bool collect;              /* keep the whole body for done */
};

/**
 * Body bytes as they arrive (after chunked decoding). Return non-zero to
 * abort the request (done then gets that error).
 */
typedef int (rhttp_data_h)(const uint8_t *p, size_t n, void *arg);
/**
 * The end: err (ETIMEDOUT, a connection error, or what data returned),
 * the HTTP status (0 when none arrived), the content type and, with
 * collect, the whole body (NUL-terminated; NULL otherwise).
 */
typedef void (rhttp_done_h)(int err, uint16_t status, const char *ctype,
			    struct mbuf *body, void *arg);

int rhttp_request(struct rhttp **reqp, struct http_cli *cli,
		  const struct rhttp_opts *o, rhttp_data_h *datah,
		  rhttp_done_h *doneh, void *arg);

#endif
