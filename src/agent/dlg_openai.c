/* dlg_openai.c - the dialogue on an OpenAI-compatible chat model
 * (OpenAI, Groq, Ollama, vLLM, ...): the "llm" provider "openai".
 *
 * A user turn appends the caller's words to the history and POSTs a
 * streaming chat completion. The SSE stream goes through the chat
 * decoder into the chunker, and every sentence is handed to the session
 * (DLG_SAY) as soon as it is complete, so speech starts long before the
 * reply ends (DLG_TOKEN marks the first delta). A turn ends with exactly
 * one of DLG_DONE, DLG_END_CALL, DLG_TRANSFER (these two end the reply
 * for the session too) or DLG_ERROR; DLG_DTMF and DLG_DNC come before.
 *
 * Tools: the built-ins end_call, transfer_call, send_dtmf and add_to_dnc
 * are always offered and turn into actions; the agent's HTTP tools are
 * called with the model's arguments (collected, 4 KiB of the answer kept).
 * Every call gets a role "tool" result in the history ("ok" for the
 * built-ins) so the history stays valid, and the completion is requested
 * again, at most MAX_ROUNDS tool rounds per turn (the last request
 * forbids tool calls). end_call (saying its "message" first) and a
 * transfer_call with a number end the turn without another request;
 * calls after them in the same reply are not run.
 *
 * History: the assistant text of a turn is what was handed out as
 * DLG_SAY (chunks joined by a space). cancel(heard) - barge-in, during
 * the reply or after DLG_DONE while it is still being played - records
 * only what the caller heard, with "..." when it was cut short.
 *
 * Decisions: silence() adds nothing to the history and just ends the
 * turn (DLG_DONE without text): the session says its own re-prompt.
 * dtmf(d) is the user message "[DTMF d]"; an empty user() text is
 * "[unintelligible]". A new user() during a reply drops that reply (as a
 * cancel that heard nothing). Actions of an operation (the greeting of
 * start(), silence's DLG_DONE, an error starting a request) are queued
 * and delivered from a zero timer, never from inside the operation.
 * The session's handler may cancel or release us from inside any action.
 */
#include <string.h>
#include <re.h>
#include "agent/chat.h"
#include "agent/chunker.h"
#include "agent/provider.h"
#include "agent/rhttp.h"
#include "agent/sse.h"
#include "agent/template.h"
#include "json/json.h"

enum {
	MAX_ROUNDS = 5,
	RESULT_MAX = 4096,
	TOOL_TIMEOUT_MS = 5000,
	LLM_TIMEOUT_MS = 10000,
	SSE_MAX = 256 * 1024,
	EXCERPT = 200,
	NBUILTIN = 4,
};

static const char default_prompt[] =
	"You are a helpful voice assistant on a phone call. Answer briefly, "
	"in plain spoken sentences without any formatting.";

static const struct chat_tool builtins[NBUILTIN] = {
	{"end_call", "End the call when the conversation is over or the "
	 "caller wants to hang up.",
	 "{\"type\":\"object\",\"properties\":{\"message\":{\"type\":"
	 "\"string\",\"description\":\"Goodbye to say before hanging up\"}}}"},
	{"transfer_call", "Transfer the caller to a human.",
	 "{\"type\":\"object\",\"properties\":{\"number\":{\"type\":"
	 "\"string\",\"description\":\"Where to (E.164); omit for the "
	 "default\"}}}"},
	{"send_dtmf", "Send touch tones, e.g. to navigate a phone menu.",
	 "{\"type\":\"object\",\"properties\":{\"digits\":{\"type\":"
	 "\"string\",\"description\":\"0-9, *, #, A-D\"}},"
	 "\"required\":[\"digits\"]}"},
	{"add_to_dnc", "Put the caller on the do-not-call list when they ask "
	 "not to be called again.",
	 "{\"type\":\"object\",\"properties\":{}}"},
};

struct htool {
	char *name, *desc, *params, *url, *method, *auth;
	uint32_t timeout_ms;
};

struct pcall {
	char *id, *name, *args;
};

struct qact {
	struct le le;
	struct dlg_action a;
	char *text;
};

struct oai {
	const struct agent_env *env;
	dlg_action_h *acth;
	void *arg;

	/* config */
	char *url, *model, *api_key, *system, *first, *transfer;
	double temperature;
	uint32_t max_tokens;
	uint32_t timeout_ms;
	struct htool *tools;
	unsigned ntools;
	struct chat_tool *defs;        /* built-ins, then the HTTP tools */
	unsigned ndefs;

	struct chat_hist *hist;

