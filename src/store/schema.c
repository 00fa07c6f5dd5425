/* schema.c - Parley's versioned migrations. Never edit a released
 * migration: add a new one. Times are BIGINT milliseconds since the
 * epoch (UTC); booleans INTEGER 0/1; nested documents TEXT holding JSON.
 * Top-level API fields map one-to-one onto columns (src/api/resources.c);
 * tests/unit/api/test_resources.c checks that they agree. */
#include <stddef.h>
#include "store/migrate.h"

#define COMMON \
	"id {{ID}}," \
	"tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE," \
	"created_at BIGINT NOT NULL," \
	"updated_at BIGINT NOT NULL,"

static const char m001_init[] =
"CREATE TABLE tenants ("
"  id {{ID}},"
"  name TEXT NOT NULL UNIQUE,"
"  created_at BIGINT NOT NULL"
");"
"CREATE TABLE api_keys ("
   COMMON
"  name TEXT,"
"  prefix TEXT NOT NULL,"
"  key_hash TEXT NOT NULL UNIQUE,"
"  last_used_at BIGINT,"
"  revoked_at BIGINT"
");"
"CREATE INDEX api_keys_tenant ON api_keys(tenant_id);"

"CREATE TABLE agents ("
   COMMON
"  name TEXT NOT NULL,"
"  description TEXT,"
"  system_prompt TEXT,"
"  scenario TEXT,"
"  first_message TEXT,"
"  first_speaker TEXT,"
"  language TEXT,"
"  stt TEXT, llm TEXT, tts TEXT, tools TEXT,"
"  inbound TEXT, outbound TEXT, limits TEXT, metadata TEXT,"
"  version BIGINT NOT NULL DEFAULT 1"
");"
"CREATE INDEX agents_tenant ON agents(tenant_id, id);"
"CREATE TABLE agent_prompt_history ("
   COMMON
"  agent_id BIGINT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,"
"  version BIGINT NOT NULL,"
"  system_prompt TEXT,"
"  scenario TEXT,"
"  first_message TEXT,"
"  UNIQUE (agent_id, version)"
");"

"CREATE TABLE trunks ("
   COMMON
"  name TEXT NOT NULL,"
"  sip_uri TEXT NOT NULL,"
"  transport TEXT,"
"  username TEXT,"
"  password TEXT,"
"  caller_id TEXT,"
"  inbound TEXT,"
"  max_channels BIGINT,"
"  calls_per_second DOUBLE PRECISION,"
"  enabled INTEGER,"
"  reachable INTEGER,"
"  rtt_ms BIGINT,"
"  checked_at BIGINT"
");"
"CREATE INDEX trunks_tenant ON trunks(tenant_id, id);"

"CREATE TABLE phone_numbers ("
   COMMON
"  number TEXT NOT NULL UNIQUE,"
"  label TEXT,"
"  trunk_id BIGINT REFERENCES trunks(id) ON DELETE SET NULL,"
"  agent_id BIGINT REFERENCES agents(id) ON DELETE SET NULL"
");"
"CREATE INDEX phone_numbers_tenant ON phone_numbers(tenant_id, id);"

"CREATE TABLE campaigns ("
   COMMON
"  name TEXT NOT NULL,"
"  agent_id BIGINT NOT NULL REFERENCES agents(id),"
"  trunk_id BIGINT NOT NULL REFERENCES trunks(id),"
"  caller_id TEXT,"
"  prompt TEXT,"
"  default_country TEXT,"
"  calling_window TEXT,"
"  pacing TEXT,"
"  retry TEXT,"
"  metadata TEXT,"
"  state TEXT NOT NULL DEFAULT 'draft',"
"  started_at BIGINT,"
"  completed_at BIGINT"
");"
"CREATE INDEX campaigns_tenant ON campaigns(tenant_id, id);"
"CREATE INDEX campaigns_state ON campaigns(state);"

"CREATE TABLE contacts ("
   COMMON
"  campaign_id BIGINT NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,"
"  phone TEXT NOT NULL,"
"  name TEXT,"
"  email TEXT,"
"  timezone TEXT,"
"  fields TEXT,"
"  UNIQUE (campaign_id, phone)"
");"
"CREATE INDEX contacts_tenant ON contacts(tenant_id, id);"

"CREATE TABLE call_tasks ("
   COMMON
"  campaign_id BIGINT REFERENCES campaigns(id) ON DELETE CASCADE,"
"  contact_id BIGINT REFERENCES contacts(id) ON DELETE CASCADE,"
"  agent_id BIGINT REFERENCES agents(id) ON DELETE SET NULL,"
"  trunk_id BIGINT REFERENCES trunks(id) ON DELETE SET NULL,"
"  to_number TEXT NOT NULL,"
"  payload TEXT,"
"  status TEXT NOT NULL DEFAULT 'queued',"
"  attempt BIGINT NOT NULL DEFAULT 0,"
"  max_attempts BIGINT NOT NULL DEFAULT 1,"
"  next_attempt_at BIGINT NOT NULL,"
"  lease_owner TEXT,"
"  lease_expires_at BIGINT,"
"  last_outcome TEXT,"
"  final_outcome TEXT"
");"
"CREATE INDEX call_tasks_due ON call_tasks(status, next_attempt_at);"
"CREATE INDEX call_tasks_campaign ON call_tasks(campaign_id, status);"
"CREATE INDEX call_tasks_tenant ON call_tasks(tenant_id, id);"

"CREATE TABLE calls ("
   COMMON
