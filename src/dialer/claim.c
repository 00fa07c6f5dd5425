/* claim.c - one turn of the scheduler on a worker thread: housekeeping,
 * task creation and completion of running campaigns, then claims.
 *
 * A claim is one transaction per campaign (or per outbound-call task):
 * lock the campaign and trunk rows (PostgreSQL), count what is in
 * progress against the pacing limits, claim at most that many due tasks
 * (attempt + 1, leased to this node), then for each one check the
 * number, the DNC lists and the calling window; an attempt that goes
 * ahead gets its calls row here. What is claimed per turn depends on
 * what is due and allowed, never on how large a campaign is: every query
 * walks an index from the first due task.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <re.h>
#include "api/handlers.h"
#include "contacts/e164.h"
#include "core/log.h"
#include "core/util.h"
#include "dialer/dialer_int.h"
#include "dialer/window.h"
#include "json/json.h"
#include "store/db.h"
#include "tel/tel.h"

enum {
	API_CLAIMS_MAX = 20,       /* outbound-call tasks per turn */
	NEVER_OPEN_RETRY_MS = 24 * 3600 * 1000,
};

/* what one campaign's claim needs besides the tasks */
struct claim_ctx {
	int64_t tenant_id, campaign_id, agent_id, trunk_id;
	const char *from;          /* caller ID */
	const char *prompt;        /* campaign instructions */
	const char *cw_tz;         /* the calling window's own zone */
	struct odict *hours;       /* NULL: no window (outbound-call tasks) */
	char *agent_json, *uri;
	const char *user, *pass;
	struct list dials;
	unsigned armed;
};

static void dial_destructor(void *data)
{
	struct dial *dl = data;

	list_unlink(&dl->le);
	mem_deref(dl->to);
	mem_deref(dl->from);
	mem_deref(dl->uri);
	mem_deref(dl->user);
	mem_deref(dl->pass);
	mem_deref(dl->agent_json);
	mem_deref(dl->vars_json);
}

static double num(const struct odict *o, const char *key, double def)
{
	const struct odict_entry *e = o ? odict_lookup(o, key) : NULL;

	if (e && e->type == ODICT_INT)
		return (double)e->u.integer;
	if (e && e->type == ODICT_DOUBLE)
		return e->u.dbl;
	return def;
}

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

/* Calls allowed now by a calls-per-second limit, given how many calls
 * started within its window: a rate of 1 or more counts over 1 s, a
 * slower one over the time one call takes (0.2/s: 1 per 5 s). */
static int64_t cps_window_ms(double cps)
{
	return cps >= 1.0 ? 1000 : (int64_t)(1000.0 / cps + 0.999);
}

static int64_t cps_allowed(double cps, int64_t recent)
{
	double per = cps * (double)cps_window_ms(cps) / 1000.0;
	int64_t n = per < 1.0 ? 1 : (int64_t)(per + 1e-9);

	return n - recent;
}

static void move_dials(struct list *to, struct list *from)
{
	struct le *le;

	while ((le = list_head(from))) {
		struct dial *dl = le->data;

		list_unlink(le);
		list_append(to, &dl->le, dl);
	}
}

static int64_t min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

/* ---- one claimed task ---- */

/* the task ends without this attempt having happened */
static int finish_unattempted(struct db *db, int64_t task_id,
			      const char *final, int64_t now)
{
	struct db_val p[] = {DBV_TEXT(final), DBV_TEXT(final), DBV_INT(now),
			     DBV_INT(task_id)};

	return db_exec(db, NULL, "UPDATE call_tasks SET status = 'done', "
		       "final_outcome = ?, last_outcome = ?, attempt = "
		       "attempt - 1, lease_owner = NULL, lease_expires_at = "
		       "NULL, updated_at = ? WHERE id = ?", p, 4);
}

/* back to the queue until its window opens; the attempt is given back */
static int defer(struct db *db, int64_t task_id, int64_t at, int64_t now)
{
	struct db_val p[] = {DBV_INT(at), DBV_INT(now), DBV_INT(task_id)};

	return db_exec(db, NULL, "UPDATE call_tasks SET status = 'queued', "
		       "attempt = attempt - 1, lease_owner = NULL, "
		       "lease_expires_at = NULL, next_attempt_at = ?, "
		       "wait_reason = 'window', updated_at = ? WHERE id = ?",
		       p, 3);
}