	/* the request in flight (completion or HTTP tool) and the stream */
	struct rhttp *req;
	struct sse *sse;
	struct chat_dec *dec;
	struct chunker *chunker;
	size_t fed;                    /* reply text given to the chunker */

	/* the turn */
	uint32_t gen;                  /* changes on every cancel and turn */
	bool active;                   /* no DONE/ERROR for it yet */
	bool token;                    /* DLG_TOKEN sent */
	bool reply_last;               /* the last history message is its
					* final text (for a late cancel) */
	unsigned rounds;               /* tool rounds so far */
	unsigned idgen;
	struct mbuf *said;             /* its DLG_SAYs joined by ' ' */
	size_t committed;              /* of said, already in the history */
	struct pcall *calls;           /* the tool calls being run */
	unsigned ncalls, next;

	/* actions of an operation, delivered from tmr */
	struct list queue;
	struct tmr tmr;
	bool in_op;
};

static int llm_event(const char *event, const char *data, size_t len,
		     void *arg);
static void next_call(struct oai *o);

/* ---- small helpers ---- */

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static const char *said_str(const struct oai *o)
{
	return o->said->end ? (const char *)o->said->buf : "";
}

static int said_add(struct oai *o, const char *s)
{
	struct mbuf *mb = o->said;
	int err = 0;

	mb->pos = mb->end;
	if (mb->end)
		err |= mbuf_write_u8(mb, ' ');
	err |= mbuf_write_str(mb, s);
	err |= mbuf_write_u8(mb, 0);
	if (!err)
		--mb->end;

	return err;
}

static void calls_clear(struct oai *o)
{
	for (unsigned i = 0; o->calls && i < o->ncalls; i++) {
		mem_deref(o->calls[i].id);
		mem_deref(o->calls[i].name);
		mem_deref(o->calls[i].args);
	}
	o->calls = mem_deref(o->calls);
	o->ncalls = 0;
	o->next = 0;
}

static void qact_destructor(void *data)
{
	struct qact *q = data;

	list_unlink(&q->le);
	mem_deref(q->text);
}

static void destructor(void *data)
{
	struct oai *o = data;

	tmr_cancel(&o->tmr);
	list_flush(&o->queue);
	mem_deref(o->req);
	mem_deref(o->sse);
	mem_deref(o->dec);
	mem_deref(o->chunker);
	mem_deref(o->hist);
	mem_deref(o->said);
	calls_clear(o);
	for (unsigned i = 0; o->tools && i < o->ntools; i++) {
		struct htool *t = &o->tools[i];

		mem_deref(t->name);
		mem_deref(t->desc);
		mem_deref(t->params);
		mem_deref(t->url);
		mem_deref(t->method);
		mem_deref(t->auth);
	}
	mem_deref(o->tools);
	mem_deref(o->defs);
	mem_deref(o->url);
	mem_deref(o->model);
	mem_deref(o->api_key);
	mem_deref(o->system);
	mem_deref(o->first);
	mem_deref(o->transfer);
}

/* ---- actions ---- */

/*
 * Hand an action to the session. False when the handler cancelled this
 * turn or released us: then the caller stops and must not touch o.
 */
static bool deliver(struct oai *o, const struct dlg_action *a)
{
	uint32_t gen = o->gen;
	bool alive;

	mem_ref(o);
	o->acth(a, o->arg);
	alive = mem_nrefs(o) > 1 && o->gen == gen;
	mem_deref(o);

	return alive;
}

static void flush_h(void *arg)
{
	struct oai *o = arg;
	struct le *le;

	while ((le = list_head(&o->queue))) {
		struct qact *q = le->data;
		bool alive;

		list_unlink(&q->le);
		q->a.text = q->text;
		alive = deliver(o, &q->a);
		mem_deref(q);
		if (!alive)
			return;
	}
}

static bool emit(struct oai *o, enum dlg_act act, const char *text, int err,
		 bool http)
{
	struct dlg_action a = {act, text, NULL, err, http};
	struct qact *q;

	if (!o->in_op && list_isempty(&o->queue))
		return deliver(o, &a);

	/* inside an operation, or behind queued actions: keep the order */
	q = mem_zalloc(sizeof(*q), qact_destructor);
	if (!q)
		return true;
	q->a = a;
	if (text && str_dup(&q->text, text)) {
		mem_deref(q);
		return true;
	}
	list_append(&o->queue, &q->le, q);
	if (!o->in_op)
		tmr_start(&o->tmr, 0, flush_h, o);

	return true;
}

/* Hand out the complete chunks (all that is left with end). */
static bool drain(struct oai *o, bool end)
{
	char *c;

	while (!chunker_next(o->chunker, end, &c)) {
		bool alive;

		(void)said_add(o, c);
		alive = emit(o, DLG_SAY, c, 0, false);
		mem_deref(c);
		if (!alive)
			return false;
	}

	return true;
}

