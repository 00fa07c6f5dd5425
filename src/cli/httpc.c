/* httpc.c - see httpc.h. Plain sockets, Connection: close, bounded
 * response size and timeouts. */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <re.h>
#include "cli/httpc.h"
#include "json/json.h"

enum { MAX_RESPONSE = 4 << 20, TIMEOUT_S = 30 };

static int dial(const char *host, const char *port)
{
	struct addrinfo hints, *res = NULL, *ai;
	struct timeval tv = {TIMEOUT_S, 0};
	int fd = -1;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, port, &hints, &res))
		return -1;
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		if (!connect(fd, ai->ai_addr, ai->ai_addrlen))
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

void httpc_resp_reset(struct httpc_resp *resp)
{
	resp->body = mem_deref(resp->body);
	resp->json = mem_deref(resp->json);
	resp->status = 0;
}

int httpc_request(struct httpc_resp *resp, const char *base_url,
		  const char *method, const char *path, const char *key,
		  const char *json_body)
{
	char host[256], port[8] = "80", *req = NULL;
	const char *p, *colon, *slash;
	struct mbuf *mb = NULL;
	char buf[4096];
	ssize_t n;
	int fd, err = 0, type;
	const char *hdr_end;

	memset(resp, 0, sizeof(*resp));
	if (strncmp(base_url, "http://", 7))
		return EINVAL;
	p = base_url + 7;
	slash = strchr(p, '/');
	colon = strchr(p, ':');
	if (colon && (!slash || colon < slash)) {
		snprintf(host, sizeof(host), "%.*s", (int)(colon - p), p);
		snprintf(port, sizeof(port), "%.*s",
			 (int)((slash ? slash : colon + strlen(colon)) - colon - 1),
			 colon + 1);
	}
	else {
		snprintf(host, sizeof(host), "%.*s",
			 (int)(slash ? (size_t)(slash - p) : strlen(p)), p);
	}

	fd = dial(host, port);
	if (fd < 0)
		return ECONNREFUSED;

	err = re_sdprintf(&req, "%s %s HTTP/1.1\r\nHost: %s\r\n"
			  "Connection: close\r\n%s%s%s"
			  "Content-Length: %zu\r\n%s\r\n%s",
			  method, path, host, key ? "Authorization: Bearer " :
			  "", key ? key : "", key ? "\r\n" : "",
			  json_body ? strlen(json_body) : (size_t)0,
			  json_body ? "Content-Type: application/json\r\n" : "",
			  json_body ? json_body : "");
	if (err)
		goto out;
	if (write(fd, req, strlen(req)) != (ssize_t)strlen(req)) {
		err = EIO;
		goto out;
	}
	mb = mbuf_alloc(4096);
	if (!mb) {
		err = ENOMEM;
		goto out;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		if (mb->end + (size_t)n > MAX_RESPONSE) {
			err = EOVERFLOW;
			goto out;
		}
		err = mbuf_write_mem(mb, (uint8_t *)buf, (size_t)n);
		if (err)
			goto out;
	}
	if (n < 0) {
		err = errno;
		goto out;
	}
	err = mbuf_write_u8(mb, 0);
	if (err)
		goto out;
	if (sscanf((char *)mb->buf, "HTTP/1.%*c %hu", &resp->status) != 1) {
		err = EPROTO;
		goto out;
	}
	hdr_end = strstr((char *)mb->buf, "\r\n\r\n");
	err = str_dup(&resp->body, hdr_end ? hdr_end + 4 : "");
	if (!err && resp->body[0] == '{')
		(void)json_parse(&resp->json, &type, resp->body,
				 strlen(resp->body), NULL);
 out:
	close(fd);
	mem_deref(req);
	mem_deref(mb);
	if (err)
		httpc_resp_reset(resp);
	return err;
}


int httpc_target(char *url, size_t sz, const char *server,
		 const char *listen, const char **keyp)
{
	if (!*keyp)
		*keyp = getenv("PARLEY_API_KEY");
	if (!*keyp || !**keyp) {
		fprintf(stderr, "parley: an API key is needed: --api-key KEY "
			"or PARLEY_API_KEY\n");
		return EINVAL;
	}
	if (!server)
		server = listen;
	snprintf(url, sz, "%s%s", strncmp(server, "http://", 7) ?
		 "http://" : "", server);
	return 0;
}

void httpc_failed(const char *what, const struct httpc_resp *r)
{
	const struct odict_entry *e = r->json ?
		odict_lookup(r->json, "error") : NULL;
	const char *msg = e && e->type == ODICT_OBJECT ?
		odict_string(e->u.odict, "message") : NULL;

	fprintf(stderr, "parley: %s: HTTP %u: %s\n", what, r->status,
		msg ? msg : r->body ? r->body : "");
}

const char *httpc_str(const struct odict *o, const char *key)
{
	const char *s = o ? odict_string(o, key) : NULL;

	return s ? s : "";
}

long long httpc_int(const struct odict *o, const char *key)
{
	const struct odict_entry *e = o ? odict_lookup(o, key) : NULL;

	return e && e->type == ODICT_INT ? (long long)e->u.integer : 0;
}
