/* handlers.h - API handlers and resource hooks beyond generic CRUD. */
#ifndef PARLEY_HANDLERS_H
#define PARLEY_HANDLERS_H

#include <stdint.h>

struct areq;
struct odict;

/* agents.c */
/** The runtime config used when the store cannot be reached. */
int agent_defaults_json(char **jsonp);
int agent_validate(struct areq *r, struct odict *doc, int64_t id);
int agent_written(struct areq *r, int64_t id, const struct odict *doc,
		  const struct odict *old);
void agent_changed(struct areq *r, int64_t id);
int agent_runtime_config(struct areq *r);
int agent_prompt_history(struct areq *r);

/* calls.c */
int call_detail(struct areq *r, int64_t id, struct odict *out);
int outbound_call(struct areq *r);

/* contacts.c */
int contacts_import(struct areq *r);
int dnc_check(struct areq *r);

/* keys.c */
int apikey_create_h(struct areq *r);
int apikey_revoke_h(struct areq *r);

/* webhooks (generic + deliveries list) */
int webhook_deliveries(struct areq *r);

#endif