/* Every tool call recorded in the history needs a result. */
static void fill_results(struct oai *o)
{
	for (; o->next < o->ncalls; o->next++)
		(void)chat_hist_add_result(o->hist, o->calls[o->next].id,
					   "{\"error\":\"interrupted\"}");
}

static void fail(struct oai *o, int err, bool http, const char *fmt, ...)
{
	char msg[320];
	va_list ap;

	va_start(ap, fmt);
	(void)re_vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

	o->req = mem_deref(o->req);
	fill_results(o);
	o->active = false;
	(void)emit(o, DLG_ERROR, msg, err ? err : EPROTO, http);
}

/*
 * The end of the turn: its last text into the history, then the last
 * action - DLG_DONE, or DLG_END_CALL / DLG_TRANSFER, which end the reply
 * for the session as well (no DLG_DONE follows them).
 */
static void finish_turn(struct oai *o, enum dlg_act act, const char *text)
{
	const char *rest = said_str(o) + o->committed;

	while (is_space(*rest))
		++rest;

	if (act == DLG_DONE && !o->said->end && !o->rounds) {
		fail(o, ENODATA, false, "LLM reply was empty");
		return;
	}

	if (*rest && !chat_hist_add(o->hist, CHAT_ASSISTANT, rest))
		o->reply_last = true;

	o->active = false;
	(void)emit(o, act, text, 0, false);
}

/* ---- the completion ---- */

static int llm_data(const uint8_t *p, size_t n, void *arg);
static void llm_done(int err, uint16_t status, const char *ctype,
		     struct mbuf *body, void *arg);

static void request(struct oai *o)
{
	struct chat_req r;
	struct rhttp_opts opts;
	char *body = NULL;
	int err;

	sse_reset(o->sse);
	chat_dec_reset(o->dec);
	chunker_reset(o->chunker);
	o->fed = 0;

	memset(&r, 0, sizeof(r));
	r.model = o->model;
	r.system = o->system;
	r.hist = o->hist;
	r.temperature = o->temperature;
	r.max_tokens = o->max_tokens;
	r.tools = o->defs;
	r.ntools = o->ndefs;
	r.no_tool_calls = o->rounds >= MAX_ROUNDS;

	err = chat_req_encode(&body, &r);
	if (err)
		goto out;

	memset(&opts, 0, sizeof(opts));
	opts.method = "POST";
	opts.url = o->url;
	opts.bearer = o->api_key;
	opts.ctype = "application/json";
	opts.body = (const uint8_t *)body;
	opts.body_len = strlen(body);
	opts.extra_headers = "Accept: text/event-stream\r\n";
	opts.timeout_ms = o->timeout_ms;

	err = rhttp_request(&o->req, o->env->http, &opts, llm_data, llm_done,
			    o);
 out:
	mem_deref(body);
	if (err)
		fail(o, err, true, "LLM request failed: %m", err);
}

static void run_tools(struct oai *o, unsigned n)
{
	struct chat_call *arr;
	const char *content = said_str(o) + o->committed;
	int err = 0;

	calls_clear(o);
	o->calls = mem_zalloc(n * sizeof(*o->calls), NULL);
	arr = mem_zalloc(n * sizeof(*arr), NULL);
	if (!o->calls || !arr) {
		mem_deref(arr);
		fail(o, ENOMEM, false, "out of memory");
		return;
	}
	o->ncalls = n;

	for (unsigned i = 0; i < n; i++) {
		struct chat_call c;

		(void)chat_dec_call(o->dec, i, &c);
		if (*c.id)
			err |= str_dup(&o->calls[i].id, c.id);
		else
			err |= re_sdprintf(&o->calls[i].id, "call_%u",
					   ++o->idgen);
		err |= str_dup(&o->calls[i].name, c.name);
		err |= str_dup(&o->calls[i].args, c.args);
		arr[i].id = o->calls[i].id;
		arr[i].name = o->calls[i].name;
		arr[i].args = o->calls[i].args;
	}

	while (is_space(*content))
		++content;
	if (!err)
		err = chat_hist_add_calls(o->hist, content, arr, n);
	mem_deref(arr);
	if (err) {
		o->ncalls = 0;   /* not in the history: no results */
		fail(o, err, false, "out of memory");
		return;
	}

	o->committed = o->said->end;
	++o->rounds;
	next_call(o);
}

