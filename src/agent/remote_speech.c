/* remote_speech.c - config, URLs and reply parsers shared by
 * the remote speech providers.
 *
 * Replies come from servers we do not control (OpenAI, Deepgram, or any
 * "compatible" one in between), so they go through the strict JSON
 * parser and every field is type-checked; a reply that is not what the
 * protocol says is EBADMSG rather than a guess.
 */

#include <errno.h>
#include <string.h>
#include <re.h>
#include "json/json.h"
#include "agent/remote_speech.h"

const char *rspeech_cfg_str(const struct odict *cfg, const char *key,
			    const char *dflt)
{
	const char *s = cfg ? odict_string(cfg, key) : NULL;

	return s && s[0] ? s : dflt;
}


double rspeech_cfg_num(const struct odict *cfg, const char *key, double dflt)
{
	const struct odict_entry *e = cfg ? odict_lookup(cfg, key) : NULL;

	if (!e)
		return dflt;
	if (e->type == ODICT_INT)
		return (double)e->u.integer;
	if (e->type == ODICT_DOUBLE)
		return e->u.dbl;

	return dflt;
}


bool rspeech_hdr_safe(const char *s)
{
	if (!s)
		return false;

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 || c == 0x7f)
			return false;
	}

	return true;
}


int rspeech_url(char **urlp, const char *base, const char *dflt,
		const char *path)
{
	size_t n;

	if (!urlp || !path)
		return EINVAL;

	if (!base || !base[0])
		base = dflt;
	if (!base || !base[0])
		return EINVAL;

	n = strlen(base);
	while (n > 0 && base[n - 1] == '/')
		--n;

	return re_sdprintf(urlp, "%b%s", base, n, path);
}


int rspeech_pct_print(struct re_printf *pf, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	int err = 0;

	for (; s && *s && !err; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_' ||
		    c == '.' || c == '~')
			err = re_hprintf(pf, "%c", c);
		else
			err = re_hprintf(pf, "%%%c%c", hex[c >> 4],
					 hex[c & 15]);
	}

	return err;
}


static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}


/* A mem copy of s without surrounding whitespace. */
static int dup_trimmed(char **strp, const char *s)
{
	size_t n;

	while (is_space(*s))
		++s;

	n = strlen(s);
	while (n > 0 && is_space(s[n - 1]))
		--n;

	return re_sdprintf(strp, "%b", s, n);
}


int rspeech_openai_text(char **textp, const char *body, size_t len)
{
	struct odict *o = NULL;
	const struct odict_entry *e;
	struct json_err jerr;
	int type, err;

	if (!textp || (!body && len))
		return EINVAL;

	err = json_parse(&o, &type, body ? body : "", len, &jerr);
	if (err)
		return EBADMSG;

	if (type != ODICT_OBJECT) {
		err = EBADMSG;
		goto out;
	}

	e = odict_get_type(o, ODICT_STRING, "text");
	if (!e) {
		err = EBADMSG;
		goto out;
	}

	err = dup_trimmed(textp, e->u.str);

 out:
	mem_deref(o);

	return err;
}


/* Results: channel.alternatives[0].transcript, is_final, from_finalize */
static int parse_results(struct rspeech_dg_msg *m, const struct odict *o)
{
	const struct odict_entry *ch, *alts, *e;
	const char *text = "";

	ch = odict_get_type(o, ODICT_OBJECT, "channel");
	if (!ch)
		return EBADMSG;

	alts = odict_get_type(ch->u.odict, ODICT_ARRAY, "alternatives");
	if (!alts)
		return EBADMSG;

	/* odict keeps array elements in order; the first is the best */
	if (alts->u.odict->lst.head) {
		const struct odict_entry *a = alts->u.odict->lst.head->data;

		if (a->type != ODICT_OBJECT)
			return EBADMSG;

		e = odict_get_type(a->u.odict, ODICT_STRING, "transcript");
		if (!e)
			return EBADMSG;

		text = e->u.str;
	}

	e = odict_lookup(o, "is_final");
	if (e && e->type != ODICT_BOOL)
		return EBADMSG;
	m->is_final = e && e->u.boolean;

	e = odict_lookup(o, "from_finalize");
	if (e && e->type != ODICT_BOOL)
		return EBADMSG;
	m->from_finalize = e && e->u.boolean;

	return dup_trimmed(&m->transcript, text);
}


int rspeech_dg_parse(struct rspeech_dg_msg *m, const char *msg, size_t len)
{
	struct rspeech_dg_msg v;
	struct odict *o = NULL;
	struct json_err jerr;
	const char *type;
	int otype, err;

	if (!m || (!msg && len))
		return EINVAL;

	memset(&v, 0, sizeof(v));

	err = json_parse(&o, &otype, msg ? msg : "", len, &jerr);
	if (err)
		return EBADMSG;

	type = otype == ODICT_OBJECT ? odict_string(o, "type") : NULL;
	if (!type) {
		err = EBADMSG;
		goto out;
	}

	if (!strcmp(type, "Results")) {
		v.type = RSPEECH_DG_RESULTS;
		err = parse_results(&v, o);
	}
	else if (!strcmp(type, "Error")) {
		v.type = RSPEECH_DG_ERROR;
	}
	else {
		v.type = RSPEECH_DG_OTHER;
	}

 out:
	mem_deref(o);

	if (err)
		mem_deref(v.transcript);
	else
		*m = v;

	return err;
}
