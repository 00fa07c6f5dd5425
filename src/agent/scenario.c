/* scenario.c - checking and compiling scenario graphs (see scenario.h).
 *
 * Compiling resolves step names to indexes once, so the dialogue never
 * meets a dangling link at run time, and it precomputes each ask's JSGF
 * grammar. The only run-time loops left are the ones through an ask,
 * which wait for the caller; the check below refuses the others.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <re.h>
#include "agent/scenario.h"

enum { MAX_NAME = 64, MAX_TEXT = 4000, MAX_CHOICES = 50, MAX_PHRASES = 100,
       MAX_NM = 10, DEFAULT_NM = 2 };

struct scenario {
	struct odict *obj;         /* referenced: strings point into it */
	struct scn_step *steps;
	size_t n;
	int start;
};

/* what compiling needs at hand */
struct cc {
	struct scenario *scn;
	const struct odict *steps;
	struct scenario_err *err;
};

static const char *const type_names[] = {
	[SCN_SAY] = "say", [SCN_ASK] = "ask", [SCN_BRANCH] = "branch",
	[SCN_SET] = "set", [SCN_TRANSFER] = "transfer",
	[SCN_HANGUP] = "hangup", [SCN_DNC] = "dnc",
	[SCN_WEBHOOK] = "webhook",
};

/* members each type accepts besides "type" (and "_..." ones) */
static const char *const members[][10] = {
	[SCN_SAY] = {"text", "next"},
	[SCN_ASK] = {"text", "expect", "slot", "branches", "next",
		     "no_match", "reprompt", "choices", "intents"},
	[SCN_BRANCH] = {"var", "cases", "default"},
	[SCN_SET] = {"var", "value", "next"},
	[SCN_TRANSFER] = {"to", "text"},
	[SCN_HANGUP] = {"text"},
	[SCN_DNC] = {"text", "next"},
	[SCN_WEBHOOK] = {"url", "method", "next", "on_error"},
};


static int fail(struct cc *c, const char *step, const char *member,
		const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int fail(struct cc *c, const char *step, const char *member,
		const char *fmt, ...)
{
	struct scenario_err *e = c->err;
	size_t l = 0;
	va_list ap;

	if (!e)
		return EINVAL;

	if (step)
		(void)snprintf(e->field, sizeof(e->field), "steps.%s%s%s",
			       step, member ? "." : "", member ? member : "");
	else
		(void)snprintf(e->field, sizeof(e->field), "%s",
			       member ? member : "");
	if (step)
		l = (size_t)snprintf(e->msg, sizeof(e->msg), "step '%s': ",
				     step);
	if (l >= sizeof(e->msg))
		l = sizeof(e->msg) - 1;
	va_start(ap, fmt);
	(void)vsnprintf(e->msg + l, sizeof(e->msg) - l, fmt, ap);
	va_end(ap);
	return EINVAL;
}


static void destructor(void *arg)
{
	struct scenario *scn = arg;

	for (size_t i = 0; scn->steps && i < scn->n; i++) {
		mem_deref(scn->steps[i].grammar);
		mem_deref(scn->steps[i].own);
		mem_deref(scn->steps[i].cases);
	}
	mem_deref(scn->steps);
	mem_deref(scn->obj);
}


const char *scenario_type_name(enum scn_type type)
{
	return (size_t)type < ARRAY_SIZE(type_names) ? type_names[type] : "?";
}


static bool type_parse(enum scn_type *tp, const char *s)
{
	for (size_t i = 0; i < ARRAY_SIZE(type_names); i++) {
		if (!strcmp(type_names[i], s)) {
			*tp = (enum scn_type)i;
			return true;
		}
	}
	return false;
}


int scenario_find(const struct scenario *scn, const char *name)
{
	for (size_t i = 0; scn && name && i < scn->n; i++) {
		if (!strcmp(scn->steps[i].name, name))
			return (int)i;
	}
	return SCENARIO_NO_STEP;
}


static bool ident_ok(const char *s)
{
	size_t l = strlen(s);

	if (!l || l > MAX_NAME)
		return false;
	for (; *s; s++) {
		char ch = *s;
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '_' || ch == '.'))
			return false;
	}
	return true;
}


static bool blank(const char *s)
{
	for (; *s; s++) {
		if (!strchr(" \t\r\n\v\f", *s))
			return false;
	}
	return true;
}


