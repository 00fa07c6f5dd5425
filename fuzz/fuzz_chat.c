/* fuzz_chat.c - libFuzzer target for the streamed chat path: SSE bytes
 * (src/agent/sse.c) into the chat decoder (src/agent/chat.c) and the
 * reply text into the chunker (src/agent/chunker.c), as dlg_openai does.
 *
 * Input: one byte of split seed, then an SSE stream. It is run twice:
 * fed whole, and fed in fuzzer-chosen pieces of 1..64 bytes.
 *
 * Properties checked (abort() on violation), beyond "does not crash":
 *  - both runs agree on everything: the error, the text, "[DONE]", the
 *    finish reason, every tool call, and the chunks cut from the text;
 *  - errors are 0, EBADMSG, EPROTO or EMSGSIZE, and a decoder error has
 *    a message;
 *  - the text and every tool call's strings are valid UTF-8 without NUL
 *    within the limits; there are at most CHAT_MAX_CALLS calls;
 *  - the chunks are valid UTF-8, non-empty, trimmed, and keep every
 *    letter, digit and non-ASCII byte of the text (only white space and
 *    chunks of bare punctuation are dropped); the text pushed whole into
 *    a chunker gives the same chunks as pushed delta by delta;
 *  - a reply decoded without error goes into a history (calls, results,
 *    text) and the request body built from it is strict JSON.
 */
#include <re.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "agent/chat.h"
#include "agent/chunker.h"
#include "agent/sse.h"
#include "json/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct run {
	struct sse *sse;
	struct chat_dec *dec;
	struct chunker *ch;
	size_t fed;
	struct mbuf *chunks;       /* each chunk, then '\n' */
	size_t content;            /* content bytes in the chunks */
	bool dec_err;              /* the error came from the decoder */
};

static bool utf8_ok(const char *s, size_t n)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t i = 0, len, k;

	while (i < n) {
		const uint8_t c = p[i];

		if (c == 0)
			return false;
		if (c < 0x80)
			len = 1;
		else if (c >= 0xc2 && c <= 0xdf)
			len = 2;
		else if (c >= 0xe0 && c <= 0xef)
			len = 3;
		else if (c >= 0xf0 && c <= 0xf4)
			len = 4;
		else
			return false;
		if (i + len > n)
			return false;
		for (k = 1; k < len; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return false;
		}
		if ((c == 0xe0 && p[i + 1] < 0xa0) ||
		    (c == 0xed && p[i + 1] >= 0xa0) ||
		    (c == 0xf0 && p[i + 1] < 0x90) ||
		    (c == 0xf4 && p[i + 1] >= 0x90))
			return false;
		i += len;
	}

	return true;
}

static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
		c == '\f' || c == '\v';
}

