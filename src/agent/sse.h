/* sse.h - an incremental Server-Sent Events parser (the WHATWG
 * "event stream" format), as LLM and speech providers stream replies.
 *
 * Bytes go in split anywhere (a CRLF may straddle two feeds); each
 * complete message (ended by an empty line) comes out as its event type
 * and data. Lines end with CRLF, LF or CR; ":" starts a comment; several
 * "data:" lines join with '\n'; one space after the colon is dropped; a
 * leading UTF-8 BOM is skipped; "id" and "retry" are ignored; a message
 * without data lines is not dispatched, and a message still open when
 * the stream ends is dropped (as the standard says). A line or message
 * longer than its limit is an error (EMSGSIZE), and errors stick: every
 * later feed returns the same error.
 */
#ifndef PARLEY_AGENT_SSE_H
#define PARLEY_AGENT_SSE_H

#include <stddef.h>
#include <stdint.h>

struct sse;

/**
 * One message. event: its type ("message" unless an "event:" line said
 * otherwise; cut at a NUL byte, never empty); data: the data lines
 * joined by '\n', NUL-terminated, len bytes (it may contain NUL bytes).
 * Both are valid during the call only.
 * Return non-zero to stop: sse_feed returns that value, now and later.
 * The handler must not release the parser.
 */
typedef int (sse_event_h)(const char *event, const char *data, size_t len,
			  void *arg);

/**
 * max_line: longest line, max_msg: most data bytes in one message
 * (0: 64 KiB each).
 */
int sse_alloc(struct sse **ssep, size_t max_line, size_t max_msg,
	      sse_event_h *eventh, void *arg);

/** Parse n more bytes. 0, EMSGSIZE, or what the handler returned. */
int sse_feed(struct sse *sse, const uint8_t *p, size_t n);

/** Forget all state (a new stream). */
void sse_reset(struct sse *sse);

#endif
