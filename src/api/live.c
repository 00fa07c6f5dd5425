/* live.c - endpoints that act on calls in progress: place a call, hang
 * up, send DTMF, transfer, and ping a trunk. The store part runs on a
 * worker as usual; the telephony part runs on the loop in afterh. */
#include <errno.h>
#include <string.h>
#include <re.h>
#include "api/api.h"
#include "api/handlers.h"
#include "api/resource.h"
#include "api/schema.h"
#include "config/config.h"
#include "core/log.h"
#include "core/pool.h"
#include "core/util.h"
#include "json/json.h"
#include "store/db.h"
#include "store/worker.h"
#include "tel/tel.h"

/* what the loop half needs, copied out of the worker half */
struct live {
	int64_t call_id;
	char *to, *from, *uri, *user, *pass, *agent_json, *text, *vars;
	int64_t agent_id;
	struct areq *r;          /* trunk check: the request kept open */
	int err;
	uint16_t scode;
	uint32_t rtt_ms;
	int64_t trunk_id;
};

static void live_destructor(void *data)
{
	struct live *l = data;

	mem_deref(l->to);
	mem_deref(l->from);
	mem_deref(l->uri);
	mem_deref(l->user);
	mem_deref(l->pass);
	mem_deref(l->agent_json);
	mem_deref(l->text);
	mem_deref(l->vars);
}

static int need_tel(struct areq *r)
{
	if (api_tel(r->api))
		return 0;
	return api_error(r, 503, "telephony_disabled", NULL,
			 "this node has no SIP telephony");
}

static const struct field call_fields[] = {
	{"agent_id", FT_REF, FF_REQUIRED, 0, 0, NULL, NULL, "agents", NULL,
	 "Agent that talks"},
	{"to", FT_PHONE, FF_REQUIRED, 0, 0, NULL, NULL, NULL, NULL,
	 "Number to call"},
	{"trunk_id", FT_REF, 0, 0, 0, NULL, NULL, "trunks", NULL,
	 "Trunk (default: the tenant's first enabled trunk)"},
	{"from", FT_PHONE, 0, 0, 0, NULL, NULL, NULL, NULL,
	 "Caller ID (default: the trunk's)"},
	{"message", FT_STRING, 0, 1, 4000, NULL, NULL, NULL, NULL,
	 "A one-way notification: spoken without interruption, then the "
	 "call ends (notification_delivered); {name}-style placeholders"},
	{"variables", FT_ANY, 0, 0, 100, NULL, NULL, NULL, NULL,
	 "Template variables for the agent's prompts ({name}, {email}, ...)"},
	{NULL, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL},
};

static bool dial_after_h(struct areq *r)
{
	struct live *l = r->after_arg;
	struct tel_dial d = {
		.tenant_id = r->tenant_id, .call_id = l->call_id,
		.agent_id = l->agent_id, .to = l->to, .from = l->from,
		.trunk_uri = l->uri, .username = l->user, .password = l->pass,
		.agent_json = l->agent_json, .vars_json = l->vars,
		.message = l->text,
	};
	int err = tel_dial(api_tel(r->api), &d);

	if (err) {
		log_warn("call %lld: cannot dial: %m", (long long)l->call_id,
			 err);
		api_error(r, 503, "dial_failed", NULL,
			  "the call could not be placed (%s)", strerror(err));
	}
	return false;
}

