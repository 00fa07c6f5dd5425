/* httpc.h - a small blocking HTTP/1.1 client for the command line, which
 * talks to a running `parley serve` (it never runs inside the loop). */
#ifndef PARLEY_HTTPC_H
#define PARLEY_HTTPC_H

#include <stddef.h>
#include <stdint.h>

struct odict;

struct httpc_resp {
	uint16_t status;
	char *body;          /* mem-allocated, NUL-terminated */
	struct odict *json;  /* parsed body when it is a JSON object */
};

/**
 * One request to base_url ("http://host:port") + path with an optional
 * JSON body and API key. 0 (any status) or an errno for transport
 * failures. Release the response with httpc_resp_reset().
 */
int httpc_request(struct httpc_resp *resp, const char *base_url,
		  const char *method, const char *path, const char *key,
		  const char *json_body);
void httpc_resp_reset(struct httpc_resp *resp);

/**
 * The server and key a command talks to: server (a URL or host:port;
 * NULL: listen, the config's http.listen) into url, and *keyp from
 * --api-key or else PARLEY_API_KEY. EINVAL (with a message on stderr)
 * when there is no key.
 */
int httpc_target(char *url, size_t sz, const char *server,
		 const char *listen, const char **keyp);

/** Print "parley: WHAT: HTTP 400: <the error's message>" to stderr. */
void httpc_failed(const char *what, const struct httpc_resp *r);

/** A string member ("" when absent) or integer member (0) of o. */
const char *httpc_str(const struct odict *o, const char *key);
long long httpc_int(const struct odict *o, const char *key);

#endif