static void round_end(struct oai *o)
{
	unsigned n;
	int err;

	err = chat_dec_end(o->dec);
	if (err) {
		fail(o, err, false, "LLM reply malformed: %s",
		     chat_dec_error(o->dec));
		return;
	}
	if (!chat_dec_done(o->dec) && !chat_dec_finish_reason(o->dec)) {
		fail(o, EPROTO, false, "LLM stream ended early");
		return;
	}

	if (!drain(o, true))
		return;

	n = chat_dec_ncalls(o->dec);
	if (n && o->rounds < MAX_ROUNDS)
		run_tools(o, n);
	else
		finish_turn(o, DLG_DONE, NULL);
}

static int llm_event(const char *event, const char *data, size_t len,
		     void *arg)
{
	struct oai *o = arg;
	const char *text;
	size_t tlen;
	int err;

	if (chat_dec_done(o->dec))
		return 0;
	if (strcmp(event, "message") && strcmp(event, "error"))
		return 0;         /* an event type of no concern */

	err = chat_dec_feed(o->dec, data, len);
	if (err)
		return err;
	if (!strcmp(event, "error"))
		return EPROTO;

	text = chat_dec_text(o->dec, &tlen);
	if (tlen > o->fed) {
		err = chunker_push(o->chunker, text + o->fed, tlen - o->fed);
		o->fed = tlen;
	}

	return err;
}

static int llm_data(const uint8_t *p, size_t n, void *arg)
{
	struct oai *o = arg;
	const char *why;
	int err;

	err = sse_feed(o->sse, p, n);
	if (err) {
		why = chat_dec_error(o->dec);
		if (why)
			fail(o, err, false, "LLM stream: %s", why);
		else
			fail(o, err, false, "LLM stream: %m", err);
		return err;       /* the request is released: ignored */
	}

	if (!o->token && (o->fed || chat_dec_ncalls(o->dec))) {
		o->token = true;
		if (!emit(o, DLG_TOKEN, NULL, 0, false))
			return ECANCELED;
	}

	if (!drain(o, false))
		return ECANCELED;

	if (chat_dec_done(o->dec)) {
		/* no need to wait for the end of the HTTP response */
		o->req = mem_deref(o->req);
		round_end(o);
		return ECANCELED;
	}

	return 0;
}

static void llm_done(int err, uint16_t status, const char *ctype,
		     struct mbuf *body, void *arg)
{
	struct oai *o = arg;
	struct rhttp *req = o->req;
	(void)ctype;

	o->req = NULL;

	if (err == ETIMEDOUT)
		fail(o, err, true, "LLM request timed out");
	else if (err)
		fail(o, err, true, "LLM request failed: %m", err);
	else if (status < 200 || status > 299)
		fail(o, EPROTO, true, "LLM HTTP status %u: %b", status,
		     body ? (const char *)mbuf_buf(body) : "",
		     body ? min(mbuf_get_left(body), (size_t)EXCERPT) : 0);
	else
		round_end(o);

	mem_deref(req);
}

/* ---- tools ---- */

/* A tool result from a body: at most max bytes of valid UTF-8, with any
 * invalid byte (and NUL) as '?'. */
static int body_text(char **strp, const uint8_t *p, size_t n, size_t max)
{
	char *s;
	size_t i = 0, o = 0, len, k;

	s = mem_alloc(min(n, max) + 1, NULL);
	if (!s)
		return ENOMEM;

	while (i < n) {
		const uint8_t c = p[i];
		bool ok = true;

		if (c >= 0x01 && c < 0x80)
			len = 1;
		else if (c >= 0xc2 && c <= 0xdf)
			len = 2;
		else if (c >= 0xe0 && c <= 0xef)
			len = 3;
		else if (c >= 0xf0 && c <= 0xf4)
			len = 4;
		else
			len = 0;

		if (len == 0 || i + len > n)
			ok = false;
		for (k = 1; ok && k < len; k++)
			ok = (p[i + k] & 0xc0) == 0x80;
		if (ok && len > 2) {
			const uint8_t d = p[i + 1];

			ok = !(c == 0xe0 && d < 0xa0) &&
				!(c == 0xed && d >= 0xa0) &&
				!(c == 0xf0 && d < 0x90) &&
				!(c == 0xf4 && d >= 0x90);
		}
		if (!ok)
			len = 1;
		if (o + len > max)
			break;
		if (ok)
			memcpy(s + o, p + i, len);
		else
			s[o] = '?';
		o += len;
		i += len;
	}
	s[o] = '\0';

	*strp = s;
	return 0;
}

static int pct_print(struct re_printf *pf, const char *s)
{
	int err = 0;

	for (; *s && !err; s++) {
		const unsigned char c = (unsigned char)*s;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || strchr("-._~", c))
			err = re_hprintf(pf, "%c", c);
		else
			err = re_hprintf(pf, "%%%02X", c);
	}

	return err;
}

