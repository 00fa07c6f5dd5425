/* chat.c - see chat.h. */
#include <math.h>
#include <string.h>
#include <re.h>
#include "agent/chat.h"
#include "json/json.h"

/* ---- the streamed reply ---- */

struct dcall {
	struct mbuf *id, *name, *args;
};

struct chat_dec {
	struct mbuf *text;
	struct dcall calls[CHAT_MAX_CALLS];
	unsigned ncalls;
	char finish[32];
	char errmsg[160];
	int err;
	bool done;
};

static void dec_destructor(void *data)
{
	struct chat_dec *dec = data;

	chat_dec_reset(dec);
}

int chat_dec_alloc(struct chat_dec **decp)
{
	struct chat_dec *dec;

	if (!decp)
		return EINVAL;

	dec = mem_zalloc(sizeof(*dec), dec_destructor);
	if (!dec)
		return ENOMEM;

	*decp = dec;
	return 0;
}

void chat_dec_reset(struct chat_dec *dec)
{
	if (!dec)
		return;

	dec->text = mem_deref(dec->text);
	for (unsigned i = 0; i < CHAT_MAX_CALLS; i++) {
		dec->calls[i].id = mem_deref(dec->calls[i].id);
		dec->calls[i].name = mem_deref(dec->calls[i].name);
		dec->calls[i].args = mem_deref(dec->calls[i].args);
	}
	dec->ncalls = 0;
	dec->finish[0] = '\0';
	dec->errmsg[0] = '\0';
	dec->err = 0;
	dec->done = false;
}

static const char *mb_str(const struct mbuf *mb)
{
	return mb && mb->buf ? (const char *)mb->buf : "";
}

static size_t mb_len(const struct mbuf *mb)
{
	return mb ? mb->end : 0;
}

/* Append to a NUL-terminated string buffer of at most max bytes. */
static int sb_add(struct mbuf **mbp, const char *p, size_t n, size_t max)
{
	struct mbuf *mb = *mbp;
	int err;

	if (mb_len(mb) + n > max)
		return EMSGSIZE;
	if (!mb) {
		mb = *mbp = mbuf_alloc(n + 16);
		if (!mb)
			return ENOMEM;
	}

	mb->pos = mb->end;
	err = mbuf_write_mem(mb, (const uint8_t *)p, n);
	err |= mbuf_write_u8(mb, 0);
	if (err)
		return err;
	--mb->end;
	mb->pos = mb->end;

	return 0;
}

static int fail(struct chat_dec *dec, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)re_vsnprintf(dec->errmsg, sizeof(dec->errmsg), fmt, ap);
	va_end(ap);
	dec->err = err;

	return err;
}

static bool is_null(const struct odict_entry *e)
{
	return !e || e->type == ODICT_NULL;
}

static struct dcall *call_slot(struct chat_dec *dec,
			       const struct odict_entry *idx, const char *id)
{
	unsigned i;

	if (idx) {
		if (idx->type != ODICT_INT || idx->u.integer < 0 ||
		    idx->u.integer >= CHAT_MAX_CALLS)
			return NULL;
		i = (unsigned)idx->u.integer;
	}
	else if (id && *id) {
		/* no index (some servers): the call with this id, or a new
		 * one */
		for (i = 0; i < dec->ncalls; i++) {
			if (!strcmp(mb_str(dec->calls[i].id), id))
				break;
		}
		if (i == CHAT_MAX_CALLS)
			return NULL;
	}
	else {
		i = dec->ncalls ? dec->ncalls - 1 : 0;
	}

	if (i >= dec->ncalls)
		dec->ncalls = i + 1;

	return &dec->calls[i];
}

