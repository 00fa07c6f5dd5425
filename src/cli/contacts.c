/* contacts.c - `parley contacts import`, see contacts.h.
 *
 * The file is mapped, not read: a million rows are 40-60 MB. It goes to
 * POST /api/v1/contacts/import in chunks of whole CSV records (quoted
 * line breaks respected), each with the header record in front, so every
 * chunk is a complete CSV the server checks and commits on its own, and
 * stays under the server's body limit (a 413 halves the chunk size and
 * the chunk is sent again; the body waits for "100 Continue", so a
 * refused one is not uploaded). The server numbers rows by the physical line
 * in the body it got; line = first line of the chunk in the file + (row
 * - lines of the header - 1) maps them back.
 *
 * The request goes out on a plain blocking socket in pieces, so the bar
 * on stderr moves with the bytes sent; while the server works on a chunk
 * the bar says so and keeps time.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <re.h>
#include "cli/contacts.h"
#include "cli/httpc.h"
#include "config/config.h"
#include "json/json.h"

enum {
	EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2,
	DEFAULT_CHUNK = 8 << 20,        /* half the default server limit */
	MIN_ROOM = 256,                 /* bytes of records a chunk holds */
	PIECE = 256 << 10,              /* bytes per send() between redraws */
	RESPONSE_MAX = 16 << 20,
	WAIT_S = 3600,                  /* for one chunk's answer */
	CONTINUE_WAIT_MS = 3000,        /* for "100 Continue" */
	DEFAULT_SHOWN = 20,
};

struct imp {
	const char *url, *key, *path;
	long long campaign;
	const char *country;
	size_t chunk_max;
	unsigned shown_max;
	bool json;

	const char *buf;                /* the mapped file */
	size_t size;
	size_t hdr_len, hdr_lines;

	/* progress */
	size_t sent_total;              /* bytes of the file imported or sent */
	unsigned chunk_no;
	uint64_t t0, last_draw;
	const char *phase;

