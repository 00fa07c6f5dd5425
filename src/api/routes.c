/* routes.c - the route table, and the endpoints that describe the server
 * itself: /health, /metrics and the OpenAPI document generated from the
 * same route table and field tables. */
#include <string.h>
#include <re.h>
#include "api/api.h"
#include "api/handlers.h"
#include "api/resource.h"
#include "api/schema.h"
#include "agent/rtcfg.h"
#include "config/config.h"
#include "core/metrics.h"
#include "core/util.h"
#include "store/db.h"

#define A  RT_AUTH
#define AJ (RT_AUTH | RT_JSON)

#define CRUD(base, res, tag, what)                                          \
	{"GET", base, res_list, A, &res, "List " what, tag},                \
	{"POST", base, res_create, AJ, &res, "Create " what, tag},          \
	{"GET", base "/{id}", res_get, A, &res, "Get one " what, tag},      \
	{"PATCH", base "/{id}", res_update, AJ, &res,                       \
	 "Update (JSON merge patch; PUT is accepted too) " what, tag},      \
	{"DELETE", base "/{id}", res_delete, A, &res, "Delete " what, tag}

static const struct route routes[] = {
	{"GET", "/health", api_health, 0, NULL,
	 "Liveness and store reachability", "system"},
	{"GET", "/metrics", api_metrics_h, RT_LOOP, NULL,
	 "Prometheus metrics", "system"},
	{"GET", "/api/v1/openapi.json", api_openapi, RT_LOOP, NULL,
	 "This document", "system"},

	{"GET", "/api/v1/agents/{id}/runtime-config", agent_runtime_config,
	 A, NULL, "Resolved configuration a call of this agent uses",
	 "agents"},
	{"GET", "/api/v1/agents/{id}/prompt-history", agent_prompt_history,
	 A, NULL, "Every change of prompt or scenario, newest first",
	 "agents"},
	CRUD("/api/v1/agents", res_agents, "agents", "agent"),
	{"POST", "/api/v1/trunks/{id}/check", trunk_check_h, A, NULL,
	 "Send OPTIONS to the trunk; stores reachability and RTT", "trunks"},
	CRUD("/api/v1/trunks", res_trunks, "trunks", "SIP trunk"),
	CRUD("/api/v1/phone-numbers", res_numbers, "phone-numbers",
	     "phone number"),
	{"POST", "/api/v1/campaigns/{id}/start", campaign_start_h, A, NULL,
	 "Start a draft campaign: its contacts get call tasks and the "
	 "dialer calls them (409 from any other state)", "campaigns"},
	{"POST", "/api/v1/campaigns/{id}/pause", campaign_pause_h, A, NULL,
	 "Pause a running campaign (calls in progress finish)", "campaigns"},
	{"POST", "/api/v1/campaigns/{id}/resume", campaign_resume_h, A, NULL,
	 "Resume a paused campaign", "campaigns"},
	{"POST", "/api/v1/campaigns/{id}/cancel", campaign_cancel_h, A, NULL,
	 "Cancel a campaign: queued tasks are cancelled, calls in progress "
	 "finish", "campaigns"},
	{"GET", "/api/v1/campaigns/{id}/stats", campaign_stats_h, A, NULL,
	 "Progress: tasks by status and final outcome, attempts, answer "
	 "rate, AMD results, average answered duration", "campaigns"},
	CRUD("/api/v1/campaigns", res_campaigns, "campaigns", "campaign"),
	{"POST", "/api/v1/contacts/import", contacts_import, A | RT_IMPORT,
	 NULL, "Import contacts from CSV or a JSON array (upsert by phone)",
	 "contacts"},
	CRUD("/api/v1/contacts", res_contacts, "contacts", "contact"),
	{"GET", "/api/v1/dnc/check", dnc_check, A, NULL,
	 "Is a number on a do-not-call list?", "dnc"},
	{"GET", "/api/v1/dnc", res_list, A, &res_dnc, "List DNC entries",
	 "dnc"},
	{"POST", "/api/v1/dnc", res_create, AJ, &res_dnc, "Add a DNC entry",
	 "dnc"},
	{"GET", "/api/v1/dnc/{id}", res_get, A, &res_dnc, "Get a DNC entry",
	 "dnc"},
	{"DELETE", "/api/v1/dnc/{id}", res_delete, A, &res_dnc,
	 "Remove a DNC entry", "dnc"},
	{"GET", "/api/v1/webhooks/{id}/deliveries", webhook_deliveries, A,
	 &res_deliveries, "Delivery attempts of a webhook", "webhooks"},
	CRUD("/api/v1/webhooks", res_webhooks, "webhooks", "webhook"),
	{"GET", "/api/v1/calls", res_list, A, &res_calls,
	 "List calls (status=active for live calls)", "calls"},
	{"POST", "/api/v1/calls", call_create, AJ, NULL,
	 "Place an outbound call (agent_id, to, trunk_id, from)", "calls"},
	{"GET", "/api/v1/calls/{id}/recording", call_recording, A, NULL,
	 "The call's recording: ?format=wav (stereo, caller left, agent "
	 "right) or mp3 (the mix); byte ranges", "calls"},
	{"POST", "/api/v1/calls/{id}/hangup", call_hangup_h, A, NULL,
	 "Hang up a call in progress", "calls"},
	{"POST", "/api/v1/calls/{id}/dtmf", call_dtmf_h, AJ, NULL,
	 "Send DTMF digits on a call in progress", "calls"},
	{"POST", "/api/v1/calls/{id}/transfer", call_transfer_h, AJ, NULL,
	 "Blind transfer (REFER) of a call in progress", "calls"},
	{"GET", "/api/v1/calls/{id}", res_get, A, &res_calls,
	 "Get a call with its events and transcript", "calls"},
	{"GET", "/api/v1/call-tasks", res_list, A, &res_call_tasks,
	 "List the dialer's call tasks", "calls"},
	{"GET", "/api/v1/call-tasks/{id}", res_get, A, &res_call_tasks,
	 "Get a call task", "calls"},
	{"GET", "/api/v1/api-keys", res_list, A, &res_api_keys,
	 "List API keys (never the keys themselves)", "api-keys"},
	{"POST", "/api/v1/api-keys", apikey_create_h, AJ, &res_api_keys,
	 "Create an API key; the key is in this response only",
	 "api-keys"},
	{"DELETE", "/api/v1/api-keys/{id}", apikey_revoke_h, A, NULL,
	 "Revoke an API key", "api-keys"},
	{"POST", "/api/voice-pipeline", voice_pipeline, A | RT_IMPORT, NULL,
	 "A WAV of the caller in (audio/wav or multipart 'file', "
	 "?agent_id=ID): transcript, reply text and reply WAV (base64) out",
	 "calls"},
	{"POST", "/api/outbound-call", outbound_call, AJ, NULL,
	 "Queue one outbound call (seed-compatible body)", "calls"},
};

