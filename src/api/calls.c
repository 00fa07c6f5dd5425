/* calls.c - call details (events, transcript), the seed-compatible
 * POST /api/outbound-call, and webhook delivery listings. */
#include <errno.h>
#include <string.h>
#include <re.h>
#include "api/api.h"
#include "api/handlers.h"
#include "api/resource.h"
#include "api/schema.h"
#include "config/config.h"
#include "core/util.h"
#include "json/json.h"
#include "store/db.h"

/* rows of (created_at, ...) into an array of objects under key */
static int add_rows(struct odict *out, const char *key,
		    const struct db_res *rows, const char *const *names,
		    const char *json_col)
{
	struct odict *arr;
	int err = odict_alloc(&arr, 16);

	for (size_t i = 0; !err && i < db_res_nrows(rows); i++) {
		struct odict *item;
		char k[16];

		err = odict_alloc(&item, 8);
		if (err)
			break;
		for (size_t c = 0; names[c] && !err; c++) {
			const char *v = db_res_str(rows, i, c);
			if (!v)
				continue;
			if (!strcmp(names[c], "at")) {
				char ts[32];
				util_iso8601(ts, db_res_int(rows, i, c));
				err = odict_entry_add(item, "at", ODICT_STRING,
						      ts);
			}
			else if (json_col && !strcmp(names[c], json_col)) {
				struct odict *d;
				int t;
				if (!json_parse(&d, &t, v, strlen(v), NULL)) {
					err = odict_entry_add(item, names[c],
							      t, d);
					mem_deref(d);
				}
			}
			else if (!strcmp(names[c], "interrupted")) {
				err = odict_entry_add(item, names[c],
						      ODICT_BOOL,
						      db_res_int(rows, i, c) != 0);
			}
			else if (!strcmp(names[c], "turn") ||
				 !strcmp(names[c], "start_ms") ||
				 !strcmp(names[c], "end_ms")) {
				err = odict_entry_add(item, names[c], ODICT_INT,
						      db_res_int(rows, i, c));
			}
			else {
				err = odict_entry_add(item, names[c],
						      ODICT_STRING, v);
			}
		}
		re_snprintf(k, sizeof(k), "%zu", i);
		if (!err)
			err = odict_entry_add(arr, k, ODICT_OBJECT, item);
		mem_deref(item);
	}
	if (!err)
		err = odict_entry_add(out, key, ODICT_ARRAY, arr);
	mem_deref(arr);
	return err;
}

int call_detail(struct areq *r, int64_t id, struct odict *out)
{
	static const char *const ev[] = {"at", "type", "data", NULL};
	static const char *const tr[] = {"at", "turn", "speaker", "text",
					 "start_ms", "end_ms", "interrupted",
					 "timings", NULL};
	struct db_val p[] = {DBV_INT(id), DBV_INT(r->tenant_id)};
	struct db_res *rows = NULL;
	int err;

	err = db_exec(r->db, &rows, "SELECT created_at, type, data FROM "
		      "call_events WHERE call_id = ? AND tenant_id = ? "
		      "ORDER BY id", p, 2);
	if (!err)
		err = add_rows(out, "events", rows, ev, "data");
	rows = mem_deref(rows);
	if (!err)
		err = db_exec(r->db, &rows, "SELECT created_at, turn, speaker, "
			      "text, start_ms, end_ms, interrupted, timings "
			      "FROM transcripts WHERE call_id = ? AND "
			      "tenant_id = ? ORDER BY turn", p, 2);
	if (!err)
		err = add_rows(out, "transcript", rows, tr, "timings");
	mem_deref(rows);
	if (err)
		api_error_db(r, err, "call");
	return err;
}

/* seed 003's body; agent_id and trunk_id are Parley's additions */
static const struct field outbound_fields[] = {
	{"to_number", FT_PHONE, FF_REQUIRED, 0, 0, NULL, NULL, NULL, NULL,
	 "Number to call"},
	{"caller_name", FT_STRING, 0, 0, 200, NULL, NULL, NULL, NULL, NULL},
	{"llm_prompt", FT_STRING, 0, 0, 100000, NULL, NULL, NULL, NULL,
	 "Instructions for this call"},
	{"greeting", FT_STRING, 0, 0, 4000, NULL, NULL, NULL, NULL,
	 "First thing said"},
	{"agent_id", FT_REF, 0, 0, 0, NULL, NULL, "agents", NULL,
	 "Agent to use (the dialer picks one when absent)"},
	{"trunk_id", FT_REF, 0, 0, 0, NULL, NULL, "trunks", NULL,
	 "Trunk to use (the dialer picks one when absent)"},
	{NULL, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL},
};

