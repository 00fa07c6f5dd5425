/* test_events.c - webhook events: the signature, the backoff, and what
 * events_emit()/events_emit_call() write to the outbox (SQLite). */
#include <unistd.h>
#include "core/util.h"
#include "events/events.h"
#include "json/json.h"
#include "store/db.h"
#include "store/migrate.h"
#include "test.h"

TEST(sign_matches_reference)
{
	char sig[68];
	const char body[] = "{\"id\":\"evt_1\"}";

	/* python: hmac.new(secret, b"1700000000." + body, sha256) */
	events_sign(sig, "whsec_test_0123456789", 1700000000, body,
		    strlen(body));
	CHECK_STR(sig, "v1=96a6e4147d41eb58c1480c33f2e6c77496783ed0b5e00ff"
		  "73e862fbca407ecc6");
	events_sign(sig, "whsec_test_0123456789", 1700000001, body,
		    strlen(body));
	CHECK(strcmp(sig, "v1=96a6e4147d41eb58c1480c33f2e6c77496783ed0b5e00"
		     "ff73e862fbca407ecc6"));
}

TEST(backoff_doubles_to_cap_with_bounded_jitter)
{
	CHECK_EQ_INT(events_backoff_ms(1, 5000, 3600000, 0), 5000);
	CHECK_EQ_INT(events_backoff_ms(2, 5000, 3600000, 0), 10000);
	CHECK_EQ_INT(events_backoff_ms(5, 5000, 3600000, 0), 80000);
	CHECK_EQ_INT(events_backoff_ms(40, 5000, 3600000, 0), 3600000);
	CHECK_EQ_INT(events_backoff_ms(200, 5000, 3600000, 0), 3600000);
	/* jitter: at most a quarter more */
	CHECK_EQ_INT(events_backoff_ms(1, 5000, 3600000, 1250), 6250);
	CHECK_EQ_INT(events_backoff_ms(1, 5000, 3600000, 1251), 5000);
}

TEST(webhook_types)
{
	CHECK(events_webhook_type("call.ended"));
	CHECK(events_webhook_type("user_hangup"));
	CHECK(events_webhook_type("campaign.completed"));
	CHECK(!events_webhook_type("dtmf"));
	CHECK(!events_webhook_type("call.ended "));
	CHECK(!events_webhook_type(NULL));
}

/* ---- the outbox, on a fresh SQLite store ---- */

static struct db *fresh_db(void)
{
	struct db *db = NULL;

	(void)unlink("events-test.db");
	(void)unlink("events-test.db-wal");
	(void)unlink("events-test.db-shm");
	if (db_open(&db, "sqlite:events-test.db"))
		return NULL;
	if (migrate_run(db, schema_migrations, schema_nmigrations, NULL)) {
		mem_deref(db);
		return NULL;
	}
	return db;
}

static int sql(struct db *db, const char *s)
{
	return db_exec(db, NULL, s, NULL, 0);
}

/* tenants 1 and 2; tenant 1: hook 1 all events, hook 2 call.ended only,
 * hook 3 inactive, hook 5 no events at all; tenant 2: hook 4 all */
static int world(struct db *db)
{
	return sql(db, "INSERT INTO tenants (id, name, created_at) VALUES "
		   "(1, 'a', 0), (2, 'b', 0)") ||
		sql(db, "INSERT INTO webhooks (id, tenant_id, created_at, "
		    "updated_at, url, events, secret, active) VALUES "
		    "(1, 1, 0, 0, 'http://x/1', '[\"*\"]', 's', 1),"
		    "(2, 1, 0, 0, 'http://x/2', '[\"call.ended\"]', 's', 1),"
		    "(3, 1, 0, 0, 'http://x/3', NULL, 's', 0),"
		    "(4, 2, 0, 0, 'http://x/4', NULL, 's', 1),"
		    "(5, 1, 0, 0, 'http://x/5', '[]', 's', 1)") ||
		sql(db, "INSERT INTO calls (id, tenant_id, created_at, "
		    "updated_at, direction, from_number, to_number, status, "
		    "answered_at) VALUES (10, 1, 1000, 1000, 'outbound', "
		    "'+14155550100', '+14155550123', 'answered', 2000)") ||
		sql(db, "INSERT INTO transcripts (tenant_id, created_at, "
		    "updated_at, call_id, turn, speaker, text, start_ms, "
		    "end_ms) VALUES (1, 0, 0, 10, 1, 'agent', 'Hello \"you\"', "
		    "0, 900), (1, 0, 0, 10, 2, 'user', 'hi', 1000, 1400)");
}

