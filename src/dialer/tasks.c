/* tasks.c - the dialer's store work besides claiming (claim.c): creating
 * a campaign's tasks, finishing attempts, recovering the tasks of lost
 * nodes, completing campaigns. Worker threads only.
 *
 * Lock order on PostgreSQL, to stay free of deadlocks between nodes:
 * campaign row, then trunk row, then task rows. Task rows are only
 * waited for by single-row updates that hold nothing else; claims and
 * recovery take them with SKIP LOCKED. On SQLite every transaction is
 * BEGIN IMMEDIATE, so writers run one at a time anyway.
 */
#include <errno.h>
#include <string.h>
#include <re.h>
#include "core/log.h"
#include "core/util.h"
#include "dialer/dialer.h"
#include "dialer/dialer_int.h"
#include "dialer/policy.h"
#include "events/events.h"
#include "json/json.h"
#include "store/db.h"

enum { SEED_BATCH = 1000, RECOVER_BATCH = 50 };

bool dialer_is_pg(const struct db *db)
{
	return db_kind(db) == DB_PG;
}

int dialer_tx_begin(struct db *db)
{
	return db_begin(db);
}

int dialer_tx_end(struct db *db, int err)
{
	if (err) {
		(void)db_rollback(db);
		return err;
	}
	err = db_commit(db);
	if (err)
		(void)db_rollback(db);
	return err;
}

int dialer_dnc_listed(struct db *db, int64_t tenant_id, int64_t campaign_id,
		      const char *phone, bool *listedp)
{
	struct db_val p[] = {DBV_INT(tenant_id), DBV_TEXT(phone),
			     DBV_INT(campaign_id)};
	struct db_res *rows = NULL;
	int err;

	err = db_exec(db, &rows, "SELECT 1 FROM dnc WHERE tenant_id = ? AND "
		      "phone = ? AND (campaign_id IS NULL OR campaign_id = ?) "
		      "LIMIT 1", p, 3);
	if (!err)
		*listedp = db_res_nrows(rows) > 0;
	mem_deref(rows);
	return err;
}

int dialer_task_next(struct db *db, int64_t task_id, int64_t attempt,
		     const char *outcome, bool dnc, int64_t now)
{
	struct db_val p[] = {DBV_INT(task_id)};
	struct db_res *rows = NULL;
	struct retry_policy pol;
	struct policy_next nx;
	const char *status, *final;
	int err;

	err = db_exec(db, &rows, "SELECT t.max_attempts, c.state, c.retry, "
		      "a.outbound FROM call_tasks t LEFT JOIN campaigns c ON "
		      "c.id = t.campaign_id LEFT JOIN agents a ON "
		      "a.id = t.agent_id WHERE t.id = ?", p, 1);
	if (err || !db_res_nrows(rows))
		goto out;

	policy_load(&pol, db_res_str(rows, 0, 2), db_res_str(rows, 0, 3));
	policy_decide(&nx, &pol, outcome, dnc, attempt,
		      db_res_int(rows, 0, 0), now);
	status = nx.status;
	final = nx.final;
	/* a cancelled campaign calls nobody again */
	if (!strcmp(status, TS_QUEUED) && db_res_str(rows, 0, 1) &&
	    !strcmp(db_res_str(rows, 0, 1), "cancelled")) {
		status = TS_CANCELLED;
		final = "cancelled";
	}
	{
		struct db_val u[] = {
			DBV_TEXT(status),
			DBV_TEXT(dnc ? "dnc" : policy_outcome_name(outcome)),
			DBV_TEXT(final), DBV_INT(nx.next_at), DBV_INT(now),
			DBV_INT(task_id)};
		err = db_exec(db, NULL, "UPDATE call_tasks SET status = ?, "
			      "last_outcome = ?, final_outcome = ?, "
			      "next_attempt_at = ?, lease_owner = NULL, "
			      "lease_expires_at = NULL, wait_reason = NULL, "
			      "updated_at = ? WHERE id = ?", u, 6);
	}
 out:
	mem_deref(rows);
	return err;
}

/* ---- task creation ---- */

/* a plausible E.164 string, in SQL (contacts were normalised on import;
 * this catches rows written around the API) */
