/* sse.c - see sse.h. Lines are buffered whole (up to max_line) and
 * interpreted when their terminator arrives, so a split anywhere in the
 * input gives the same messages as one feed of all of it. */
#include <string.h>
#include <re.h>
#include "agent/sse.h"

enum { DEFAULT_MAX = 65536 };

struct sse {
	struct mbuf *line;    /* the current line, without its terminator */
	struct mbuf *data;    /* data lines of the open message, '\n' each */
	struct mbuf *event;   /* its "event:" value */
	size_t max_line, max_msg;
	sse_event_h *eventh;
	void *arg;
	int err;              /* sticky */
	bool cr;              /* the last line ended in CR: skip one LF */
	bool started;         /* past the first line (BOM check done) */
	bool has_data;        /* the open message has a data line */
};

static void destructor(void *data)
{
	struct sse *sse = data;

	mem_deref(sse->line);
	mem_deref(sse->data);
	mem_deref(sse->event);
}

static void mb_clear(struct mbuf *mb)
{
	mb->pos = 0;
	mb->end = 0;
}

int sse_alloc(struct sse **ssep, size_t max_line, size_t max_msg,
	      sse_event_h *eventh, void *arg)
{
	struct sse *sse;
	int err = 0;

	if (!ssep || !eventh)
		return EINVAL;

	sse = mem_zalloc(sizeof(*sse), destructor);
	if (!sse)
		return ENOMEM;

	sse->max_line = max_line ? max_line : DEFAULT_MAX;
	sse->max_msg = max_msg ? max_msg : DEFAULT_MAX;
	sse->eventh = eventh;
	sse->arg = arg;
	sse->line = mbuf_alloc(256);
	sse->data = mbuf_alloc(256);
	sse->event = mbuf_alloc(32);
	if (!sse->line || !sse->data || !sse->event)
		err = ENOMEM;

	if (err)
		mem_deref(sse);
	else
		*ssep = sse;

	return err;
}

void sse_reset(struct sse *sse)
{
	if (!sse)
		return;

	mb_clear(sse->line);
	mb_clear(sse->data);
	mb_clear(sse->event);
	sse->err = 0;
	sse->cr = false;
	sse->started = false;
	sse->has_data = false;
}

static int dispatch(struct sse *sse)
{
	const char *event = "message";
	size_t len;
	int err;

	if (!sse->has_data) {
		mb_clear(sse->event);
		return 0;
	}

	/* drop the '\n' of the last data line, terminate both strings */
	len = sse->data->end - 1;
	sse->data->buf[len] = '\0';
	if (sse->event->end && sse->event->buf[0]) {
		/* (a type with NUL bytes is cut at the first) */
		sse->event->pos = sse->event->end;
		err = mbuf_write_u8(sse->event, 0);
		if (err)
			return err;
		event = (const char *)sse->event->buf;
	}

	err = sse->eventh(event, (const char *)sse->data->buf, len, sse->arg);

	mb_clear(sse->data);
	mb_clear(sse->event);
	sse->has_data = false;

	return err;
}

static bool field_is(const uint8_t *f, size_t n, const char *name)
{
	return n == strlen(name) && !memcmp(f, name, n);
}

static int line_end(struct sse *sse)
{
	const uint8_t *p = sse->line->buf, *colon, *val;
	size_t n = sse->line->end, flen, vlen;
	int err;

	if (!sse->started) {
		sse->started = true;
		if (n >= 3 && !memcmp(p, "\xef\xbb\xbf", 3)) {
			p += 3;
			n -= 3;
		}
	}

	if (n == 0)
		return dispatch(sse);
	if (p[0] == ':')
		return 0;                      /* a comment */

	colon = memchr(p, ':', n);
	flen = colon ? (size_t)(colon - p) : n;
	val = colon ? colon + 1 : p + n;
	vlen = n - (size_t)(val - p);
	if (vlen && *val == ' ') {
		++val;
		--vlen;
	}

	if (field_is(p, flen, "data")) {
		/* +1 for the '\n': the limit holds for the joined data */
		if (sse->data->end + vlen + 1 > sse->max_msg + 1)
			return EMSGSIZE;
		err = mbuf_write_mem(sse->data, val, vlen);
		err |= mbuf_write_u8(sse->data, '\n');
		if (err)
			return err;
		sse->has_data = true;
	}
	else if (field_is(p, flen, "event")) {
		mb_clear(sse->event);
		if (vlen)
			return mbuf_write_mem(sse->event, val, vlen);
	}

	return 0;     /* "id", "retry" and unknown fields are ignored */
}

int sse_feed(struct sse *sse, const uint8_t *p, size_t n)
{
	size_t i = 0, j;
	int err;

	if (!sse || (n && !p))
		return EINVAL;
	if (sse->err)
		return sse->err;

	while (i < n) {
		if (sse->cr) {
			sse->cr = false;
			if (p[i] == '\n') {
				++i;
				continue;
			}
		}

		for (j = i; j < n && p[j] != '\r' && p[j] != '\n'; j++)
			;

		if (sse->line->end + (j - i) > sse->max_line) {
			sse->err = EMSGSIZE;
			return sse->err;
		}
		if (j > i) {
			err = mbuf_write_mem(sse->line, p + i, j - i);
			if (err) {
				sse->err = err;
				return err;
			}
		}
		if (j == n)
			break;

		sse->cr = p[j] == '\r';
		i = j + 1;

		err = line_end(sse);
		mb_clear(sse->line);
		if (err) {
			sse->err = err;
			return err;
		}
	}

	return 0;
}