	/* the server's summaries, added up */
	long long received, created, updated, dnc, failed;
	struct odict *errors;           /* {line, code, field, message} */
	size_t nerrors;
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void contacts_usage(FILE *f)
{
	fprintf(f,
"usage: parley contacts import --campaign ID FILE.csv [--server URL]\n"
"           [--api-key KEY] [--config FILE] [--default-country CC]\n"
"           [--chunk-size BYTES] [--errors N] [--json]\n"
"\n"
"Imports a CSV file (header row: phone, name, email, timezone, any other\n"
"columns become contact fields) into a campaign through the running\n"
"server, in chunks of at most --chunk-size bytes (default %d MiB; the\n"
"server accepts http.import_max_body). A progress bar goes to stderr;\n"
"then the totals and the first N (default %d) rejected rows, by line\n"
"number in FILE, go to stdout (--json: all of it as one JSON object).\n",
		DEFAULT_CHUNK >> 20, DEFAULT_SHOWN);
}

/* ---- records ---- */

size_t csv_record_end(const char *buf, size_t len, size_t *linesp)
{
	bool quoted = false;
	size_t lines = 0, i = 0;

	while (i < len) {
		char c = buf[i++];

		if (c == '"') {
			quoted = !quoted;
		}
		else if (c == '\r' || c == '\n') {
			/* CR LF is one line end, as for the server's reader */
			if (c == '\r' && i < len && buf[i] == '\n')
				++i;
			++lines;
			if (!quoted)
				break;
		}
	}
	if (i == len && len && buf[len - 1] != '\n' && buf[len - 1] != '\r')
		++lines;
	*linesp = lines;
	return i;
}

/* ---- the bar ---- */

static void draw(struct imp *im, bool force)
{
	uint64_t t = now_ms();
	double frac = im->size ? (double)im->sent_total / (double)im->size : 1;
	char bar[31];
	int fill = (int)(frac * 30);
	double div = im->size >= 1000000 ? 1e6 : 1e3;
	const char *unit = im->size >= 1000000 ? "MB" : "kB";

	if (!force && t - im->last_draw < 100)
		return;
	im->last_draw = t;
	for (int i = 0; i < 30; i++)
		bar[i] = i < fill ? '#' : '.';
	bar[30] = '\0';
	fprintf(stderr, "\r%3d%% [%s] %.1f/%.1f %s  chunk %u %-9s %lld rows "
		"%4.0fs", (int)(frac * 100), bar, (double)im->sent_total / div,
		(double)im->size / div, unit, im->chunk_no, im->phase,
		im->received, (double)(t - im->t0) / 1000.0);
	fflush(stderr);
}

/* ---- one request ---- */

static int dial(const char *url)
{
	char host[256], port[8] = "80";
	const char *p = url + 7, *colon, *slash;
	struct addrinfo hints, *res = NULL, *ai;
	struct timeval tv = {60, 0};
	int fd = -1;

	slash = strchr(p, '/');
	colon = strchr(p, ':');
	if (colon && (!slash || colon < slash)) {
		snprintf(host, sizeof(host), "%.*s", (int)(colon - p), p);
		snprintf(port, sizeof(port), "%.*s", (int)((slash ? slash :
			 colon + strlen(colon)) - colon - 1), colon + 1);
	}
	else {
		snprintf(host, sizeof(host), "%.*s", (int)(slash ?
			 (size_t)(slash - p) : strlen(p)), p);
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, port, &hints, &res))
		return -1;
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		if (!connect(fd, ai->ai_addr, ai->ai_addrlen))
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

static int send_all(struct imp *im, int fd, const char *p, size_t n,
		    bool count)
{
	while (n) {
		size_t k = n < PIECE ? n : PIECE;
		ssize_t w = send(fd, p, k, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? errno : EIO;
		p += w;
		n -= (size_t)w;
		if (count) {
			im->sent_total += (size_t)w;
			draw(im, false);
		}
	}
	return 0;
}

/* the whole answer (the server closes: Connection: close) */
static int read_response(struct imp *im, int fd, struct httpc_resp *resp)
{
	struct mbuf *mb = mbuf_alloc(8192);
	uint64_t deadline = now_ms() + (uint64_t)WAIT_S * 1000;
	const char *hdr_end;
	char buf[16384];
	int err = 0, type;

	if (!mb)
		return ENOMEM;
	for (;;) {
		struct pollfd pfd = {fd, POLLIN, 0};
		int r = poll(&pfd, 1, 200);
		ssize_t n;

		draw(im, false);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err = errno;
			break;
		}
		if (!r) {
			if (now_ms() > deadline) {
				err = ETIMEDOUT;
				break;
			}
			continue;
		}
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = n < 0 ? errno : 0;
			break;
		}
		if (mb->end + (size_t)n > RESPONSE_MAX) {
			err = EOVERFLOW;
			break;
		}
		err = mbuf_write_mem(mb, (uint8_t *)buf, (size_t)n);
		if (err)
			break;
	}
	if (!err)
		err = mbuf_write_u8(mb, 0);
	if (!err && sscanf((char *)mb->buf, "HTTP/1.%*c %hu",
			   &resp->status) != 1)
		err = EPROTO;
	if (!err) {
		hdr_end = strstr((char *)mb->buf, "\r\n\r\n");
		err = str_dup(&resp->body, hdr_end ? hdr_end + 4 : "");
	}
	if (!err && resp->body[0] == '{')
		(void)json_parse(&resp->json, &type, resp->body,
				 strlen(resp->body), NULL);
	mem_deref(mb);
	return err;
}

/*
 * Expect: 100-continue. true: the server wants the body ("100 Continue"
 * read and dropped, or no word within the wait: send anyway); false: a
 * final answer came first (a 413), left unread for read_response().
 */
static bool continue_ok(int fd)
{
	struct pollfd pfd = {fd, POLLIN, 0};
	char buf[64];
	ssize_t n;
	char *end;

	if (poll(&pfd, 1, CONTINUE_WAIT_MS) <= 0)
		return true;
	n = recv(fd, buf, sizeof(buf) - 1, MSG_PEEK);
	if (n <= 0)
		return true;
	buf[n] = '\0';
	if (strncmp(buf, "HTTP/1.1 100", 12) && strncmp(buf, "HTTP/1.0 100", 12))
		return false;
	end = strstr(buf, "\r\n\r\n");
	if (end)
		(void)recv(fd, buf, (size_t)(end + 4 - buf), 0);
	return true;
}

/* POST header record + the file's bytes [off, off + len) */
static int post_chunk(struct imp *im, size_t off, size_t len,
		      struct httpc_resp *resp)
{
	bool with_hdr = off > 0;
	size_t body = len + (with_hdr ? im->hdr_len : 0);
	char *req = NULL;
	size_t sent0 = im->sent_total;
	int fd, err;

