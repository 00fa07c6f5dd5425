/* resources.c - the field tables of every API resource. These tables are
 * the single description of each resource's JSON: validation, storage
 * columns (store/schema.c), redaction and the OpenAPI document follow
 * from them. */
#include <stddef.h>
#include <re.h>
#include "api/api.h"
#include "api/resource.h"
#include "api/schema.h"
#include "api/handlers.h"
#include "store/db.h"

#define END {NULL, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL}

/* shorthands: name, type, flags, doc */
#define F(n, t, fl, d) {n, t, fl, 0, 0, NULL, NULL, NULL, NULL, d}
#define FS(n, fl, lo, hi, d) {n, FT_STRING, fl, lo, hi, NULL, NULL, NULL, NULL, d}
#define FI(n, fl, lo, hi, def, d) {n, FT_INT, fl, lo, hi, NULL, NULL, NULL, def, d}
#define FN(n, fl, lo, hi, def, d) {n, FT_NUMBER, fl, lo, hi, NULL, NULL, NULL, def, d}
#define FB(n, fl, def, d) {n, FT_BOOL, fl, 0, 0, NULL, NULL, NULL, def, d}
#define FE(n, fl, vals, def, d) {n, FT_ENUM, fl, 0, 0, NULL, vals, NULL, def, d}
#define FO(n, fl, sub, d) {n, FT_OBJECT, fl, 0, 0, sub, NULL, NULL, NULL, d}
#define FA(n, fl, max, item, d) {n, FT_ARRAY, fl, 0, max, item, NULL, NULL, NULL, d}
#define FR(n, fl, table, d) {n, FT_REF, fl, 0, 0, NULL, NULL, table, NULL, d}

static const char *const weekdays[] = {"mon", "tue", "wed", "thu", "fri",
				       "sat", "sun", NULL};
static const struct field day_item_e = {"day", FT_ENUM, 0, 0, 0, NULL,
					weekdays, NULL, NULL, NULL};
static const struct field window_fields[] = {
	FA("days", FF_REQUIRED, 7, &day_item_e, "Days this window applies"),
	F("start", FT_HHMM, FF_REQUIRED, "Opening time, local"),
	F("end", FT_HHMM, FF_REQUIRED, "Closing time, local"),
	END
};
static const struct field window_item = FO("window", 0, window_fields, NULL);
static const struct field weekly_fields[] = {
	{"timezone", FT_TZ, 0, 0, 0, NULL, NULL, NULL, NULL,
	 "IANA time zone of the windows (default: the contact's)"},
	FA("windows", 0, 28, &window_item, "Open periods per weekday"),
	END
};
static const struct field calling_window_fields[] = {
	{"timezone", FT_TZ, 0, 0, 0, NULL, NULL, NULL, NULL,
	 "IANA time zone; default: the contact's own"},
	{"windows", FT_ARRAY, 0, 0, 28, &window_item, NULL, NULL,
	 "[{\"days\":[\"mon\",\"tue\",\"wed\",\"thu\",\"fri\",\"sat\",\"sun\"],"
	 "\"start\":\"08:00\",\"end\":\"21:00\"}]",
	 "Allowed calling periods (default 08:00-21:00 every day)"},
	END
};

/* agents */
static const char *const speakers[] = {"agent", "user", "wait", NULL};
/* "bench": instant providers that measure the platform alone */
static const char *const stt_providers[] = {"pocketsphinx", "openai",
					     "deepgram", "bench", NULL};
static const char *const llm_providers[] = {"scenario", "openai", "bench",
					     NULL};
static const char *const tts_providers[] = {"espeak-ng", "flite", "openai",
					     "bench", NULL};
static const char *const vm_actions[] = {"hangup", "leave_message", NULL};
static const char *const unsure_actions[] = {"human", "machine", NULL};
static const char *const http_methods[] = {"POST", "GET", "PUT", NULL};