/* an optional string member; required: its absence is an error */
static int get_str(struct cc *c, const char *step, const struct odict *o,
		   const char *key, bool required, const char **sp)
{
	const struct odict_entry *e = odict_lookup(o, key);

	*sp = NULL;
	if (!e) {
		return required ? fail(c, step, key, "'%s' is required", key)
			: 0;
	}
	if (e->type != ODICT_STRING)
		return fail(c, step, key, "'%s' must be a string", key);
	if (strlen(e->u.str) > MAX_TEXT)
		return fail(c, step, key, "'%s' is longer than %d bytes",
			    key, MAX_TEXT);
	*sp = e->u.str;
	return 0;
}


/* a step named by member key (optional): its index or SCENARIO_NO_STEP */
static int get_ref(struct cc *c, const char *step, const struct odict *o,
		   const char *key, int *idxp)
{
	const char *s;
	int err;

	*idxp = SCENARIO_NO_STEP;
	err = get_str(c, step, o, key, false, &s);
	if (err || !s)
		return err;
	*idxp = scenario_find(c->scn, s);
	if (*idxp == SCENARIO_NO_STEP)
		return fail(c, step, key, "%s '%s' is not a step", key, s);
	return 0;
}


static int check_members(struct cc *c, const char *step,
			 const struct odict *o, const char *const *allowed,
			 size_t nallowed)
{
	for (struct le *le = o->lst.head; le; le = le->next) {
		const struct odict_entry *e = le->data;
		bool ok = e->key[0] == '_';

		for (size_t i = 0; !ok && i < nallowed && allowed[i]; i++)
			ok = !strcmp(allowed[i], e->key);
		if (!ok)
			return fail(c, step, e->key, "unknown member '%s'",
				    e->key);
	}
	return 0;
}


/* value -> step pairs of an object member ("branches", "cases") */
static int get_cases(struct cc *c, struct scn_step *st,
		     const struct odict *o, const char *key)
{
	const struct odict_entry *e = odict_lookup(o, key);
	struct le *le;
	size_t i = 0;

	if (!e)
		return 0;
	if (e->type != ODICT_OBJECT)
		return fail(c, st->name, key, "'%s' must be an object", key);
	st->ncases = odict_count(e->u.odict, false);
	if (!st->ncases)
		return 0;
	st->cases = mem_zalloc(st->ncases * sizeof(*st->cases), NULL);
	if (!st->cases)
		return ENOMEM;

	for (le = e->u.odict->lst.head; le; le = le->next, i++) {
		const struct odict_entry *ce = le->data;
		char path[96];

		(void)snprintf(path, sizeof(path), "%s.%s", key, ce->key);
		if (ce->type != ODICT_STRING)
			return fail(c, st->name, path,
				    "%s '%s' must name a step", key, ce->key);
		st->cases[i].value = ce->key;
		st->cases[i].step = scenario_find(c->scn, ce->u.str);
		if (st->cases[i].step == SCENARIO_NO_STEP)
			return fail(c, st->name, path,
				    "%s '%s' goes to '%s', which is not a "
				    "step", key, ce->key, ce->u.str);
	}
	return 0;
}


static int get_var(struct cc *c, struct scn_step *st, const struct odict *o,
		   const char *key, bool required, const char **varp)
{
	int err = get_str(c, st->name, o, key, required, varp);

	if (!err && *varp && !ident_ok(*varp))
		return fail(c, st->name, key, "%s '%s' is not a name of "
			    "letters, digits, '_' and '.'", key, *varp);
	return err;
}


static int ask_choices(struct cc *c, struct scn_step *st,
		       const struct odict *o)
{
	const struct odict_entry *e = odict_lookup(o, "choices");
	size_t n;

	if (!e) {
		if (st->spec.expect == INTENT_CHOICE)
			return fail(c, st->name, "choices", "expect choice "
				    "needs 'choices'");
		return 0;
	}
	if (st->spec.expect != INTENT_CHOICE)
		return fail(c, st->name, "choices", "'choices' is only for "
			    "expect choice");
	if (e->type != ODICT_ARRAY)
		return fail(c, st->name, "choices", "'choices' must be an "
			    "array of strings");
	n = odict_count(e->u.odict, false);
	if (!n || n > MAX_CHOICES)
		return fail(c, st->name, "choices", "'choices' must have 1 "
			    "to %d entries", MAX_CHOICES);
	for (struct le *le = e->u.odict->lst.head; le; le = le->next) {
		const struct odict_entry *ce = le->data;
		if (ce->type != ODICT_STRING || blank(ce->u.str) ||
		    strlen(ce->u.str) > MAX_TEXT)
			return fail(c, st->name, "choices", "every choice "
				    "must be a non-empty string");
	}
	st->spec.choices = e->u.odict;
	return 0;
}