const struct route *api_routes(size_t *np)
{
	*np = ARRAY_SIZE(routes);
	return routes;
}

int api_health(struct areq *r)
{
	struct db_res *rows = NULL;
	uint64_t t0 = util_mono_us();
	bool ok;
	int err = r->db ? db_exec(r->db, &rows, "SELECT 1", NULL, 0)
			: ENOTCONN;

	ok = !err;
	mem_deref(rows);
	return api_reply_text(r, ok ? 200 : 503, "application/json",
			      "{\"status\":\"%s\",\"version\":\"%s\","
			      "\"uptime_s\":%.3f,\"store\":{\"ok\":%s,"
			      "\"backend\":\"%s\",\"latency_ms\":%.3f}}",
			      ok ? "ok" : "degraded", PARLEY_VERSION,
			      api_uptime(r->api), ok ? "true" : "false",
			      !strncmp(api_config(r->api)->db_url, "postgres", 8) ?
			      "postgresql" : "sqlite",
			      (double)(util_mono_us() - t0) / 1000.0);
}

struct metrics_args {
	const struct metrics *m;
	const struct metrics_gauges *g;
};

/* %H hands its print function one argument */
static int print_metrics(struct re_printf *pf, void *arg)
{
	const struct metrics_args *a = arg;

	return metrics_print(pf, a->m, a->g);
}

int api_metrics_h(struct areq *r)
{
	struct metrics_gauges g = {0};
	struct metrics_args a = {api_metrics(r->api), &g};

	g.uptime_s = api_uptime(r->api);
	api_gauges(r->api, &g.http_inflight, &g.workers_pending);
	g.rtcfg_entries = rtcfg_count(api_rtcfg(r->api));
	r->resp = mbuf_alloc(4096);
	if (!r->resp)
		return ENOMEM;
	r->status = 200;
	r->ctype = "text/plain; version=0.0.4; charset=utf-8";
	return mbuf_printf(r->resp, "%H", print_metrics, &a);
}

/* ---- OpenAPI ---- */

static bool is_generic(api_h *h)
{
	return h == res_list || h == res_get || h == res_create ||
	       h == res_update || h == res_delete;
}

static int print_req_schema(struct re_printf *pf, void *arg)
{
	const struct route *rt = arg;
	const struct resource *res = rt->data;

	return schema_print_openapi(pf, res->fields, true);
}

static int print_resp_schema(struct re_printf *pf, void *arg)
{
	const struct route *rt = arg;
	const struct resource *res = rt->data;

	return schema_print_openapi(pf, res->fields, false);
}

