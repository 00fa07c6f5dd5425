/* dlg_scenario.c - the "scenario" dialogue provider: walks the agent's
 * scenario graph (scenario.h), matching the caller's answers with
 * intent.h. No model, no network, except for webhook steps.
 *
 * A reply is computed at once: start/user/silence/dtmf call the action
 * handler before they return, ending with DLG_DONE, unless the walk
 * reaches a webhook step; then the reply goes on (and ends) from the
 * request's done handler. Events: "scenario.step" {"step", "slots"} on
 * entering every step, "scenario.no_match" {"step", "count"} on an
 * answer that does not fit, "scenario.completed" {"step", "outcome",
 * "slots"} when the scenario ends (outcome "hangup", "transfer", "end":
 * it ran out of steps, or "no_match": too many no-matches with nowhere
 * to go).
 *
 * The action handler may release the state (the call hangs up inside
 * it): each entry holds a reference while it emits, and stops emitting
 * when it holds the last one.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <re.h>
#include "agent/intent.h"
#include "agent/provider.h"
#include "agent/rhttp.h"
#include "agent/scenario.h"
#include "agent/template.h"
#include "json/json.h"

enum { MAX_DIGITS = 32 };

static const char default_no_match[] = "Sorry, I didn't catch that.";

struct dlg_scn {
	struct scenario *scn;
	struct odict *vars;        /* contact fields, then slots */
	struct odict *slots;       /* slot, set and webhook variables */
	struct http_cli *http;
	uint32_t timeout_ms;
	dlg_action_h *acth;
	void *arg;

	struct rhttp *req;         /* webhook under way */
	int wh_step;               /* its step */
	int resume;                /* after a dropped webhook: go on here */
	bool resuming;

	int ask;                   /* the ask waiting for the caller */
	int last;                  /* the step entered last */
	unsigned nomatch;          /* no-matches in a row at this ask */
	char digits[MAX_DIGITS + 1];
	size_t ndigits;

	bool started;
	bool ended;
	bool quiet;                /* cancelled or released: emit nothing */
};


static void destructor(void *arg)
{
	struct dlg_scn *st = arg;

	mem_deref(st->req);
	mem_deref(st->scn);
	mem_deref(st->vars);
	mem_deref(st->slots);
}


static void emit(struct dlg_scn *st, enum dlg_act act, const char *text,
		 const char *data)
{
	struct dlg_action a;

	if (st->quiet)
		return;
	memset(&a, 0, sizeof(a));
	a.act = act;
	a.text = text;
	a.data = data;
	st->acth(&a, st->arg);

	/* only the reference of the entry in progress is left */
	if (mem_nrefs(st) == 1)
		st->quiet = true;
}


static void emit_error(struct dlg_scn *st, int err, bool http,
		       const char *text)
{
	struct dlg_action a;

	if (st->quiet)
		return;
	memset(&a, 0, sizeof(a));
	a.act = DLG_ERROR;
	a.text = text;
	a.err = err;
	a.http = http;
	st->acth(&a, st->arg);
	if (mem_nrefs(st) == 1)
		st->quiet = true;
}


static const struct scn_step *step_of(const struct dlg_scn *st, int idx)
{
	return scenario_step(st->scn, idx);
}


/* ---- variables ---- */

static int set_var(struct dlg_scn *st, const char *key, const char *val)
{
	int err;

	odict_entry_del(st->vars, key);
	odict_entry_del(st->slots, key);
	err = odict_entry_add(st->vars, key, ODICT_STRING, val);
	if (!err)
		err = odict_entry_add(st->slots, key, ODICT_STRING, val);
	return err;
}


/* a scalar variable as text into buf ("" when missing) */
static const char *var_text(const struct dlg_scn *st, const char *key,
			    char *buf, size_t sz)
{
	const struct odict_entry *e = odict_lookup(st->vars, key);

	if (!e)
		return "";
	switch (e->type) {

	case ODICT_STRING:
		return e->u.str;

	case ODICT_INT:
		(void)re_snprintf(buf, sz, "%lld", (long long)e->u.integer);
		return buf;

	case ODICT_DOUBLE:
		(void)snprintf(buf, sz, "%.15g", e->u.dbl);
		return buf;

	case ODICT_BOOL:
		return e->u.boolean ? "true" : "false";

	default:
		return "";
	}
}