static size_t content(const char *s, size_t n)
{
	size_t m = 0;

	for (size_t i = 0; i < n; i++) {
		const unsigned char c = (unsigned char)s[i];

		m += (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			(c >= '0' && c <= '9') || c >= 0x80;
	}

	return m;
}

static void take_chunks(struct run *r, bool end);

/* The chunks of the whole text pushed at once must be the same. */
static void check_whole(const struct run *a, const char *text, size_t n)
{
	struct run w;

	memset(&w, 0, sizeof(w));
	w.chunks = mbuf_alloc(256);
	if (!w.chunks || chunker_alloc(&w.ch) || chunker_push(w.ch, text, n))
		abort();
	take_chunks(&w, true);
	if (w.chunks->end != a->chunks->end ||
	    memcmp(w.chunks->buf, a->chunks->buf, w.chunks->end))
		abort();
	mem_deref(w.ch);
	mem_deref(w.chunks);
}

static void take_chunks(struct run *r, bool end)
{
	char *c;

	while (!chunker_next(r->ch, end, &c)) {
		size_t n = strlen(c);

		if (!n || is_ws(c[0]) || is_ws(c[n - 1]) || !utf8_ok(c, n) ||
		    !content(c, n))
			abort();
		r->content += content(c, n);
		if (mbuf_write_str(r->chunks, c) ||
		    mbuf_write_u8(r->chunks, '\n'))
			abort();
		mem_deref(c);
	}
}

static int on_event(const char *event, const char *d, size_t len, void *arg)
{
	struct run *r = arg;
	const char *text;
	size_t tlen;
	int err;
	(void)event;

	if (chat_dec_done(r->dec))
		return 0;

	err = chat_dec_feed(r->dec, d, len);
	if (err) {
		r->dec_err = true;
		return err;
	}

	text = chat_dec_text(r->dec, &tlen);
	if (tlen < r->fed)
		abort();
	if (chunker_push(r->ch, text + r->fed, tlen - r->fed))
		abort();
	r->fed = tlen;
	take_chunks(r, false);

	return 0;
}

static uint32_t next_rand(uint32_t *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 16;
}

static int run(struct run *r, const uint8_t *p, size_t n, uint32_t seed)
{
	size_t i = 0, k;
	int err = 0;

	memset(r, 0, sizeof(*r));
	if (sse_alloc(&r->sse, 0, 0, on_event, r) ||
	    chat_dec_alloc(&r->dec) || chunker_alloc(&r->ch))
		abort();
	r->chunks = mbuf_alloc(256);
	if (!r->chunks)
		abort();

	while (i < n && !err) {
		k = seed ? 1 + next_rand(&seed) % 64 : n;
		if (k > n - i)
			k = n - i;
		err = sse_feed(r->sse, p + i, k);
		i += k;
	}
	if (!err) {
		err = chat_dec_end(r->dec);
		r->dec_err = err != 0;
	}
	if (!err)
		take_chunks(r, true);

	if (err && err != EBADMSG && err != EPROTO && err != EMSGSIZE)
		abort();
	if (r->dec_err && !chat_dec_error(r->dec))
		abort();

	return err;
}

static void done(struct run *r)
{
	mem_deref(r->sse);
	mem_deref(r->dec);
	mem_deref(r->ch);
	mem_deref(r->chunks);
}

static bool str_eq(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

static void check_call(const struct chat_call *c)
{
	if (!c->id || !c->name || !c->args)
		abort();
	if (strlen(c->id) > CHAT_MAX_NAME || strlen(c->name) > CHAT_MAX_NAME ||
	    strlen(c->args) > CHAT_MAX_ARGS)
		abort();
	if (!utf8_ok(c->id, strlen(c->id)) ||
	    !utf8_ok(c->name, strlen(c->name)) ||
	    !utf8_ok(c->args, strlen(c->args)))
		abort();
}

/* The reply as dlg_openai records it, then the next request's body. */
static void check_request(const struct chat_dec *dec)
{
	struct chat_call calls[CHAT_MAX_CALLS];
	char ids[CHAT_MAX_CALLS][16];
	struct chat_hist *h = NULL;
	struct chat_req req;
	struct odict *o = NULL;
	unsigned n = chat_dec_ncalls(dec);
	char *body = NULL;
	int type;

	if (chat_hist_alloc(&h, 0) || chat_hist_add(h, CHAT_USER, "hi"))
		abort();
	for (unsigned i = 0; i < n; i++) {
		if (chat_dec_call(dec, i, &calls[i]))
			abort();
		if (!*calls[i].id) {
			(void)re_snprintf(ids[i], sizeof(ids[i]), "call_%u", i);
			calls[i].id = ids[i];
		}
	}
	if (n && chat_hist_add_calls(h, chat_dec_text(dec, NULL), calls, n))
		abort();
	for (unsigned i = 0; i < n; i++) {
		if (chat_hist_add_result(h, calls[i].id, calls[i].args))
			abort();
	}
	if (!n && *chat_dec_text(dec, NULL) &&
	    chat_hist_add(h, CHAT_ASSISTANT, chat_dec_text(dec, NULL)))
		abort();

	memset(&req, 0, sizeof(req));
	req.model = chat_dec_finish_reason(dec) ? chat_dec_finish_reason(dec)
		: "m";
	req.system = "s";
	req.hist = h;
	req.temperature = 0.5;
	if (chat_req_encode(&body, &req))
		abort();
	if (json_parse(&o, &type, body, strlen(body), NULL) ||
	    type != ODICT_OBJECT)
		abort();

	mem_deref(o);
	mem_deref(body);
	mem_deref(h);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run a, b;
	struct chat_call ca, cb;
	const char *ta, *tb;
	size_t la, lb;
	int ea, eb;

	if (size < 1)
		return 0;

	ea = run(&a, data + 1, size - 1, 0);
	eb = run(&b, data + 1, size - 1, data[0] | 0x100u);

	ta = chat_dec_text(a.dec, &la);
	tb = chat_dec_text(b.dec, &lb);
	if (ea != eb || la != lb || memcmp(ta, tb, la) ||
	    chat_dec_done(a.dec) != chat_dec_done(b.dec) ||
	    !str_eq(chat_dec_finish_reason(a.dec),
		    chat_dec_finish_reason(b.dec)) ||
	    chat_dec_ncalls(a.dec) != chat_dec_ncalls(b.dec) ||
	    !str_eq(chat_dec_error(a.dec), chat_dec_error(b.dec)))
		abort();

	if (la > CHAT_MAX_TEXT || strlen(ta) != la || !utf8_ok(ta, la) ||
	    chat_dec_ncalls(a.dec) > CHAT_MAX_CALLS)
		abort();

	for (unsigned i = 0; i < chat_dec_ncalls(a.dec); i++) {
		if (chat_dec_call(a.dec, i, &ca) ||
		    chat_dec_call(b.dec, i, &cb))
			abort();
		check_call(&ca);
		if (strcmp(ca.id, cb.id) || strcmp(ca.name, cb.name) ||
		    strcmp(ca.args, cb.args))
			abort();
	}

	if (!ea) {
		if (a.chunks->end != b.chunks->end ||
		    memcmp(a.chunks->buf, b.chunks->buf, a.chunks->end))
			abort();
		if (a.content != content(ta, la))
			abort();
		check_whole(&a, ta, la);
		check_request(a.dec);
	}

	done(&a);
	done(&b);

	return 0;
}
