#include "test.h"
#include "agent/sse.h"

/* Messages as "event|data\n" lines, to compare whole streams at once. */
struct rec {
	char out[4096];
	size_t n;
	int stop_after;     /* return an error after this many (0: never) */
	int count;
	size_t last_len;
};

static int on_event(const char *event, const char *data, size_t len,
		    void *arg)
{
	struct rec *r = arg;
	int w;

	w = snprintf(r->out + r->n, sizeof(r->out) - r->n, "%s|%.*s\n",
		     event, (int)len, data);
	if (w > 0)
		r->n += (size_t)w;
	r->last_len = len;
	if (data[len] != '\0')
		return EILSEQ;      /* must be NUL-terminated */
	if (r->stop_after && ++r->count >= r->stop_after)
		return EINTR;
	return 0;
}

static int parse(struct rec *r, const char *in, size_t step)
{
	struct sse *sse = NULL;
	size_t len = strlen(in), i;
	int err = 0;

	memset(r->out, 0, sizeof(r->out));
	r->n = 0;
	err = sse_alloc(&sse, 64, 128, on_event, r);
	if (err)
		return err;
	for (i = 0; i < len && !err; i += step)
		err = sse_feed(sse, (const uint8_t *)in + i,
			       len - i < step ? len - i : step);
	mem_deref(sse);
	return err;
}

TEST(basic_messages_and_line_endings)
{
	struct rec r = {0};
	const char *in =
		"data: hello\n\n"
		"data: crlf\r\n\r\n"
		"data: cr\r\r"
		"event: update\ndata: typed\n\n";
	const char *want = "message|hello\nmessage|crlf\nmessage|cr\n"
		"update|typed\n";

	/* every split gives the same messages */
	for (size_t step = 1; step <= strlen(in); step++) {
		CHECK_EQ_INT(parse(&r, in, step), 0);
		CHECK_STR(r.out, want);
	}
}

TEST(crlf_split_across_feeds)
{
	struct rec r = {0};
	struct sse *sse = NULL;

	CHECK_EQ_INT(sse_alloc(&sse, 0, 0, on_event, &r), 0);
	CHECK_EQ_INT(sse_feed(sse, (const uint8_t *)"data: a\r", 8), 0);
	/* the LF belongs to the CR: no empty line, no message yet */
	CHECK_EQ_INT(sse_feed(sse, (const uint8_t *)"\n", 1), 0);
	CHECK_EQ_INT((int)r.n, 0);
	CHECK_EQ_INT(sse_feed(sse, (const uint8_t *)"\r", 1), 0);
	CHECK_STR(r.out, "message|a\n");
	mem_deref(sse);
}

TEST(comments_fields_and_multiline_data)
{
	struct rec r = {0};
	const char *in =
		"\xef\xbb\xbf: a comment\n"
		"id: 7\nretry: 1000\nunknown: x\n"
		"data: one\ndata:two\ndata\ndata:  three\n\n"
		": keepalive\n\n"
		"event: x\n\n"           /* no data: not dispatched */
		"data\n\n"               /* one empty data line */
		"data: last\n\n"
		"data: unterminated\n";  /* dropped at the end */

	for (size_t step = 1; step <= strlen(in); step += 3) {
		CHECK_EQ_INT(parse(&r, in, step), 0);
		CHECK_STR(r.out, "message|one\ntwo\n\n three\nmessage|\n"
			  "message|last\n");
	}
}

TEST(limits_are_errors_and_stick)
{
	struct rec r = {0};
	struct sse *sse = NULL;
	char line[200];

	/* a line over 64 bytes */
	memset(line, 'x', sizeof(line));
	memcpy(line, "data: ", 6);
	line[sizeof(line) - 1] = '\0';
	CHECK_EQ_INT(parse(&r, line, 7), EMSGSIZE);

	/* a message over 128 data bytes in lines that each fit */
	CHECK_EQ_INT(parse(&r, "data: 0123456789012345678901234567890123\n"
			   "data: 0123456789012345678901234567890123\n"
			   "data: 0123456789012345678901234567890123\n"
			   "data: 0123456789012345678901234567890123\n\n", 5),
		     EMSGSIZE);
	CHECK_EQ_INT((int)r.n, 0);

	/* exactly 128 data bytes (58 + 1 + 58 + 1 + 10) is fine, one
	 * more is not */
	{
		char in[256];

		snprintf(in, sizeof(in), "data: %.58s\ndata: %.58s\n"
			 "data: %.10s\n\n", line + 6, line + 6, line + 6);
		CHECK_EQ_INT(parse(&r, in, 3), 0);
		CHECK_EQ_INT((int)r.last_len, 128);
		snprintf(in, sizeof(in), "data: %.58s\ndata: %.58s\n"
			 "data: %.11s\n\n", line + 6, line + 6, line + 6);
		CHECK_EQ_INT(parse(&r, in, 3), EMSGSIZE);
		/* a 64-byte line is fine */
		snprintf(in, sizeof(in), "data: %.58s\n\n", line + 6);
		CHECK_EQ_INT(parse(&r, in, 1), 0);
	}

	CHECK_EQ_INT(sse_alloc(&sse, 16, 16, on_event, &r), 0);
	CHECK_EQ_INT(sse_feed(sse, (const uint8_t *)"data: 01234567890123\n",
			      21), EMSGSIZE);
	CHECK_EQ_INT(sse_feed(sse, (const uint8_t *)"data: a\n\n", 9),
		     EMSGSIZE);
	sse_reset(sse);
	r.n = 0;
	memset(r.out, 0, sizeof(r.out));
	CHECK_EQ_INT(sse_feed(sse, (const uint8_t *)"data: a\n\n", 9), 0);
	CHECK_STR(r.out, "message|a\n");
	mem_deref(sse);
}

TEST(handler_error_stops)
{
	struct rec r = {0};
	struct sse *sse = NULL;
	const char *in = "data: 1\n\ndata: 2\n\ndata: 3\n\n";

	r.stop_after = 2;
	CHECK_EQ_INT(sse_alloc(&sse, 0, 0, on_event, &r), 0);
	CHECK_EQ_INT(sse_feed(sse, (const uint8_t *)in, strlen(in)), EINTR);
	CHECK_STR(r.out, "message|1\nmessage|2\n");
	CHECK_EQ_INT(sse_feed(sse, (const uint8_t *)"data: 4\n\n", 9), EINTR);
	mem_deref(sse);

	CHECK_EQ_INT(sse_alloc(NULL, 0, 0, on_event, &r), EINVAL);
	CHECK_EQ_INT(sse_alloc(&sse, 0, 0, NULL, &r), EINVAL);
}

TEST(nul_bytes_in_data)
{
	struct rec r = {0};
	struct sse *sse = NULL;
	static const uint8_t in[] = "data: a\0b\n\n";

	CHECK_EQ_INT(sse_alloc(&sse, 0, 0, on_event, &r), 0);
	CHECK_EQ_INT(sse_feed(sse, in, sizeof(in) - 1), 0);
	CHECK_EQ_INT((int)r.last_len, 3);
	mem_deref(sse);
}

TEST_MAIN()