/* top-level members of src into dst (containers by reference) */
static int copy_vars(struct odict *dst, const struct odict *src)
{
	int err = 0;

	for (struct le *le = src ? src->lst.head : NULL; le && !err;
	     le = le->next) {
		const struct odict_entry *e = le->data;

		switch (e->type) {

		case ODICT_OBJECT:
		case ODICT_ARRAY:
			err = odict_entry_add(dst, e->key, e->type, e->u.odict);
			break;

		case ODICT_STRING:
			err = odict_entry_add(dst, e->key, e->type, e->u.str);
			break;

		case ODICT_INT:
			err = odict_entry_add(dst, e->key, e->type,
					      e->u.integer);
			break;

		case ODICT_DOUBLE:
			err = odict_entry_add(dst, e->key, e->type, e->u.dbl);
			break;

		case ODICT_BOOL:
			err = odict_entry_add(dst, e->key, e->type,
					      e->u.boolean);
			break;

		default:
			break;
		}
	}
	return err;
}


/* ---- speaking ---- */

static bool abbreviation(const char *start, const char *dot)
{
	static const char *const abbr[] = {"Mr", "Mrs", "Ms", "Dr", "St",
		"Jr", "Sr", "vs", "etc", "e.g", "i.e", "No"};
	const char *w = dot;

	while (w > start && w[-1] != ' ')
		--w;
	for (size_t i = 0; i < ARRAY_SIZE(abbr); i++) {
		if ((size_t)(dot - w) == strlen(abbr[i]) &&
		    !strncmp(w, abbr[i], (size_t)(dot - w)))
			return true;
	}
	return false;
}


static void say_chunk(struct dlg_scn *st, const char *p, size_t l)
{
	char *s;

	while (l && strchr(" \t\r\n", *p)) {
		++p;
		--l;
	}
	while (l && strchr(" \t\r\n", p[l - 1]))
		--l;
	if (!l)
		return;
	s = mem_alloc(l + 1, NULL);
	if (!s)
		return;
	memcpy(s, p, l);
	s[l] = '\0';
	emit(st, DLG_SAY, s, NULL);
	mem_deref(s);
}


/* a rendered text, sentence by sentence */
static int say(struct dlg_scn *st, const char *tmpl)
{
	char *text = NULL;
	const char *p, *from;
	int err;

	if (!tmpl)
		return 0;
	err = template_render(&text, tmpl, st->vars);
	if (err)
		return err;

	for (p = from = text; *p && !st->quiet; p++) {
		if ((*p == '.' || *p == '!' || *p == '?') &&
		    (p[1] == ' ' || p[1] == '\n' || p[1] == '\t') &&
		    !(*p == '.' && abbreviation(from, p))) {
			say_chunk(st, from, (size_t)(p + 1 - from));
			from = p + 1;
		}
	}
	if (!st->quiet)
		say_chunk(st, from, strlen(from));
	mem_deref(text);
	return 0;
}


/* ---- events ---- */

static void step_event(struct dlg_scn *st, const struct scn_step *s)
{
	char *data = NULL;

	if (re_sdprintf(&data, "{\"step\":%H,\"slots\":%H}", json_print_str,
			s->name, json_print, st->slots))
		return;
	emit(st, DLG_EVENT, "scenario.step", data);
	mem_deref(data);
}


static void completed(struct dlg_scn *st, const struct scn_step *s,
		      const char *outcome)
{
	char *data = NULL;

	st->ended = true;
	st->ask = SCENARIO_NO_STEP;
	if (!re_sdprintf(&data, "{\"step\":%H,\"outcome\":%H,\"slots\":%H}",
			 json_print_str, s ? s->name : "",
			 json_print_str, outcome, json_print, st->slots))
		emit(st, DLG_EVENT, "scenario.completed", data);
	mem_deref(data);
}


/* ---- walking ---- */

static int webhook_send(struct dlg_scn *st, int idx);


static int branch_of(const struct scn_step *s, const char *value, int def)
{
	for (size_t i = 0; i < s->ncases; i++) {
		if (!str_casecmp(s->cases[i].value, value))
			return s->cases[i].step;
	}
	return def;
}


/* enter step idx and go on until the caller must answer, the scenario
 * ends or a webhook leaves */