static const struct field stt_fields[] = {
	FE("provider", 0, stt_providers, "\"pocketsphinx\"", "Speech-to-text engine"),
	FS("model", 0, 0, 200, "Model name (remote providers)"),
	FS("language", 0, 0, 35, "Recognition language, BCP 47"),
	{"base_url", FT_URL, 0, 0, 0, NULL, NULL, NULL, NULL,
	 "Endpoint of an OpenAI-compatible or Deepgram-compatible server"},
	FS("api_key", FF_SECRET, 0, 1024, "Provider API key (write-only)"),
	END
};
static const struct field llm_fields[] = {
	FE("provider", 0, llm_providers, "\"scenario\"", "Dialogue engine"),
	FS("model", 0, 0, 200, "Model name"),
	{"base_url", FT_URL, 0, 0, 0, NULL, NULL, NULL, NULL,
	 "OpenAI-compatible endpoint (OpenAI, Groq, Ollama, vLLM, ...)"},
	FS("api_key", FF_SECRET, 0, 1024, "Provider API key (write-only)"),
	FN("temperature", 0, 0, 2, "0.7", "Sampling temperature"),
	FI("max_tokens", 0, 1, 32768, "300", "Longest reply, in tokens"),
	END
};
static const struct field tts_fields[] = {
	FE("provider", 0, tts_providers, "\"espeak-ng\"", "Text-to-speech engine"),
	FS("voice", 0, 0, 200, "Voice name"),
	FS("model", 0, 0, 200, "Model name (remote providers)"),
	FN("speed", 0, 0.25, 4, "1.0", "Speaking rate"),
	{"base_url", FT_URL, 0, 0, 0, NULL, NULL, NULL, NULL,
	 "OpenAI-compatible endpoint"},
	FS("api_key", FF_SECRET, 0, 1024, "Provider API key (write-only)"),
	END
};
static const struct field tool_fields[] = {
	FS("name", FF_REQUIRED, 1, 64, "Function name the model calls"),
	FS("description", 0, 0, 1000, "What the tool does"),
	{"url", FT_URL, FF_REQUIRED, 0, 0, NULL, NULL, NULL, NULL,
	 "Endpoint called with the tool arguments as JSON"},
	FE("method", 0, http_methods, "\"POST\"", "HTTP method"),
	{"parameters", FT_ANY, 0, 0, 500, NULL, NULL, NULL, NULL,
	 "JSON Schema of the arguments"},
	FS("auth_header", FF_SECRET, 0, 2048,
	   "Authorization header value sent to the tool (write-only)"),
	FI("timeout_ms", 0, 100, 60000, "5000", "Request timeout"),
	END
};
static const struct field tool_item = FO("tool", 0, tool_fields, NULL);
static const struct field inbound_fields[] = {
	FO("business_hours", 0, weekly_fields,
	   "Open hours; calls outside them hear out_of_hours_message"),
	FS("out_of_hours_message", 0, 0, 2000, "Said outside business hours"),
	F("transfer_number", FT_PHONE, FF_NULLABLE, "Where transfer_call sends callers"),
	F("fallback_number", FT_PHONE, FF_NULLABLE, "Where calls go when the agent fails"),
	END
};
static const struct field retry_delay_fields[] = {
	FI("busy", 0, 0, 604800, "300", "Seconds before retrying a busy number"),
	FI("no_answer", 0, 0, 604800, "1800", "Seconds before retrying no answer"),
	FI("failed", 0, 0, 604800, "3600", "Seconds before retrying a failure"),
	FI("unreachable", 0, 0, 604800, "600", "Seconds before retrying unreachable"),
	FI("voicemail", 0, 0, 604800, "7200", "Seconds before retrying after voicemail"),
	END
};
static const struct field amd_fields[] = {
	FB("enabled", 0, "false", "Detect answering machines"),
	FE("voicemail_action", 0, vm_actions, "\"hangup\"", "On a machine"),
	FS("voicemail_message", 0, 0, 2000, "Left after the beep"),
	FE("unsure_action", 0, unsure_actions, "\"human\"", "Treat unsure as"),
	{"detector", FT_ANY, 0, 0, 40, NULL, NULL, NULL, NULL,
	 "Detector thresholds by name (greeting, initial_silence, "
	 "after_greeting_silence, ...; see parley amd analyze --help)"},
	END
};
static const struct field outbound_fields[] = {
	FI("max_attempts", 0, 1, 20, "3", "Attempts per contact"),
	FO("retry_delays", 0, retry_delay_fields, "Delay per outcome"),
	FO("amd", 0, amd_fields, "Answering-machine detection"),
	FO("calling_window", 0, calling_window_fields, "When calls may be placed"),
	FI("greet_after_silence_ms", 0, 0, 10000, "2500",
	   "With first_speaker \"wait\": greet after this much silence"),
	END
};
static const struct field limits_fields[] = {
	FI("max_duration", 0, 10, 14400, "1800", "Longest call, seconds"),
	FI("silence_timeout", 0, 1, 600, "20", "Hang up after this much silence, seconds"),
	FI("silence_reprompts", 0, 0, 10, "1", "Re-prompts before the silence timeout"),
	END
};