/* POST /api/v1/calls */
int call_create(struct areq *r)
{
	struct schema_ctx ctx = {api_config(r->api)->default_country};
	struct odict *doc = NULL, *out = NULL;
	struct db_res *rows = NULL;
	struct live *l = NULL;
	struct verr ve;
	int64_t trunk = 0, now = util_now_ms();
	const struct odict_entry *e;
	int err;

	if (need_tel(r))
		return 0;
	if (r->body_type != ODICT_OBJECT)
		return api_error(r, 400, "invalid_body", NULL,
				 "request body must be a JSON object");
	err = schema_check(&doc, call_fields, r->body, true, &ctx, &ve);
	if (err == EINVAL)
		return api_error_verr(r, &ve);
	if (err)
		return err;

	l = mem_zalloc(sizeof(*l), live_destructor);
	if (!l) {
		err = ENOMEM;
		goto out;
	}
	l->agent_id = odict_lookup(doc, "agent_id")->u.integer;
	e = odict_lookup(doc, "trunk_id");
	trunk = e ? e->u.integer : 0;

	/* the trunk: named, or the tenant's first enabled one */
	{
		struct db_val p[] = {DBV_INT(r->tenant_id), DBV_INT(trunk)};
		err = db_exec(r->db, &rows, "SELECT id, sip_uri, transport, "
			      "username, password, caller_id FROM trunks WHERE "
			      "tenant_id = ? AND (id = ? OR (? = 0 AND "
			      "COALESCE(enabled, 1) = 1)) ORDER BY id LIMIT 1",
			      (struct db_val[]){p[0], p[1], p[1]}, 3);
	}
	if (err) {
		api_error_db(r, err, "trunk");
		goto out;
	}
	if (!db_res_nrows(rows)) {
		api_error(r, 400, "invalid_reference", "trunk_id", trunk ?
			  "field 'trunk_id': no trunks %lld" :
			  "no enabled trunk to call through",
			  (long long)trunk);
		goto out;
	}
	trunk = db_res_int(rows, 0, 0);
	err = tel_trunk_uri(&l->uri, db_res_str(rows, 0, 1),
			db_res_str(rows, 0, 2));
	if (db_res_str(rows, 0, 3))
		err |= str_dup(&l->user, db_res_str(rows, 0, 3));
	if (db_res_str(rows, 0, 4))
		err |= str_dup(&l->pass, db_res_str(rows, 0, 4));
	if (odict_string(doc, "from"))
		err |= str_dup(&l->from, odict_string(doc, "from"));
	else if (db_res_str(rows, 0, 5))
		err |= str_dup(&l->from, db_res_str(rows, 0, 5));
	err |= str_dup(&l->to, odict_string(doc, "to"));
	if (odict_string(doc, "message"))
		err |= str_dup(&l->text, odict_string(doc, "message"));
	e = odict_lookup(doc, "variables");
	if (e && e->type == ODICT_OBJECT)
		err |= re_sdprintf(&l->vars, "%H", json_print, e->u.odict);
	rows = mem_deref(rows);
	if (err)
		goto out;

	err = agent_runtime_json(api_rtcfg(r->api), r->db, r->tenant_id,
				 l->agent_id, &l->agent_json, NULL);
	if (err == ENOENT) {
		api_error(r, 400, "invalid_reference", "agent_id",
			  "field 'agent_id': no agent %lld",
			  (long long)l->agent_id);
		goto out;
	}
	if (err) {
		api_error_db(r, err, "agent");
		goto out;
	}

	{
		struct db_val p[] = {
			DBV_INT(r->tenant_id), DBV_INT(now), DBV_INT(now),
			DBV_TEXT(l->from), DBV_TEXT(l->to), DBV_INT(trunk),
			DBV_INT(l->agent_id)};
		err = db_exec(r->db, &rows, "INSERT INTO calls (tenant_id, "
			      "created_at, updated_at, direction, from_number, "
			      "to_number, trunk_id, agent_id, status) VALUES "
			      "(?, ?, ?, 'outbound', ?, ?, ?, ?, 'initiated') "
			      "RETURNING id", p, 7);
	}
	if (err) {
		api_error_db(r, err, "call");
		goto out;
	}
	l->call_id = db_res_int(rows, 0, 0);
	rows = mem_deref(rows);

	{
		char *cols = NULL, *sql = NULL;
		struct db_val p[] = {DBV_INT(l->call_id)};
		err = res_columns(&cols, &res_calls);
		if (!err)
			err = re_sdprintf(&sql, "SELECT %s FROM calls WHERE "
					  "id = ?", cols);
		if (!err)
			err = db_exec(r->db, &rows, sql, p, 1);
		if (!err)
			err = res_row_json(&res_calls, rows, 0, &out);
		mem_deref(cols);
		mem_deref(sql);
	}
	if (!err)
		err = api_reply_json(r, 201, out);
	if (err)
		goto out;
	re_snprintf(r->xhdrs, sizeof(r->xhdrs),
		    "Location: /api/v1/calls/%lld\r\n", (long long)l->call_id);
	r->afterh = dial_after_h;
	r->after_arg = l;
	l = NULL;
 out:
	mem_deref(l);
	mem_deref(doc);
	mem_deref(out);
	mem_deref(rows);
	return r->status ? 0 : err;
}

