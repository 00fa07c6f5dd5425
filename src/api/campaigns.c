/* campaigns.c - a campaign's life cycle and statistics.
 *
 *   draft --start--> running --pause--> paused --resume--> running
 *   draft, running, paused --cancel--> cancelled
 *   running --(nothing left to do; the dialer)--> completed
 *
 * Starting creates the first batch of the contacts' tasks; the dialer
 * creates the rest in batches on the pool (dialer.h). Cancelling
 * cancels every queued task in the same transaction; calls in progress
 * finish and their tasks end cancelled rather than retried. Any other
 * transition answers 409 invalid_transition naming the allowed states.
 */
#include <errno.h>
#include <string.h>
#include <re.h>
#include "api/api.h"
#include "api/handlers.h"
#include "api/resource.h"
#include "core/util.h"
#include "dialer/dialer.h"
#include "store/db.h"

struct transition {
	const char *action;
	const char *from[4];     /* NULL-ended */
	const char *to;
	const char *allowed;     /* for the error message */
};

static const struct transition transitions[] = {
	{"start",  {"draft", NULL}, "running", "draft"},
	{"pause",  {"running", NULL}, "paused", "running"},
	{"resume", {"paused", NULL}, "running", "paused"},
	{"cancel", {"draft", "running", "paused", NULL}, "cancelled",
	 "draft, running or paused"},
};

static bool allowed_from(const struct transition *t, const char *state)
{
	for (size_t i = 0; t->from[i]; i++)
		if (!strcmp(t->from[i], state))
			return true;
	return false;
}

/* the campaign as GET /campaigns/{id} shows it */
static int reply_campaign(struct areq *r)
{
	struct db_val p[] = {DBV_INT(r->ids[0]), DBV_INT(r->tenant_id)};
	struct db_res *rows = NULL;
	struct odict *out = NULL;
	char *cols = NULL, *sql = NULL;
	int err;

	err = res_columns(&cols, &res_campaigns);
	if (!err)
		err = re_sdprintf(&sql, "SELECT %s FROM campaigns WHERE id = ? "
				  "AND tenant_id = ?", cols);
	if (!err)
		err = db_exec(r->db, &rows, sql, p, 2);
	if (!err && !db_res_nrows(rows))
		err = ENOENT;
	if (!err)
		err = res_row_json(&res_campaigns, rows, 0, &out);
	if (!err)
		err = api_reply_json(r, 200, out);
	mem_deref(cols);
	mem_deref(sql);
	mem_deref(rows);
	mem_deref(out);
	return err;
}

static int lifecycle(struct areq *r, const struct transition *t)
{
	const bool pg = db_kind(r->db) == DB_PG;
	struct db_val p[] = {DBV_INT(r->ids[0]), DBV_INT(r->tenant_id)};
	struct db_res *rows = NULL;
	int64_t now = util_now_ms();
	const char *state;
	int err;

	err = db_begin(r->db);
	if (err)
		return api_error_db(r, err, "campaign");
	err = db_exec(r->db, &rows, pg ?
		      "SELECT state FROM campaigns WHERE id = ? AND "
		      "tenant_id = ? FOR UPDATE" :
		      "SELECT state FROM campaigns WHERE id = ? AND "
		      "tenant_id = ?", p, 2);
	if (err)
		goto fail;
	if (!db_res_nrows(rows)) {
		(void)db_rollback(r->db);
		mem_deref(rows);
		return api_error(r, 404, "not_found", NULL,
				 "campaign %lld not found",
				 (long long)r->ids[0]);
	}
	state = db_res_str(rows, 0, 0);
	if (!allowed_from(t, state)) {
		api_error(r, 409, "invalid_transition", NULL,
			  "cannot %s campaign %lld: it is %s (%s needs a "
			  "campaign that is %s)", t->action,
			  (long long)r->ids[0], state, t->action, t->allowed);
		(void)db_rollback(r->db);
		mem_deref(rows);
		return 0;
	}
	rows = mem_deref(rows);

	if (!strcmp(t->action, "start")) {
		err = db_exec(r->db, &rows, "SELECT 1 FROM contacts WHERE "
			      "campaign_id = ? LIMIT 1", p, 1);
		if (err)
			goto fail;
		if (!db_res_nrows(rows)) {
			(void)db_rollback(r->db);
			mem_deref(rows);
			return api_error(r, 409, "no_contacts", NULL,
					 "campaign %lld has no contacts to "
					 "call; import some first",
					 (long long)r->ids[0]);
		}
		rows = mem_deref(rows);
	}

	{
		/* started_at once, on the first start; completed_at on
		 * cancel (as on completion) */
		struct db_val u[] = {DBV_TEXT(t->to), DBV_INT(now),
				     DBV_INT(now), DBV_INT(r->ids[0])};
		const bool start = !strcmp(t->action, "start");
		const bool cancel = !strcmp(t->action, "cancel");

		if (start || cancel)
			err = db_exec(r->db, NULL, start ?
				      "UPDATE campaigns SET state = ?, "
				      "updated_at = ?, started_at = "
				      "COALESCE(started_at, ?) WHERE id = ?" :
				      "UPDATE campaigns SET state = ?, "
				      "updated_at = ?, completed_at = ? "
				      "WHERE id = ?", u, 4);
		else
			err = db_exec(r->db, NULL, "UPDATE campaigns SET "
				      "state = ?, updated_at = ? WHERE id = ?",
				      (struct db_val[]){u[0], u[1], u[3]}, 3);
	}
	if (!err && !strcmp(t->action, "cancel")) {
		struct db_val u[] = {DBV_INT(now), DBV_INT(r->ids[0])};
		err = db_exec(r->db, NULL, "UPDATE call_tasks SET status = "
			      "'cancelled', final_outcome = 'cancelled', "
			      "wait_reason = NULL, updated_at = ? WHERE "
			      "campaign_id = ? AND status = 'queued'", u, 2);
	}
	if (err)
		goto fail;
	err = db_commit(r->db);
	if (err)
		goto fail;
	/* the first batch of tasks now, so they can be listed at once; the
	 * dialer creates any others (and this batch, should this fail) */
	if (!strcmp(t->action, "start"))
		(void)dialer_create_tasks(r->db, r->ids[0]);
	err = reply_campaign(r);
	if (err)
		return api_error_db(r, err, "campaign");
	return 0;

 fail:
	(void)db_rollback(r->db);
	mem_deref(rows);
	return api_error_db(r, err, "campaign");
}

static int action(struct areq *r, const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(transitions); i++)
		if (!strcmp(transitions[i].action, name))
			return lifecycle(r, &transitions[i]);
	return EINVAL;
}

int campaign_start_h(struct areq *r)
{
	return action(r, "start");
}

int campaign_pause_h(struct areq *r)
{
	return action(r, "pause");
}

int campaign_resume_h(struct areq *r)
{
	return action(r, "resume");
}

int campaign_cancel_h(struct areq *r)
{
	return action(r, "cancel");
}

/* GET /api/v1/campaigns/{id}/stats */
int campaign_stats_h(struct areq *r)
{
	struct odict *stats = NULL;
	int err;

	err = dialer_stats(r->db, r->tenant_id, r->ids[0], &stats);
	if (err == ENOENT)
		return api_error(r, 404, "not_found", NULL,
				 "campaign %lld not found",
				 (long long)r->ids[0]);
	if (err)
		return api_error_db(r, err, "campaign statistics");
	err = api_reply_json(r, 200, stats);
	mem_deref(stats);
	return err;
}