static int dec_call(struct chat_dec *dec, const struct odict_entry *e)
{
	const struct odict_entry *idx, *id, *fn, *name = NULL, *args = NULL;
	struct dcall *c;
	int err = 0;

	if (e->type != ODICT_OBJECT)
		return fail(dec, EBADMSG, "tool call is not an object");

	idx = odict_lookup(e->u.odict, "index");
	id = odict_lookup(e->u.odict, "id");
	fn = odict_lookup(e->u.odict, "function");
	if (is_null(idx))
		idx = NULL;
	if (!is_null(id) && id->type != ODICT_STRING)
		return fail(dec, EBADMSG, "tool call id is not a string");
	if (!is_null(fn)) {
		if (fn->type != ODICT_OBJECT)
			return fail(dec, EBADMSG,
				    "tool call function is not an object");
		name = odict_lookup(fn->u.odict, "name");
		args = odict_lookup(fn->u.odict, "arguments");
		if ((!is_null(name) && name->type != ODICT_STRING) ||
		    (!is_null(args) && args->type != ODICT_STRING))
			return fail(dec, EBADMSG,
				    "tool call name or arguments is not "
				    "a string");
	}

	c = call_slot(dec, idx, is_null(id) ? NULL : id->u.str);
	if (!c)
		return fail(dec, EBADMSG, "tool call index out of range");

	/* the id and name come once, or repeated in every chunk: keep one;
	 * a name split in pieces is joined */
	if (!is_null(id) && !mb_len(c->id))
		err = sb_add(&c->id, id->u.str, strlen(id->u.str),
			     CHAT_MAX_NAME);
	if (!err && !is_null(name) && strcmp(mb_str(c->name), name->u.str))
		err = sb_add(&c->name, name->u.str, strlen(name->u.str),
			     CHAT_MAX_NAME);
	if (!err && !is_null(args))
		err = sb_add(&c->args, args->u.str, strlen(args->u.str),
			     CHAT_MAX_ARGS);

	if (err == EMSGSIZE)
		return fail(dec, err, "tool call too long");
	if (err)
		return fail(dec, err, "out of memory");

	return 0;
}

static int dec_delta(struct chat_dec *dec, const struct odict *delta)
{
	const struct odict_entry *content, *calls;
	struct le *le;
	int err;

	content = odict_lookup(delta, "content");
	if (!is_null(content)) {
		if (content->type != ODICT_STRING)
			return fail(dec, EBADMSG, "content is not a string");
		err = sb_add(&dec->text, content->u.str,
			     strlen(content->u.str), CHAT_MAX_TEXT);
		if (err)
			return fail(dec, err, err == EMSGSIZE ?
				    "reply too long" : "out of memory");
	}

	calls = odict_lookup(delta, "tool_calls");
	if (is_null(calls))
		return 0;
	if (calls->type != ODICT_ARRAY)
		return fail(dec, EBADMSG, "tool_calls is not an array");

	for (le = calls->u.odict->lst.head; le; le = le->next) {
		err = dec_call(dec, le->data);
		if (err)
			return err;
	}

	return 0;
}

static int dec_choice(struct chat_dec *dec, const struct odict_entry *ch)
{
	const struct odict_entry *idx, *delta, *fin;
	int err;

	if (ch->type != ODICT_OBJECT)
		return fail(dec, EBADMSG, "choice is not an object");

	idx = odict_lookup(ch->u.odict, "index");
	if (!is_null(idx)) {
		if (idx->type != ODICT_INT)
			return fail(dec, EBADMSG, "choice index is not an "
				    "integer");
		if (idx->u.integer != 0)
			return 0;
	}

	delta = odict_lookup(ch->u.odict, "delta");
	if (!is_null(delta)) {
		if (delta->type != ODICT_OBJECT)
			return fail(dec, EBADMSG, "delta is not an object");
		err = dec_delta(dec, delta->u.odict);
		if (err)
			return err;
	}

	fin = odict_lookup(ch->u.odict, "finish_reason");
	if (!is_null(fin)) {
		if (fin->type != ODICT_STRING)
			return fail(dec, EBADMSG, "finish_reason is not a "
				    "string");
		str_ncpy(dec->finish, fin->u.str, sizeof(dec->finish));
	}

	return 0;
}

static int dec_error(struct chat_dec *dec, const struct odict_entry *e)
{
	const char *msg = NULL;

	if (e->type == ODICT_STRING)
		msg = e->u.str;
	else if (e->type == ODICT_OBJECT)
		msg = odict_string(e->u.odict, "message");

	return fail(dec, EPROTO, "provider error: %s",
		    msg ? msg : "(no message)");
}