static const char valid_pg[] = "ct.phone ~ '^[+][1-9][0-9]{7,14}$'";
static const char valid_sqlite[] =
	"(ct.phone GLOB '+[1-9]*' AND length(ct.phone) BETWEEN 9 AND 16 "
	"AND substr(ct.phone, 2) NOT GLOB '*[^0-9]*')";
#define ON_DNC "EXISTS (SELECT 1 FROM dnc d WHERE d.tenant_id = " \
	"ct.tenant_id AND d.phone = ct.phone AND (d.campaign_id IS NULL OR " \
	"d.campaign_id = ct.campaign_id))"

/* Tasks for the next batch of the campaign's contacts (by id after its
 * cursor). Numbers on a DNC list or not valid get a finished task with
 * that final outcome, so every contact has exactly one task. */
int dialer_seed(struct db *db, int64_t campaign_id, int64_t now)
{
	struct db_val pc[] = {DBV_INT(campaign_id)};
	struct db_res *c = NULL, *hi = NULL;
	char *sql = NULL;
	int64_t cursor, upper, max_attempts;
	int err;

	err = dialer_tx_begin(db);
	if (err)
		return err;
	err = db_exec(db, &c, dialer_is_pg(db) ?
		      "SELECT c.task_cursor, c.agent_id, c.trunk_id, c.retry, "
		      "a.outbound, a.metadata, c.state FROM campaigns c JOIN "
		      "agents a ON a.id = c.agent_id WHERE c.id = ? "
		      "FOR UPDATE OF c" :
		      "SELECT c.task_cursor, c.agent_id, c.trunk_id, c.retry, "
		      "a.outbound, a.metadata, c.state FROM campaigns c JOIN "
		      "agents a ON a.id = c.agent_id WHERE c.id = ?", pc, 1);
	if (err || !db_res_nrows(c))
		goto out;
	if (strcmp(db_res_str(c, 0, 6), "running") &&
	    strcmp(db_res_str(c, 0, 6), "paused"))
		goto out;
	cursor = db_res_int(c, 0, 0);
	max_attempts = policy_max_attempts(db_res_str(c, 0, 3),
					   db_res_str(c, 0, 4),
					   db_res_str(c, 0, 5));
	{
		struct db_val p[] = {DBV_INT(campaign_id), DBV_INT(cursor),
				     DBV_INT(SEED_BATCH)};
		err = db_exec(db, &hi, "SELECT MAX(id) FROM (SELECT id FROM "
			      "contacts WHERE campaign_id = ? AND id > ? ORDER "
			      "BY id LIMIT ?) b", p, 3);
	}
	if (err || db_res_isnull(hi, 0, 0))
		goto out;
	upper = db_res_int(hi, 0, 0);

	err = re_sdprintf(&sql, "INSERT INTO call_tasks (tenant_id, "
			  "created_at, updated_at, campaign_id, contact_id, "
			  "agent_id, trunk_id, to_number, status, attempt, "
			  "max_attempts, next_attempt_at, final_outcome) "
			  "SELECT ct.tenant_id, ?, ?, ct.campaign_id, ct.id, "
			  "?, ?, ct.phone, CASE WHEN %s AND NOT " ON_DNC
			  " THEN 'queued' ELSE 'done' END, 0, ?, ?, CASE WHEN "
			  "NOT %s THEN 'invalid' WHEN " ON_DNC " THEN 'dnc' "
			  "END FROM contacts ct WHERE ct.campaign_id = ? AND "
			  "ct.id > ? AND ct.id <= ? ON CONFLICT DO NOTHING",
			  dialer_is_pg(db) ? valid_pg : valid_sqlite,
			  dialer_is_pg(db) ? valid_pg : valid_sqlite);
	if (err)
		goto out;
	{
		struct db_val p[] = {
			DBV_INT(now), DBV_INT(now),
			DBV_INT(db_res_int(c, 0, 1)),
			DBV_INT(db_res_int(c, 0, 2)), DBV_INT(max_attempts),
			DBV_INT(now), DBV_INT(campaign_id), DBV_INT(cursor),
			DBV_INT(upper)};
		err = db_exec(db, NULL, sql, p, 9);
	}
	if (!err) {
		struct db_val p[] = {DBV_INT(upper), DBV_INT(campaign_id)};
		err = db_exec(db, NULL, "UPDATE campaigns SET task_cursor = ? "
			      "WHERE id = ?", p, 2);
	}
	if (!err)
		log_debug("dialer: campaign %lld: tasks for contacts up to "
			  "%lld", (long long)campaign_id, (long long)upper);
 out:
	err = dialer_tx_end(db, err);
	mem_deref(c);
	mem_deref(hi);
	mem_deref(sql);
	return err;
}