static int run(struct dlg_scn *st, int idx)
{
	const struct scn_step *s;
	size_t budget = scenario_count(st->scn) + 1;
	char buf[64], *val = NULL;
	int err = 0;

	st->ask = SCENARIO_NO_STEP;
	while (!err && !st->quiet) {
		s = step_of(st, idx);
		if (!s) {
			/* no way on: the scenario is over */
			completed(st, step_of(st, st->last), "end");
			emit(st, DLG_END_CALL, NULL, NULL);
			return 0;
		}
		if (!budget--) {
			/* compiling refuses such loops; never talk forever */
			emit_error(st, ELOOP, false, "scenario loops");
			completed(st, s, "end");
			emit(st, DLG_END_CALL, NULL, NULL);
			return 0;
		}
		st->last = idx;
		step_event(st, s);

		switch (s->type) {

		case SCN_SAY:
			err = say(st, s->text);
			idx = s->next;
			break;

		case SCN_ASK:
			err = say(st, s->text);
			st->ask = idx;
			st->nomatch = 0;
			st->ndigits = 0;
			return err;

		case SCN_BRANCH:
			idx = branch_of(s, var_text(st, s->var, buf,
						    sizeof(buf)), s->def);
			break;

		case SCN_SET:
			err = template_render(&val, s->value, st->vars);
			if (!err)
				err = set_var(st, s->var, val);
			val = mem_deref(val);
			idx = s->next;
			break;

		case SCN_DNC:
			err = say(st, s->text);
			emit(st, DLG_DNC, NULL, NULL);
			idx = s->next;
			break;

		case SCN_TRANSFER:
			err = say(st, s->text);
			if (!err)
				err = template_render(&val, s->to, st->vars);
			if (err)
				break;
			completed(st, s, "transfer");
			if (*val) {
				emit(st, DLG_TRANSFER, val, NULL);
			}
			else {
				emit_error(st, EINVAL, false,
					   "transfer target is empty");
				emit(st, DLG_END_CALL, NULL, NULL);
			}
			mem_deref(val);
			return 0;

		case SCN_HANGUP:
			err = say(st, s->text);
			completed(st, s, "hangup");
			emit(st, DLG_END_CALL, NULL, NULL);
			return err;

		case SCN_WEBHOOK:
			err = webhook_send(st, idx);
			if (!err)
				return 0;   /* the reply goes on when it ends */
			{
				char msg[160];
				(void)re_snprintf(msg, sizeof(msg),
						  "webhook '%s': %m", s->name,
						  err);
				emit_error(st, err, true, msg);
			}
			err = 0;
			idx = s->on_error != SCENARIO_NO_STEP ? s->on_error :
				s->next;
			break;
		}
	}

	/* cut short by a cancel from inside the handler: the next turn
	 * goes on from where the walk stopped */
	if (st->quiet && !st->ended && !st->req) {
		st->resume = idx;
		st->resuming = true;
	}
	return err;
}


/* ---- webhooks ---- */

/* string, integer and boolean members of a JSON object become vars */
static void merge_reply(struct dlg_scn *st, const struct mbuf *body)
{
	struct odict *o = NULL;
	int type;

	if (!body || !body->end ||
	    json_parse(&o, &type, (const char *)body->buf, body->end, NULL))
		return;
	if (type != ODICT_OBJECT)
		goto out;
	for (struct le *le = o->lst.head; le; le = le->next) {
		const struct odict_entry *e = le->data;
		char buf[32];

		if (strlen(e->key) > 64)
			continue;
		if (e->type == ODICT_STRING)
			(void)set_var(st, e->key, e->u.str);
		else if (e->type == ODICT_INT || e->type == ODICT_BOOL) {
			if (e->type == ODICT_INT)
				(void)re_snprintf(buf, sizeof(buf), "%lld",
						  (long long)e->u.integer);
			else
				str_ncpy(buf, e->u.boolean ? "true" : "false",
					 sizeof(buf));
			(void)set_var(st, e->key, buf);
		}
	}
 out:
	mem_deref(o);
}


static void webhook_done(int err, uint16_t status, const char *ctype,
			 struct mbuf *body, void *arg)
{
	struct dlg_scn *st = arg;
	const struct scn_step *s = step_of(st, st->wh_step);
	char msg[160];
	int next;