"  task_id BIGINT REFERENCES call_tasks(id) ON DELETE SET NULL,"
"  attempt BIGINT,"
"  direction TEXT NOT NULL,"
"  from_number TEXT,"
"  to_number TEXT,"
"  trunk_id BIGINT REFERENCES trunks(id) ON DELETE SET NULL,"
"  agent_id BIGINT REFERENCES agents(id) ON DELETE SET NULL,"
"  campaign_id BIGINT REFERENCES campaigns(id) ON DELETE SET NULL,"
"  contact_id BIGINT REFERENCES contacts(id) ON DELETE SET NULL,"
"  sip_call_id TEXT,"
"  status TEXT NOT NULL,"
"  ringing_at BIGINT,"
"  answered_at BIGINT,"
"  ended_at BIGINT,"
"  sip_code BIGINT,"
"  hangup_cause TEXT,"
"  hangup_by TEXT,"
"  outcome TEXT,"
"  amd_result TEXT,"
"  amd_ms BIGINT,"
"  node TEXT"
");"
"CREATE INDEX calls_tenant ON calls(tenant_id, id);"
"CREATE INDEX calls_active ON calls(ended_at);"
"CREATE INDEX calls_campaign ON calls(campaign_id);"

"CREATE TABLE transcripts ("
   COMMON
"  call_id BIGINT NOT NULL REFERENCES calls(id) ON DELETE CASCADE,"
"  turn BIGINT NOT NULL,"
"  speaker TEXT NOT NULL,"
"  text TEXT NOT NULL,"
"  start_ms BIGINT,"
"  end_ms BIGINT,"
"  interrupted INTEGER NOT NULL DEFAULT 0,"
"  timings TEXT"
");"
"CREATE INDEX transcripts_call ON transcripts(call_id, turn);"

"CREATE TABLE call_events ("
   COMMON
"  call_id BIGINT NOT NULL REFERENCES calls(id) ON DELETE CASCADE,"
"  type TEXT NOT NULL,"
"  data TEXT"
");"
"CREATE INDEX call_events_call ON call_events(call_id, id);"

"CREATE TABLE dnc ("
   COMMON
"  phone TEXT NOT NULL,"
"  campaign_id BIGINT REFERENCES campaigns(id) ON DELETE CASCADE,"
"  reason TEXT,"
"  source TEXT"
");"
"CREATE UNIQUE INDEX dnc_unique ON dnc(tenant_id, COALESCE(campaign_id, 0), phone);"
"CREATE INDEX dnc_phone ON dnc(tenant_id, phone);"

"CREATE TABLE webhooks ("
   COMMON
"  url TEXT NOT NULL,"
"  description TEXT,"
"  events TEXT,"
"  secret TEXT NOT NULL,"
"  active INTEGER"
");"
"CREATE INDEX webhooks_tenant ON webhooks(tenant_id, id);"
"CREATE TABLE webhook_outbox ("
   COMMON
"  webhook_id BIGINT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,"
"  event TEXT NOT NULL,"
"  payload TEXT NOT NULL,"
"  status TEXT NOT NULL DEFAULT 'pending',"
"  attempts BIGINT NOT NULL DEFAULT 0,"
"  next_attempt_at BIGINT NOT NULL,"
"  last_status BIGINT,"
"  last_error TEXT,"
"  delivered_at BIGINT"
");"
"CREATE INDEX webhook_outbox_due ON webhook_outbox(status, next_attempt_at);"
"CREATE INDEX webhook_outbox_hook ON webhook_outbox(webhook_id, id);"
;

/* the voice agent's turn-taking settings */
static const char m002_turn[] =
"ALTER TABLE agents ADD COLUMN turn TEXT;"
;

/* the campaign dialer: a campaign's task-creation cursor (contacts up to
 * this id have their task), tasks waiting for a calling window, one task
 * per contact, and the indexes its per-tick queries walk: due tasks of a
 * campaign (and due retries alone: they go first), dialling tasks of a
 * trunk, recent calls of a trunk or a campaign (calls per second); and
 * at most one calls row per attempt of a task, as the store's own guard
 * against dialling an attempt twice */
static const char m003_dialer[] =
"ALTER TABLE campaigns ADD COLUMN task_cursor BIGINT NOT NULL DEFAULT 0;"
"ALTER TABLE call_tasks ADD COLUMN wait_reason TEXT;"
"CREATE UNIQUE INDEX call_tasks_contact ON call_tasks(campaign_id, contact_id);"
"DROP INDEX call_tasks_campaign;"
"CREATE INDEX call_tasks_campaign_due ON call_tasks(campaign_id, status, next_attempt_at, id);"
"CREATE INDEX call_tasks_retry_due ON call_tasks(campaign_id, next_attempt_at, id) "
"  WHERE status = 'queued' AND attempt > 0;"
"CREATE INDEX call_tasks_trunk ON call_tasks(trunk_id, status);"
"CREATE INDEX contacts_campaign ON contacts(campaign_id, id);"
"CREATE INDEX calls_trunk_time ON calls(trunk_id, created_at);"
"CREATE INDEX calls_campaign_time ON calls(campaign_id, created_at);"
"CREATE UNIQUE INDEX calls_task ON calls(task_id, attempt);"
;

/* call recording settings per agent (recording on by default) */
static const char m004_recording[] =
"ALTER TABLE agents ADD COLUMN recording TEXT;"
;

const struct migration schema_migrations[] = {
	{1, "initial schema", m001_init},
	{2, "agent turn-taking", m002_turn},
	{3, "campaign dialer", m003_dialer},
	{4, "agent recording settings", m004_recording},
};

const size_t schema_nmigrations =
	sizeof(schema_migrations) / sizeof(schema_migrations[0]);