static int call_event(struct db *db, const char *type, const char *data,
		      int64_t at)
{
	struct db_val p[] = {DBV_TEXT(type), DBV_TEXT(data)};
	int err;

	err = db_exec(db, NULL, "INSERT INTO call_events (tenant_id, "
		      "created_at, updated_at, call_id, type, data) VALUES "
		      "(1, 0, 0, 10, ?, ?)", p, 2);
	return err ? err : events_emit_call(db, 1, 10, at, type, data);
}

static int64_t count(struct db *db, const char *q)
{
	struct db_res *r = NULL;
	int64_t n = -1;

	if (!db_exec(db, &r, q, NULL, 0))
		n = db_res_int(r, 0, 0);
	mem_deref(r);
	return n;
}

/* the payload of the only outbox row of hook for event, parsed */
static struct odict *payload(struct db *db, int64_t hook, const char *event)
{
	struct db_val p[] = {DBV_INT(hook), DBV_TEXT(event)};
	struct db_res *r = NULL;
	struct odict *o = NULL;
	const char *s;

	if (db_exec(db, &r, "SELECT payload FROM webhook_outbox WHERE "
		    "webhook_id = ? AND event = ?", p, 2) ||
	    db_res_nrows(r) != 1 || !(s = db_res_str(r, 0, 0)) ||
	    json_parse(&o, NULL, s, strlen(s), NULL))
		o = NULL;
	mem_deref(r);
	return o;
}

static int64_t member_int(const struct odict *o, const char *k)
{
	const struct odict_entry *e = o ? odict_lookup(o, k) : NULL;

	return e && e->type == ODICT_INT ? e->u.integer : -1;
}

static const struct odict *member_obj(const struct odict *o, const char *k)
{
	const struct odict_entry *e = o ? odict_lookup(o, k) : NULL;

	return e && (e->type == ODICT_OBJECT || e->type == ODICT_ARRAY) ?
		e->u.odict : NULL;
}

TEST(call_events_to_subscribed_hooks_once)
{
	struct db *db = fresh_db();
	struct odict *o = NULL;
	const struct odict *data;

	CHECK(db);
	CHECK_EQ_INT(world(db), 0);
	CHECK_EQ_INT(call_event(db, "call.answered", NULL, 2000), 0);
	/* only hook 1 wants it: 2 is filtered, 3 inactive, 4 another
	 * tenant's, 5 wants nothing */
	CHECK_EQ_INT(count(db, "SELECT COUNT(*) FROM webhook_outbox"), 1);
	o = payload(db, 1, "call.answered");
	CHECK(o);
	CHECK(!strncmp(odict_string(o, "id"), "evt_", 4));
	CHECK_EQ_INT(strlen(odict_string(o, "id")), 36);
	CHECK_STR(odict_string(o, "type"), "call.answered");
	CHECK_STR(odict_string(o, "created_at"), "1970-01-01T00:00:02.000Z");
	CHECK_EQ_INT(member_int(o, "tenant_id"), 1);
	CHECK_EQ_INT(member_int(o, "call_id"), 10);
	CHECK(!odict_lookup(o, "campaign_id"));
	data = member_obj(o, "data");
	CHECK_STR(odict_string(data, "direction"), "outbound");
	CHECK_STR(odict_string(data, "to"), "+14155550123");
	o = mem_deref(o);

	/* a repeated lifecycle row is not sent again; errors are */
	CHECK_EQ_INT(call_event(db, "call.answered", NULL, 2100), 0);
	CHECK_EQ_INT(count(db, "SELECT COUNT(*) FROM webhook_outbox"), 1);
	CHECK_EQ_INT(call_event(db, "error_http", "{\"where\":\"x\"}", 2200),
		     0);
	CHECK_EQ_INT(call_event(db, "error_http", "{\"where\":\"y\"}", 2300),
		     0);
	CHECK_EQ_INT(count(db, "SELECT COUNT(*) FROM webhook_outbox WHERE "
			   "event = 'error_http'"), 2);
	mem_deref(db);
}