static int dec_chunk(struct chat_dec *dec, const struct odict *o)
{
	const struct odict_entry *e;
	struct le *le;
	int err;

	e = odict_lookup(o, "error");
	if (!is_null(e))
		return dec_error(dec, e);

	e = odict_lookup(o, "choices");
	if (is_null(e))
		return 0;         /* e.g. a usage report */
	if (e->type != ODICT_ARRAY)
		return fail(dec, EBADMSG, "choices is not an array");

	for (le = e->u.odict->lst.head; le; le = le->next) {
		err = dec_choice(dec, le->data);
		if (err)
			return err;
	}

	return 0;
}

int chat_dec_feed(struct chat_dec *dec, const char *data, size_t len)
{
	struct odict *o = NULL;
	struct json_err jerr;
	struct pl pl;
	int type, err;

	if (!dec || (len && !data))
		return EINVAL;
	if (dec->err)
		return dec->err;
	if (dec->done)
		return 0;

	pl.p = data;
	pl.l = len;
	while (pl.l && strchr(" \t\r\n", pl.p[0]))
		pl_advance(&pl, 1);
	while (pl.l && strchr(" \t\r\n", pl.p[pl.l - 1]))
		--pl.l;
	if (!pl_strcmp(&pl, "[DONE]")) {
		dec->done = true;
		return 0;
	}

	err = json_parse(&o, &type, data, len, &jerr);
	if (err)
		return fail(dec, EBADMSG, "chunk is not JSON: %s at %zu",
			    jerr.msg, jerr.offset);
	if (type != ODICT_OBJECT)
		err = fail(dec, EBADMSG, "chunk is not an object");
	else
		err = dec_chunk(dec, o);

	mem_deref(o);
	return err;
}

bool chat_dec_done(const struct chat_dec *dec)
{
	return dec && dec->done;
}

const char *chat_dec_text(const struct chat_dec *dec, size_t *lenp)
{
	if (lenp)
		*lenp = dec ? mb_len(dec->text) : 0;

	return dec ? mb_str(dec->text) : "";
}

const char *chat_dec_finish_reason(const struct chat_dec *dec)
{
	return dec && dec->finish[0] ? dec->finish : NULL;
}

unsigned chat_dec_ncalls(const struct chat_dec *dec)
{
	return dec ? dec->ncalls : 0;
}

int chat_dec_call(const struct chat_dec *dec, unsigned i,
		  struct chat_call *call)
{
	if (!dec || !call || i >= dec->ncalls)
		return ENOENT;

	call->id = mb_str(dec->calls[i].id);
	call->name = mb_str(dec->calls[i].name);
	call->args = mb_str(dec->calls[i].args);

	return 0;
}

int chat_dec_end(struct chat_dec *dec)
{
	if (!dec)
		return EINVAL;
	if (dec->err)
		return dec->err;

	for (unsigned i = 0; i < dec->ncalls; i++) {
		if (!mb_len(dec->calls[i].name))
			return fail(dec, EBADMSG, "tool call %u has no name",
				    i);
	}

	return 0;
}

const char *chat_dec_error(const struct chat_dec *dec)
{
	return dec && dec->errmsg[0] ? dec->errmsg : NULL;
}

/* ---- the request ---- */

struct hcall {
	char *id, *name, *args;
};

struct hmsg {
	struct le le;
	enum chat_role role;
	char *content;                /* NULL: none */
	char *tool_call_id;
	struct hcall *calls;
	unsigned ncalls;
};

struct chat_hist {
	struct list msgs;
	unsigned max;
};

static void hmsg_destructor(void *data)
{
	struct hmsg *m = data;

	list_unlink(&m->le);
	mem_deref(m->content);
	mem_deref(m->tool_call_id);
	for (unsigned i = 0; m->calls && i < m->ncalls; i++) {
		mem_deref(m->calls[i].id);
		mem_deref(m->calls[i].name);
		mem_deref(m->calls[i].args);
	}
	mem_deref(m->calls);
}

