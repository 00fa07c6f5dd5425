/* chat.h - the OpenAI chat-completions protocol: a decoder for the
 * streamed reply (one SSE message's data at a time) and the request body
 * with the conversation history.
 *
 * Streamed chunks look like
 *   {"choices":[{"index":0,"delta":{"content":"Hel",
 *     "tool_calls":[{"index":0,"id":"call_1","function":{"name":"f",
 *     "arguments":"{\"a\""}}]},"finish_reason":null}]}
 * and the stream ends with "[DONE]". The decoder appends the text deltas
 * and each tool call's pieces (its arguments arrive in parts, joined per
 * index; a name repeated in every chunk is kept once). Only choice 0 is
 * read. Chunks are parsed with the strict JSON parser.
 */
#ifndef PARLEY_AGENT_CHAT_H
#define PARLEY_AGENT_CHAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct re_printf;

enum {
	CHAT_MAX_CALLS = 16,              /* tool calls in one reply */
	CHAT_MAX_TEXT = 256 * 1024,       /* reply text bytes */
	CHAT_MAX_ARGS = 64 * 1024,        /* one call's arguments */
	CHAT_MAX_NAME = 256,              /* a call's id or name */
};

/* ---- the streamed reply ---- */

struct chat_dec;

/** A tool call of the reply: NUL-terminated strings, "" when not sent. */
struct chat_call {
	const char *id;
	const char *name;
	const char *args;                 /* JSON text, as the model wrote it */
};

int chat_dec_alloc(struct chat_dec **decp);

/** Start over for a new reply. */
void chat_dec_reset(struct chat_dec *dec);

/**
 * Decode one SSE message's data (without the "data: " prefix). Returns
 * 0; EBADMSG for a malformed chunk (not JSON, wrong types, a tool call
 * index out of range); EPROTO when the provider streamed an error object;
 * EMSGSIZE past a limit. chat_dec_error() then says what. Errors stick.
 * Data after "[DONE]" is ignored.
 */
int chat_dec_feed(struct chat_dec *dec, const char *data, size_t len);

/** "[DONE]" was received. */
bool chat_dec_done(const struct chat_dec *dec);

/** The reply text so far (NUL-terminated, never NULL), *lenp its length. */
const char *chat_dec_text(const struct chat_dec *dec, size_t *lenp);

/** The finish_reason ("stop", "tool_calls", "length", ...) or NULL. */
const char *chat_dec_finish_reason(const struct chat_dec *dec);

/** Number of tool calls (highest index seen + 1). */
unsigned chat_dec_ncalls(const struct chat_dec *dec);

/** Tool call i (valid until the next feed or reset). 0 or ENOENT. */
int chat_dec_call(const struct chat_dec *dec, unsigned i,
		  struct chat_call *call);

/**
 * Check the finished reply: every tool call has a function name.
 * 0 or EBADMSG (with chat_dec_error() set).
 */
int chat_dec_end(struct chat_dec *dec);

/** Why the last feed or end failed, or NULL. */
const char *chat_dec_error(const struct chat_dec *dec);

/* ---- the request ---- */

enum chat_role { CHAT_SYSTEM, CHAT_USER, CHAT_ASSISTANT, CHAT_TOOL };

/** The conversation: messages in order, oldest dropped past a maximum. */
struct chat_hist;

/**
 * max_msgs: most messages kept (0: 200). When there are more, the oldest
 * go, and then any that would open the history with something other
 * than a user message (so a tool result never loses its call).
 */
int chat_hist_alloc(struct chat_hist **histp, unsigned max_msgs);

/** A system, user or assistant message (content copied). */
int chat_hist_add(struct chat_hist *hist, enum chat_role role,
		  const char *content);

/**
 * An assistant message with tool calls (content may be NULL or ""). Each
 * call needs a non-empty id (the tool results refer to it); empty
 * arguments are sent as "{}".
 */
int chat_hist_add_calls(struct chat_hist *hist, const char *content,
			const struct chat_call *calls, unsigned n);

/** The result of the tool call tool_call_id (content copied). */
int chat_hist_add_result(struct chat_hist *hist, const char *tool_call_id,
			 const char *content);

/**
 * Replace the content of the last message, an assistant message without
 * tool calls (what the caller actually heard of it); NULL content
 * removes it. 0 or ENOENT when the last message is not such a message.
 */
int chat_hist_set_last(struct chat_hist *hist, const char *content);

unsigned chat_hist_count(const struct chat_hist *hist);

/** Print the messages as a JSON array (for %H). */
int chat_hist_print(struct re_printf *pf, const struct chat_hist *hist);

/** A function the model may call. */
struct chat_tool {
	const char *name;
	const char *description;          /* or NULL */
	const char *parameters;           /* JSON Schema object text; NULL:
					   * no parameters */
};

struct chat_req {
	const char *model;
	const char *system;               /* prepended system prompt or NULL */
	const struct chat_hist *hist;
	double temperature;               /* < 0: not sent */
	uint32_t max_tokens;              /* 0: not sent */
	const struct chat_tool *tools;
	size_t ntools;
	bool no_tool_calls;               /* send tool_choice "none" */
};

/**
 * The request body as a mem string: model, messages, temperature,
 * max_tokens, "stream":true and the tools.
 */
int chat_req_encode(char **bodyp, const struct chat_req *req);

#endif