	memset(resp, 0, sizeof(*resp));
	fd = dial(im->url);
	if (fd < 0)
		return ECONNREFUSED;
	err = re_sdprintf(&req, "POST /api/v1/contacts/import?campaign_id=%lld"
			  "%s%s HTTP/1.1\r\nHost: parley\r\n"
			  "Authorization: Bearer %s\r\n"
			  "Content-Type: text/csv\r\nContent-Length: %zu\r\n"
			  "Expect: 100-continue\r\n"
			  "Connection: close\r\n\r\n", im->campaign,
			  im->country ? "&default_country=" : "",
			  im->country ? im->country : "", im->key, body);
	im->phase = "sending";
	if (!err)
		err = send_all(im, fd, req, strlen(req), false);
	/* a body the server refuses (413) is not sent at all */
	if (!err && continue_ok(fd)) {
		if (with_hdr)
			err = send_all(im, fd, im->buf, im->hdr_len, false);
		if (!err)
			err = send_all(im, fd, im->buf + off, len, true);
	}
	/* an early answer (413) may cut the upload: read it all the same */
	im->phase = "importing";
	draw(im, true);
	{
		int rerr = read_response(im, fd, resp);
		if (rerr && !resp->status)
			err = err ? err : rerr;
		else if (resp->status)
			err = 0;
	}
	if (err || resp->status != 200)
		im->sent_total = sent0;
	close(fd);
	mem_deref(req);
	if (err)
		httpc_resp_reset(resp);
	return err;
}

/* ---- results ---- */

static long long jint(const struct odict *o, const char *k)
{
	return httpc_int(o, k);
}

/* the server's row number in a chunk as a line of the file */
static long long file_line(const struct imp *im, size_t first_line,
			   long long row)
{
	return (long long)first_line + row - (long long)im->hdr_lines - 1;
}

static int add_errors(struct imp *im, const struct odict *resp,
		      size_t first_line)
{
	const struct odict_entry *arr = odict_lookup(resp, "errors");
	int err = 0;

	if (!arr || arr->type != ODICT_ARRAY)
		return 0;
	for (struct le *le = arr->u.odict->lst.head; le && !err;
	     le = le->next) {
		const struct odict_entry *e = le->data;
		struct odict *o = NULL;
		char k[24];

		if (e->type != ODICT_OBJECT)
			continue;
		err = odict_alloc(&o, 8);
		if (err)
			break;
		err |= odict_entry_add(o, "line", ODICT_INT, (int64_t)
				       file_line(im, first_line,
						 jint(e->u.odict, "row")));
		err |= odict_entry_add(o, "code", ODICT_STRING,
				       httpc_str(e->u.odict, "code"));
		if (*httpc_str(e->u.odict, "field"))
			err |= odict_entry_add(o, "field", ODICT_STRING,
					       httpc_str(e->u.odict, "field"));
		err |= odict_entry_add(o, "message", ODICT_STRING,
				       httpc_str(e->u.odict, "message"));
		re_snprintf(k, sizeof(k), "%zu", im->nerrors);
		if (!err)
			err = odict_entry_add(im->errors, k, ODICT_OBJECT, o);
		if (!err)
			++im->nerrors;
		mem_deref(o);
	}
	return err;
}

/* "invalid CSV at line 12 column 3: ..." with the file's line */
static void print_failure(const struct imp *im, const struct httpc_resp *r,
			  size_t first_line)
{
	const struct odict_entry *e = r->json ?
		odict_lookup(r->json, "error") : NULL;
	const char *msg = e && e->type == ODICT_OBJECT ?
		odict_string(e->u.odict, "message") : NULL;
	const char *at = msg ? strstr(msg, " at line ") : NULL;

	if (at) {
		long long row = strtoll(at + 9, NULL, 10);
		const char *rest = strchr(at + 9, ' ');

		fprintf(stderr, "parley: import: HTTP %u: %.*s at line %lld "
			"of %s%s\n", r->status, (int)(at - msg), msg,
			file_line(im, first_line, row), im->path,
			rest ? rest : "");
		return;
	}
	httpc_failed("import", r);
}