/* template variables: the contact's fields, its name, email and phone,
 * and the campaign's instructions */
static int contact_vars(char **jsonp, const struct db_res *ct,
			const char *phone, const char *prompt,
			const char *caller_name)
{
	struct odict *v = ct ? parse_obj(db_res_str(ct, 0, 4)) : NULL;
	const char *keys[] = {"name", "email"};
	int err = 0;

	if (!v)
		err = odict_alloc(&v, 8);
	if (err)
		return err;
	for (size_t i = 0; ct && i < 2 && !err; i++) {
		const char *s = db_res_str(ct, 0, i + 1);
		if (!s)
			continue;
		odict_entry_del(v, keys[i]);
		err = odict_entry_add(v, keys[i], ODICT_STRING, s);
	}
	odict_entry_del(v, "phone");
	err |= odict_entry_add(v, "phone", ODICT_STRING, phone);
	if (prompt) {
		odict_entry_del(v, "campaign_prompt");
		err |= odict_entry_add(v, "campaign_prompt", ODICT_STRING,
				       prompt);
	}
	if (caller_name) {
		odict_entry_del(v, "caller_name");
		err |= odict_entry_add(v, "caller_name", ODICT_STRING,
				       caller_name);
	}
	if (!err)
		err = json_encode(jsonp, v);
	mem_deref(v);
	return err;
}

/* write the attempt's calls row and queue its dial for the loop */
static int arm(struct db *db, struct tick_job *j, struct claim_ctx *cx,
	       int64_t task_id, int64_t contact_id, int64_t attempt,
	       const char *to, const char *vars_json)
{
	struct db_res *rows = NULL;
	struct dial *dl;
	int err;

	dl = mem_zalloc(sizeof(*dl), dial_destructor);
	if (!dl)
		return ENOMEM;
	{
		struct db_val p[] = {
			DBV_INT(cx->tenant_id), DBV_INT(j->now),
			DBV_INT(j->now),
			DBV_INT(task_id), DBV_INT(attempt), DBV_TEXT(cx->from),
			DBV_TEXT(to), DBV_INT(cx->trunk_id),
			DBV_INT(cx->agent_id),
			cx->campaign_id ? DBV_INT(cx->campaign_id) : DBV_NULL,
			contact_id ? DBV_INT(contact_id) : DBV_NULL,
			DBV_TEXT(j->node)};
		err = db_exec(db, &rows, "INSERT INTO calls (tenant_id, "
			      "created_at, updated_at, task_id, attempt, "
			      "direction, from_number, to_number, trunk_id, "
			      "agent_id, campaign_id, contact_id, status, "
			      "node) VALUES (?, ?, ?, ?, ?, 'outbound', ?, ?, ?, "
			      "?, ?, ?, 'initiated', ?) RETURNING id", p, 12);
	}
	if (err)
		goto out;
	dl->tenant_id = cx->tenant_id;
	dl->task_id = task_id;
	dl->call_id = db_res_int(rows, 0, 0);
	dl->campaign_id = cx->campaign_id;
	dl->agent_id = cx->agent_id;
	dl->attempt = attempt;
	err = str_dup(&dl->to, to);
	if (cx->from)
		err |= str_dup(&dl->from, cx->from);
	err |= str_dup(&dl->uri, cx->uri);
	if (cx->user)
		err |= str_dup(&dl->user, cx->user);
	if (cx->pass)
		err |= str_dup(&dl->pass, cx->pass);
	dl->agent_json = mem_ref(cx->agent_json);
	if (vars_json)
		err |= str_dup(&dl->vars_json, vars_json);
	if (err)
		goto out;
	list_append(&cx->dials, &dl->le, dl);
	dl = NULL;
	++cx->armed;
 out:
	mem_deref(dl);
	mem_deref(rows);
	return err;
}