/* GET tools: the arguments as a query string. */
static int query_print(struct re_printf *pf, const struct odict *args)
{
	struct le *le;
	bool first = true;
	int err = 0;

	for (le = args->lst.head; le && !err; le = le->next) {
		const struct odict_entry *e = le->data;
		char *v = NULL;

		switch (e->type) {

		case ODICT_STRING:
			err = str_dup(&v, e->u.str);
			break;
		case ODICT_INT:
			err = re_sdprintf(&v, "%lld", (long long)e->u.integer);
			break;
		case ODICT_DOUBLE:
			err = re_sdprintf(&v, "%f", e->u.dbl);
			break;
		case ODICT_BOOL:
			err = str_dup(&v, e->u.boolean ? "true" : "false");
			break;
		case ODICT_OBJECT:
			err = json_encode(&v, e->u.odict);
			break;
		case ODICT_ARRAY:
			err = re_sdprintf(&v, "%H", json_print_array,
					  e->u.odict);
			break;
		default:
			continue;
		}
		if (!err)
			err = re_hprintf(pf, "%s%H=%H", first ? "" : "&",
					 pct_print, e->key, pct_print, v);
		first = false;
		mem_deref(v);
	}

	return err;
}

static void add_result(struct oai *o, const char *result)
{
	(void)chat_hist_add_result(o->hist, o->calls[o->next].id, result);
	++o->next;
}

/* Start an HTTP tool call: true when under way (tool_done follows). */
static void tool_done(int err, uint16_t status, const char *ctype,
		      struct mbuf *body, void *arg);

static bool tool_start(struct oai *o, const struct pcall *c,
		       const struct htool *t)
{
	struct rhttp_opts opts;
	struct odict *args = NULL;
	const char *argtext = *c->args ? c->args : "{}";
	char *url = NULL, *q = NULL;
	bool get;
	int type, err;

	if (json_parse(&args, &type, argtext, strlen(argtext), NULL) ||
	    type != ODICT_OBJECT) {
		mem_deref(args);
		add_result(o, "{\"error\":\"arguments are not a JSON "
			   "object\"}");
		return false;
	}

	memset(&opts, 0, sizeof(opts));
	get = !strcmp(t->method, "GET");
	opts.method = t->method;
	opts.url = t->url;
	opts.auth = t->auth;
	opts.timeout_ms = t->timeout_ms;
	opts.collect = true;
	if (get) {
		err = re_sdprintf(&q, "%H", query_print, args);
		if (!err && *q)
			err = re_sdprintf(&url, "%s%c%s", t->url,
					  strchr(t->url, '?') ? '&' : '?', q);
		if (url)
			opts.url = url;
	}
	else {
		opts.ctype = "application/json";
		opts.body = (const uint8_t *)argtext;
		opts.body_len = strlen(argtext);
		err = 0;
	}

	if (!err)
		err = rhttp_request(&o->req, o->env->http, &opts, NULL,
				    tool_done, o);
	mem_deref(args);
	mem_deref(url);
	mem_deref(q);
	if (err) {
		add_result(o, "{\"error\":\"request failed\"}");
		return false;
	}

	return true;
}

static void tool_done(int err, uint16_t status, const char *ctype,
		      struct mbuf *body, void *arg)
{
	struct oai *o = arg;
	struct rhttp *req = o->req;
	char *result = NULL, *text = NULL;
	(void)ctype;

	o->req = NULL;

	if (body)
		(void)body_text(&text, mbuf_buf(body), mbuf_get_left(body),
				RESULT_MAX - 64);

	if (err == ETIMEDOUT)
		(void)str_dup(&result, "{\"error\":\"timed out\"}");
	else if (err)
		(void)re_sdprintf(&result, "{\"error\":\"request failed: "
				  "%m\"}", err);
	else if (status < 200 || status > 299)
		(void)re_sdprintf(&result, "{\"error\":\"HTTP %u\","
				  "\"body\":%H}", status, json_print_str,
				  text ? text : "");
	else if (body && body->end)
		(void)body_text(&result, mbuf_buf(body), mbuf_get_left(body),
				RESULT_MAX);
	else
		(void)str_dup(&result, "ok");

	add_result(o, result ? result : "{\"error\":\"out of memory\"}");
	mem_deref(result);
	mem_deref(text);

	next_call(o);
	mem_deref(req);
}

static bool dtmf_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	return n > 0 && n <= 32 && strspn(s, "0123456789*#ABCD") == n;
}