static void print_summary(const struct imp *im, double secs, bool ok)
{
	if (im->json) {
		re_printf("{\"file\":%H,\"campaign_id\":%lld,\"ok\":%s,"
			  "\"received\":%lld,\"created\":%lld,"
			  "\"updated\":%lld,\"skipped_dnc\":%lld,"
			  "\"failed\":%lld,\"chunks\":%u,\"seconds\":%.3f,"
			  "\"bytes\":%zu,\"errors\":%H}\n",
			  json_print_str, im->path, im->campaign,
			  ok ? "true" : "false", im->received, im->created,
			  im->updated, im->dnc, im->failed, im->chunk_no, secs,
			  im->size, json_print_array, im->errors);
		return;
	}
	printf("%s %s into campaign %lld: %lld rows in %.1f s (%.0f rows/s)\n",
	       ok ? "imported" : "partly imported", im->path, im->campaign,
	       im->received, secs, secs > 0 ? (double)im->received / secs :
	       0.0);
	printf("  created %lld, updated %lld, skipped (DNC) %lld, invalid "
	       "%lld\n", im->created, im->updated, im->dnc, im->failed);
	if (!im->nerrors)
		return;
	printf("rejected rows (first %zu of %lld):\n",
	       MIN(im->nerrors, (size_t)im->shown_max),
	       im->failed + im->dnc);
	{
		size_t i = 0;
		for (struct le *le = im->errors->lst.head;
		     le && i < im->shown_max; le = le->next, i++) {
			const struct odict_entry *e = le->data;
			const char *field = httpc_str(e->u.odict, "field");
			printf("  line %lld: %s%s%s: %s\n",
			       httpc_int(e->u.odict, "line"),
			       httpc_str(e->u.odict, "code"), *field ? " " :
			       "", field, httpc_str(e->u.odict, "message"));
		}
	}
	if (im->nerrors < (size_t)(im->failed + im->dnc))
		printf("  (the server lists at most 1000 per chunk)\n");
}

/* ---- the command ---- */

static int import(struct imp *im)
{
	size_t off, lines, line;
	int rc = EXIT_OK;

	im->hdr_len = csv_record_end(im->buf, im->size, &im->hdr_lines);
	if (im->hdr_len >= im->size) {
		fprintf(stderr, "parley: %s has a header and no rows\n",
			im->path);
		return EXIT_USAGE;
	}
	if (im->hdr_len + MIN_ROOM > im->chunk_max) {
		fprintf(stderr, "parley: the header record alone is %zu "
			"bytes; raise --chunk-size\n", im->hdr_len);
		return EXIT_USAGE;
	}
	off = im->hdr_len;
	line = im->hdr_lines + 1;
	im->sent_total = 0;

	while (off < im->size) {
		size_t end = off, nlines = 0, room;
		struct httpc_resp r;
		int err;

		/* whole records up to the chunk size (at least one) */
		room = im->chunk_max - im->hdr_len;
		while (end < im->size) {
			size_t n = csv_record_end(im->buf + end,
						  im->size - end, &lines);
			if (end > off && end + n - off > room)
				break;
			end += n;
			nlines += lines;
		}
		++im->chunk_no;
		err = post_chunk(im, off == im->hdr_len ? 0 : off,
				 off == im->hdr_len ? end : end - off, &r);
		if (err) {
			draw(im, true);
			fprintf(stderr, "\nparley: cannot import through %s: "
				"%s\n", im->url, strerror(err));
			return EXIT_FAIL;
		}
		/* the server takes less: half of what it refused */
		if (r.status == 413 && (end - off + im->hdr_len) / 2 >=
		    im->hdr_len + MIN_ROOM) {
			im->chunk_max = (end - off + im->hdr_len) / 2;
			--im->chunk_no;
			httpc_resp_reset(&r);
			continue;
		}
		if (r.status != 200 || !r.json) {
			draw(im, true);
			fputc('\n', stderr);
			print_failure(im, &r, line);
			httpc_resp_reset(&r);
			rc = EXIT_FAIL;
			break;
		}
		im->received += jint(r.json, "received");
		im->created += jint(r.json, "created");
		im->updated += jint(r.json, "updated");
		im->dnc += jint(r.json, "skipped_dnc");
		im->failed += jint(r.json, "failed");
		err = add_errors(im, r.json, line);
		httpc_resp_reset(&r);
		if (err)
			return EXIT_FAIL;
		im->phase = "done";
		draw(im, true);
		off = end;
		line += nlines;
	}
	if (rc == EXIT_OK) {
		im->sent_total = im->size;
		im->phase = "done";
		draw(im, true);
		fputc('\n', stderr);
	}
	print_summary(im, (double)(now_ms() - im->t0) / 1000.0,
		      rc == EXIT_OK);
	return rc;
}

static bool parse_size(const char *s, unsigned long long lo,
		       unsigned long long hi, unsigned long long *vp)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (end == s || errno || *end || v < lo || v > hi || *s == '-')
		return false;
	*vp = v;
	return true;
}