static int campaign_task(struct db *db, struct tick_job *j,
			 struct claim_ctx *cx, const struct db_res *t, size_t i)
{
	int64_t id = db_res_int(t, i, 0), contact_id = db_res_int(t, i, 1);
	int64_t attempt = db_res_int(t, i, 3);
	const char *to = db_res_str(t, i, 2);
	struct db_val pc[] = {DBV_INT(contact_id)};
	struct db_res *ct = NULL;
	char *vars = NULL;
	bool listed = false;
	int64_t dnow, open;
	int err;

	err = db_exec(db, &ct, "SELECT phone, name, email, timezone, fields "
		      "FROM contacts WHERE id = ?", pc, 1);
	if (err)
		goto out;
	if (!to || !e164_valid(to) || e164_country(to, NULL, NULL)) {
		err = finish_unattempted(db, id, "invalid", j->now);
		++j->finished;
		goto out;
	}
	/* listed since the task was made (or the campaign started) */
	err = dialer_dnc_listed(db, cx->tenant_id, cx->campaign_id, to,
				&listed);
	if (err)
		goto out;
	if (listed) {
		err = finish_unattempted(db, id, "dnc", j->now);
		++j->finished;
		goto out;
	}
	dnow = j->now + j->new_offset_s * 1000;
	open = window_next_open(cx->hours, window_zone(db_res_nrows(ct) ?
				db_res_str(ct, 0, 3) : NULL, to, cx->cw_tz),
				dnow);
	if (open != dnow) {
		err = defer(db, id, open < 0 ? j->now + NEVER_OPEN_RETRY_MS :
			    j->now + (open - dnow), j->now);
		++j->deferred;
		goto out;
	}
	err = contact_vars(&vars, db_res_nrows(ct) ? ct : NULL, to,
			   cx->prompt, NULL);
	if (!err)
		err = arm(db, j, cx, id, contact_id, attempt, to, vars);
 out:
	mem_deref(ct);
	mem_deref(vars);
	return err;
}

/* ---- a campaign's claim ---- */

static void ctx_reset(struct claim_ctx *cx)
{
	list_flush(&cx->dials);
	cx->hours = mem_deref(cx->hours);
	cx->agent_json = mem_deref(cx->agent_json);
	cx->uri = mem_deref(cx->uri);
}

/* Claim up to n due tasks of the campaign: attempt + 1, leased to this
 * node. On PostgreSQL the rows are picked with SKIP LOCKED, so nodes
 * never wait for each other's tasks (the campaign row lock already keeps
 * two claims of one campaign apart). retries: only tasks called before
 * (an index of their own keeps that lookup proportional to what is due). */
static int claim_due(struct db *db, const struct tick_job *j,
		     const struct claim_ctx *cx, int64_t n, bool retries,
		     struct db_res **resp)
{
	const char *only = retries ? " AND attempt > 0" : "";
	/* SQLite's planner, without statistics, would rather walk all due
	 * tasks of the campaign for the retries */
	const char *idx = retries ? " INDEXED BY call_tasks_retry_due" : "";
	char *sql = NULL;
	int err;