static int ask_intents(struct cc *c, struct scn_step *st,
		       const struct odict *o)
{
	const struct odict_entry *e = odict_lookup(o, "intents");
	size_t n;

	if (!e) {
		if (st->spec.expect == INTENT_INTENT)
			return fail(c, st->name, "intents", "expect intent "
				    "needs 'intents'");
		return 0;
	}
	if (st->spec.expect != INTENT_INTENT)
		return fail(c, st->name, "intents", "'intents' is only for "
			    "expect intent");
	if (e->type != ODICT_OBJECT)
		return fail(c, st->name, "intents", "'intents' must be an "
			    "object of phrase lists");
	n = odict_count(e->u.odict, false);
	if (!n || n > MAX_CHOICES)
		return fail(c, st->name, "intents", "'intents' must have 1 "
			    "to %d entries", MAX_CHOICES);
	for (struct le *le = e->u.odict->lst.head; le; le = le->next) {
		const struct odict_entry *ie = le->data;
		size_t np = ie->type == ODICT_ARRAY ?
			odict_count(ie->u.odict, false) : 0;
		bool ok = np >= 1 && np <= MAX_PHRASES;

		for (struct le *pe = ok ? ie->u.odict->lst.head : NULL; pe;
		     pe = pe->next) {
			const struct odict_entry *ph = pe->data;
			ok &= ph->type == ODICT_STRING && !blank(ph->u.str)
				&& strlen(ph->u.str) <= MAX_TEXT;
		}
		if (!ok)
			return fail(c, st->name, "intents", "intent '%s' "
				    "must be an array of 1 to %d non-empty "
				    "phrases", ie->key, MAX_PHRASES);
	}
	st->spec.intents = e->u.odict;
	return 0;
}


/* branch keys an answer of this kind can produce */
static int ask_branch_keys(struct cc *c, struct scn_step *st)
{
	for (size_t i = 0; i < st->ncases; i++) {
		const char *v = st->cases[i].value;
		const struct odict *set = NULL;
		bool ok = true;

		switch (st->spec.expect) {

		case INTENT_YES_NO:
			ok = !str_casecmp(v, "yes") || !str_casecmp(v, "no");
			break;

		case INTENT_CHOICE:
			set = st->spec.choices;
			ok = false;
			for (struct le *le = set->lst.head; le && !ok;
			     le = le->next) {
				const struct odict_entry *e = le->data;
				ok = !str_casecmp(e->u.str, v);
			}
			break;

		case INTENT_INTENT:
			ok = false;
			for (struct le *le = st->spec.intents->lst.head;
			     le && !ok; le = le->next) {
				const struct odict_entry *e = le->data;
				ok = !str_casecmp(e->key, v);
			}
			break;

		default:
			break;
		}
		if (!ok) {
			char path[96];
			(void)snprintf(path, sizeof(path), "branches.%s", v);
			return fail(c, st->name, path, "branch '%s' can never "
				    "be taken: expect %s does not answer it",
				    v, intent_expect_name(st->spec.expect));
		}
	}
	return 0;
}