int cmd_contacts(int argc, char **argv)
{
	const char *campaign = NULL, *server = NULL, *key = NULL,
		*cfg_path = NULL, *chunk = NULL, *shown = NULL;
	struct imp im;
	struct config cfg;
	struct config_err ce;
	char url[300];
	unsigned long long v;
	struct stat st;
	void *map = MAP_FAILED;
	int fd = -1, rc;

	memset(&im, 0, sizeof(im));
	if (argc < 1 || strcmp(argv[0], "import")) {
		contacts_usage(argc >= 1 && (!strcmp(argv[0], "--help") ||
					     !strcmp(argv[0], "-h")) ?
			       stdout : stderr);
		return argc >= 1 && (!strcmp(argv[0], "--help") ||
				     !strcmp(argv[0], "-h")) ? EXIT_OK :
			EXIT_USAGE;
	}
	for (int i = 1; i < argc; i++) {
		static const char *const with_value[] = {
			"--campaign", "--server", "--api-key", "--config",
			"--default-country", "--chunk-size", "--errors", NULL};
		const char **dst[] = {&campaign, &server, &key, &cfg_path,
				      &im.country, &chunk, &shown};
		size_t k;

		if (!strcmp(argv[i], "--json")) {
			im.json = true;
			continue;
		}
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			contacts_usage(stdout);
			return EXIT_OK;
		}
		for (k = 0; with_value[k]; k++)
			if (!strcmp(argv[i], with_value[k]))
				break;
		if (with_value[k]) {
			if (i + 1 >= argc) {
				fprintf(stderr, "parley: %s needs a value\n",
					argv[i]);
				return EXIT_USAGE;
			}
			*dst[k] = argv[++i];
			continue;
		}
		if (argv[i][0] == '-' || im.path) {
			fprintf(stderr, "parley: unexpected '%s' (see parley "
				"contacts --help)\n", argv[i]);
			return EXIT_USAGE;
		}
		im.path = argv[i];
	}
	if (!campaign || !im.path) {
		fprintf(stderr, "parley: contacts import needs --campaign ID "
			"and a CSV file\n");
		return EXIT_USAGE;
	}
	if (!parse_size(campaign, 1, INT64_MAX, &v)) {
		fprintf(stderr, "parley: --campaign takes a campaign id\n");
		return EXIT_USAGE;
	}
	im.campaign = (long long)v;
	im.chunk_max = DEFAULT_CHUNK;
	if (chunk) {
		if (!parse_size(chunk, 1024, 1ULL << 30, &v)) {
			fprintf(stderr, "parley: --chunk-size takes 1024 to "
				"1073741824 bytes\n");
			return EXIT_USAGE;
		}
		im.chunk_max = (size_t)v;
	}
	im.shown_max = DEFAULT_SHOWN;
	if (shown) {
		if (!parse_size(shown, 0, 1000000, &v)) {
			fprintf(stderr, "parley: --errors takes a count\n");
			return EXIT_USAGE;
		}
		im.shown_max = (unsigned)v;
	}
	if (config_load(&cfg, cfg_path, &ce)) {
		fprintf(stderr, "parley: config: %s\n", ce.msg);
		return EXIT_USAGE;
	}
	if (httpc_target(url, sizeof(url), server, cfg.http_listen, &key))
		return EXIT_USAGE;
	im.url = url;
	im.key = key;

	fd = open(im.path, O_RDONLY);
	if (fd < 0 || fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		fprintf(stderr, "parley: cannot read %s: %s\n", im.path,
			fd < 0 ? strerror(errno) : "not a regular file");
		if (fd >= 0)
			close(fd);
		return EXIT_USAGE;
	}
	if (!st.st_size) {
		fprintf(stderr, "parley: %s is empty\n", im.path);
		close(fd);
		return EXIT_USAGE;
	}
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED) {
		fprintf(stderr, "parley: cannot map %s: %s\n", im.path,
			strerror(errno));
		return EXIT_USAGE;
	}
	(void)madvise(map, (size_t)st.st_size, MADV_SEQUENTIAL);
	im.buf = map;
	im.size = (size_t)st.st_size;
	im.t0 = now_ms();
	im.phase = "";
	if (odict_alloc(&im.errors, 64)) {
		munmap(map, im.size);
		return EXIT_FAIL;
	}

	rc = import(&im);

	mem_deref(im.errors);
	munmap(map, im.size);
	return rc;
}