	if (dialer_is_pg(db)) {
		struct db_val p[] = {
			DBV_INT(cx->campaign_id), DBV_INT(j->now), DBV_INT(n),
			DBV_TEXT(j->node), DBV_INT(j->now + j->lease_ms),
			DBV_INT(cx->agent_id), DBV_INT(cx->trunk_id),
			DBV_INT(j->now)};
		err = re_sdprintf(&sql, "WITH due AS (SELECT id FROM "
				  "call_tasks WHERE campaign_id = ? AND "
				  "status = 'queued' "
				  "AND next_attempt_at <= ?%s ORDER BY "
				  "next_attempt_at, id LIMIT ? FOR UPDATE SKIP "
				  "LOCKED) UPDATE call_tasks t SET status = "
				  "'dialing', attempt = t.attempt + 1, "
				  "lease_owner = ?, lease_expires_at = ?, "
				  "agent_id = ?, trunk_id = ?, wait_reason = "
				  "NULL, updated_at = ? FROM due WHERE t.id = "
				  "due.id RETURNING t.id, t.contact_id, "
				  "t.to_number, t.attempt", only);
		if (!err)
			err = db_exec(db, resp, sql, p, 8);
	}
	else {
		struct db_val p[] = {
			DBV_TEXT(j->node), DBV_INT(j->now + j->lease_ms),
			DBV_INT(cx->agent_id), DBV_INT(cx->trunk_id),
			DBV_INT(j->now), DBV_INT(cx->campaign_id),
			DBV_INT(j->now), DBV_INT(n)};
		err = re_sdprintf(&sql, "UPDATE call_tasks SET status = "
				  "'dialing', attempt = attempt + 1, "
				  "lease_owner = ?, lease_expires_at = ?, "
				  "agent_id = ?, trunk_id = ?, wait_reason = "
				  "NULL, updated_at = ? WHERE id IN (SELECT id "
				  "FROM call_tasks%s WHERE campaign_id = ? AND "
				  "status = 'queued' AND next_attempt_at <= "
				  "?%s ORDER BY next_attempt_at, id LIMIT ?) "
				  "RETURNING id, contact_id, to_number, "
				  "attempt",
				  idx, only);
		if (!err)
			err = db_exec(db, resp, sql, p, 8);
	}
	mem_deref(sql);
	return err;
}