static int print_op(struct re_printf *pf, void *arg)
{
	const struct route *rt = arg;
	const struct resource *res = rt->data;
	char lower[8];
	int err;
	size_t i;

	for (i = 0; rt->method[i] && i < sizeof(lower) - 1; i++)
		lower[i] = (char)(rt->method[i] | 0x20);
	lower[i] = '\0';

	err = re_hprintf(pf, "\"%s\":{\"summary\":\"%s\",\"tags\":[\"%s\"],"
			 "\"operationId\":\"%s%s\"", lower, rt->summary,
			 rt->tag, lower, rt->pattern);
	if (strstr(rt->pattern, "{id}"))
		err |= re_hprintf(pf, ",\"parameters\":[{\"name\":\"id\","
				  "\"in\":\"path\",\"required\":true,"
				  "\"schema\":{\"type\":\"integer\"}}]");
	if (rt->flags & RT_AUTH)
		err |= re_hprintf(pf, ",\"security\":[{\"bearer\":[]},"
				  "{\"apiKey\":[]}]");
	if ((rt->flags & RT_JSON) && res &&
	    (rt->h == res_create || rt->h == res_update ||
	     rt->h == apikey_create_h))
		err |= re_hprintf(pf, ",\"requestBody\":{\"required\":true,"
				  "\"content\":{\"application/json\":"
				  "{\"schema\":%H}}}", print_req_schema, rt);
	else if (rt->flags & (RT_JSON | RT_IMPORT))
		err |= re_hprintf(pf, ",\"requestBody\":{\"required\":true,"
				  "\"content\":{\"application/json\":"
				  "{\"schema\":{\"type\":\"object\"}}%s}}",
				  (rt->flags & RT_IMPORT) ?
				  ",\"text/csv\":{\"schema\":{\"type\":"
				  "\"string\"}}" : "");

	err |= re_hprintf(pf, ",\"responses\":{");
	if (rt->h == res_delete || rt->h == apikey_revoke_h)
		err |= re_hprintf(pf, "\"204\":{\"description\":\"Done\"}");
	else if (res && is_generic(rt->h) && rt->h == res_list)
		err |= re_hprintf(pf, "\"200\":{\"description\":\"A page\","
				  "\"content\":{\"application/json\":"
				  "{\"schema\":{\"type\":\"object\","
				  "\"properties\":{\"data\":{\"type\":"
				  "\"array\",\"items\":%H},\"next_cursor\":"
				  "{\"type\":\"string\",\"nullable\":true}}}}}}",
				  print_resp_schema, rt);
	else if (res && (is_generic(rt->h) || rt->h == apikey_create_h))
		err |= re_hprintf(pf, "\"%s\":{\"description\":\"The %s\","
				  "\"content\":{\"application/json\":"
				  "{\"schema\":%H}}}",
				  rt->h == res_create ||
				  rt->h == apikey_create_h ? "201" : "200",
				  res->name, print_resp_schema, rt);
	else
		err |= re_hprintf(pf, "\"200\":{\"description\":\"OK\"}");
	err |= re_hprintf(pf, ",\"4XX\":{\"description\":\"Error\","
			  "\"content\":{\"application/json\":{\"schema\":"
			  "{\"$ref\":\"#/components/schemas/Error\"}}}}}}");
	return err;
}

static int print_openapi(struct re_printf *pf, void *arg)
{
	const char *open = NULL;
	int err;
	(void)arg;

	err = re_hprintf(pf, "{\"openapi\":\"3.0.3\",\"info\":{\"title\":"
			 "\"Parley API\",\"version\":\"%s\"},\"paths\":{",
			 PARLEY_VERSION);
	/* operations of one path are printed together, whatever their
	 * order in the table */
	for (size_t i = 0; i < ARRAY_SIZE(routes) && !err; i++) {
		bool seen = false, first = true;

		for (size_t j = 0; j < i; j++)
			if (!strcmp(routes[j].pattern, routes[i].pattern))
				seen = true;
		if (seen)
			continue;
		err |= re_hprintf(pf, "%s\"%s\":{", open ? "," : "",
				  routes[i].pattern);
		open = routes[i].pattern;
		for (size_t j = i; j < ARRAY_SIZE(routes); j++) {
			if (strcmp(routes[j].pattern, routes[i].pattern))
				continue;
			err |= re_hprintf(pf, "%s%H", first ? "" : ",",
					  print_op, (void *)&routes[j]);
			first = false;
		}
		err |= re_hprintf(pf, "}");
	}
	err |= re_hprintf(pf, "},\"components\":{\"securitySchemes\":{"
			  "\"bearer\":{\"type\":\"http\",\"scheme\":\"bearer\"},"
			  "\"apiKey\":{\"type\":\"apiKey\",\"in\":\"header\","
			  "\"name\":\"X-API-Key\"}},\"schemas\":{\"Error\":{"
			  "\"type\":\"object\",\"properties\":{\"error\":{"
			  "\"type\":\"object\",\"properties\":{\"code\":{"
			  "\"type\":\"string\"},\"message\":{\"type\":"
			  "\"string\"},\"field\":{\"type\":\"string\"}},"
			  "\"required\":[\"code\",\"message\"]}}}}}}");
	return err;
}

int api_openapi(struct areq *r)
{
	r->resp = mbuf_alloc(65536);
	if (!r->resp)
		return ENOMEM;
	r->status = 200;
	r->ctype = "application/json";
	return mbuf_printf(r->resp, "%H", print_openapi, NULL);
}