static const struct field turn_fields[] = {
	FI("min_silence_ms", 0, 100, 5000, "500",
	   "Silence that ends the caller's turn"),
	FI("max_silence_ms", 0, 100, 10000, "1500",
	   "Longest wait when the caller's words say more is coming"),
	FB("barge_in", 0, "true", "Caller speech interrupts the agent"),
	FI("barge_in_min_ms", 0, 0, 5000, "400",
	   "Shorter caller sounds (backchannels, noise) do not interrupt; the agent pauses and resumes"),
	FI("min_speech_ms", 0, 0, 2000, "120", "Shorter sounds are not a turn"),
	END
};

static const struct field recording_fields[] = {
	FB("enabled", 0, "true", "Record calls (stereo WAV and an MP3 of the mix)"),
	FS("consent_message", 0, 0, 2000,
	   "Said before anything else, without interruption (e.g. \"This call is recorded.\")"),
	END
};

static const struct field agent_fields[] = {
	FS("name", FF_REQUIRED, 1, 200, "Display name"),
	FS("description", 0, 0, 2000, NULL),
	FS("system_prompt", 0, 0, 100000, "LLM instructions; {name}, {email}, {phone} and any contact field are replaced"),
	{"scenario", FT_ANY, 0, 0, 20000, NULL, NULL, NULL, NULL,
	 "Scenario graph for offline dialogue"},
	FS("first_message", 0, 0, 4000, "Greeting"),
	FE("first_speaker", 0, speakers, "\"agent\"",
	   "agent speaks first, user speaks first, or wait: greet after silence"),
	FS("language", 0, 2, 35, "BCP 47 language tag"),
	FO("stt", 0, stt_fields, "Speech recognition"),
	FO("llm", 0, llm_fields, "Dialogue"),
	FO("tts", 0, tts_fields, "Speech synthesis"),
	FA("tools", 0, 32, &tool_item, "HTTP tools the LLM may call"),
	FO("inbound", 0, inbound_fields, "Inbound call settings"),
	FO("outbound", 0, outbound_fields, "Outbound call settings"),
	FO("limits", 0, limits_fields, "Call limits"),
	FO("turn", 0, turn_fields, "Turn-taking"),
	FO("recording", 0, recording_fields, "Call recording"),
	{"metadata", FT_ANY, 0, 0, 200, NULL, NULL, NULL, NULL,
	 "Free-form data kept with the agent"},
	FI("version", FF_READONLY, 0, 0, NULL, "Incremented on each change"),
	END
};

const struct resource res_agents = {
	.name = "agent", .table = "agents", .fields = agent_fields,
	.validateh = agent_validate, .writtenh = agent_written,
	.changedh = agent_changed,
};

/* trunks */
static const char *const transports[] = {"udp", "tcp", "tls", NULL};
static const struct field ip_item = F("ip", FT_IPNET, 0, NULL);
static const struct field trunk_inbound_fields[] = {
	FA("allowed_ips", 0, 100, &ip_item,
	   "Source addresses or networks allowed to call in"),
	FS("username", 0, 0, 200, "Digest user name callers must use"),
	FS("password", FF_SECRET, 0, 200, "Digest password (write-only)"),
	END
};
static const struct field trunk_fields[] = {
	FS("name", FF_REQUIRED, 1, 200, NULL),
	F("sip_uri", FT_SIPURI, FF_REQUIRED, "Where outbound INVITEs go"),
	FE("transport", 0, transports, "\"udp\"", NULL),
	FS("username", 0, 0, 200, "Outbound digest user name"),
	FS("password", FF_SECRET, 0, 200, "Outbound digest password (write-only)"),
	F("caller_id", FT_PHONE, FF_NULLABLE, "Default caller ID"),
	FO("inbound", 0, trunk_inbound_fields, "Who may call in through this trunk"),
	FI("max_channels", 0, 1, 100000, "30", "Concurrent calls"),
	FN("calls_per_second", 0, 0.01, 1000, "5", "Call attempts per second"),
	FB("enabled", 0, "true", NULL),
	FB("reachable", FF_READONLY, NULL, "Last OPTIONS check answered"),
	FI("rtt_ms", FF_READONLY, 0, 0, NULL, "Round-trip time of the last check"),
	F("checked_at", FT_TIME, FF_READONLY, "Time of the last check"),
	END
};
const struct resource res_trunks = {
	.name = "trunk", .table = "trunks", .fields = trunk_fields,
};