static int claim_campaign(struct db *db, struct tick_job *j,
			  int64_t campaign_id)
{
	const bool pg = dialer_is_pg(db);
	struct db_val pc[] = {DBV_INT(campaign_id)};
	struct db_res *c = NULL, *tr = NULL, *cnt = NULL, *t = NULL;
	struct db_res *recent = NULL, *t2 = NULL;
	struct odict *pacing = NULL, *cw = NULL;
	struct claim_ctx cx;
	double camp_cps, trunk_cps;
	int64_t n;
	int err;

	memset(&cx, 0, sizeof(cx));
	err = dialer_tx_begin(db);
	if (err)
		return err;
	err = db_exec(db, &c, pg ?
		      "SELECT state, tenant_id, agent_id, trunk_id, caller_id, "
		      "prompt, calling_window, pacing FROM campaigns WHERE "
		      "id = ? FOR UPDATE" :
		      "SELECT state, tenant_id, agent_id, trunk_id, caller_id, "
		      "prompt, calling_window, pacing FROM campaigns WHERE "
		      "id = ?", pc, 1);
	if (err || !db_res_nrows(c) || strcmp(db_res_str(c, 0, 0), "running"))
		goto out;
	cx.campaign_id = campaign_id;
	cx.tenant_id = db_res_int(c, 0, 1);
	cx.agent_id = db_res_int(c, 0, 2);
	cx.trunk_id = db_res_int(c, 0, 3);
	cx.prompt = db_res_str(c, 0, 5);
	pacing = parse_obj(db_res_str(c, 0, 7));
	camp_cps = num(pacing, "calls_per_second", 1.0);

	{
		struct db_val p[] = {DBV_INT(cx.trunk_id)};
		err = db_exec(db, &tr, pg ?
			      "SELECT COALESCE(max_channels, 30), "
			      "COALESCE(calls_per_second, 5), sip_uri, "
			      "transport, username, password, caller_id, "
			      "COALESCE(enabled, 1) FROM trunks WHERE id = ? "
			      "FOR UPDATE" :
			      "SELECT COALESCE(max_channels, 30), "
			      "COALESCE(calls_per_second, 5), sip_uri, "
			      "transport, username, password, caller_id, "
			      "COALESCE(enabled, 1) FROM trunks WHERE id = ?",
			      p, 1);
	}
	if (err || !db_res_nrows(tr) || !db_res_int(tr, 0, 7))
		goto out;
	trunk_cps = db_res_real(tr, 0, 1);
	if (camp_cps <= 0)
		camp_cps = 1.0;
	if (trunk_cps <= 0)
		trunk_cps = 5.0;
	/* in progress first, then the clock, then recent starts: a call
	 * that ended before the count ended before the new calls' start
	 * time, and none of this trunk's can start meanwhile (its row is
	 * locked) */
	{
		struct db_val p[] = {DBV_INT(campaign_id),
				     DBV_INT(cx.trunk_id)};
		err = db_exec(db, &cnt, "SELECT "
			      "(SELECT COUNT(*) FROM call_tasks WHERE "
			      "campaign_id = ? AND status = 'dialing'), "
			      "(SELECT COUNT(*) FROM call_tasks WHERE "
			      "trunk_id = ? AND status = 'dialing')", p, 2);
	}
	if (err)
		goto out;
	j->now = util_now_ms();
	{
		struct db_val p[] = {
			DBV_INT(campaign_id),
			DBV_INT(j->now - cps_window_ms(camp_cps)),
			DBV_INT(cx.trunk_id),
			DBV_INT(j->now - cps_window_ms(trunk_cps))};
		err = db_exec(db, &recent, "SELECT "
			      "(SELECT COUNT(*) FROM calls WHERE "
			      "campaign_id = ? AND created_at > ?), "
			      "(SELECT COUNT(*) FROM calls WHERE "
			      "trunk_id = ? AND created_at > ?)", p, 4);
	}
	if (err)
		goto out;
	n = j->budget;
	n = min64(n, (int64_t)num(pacing, "max_concurrent", 5) -
		  db_res_int(cnt, 0, 0));
	n = min64(n, db_res_int(tr, 0, 0) - db_res_int(cnt, 0, 1));
	n = min64(n, cps_allowed(camp_cps, db_res_int(recent, 0, 0)));
	n = min64(n, cps_allowed(trunk_cps, db_res_int(recent, 0, 1)));
	if (n <= 0)
		goto out;

	/* retries that are due first (their delay is what was asked for),
	 * then anything due in order */
	err = claim_due(db, j, &cx, n, true, &t);
	if (!err && (int64_t)db_res_nrows(t) < n)
		err = claim_due(db, j, &cx, n - (int64_t)db_res_nrows(t),
				false, &t2);
	if (err || (!db_res_nrows(t) && !db_res_nrows(t2)))
		goto out;

	err = agent_runtime_json(j->rtcfg, db, cx.tenant_id, cx.agent_id,
				 &cx.agent_json, NULL);
	if (err)
		goto out;
	err = tel_trunk_uri(&cx.uri, db_res_str(tr, 0, 2), db_res_str(tr, 0, 3));
	if (err)
		goto out;
	cx.user = db_res_str(tr, 0, 4);
	cx.pass = db_res_str(tr, 0, 5);
	cx.from = db_res_str(c, 0, 4) ? db_res_str(c, 0, 4) :
		db_res_str(tr, 0, 6);
	cw = parse_obj(db_res_str(c, 0, 6));
	cx.cw_tz = cw ? odict_string(cw, "timezone") : NULL;
	err = window_hours(&cx.hours, cw);

	for (size_t i = 0; !err && i < db_res_nrows(t); i++)
		err = campaign_task(db, j, &cx, t, i);
	for (size_t i = 0; !err && t2 && i < db_res_nrows(t2); i++)
		err = campaign_task(db, j, &cx, t2, i);
 out:
	err = dialer_tx_end(db, err);
	if (!err) {
		j->armed += cx.armed;
		j->budget -= cx.armed < j->budget ? cx.armed : j->budget;
		move_dials(&j->dials, &cx.dials);
	}
	ctx_reset(&cx);
	mem_deref(c);
	mem_deref(tr);
	mem_deref(cnt);
	mem_deref(recent);
	mem_deref(t);
	mem_deref(t2);
	mem_deref(pacing);
	mem_deref(cw);
	return err;
}

/* ---- POST /api/outbound-call tasks ---- */

/* the agent's config with the task's prompt and greeting */
static int override_agent(char **jsonp, const struct odict *payload)
{
	struct odict *a;
	const char *prompt = odict_string(payload, "llm_prompt");
	const char *greeting = odict_string(payload, "greeting");
	int err;

	if (!prompt && !greeting)
		return 0;
	a = parse_obj(*jsonp);
	if (!a)
		return 0;
	err = 0;
	if (prompt) {
		odict_entry_del(a, "system_prompt");
		err |= odict_entry_add(a, "system_prompt", ODICT_STRING,
				       prompt);
	}
	if (greeting) {
		odict_entry_del(a, "first_message");
		err |= odict_entry_add(a, "first_message", ODICT_STRING,
				       greeting);
	}
	if (!err) {
		char *enc = NULL;
		err = json_encode(&enc, a);
		if (!err) {
			mem_deref(*jsonp);
			*jsonp = enc;
		}
	}
	mem_deref(a);
	return err;
}

