/* template.c - prompt templates (see template.h) and seed 001's campaign
 * instructions.
 *
 * Variables: a name is looked up as a whole key first ("contact.name"
 * may be a flat key), then as a path through nested objects. A value
 * that is missing, blank (only white space), null, an object or an
 * array counts as unknown and gets the registered default: "there" for
 * name, "your email" for email, "your phone number" for phone (seed
 * 001's campaign context), empty otherwise.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <re.h>
#include "agent/template.h"

enum { MAX_NAME = 128 };

static const struct {
	const char *name;
	const char *def;
} defaults[] = {
	{"name", "there"},
	{"email", "your email"},
	{"phone", "your phone number"},
};


static bool is_ident(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		(c >= '0' && c <= '9') || c == '_' || c == '.';
}


static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
		c == '\v' || c == '\f';
}


static bool blank(const char *s)
{
	for (; *s; s++) {
		if (!is_space(*s))
			return false;
	}
	return true;
}


static const struct odict_entry *lookup(const struct odict *vars,
					const char *name)
{
	const struct odict_entry *e;
	char key[MAX_NAME];
	const char *p = name;

	if (!vars)
		return NULL;
	e = odict_lookup(vars, name);
	if (e || !strchr(name, '.'))
		return e;

	/* a path: "contact.company" */
	for (;;) {
		size_t l = strcspn(p, ".");

		if (!l || l >= sizeof(key))
			return NULL;
		memcpy(key, p, l);
		key[l] = '\0';
		e = odict_lookup(vars, key);
		if (!e || !p[l])
			return e;
		if (e->type != ODICT_OBJECT)
			return NULL;
		vars = e->u.odict;
		p += l + 1;
	}
}


static const char *default_of(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(defaults); i++) {
		if (!strcmp(defaults[i].name, name))
			return defaults[i].def;
	}
	return "";
}


static int put_value(struct mbuf *mb, const struct odict *vars,
		     const char *name)
{
	const struct odict_entry *e = lookup(vars, name);
	char num[64];

	if (e) {
		switch (e->type) {

		case ODICT_STRING:
			if (!blank(e->u.str))
				return mbuf_write_str(mb, e->u.str);
			break;

		case ODICT_INT:
			return mbuf_printf(mb, "%lld",
					   (long long)e->u.integer);

		case ODICT_DOUBLE:
			/* re_printf has no %g: shortest round-trip text */
			(void)snprintf(num, sizeof(num), "%.15g", e->u.dbl);
			if (strtod(num, NULL) != e->u.dbl)
				(void)snprintf(num, sizeof(num), "%.17g",
					       e->u.dbl);
			return mbuf_write_str(mb, num);

		case ODICT_BOOL:
			return mbuf_write_str(mb, e->u.boolean ? "true" :
					      "false");

		default:
			break;
		}
	}
	return mbuf_write_str(mb, default_of(name));
}


int template_render(char **outp, const char *tmpl, const struct odict *vars)
{
	struct mbuf *mb;
	const char *p;
	int err = 0;

	if (!outp || !tmpl)
		return EINVAL;

	mb = mbuf_alloc(strlen(tmpl) + 32);
	if (!mb)
		return ENOMEM;

	for (p = tmpl; *p && !err;) {
		size_t l;

		if ((p[0] == '{' && p[1] == '{') ||
		    (p[0] == '}' && p[1] == '}')) {
			err = mbuf_write_u8(mb, (uint8_t)p[0]);
			p += 2;
			continue;
		}
		if (p[0] != '{') {
			l = strcspn(p, "{}");
			if (!l)
				l = 1;  /* a lone '}' */
			err = mbuf_write_mem(mb, (const uint8_t *)p, l);
			p += l;
			continue;
		}

		for (l = 1; is_ident(p[l]); l++)
			;
		if (l > 1 && p[l] == '}' && l - 1 < MAX_NAME) {
			char name[MAX_NAME];

			memcpy(name, p + 1, l - 1);
			name[l - 1] = '\0';
			err = put_value(mb, vars, name);
			p += l + 1;
			continue;
		}

		/* not a placeholder: the brace as it is */
		err = mbuf_write_u8(mb, '{');
		++p;
	}

	if (!err) {
		mb->pos = 0;
		err = mbuf_strdup(mb, outp, mb->end);
	}
	mem_deref(mb);
	return err;
}


/* s without leading and trailing white space */
static struct pl trimmed(const char *s)
{
	struct pl pl;

	pl_set_str(&pl, s ? s : "");
	while (pl.l && is_space(pl.p[0]))
		pl_advance(&pl, 1);
	while (pl.l && is_space(pl.p[pl.l - 1]))
		--pl.l;
	return pl;
}


int template_campaign_instructions(char **outp, const char *contact_name,
				   const char *campaign_script)
{
	struct odict *vars = NULL;
	char *name = NULL, *script = NULL, *rendered = NULL;
	struct pl pl;
	int err;

	if (!outp)
		return EINVAL;

	/* (contact_name or "there").strip() or "there" */
	pl = trimmed(contact_name);
	err = pl.l ? pl_strdup(&name, &pl) : str_dup(&name, "there");
	if (err)
		goto out;

	/* the script, personalised with the same name */
	pl = trimmed(campaign_script);
	err = pl_strdup(&script, &pl);
	err |= odict_alloc(&vars, 4);
	if (err)
		goto out;
	err = odict_entry_add(vars, "name", ODICT_STRING, name);
	if (!err)
		err = template_render(&rendered, script, vars);
	if (err)
		goto out;
	pl = trimmed(rendered);

	err = re_sdprintf(outp,
		"You are a concise, friendly **campaign dialer** (NOT the "
		"full assistant). Rules:\n"
		"- Wait for the callee to speak first; if silence for "
		"~2\xe2\x80\x93" "3 seconds, give one polite greeting.\n"
		"- Personalize by name when possible: use \"%s\".\n"
		"- Follow the campaign script briefly; keep turns short "
		"(1\xe2\x80\x93" "2 sentences).\n"
		"- If not interested / wrong number: apologize and end "
		"gracefully.\n"
		"- Do NOT use any tools or calendars. No side effects.\n"
		"\n"
		"If they don't speak: say once, \"Hi %s, \"\n"
		"\n"
		"CAMPAIGN SCRIPT (use naturally, don't read verbatim if "
		"awkward):\n"
		"%r",
		name, name,
		pl.l ? &pl : &(struct pl)PL("(no campaign script provided)"));
 out:
	mem_deref(rendered);
	mem_deref(script);
	mem_deref(name);
	mem_deref(vars);
	return err;
}