static int ask_no_match(struct cc *c, struct scn_step *st,
			const struct odict *o)
{
	static const char *const nm_members[] = {"text", "max", "next"};
	const struct odict_entry *e = odict_lookup(o, "no_match"), *m;
	const struct odict *nm;
	char path[32];
	int err;

	st->nm_max = DEFAULT_NM;
	if (!e)
		return 0;
	if (e->type != ODICT_OBJECT)
		return fail(c, st->name, "no_match", "'no_match' must be an "
			    "object");
	nm = e->u.odict;

	for (struct le *le = nm->lst.head; le; le = le->next) {
		const struct odict_entry *me = le->data;
		bool ok = me->key[0] == '_';
		for (size_t i = 0; !ok && i < ARRAY_SIZE(nm_members); i++)
			ok = !strcmp(nm_members[i], me->key);
		if (!ok) {
			(void)snprintf(path, sizeof(path), "no_match.%.16s",
				       me->key);
			return fail(c, st->name, path, "unknown member '%s' "
				    "in no_match", me->key);
		}
	}

	err = get_str(c, st->name, nm, "text", false, &st->nm_text);
	if (!err)
		err = get_ref(c, st->name, nm, "next", &st->nm_next);
	if (err) {
		/* the path names the member inside no_match */
		if (c->err) {
			char f[sizeof(c->err->field)];
			const char *last = strrchr(c->err->field, '.');
			(void)snprintf(f, sizeof(f), "steps.%s.no_match.%s",
				       st->name, last ? last + 1 : "");
			memcpy(c->err->field, f, sizeof(f));
		}
		return err;
	}
	m = odict_lookup(nm, "max");
	if (m) {
		if (m->type != ODICT_INT || m->u.integer < 1 ||
		    m->u.integer > MAX_NM)
			return fail(c, st->name, "no_match.max", "no_match."
				    "max must be an integer from 1 to %d",
				    MAX_NM);
		st->nm_max = (unsigned)m->u.integer;
	}
	return 0;
}


static int compile_ask(struct cc *c, struct scn_step *st,
		       const struct odict *o)
{
	const char *expect;
	int err;

	err = get_str(c, st->name, o, "expect", false, &expect);
	if (err)
		return err;
	st->spec.expect = INTENT_FREE_TEXT;
	if (expect && intent_expect_parse(&st->spec.expect, expect))
		return fail(c, st->name, "expect", "unknown expect '%s' (one "
			    "of yes_no, number, date, choice, free_text, "
			    "intent)", expect);
	err = get_var(c, st, o, "slot", false, &st->slot);
	if (!err)
		err = get_str(c, st->name, o, "reprompt", false,
			      &st->reprompt);
	if (!err)
		err = ask_choices(c, st, o);
	if (!err)
		err = ask_intents(c, st, o);
	if (!err)
		err = get_cases(c, st, o, "branches");
	if (!err)
		err = ask_branch_keys(c, st);
	if (!err)
		err = ask_no_match(c, st, o);
	if (!err)
		err = intent_grammar(&st->grammar, &st->spec);
	return err;
}


static bool phone_ok(const char *s)
{
	size_t n = 0;

	if (*s++ != '+')
		return false;
	for (; *s; s++, n++) {
		if (*s < '0' || *s > '9')
			return false;
	}
	return n >= 7 && n <= 15;
}


static int compile_transfer(struct cc *c, struct scn_step *st,
			    const struct odict *o)
{
	int err = get_str(c, st->name, o, "to", true, &st->to);

	if (err)
		return err;
	if (!phone_ok(st->to) && strncmp(st->to, "sip:", 4) &&
	    strncmp(st->to, "sips:", 5) && !strchr(st->to, '{'))
		return fail(c, st->name, "to", "'to' must be a number in "
			    "E.164 form (+ and 7 to 15 digits), a sip: URI or "
			    "a template");
	if ((!strncmp(st->to, "sip:", 4) && !st->to[4]) ||
	    (!strncmp(st->to, "sips:", 5) && !st->to[5]))
		return fail(c, st->name, "to", "'to' is an empty SIP URI");
	return 0;
}


static int compile_webhook(struct cc *c, struct scn_step *st,
			   const struct odict *o)
{
	int err = get_str(c, st->name, o, "url", true, &st->url);

	if (err)
		return err;
	if (!((!strncmp(st->url, "http://", 7) && st->url[7]) ||
	      (!strncmp(st->url, "https://", 8) && st->url[8])))
		return fail(c, st->name, "url", "'url' must be an http:// or "
			    "https:// URL");
	err = get_str(c, st->name, o, "method", false, &st->method);
	if (err)
		return err;
	if (!st->method)
		st->method = "POST";
	if (strcmp(st->method, "POST") && strcmp(st->method, "PUT") &&
	    strcmp(st->method, "GET"))
		return fail(c, st->name, "method", "method must be POST, PUT "
			    "or GET");
	return get_ref(c, st->name, o, "on_error", &st->on_error);
}