static void hist_destructor(void *data)
{
	struct chat_hist *h = data;

	list_flush(&h->msgs);
}

int chat_hist_alloc(struct chat_hist **histp, unsigned max_msgs)
{
	struct chat_hist *h;

	if (!histp)
		return EINVAL;

	h = mem_zalloc(sizeof(*h), hist_destructor);
	if (!h)
		return ENOMEM;

	list_init(&h->msgs);
	h->max = max_msgs ? max_msgs : 200;

	*histp = h;
	return 0;
}

static void trim(struct chat_hist *h)
{
	struct hmsg *m = NULL;

	if (list_count(&h->msgs) <= h->max)
		return;

	while (list_count(&h->msgs) > h->max)
		mem_deref(list_ledata(list_head(&h->msgs)));

	while ((m = list_ledata(list_head(&h->msgs))) && m->role != CHAT_USER)
		mem_deref(m);
}

static int msg_new(struct hmsg **mp, enum chat_role role, const char *content)
{
	struct hmsg *m = NULL;
	int err = 0;

	m = mem_zalloc(sizeof(*m), hmsg_destructor);
	if (!m)
		return ENOMEM;

	m->role = role;
	if (content)
		err = str_dup(&m->content, content);

	if (err)
		mem_deref(m);
	else
		*mp = m;

	return err;
}

static void msg_append(struct chat_hist *h, struct hmsg *m)
{
	list_append(&h->msgs, &m->le, m);
	trim(h);
}

int chat_hist_add(struct chat_hist *hist, enum chat_role role,
		  const char *content)
{
	struct hmsg *m = NULL;
	int err;

	if (!hist || !content || role == CHAT_TOOL)
		return EINVAL;

	err = msg_new(&m, role, content);
	if (!err)
		msg_append(hist, m);

	return err;
}

int chat_hist_add_calls(struct chat_hist *hist, const char *content,
			const struct chat_call *calls, unsigned n)
{
	struct hmsg *m = NULL;
	int err;

	if (!hist || !calls || !n)
		return EINVAL;
	for (unsigned i = 0; i < n; i++) {
		if (!calls[i].id || !*calls[i].id || !calls[i].name)
			return EINVAL;
	}

	err = msg_new(&m, CHAT_ASSISTANT, content && *content ? content : NULL);
	if (err)
		return err;

	m->calls = mem_zalloc(n * sizeof(*m->calls), NULL);
	if (!m->calls) {
		err = ENOMEM;
		goto out;
	}
	m->ncalls = n;

	for (unsigned i = 0; i < n; i++) {
		const char *args = calls[i].args && *calls[i].args ?
			calls[i].args : "{}";

		err |= str_dup(&m->calls[i].id, calls[i].id);
		err |= str_dup(&m->calls[i].name, calls[i].name);
		err |= str_dup(&m->calls[i].args, args);
	}

 out:
	if (err)
		mem_deref(m);
	else
		msg_append(hist, m);

	return err;
}

int chat_hist_add_result(struct chat_hist *hist, const char *tool_call_id,
			 const char *content)
{
	struct hmsg *m = NULL;
	int err;

	if (!hist || !tool_call_id || !content)
		return EINVAL;

	err = msg_new(&m, CHAT_TOOL, content);
	if (!err)
		err = str_dup(&m->tool_call_id, tool_call_id);

	if (err)
		mem_deref(m);
	else
		msg_append(hist, m);

	return err;
}

int chat_hist_set_last(struct chat_hist *hist, const char *content)
{
	struct hmsg *m = hist ? list_ledata(list_tail(&hist->msgs)) : NULL;
	char *s = NULL;
	int err;

	if (!m || m->role != CHAT_ASSISTANT || m->ncalls || !m->content)
		return ENOENT;

	if (!content) {
		mem_deref(m);
		return 0;
	}

	err = str_dup(&s, content);
	if (err)
		return err;
	mem_deref(m->content);
	m->content = s;

	return 0;
}

unsigned chat_hist_count(const struct chat_hist *hist)
{
	return hist ? list_count(&hist->msgs) : 0;
}