/* phone numbers */
static const struct field number_fields[] = {
	F("number", FT_PHONE, FF_REQUIRED, "E.164 number callers dial"),
	FS("label", 0, 0, 200, NULL),
	FR("trunk_id", FF_NULLABLE, "trunks", "Trunk the number arrives on"),
	FR("agent_id", FF_NULLABLE, "agents", "Agent that answers"),
	END
};
static const struct rfilter number_filters[] = {
	{"agent_id", "agent_id", RF_INT, NULL, NULL},
	{"trunk_id", "trunk_id", RF_INT, NULL, NULL},
	{NULL, NULL, 0, NULL, NULL},
};
const struct resource res_numbers = {
	.name = "phone number", .table = "phone_numbers",
	.fields = number_fields, .filters = number_filters,
};

/* campaigns */
static const char *const campaign_states[] = {"draft", "running", "paused",
					      "completed", "cancelled", NULL};
static const struct field pacing_fields[] = {
	FI("max_concurrent", 0, 1, 10000, "5", "Concurrent calls of this campaign"),
	FN("calls_per_second", 0, 0.01, 1000, "1", "Call attempts per second"),
	END
};
static const struct field campaign_retry_fields[] = {
	FI("max_attempts", 0, 1, 20, NULL, "Attempts per contact (default: the agent's)"),
	FO("delays", 0, retry_delay_fields, "Delay per outcome, seconds"),
	END
};
static const struct field campaign_fields[] = {
	FS("name", FF_REQUIRED, 1, 200, NULL),
	FR("agent_id", FF_REQUIRED, "agents", "Agent that talks"),
	FR("trunk_id", FF_REQUIRED, "trunks", "Trunk calls go out on"),
	F("caller_id", FT_PHONE, FF_NULLABLE, "Caller ID (default: the trunk's)"),
	FS("prompt", 0, 0, 100000, "Campaign instructions; placeholders {name}, {email}, {phone}, any contact field"),
	F("default_country", FT_COUNTRY, 0, "Country for national numbers in imports"),
	FO("calling_window", 0, calling_window_fields, "When contacts may be called"),
	FO("pacing", 0, pacing_fields, NULL),
	FO("retry", 0, campaign_retry_fields, NULL),
	{"metadata", FT_ANY, 0, 0, 200, NULL, NULL, NULL, NULL, NULL},
	{"state", FT_ENUM, FF_READONLY, 0, 0, NULL, campaign_states, NULL,
	 NULL, "Lifecycle state"},
	F("started_at", FT_TIME, FF_READONLY, NULL),
	F("completed_at", FT_TIME, FF_READONLY, NULL),
	END
};
static const struct rfilter campaign_filters[] = {
	{"state", "state", RF_ENUM, campaign_states, NULL},
	{"agent_id", "agent_id", RF_INT, NULL, NULL},
	{NULL, NULL, 0, NULL, NULL},
};
const struct resource res_campaigns = {
	.name = "campaign", .table = "campaigns", .fields = campaign_fields,
	.filters = campaign_filters,
};

/* contacts */
static const struct field contact_fields[] = {
	FR("campaign_id", FF_REQUIRED | FF_IMMUTABLE, "campaigns", NULL),
	F("phone", FT_PHONE, FF_REQUIRED, "Normalised to E.164"),
	FS("name", 0, 0, 200, NULL),
	FS("email", 0, 0, 320, NULL),
	F("timezone", FT_TZ, FF_NULLABLE, "The contact's time zone"),
	{"fields", FT_ANY, 0, 0, 100, NULL, NULL, NULL, NULL,
	 "Any other contact fields, usable as {placeholders}"},
	END
};
static const struct rfilter contact_filters[] = {
	{"campaign_id", "campaign_id", RF_INT, NULL, NULL},
	{"phone", "phone", RF_PHONE, NULL, NULL},
	{NULL, NULL, 0, NULL, NULL},
};
const struct resource res_contacts = {
	.name = "contact", .table = "contacts", .fields = contact_fields,
	.filters = contact_filters,
};