/* the call must be this tenant's and not ended */
static int live_call(struct areq *r)
{
	struct db_val p[] = {DBV_INT(r->ids[0]), DBV_INT(r->tenant_id)};
	struct db_res *rows = NULL;
	int err;

	err = db_exec(r->db, &rows, "SELECT ended_at FROM calls WHERE id = ? "
		      "AND tenant_id = ?", p, 2);
	if (err)
		return api_error_db(r, err, "call");
	if (!db_res_nrows(rows))
		err = api_error(r, 404, "not_found", NULL, "call %lld not found",
				(long long)r->ids[0]);
	else if (!db_res_isnull(rows, 0, 0))
		err = api_error(r, 409, "call_ended", NULL,
				"call %lld has ended", (long long)r->ids[0]);
	mem_deref(rows);
	return err;
}

static bool action_after_h(struct areq *r)
{
	struct live *l = r->after_arg;
	struct tel *tel = api_tel(r->api);
	const char *what = l->text ? (l->uri ? "transfer" : "dtmf") : "hangup";
	int err;

	if (!strcmp(what, "transfer"))
		err = tel_transfer(tel, r->tenant_id, r->ids[0], l->uri);
	else if (!strcmp(what, "dtmf"))
		err = tel_send_dtmf(tel, r->tenant_id, r->ids[0], l->text);
	else
		err = tel_hangup(tel, r->tenant_id, r->ids[0]);

	if (err == ENOENT)
		api_error(r, 409, "not_live", NULL, "call %lld is not in "
			  "progress on this node", (long long)r->ids[0]);
	else if (err == EALREADY)
		api_error(r, 409, "busy", NULL, "a transfer is in progress");
	else if (err == EINVAL)
		api_error(r, 400, "invalid_value", l->uri ? "to" : "digits",
			  "%s is not valid", l->uri ? "the SIP URI" :
			  "a digit");
	else if (err)
		api_error(r, 500, "internal", NULL, "%s failed (%s)", what,
			  strerror(err));
	else
		api_reply_text(r, 202, "application/json",
			       "{\"status\":\"accepted\",\"action\":\"%s\"}",
			       what);
	return false;
}

static const struct field dtmf_fields[] = {
	{"digits", FT_STRING, FF_REQUIRED, 1, 32, NULL, NULL, NULL, NULL,
	 "DTMF digits 0-9, *, #, A-D"},
	{NULL, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL},
};
static const struct field transfer_fields[] = {
	{"to", FT_STRING, FF_REQUIRED, 1, 256, NULL, NULL, NULL, NULL,
	 "A SIP URI or an E.164 number (sent to the call's trunk host)"},
	{NULL, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL},
};

static int action(struct areq *r, const struct field *fields)
{
	struct odict *doc = NULL;
	struct live *l;
	struct verr ve;
	int err;

	if (need_tel(r))
		return 0;
	if (fields) {
		if (r->body_type != ODICT_OBJECT)
			return api_error(r, 400, "invalid_body", NULL,
					 "request body must be a JSON object");
		err = schema_check(&doc, fields, r->body, true, NULL, &ve);
		if (err == EINVAL)
			return api_error_verr(r, &ve);
		if (err)
			return err;
	}
	if (live_call(r)) {
		mem_deref(doc);
		return 0;
	}
	l = mem_zalloc(sizeof(*l), live_destructor);
	if (!l) {
		mem_deref(doc);
		return ENOMEM;
	}
	err = 0;
	if (fields == dtmf_fields) {
		const char *d = odict_string(doc, "digits");
		if (strspn(d, "0123456789*#ABCD") != strlen(d)) {
			api_error(r, 400, "invalid_value", "digits",
				  "digits may only hold 0-9, *, # and A-D");
			goto out;
		}
		err = str_dup(&l->text, d);
	}
	else if (fields == transfer_fields) {
		const char *to = odict_string(doc, "to");
		if (strncmp(to, "sip:", 4) && strncmp(to, "sips:", 5)) {
			api_error(r, 400, "invalid_value", "to",
				  "field 'to' must be a SIP URI such as "
				  "sip:+442079460958@pbx.example.com");
			goto out;
		}
		err = str_dup(&l->text, to);
		err |= str_dup(&l->uri, to);
	}
	if (err)
		goto out;
	r->afterh = action_after_h;
	r->after_arg = l;
	l = NULL;
 out:
	mem_deref(l);
	mem_deref(doc);
	return err;
}

