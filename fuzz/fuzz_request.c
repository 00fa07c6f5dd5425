/* fuzz_request.c - request-body handling as the API does it: strict JSON
 * parse, then validation against a resource's field table (create and
 * update), merge patch and redaction. Property: validation is
 * idempotent — a normalised document validates to the same document. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <re.h>
#include "api/resource.h"
#include "api/schema.h"
#include "json/json.h"

static const struct resource *const resources[] = {
	&res_agents, &res_trunks, &res_numbers, &res_campaigns, &res_contacts,
	&res_dnc, &res_webhooks, &res_api_keys,
};

static void check(const struct resource *res, const struct odict *in,
		  bool create)
{
	struct schema_ctx ctx = {"US"};
	struct odict *out = NULL, *again = NULL, *red = NULL, *merged = NULL;
	char *a = NULL, *b = NULL;
	struct verr ve;

	if (schema_check(&out, res->fields, in, create, &ctx, &ve)) {
		if (!ve.code || !ve.msg[0])
			abort();   /* every refusal names its reason */
		return;
	}
	if (schema_check(&again, res->fields, out, create, &ctx, &ve))
		abort();
	if (json_encode(&a, out) || json_encode(&b, again) || strcmp(a, b))
		abort();
	if (schema_redact(&red, res->fields, out))
		abort();
	if (schema_merge(&merged, out, in))
		abort();
	mem_deref(a);
	mem_deref(b);
	mem_deref(out);
	mem_deref(again);
	mem_deref(red);
	mem_deref(merged);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct resource *res;
	struct odict *o = NULL;
	struct json_err je;
	int type;

	if (size < 1)
		return 0;
	res = resources[data[0] % (sizeof(resources) / sizeof(*resources))];
	if (json_parse(&o, &type, (const char *)data + 1, size - 1, &je))
		return 0;
	if (type == ODICT_OBJECT) {
		check(res, o, true);
		check(res, o, false);
	}
	mem_deref(o);
	return 0;
}
