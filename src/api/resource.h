/* resource.h - generic list/get/create/update/delete over one table,
 * driven by a resource's field table (schema.h). Every statement is
 * scoped by tenant_id; rows of other tenants answer 404. */
#ifndef PARLEY_RESOURCE_H
#define PARLEY_RESOURCE_H

#include <stdbool.h>
#include <stdint.h>

struct areq;
struct odict;
struct field;
struct db_res;

/** A list filter from the query string (?name=value). */
struct rfilter {
	const char *name;
	const char *column;
	enum { RF_INT, RF_TEXT, RF_PHONE, RF_ENUM, RF_TIME_GE, RF_TIME_LT,
	       RF_SQL } type;
	const char *const *values;   /* RF_ENUM allowed values; RF_SQL values */
	const char *const *sql;      /* RF_SQL: condition per value */
};

struct resource {
	const char *name;            /* singular, for messages: "agent" */
	const char *table;
	const struct field *fields;  /* {NULL}-ended */
	const struct rfilter *filters;  /* {NULL}-ended or NULL */
	/* cross-field checks and derived values before a write; the doc
	 * may be modified; answer with api_error and return non-zero */
	int (*validateh)(struct areq *r, struct odict *doc, int64_t id);
	/* inside the write's transaction, after INSERT/UPDATE */
	int (*writtenh)(struct areq *r, int64_t id, const struct odict *doc,
			const struct odict *old);
	/* add members to a single-row response (GET one) */
	int (*detailh)(struct areq *r, int64_t id, struct odict *out);
	/* after a committed write or delete */
	void (*changedh)(struct areq *r, int64_t id);
};

int res_list(struct areq *r);
int res_get(struct areq *r);
int res_create(struct areq *r);
int res_update(struct areq *r);
int res_delete(struct areq *r);

/** Load a row (tenant-scoped) as the internal document: secrets kept,
 * read-only fields included when `all`. ENOENT when absent. */
int res_load(struct areq *r, const struct resource *res, int64_t id,
	     bool all, struct odict **docp);

/** Row of a SELECT (columns "id, created_at, updated_at, fields...") to
 * a response object (secrets redacted). */
int res_row_json(const struct resource *res, const struct db_res *rows,
		 size_t row, struct odict **outp);

/** 0 when table has row id for this tenant, ENOENT, or a store error. */
int res_owned(struct areq *r, const char *table, int64_t id);

/** Every FT_REF member of doc must name a row of this tenant; answers
 * 400 invalid_reference (or the store error) and returns non-zero. */
int res_check_refs(struct areq *r, const struct field *fields,
		   const struct odict *doc);

/** Insert a validated document; *idp gets the new id. */
int res_insert(struct areq *r, const struct resource *res,
	       const struct odict *doc, int64_t *idp);

/** Overwrite the writable columns of a row with a validated document. */
int res_update_row(struct areq *r, const struct resource *res, int64_t id,
		   const struct odict *doc);

/** The column list "id,created_at,updated_at,f1,f2,..." of a resource. */
int res_columns(char **strp, const struct resource *res);

/* resources defined in api/resources.c */
extern const struct resource res_agents, res_trunks, res_numbers,
	res_campaigns, res_contacts, res_dnc, res_webhooks, res_calls,
	res_call_tasks, res_api_keys, res_deliveries;

#endif