/*
 * end_call and transfer_call end the turn: the calls after them are not
 * run (their results say so) and their action is the turn's last.
 */
static void terminal(struct oai *o, enum dlg_act act, const char *text)
{
	add_result(o, "ok");
	for (; o->next < o->ncalls; o->next++)
		(void)chat_hist_add_result(o->hist, o->calls[o->next].id,
					   "{\"error\":\"not run: the call "
					   "ended\"}");
	finish_turn(o, act, text);
}

/*
 * A built-in tool: its result, then its action. False: stop (the turn is
 * over, or the session cancelled it or released us).
 */
static bool builtin(struct oai *o, const struct pcall *c)
{
	const char *argtext = *c->args ? c->args : "{}";
	struct odict *args = NULL;
	const char *s;
	bool alive = true;
	int type;

	if (json_parse(&args, &type, argtext, strlen(argtext), NULL) ||
	    type != ODICT_OBJECT) {
		add_result(o, "{\"error\":\"arguments are not a JSON "
			   "object\"}");
	}
	else if (!strcmp(c->name, "end_call")) {
		s = odict_string(args, "message");
		if (s && *s && !chunker_push(o->chunker, s, strlen(s)))
			alive = drain(o, true);
		if (alive)
			terminal(o, DLG_END_CALL, NULL);
		alive = false;
	}
	else if (!strcmp(c->name, "transfer_call")) {
		s = odict_string(args, "number");
		if (!s || !*s)
			s = o->transfer;
		if (s && *s) {
			terminal(o, DLG_TRANSFER, s);
			alive = false;
		}
		else {
			add_result(o, "{\"error\":\"no transfer number is "
				   "configured\"}");
		}
	}
	else if (!strcmp(c->name, "send_dtmf")) {
		s = odict_string(args, "digits");
		if (dtmf_ok(s)) {
			add_result(o, "ok");
			alive = emit(o, DLG_DTMF, s, 0, false);
		}
		else {
			add_result(o, "{\"error\":\"digits must be 1 to 32 of "
				   "0-9, *, #, A-D\"}");
		}
	}
	else if (!strcmp(c->name, "add_to_dnc")) {
		add_result(o, "ok");
		alive = emit(o, DLG_DNC, NULL, 0, false);
	}
	else {
		add_result(o, "{\"error\":\"unknown tool\"}");
	}

	mem_deref(args);
	return alive;
}

static const struct htool *find_tool(const struct oai *o, const char *name)
{
	for (unsigned i = 0; i < o->ntools; i++) {
		if (!strcmp(o->tools[i].name, name))
			return &o->tools[i];
	}

	return NULL;
}

/* Run the reply's tool calls in order, then ask again (or end). */
static void next_call(struct oai *o)
{
	while (o->next < o->ncalls) {
		const struct pcall *c = &o->calls[o->next];
		const struct htool *t = find_tool(o, c->name);

		if (t) {
			if (tool_start(o, c, t))
				return;
		}
		else if (!builtin(o, c)) {
			return;
		}
	}

	request(o);
}

/* ---- configuration ---- */

static const struct odict *obj(const struct odict *o, const char *key)
{
	const struct odict_entry *e = o ? odict_lookup(o, key) : NULL;

	return e && e->type == ODICT_OBJECT ? e->u.odict : NULL;
}

static const char *str(const struct odict *o, const char *key)
{
	const char *s = o ? odict_string(o, key) : NULL;

	return s && *s ? s : NULL;
}

static bool name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n < 1 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++) {
		const char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return false;
	}
	for (unsigned i = 0; i < NBUILTIN; i++) {
		if (!strcmp(builtins[i].name, s))
			return false;
	}

	return true;
}

static int tool_add(struct oai *o, const struct odict *t)
{
	struct htool *h = &o->tools[o->ntools];
	const struct odict_entry *e;
	const char *name = str(t, "name"), *url = str(t, "url");
	const char *method = str(t, "method");
	int err = 0;

	if (!name || !url || !name_ok(name) || find_tool(o, name))
		return 0;         /* invalid: not offered */
	if (method && strcmp(method, "GET") && strcmp(method, "POST") &&
	    strcmp(method, "PUT"))
		return 0;

	++o->ntools;
	err |= str_dup(&h->name, name);
	err |= str_dup(&h->url, url);
	err |= str_dup(&h->method, method ? method : "POST");
	if (str(t, "description"))
		err |= str_dup(&h->desc, str(t, "description"));
	if (str(t, "auth_header"))
		err |= str_dup(&h->auth, str(t, "auth_header"));
	if (obj(t, "parameters"))
		err |= json_encode(&h->params, obj(t, "parameters"));
	e = odict_lookup(t, "timeout_ms");
	h->timeout_ms = e && e->type == ODICT_INT && e->u.integer > 0 &&
		e->u.integer <= 600000 ? (uint32_t)e->u.integer :
		TOOL_TIMEOUT_MS;

	return err;
}