int dialer_create_tasks(struct db *db, int64_t campaign_id)
{
	return dialer_seed(db, campaign_id, util_now_ms());
}

/* ---- completion ---- */

/* A running campaign with every contact's task created and none left
 * to do is completed, and campaign.completed goes to its webhooks in
 * the same transaction. */
int dialer_complete(struct db *db, int64_t campaign_id, int64_t now,
		    bool *donep)
{
	struct db_val pc[] = {DBV_INT(campaign_id)};
	struct db_res *c = NULL, *left = NULL;
	struct odict *stats = NULL;
	char *json = NULL;
	int err;

	*donep = false;
	err = dialer_tx_begin(db);
	if (err)
		return err;
	/* the lock first: what follows reads after any claim or task
	 * creation that held it */
	err = db_exec(db, &c, dialer_is_pg(db) ?
		      "SELECT state, tenant_id, task_cursor FROM campaigns "
		      "WHERE id = ? FOR UPDATE" :
		      "SELECT state, tenant_id, task_cursor FROM campaigns "
		      "WHERE id = ?", pc, 1);
	if (err || !db_res_nrows(c) || strcmp(db_res_str(c, 0, 0), "running"))
		goto out;
	{
		struct db_val p[] = {DBV_INT(campaign_id), DBV_INT(campaign_id),
				     DBV_INT(db_res_int(c, 0, 2))};
		err = db_exec(db, &left, "SELECT (SELECT COUNT(*) FROM (SELECT "
			      "1 FROM call_tasks WHERE campaign_id = ? AND "
			      "status IN ('queued', 'dialing') LIMIT 1) q), "
			      "(SELECT COUNT(*) FROM (SELECT 1 FROM contacts "
			      "WHERE campaign_id = ? AND id > ? LIMIT 1) r)",
			      p, 3);
	}
	if (err || db_res_int(left, 0, 0) || db_res_int(left, 0, 1))
		goto out;
	{
		struct db_val p[] = {DBV_INT(now), DBV_INT(now),
				     DBV_INT(campaign_id)};
		err = db_exec(db, NULL, "UPDATE campaigns SET state = "
			      "'completed', completed_at = ?, updated_at = ? "
			      "WHERE id = ?", p, 3);
	}
	if (!err)
		err = dialer_stats(db, db_res_int(c, 0, 1), campaign_id,
				   &stats);
	if (!err)
		err = json_encode(&json, stats);
	if (!err)
		err = events_emit(db, db_res_int(c, 0, 1), "campaign.completed",
				  json);
	if (!err)
		*donep = true;
 out:
	err = dialer_tx_end(db, err);
	if (err)
		*donep = false;
	mem_deref(c);
	mem_deref(left);
	mem_deref(stats);
	mem_deref(json);
	return err;
}

/* ---- leases ---- */

/* A task still dialling after its lease expired belongs to a node that
 * is gone (or cut off from the store). Its attempt was recorded when it
 * was claimed; if a calls row exists for it the number may have been
 * dialled, so that attempt counts with the row's outcome (failed when
 * the row never ended) and the task moves on by the retry rules: never
 * is the same attempt dialled again. Without a calls row the attempt
 * never happened and is given back. */
