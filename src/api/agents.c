/* agents.c - what agents add to the generic resource: prompt history,
 * the runtime config and its cache. */
#include <errno.h>
#include <string.h>
#include <re.h>
#include "agent/rtcfg.h"
#include "agent/scenario.h"
#include "api/api.h"
#include "media/amd.h"
#include "api/handlers.h"
#include "api/resource.h"
#include "api/schema.h"
#include "core/util.h"
#include "json/json.h"
#include "store/db.h"

int agent_validate(struct areq *r, struct odict *doc, int64_t id)
{
	const struct odict_entry *llm = odict_lookup(doc, "llm");
	const struct odict_entry *scn = odict_lookup(doc, "scenario");
	const char *provider = llm && llm->type == ODICT_OBJECT ?
		odict_string(llm->u.odict, "provider") : NULL;
	(void)id;

	if (provider && !strcmp(provider, "openai") &&
	    !odict_string(doc, "system_prompt"))
		return api_error(r, 400, "missing_field", "system_prompt",
				 "field 'system_prompt' is required when "
				 "llm.provider is openai");

	/* a scenario is checked whole now, not found broken on a call */
	if (scn && scn->type == ODICT_OBJECT) {
		struct scenario_err se;
		struct verr ve;
		int err = scenario_validate(scn->u.odict, &se);

		if (err == EINVAL) {
			ve.code = "invalid_scenario";
			re_snprintf(ve.field, sizeof(ve.field), "scenario%s%s",
				    se.field[0] ? "." : "", se.field);
			str_ncpy(ve.msg, se.msg, sizeof(ve.msg));
			return api_error_verr(r, &ve);
		}
		if (err)
			return err;
	}

	/* the answering-machine detector's own parameters */
	{
		const struct odict_entry *o = odict_lookup(doc, "outbound");
		const struct odict_entry *a = o && o->type == ODICT_OBJECT ?
			odict_lookup(o->u.odict, "amd") : NULL;
		const struct odict_entry *d = a && a->type == ODICT_OBJECT ?
			odict_lookup(a->u.odict, "detector") : NULL;
		struct amd_params p;
		char msg[128];

		if (d && d->type == ODICT_OBJECT) {
			amd_params_default(&p);
			for (struct le *le = d->u.odict->lst.head; le;
			     le = le->next) {
				const struct odict_entry *x = le->data;
				if (!amd_param_known(x->key))
					return api_error(r, 400,
						"unknown_field",
						"outbound.amd.detector",
						"unknown detector parameter "
						"'%s'", x->key);
			}
			if (amd_params_decode(&p, d->u.odict, msg,
					      sizeof(msg)))
				return api_error(r, 400, "invalid_value",
						 "outbound.amd.detector",
						 "%s", msg);
		}
	}
	return 0;
}

/* the text of a member for comparison ("" when absent) */
static int member_text(char **strp, const struct odict *doc, const char *k)
{
	const struct odict_entry *e = doc ? odict_lookup(doc, k) : NULL;

	if (!e)
		return str_dup(strp, "");
	if (e->type == ODICT_STRING)
		return str_dup(strp, e->u.str);
	if (e->type == ODICT_OBJECT)
		return json_encode(strp, e->u.odict);
	return str_dup(strp, "");
}

int agent_written(struct areq *r, int64_t id, const struct odict *doc,
		  const struct odict *old)
{
	static const char *tracked[] = {"system_prompt", "scenario",
					"first_message"};
	char *now[3] = {NULL}, *was[3] = {NULL};
	struct db_res *rows = NULL;
	bool changed = !old;
	int64_t version = 1, ts = util_now_ms();
	int err = 0;

	for (int i = 0; i < 3 && !err; i++) {
		err = member_text(&now[i], doc, tracked[i]);
		err |= member_text(&was[i], old, tracked[i]);
		if (!err && strcmp(now[i], was[i]))
			changed = true;
	}
	if (err)
		goto out;

	if (old) {
		struct db_val p[] = {DBV_INT(id)};
		err = db_exec(r->db, &rows, "UPDATE agents SET version = "
			      "version + 1 WHERE id = ? RETURNING version",
			      p, 1);
		if (err)
			goto out;
		version = db_res_int(rows, 0, 0);
	}
	if (!changed)
		goto out;

	struct db_val h[] = {
		DBV_INT(r->tenant_id), DBV_INT(ts), DBV_INT(ts), DBV_INT(id),
		DBV_INT(version), DBV_TEXT(*now[0] ? now[0] : NULL),
		DBV_TEXT(*now[1] ? now[1] : NULL),
		DBV_TEXT(*now[2] ? now[2] : NULL)};
	err = db_exec(r->db, NULL, "INSERT INTO agent_prompt_history "
		      "(tenant_id, created_at, updated_at, agent_id, version, "
		      "system_prompt, scenario, first_message) VALUES "
		      "(?, ?, ?, ?, ?, ?, ?, ?)", h, 8);
 out:
	for (int i = 0; i < 3; i++) {
		mem_deref(now[i]);
		mem_deref(was[i]);
	}
	mem_deref(rows);
	return err;
}

void agent_changed(struct areq *r, int64_t id)
{
	rtcfg_invalidate(api_rtcfg(r->api), id);
}

/* the resolved config: the stored agent with every default filled in */
static int resolve(char **jsonp, const struct odict *stored, int64_t id,
		   int64_t version)
{
	struct odict *doc = NULL;
	struct verr ve;
	int err;

	err = schema_check(&doc, res_agents.fields, stored, true, NULL, &ve);
	if (err)
		return err;
	err = odict_entry_add(doc, "agent_id", ODICT_INT, id);
	err |= odict_entry_add(doc, "version", ODICT_INT, version);
	if (!err)
		err = json_encode(jsonp, doc);
	mem_deref(doc);
	return err;
}