static int compile_set(struct cc *c, struct scn_step *st,
		       const struct odict *o)
{
	const struct odict_entry *e;
	int err = get_var(c, st, o, "var", true, &st->var);

	if (err)
		return err;
	e = odict_lookup(o, "value");
	if (!e)
		return fail(c, st->name, "value", "'value' is required");
	switch (e->type) {

	case ODICT_STRING:
		if (strlen(e->u.str) > MAX_TEXT)
			return fail(c, st->name, "value", "'value' is longer "
				    "than %d bytes", MAX_TEXT);
		st->value = e->u.str;
		return 0;

	case ODICT_INT:
		err = re_sdprintf(&st->own, "%lld", (long long)e->u.integer);
		break;

	case ODICT_BOOL:
		err = str_dup(&st->own, e->u.boolean ? "true" : "false");
		break;

	default:
		return fail(c, st->name, "value", "'value' must be a string, "
			    "an integer or a boolean");
	}
	st->value = st->own;
	return err;
}


static int compile_step(struct cc *c, struct scn_step *st,
			const struct odict_entry *se)
{
	const struct odict *o;
	const char *type;
	int err;

	if (se->type != ODICT_OBJECT)
		return fail(c, st->name, NULL, "a step must be an object");
	o = se->u.odict;

	err = get_str(c, st->name, o, "type", true, &type);
	if (err)
		return err;
	if (!type_parse(&st->type, type))
		return fail(c, st->name, "type", "unknown type '%s' (one of "
			    "say, ask, branch, set, transfer, hangup, dnc, "
			    "webhook)", type);
	{
		const char *allowed[11] = {"type"};
		size_t n = 1;
		for (size_t i = 0; i < 10 && members[st->type][i]; i++)
			allowed[n++] = members[st->type][i];
		err = check_members(c, st->name, o, allowed, n);
		if (err)
			return err;
	}

	st->next = st->nm_next = st->def = st->on_error = SCENARIO_NO_STEP;
	err = get_str(c, st->name, o, "text",
		      st->type == SCN_SAY || st->type == SCN_ASK, &st->text);
	if (!err)
		err = get_ref(c, st->name, o, "next", &st->next);
	if (err)
		return err;

	switch (st->type) {

	case SCN_ASK:
		return compile_ask(c, st, o);

	case SCN_BRANCH:
		err = get_var(c, st, o, "var", true, &st->var);
		if (!err)
			err = get_cases(c, st, o, "cases");
		if (!err)
			err = get_ref(c, st->name, o, "default", &st->def);
		return err;

	case SCN_SET:
		return compile_set(c, st, o);

	case SCN_TRANSFER:
		return compile_transfer(c, st, o);

	case SCN_WEBHOOK:
		return compile_webhook(c, st, o);

	default:
		return 0;
	}
}


/* ---- loops that never wait ---- */

/* where a step goes without waiting for the caller: edge i of st, or
 * SCENARIO_NO_STEP past the last one */
static int edge(const struct scn_step *st, size_t i, bool *morep)
{
	*morep = true;
	switch (st->type) {

	case SCN_SAY:
	case SCN_SET:
	case SCN_DNC:
		*morep = i < 1;
		return i == 0 ? st->next : SCENARIO_NO_STEP;

	case SCN_WEBHOOK:
		*morep = i < 2;
		return i == 0 ? st->next : i == 1 ? st->on_error :
			SCENARIO_NO_STEP;

	case SCN_BRANCH:
		*morep = i <= st->ncases;
		if (i == 0)
			return st->def;
		return i <= st->ncases ? st->cases[i - 1].step :
			SCENARIO_NO_STEP;

	default:
		*morep = false;
		return SCENARIO_NO_STEP;
	}
}


struct dfs {
	struct cc *c;
	unsigned char color[SCENARIO_MAX_STEPS];  /* 0 new, 1 open, 2 done */
	int path[SCENARIO_MAX_STEPS + 1];
	size_t depth;
};


static int loop_error(struct dfs *d, int to)
{
	const struct scn_step *steps = d->c->scn->steps;
	char msg[sizeof(d->c->err->msg)];
	size_t i = 0, l = 0;

	while (i < d->depth && d->path[i] != to)
		++i;
	for (; i < d->depth && l < sizeof(msg); i++)
		l += (size_t)snprintf(msg + l, sizeof(msg) - l, "%s -> ",
				      steps[d->path[i]].name);
	if (l < sizeof(msg))
		(void)snprintf(msg + l, sizeof(msg) - l, "%s", steps[to].name);
	return fail(d->c, steps[to].name, NULL, "a loop that never waits "
		    "for the caller (no ask on the way): %s", msg);
}