int dialer_recover(struct db *db, int64_t now, unsigned *np)
{
	struct db_val pn[] = {DBV_INT(now), DBV_INT(RECOVER_BATCH)};
	struct db_res *t = NULL;
	int err;

	*np = 0;
	err = dialer_tx_begin(db);
	if (err)
		return err;
	err = db_exec(db, &t, dialer_is_pg(db) ?
		      "SELECT id, attempt, lease_owner, tenant_id, "
		      "COALESCE(campaign_id, 0), to_number FROM call_tasks "
		      "WHERE status = 'dialing' AND lease_expires_at < ? "
		      "ORDER BY lease_expires_at LIMIT ? FOR UPDATE SKIP "
		      "LOCKED" :
		      "SELECT id, attempt, lease_owner, tenant_id, "
		      "COALESCE(campaign_id, 0), to_number FROM call_tasks "
		      "WHERE status = 'dialing' AND lease_expires_at < ? "
		      "ORDER BY lease_expires_at LIMIT ?", pn, 2);
	for (size_t i = 0; !err && i < db_res_nrows(t); i++) {
		int64_t id = db_res_int(t, i, 0), attempt = db_res_int(t, i, 1);
		struct db_val p[] = {DBV_INT(id), DBV_INT(attempt)};
		struct db_res *call = NULL;
		const char *oc;
		bool dnc = false;

		err = db_exec(db, &call, "SELECT id, ended_at, outcome "
			      "FROM calls WHERE task_id = ? AND attempt = ? "
			      "ORDER BY id DESC LIMIT 1", p, 2);
		if (err) {
			mem_deref(call);
			break;
		}
		if (!db_res_nrows(call)) {
			struct db_val u[] = {DBV_INT(now), DBV_INT(id)};
			log_info("dialer: task %lld: lease of %s expired "
				 "before attempt %lld was dialled; back to "
				 "the queue",
				 (long long)id, db_res_str(t, i, 2),
				 (long long)attempt);
			err = db_exec(db, NULL, "UPDATE call_tasks SET "
				      "status = 'queued', attempt = attempt - "
				      "1, lease_owner = NULL, lease_expires_at "
				      "= NULL, updated_at = ? WHERE id = ?",
				      u, 2);
			mem_deref(call);
			++*np;
			continue;
		}
		oc = db_res_isnull(call, 0, 1) ? "failed" :
			db_res_str(call, 0, 2);
		if (db_res_isnull(call, 0, 1)) {
			struct db_val u[] = {DBV_INT(now), DBV_INT(now),
					     DBV_INT(db_res_int(call, 0, 0))};
			err = db_exec(db, NULL, "UPDATE calls SET status = "
				      "'ended', ended_at = ?, updated_at = ?, "
				      "hangup_cause = 'node_lost', hangup_by = "
				      "'system', outcome = 'failed' WHERE "
				      "id = ? AND ended_at IS NULL", u, 3);
		}
		if (!err)
			err = dialer_dnc_listed(db, db_res_int(t, i, 3),
						db_res_int(t, i, 4),
						db_res_str(t, i, 5), &dnc);
		log_info("dialer: task %lld: lease of %s expired during "
			 "attempt %lld (call %lld, %s); the attempt counts",
			 (long long)id, db_res_str(t, i, 2), (long long)attempt,
			 (long long)db_res_int(call, 0, 0), oc);
		if (!err)
			err = dialer_task_next(db, id, attempt, oc, dnc, now);
		mem_deref(call);
		++*np;
	}
	err = dialer_tx_end(db, err);
	if (err)
		*np = 0;
	mem_deref(t);
	return err;
}

/* calls rows of the dialer that no live task owns and that never ended
 * (their node died between finishing the task and writing the row) */
int dialer_sweep(struct db *db, int64_t now)
{
	struct db_val p[] = {DBV_INT(now), DBV_INT(now),
			     DBV_INT(now - 60 * 1000)};

	return db_exec(db, NULL, "UPDATE calls SET status = 'ended', "
		       "ended_at = ?, updated_at = ?, hangup_cause = "
		       "'node_lost', hangup_by = 'system', outcome = "
		       "COALESCE(outcome, 'failed') WHERE ended_at IS NULL AND "
		       "task_id IS NOT NULL AND created_at < ? AND NOT EXISTS "
		       "(SELECT 1 FROM call_tasks t WHERE t.id = calls.task_id "
		       "AND t.status = 'dialing' AND t.attempt = "
		       "calls.attempt)",
		       p, 3);
}

