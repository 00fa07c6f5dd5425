/* httpc.h - a small blocking HTTP/1.1 client for the command line, which
 * talks to a running `parley serve` (it never runs inside the loop). */
#ifndef PARLEY_HTTPC_H
#define PARLEY_HTTPC_H

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

#endif
