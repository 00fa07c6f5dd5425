/* emit.c - the producer side of webhooks, on worker threads: which of a
 * tenant's webhooks want an event, the JSON envelope (events.c describes
 * it), and one webhook_outbox row per webhook, written on the caller's
 * connection so they commit with whatever caused the event.
 *
 * Nothing is read or built when no webhook of the tenant subscribes, so
 * a tenant without webhooks pays one indexed SELECT per event.
 */
#include <errno.h>
#include <string.h>
#include <re.h>
#include "core/log.h"
#include "core/util.h"
#include "events/events.h"
#include "json/json.h"
#include "store/db.h"

static const char *const webhook_types[] = {
	"call.initiated", "call.ringing", "call.answered",
	"conversation_started", "notification_delivered", "amd_hangup",
	"user_hangup", "call.ended", "campaign.completed", "error_http",
	"error_exception", NULL
};

bool events_webhook_type(const char *type)
{
	for (size_t i = 0; type && webhook_types[i]; i++)
		if (!strcmp(type, webhook_types[i]))
			return true;
	return false;
}

/* errors may happen many times in a call; everything else once */
static bool once_per_call(const char *type)
{
	return strncmp(type, "error_", 6) != 0;
}

/* events: the webhook's JSON array as stored by the API (null: all) */
static bool subscribes(const char *events, const char *type)
{
	char q[64];

	if (!events)
		return true;
	if (strstr(events, "\"*\""))
		return true;
	re_snprintf(q, sizeof(q), "\"%s\"", type);
	return strstr(events, q) != NULL;
}

/* id, events of the tenant's active webhooks */
static int active_hooks(struct db *db, int64_t tenant_id,
			struct db_res **hooksp)
{
	struct db_val p[] = {DBV_INT(tenant_id)};

	return db_exec(db, hooksp, "SELECT id, events FROM webhooks WHERE "
		       "tenant_id = ? AND COALESCE(active, 1) <> 0 "
		       "ORDER BY id", p, 1);
}

static bool any_subscribes(const struct db_res *hooks, const char *type)
{
	for (size_t i = 0; i < db_res_nrows(hooks); i++)
		if (subscribes(db_res_str(hooks, i, 1), type))
			return true;
	return false;
}

/* one outbox row per subscribed webhook, all with the same envelope */
static int queue(struct db *db, const struct db_res *hooks,
		 int64_t tenant_id, const char *type, int64_t at_ms,
		 int64_t call_id, int64_t campaign_id, const char *data)
{
	char id[40], ts[32], ref[64] = "";
	uint8_t rnd[16];
	char *payload = NULL;
	int64_t now = util_now_ms();
	int err = 0;

	if (!any_subscribes(hooks, type))
		return 0;
	/* one id for the event, whichever webhooks get it: receivers drop
	 * a delivery they have seen (a retry after a lost answer) */
	err = util_random(rnd, sizeof(rnd));
	if (err)
		return err;
	memcpy(id, "evt_", 4);
	util_hex(id + 4, rnd, sizeof(rnd));
	util_iso8601(ts, at_ms);
	if (call_id)
		re_snprintf(ref, sizeof(ref), ",\"call_id\":%lld",
			    (long long)call_id);
	if (campaign_id)
		re_snprintf(ref + strlen(ref), sizeof(ref) - strlen(ref),
			    ",\"campaign_id\":%lld", (long long)campaign_id);
	err = re_sdprintf(&payload, "{\"id\":\"%s\",\"type\":\"%s\","
			  "\"created_at\":\"%s\",\"tenant_id\":%lld%s,"
			  "\"data\":%s}", id, type, ts, (long long)tenant_id,
			  ref, data && *data ? data : "{}");
	for (size_t i = 0; !err && i < db_res_nrows(hooks); i++) {
		if (!subscribes(db_res_str(hooks, i, 1), type))
			continue;
		struct db_val p[] = {DBV_INT(tenant_id), DBV_INT(now),
				     DBV_INT(now),
				     DBV_INT(db_res_int(hooks, i, 0)),
				     DBV_TEXT(type), DBV_TEXT(payload),
				     DBV_INT(now)};
		err = db_exec(db, NULL, "INSERT INTO webhook_outbox "
			      "(tenant_id, created_at, updated_at, webhook_id, "
			      "event, payload, status, attempts, "
			      "next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, "
			      "'pending', 0, ?)", p, 7);
	}
	mem_deref(payload);
	return err;
}

/* data as an object we may add to (a fresh one when absent or not an
 * object: the event rows are ours, so that is a bug, not input) */
static int data_object(struct odict **op, const char *data_json)
{
	int type;

	if (data_json && *data_json &&
	    !json_parse(op, &type, data_json, strlen(data_json), NULL)) {
		if (type == ODICT_OBJECT)
			return 0;
		*op = mem_deref(*op);
	}
	return odict_alloc(op, 16);
}