/* do-not-call */
static const struct field dnc_fields[] = {
	F("phone", FT_PHONE, FF_REQUIRED | FF_IMMUTABLE, NULL),
	FR("campaign_id", FF_NULLABLE | FF_IMMUTABLE, "campaigns",
	   "Campaign list; absent for the tenant-wide list"),
	FS("reason", 0, 0, 500, NULL),
	FS("source", FF_READONLY, 0, 0, "api, import or call"),
	END
};
static const struct rfilter dnc_filters[] = {
	{"phone", "phone", RF_PHONE, NULL, NULL},
	{"campaign_id", "campaign_id", RF_INT, NULL, NULL},
	{NULL, NULL, 0, NULL, NULL},
};
/* entries made through the API say so (imports and calls set their own) */
static int dnc_written(struct areq *r, int64_t id, const struct odict *doc,
		       const struct odict *old)
{
	struct db_val p[] = {DBV_INT(id)};
	(void)doc;

	if (old)
		return 0;
	return db_exec(r->db, NULL, "UPDATE dnc SET source = 'api' WHERE id = ?",
		       p, 1);
}

const struct resource res_dnc = {
	.name = "DNC entry", .table = "dnc", .fields = dnc_fields,
	.filters = dnc_filters, .writtenh = dnc_written,
};

/* webhooks */
static const char *const event_names[] = {
	"*", "call.initiated", "call.ringing", "call.answered", "call.ended",
	"conversation_started", "notification_delivered", "amd_hangup",
	"user_hangup", "campaign.completed", "error_http", "error_exception",
	NULL};
static const struct field event_item = {"event", FT_ENUM, 0, 0, 0, NULL,
					event_names, NULL, NULL, NULL};
static const struct field webhook_fields[] = {
	{"url", FT_URL, FF_REQUIRED, 0, 0, NULL, NULL, NULL, NULL,
	 "Receiver of event POSTs"},
	FS("description", 0, 0, 500, NULL),
	{"events", FT_ARRAY, 0, 0, 20, &event_item, NULL, NULL, "[\"*\"]",
	 "Events delivered; \"*\" for all"},
	FS("secret", FF_REQUIRED | FF_SECRET, 16, 256,
	   "HMAC-SHA256 signing secret (write-only)"),
	FB("active", 0, "true", NULL),
	END
};
const struct resource res_webhooks = {
	.name = "webhook", .table = "webhooks", .fields = webhook_fields,
};

static const struct field delivery_fields[] = {
	FR("webhook_id", FF_READONLY, "webhooks", NULL),
	FS("event", FF_READONLY, 0, 0, NULL),
	{"payload", FT_ANY, FF_READONLY, 0, 0, NULL, NULL, NULL, NULL, NULL},
	FS("status", FF_READONLY, 0, 0,
	   "pending, sending, delivered or failed"),
	FI("attempts", FF_READONLY, 0, 0, NULL, NULL),
	F("next_attempt_at", FT_TIME, FF_READONLY, NULL),
	FI("last_status", FF_READONLY, 0, 0, NULL, "HTTP status of the last attempt"),
	FS("last_error", FF_READONLY, 0, 0, NULL),
	F("delivered_at", FT_TIME, FF_READONLY, NULL),
	END
};
static const struct rfilter delivery_filters[] = {
	{"webhook_id", "webhook_id", RF_INT, NULL, NULL},
	{NULL, NULL, 0, NULL, NULL},
};
const struct resource res_deliveries = {
	.name = "delivery", .table = "webhook_outbox",
	.fields = delivery_fields, .filters = delivery_filters,
};