static int tools_config(struct oai *o, const struct odict *agent)
{
	const struct odict_entry *e = agent ? odict_lookup(agent, "tools")
		: NULL;
	size_t n = e && e->type == ODICT_ARRAY ? odict_count(e->u.odict,
							      false) : 0;
	struct le *le;
	int err = 0;

	o->defs = mem_zalloc((NBUILTIN + n) * sizeof(*o->defs), NULL);
	if (!o->defs)
		return ENOMEM;
	memcpy(o->defs, builtins, sizeof(builtins));
	o->ndefs = NBUILTIN;
	if (!n)
		return 0;

	o->tools = mem_zalloc(n * sizeof(*o->tools), NULL);
	if (!o->tools)
		return ENOMEM;

	for (le = e->u.odict->lst.head; le && !err; le = le->next) {
		const struct odict_entry *t = le->data;

		if (t->type == ODICT_OBJECT)
			err = tool_add(o, t->u.odict);
	}

	for (unsigned i = 0; i < o->ntools; i++) {
		struct chat_tool *d = &o->defs[o->ndefs++];

		d->name = o->tools[i].name;
		d->description = o->tools[i].desc;
		d->parameters = o->tools[i].params;
	}

	return err;
}

static int config(struct oai *o, const struct odict *agent,
		  const struct odict *vars)
{
	const struct odict *llm = obj(agent, "llm");
	const struct odict_entry *e;
	const char *s;
	size_t n;
	int err;

	s = str(agent, "system_prompt");
	err = template_render(&o->system, s ? s : default_prompt, vars);
	/* a campaign call: seed 001's campaign-caller rules and script,
	 * personalised, after the agent's own prompt */
	if (!err && vars && str(vars, "campaign_prompt")) {
		char *ins = NULL, *all = NULL;
		err = template_campaign_instructions(&ins, str(vars, "name"),
						     str(vars, "campaign_prompt"));
		if (!err)
			err = re_sdprintf(&all, "%s\n\n%s", o->system, ins);
		if (!err) {
			mem_deref(o->system);
			o->system = all;
		}
		mem_deref(ins);
	}
	if (!err && (s = str(agent, "first_message")))
		err = template_render(&o->first, s, vars);
	if (err)
		return err;

	err = str_dup(&o->model, str(llm, "model") ? str(llm, "model") :
		      "gpt-4o-mini");
	s = str(llm, "base_url") ? str(llm, "base_url") :
		"https://api.openai.com/v1";
	for (n = strlen(s); n > 0 && s[n - 1] == '/'; n--)
		;
	err |= re_sdprintf(&o->url, "%b/chat/completions", s, n);
	if (str(llm, "api_key"))
		err |= str_dup(&o->api_key, str(llm, "api_key"));
	if (str(obj(agent, "inbound"), "transfer_number"))
		err |= str_dup(&o->transfer,
			       str(obj(agent, "inbound"), "transfer_number"));
	if (err)
		return err;

	o->temperature = 0.7;
	e = llm ? odict_lookup(llm, "temperature") : NULL;
	if (e && e->type == ODICT_INT)
		o->temperature = (double)e->u.integer;
	else if (e && e->type == ODICT_DOUBLE)
		o->temperature = e->u.dbl;

	o->max_tokens = 300;
	e = llm ? odict_lookup(llm, "max_tokens") : NULL;
	if (e && e->type == ODICT_INT && e->u.integer > 0 &&
	    e->u.integer <= 1000000)
		o->max_tokens = (uint32_t)e->u.integer;

	return tools_config(o, agent);
}

static int op_alloc(void **stp, const struct agent_env *env,
		    const struct odict *agent, const struct odict *vars,
		    dlg_action_h *acth, void *arg)
{
	struct oai *o;
	int err;

	if (!stp || !env || !acth)
		return EINVAL;

	o = mem_zalloc(sizeof(*o), destructor);
	if (!o)
		return ENOMEM;

	o->env = env;
	o->acth = acth;
	o->arg = arg;
	o->timeout_ms = env->http_timeout_ms ? env->http_timeout_ms :
		LLM_TIMEOUT_MS;
	list_init(&o->queue);
	tmr_init(&o->tmr);

	err = config(o, agent, vars);
	err |= chat_hist_alloc(&o->hist, 0);
	err |= sse_alloc(&o->sse, SSE_MAX, SSE_MAX, llm_event, o);
	err |= chat_dec_alloc(&o->dec);
	err |= chunker_alloc(&o->chunker);
	o->said = mbuf_alloc(256);
	if (!o->said)
		err = ENOMEM;

	if (err)
		mem_deref(o);
	else
		*stp = o;

	return err;
}