static int64_t int_member(const struct odict *o, const char *key)
{
	const struct odict_entry *e = o ? odict_lookup(o, key) : NULL;

	return e && e->type == ODICT_INT ? e->u.integer : 0;
}

int events_emit(struct db *db, int64_t tenant_id, const char *type,
		const char *data_json)
{
	struct db_res *hooks = NULL;
	struct odict *data = NULL;
	char *enc = NULL;
	int err;

	if (!db || !events_webhook_type(type))
		return EINVAL;
	err = active_hooks(db, tenant_id, &hooks);
	if (err || !any_subscribes(hooks, type))
		goto out;
	err = data_object(&data, data_json);
	if (!err)
		err = json_encode(&enc, data);
	if (!err)
		err = queue(db, hooks, tenant_id, type, util_now_ms(),
			    int_member(data, "call_id"),
			    int_member(data, "campaign_id"), enc);
 out:
	mem_deref(enc);
	mem_deref(data);
	mem_deref(hooks);
	return err;
}

/* ---- call events ---- */

enum {
	C_DIRECTION, C_FROM, C_TO, C_AGENT, C_CAMPAIGN, C_CONTACT, C_TASK,
	C_ATTEMPT, C_CREATED, C_ANSWERED, C_ENDED, C_AMD,
};

static int add_str(struct odict *o, const char *key, const char *v)
{
	if (!v || odict_lookup(o, key))
		return 0;
	return odict_entry_add(o, key, ODICT_STRING, v);
}

static int add_int(struct odict *o, const char *key, const struct db_res *r,
		   size_t col)
{
	if (db_res_isnull(r, 0, col) || odict_lookup(o, key))
		return 0;
	return odict_entry_add(o, key, ODICT_INT, db_res_int(r, 0, col));
}

static int add_time(struct odict *o, const char *key, int64_t ms)
{
	char ts[32];

	if (odict_lookup(o, key))
		return 0;
	if (!ms)
		return odict_entry_add(o, key, ODICT_NULL);
	util_iso8601(ts, ms);
	return odict_entry_add(o, key, ODICT_STRING, ts);
}

/* who and what the call is, on every call event */
static int add_call(struct odict *d, const struct db_res *call)
{
	int err = 0;

	err |= add_str(d, "direction", db_res_str(call, 0, C_DIRECTION));
	err |= add_str(d, "from", db_res_str(call, 0, C_FROM));
	err |= add_str(d, "to", db_res_str(call, 0, C_TO));
	err |= add_int(d, "agent_id", call, C_AGENT);
	err |= add_int(d, "contact_id", call, C_CONTACT);
	err |= add_int(d, "task_id", call, C_TASK);
	err |= add_int(d, "attempt", call, C_ATTEMPT);
	return err;
}

static int add_transcript(struct db *db, struct odict *d, int64_t tenant_id,
			  int64_t call_id)
{
	struct db_val p[] = {DBV_INT(call_id), DBV_INT(tenant_id)};
	struct db_res *rows = NULL;
	struct odict *arr = NULL;
	int err;

	err = db_exec(db, &rows, "SELECT turn, speaker, text, start_ms, "
		      "end_ms, interrupted FROM transcripts WHERE call_id = ? "
		      "AND tenant_id = ? ORDER BY turn, id", p, 2);
	if (!err)
		err = odict_alloc(&arr, 16);
	for (size_t i = 0; !err && i < db_res_nrows(rows); i++) {
		struct odict *t = NULL;
		char k[16];

		err = odict_alloc(&t, 8);
		if (err)
			break;
		err |= odict_entry_add(t, "turn", ODICT_INT,
				       db_res_int(rows, i, 0));
		err |= odict_entry_add(t, "speaker", ODICT_STRING,
				       db_res_str(rows, i, 1) ?
				       db_res_str(rows, i, 1) : "");
		err |= odict_entry_add(t, "text", ODICT_STRING,
				       db_res_str(rows, i, 2) ?
				       db_res_str(rows, i, 2) : "");
		err |= odict_entry_add(t, "start_ms", ODICT_INT,
				       db_res_int(rows, i, 3));
		err |= odict_entry_add(t, "end_ms", ODICT_INT,
				       db_res_int(rows, i, 4));
		err |= odict_entry_add(t, "interrupted", ODICT_BOOL,
				       db_res_int(rows, i, 5) != 0);
		re_snprintf(k, sizeof(k), "%zu", i);
		if (!err)
			err = odict_entry_add(arr, k, ODICT_OBJECT, t);
		mem_deref(t);
	}
	if (!err)
		err = odict_entry_add(d, "transcript", ODICT_ARRAY, arr);
	mem_deref(arr);
	mem_deref(rows);
	return err;
}

/* call.ended: the row says when it was answered; the event (written
 * before the row is marked ended) says how and when it ended */
