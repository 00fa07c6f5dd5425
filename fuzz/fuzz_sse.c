/* fuzz_sse.c - libFuzzer target for src/agent/sse.c.
 *
 * Input: one byte of split seed, then the stream. The stream is parsed
 * once whole and once fed in pieces of fuzzer-chosen sizes (1..32 bytes,
 * from a generator seeded by the first byte).
 *
 * Properties checked (abort() on violation), beyond "does not crash":
 *  - both parses give exactly the same messages (event type and data) and
 *    the same result: 0 or EMSGSIZE, nothing else;
 *  - every message's data is NUL-terminated at its length, at most
 *    MAX_MSG bytes; its event type is non-empty and shorter than a line;
 *  - a message is only dispatched if the stream has a line terminator
 *    after it, and never from a stream without a "data" field name;
 *  - after an error every feed returns it again; after sse_reset the
 *    parser works again (a fresh stream "data: x\n\n" gives one message).
 */
#include <re.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "agent/sse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { MAX_LINE = 256, MAX_MSG = 512 };

struct rec {
	struct mbuf *log;
	unsigned n;
};

static int on_event(const char *event, const char *d, size_t len, void *arg)
{
	struct rec *r = arg;
	size_t elen = strlen(event);

	if (!elen || elen >= MAX_LINE || len > MAX_MSG || d[len] != '\0')
		abort();

	++r->n;
	if (mbuf_write_mem(r->log, (const uint8_t *)event, elen + 1) ||
	    mbuf_write_u32(r->log, (uint32_t)len) ||
	    mbuf_write_mem(r->log, (const uint8_t *)d, len))
		abort();

	return 0;
}

static uint32_t next_rand(uint32_t *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 16;
}

static int parse(const uint8_t *p, size_t n, uint32_t seed, struct rec *r,
		 struct sse **ssep)
{
	struct sse *sse = NULL;
	size_t i = 0, k;
	int err = 0;

	if (sse_alloc(&sse, MAX_LINE, MAX_MSG, on_event, r))
		abort();

	while (i < n && !err) {
		k = seed ? 1 + next_rand(&seed) % 32 : n;
		if (k > n - i)
			k = n - i;
		err = sse_feed(sse, p + i, k);
		i += k;
	}

	if (err != 0 && err != EMSGSIZE)
		abort();

	*ssep = sse;
	return err;
}

static bool has(const uint8_t *p, size_t n, const char *s)
{
	size_t m = strlen(s);

	for (size_t i = 0; i + m <= n; i++) {
		if (!memcmp(p + i, s, m))
			return true;
	}

	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rec a = {0}, b = {0};
	struct sse *sa = NULL, *sb = NULL;
	uint32_t seed;
	int ea, eb;

	if (size < 1)
		return 0;
	seed = data[0] | 0x100u;
	++data;
	--size;

	a.log = mbuf_alloc(1024);
	b.log = mbuf_alloc(1024);
	if (!a.log || !b.log)
		abort();

	ea = parse(data, size, 0, &a, &sa);
	eb = parse(data, size, seed, &b, &sb);

	if (ea != eb || a.n != b.n || a.log->end != b.log->end ||
	    (a.log->end && memcmp(a.log->buf, b.log->buf, a.log->end)))
		abort();

	if (a.n && (!has(data, size, "data") ||
		    (!memchr(data, '\n', size) && !memchr(data, '\r', size))))
		abort();

	if (ea) {
		if (sse_feed(sa, (const uint8_t *)"data: x\n\n", 9) != ea)
			abort();
		sse_reset(sa);
		a.n = 0;
		if (sse_feed(sa, (const uint8_t *)"data: x\n\n", 9) || a.n != 1)
			abort();
	}

	mem_deref(sa);
	mem_deref(sb);
	mem_deref(a.log);
	mem_deref(b.log);

	return 0;
}