int dialer_renew(struct db *db, const struct renew_job *r)
{
	struct mbuf *mb = mbuf_alloc(64 + r->n * 12);
	struct db_val p[] = {DBV_INT(r->until), DBV_TEXT(r->node)};
	int err;

	if (!mb)
		return ENOMEM;
	err = mbuf_printf(mb, "UPDATE call_tasks SET lease_expires_at = ? "
			  "WHERE lease_owner = ? AND status = 'dialing' AND "
			  "id IN (");
	for (size_t i = 0; !err && i < r->n; i++)
		err = mbuf_printf(mb, "%s%lld", i ? "," : "",
				  (long long)r->ids[i]);
	err |= mbuf_printf(mb, ")");
	err |= mbuf_write_u8(mb, 0);
	if (!err)
		err = db_exec(db, NULL, (const char *)mb->buf, p, 2);
	mem_deref(mb);
	return err;
}

/* a restarted node with a fixed name holds leases of its predecessor
 * that nobody renews: let recovery take them now */
int dialer_reclaim_own(struct db *db, const char *node)
{
	struct db_val p[] = {DBV_TEXT(node)};

	return db_exec(db, NULL, "UPDATE call_tasks SET lease_expires_at = 0 "
		       "WHERE lease_owner = ? AND status = 'dialing'", p, 1);
}

/* the test clock moved: tasks waiting for their window look again */
int dialer_window_recheck(struct db *db, int64_t now)
{
	struct db_val p[] = {DBV_INT(now), DBV_INT(now)};

	return db_exec(db, NULL, "UPDATE call_tasks SET next_attempt_at = ?, "
		       "updated_at = ? WHERE status = 'queued' AND "
		       "wait_reason = 'window'", p, 2);
}

/* ---- the end of an attempt ---- */

int dialer_end(struct db *db, const struct end_job *e, int64_t now)
{
	struct db_val pc[] = {DBV_INT(e->call_id)};
	struct db_val pt[] = {DBV_INT(e->task_id)};
	struct db_res *call = NULL, *t = NULL;
	int64_t attempt;
	int err;

	err = dialer_tx_begin(db);
	if (err)
		return err;
	err = db_exec(db, &call, "SELECT attempt FROM calls WHERE id = ?",
		      pc, 1);
	if (err)
		goto out;
	attempt = e->unarm ? e->attempt :
		db_res_nrows(call) ? db_res_int(call, 0, 0) : -1;
	err = db_exec(db, &t, dialer_is_pg(db) ?
		      "SELECT status, attempt, lease_owner FROM call_tasks "
		      "WHERE id = ? FOR UPDATE" :
		      "SELECT status, attempt, lease_owner FROM call_tasks "
		      "WHERE id = ?", pt, 1);
	if (err || !db_res_nrows(t))
		goto out;
	/* recovered by another node meanwhile: the row is not ours */
	if (strcmp(db_res_str(t, 0, 0), TS_DIALING) ||
	    db_res_int(t, 0, 1) != attempt || !db_res_str(t, 0, 2) ||
	    strcmp(db_res_str(t, 0, 2), e->node)) {
		log_info("dialer: task %lld: attempt %lld ended (%s) after "
			 "its lease was lost", (long long)e->task_id,
			 (long long)attempt, e->outcome);
		goto out;
	}
	if (e->unarm) {
		struct db_val u[] = {DBV_INT(now), DBV_INT(e->task_id)};
		err = db_exec(db, NULL, "UPDATE call_tasks SET status = "
			      "'queued', attempt = attempt - 1, lease_owner = "
			      "NULL, lease_expires_at = NULL, updated_at = ? "
			      "WHERE id = ?", u, 2);
		if (!err)
			err = db_exec(db, NULL, "DELETE FROM calls WHERE "
				      "id = ?", pc, 1);
		goto out;
	}
	/* the call's row ends with its task: the call layer writes its
	 * details too, but a node dying in between must not leave a
	 * finished task beside a call that never ended */
	{
		struct db_val u[] = {DBV_INT(now), DBV_TEXT(e->outcome),
				     DBV_INT(now), DBV_INT(e->call_id)};
		err = db_exec(db, NULL, "UPDATE calls SET status = 'ended', "
			      "ended_at = ?, outcome = COALESCE(outcome, ?), "
			      "updated_at = ? WHERE id = ? AND ended_at IS "
			      "NULL", u, 4);
	}
	if (!err)
		err = dialer_task_next(db, e->task_id, attempt, e->outcome,
				       e->dnc, now);
 out:
	err = dialer_tx_end(db, err);
	mem_deref(call);
	mem_deref(t);
	return err;
}