/* calls (written by telephony; read-only here) */
static const char *const directions[] = {"inbound", "outbound", NULL};
static const struct field call_fields[] = {
	FR("task_id", FF_READONLY, "call_tasks", NULL),
	FI("attempt", FF_READONLY, 0, 0, NULL, NULL),
	FS("direction", FF_READONLY, 0, 0, "inbound or outbound"),
	FS("from_number", FF_READONLY, 0, 0, NULL),
	FS("to_number", FF_READONLY, 0, 0, NULL),
	FR("trunk_id", FF_READONLY, "trunks", NULL),
	FR("agent_id", FF_READONLY, "agents", NULL),
	FR("campaign_id", FF_READONLY, "campaigns", NULL),
	FR("contact_id", FF_READONLY, "contacts", NULL),
	FS("sip_call_id", FF_READONLY, 0, 0, NULL),
	FS("status", FF_READONLY, 0, 0, "initiated, ringing, answered or ended"),
	F("ringing_at", FT_TIME, FF_READONLY, NULL),
	F("answered_at", FT_TIME, FF_READONLY, NULL),
	F("ended_at", FT_TIME, FF_READONLY, NULL),
	FI("sip_code", FF_READONLY, 0, 0, NULL, "Final SIP response code"),
	FS("hangup_cause", FF_READONLY, 0, 0, NULL),
	FS("hangup_by", FF_READONLY, 0, 0, "caller, agent or system"),
	FS("outcome", FF_READONLY, 0, 0,
	   "answered, busy, no_answer, rejected, failed, unreachable, voicemail"),
	FS("amd_result", FF_READONLY, 0, 0, "human, machine or unsure"),
	FI("amd_ms", FF_READONLY, 0, 0, NULL, "Time the AMD decision took"),
	FS("node", FF_READONLY, 0, 0, NULL),
	END
};
static const char *const call_status_values[] = {"active", "ended", NULL};
static const char *const call_status_sql[] = {"ended_at IS NULL",
					      "ended_at IS NOT NULL", NULL};
static const struct rfilter call_filters[] = {
	{"status", NULL, RF_SQL, call_status_values, call_status_sql},
	{"direction", "direction", RF_ENUM, directions, NULL},
	{"agent_id", "agent_id", RF_INT, NULL, NULL},
	{"campaign_id", "campaign_id", RF_INT, NULL, NULL},
	{"contact_id", "contact_id", RF_INT, NULL, NULL},
	{"outcome", "outcome", RF_TEXT, NULL, NULL},
	{"from", "created_at", RF_TIME_GE, NULL, NULL},
	{"to", "created_at", RF_TIME_LT, NULL, NULL},
	{NULL, NULL, 0, NULL, NULL},
};
const struct resource res_calls = {
	.name = "call", .table = "calls", .fields = call_fields,
	.filters = call_filters, .detailh = call_detail,
};

/* call tasks (the dialer's queue; read-only here) */
static const struct field task_fields[] = {
	FR("campaign_id", FF_READONLY, "campaigns", NULL),
	FR("contact_id", FF_READONLY, "contacts", NULL),
	FR("agent_id", FF_READONLY, "agents", NULL),
	FR("trunk_id", FF_READONLY, "trunks", NULL),
	FS("to_number", FF_READONLY, 0, 0, NULL),
	{"payload", FT_ANY, FF_READONLY, 0, 0, NULL, NULL, NULL, NULL,
	 "Per-call overrides (caller_name, llm_prompt, greeting)"},
	FS("status", FF_READONLY, 0, 0, "queued, dialing, done, failed, cancelled"),
	FI("attempt", FF_READONLY, 0, 0, NULL, NULL),
	FI("max_attempts", FF_READONLY, 0, 0, NULL, NULL),
	F("next_attempt_at", FT_TIME, FF_READONLY, NULL),
	FS("last_outcome", FF_READONLY, 0, 0, NULL),
	FS("final_outcome", FF_READONLY, 0, 0, NULL),
	END
};
static const struct rfilter task_filters[] = {
	{"campaign_id", "campaign_id", RF_INT, NULL, NULL},
	{"status", "status", RF_TEXT, NULL, NULL},
	{NULL, NULL, 0, NULL, NULL},
};
const struct resource res_call_tasks = {
	.name = "call task", .table = "call_tasks", .fields = task_fields,
	.filters = task_filters,
};

/* API keys: created by api/keys.c, listed and revoked generically */
static const struct field key_fields[] = {
	FS("name", 0, 0, 200, NULL),
	FS("prefix", FF_READONLY, 0, 0, "First characters of the key"),
	F("last_used_at", FT_TIME, FF_READONLY, NULL),
	F("revoked_at", FT_TIME, FF_READONLY, NULL),
	END
};
const struct resource res_api_keys = {
	.name = "API key", .table = "api_keys", .fields = key_fields,
};