int agent_defaults_json(char **jsonp)
{
	struct odict *stored;
	int err;

	err = odict_alloc(&stored, 4);
	if (err)
		return err;
	err = odict_entry_add(stored, "name", ODICT_STRING, "default");
	if (!err)
		err = resolve(jsonp, stored, 0, 0);
	mem_deref(stored);
	return err;
}

static int load_h(char **jsonp, int64_t tenant_id, int64_t agent_id,
		  void *arg)
{
	struct areq *r = arg;
	struct odict *stored = NULL;
	const struct odict_entry *v;
	int64_t version;
	int err;

	(void)tenant_id;
	if (!r->db)
		return ENOTCONN;
	err = res_load(r, &res_agents, agent_id, true, &stored);
	if (err)
		return err;
	v = odict_lookup(stored, "version");
	version = v && v->type == ODICT_INT ? v->u.integer : 1;
	odict_entry_del(stored, "version");
	err = resolve(jsonp, stored, agent_id, version);
	mem_deref(stored);
	return err;
}

int agent_runtime_json(struct rtcfg_cache *cache, struct db *db,
		       int64_t tenant_id, int64_t agent_id, char **jsonp,
		       enum rtcfg_source *srcp)
{
	/* the loader reads through a request-shaped context */
	struct areq r;

	memset(&r, 0, sizeof(r));
	r.db = db;
	r.tenant_id = tenant_id;
	return rtcfg_get(cache, tenant_id, agent_id, load_h, &r, jsonp, srcp);
}

int agent_runtime_config(struct areq *r)
{
	enum rtcfg_source src;
	struct odict *cfg = NULL, *red = NULL, *out = NULL;
	char *json = NULL;
	int type, err;

	err = rtcfg_get(api_rtcfg(r->api), r->tenant_id, r->ids[0], load_h, r,
			&json, &src);
	if (err == ENOENT)
		return api_error(r, 404, "not_found", NULL,
				 "agent %lld not found", (long long)r->ids[0]);
	if (err)
		return api_error_db(r, err, "runtime config");

	err = json_parse(&cfg, &type, json, strlen(json), NULL);
	if (!err)
		err = schema_redact(&red, res_agents.fields, cfg);
	if (!err)
		err = odict_alloc(&out, 4);
	if (err)
		goto out;
	err = odict_entry_add(out, "agent_id", ODICT_INT, r->ids[0]);
	err |= odict_entry_add(out, "source", ODICT_STRING,
			       rtcfg_source_name(src));
	err |= odict_entry_add(out, "config", ODICT_OBJECT, red);
	if (!err)
		err = api_reply_json(r, 200, out);
 out:
	mem_deref(json);
	mem_deref(cfg);
	mem_deref(red);
	mem_deref(out);
	return err;
}

int agent_prompt_history(struct areq *r)
{
	struct db_val p[] = {DBV_INT(r->ids[0]), DBV_INT(r->tenant_id)};
	struct db_res *rows = NULL;
	struct odict *out = NULL, *arr = NULL;
	int err;

	err = db_exec(r->db, &rows, "SELECT id FROM agents WHERE id = ? AND "
		      "tenant_id = ?", p, 2);
	if (err)
		return api_error_db(r, err, "agent");
	if (!db_res_nrows(rows)) {
		mem_deref(rows);
		return api_error(r, 404, "not_found", NULL,
				 "agent %lld not found", (long long)r->ids[0]);
	}
	rows = mem_deref(rows);

	err = db_exec(r->db, &rows, "SELECT version, created_at, "
		      "system_prompt, scenario, first_message FROM "
		      "agent_prompt_history WHERE agent_id = ? AND "
		      "tenant_id = ? ORDER BY version DESC", p, 2);
	if (err)
		return api_error_db(r, err, "prompt history");

	err = odict_alloc(&out, 4);
	err |= odict_alloc(&arr, 16);
	for (size_t i = 0; i < db_res_nrows(rows) && !err; i++) {
		struct odict *item = NULL;
		char ts[32], k[16];
		const char *sc = db_res_str(rows, i, 3);

		err = odict_alloc(&item, 8);
		if (err)
			break;
		util_iso8601(ts, db_res_int(rows, i, 1));
		err |= odict_entry_add(item, "version", ODICT_INT,
				       db_res_int(rows, i, 0));
		err |= odict_entry_add(item, "changed_at", ODICT_STRING, ts);
		if (db_res_str(rows, i, 2))
			err |= odict_entry_add(item, "system_prompt",
					       ODICT_STRING,
					       db_res_str(rows, i, 2));
		if (sc) {
			struct odict *s = NULL;
			int t;
			if (!json_parse(&s, &t, sc, strlen(sc), NULL)) {
				err |= odict_entry_add(item, "scenario", t, s);
				mem_deref(s);
			}
		}
		if (db_res_str(rows, i, 4))
			err |= odict_entry_add(item, "first_message",
					       ODICT_STRING,
					       db_res_str(rows, i, 4));
		re_snprintf(k, sizeof(k), "%zu", i);
		err |= odict_entry_add(arr, k, ODICT_OBJECT, item);
		mem_deref(item);
	}
	err |= odict_entry_add(out, "data", ODICT_ARRAY, arr);
	if (!err)
		err = api_reply_json(r, 200, out);
	mem_deref(rows);
	mem_deref(out);
	mem_deref(arr);
	return err;
}