static int visit(struct dfs *d, int v)
{
	const struct scn_step *st = &d->c->scn->steps[v];
	bool more = true;
	int err;

	if (st->type == SCN_ASK)
		return 0;
	d->color[v] = 1;
	d->path[d->depth++] = v;

	for (size_t i = 0; more; i++) {
		int w = edge(st, i, &more);

		if (w == SCENARIO_NO_STEP || d->color[w] == 2)
			continue;
		if (d->color[w] == 1)
			return loop_error(d, w);
		err = visit(d, w);
		if (err)
			return err;
	}
	--d->depth;
	d->color[v] = 2;
	return 0;
}


static int check_loops(struct cc *c)
{
	struct dfs *d;
	int err = 0;

	d = mem_zalloc(sizeof(*d), NULL);
	if (!d)
		return ENOMEM;
	d->c = c;
	for (size_t v = 0; v < c->scn->n && !err; v++) {
		if (!d->color[v])
			err = visit(d, (int)v);
	}
	mem_deref(d);
	return err;
}


static int compile(struct cc *c, const struct odict *obj)
{
	static const char *const top[] = {"start", "steps"};
	struct scenario *scn = c->scn;
	const struct odict_entry *e;
	const char *start;
	size_t i = 0;
	struct le *le;
	int err;

	err = check_members(c, NULL, obj, top, ARRAY_SIZE(top));
	if (err)
		return err;

	e = odict_lookup(obj, "steps");
	if (!e)
		return fail(c, NULL, "steps", "'steps' is required");
	if (e->type != ODICT_OBJECT)
		return fail(c, NULL, "steps", "'steps' must be an object of "
			    "steps by name");
	c->steps = e->u.odict;
	scn->n = odict_count(c->steps, false);
	if (!scn->n)
		return fail(c, NULL, "steps", "'steps' is empty");
	if (scn->n > SCENARIO_MAX_STEPS)
		return fail(c, NULL, "steps", "%zu steps, at most %d allowed",
			    scn->n, SCENARIO_MAX_STEPS);

	scn->steps = mem_zalloc(scn->n * sizeof(*scn->steps), NULL);
	if (!scn->steps)
		return ENOMEM;
	for (le = c->steps->lst.head; le; le = le->next, i++) {
		const struct odict_entry *se = le->data;
		size_t l = strlen(se->key);

		scn->steps[i].name = se->key;
		if (!l || l > MAX_NAME)
			return fail(c, NULL, "steps", "step names must be 1 to "
				    "%d bytes", MAX_NAME);
	}

	err = get_str(c, NULL, obj, "start", true, &start);
	if (err)
		return err;
	scn->start = scenario_find(scn, start);
	if (scn->start == SCENARIO_NO_STEP)
		return fail(c, NULL, "start", "start '%s' is not a step",
			    start);

	i = 0;
	for (le = c->steps->lst.head; le; le = le->next, i++) {
		err = compile_step(c, &scn->steps[i], le->data);
		if (err)
			return err;
	}
	return check_loops(c);
}


int scenario_compile(struct scenario **scnp, const struct odict *obj,
		     struct scenario_err *errp)
{
	struct scenario *scn;
	struct cc c;
	int err;

	if (errp)
		memset(errp, 0, sizeof(*errp));
	if (!scnp)
		return EINVAL;

	scn = mem_zalloc(sizeof(*scn), destructor);
	if (!scn)
		return ENOMEM;
	scn->start = SCENARIO_NO_STEP;
	c.scn = scn;
	c.steps = NULL;
	c.err = errp;

	if (!obj) {
		err = fail(&c, NULL, "", "the scenario must be an object");
		goto out;
	}
	/* strings of the compiled steps point into obj */
	scn->obj = mem_ref((void *)obj);
	err = compile(&c, obj);
 out:
	if (err)
		mem_deref(scn);
	else
		*scnp = scn;
	return err;
}


int scenario_validate(const struct odict *obj, struct scenario_err *errp)
{
	struct scenario *scn = NULL;
	int err = scenario_compile(&scn, obj, errp);

	mem_deref(scn);
	return err;
}


size_t scenario_count(const struct scenario *scn)
{
	return scn ? scn->n : 0;
}


int scenario_start(const struct scenario *scn)
{
	return scn ? scn->start : SCENARIO_NO_STEP;
}


const struct scn_step *scenario_step(const struct scenario *scn, int idx)
{
	if (!scn || idx < 0 || (size_t)idx >= scn->n)
		return NULL;
	return &scn->steps[idx];
}