TEST(call_ended_has_transcript_and_user_hangup)
{
	struct db *db = fresh_db();
	struct odict *o = NULL;
	const struct odict *data, *tr;

	CHECK(db);
	CHECK_EQ_INT(world(db), 0);
	CHECK_EQ_INT(call_event(db, "call.ended", "{\"outcome\":\"answered\","
				"\"cause\":\"bye\",\"by\":\"callee\"}", 33500),
		     0);
	/* hook 1: user_hangup and call.ended; hook 2: call.ended */
	CHECK_EQ_INT(count(db, "SELECT COUNT(*) FROM webhook_outbox"), 3);
	o = payload(db, 1, "user_hangup");
	CHECK(o);
	CHECK_STR(odict_string(member_obj(o, "data"), "by"), "callee");
	o = mem_deref(o);

	o = payload(db, 2, "call.ended");
	CHECK(o);
	data = member_obj(o, "data");
	CHECK_STR(odict_string(data, "outcome"), "answered");
	CHECK_STR(odict_string(data, "by"), "callee");
	CHECK_EQ_INT(member_int(data, "duration_ms"), 31500);
	CHECK(odict_lookup(data, "duration")->type == ODICT_DOUBLE);
	CHECK(odict_lookup(data, "duration")->u.dbl == 31.5);
	CHECK_STR(odict_string(data, "answered_at"),
		  "1970-01-01T00:00:02.000Z");
	CHECK_STR(odict_string(data, "ended_at"), "1970-01-01T00:00:33.500Z");
	tr = member_obj(data, "transcript");
	CHECK(tr);
	CHECK_EQ_INT(odict_count(tr, false), 2);
	{
		const struct odict_entry *t0 = odict_lookup(tr, "0");
		CHECK(t0 && t0->type == ODICT_OBJECT);
		CHECK_STR(odict_string(t0->u.odict, "speaker"), "agent");
		CHECK_STR(odict_string(t0->u.odict, "text"), "Hello \"you\"");
	}
	o = mem_deref(o);
	/* one event id for every webhook that gets the event */
	{
		struct odict *a = payload(db, 1, "call.ended");
		struct odict *b = payload(db, 2, "call.ended");
		bool same = a && b && !strcmp(odict_string(a, "id"),
					      odict_string(b, "id"));
		mem_deref(a);
		mem_deref(b);
		CHECK(same);
	}
	mem_deref(db);
}

TEST(agent_hangup_is_no_user_hangup)
{
	struct db *db = fresh_db();

	CHECK(db);
	CHECK_EQ_INT(world(db), 0);
	CHECK_EQ_INT(call_event(db, "call.ended", "{\"outcome\":\"answered\","
				"\"cause\":\"agent_hangup\",\"by\":\"agent\"}",
				5000), 0);
	CHECK_EQ_INT(count(db, "SELECT COUNT(*) FROM webhook_outbox WHERE "
			   "event = 'user_hangup'"), 0);
	CHECK_EQ_INT(count(db, "SELECT COUNT(*) FROM webhook_outbox"), 2);
	mem_deref(db);
}

TEST(emit_lifts_campaign_id)
{
	struct db *db = fresh_db();
	struct odict *o = NULL;

	CHECK(db);
	CHECK_EQ_INT(world(db), 0);
	CHECK_EQ_INT(events_emit(db, 1, "campaign.completed",
				 "{\"campaign_id\":7,\"contacts\":300}"), 0);
	o = payload(db, 1, "campaign.completed");
	CHECK(o);
	CHECK_EQ_INT(member_int(o, "campaign_id"), 7);
	CHECK(!odict_lookup(o, "call_id"));
	CHECK_EQ_INT(member_int(member_obj(o, "data"), "contacts"), 300);
	o = mem_deref(o);
	CHECK_EQ_INT(events_emit(db, 1, "dtmf", NULL), EINVAL);
	/* tenant 2's hook takes everything */
	CHECK_EQ_INT(events_emit(db, 2, "error_exception", NULL), 0);
	CHECK_EQ_INT(count(db, "SELECT COUNT(*) FROM webhook_outbox WHERE "
			   "webhook_id = 4"), 1);
	mem_deref(db);
}

TEST_MAIN()