	(void)ctype;
	mem_ref(st);
	if (!err && (status < 200 || status > 299)) {
		(void)re_snprintf(msg, sizeof(msg), "webhook '%s': HTTP %u",
				  s->name, status);
		err = EPROTO;
	}
	else if (err) {
		(void)re_snprintf(msg, sizeof(msg), "webhook '%s': %m",
				  s->name, err);
	}
	else {
		merge_reply(st, body);
	}
	st->req = mem_deref(st->req);   /* body goes with it */

	if (err) {
		emit_error(st, err, true, msg);
		next = s->on_error != SCENARIO_NO_STEP ? s->on_error : s->next;
	}
	else {
		next = s->next;
	}
	if (!st->quiet) {
		err = run(st, next);
		if (err)
			emit_error(st, err, false, "scenario failed");
	}
	if (!st->req)
		emit(st, DLG_DONE, NULL, NULL);
	mem_deref(st);
}


static int webhook_send(struct dlg_scn *st, int idx)
{
	const struct scn_step *s = step_of(st, idx);
	struct rhttp_opts o;
	char *body = NULL;
	int err;

	if (!st->http)
		return ENOTCONN;

	memset(&o, 0, sizeof(o));
	o.method = s->method;
	o.url = s->url;
	o.timeout_ms = st->timeout_ms;
	o.collect = true;
	if (strcmp(s->method, "GET")) {
		err = json_encode(&body, st->vars);
		if (err)
			return err;
		o.ctype = "application/json";
		o.body = (const uint8_t *)body;
		o.body_len = strlen(body);
	}
	st->wh_step = idx;
	err = rhttp_request(&st->req, st->http, &o, NULL, webhook_done, st);
	mem_deref(body);
	return err;
}


/* ---- answers ---- */

static int answered(struct dlg_scn *st, const char *value)
{
	const struct scn_step *s = step_of(st, st->ask);
	int err = 0;

	if (s->slot)
		err = set_var(st, s->slot, value);
	if (err)
		return err;
	return run(st, branch_of(s, value, s->next));
}


static int no_match(struct dlg_scn *st)
{
	const struct scn_step *s = step_of(st, st->ask);
	char *data = NULL;
	int err = 0;

	++st->nomatch;
	st->ndigits = 0;
	if (!re_sdprintf(&data, "{\"step\":%H,\"count\":%u}", json_print_str,
			 s->name, st->nomatch))
		emit(st, DLG_EVENT, "scenario.no_match", data);
	mem_deref(data);

	if (st->nomatch >= s->nm_max) {
		if (s->nm_next == SCENARIO_NO_STEP) {
			completed(st, s, "no_match");
			emit(st, DLG_END_CALL, NULL, NULL);
			return 0;
		}
		return run(st, s->nm_next);
	}
	if (s->nm_text)
		return say(st, s->nm_text);
	err = say(st, default_no_match);
	if (!err)
		err = say(st, s->text);
	return err;
}


/* ---- the provider ---- */

/* the start of a caller's turn; false: nothing to do but DLG_DONE */
static bool turn_begin(struct dlg_scn *st)
{
	st->quiet = false;
	if (st->resuming) {
		/* a webhook was dropped by a barge-in: its outcome is
		 * unknown, the walk goes on from its on_error/next */
		st->resuming = false;
		(void)run(st, st->resume);
		return false;
	}
	return !st->ended && st->ask != SCENARIO_NO_STEP;
}


static int turn_end(struct dlg_scn *st, int err)
{
	if (err)
		emit_error(st, err, false, "scenario failed");
	if (!st->req)
		emit(st, DLG_DONE, NULL, NULL);
	mem_deref(st);
	return 0;
}


static int scn_alloc(void **stp, const struct agent_env *env,
		     const struct odict *agent, const struct odict *vars,
		     dlg_action_h *acth, void *arg)
{
	const struct odict_entry *e;
	struct dlg_scn *st;
	int err;

	if (!stp || !acth)
		return EINVAL;
	e = agent ? odict_lookup(agent, "scenario") : NULL;
	if (!e || e->type != ODICT_OBJECT)
		return EINVAL;

	st = mem_zalloc(sizeof(*st), destructor);
	if (!st)
		return ENOMEM;
	st->acth = acth;
	st->arg = arg;
	st->ask = st->wh_step = st->resume = SCENARIO_NO_STEP;
	st->last = SCENARIO_NO_STEP;
	if (env) {
		st->http = env->http;
		st->timeout_ms = env->http_timeout_ms;
	}

	err = scenario_compile(&st->scn, e->u.odict, NULL);
	if (!err)
		err = odict_alloc(&st->vars, 32);
	if (!err)
		err = odict_alloc(&st->slots, 16);
	if (!err)
		err = copy_vars(st->vars, vars);

	if (err)
		mem_deref(st);
	else
		*stp = st;
	return err;
}