/* One due task without a campaign: its trunk and agent as given, else
 * the tenant's first enabled trunk and first agent. *gotp is false when
 * none was due or its trunk is at its limits (nothing more this turn). */
static int claim_api_one(struct db *db, struct tick_job *j, bool *gotp)
{
	const bool pg = dialer_is_pg(db);
	struct db_val pd[] = {DBV_INT(j->now)};
	struct db_res *due = NULL, *t = NULL, *tr = NULL, *ag = NULL;
	struct db_res *cnt = NULL, *recent = NULL;
	struct odict *payload = NULL;
	struct claim_ctx cx;
	char *vars = NULL;
	int64_t id, attempt;
	const char *to;
	bool listed = false;
	double cps;
	int err;

	*gotp = false;
	memset(&cx, 0, sizeof(cx));
	err = dialer_tx_begin(db);
	if (err)
		return err;
	err = db_exec(db, &due, pg ?
		      "SELECT id FROM call_tasks WHERE campaign_id IS NULL AND "
		      "status = 'queued' AND next_attempt_at <= ? ORDER BY "
		      "next_attempt_at, id LIMIT 1 FOR UPDATE SKIP LOCKED" :
		      "SELECT id FROM call_tasks WHERE campaign_id IS NULL AND "
		      "status = 'queued' AND next_attempt_at <= ? ORDER BY "
		      "next_attempt_at, id LIMIT 1", pd, 1);
	if (err || !db_res_nrows(due))
		goto out;
	id = db_res_int(due, 0, 0);
	{
		struct db_val p[] = {DBV_TEXT(j->node),
				     DBV_INT(j->now + j->lease_ms),
				     DBV_INT(j->now), DBV_INT(id)};
		err = db_exec(db, &t, "UPDATE call_tasks SET status = "
			      "'dialing', attempt = attempt + 1, lease_owner "
			      "= ?, lease_expires_at = ?, updated_at = ? WHERE "
			      "id = ? AND status = 'queued' RETURNING tenant_id, "
			      "COALESCE(agent_id, 0), COALESCE(trunk_id, 0), "
			      "to_number, attempt, payload", p, 4);
	}
	if (err || !db_res_nrows(t))
		goto out;
	cx.tenant_id = db_res_int(t, 0, 0);
	to = db_res_str(t, 0, 3);
	attempt = db_res_int(t, 0, 4);
	payload = parse_obj(db_res_str(t, 0, 5));
	{
		struct db_val p[] = {DBV_INT(cx.tenant_id),
				     DBV_INT(db_res_int(t, 0, 2)),
				     DBV_INT(db_res_int(t, 0, 2))};
		err = db_exec(db, &tr, pg ?
			      "SELECT id, COALESCE(max_channels, 30), "
			      "COALESCE(calls_per_second, 5), sip_uri, "
			      "transport, username, password, caller_id FROM "
			      "trunks WHERE tenant_id = ? AND (id = ? OR (? = 0 "
			      "AND COALESCE(enabled, 1) = 1)) ORDER BY id LIMIT "
			      "1 FOR UPDATE" :
			      "SELECT id, COALESCE(max_channels, 30), "
			      "COALESCE(calls_per_second, 5), sip_uri, "
			      "transport, username, password, caller_id FROM "
			      "trunks WHERE tenant_id = ? AND (id = ? OR (? = 0 "
			      "AND COALESCE(enabled, 1) = 1)) ORDER BY id LIMIT "
			      "1",
			      p, 3);
	}
	if (!err) {
		struct db_val p[] = {DBV_INT(cx.tenant_id),
				     DBV_INT(db_res_int(t, 0, 1)),
				     DBV_INT(db_res_int(t, 0, 1))};
		err = db_exec(db, &ag, "SELECT id FROM agents WHERE "
			      "tenant_id = ? AND (id = ? OR ? = 0) ORDER BY id "
			      "LIMIT 1",
			      p, 3);
	}
	if (err)
		goto out;
	*gotp = true;
	if (!db_res_nrows(tr) || !db_res_nrows(ag)) {
		struct db_val p[] = {DBV_TEXT(db_res_nrows(tr) ? "no_agent" :
					      "no_trunk"),
				     DBV_INT(j->now), DBV_INT(id)};
		log_warn("dialer: outbound-call task %lld: no %s to call with",
			 (long long)id, db_res_nrows(tr) ? "agent" : "trunk");
		err = db_exec(db, NULL, "UPDATE call_tasks SET status = "
			      "'failed', final_outcome = 'failed', "
			      "last_outcome = ?, attempt = attempt - 1, "
			      "lease_owner = NULL, "
			      "lease_expires_at = NULL, updated_at = ? WHERE "
			      "id = ?", p, 3);
		++j->finished;
		goto out;
	}
	cx.trunk_id = db_res_int(tr, 0, 0);
	cx.agent_id = db_res_int(ag, 0, 0);
	cps = db_res_real(tr, 0, 2);
	if (cps <= 0)
		cps = 5.0;
	{
		struct db_val p[] = {DBV_INT(cx.trunk_id), DBV_INT(id)};
		err = db_exec(db, &cnt, "SELECT COUNT(*) FROM call_tasks "
			      "WHERE trunk_id = ? AND status = 'dialing' AND "
			      "id <> ?", p, 2);
	}
	if (!err) {
		j->now = util_now_ms();
		struct db_val p[] = {DBV_INT(cx.trunk_id),
				     DBV_INT(j->now - cps_window_ms(cps))};
		err = db_exec(db, &recent, "SELECT COUNT(*) FROM calls WHERE "
			      "trunk_id = ? AND created_at > ?", p, 2);
	}
	if (err)
		goto out;
	if (db_res_int(cnt, 0, 0) >= db_res_int(tr, 0, 1) ||
	    cps_allowed(cps, db_res_int(recent, 0, 0)) <= 0) {
		/* the trunk is full: the task waits, its attempt unused */
		struct db_val p[] = {DBV_INT(j->now), DBV_INT(id)};
		*gotp = false;
		err = db_exec(db, NULL, "UPDATE call_tasks SET status = "
			      "'queued', attempt = attempt - 1, lease_owner = "
			      "NULL, lease_expires_at = NULL, updated_at = ? "
			      "WHERE id = ?", p, 2);
		goto out;
	}
	{
		struct db_val p[] = {DBV_INT(cx.agent_id), DBV_INT(cx.trunk_id),
				     DBV_INT(id)};
		err = db_exec(db, NULL, "UPDATE call_tasks SET agent_id = ?, "
			      "trunk_id = ? WHERE id = ?", p, 3);
	}
	if (!err)
		err = dialer_dnc_listed(db, cx.tenant_id, 0, to, &listed);
	if (err)
		goto out;
	if (!to || !e164_valid(to) || listed) {
		err = finish_unattempted(db, id, listed ? "dnc" : "invalid",
					 j->now);
		++j->finished;
		goto out;
	}

	err = agent_runtime_json(j->rtcfg, db, cx.tenant_id, cx.agent_id,
				 &cx.agent_json, NULL);
	if (!err)
		err = override_agent(&cx.agent_json, payload);
	if (!err)
		err = tel_trunk_uri(&cx.uri, db_res_str(tr, 0, 3),
				db_res_str(tr, 0, 4));
	if (err)
		goto out;
	cx.user = db_res_str(tr, 0, 5);
	cx.pass = db_res_str(tr, 0, 6);
	cx.from = db_res_str(tr, 0, 7);
	err = contact_vars(&vars, NULL, to, NULL,
			   odict_string(payload, "caller_name"));
	if (!err)
		err = arm(db, j, &cx, id, 0, attempt, to, vars);
 out:
	err = dialer_tx_end(db, err);
	if (!err) {
		j->armed += cx.armed;
		j->budget -= cx.armed < j->budget ? cx.armed : j->budget;
		move_dials(&j->dials, &cx.dials);
	}
	else {
		*gotp = false;
	}
	ctx_reset(&cx);
	mem_deref(due);
	mem_deref(t);
	mem_deref(tr);
	mem_deref(ag);
	mem_deref(cnt);
	mem_deref(recent);
	mem_deref(payload);
	mem_deref(vars);
	return err;
}