static const char *role_name(enum chat_role role)
{
	switch (role) {

	case CHAT_SYSTEM:    return "system";
	case CHAT_USER:      return "user";
	case CHAT_ASSISTANT: return "assistant";
	default:             return "tool";
	}
}

static int print_msg(struct re_printf *pf, const struct hmsg *m)
{
	int err;

	err = re_hprintf(pf, "{\"role\":\"%s\"", role_name(m->role));
	if (m->role == CHAT_TOOL)
		err |= re_hprintf(pf, ",\"tool_call_id\":%H", json_print_str,
				  m->tool_call_id);
	if (m->content)
		err |= re_hprintf(pf, ",\"content\":%H", json_print_str,
				  m->content);
	else
		err |= re_hprintf(pf, ",\"content\":null");

	if (m->ncalls) {
		err |= re_hprintf(pf, ",\"tool_calls\":[");
		for (unsigned i = 0; i < m->ncalls; i++) {
			err |= re_hprintf(pf, "%s{\"id\":%H,\"type\":"
					  "\"function\",\"function\":"
					  "{\"name\":%H,\"arguments\":%H}}",
					  i ? "," : "",
					  json_print_str, m->calls[i].id,
					  json_print_str, m->calls[i].name,
					  json_print_str, m->calls[i].args);
		}
		err |= re_hprintf(pf, "]");
	}

	return err | re_hprintf(pf, "}");
}

static int print_msgs(struct re_printf *pf, const struct chat_hist *hist,
		      bool first)
{
	struct le *le;
	int err = 0;

	for (le = hist ? hist->msgs.head : NULL; le; le = le->next) {
		err |= re_hprintf(pf, "%s%H", first ? "" : ",", print_msg,
				  le->data);
		first = false;
	}

	return err;
}

int chat_hist_print(struct re_printf *pf, const struct chat_hist *hist)
{
	int err = re_hprintf(pf, "[");

	err |= print_msgs(pf, hist, true);
	return err | re_hprintf(pf, "]");
}

static int print_tools(struct re_printf *pf, const struct chat_req *r)
{
	int err = re_hprintf(pf, ",\"tools\":[");

	for (size_t i = 0; i < r->ntools; i++) {
		const struct chat_tool *t = &r->tools[i];

		err |= re_hprintf(pf, "%s{\"type\":\"function\",\"function\":"
				  "{\"name\":%H", i ? "," : "",
				  json_print_str, t->name);
		if (t->description)
			err |= re_hprintf(pf, ",\"description\":%H",
					  json_print_str, t->description);
		err |= re_hprintf(pf, ",\"parameters\":%s}}",
				  t->parameters ? t->parameters :
				  "{\"type\":\"object\",\"properties\":{}}");
	}
	err |= re_hprintf(pf, "]");
	if (r->no_tool_calls)
		err |= re_hprintf(pf, ",\"tool_choice\":\"none\"");

	return err;
}

static int print_req(struct re_printf *pf, const struct chat_req *r)
{
	int err;

	err = re_hprintf(pf, "{\"model\":%H,\"messages\":[", json_print_str,
			 r->model);
	if (r->system)
		err |= re_hprintf(pf, "{\"role\":\"system\",\"content\":%H}",
				  json_print_str, r->system);
	err |= print_msgs(pf, r->hist, !r->system);
	err |= re_hprintf(pf, "],\"stream\":true");

	if (r->temperature >= 0 && isfinite(r->temperature))
		err |= re_hprintf(pf, ",\"temperature\":%.2f",
				  r->temperature > 2 ? 2.0 : r->temperature);
	if (r->max_tokens)
		err |= re_hprintf(pf, ",\"max_tokens\":%u", r->max_tokens);
	if (r->ntools)
		err |= print_tools(pf, r);

	return err | re_hprintf(pf, "}");
}

int chat_req_encode(char **bodyp, const struct chat_req *req)
{
	if (!bodyp || !req || !req->model || (req->ntools && !req->tools))
		return EINVAL;

	for (size_t i = 0; i < req->ntools; i++) {
		if (!req->tools[i].name)
			return EINVAL;
	}

	return re_sdprintf(bodyp, "%H", print_req, req);
}