/* ---- operations ---- */

static void op_begin(struct oai *o)
{
	o->in_op = true;
}

static void op_end(struct oai *o)
{
	o->in_op = false;
	if (!list_isempty(&o->queue))
		tmr_start(&o->tmr, 0, flush_h, o);
}

/* Drop whatever is under way and open a new turn. */
static void turn_begin(struct oai *o)
{
	++o->gen;
	o->req = mem_deref(o->req);
	list_flush(&o->queue);
	tmr_cancel(&o->tmr);
	fill_results(o);
	calls_clear(o);
	sse_reset(o->sse);
	chat_dec_reset(o->dec);
	chunker_reset(o->chunker);
	o->fed = 0;
	mbuf_rewind(o->said);
	o->committed = 0;
	o->rounds = 0;
	o->token = false;
	o->reply_last = false;
	o->active = true;
}

static int op_start(void *st)
{
	struct oai *o = st;

	if (!o)
		return EINVAL;

	op_begin(o);
	turn_begin(o);
	if (o->first && !chunker_push(o->chunker, o->first, strlen(o->first)))
		(void)drain(o, true);
	if (o->said->end && !chat_hist_add(o->hist, CHAT_ASSISTANT,
					    said_str(o)))
		o->reply_last = true;
	o->active = false;
	(void)emit(o, DLG_DONE, NULL, 0, false);
	op_end(o);

	return 0;
}

static int op_user(void *st, const char *text)
{
	struct oai *o = st;
	int err;

	if (!o || !text)
		return EINVAL;

	op_begin(o);
	turn_begin(o);
	err = chat_hist_add(o->hist, CHAT_USER, *text ? text :
			    "[unintelligible]");
	if (err)
		o->active = false;
	else
		request(o);
	op_end(o);

	return err;
}

static int op_silence(void *st)
{
	struct oai *o = st;

	if (!o)
		return EINVAL;
	if (o->active)
		return EBUSY;

	op_begin(o);
	(void)emit(o, DLG_DONE, NULL, 0, false);
	op_end(o);

	return 0;
}

static int op_dtmf(void *st, char digit)
{
	char text[16];

	if (!strchr("0123456789*#ABCD", digit) || !digit)
		return EINVAL;

	(void)re_snprintf(text, sizeof(text), "[DTMF %c]", digit);
	return op_user(st, text);
}

/*
 * What of heard the history does not have yet: heard is the reply from
 * its start, the history has said[0..committed] of it. Compared without
 * white space; "" when heard does not go past it (or does not match).
 */
static const char *heard_rest(const char *heard, const char *said,
			      size_t committed)
{
	const char *h = heard;
	size_t j;

	for (j = 0; j < committed; j++) {
		if (is_space(said[j]))
			continue;
		while (is_space(*h))
			++h;
		if (*h != said[j])
			return "";
		++h;
	}
	while (is_space(*h))
		++h;

	return h;
}

static size_t visible(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += !is_space(*s);

	return n;
}

static void op_cancel(void *st, const char *heard)
{
	struct oai *o = st;
	const char *rest, *full;
	char *rec = NULL;
	bool cut;

	if (!o)
		return;

	++o->gen;
	o->req = mem_deref(o->req);
	list_flush(&o->queue);
	tmr_cancel(&o->tmr);

	if (!o->active && !o->reply_last)
		return;

	full = said_str(o) + o->committed;
	rest = heard_rest(heard ? heard : "", said_str(o), o->committed);
	cut = visible(rest) < visible(full) || o->active;
	if (*rest)
		(void)re_sdprintf(&rec, "%s%s", rest, cut ? "..." : "");

	if (o->active) {
		fill_results(o);
		if (rec)
			(void)chat_hist_add(o->hist, CHAT_ASSISTANT, rec);
	}
	else {
		(void)chat_hist_set_last(o->hist, rec);
	}

	mem_deref(rec);
	calls_clear(o);
	chunker_reset(o->chunker);
	o->active = false;
	o->reply_last = false;
}

static const char *op_grammar(void *st)
{
	(void)st;
	return NULL;
}

const struct dlg_ops dlg_openai = {
	.name = "openai",
	.alloc = op_alloc,
	.start = op_start,
	.user = op_user,
	.silence = op_silence,
	.dtmf = op_dtmf,
	.cancel = op_cancel,
	.grammar = op_grammar,
};