int outbound_call(struct areq *r)
{
	struct odict *doc = NULL, *payload = NULL;
	struct schema_ctx ctx = {api_config(r->api)->default_country};
	struct db_res *rows = NULL;
	char *pjson = NULL, idbuf[24];
	struct verr ve;
	int64_t now = util_now_ms(), agent = 0, trunk = 0;
	int err;

	if (r->body_type != ODICT_OBJECT)
		return api_error(r, 400, "invalid_body", NULL,
				 "request body must be a JSON object");
	err = schema_check(&doc, outbound_fields, r->body, true, &ctx, &ve);
	if (err == EINVAL)
		return api_error_verr(r, &ve);
	if (err)
		goto out;

	{
		const struct odict_entry *a = odict_lookup(doc, "agent_id");
		const struct odict_entry *t = odict_lookup(doc, "trunk_id");
		agent = a ? a->u.integer : 0;
		trunk = t ? t->u.integer : 0;
	}
	if (res_check_refs(r, outbound_fields, doc))
		goto out;

	/* the per-call overrides travel with the task */
	err = odict_alloc(&payload, 8);
	for (const char *const *k = (const char *const[]){"caller_name",
			"llm_prompt", "greeting", NULL}; *k && !err; k++) {
		const char *v = odict_string(doc, *k);
		if (v)
			err = odict_entry_add(payload, *k, ODICT_STRING, v);
	}
	if (!err)
		err = json_encode(&pjson, payload);
	if (err)
		goto out;

	struct db_val p[] = {
		DBV_INT(r->tenant_id), DBV_INT(now), DBV_INT(now),
		agent ? DBV_INT(agent) : DBV_NULL,
		trunk ? DBV_INT(trunk) : DBV_NULL,
		DBV_TEXT(odict_string(doc, "to_number")), DBV_TEXT(pjson),
		DBV_INT(now)};
	err = db_exec(r->db, &rows, "INSERT INTO call_tasks (tenant_id, "
		      "created_at, updated_at, agent_id, trunk_id, to_number, "
		      "payload, status, attempt, max_attempts, "
		      "next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'queued', "
		      "0, 1, ?) RETURNING id", p, 8);
	if (err) {
		api_error_db(r, err, "call task");
		goto out;
	}
	re_snprintf(idbuf, sizeof(idbuf), "%lld",
		    (long long)db_res_int(rows, 0, 0));
	re_snprintf(r->xhdrs, sizeof(r->xhdrs),
		    "Location: /api/v1/call-tasks/%s\r\n", idbuf);
	err = api_reply_text(r, 202, "application/json",
			     "{\"status\":\"queued\",\"call_id\":\"%s\","
			     "\"task_id\":%s}", idbuf, idbuf);
 out:
	mem_deref(doc);
	mem_deref(payload);
	mem_deref(pjson);
	mem_deref(rows);
	return err;
}

/* GET /webhooks/{id}/deliveries: the generic list, scoped to the hook */
int webhook_deliveries(struct areq *r)
{
	char *q = NULL;
	int err;

	err = res_owned(r, "webhooks", r->ids[0]);
	if (err == ENOENT)
		return api_error(r, 404, "not_found", NULL,
				 "webhook %lld not found",
				 (long long)r->ids[0]);
	if (err)
		return api_error_db(r, err, "webhook");
	if (r->query && strstr(r->query, "webhook_id"))
		return api_error(r, 400, "invalid_query", "webhook_id",
				 "the webhook is given by the path");
	err = re_sdprintf(&q, "webhook_id=%lld%s%s", (long long)r->ids[0],
			  r->query ? "&" : "", r->query ? r->query : "");
	if (err)
		return err;
	mem_deref(r->query);
	r->query = q;
	return res_list(r);
}