int call_hangup_h(struct areq *r)
{
	return action(r, NULL);
}

int call_dtmf_h(struct areq *r)
{
	return action(r, dtmf_fields);
}

int call_transfer_h(struct areq *r)
{
	return action(r, transfer_fields);
}

/* ---- trunk check: OPTIONS, then the result stored on the trunk ---- */

static void check_store_work_h(void *ctx, void *arg)
{
	struct live *l = arg;
	struct db *db;
	struct db_val p[] = {DBV_INT(l->err ? 0 : 1),
			     l->err ? DBV_NULL : DBV_INT(l->rtt_ms),
			     DBV_INT(util_now_ms()), DBV_INT(l->trunk_id)};

	if (store_worker_db(ctx, &db))
		return;
	(void)db_exec(db, NULL, "UPDATE trunks SET reachable = ?, rtt_ms = ?, "
		      "checked_at = ? WHERE id = ?", p, 4);
}

static void check_store_done_h(int err, void *arg)
{
	struct live *l = arg;
	struct areq *r = l->r;
	(void)err;

	l->r = NULL;
	api_finish(r);
}

static void ping_h(int err, uint16_t scode, uint32_t rtt_ms, void *arg)
{
	struct live *l = arg;
	struct areq *r = l->r;

	l->err = err;
	l->scode = scode;
	l->rtt_ms = rtt_ms;
	if (err)
		api_reply_text(r, 200, "application/json",
			       "{\"trunk_id\":%lld,\"reachable\":false,"
			       "\"error\":\"%s\"}", (long long)l->trunk_id,
			       strerror(err));
	else
		api_reply_text(r, 200, "application/json",
			       "{\"trunk_id\":%lld,\"reachable\":true,"
			       "\"sip_code\":%u,\"rtt_ms\":%u}",
			       (long long)l->trunk_id, scode, rtt_ms);
	if (pool_submit(api_pool(r->api), check_store_work_h,
			check_store_done_h, l)) {
		l->r = NULL;
		api_finish(r);
	}
}

static bool check_after_h(struct areq *r)
{
	struct live *l = r->after_arg;
	int err;

	l->r = r;
	err = tel_ping(api_tel(r->api), l->uri, ping_h, l);
	if (err) {
		l->r = NULL;
		api_error(r, 400, "invalid_value", "sip_uri",
			  "cannot send OPTIONS to the trunk (%s)",
			  strerror(err));
		return false;
	}
	return true;
}

int trunk_check_h(struct areq *r)
{
	struct db_val p[] = {DBV_INT(r->ids[0]), DBV_INT(r->tenant_id)};
	struct db_res *rows = NULL;
	struct live *l;
	int err;

	if (need_tel(r))
		return 0;
	err = db_exec(r->db, &rows, "SELECT sip_uri, transport FROM trunks "
		      "WHERE id = ? AND tenant_id = ?", p, 2);
	if (err)
		return api_error_db(r, err, "trunk");
	if (!db_res_nrows(rows)) {
		mem_deref(rows);
		return api_error(r, 404, "not_found", NULL,
				 "trunk %lld not found", (long long)r->ids[0]);
	}
	l = mem_zalloc(sizeof(*l), live_destructor);
	if (!l) {
		mem_deref(rows);
		return ENOMEM;
	}
	l->trunk_id = r->ids[0];
	err = tel_trunk_uri(&l->uri, db_res_str(rows, 0, 0),
			db_res_str(rows, 0, 1));
	mem_deref(rows);
	if (err) {
		mem_deref(l);
		return err;
	}
	r->afterh = check_after_h;
	r->after_arg = l;
	r->status = 202;   /* replaced by the ping's answer */
	return 0;
}
