/* stats.c - a campaign's progress from its tasks and calls (the stats
 * endpoint, `parley campaign status`, campaign.completed). */
#include <errno.h>
#include <string.h>
#include <re.h>
#include "core/util.h"
#include "dialer/dialer.h"
#include "store/db.h"

static const char *const statuses[] = {"queued", "dialing", "done",
				       "failed", "cancelled", NULL};
static const char *const outcomes[] = {"answered", "busy", "no_answer",
				       "rejected", "failed", "unreachable",
				       "voicemail", "dnc", "invalid",
				       "cancelled", NULL};

static int index_of(const char *const *names, const char *s)
{
	for (int i = 0; s && names[i]; i++)
		if (!strcmp(names[i], s))
			return i;
	return -1;
}

static int add_counts(struct odict *out, const char *key,
		      const char *const *names, const int64_t *n)
{
	struct odict *o;
	int err = odict_alloc(&o, 16);

	for (int i = 0; !err && names[i]; i++)
		err = odict_entry_add(o, names[i], ODICT_INT, n[i]);
	if (!err)
		err = odict_entry_add(out, key, ODICT_OBJECT, o);
	mem_deref(o);
	return err;
}

static int add_time(struct odict *out, const char *key,
		    const struct db_res *rows, size_t col)
{
	char ts[32];

	if (db_res_isnull(rows, 0, col))
		return 0;
	util_iso8601(ts, db_res_int(rows, 0, col));
	return odict_entry_add(out, key, ODICT_STRING, ts);
}

int dialer_stats(struct db *db, int64_t tenant_id, int64_t campaign_id,
		 struct odict **statsp)
{
	struct db_val p[] = {DBV_INT(campaign_id), DBV_INT(tenant_id)};
	struct db_res *c = NULL, *t = NULL, *k = NULL, *n = NULL;
	struct odict *out = NULL, *o = NULL;
	int64_t st[6] = {0}, oc[11] = {0}, attempts = 0, total = 0;
	int64_t finished, calls, active, answered, contacts;
	int err;

	err = db_exec(db, &c, "SELECT name, state, started_at, completed_at "
		      "FROM campaigns WHERE id = ? AND tenant_id = ?", p, 2);
	if (err)
		goto out;
	if (!db_res_nrows(c)) {
		err = ENOENT;
		goto out;
	}
	err = db_exec(db, &n, "SELECT COUNT(*) FROM contacts WHERE "
		      "campaign_id = ?", p, 1);
	if (!err)
		err = db_exec(db, &t, "SELECT status, final_outcome, COUNT(*), "
			      "COALESCE(SUM(attempt), 0) FROM call_tasks WHERE "
			      "campaign_id = ? GROUP BY status, final_outcome",
			      p, 1);
	if (!err)
		err = db_exec(db, &k, "SELECT COUNT(*), "
			      "COALESCE(SUM(CASE WHEN ended_at IS NULL THEN 1 "
			      "ELSE 0 END), 0), "
			      "COALESCE(SUM(CASE WHEN answered_at IS NOT NULL "
			      "THEN 1 ELSE 0 END), 0), "
			      "AVG(CASE WHEN answered_at IS NOT NULL AND "
			      "ended_at IS NOT NULL THEN ended_at - answered_at "
			      "END), "
			      "COALESCE(SUM(CASE WHEN amd_result = 'human' "
			      "THEN 1 ELSE 0 END), 0), "
			      "COALESCE(SUM(CASE WHEN amd_result = 'machine' "
			      "THEN 1 ELSE 0 END), 0), "
			      "COALESCE(SUM(CASE WHEN amd_result = 'unsure' "
			      "THEN 1 ELSE 0 END), 0) "
			      "FROM calls WHERE campaign_id = ?", p, 1);
	if (err)
		goto out;

	for (size_t i = 0; i < db_res_nrows(t); i++) {
		int si = index_of(statuses, db_res_str(t, i, 0));
		int oi = index_of(outcomes, db_res_str(t, i, 1));
		int64_t cnt = db_res_int(t, i, 2);

		if (si >= 0)
			st[si] += cnt;
		if (oi >= 0)
			oc[oi] += cnt;
		total += cnt;
		attempts += db_res_int(t, i, 3);
	}
	contacts = db_res_int(n, 0, 0);
	calls = db_res_int(k, 0, 0);
	active = db_res_int(k, 0, 1);
	answered = db_res_int(k, 0, 2);
	finished = st[2] + st[3] + st[4];

	err = odict_alloc(&out, 32);
	if (err)
		goto out;
	err |= odict_entry_add(out, "campaign_id", ODICT_INT, campaign_id);
	err |= odict_entry_add(out, "name", ODICT_STRING, db_res_str(c, 0, 0));
	err |= odict_entry_add(out, "state", ODICT_STRING, db_res_str(c, 0, 1));
	err |= add_time(out, "started_at", c, 2);
	err |= add_time(out, "completed_at", c, 3);
	err |= odict_entry_add(out, "contacts", ODICT_INT, contacts);
	st[5] = total;
	{
		static const char *const names[] = {"queued", "dialing",
			"done", "failed", "cancelled", "total", NULL};
		err |= add_counts(out, "tasks", names, st);
	}
	err |= add_counts(out, "outcomes", outcomes, oc);
	err |= odict_entry_add(out, "attempts", ODICT_INT, attempts);
	{
		static const char *const names[] = {"total", "active",
						    "answered", NULL};
		const int64_t v[] = {calls, active, answered};
		err |= add_counts(out, "calls", names, v);
	}
	err |= odict_entry_add(out, "answer_rate", ODICT_DOUBLE,
			       calls - active > 0 ?
			       (double)answered / (double)(calls - active) :
			       0.0);
	err |= odict_entry_add(out, "avg_answered_duration_s", ODICT_DOUBLE,
			       db_res_isnull(k, 0, 3) ? 0.0 :
			       db_res_real(k, 0, 3) / 1000.0);
	{
		static const char *const names[] = {"human", "machine",
						    "unsure", NULL};
		const int64_t v[] = {db_res_int(k, 0, 4), db_res_int(k, 0, 5),
				     db_res_int(k, 0, 6)};
		err |= add_counts(out, "amd", names, v);
	}
	if (err)
		goto out;
	err = odict_alloc(&o, 4);
	if (err)
		goto out;
	if (contacts > total)
		total = contacts;
	err |= odict_entry_add(o, "finished", ODICT_INT, finished);
	err |= odict_entry_add(o, "total", ODICT_INT, total);
	err |= odict_entry_add(o, "percent", ODICT_DOUBLE, total ?
			       100.0 * (double)finished / (double)total : 0.0);
	err |= odict_entry_add(out, "progress", ODICT_OBJECT, o);
 out:
	mem_deref(c);
	mem_deref(t);
	mem_deref(k);
	mem_deref(n);
	mem_deref(o);
	if (err)
		mem_deref(out);
	else
		*statsp = out;
	return err;
}
