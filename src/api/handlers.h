/* handlers.h - API handlers and resource hooks beyond generic CRUD. */
#ifndef PARLEY_HANDLERS_H
#define PARLEY_HANDLERS_H

#include <stdint.h>
#include "agent/rtcfg.h"

struct areq;
struct db;
struct odict;
struct rtcfg_cache;


/* agents.c */
/** The runtime config used when the store cannot be reached. */
int agent_defaults_json(char **jsonp);
/** The agent's resolved runtime config (secrets included) through the
 * cache, for calls; on a worker thread with its connection (may be NULL
 * when the store is down). */
int agent_runtime_json(struct rtcfg_cache *cache, struct db *db,
		       int64_t tenant_id, int64_t agent_id, char **jsonp,
		       enum rtcfg_source *srcp);
int agent_validate(struct areq *r, struct odict *doc, int64_t id);
int agent_written(struct areq *r, int64_t id, const struct odict *doc,
		  const struct odict *old);
void agent_changed(struct areq *r, int64_t id);
int agent_runtime_config(struct areq *r);
int agent_prompt_history(struct areq *r);

/* calls.c */
int call_detail(struct areq *r, int64_t id, struct odict *out);
int outbound_call(struct areq *r);
int voice_pipeline(struct areq *r);
int call_recording(struct areq *r);

/* live.c: calls in progress and trunk checks (need telephony) */
int call_create(struct areq *r);
int call_hangup_h(struct areq *r);
int call_dtmf_h(struct areq *r);
int call_transfer_h(struct areq *r);
int trunk_check_h(struct areq *r);

/* campaigns.c: life cycle and statistics */
int campaign_start_h(struct areq *r);
int campaign_pause_h(struct areq *r);
int campaign_resume_h(struct areq *r);
int campaign_cancel_h(struct areq *r);
int campaign_stats_h(struct areq *r);

/* contacts.c */
int contacts_import(struct areq *r);
int dnc_check(struct areq *r);

/* keys.c */
int apikey_create_h(struct areq *r);
int apikey_revoke_h(struct areq *r);

/* webhooks (generic + deliveries list) */
int webhook_deliveries(struct areq *r);

#endif