/* ---- the turn ---- */

/* the test clock: the file's offset when there is one, else the
 * configured one */
static int64_t read_offset(const struct tick_job *j)
{
	char buf[64];
	FILE *f;
	size_t n;

	if (!j->clock_file[0])
		return j->cfg_offset_s;
	f = fopen(j->clock_file, "r");
	if (!f)
		return j->cfg_offset_s;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	if (!n)
		return j->cfg_offset_s;
	return strtoll(buf, NULL, 10);
}

static bool fatal(struct tick_job *j, int err)
{
	if (!err)
		return false;
	if (!j->err)
		j->err = err;
	return err == ENOTCONN;
}

void dialer_tick_work(struct db *db, struct tick_job *j)
{
	struct db_res *camps = NULL;
	int err;

	j->new_offset_s = j->offset_known ? j->offset_s : j->cfg_offset_s;
	if (j->first && j->reclaim_own &&
	    fatal(j, dialer_reclaim_own(db, j->node)))
		return;
	if (j->house) {
		j->new_offset_s = read_offset(j);
		if ((j->offset_known ? j->new_offset_s != j->offset_s :
		     j->new_offset_s != 0) &&
		    fatal(j, dialer_window_recheck(db, j->now)))
			return;
		if (fatal(j, dialer_recover(db, j->now, &j->recovered)))
			return;
		if (j->sweep && fatal(j, dialer_sweep(db, j->now)))
			return;
	}

	/* running campaigns, with what each has due and in progress: one
	 * index lookup per campaign, whatever its size */
	err = db_exec(db, &camps, "SELECT c.id, c.task_cursor, "
		      "(SELECT MIN(next_attempt_at) FROM call_tasks WHERE "
		      "campaign_id = c.id AND status = 'queued'), "
		      "(SELECT COUNT(*) FROM call_tasks WHERE "
		      "campaign_id = c.id AND status = 'dialing'), "
		      "(SELECT MAX(id) FROM contacts WHERE campaign_id = c.id) "
		      "FROM campaigns c WHERE c.state = 'running' "
		      "ORDER BY 3, c.id", NULL, 0);
	if (fatal(j, err))
		goto out;
	for (size_t i = 0; camps && i < db_res_nrows(camps); i++) {
		int64_t id = db_res_int(camps, i, 0);
		bool unseeded = !db_res_isnull(camps, i, 4) &&
			db_res_int(camps, i, 4) > db_res_int(camps, i, 1);
		bool done = false;

		if (unseeded)
			err = dialer_seed(db, id, j->now);
		else if (db_res_isnull(camps, i, 2) &&
			 !db_res_int(camps, i, 3)) {
			err = dialer_complete(db, id, j->now, &done);
			if (done)
				log_info("dialer: campaign %lld completed",
					 (long long)id);
		}
		if (fatal(j, err))
			goto out;
	}
	/* single calls asked for through the API first: campaigns would
	 * otherwise take every free place, turn after turn */
	for (unsigned k = 0; k < API_CLAIMS_MAX && j->budget; k++) {
		bool got = false;

		err = claim_api_one(db, j, &got);
		if (fatal(j, err))
			goto out;
		if (!got)
			break;
	}
	for (size_t i = 0; camps && i < db_res_nrows(camps) && j->budget; i++) {
		if (db_res_isnull(camps, i, 2) ||
		    db_res_int(camps, i, 2) > j->now)
			continue;
		if (fatal(j, claim_campaign(db, j, db_res_int(camps, i, 0))))
			goto out;
	}
 out:
	mem_deref(camps);
}
