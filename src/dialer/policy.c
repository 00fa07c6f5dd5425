/* policy.c - see policy.h. */
#include <string.h>
#include <re.h>
#include "dialer/policy.h"
#include "json/json.h"

static const char *const retry_names[PO_NRETRY] = {
	"busy", "no_answer", "failed", "unreachable", "voicemail",
};

void policy_defaults(struct retry_policy *p)
{
	static const uint32_t def[PO_NRETRY] = {300, 1800, 3600, 600, 7200};

	memcpy(p->delay_s, def, sizeof(def));
}

void policy_apply(struct retry_policy *p, const struct odict *delays)
{
	if (!delays)
		return;
	for (int i = 0; i < PO_NRETRY; i++) {
		const struct odict_entry *e = odict_lookup(delays,
							   retry_names[i]);
		if (e && e->type == ODICT_INT && e->u.integer >= 0 &&
		    e->u.integer <= 604800)
			p->delay_s[i] = (uint32_t)e->u.integer;
	}
}

/* a JSON object, or NULL */
static struct odict *parse_obj(const char *json)
{
	struct odict *o = NULL;
	int type;

	if (!json || json_parse(&o, &type, json, strlen(json), NULL))
		return NULL;
	if (type != ODICT_OBJECT)
		return mem_deref(o);
	return o;
}

static const struct odict *member_obj(const struct odict *o, const char *k)
{
	const struct odict_entry *e = o ? odict_lookup(o, k) : NULL;

	return e && e->type == ODICT_OBJECT ? e->u.odict : NULL;
}

static bool member_int(const struct odict *o, const char *k, int64_t *vp)
{
	const struct odict_entry *e = o ? odict_lookup(o, k) : NULL;

	if (!e || e->type != ODICT_INT)
		return false;
	*vp = e->u.integer;
	return true;
}

void policy_load(struct retry_policy *p, const char *campaign_retry_json,
		 const char *agent_outbound_json)
{
	struct odict *cr = parse_obj(campaign_retry_json);
	struct odict *ao = parse_obj(agent_outbound_json);

	policy_defaults(p);
	policy_apply(p, member_obj(ao, "retry_delays"));
	policy_apply(p, member_obj(cr, "delays"));
	mem_deref(cr);
	mem_deref(ao);
}

int64_t policy_max_attempts(const char *campaign_retry_json,
			    const char *agent_outbound_json,
			    const char *agent_metadata_json)
{
	struct odict *cr = parse_obj(campaign_retry_json);
	struct odict *ao = parse_obj(agent_outbound_json);
	struct odict *md = parse_obj(agent_metadata_json);
	int64_t n = 3, v;

	if (member_int(cr, "max_attempts", &v))
		n = v;
	else if (member_int(ao, "max_attempts", &v))
		n = v;
	else if (member_int(member_obj(md, "outboundConfig"), "maxRetries",
			    &v))
		n = v + 1;
	mem_deref(cr);
	mem_deref(ao);
	mem_deref(md);
	return n < 1 ? 1 : n > 20 ? 20 : n;
}

const char *policy_outcome_name(const char *outcome)
{
	static const char *const finals[] = {"answered", "rejected", "dnc",
					     "invalid", NULL};

	for (int i = 0; outcome && i < PO_NRETRY; i++)
		if (!strcmp(outcome, retry_names[i]))
			return retry_names[i];
	for (int i = 0; outcome && finals[i]; i++)
		if (!strcmp(outcome, finals[i]))
			return finals[i];
	return "failed";
}

void policy_decide(struct policy_next *nx, const struct retry_policy *p,
		   const char *outcome, bool dnc, int64_t attempt,
		   int64_t max_attempts, int64_t now_ms)
{
	const char *oc = dnc ? "dnc" : policy_outcome_name(outcome);

	nx->next_at = now_ms;
	for (int i = 0; i < PO_NRETRY; i++) {
		if (strcmp(oc, retry_names[i]))
			continue;
		if (attempt < max_attempts) {
			nx->status = "queued";
			nx->final = NULL;
			nx->next_at = now_ms + (int64_t)p->delay_s[i] * 1000;
		}
		else {
			nx->status = "failed";
			nx->final = retry_names[i];
		}
		return;
	}
	nx->status = "done";
	nx->final = oc;
}