static int add_ending(struct db *db, struct odict *d, const struct db_res *call,
		      int64_t tenant_id, int64_t call_id, int64_t at_ms)
{
	int64_t answered = db_res_int(call, 0, C_ANSWERED);
	int64_t ended = db_res_int(call, 0, C_ENDED);
	int64_t dur_ms;
	int err = 0;

	if (!ended)
		ended = at_ms;
	dur_ms = answered && ended > answered ? ended - answered : 0;
	if (!odict_lookup(d, "outcome"))
		err |= odict_entry_add(d, "outcome", ODICT_STRING, "failed");
	err |= add_time(d, "started_at", db_res_int(call, 0, C_CREATED));
	err |= add_time(d, "answered_at", answered);
	err |= add_time(d, "ended_at", ended);
	if (!odict_lookup(d, "duration"))
		err |= odict_entry_add(d, "duration", ODICT_DOUBLE,
				       (double)dur_ms / 1000.0);
	if (!odict_lookup(d, "duration_ms"))
		err |= odict_entry_add(d, "duration_ms", ODICT_INT, dur_ms);
	err |= add_str(d, "amd_result", db_res_str(call, 0, C_AMD));
	if (!err)
		err = add_transcript(db, d, tenant_id, call_id);
	return err;
}

/* the far end hung up an answered call (seed 004's "user disconnected") */
static bool user_hung_up(const struct odict *d, const struct db_res *call)
{
	const char *by = odict_string(d, "by");
	const char *cause = odict_string(d, "cause");

	return !db_res_isnull(call, 0, C_ANSWERED) && by && cause &&
		(!strcmp(by, "caller") || !strcmp(by, "callee")) &&
		!strcmp(cause, "bye");
}

static int event_count(struct db *db, int64_t call_id, const char *type,
		       int64_t *np)
{
	struct db_val p[] = {DBV_INT(call_id), DBV_TEXT(type)};
	struct db_res *rows = NULL;
	int err;

	err = db_exec(db, &rows, "SELECT COUNT(*) FROM call_events WHERE "
		      "call_id = ? AND type = ?", p, 2);
	if (!err)
		*np = db_res_int(rows, 0, 0);
	mem_deref(rows);
	return err;
}

int events_emit_call(struct db *db, int64_t tenant_id, int64_t call_id,
		     int64_t at_ms, const char *type, const char *data_json)
{
	struct db_res *hooks = NULL, *call = NULL;
	struct odict *data = NULL;
	char *enc = NULL;
	bool ended;
	int64_t n = 0, campaign;
	int err;

	if (!db || !call_id || !events_webhook_type(type))
		return EINVAL;
	ended = !strcmp(type, "call.ended");
	err = active_hooks(db, tenant_id, &hooks);
	if (err || !(any_subscribes(hooks, type) ||
		     (ended && any_subscribes(hooks, "user_hangup"))))
		goto out;

	if (once_per_call(type)) {
		err = event_count(db, call_id, type, &n);
		if (err || n > 1)
			goto out;
	}
	{
		struct db_val p[] = {DBV_INT(call_id), DBV_INT(tenant_id)};
		err = db_exec(db, &call, "SELECT direction, from_number, "
			      "to_number, agent_id, campaign_id, contact_id, "
			      "task_id, attempt, created_at, answered_at, "
			      "ended_at, amd_result FROM calls WHERE id = ? "
			      "AND tenant_id = ?", p, 2);
	}
	if (err || !db_res_nrows(call))
		goto out;
	campaign = db_res_int(call, 0, C_CAMPAIGN);

	err = data_object(&data, data_json);
	if (!err)
		err = add_call(data, call);
	if (!err && ended && user_hung_up(data, call)) {
		struct odict *u = NULL;
		char *uenc = NULL;

		err = event_count(db, call_id, "user_hangup", &n);
		if (!err && !n)
			err = odict_alloc(&u, 8);
		if (!err && u) {
			err = add_str(u, "by", odict_string(data, "by"));
			if (!err)
				err = add_call(u, call);
			if (!err)
				err = json_encode(&uenc, u);
			if (!err)
				err = queue(db, hooks, tenant_id, "user_hangup",
					    at_ms, call_id, campaign, uenc);
		}
		mem_deref(uenc);
		mem_deref(u);
	}
	if (!err && ended)
		err = add_ending(db, data, call, tenant_id, call_id, at_ms);
	if (!err)
		err = json_encode(&enc, data);
	if (!err)
		err = queue(db, hooks, tenant_id, type, at_ms, call_id,
			    campaign, enc);
 out:
	if (err)
		log_warn("call %lld: %s not queued for webhooks: %s",
			 (long long)call_id, type, db_errmsg(db));
	mem_deref(enc);
	mem_deref(data);
	mem_deref(call);
	mem_deref(hooks);
	return err;
}
