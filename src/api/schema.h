/* schema.h - declarative field tables for API resources.
 *
 * One table describes a resource's JSON shape once; from it come request
 * validation (unknown fields, wrong types, ranges, formats), defaults,
 * the write-only treatment of secrets, row <-> JSON mapping (store.c
 * uses the same table for columns) and the OpenAPI document.
 */
#ifndef PARLEY_SCHEMA_H
#define PARLEY_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct odict;
struct odict_entry;
struct re_printf;

enum ftype {
	FT_STRING,    /* min/max: length in bytes */
	FT_INT,       /* min/max: value */
	FT_NUMBER,    /* min/max: value (integers accepted) */
	FT_BOOL,
	FT_ENUM,      /* enumv */
	FT_OBJECT,    /* sub: fields of the object */
	FT_ARRAY,     /* sub: one field describing each item; max: items */
	FT_ANY,       /* any JSON object (free-form; max: members) */
	FT_PHONE,     /* phone number, normalised to E.164 */
	FT_TZ,        /* IANA time zone */
	FT_HHMM,      /* "HH:MM" */
	FT_URL,       /* http:// or https:// URL */
	FT_SIPURI,    /* sip: or sips: URI */
	FT_COUNTRY,   /* ISO 3166-1 alpha-2 */
	FT_IPNET,     /* IPv4/IPv6 address with optional /prefix */
	FT_REF,       /* id of another row of the same tenant (table: ref) */
	FT_TIME,      /* timestamp: ms in the store, RFC 3339 in JSON */
};

enum {
	FF_REQUIRED = 1 << 0,  /* must be present on create */
	FF_SECRET   = 1 << 1,  /* write-only: never in responses */
	FF_READONLY = 1 << 2,  /* set by Parley, refused in requests */
	FF_NULLABLE = 1 << 3,  /* JSON null accepted (stored as NULL) */
	FF_IMMUTABLE = 1 << 4, /* settable on create only */
};

struct field {
	const char *name;
	enum ftype type;
	unsigned flags;
	double min, max;              /* 0,0: no bound */
	const struct field *sub;      /* FT_OBJECT: {NULL}-ended; FT_ARRAY: item */
	const char *const *enumv;     /* FT_ENUM: NULL-ended */
	const char *ref;              /* FT_REF: table name */
	const char *def;              /* default, as a JSON value text */
	const char *doc;
};

/** A validation failure, ready for the API's error body. */
struct verr {
	const char *code;     /* "unknown_field", "invalid_type", ... */
	char field[128];      /* dotted path, e.g. "llm.temperature" */
	char msg[256];
};

struct schema_ctx {
	const char *default_country;   /* for FT_PHONE */
};

/**
 * Validate `in` against fields, producing a new normalised object in *outp
 * (phones in E.164; defaults applied when `create`). Read-only fields in
 * the input are errors. 0, or EINVAL with *ve filled, or ENOMEM.
 */
int schema_check(struct odict **outp, const struct field *fields,
		 const struct odict *in, bool create,
		 const struct schema_ctx *ctx, struct verr *ve);

/**
 * JSON merge patch (RFC 7396) of patch onto base into a new object:
 * objects merge member-wise, null removes a member, others replace.
 */
int schema_merge(struct odict **outp, const struct odict *base,
		 const struct odict *patch);

/**
 * Copy of obj for a response: secret fields removed and replaced by
 * "<name>_set": true|false, recursively through objects and arrays.
 */
int schema_redact(struct odict **outp, const struct field *fields,
		  const struct odict *obj);

/** Deep copy of one entry into dst (under its own key, or `key`). */
int odict_copy_entry(struct odict *dst, const char *key,
		     const struct odict_entry *e);

/** Find a field by name in a {NULL}-ended table. */
const struct field *schema_field(const struct field *fields,
				 const char *name);

/** Print a JSON Schema (OpenAPI 3.0 dialect) for the fields. */
int schema_print_openapi(struct re_printf *pf, const struct field *fields,
			 bool for_request);

#endif