static int scn_start(void *arg)
{
	struct dlg_scn *st = arg;
	int err;

	if (!st)
		return EINVAL;
	if (st->started)
		return EALREADY;
	st->started = true;
	st->quiet = false;
	mem_ref(st);
	err = run(st, scenario_start(st->scn));
	return turn_end(st, err);
}


static int scn_user(void *arg, const char *text)
{
	struct dlg_scn *st = arg;
	char *value = NULL;
	int err;

	if (!st)
		return EINVAL;
	if (st->req)
		return 0;   /* the reply under way ends with its DLG_DONE */
	mem_ref(st);
	if (!turn_begin(st))
		return turn_end(st, 0);

	st->ndigits = 0;
	err = intent_match(&value, &step_of(st, st->ask)->spec, text);
	if (err == ENOENT)
		err = no_match(st);
	else if (!err)
		err = answered(st, value);
	mem_deref(value);
	return turn_end(st, err);
}


static int scn_silence(void *arg)
{
	struct dlg_scn *st = arg;
	const struct scn_step *s;
	int err;

	if (!st)
		return EINVAL;
	if (st->req)
		return 0;
	mem_ref(st);
	if (!turn_begin(st))
		return turn_end(st, 0);

	s = step_of(st, st->ask);
	err = say(st, s->reprompt ? s->reprompt : s->text);
	return turn_end(st, err);
}


static int scn_dtmf(void *arg, char digit)
{
	struct dlg_scn *st = arg;
	const struct scn_step *s;
	char *value = NULL, key[2] = {digit, '\0'};
	int err = 0;

	if (!st)
		return EINVAL;
	if (st->req)
		return 0;
	mem_ref(st);
	if (!turn_begin(st))
		return turn_end(st, 0);

	s = step_of(st, st->ask);
	if (s->spec.expect == INTENT_NUMBER) {
		if (digit >= '0' && digit <= '9') {
			if (st->ndigits < MAX_DIGITS)
				st->digits[st->ndigits++] = digit;
			return turn_end(st, 0);
		}
		if (digit == '*') {
			st->ndigits = 0;
			return turn_end(st, 0);
		}
		if (digit != '#')
			return turn_end(st, 0);
		st->digits[st->ndigits] = '\0';
		err = st->ndigits ? intent_dtmf(&value, &s->spec, st->digits)
			: ENOENT;
	}
	else if (digit >= '0' && digit <= '9') {
		err = intent_dtmf(&value, &s->spec, key);
	}
	else {
		return turn_end(st, 0);   /* '*', '#', A-D: nothing here */
	}

	if (err == ENOENT)
		err = no_match(st);
	else if (!err)
		err = answered(st, value);
	mem_deref(value);
	return turn_end(st, err);
}


static void scn_cancel(void *arg, const char *heard)
{
	struct dlg_scn *st = arg;
	const struct scn_step *s;

	(void)heard;
	if (!st)
		return;
	st->quiet = true;   /* when cancelled from inside a handler */
	if (!st->req)
		return;
	st->req = mem_deref(st->req);
	s = step_of(st, st->wh_step);
	st->resume = s->on_error != SCENARIO_NO_STEP ? s->on_error : s->next;
	st->resuming = true;
}


static const char *scn_grammar(void *arg)
{
	struct dlg_scn *st = arg;
	const struct scn_step *s;

	if (!st || st->ended || st->req)
		return NULL;
	s = step_of(st, st->ask);
	return s ? s->grammar : NULL;
}


const struct dlg_ops dlg_scenario = {
	.name = "scenario",
	.alloc = scn_alloc,
	.start = scn_start,
	.user = scn_user,
	.silence = scn_silence,
	.dtmf = scn_dtmf,
	.cancel = scn_cancel,
	.grammar = scn_grammar,
};
