/* schema.c - validation, defaults, redaction and OpenAPI text from the
 * declarative field tables (see schema.h). */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <re.h>
#include "api/schema.h"
#include "contacts/e164.h"
#include "core/util.h"
#include "json/json.h"

static const char *type_name(enum odict_type t)
{
	switch (t) {
	case ODICT_OBJECT: return "object";
	case ODICT_ARRAY:  return "array";
	case ODICT_STRING: return "string";
	case ODICT_INT:    return "integer";
	case ODICT_DOUBLE: return "number";
	case ODICT_BOOL:   return "boolean";
	default:           return "null";
	}
}

static int fail(struct verr *ve, const char *code, const char *path,
		const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int fail(struct verr *ve, const char *code, const char *path,
		const char *fmt, ...)
{
	va_list ap;

	ve->code = code;
	snprintf(ve->field, sizeof(ve->field), "%s", path);
	va_start(ap, fmt);
	vsnprintf(ve->msg, sizeof(ve->msg), fmt, ap);
	va_end(ap);
	return EINVAL;
}

const struct field *schema_field(const struct field *fields,
				 const char *name)
{
	for (const struct field *f = fields; f && f->name; f++)
		if (!strcmp(f->name, name))
			return f;
	return NULL;
}

int odict_copy_entry(struct odict *dst, const char *key,
		     const struct odict_entry *e)
{
	const char *k = key ? key : e->key;

	switch (e->type) {
	case ODICT_OBJECT:
	case ODICT_ARRAY: {
		struct odict *sub;
		int err = odict_alloc(&sub, 8);
		if (err)
			return err;
		for (struct le *le = e->u.odict->lst.head; le && !err;
		     le = le->next)
			err = odict_copy_entry(sub, NULL, le->data);
		if (!err)
			err = odict_entry_add(dst, k, e->type, sub);
		mem_deref(sub);
		return err;
	}
	case ODICT_STRING:
		return odict_entry_add(dst, k, e->type, e->u.str);
	case ODICT_INT:
		return odict_entry_add(dst, k, e->type, e->u.integer);
	case ODICT_DOUBLE:
		return odict_entry_add(dst, k, e->type, e->u.dbl);
	case ODICT_BOOL:
		return odict_entry_add(dst, k, e->type, e->u.boolean);
	default:
		return odict_entry_add(dst, k, ODICT_NULL);
	}
}

static bool ipnet_valid(const char *s)
{
	char addr[64];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	struct sa sa;
	int max;

	if (n == 0 || n >= sizeof(addr))
		return false;
	memcpy(addr, s, n);
	addr[n] = '\0';
	if (sa_set_str(&sa, addr, 0))
		return false;
	if (!slash)
		return true;
	max = sa_af(&sa) == AF_INET ? 32 : 128;
	if (!slash[1] || strlen(slash + 1) > 3)
		return false;
	for (const char *p = slash + 1; *p; p++)
		if (*p < '0' || *p > '9')
			return false;
	return atoi(slash + 1) <= max;
}

/* http(s)://[userinfo@]host[:port][/path][?query][#fragment]; libre's
 * uri_decode() parses SIP URIs and refuses most of these */
static bool url_valid(const char *s)
{
	const char *p, *end, *host;
	unsigned port = 0;

	if (!strncmp(s, "http://", 7))
		p = s + 7;
	else if (!strncmp(s, "https://", 8))
		p = s + 8;
	else
		return false;
	for (const char *q = s; *q; q++)
		if ((unsigned char)*q <= 0x20 || *q == 0x7f)
			return false;

	end = p + strcspn(p, "/?#");
	host = p;
	for (const char *q = p; q < end; q++)
		if (*q == '@')
			host = q + 1;

	if (host < end && *host == '[') {
		const char *rb = memchr(host, ']', (size_t)(end - host));
		char addr[64];
		struct sa sa;
		size_t n = rb ? (size_t)(rb - host - 1) : 0;

		if (!n || n >= sizeof(addr))
			return false;
		memcpy(addr, host + 1, n);
		addr[n] = '\0';
		if (sa_set_str(&sa, addr, 0) || sa_af(&sa) != AF_INET6)
			return false;
		p = rb + 1;
	}
	else {
		for (p = host; p < end && (isalnum((unsigned char)*p) ||
					   strchr("-._~%", *p)); p++)
			;
		if (p == host)
			return false;
	}
	if (p == end)
		return true;
	if (*p != ':' || end - p < 2 || end - p > 6)
		return false;
	for (++p; p < end; p++) {
		if (*p < '0' || *p > '9')
			return false;
		port = port * 10 + (unsigned)(*p - '0');
	}
	return port > 0 && port <= 65535;
}

static bool sipuri_valid(const char *s)
{
	struct uri uri;
	struct pl pl;

	if (strncmp(s, "sip:", 4) && strncmp(s, "sips:", 5))
		return false;
	/* uri_decode() does not anchor its match: no blanks or control
	 * characters (they would end up in SIP headers) */
	for (const char *q = s; *q; q++)
		if ((unsigned char)*q <= 0x20 || *q == 0x7f)
			return false;
	pl_set_str(&pl, s);
	return uri_decode(&uri, &pl) == 0 && uri.host.l > 0 &&
	       !pl_strchr(&uri.host, '@');
}

static int check_value(struct odict *out, const char *key,
		       const struct field *f, const struct odict_entry *e,
		       bool create, const struct schema_ctx *ctx,
		       const char *path, struct verr *ve);

static int check_object(struct odict **outp, const struct field *fields,
			const struct odict *in, bool create,
			const struct schema_ctx *ctx, const char *prefix,
			struct verr *ve)
{
	struct odict *out;
	char path[128];
	int err;

	err = odict_alloc(&out, 8);
	if (err)
		return err;

	/* members the table does not know */
	for (struct le *le = in ? in->lst.head : NULL; le; le = le->next) {
		const struct odict_entry *e = le->data;
		const struct field *f = schema_field(fields, e->key);

		snprintf(path, sizeof(path), "%s%s%s", prefix,
			 *prefix ? "." : "", e->key);
		if (!f) {
			err = fail(ve, "unknown_field", path,
				   "unknown field '%s'", path);
			goto out;
		}
		if (f->flags & FF_READONLY) {
			err = fail(ve, "read_only_field", path,
				   "field '%s' is set by Parley and cannot "
				   "be written", path);
			goto out;
		}
	}

	for (const struct field *f = fields; f->name; f++) {
		const struct odict_entry *e = in ? odict_lookup(in, f->name)
						 : NULL;

		snprintf(path, sizeof(path), "%s%s%s", prefix,
			 *prefix ? "." : "", f->name);

		if (f->flags & FF_READONLY)
			continue;

		if (!e) {
			if (create && (f->flags & FF_REQUIRED)) {
				err = fail(ve, "missing_field", path,
					   "field '%s' is required", path);
				goto out;
			}
			if (create && f->def) {
				struct odict *tmp;
				char *doc = NULL;
				int t;

				err = re_sdprintf(&doc, "{\"v\":%s}", f->def);
				if (err)
					goto out;
				err = json_parse(&tmp, &t, doc, strlen(doc),
						 NULL);
				mem_deref(doc);
				if (err) {
					err = fail(ve, "internal", path,
						   "bad default");
					goto out;
				}
				err = check_value(out, f->name, f,
						  odict_lookup(tmp, "v"), create,
						  ctx, path, ve);
				mem_deref(tmp);
				if (err)
					goto out;
			}
			else if (create && f->type == FT_OBJECT) {
				/* absent objects get their members' defaults */
				struct odict *sub;
				err = check_object(&sub, f->sub, NULL, create,
						   ctx, path, ve);
				if (err)
					goto out;
				if (odict_count(sub, false))
					err = odict_entry_add(out, f->name,
							      ODICT_OBJECT,
							      sub);
				mem_deref(sub);
				if (err)
					goto out;
			}
			continue;
		}

		err = check_value(out, f->name, f, e, create, ctx, path, ve);
		if (err)
			goto out;
	}

 out:
	if (err)
		mem_deref(out);
	else
		*outp = out;
	return err;
}

static int check_value(struct odict *out, const char *key,
		       const struct field *f, const struct odict_entry *e,
		       bool create, const struct schema_ctx *ctx,
		       const char *path, struct verr *ve)
{
	const char *s = e->type == ODICT_STRING ? e->u.str : NULL;
	int err;

	if (e->type == ODICT_NULL) {
		/* in a merge patch (!create) null removes the member; the
		 * merged document is validated as a whole afterwards */
		if (!create || (f->flags & FF_NULLABLE) ||
		    ((f->flags & FF_SECRET) && !(f->flags & FF_REQUIRED)))
			return odict_entry_add(out, key, ODICT_NULL);
		return fail(ve, "invalid_type", path,
			    "field '%s' cannot be null", path);
	}

	switch (f->type) {
	case FT_STRING:
	case FT_ENUM:
	case FT_PHONE:
	case FT_TZ:
	case FT_HHMM:
	case FT_URL:
	case FT_SIPURI:
	case FT_COUNTRY:
	case FT_IPNET:
	case FT_TIME:
		if (!s)
			return fail(ve, "invalid_type", path,
				    "field '%s' must be a string, not %s",
				    path, type_name(e->type));
		break;
	case FT_INT:
	case FT_REF:
		if (e->type != ODICT_INT)
			return fail(ve, "invalid_type", path,
				    "field '%s' must be an integer, not %s",
				    path, type_name(e->type));
		break;
	case FT_NUMBER:
		if (e->type != ODICT_INT && e->type != ODICT_DOUBLE)
			return fail(ve, "invalid_type", path,
				    "field '%s' must be a number, not %s",
				    path, type_name(e->type));
		break;
	case FT_BOOL:
		if (e->type != ODICT_BOOL)
			return fail(ve, "invalid_type", path,
				    "field '%s' must be true or false, not %s",
				    path, type_name(e->type));
		return odict_entry_add(out, key, ODICT_BOOL, e->u.boolean);
	case FT_OBJECT:
	case FT_ANY:
		if (e->type != ODICT_OBJECT)
			return fail(ve, "invalid_type", path,
				    "field '%s' must be an object, not %s",
				    path, type_name(e->type));
		break;
	case FT_ARRAY:
		if (e->type != ODICT_ARRAY)
			return fail(ve, "invalid_type", path,
				    "field '%s' must be an array, not %s",
				    path, type_name(e->type));
		break;
	}

	switch (f->type) {
	case FT_STRING: {
		size_t n = strlen(s);
		if (f->min > 0 && n < f->min)
			return fail(ve, "invalid_value", path,
				    "field '%s' must not be shorter than %.0f "
				    "characters", path, f->min);
		if (f->max > 0 && n > f->max)
			return fail(ve, "invalid_value", path,
				    "field '%s' must not be longer than %.0f "
				    "bytes", path, f->max);
		return odict_entry_add(out, key, ODICT_STRING, s);
	}
	case FT_ENUM:
		for (const char *const *v = f->enumv; *v; v++)
			if (!strcmp(*v, s))
				return odict_entry_add(out, key, ODICT_STRING,
						       s);
		{
			char list[200] = "";
			for (const char *const *v = f->enumv; *v; v++) {
				strncat(list, *v, sizeof(list) -
					strlen(list) - 3);
				if (v[1])
					strncat(list, ", ", sizeof(list) -
						strlen(list) - 1);
			}
			return fail(ve, "invalid_value", path,
				    "field '%s' must be one of: %s", path,
				    list);
		}
	case FT_PHONE: {
		char num[E164_MAXLEN + 1];
		const char *why = "invalid";
		if (e164_normalize(num, s, ctx ? ctx->default_country : NULL,
				   &why))
			return fail(ve, "invalid_value", path,
				    "field '%s' is not a valid phone number: "
				    "%s", path, why);
		return odict_entry_add(out, key, ODICT_STRING, num);
	}
	case FT_TZ:
		if (!util_tz_valid(s))
			return fail(ve, "invalid_value", path,
				    "field '%s' must be an IANA time zone such "
				    "as Europe/London", path);
		return odict_entry_add(out, key, ODICT_STRING, s);
	case FT_HHMM:
		if (!util_hhmm_valid(s))
			return fail(ve, "invalid_value", path,
				    "field '%s' must be a time HH:MM", path);
		return odict_entry_add(out, key, ODICT_STRING, s);
	case FT_URL:
		if (strlen(s) > 2048 || !url_valid(s))
			return fail(ve, "invalid_value", path,
				    "field '%s' must be an http:// or https:// "
				    "URL", path);
		return odict_entry_add(out, key, ODICT_STRING, s);
	case FT_SIPURI:
		if (strlen(s) > 512 || !sipuri_valid(s))
			return fail(ve, "invalid_value", path,
				    "field '%s' must be a SIP URI such as "
				    "sip:host:5060", path);
		return odict_entry_add(out, key, ODICT_STRING, s);
	case FT_COUNTRY:
		if (!e164_country_known(s))
			return fail(ve, "invalid_value", path,
				    "field '%s' must be an ISO 3166-1 "
				    "alpha-2 country code", path);
		{
			char cc[3] = {(char)toupper((unsigned char)s[0]),
				      (char)toupper((unsigned char)s[1]), 0};
			return odict_entry_add(out, key, ODICT_STRING, cc);
		}
	case FT_IPNET:
		if (!ipnet_valid(s))
			return fail(ve, "invalid_value", path,
				    "field '%s' must be an IP address or "
				    "network (10.0.0.0/8)", path);
		return odict_entry_add(out, key, ODICT_STRING, s);
	case FT_TIME: {
		int64_t ms;
		if (util_parse_time(&ms, s))
			return fail(ve, "invalid_value", path,
				    "field '%s' must be an RFC 3339 time", path);
		return odict_entry_add(out, key, ODICT_STRING, s);
	}
	case FT_INT:
		if ((f->min || f->max) &&
		    (e->u.integer < f->min || e->u.integer > f->max))
			return fail(ve, "invalid_value", path,
				    "field '%s' must be from %.0f to %.0f",
				    path, f->min, f->max);
		return odict_entry_add(out, key, ODICT_INT, e->u.integer);
	case FT_REF:
		if (e->u.integer <= 0)
			return fail(ve, "invalid_value", path,
				    "field '%s' must be a positive id", path);
		return odict_entry_add(out, key, ODICT_INT, e->u.integer);
	case FT_NUMBER: {
		double v = e->type == ODICT_INT ? (double)e->u.integer
						: e->u.dbl;
		if ((f->min || f->max) && (v < f->min || v > f->max))
			return fail(ve, "invalid_value", path,
				    "field '%s' must be from %g to %g", path,
				    f->min, f->max);
		return odict_entry_add(out, key, ODICT_DOUBLE, v);
	}
	case FT_ANY:
		if (f->max > 0 && odict_count(e->u.odict, true) > f->max)
			return fail(ve, "invalid_value", path,
				    "field '%s' has more than %.0f members",
				    path, f->max);
		return odict_copy_entry(out, key, e);
	case FT_OBJECT: {
		struct odict *sub;
		err = check_object(&sub, f->sub, e->u.odict, create, ctx,
				   path, ve);
		if (err)
			return err;
		err = odict_entry_add(out, key, ODICT_OBJECT, sub);
		mem_deref(sub);
		return err;
	}
	case FT_ARRAY: {
		struct odict *arr;
		unsigned i = 0;
		if (f->max > 0 && odict_count(e->u.odict, false) > f->max)
			return fail(ve, "invalid_value", path,
				    "field '%s' has more than %.0f items",
				    path, f->max);
		err = odict_alloc(&arr, 8);
		if (err)
			return err;
		for (struct le *le = e->u.odict->lst.head; le && !err;
		     le = le->next, i++) {
			char ipath[128], k[16];
			snprintf(ipath, sizeof(ipath), "%s[%u]", path, i);
			snprintf(k, sizeof(k), "%u", i);
			err = check_value(arr, k, f->sub, le->data, create,
					  ctx, ipath, ve);
		}
		if (!err)
			err = odict_entry_add(out, key, ODICT_ARRAY, arr);
		mem_deref(arr);
		return err;
	}
	default:
		break;
	}
	return fail(ve, "internal", path, "unsupported field type");
}

int schema_check(struct odict **outp, const struct field *fields,
		 const struct odict *in, bool create,
		 const struct schema_ctx *ctx, struct verr *ve)
{
	if (!outp || !fields || !ve)
		return EINVAL;
	return check_object(outp, fields, in, create, ctx, "", ve);
}

int schema_merge(struct odict **outp, const struct odict *base,
		 const struct odict *patch)
{
	struct odict *out;
	int err;

	err = odict_alloc(&out, 8);
	if (err)
		return err;

	for (struct le *le = base ? base->lst.head : NULL; le && !err;
	     le = le->next) {
		const struct odict_entry *b = le->data;
		const struct odict_entry *p = patch ?
			odict_lookup(patch, b->key) : NULL;

		if (!p)
			err = odict_copy_entry(out, NULL, b);
		else if (p->type == ODICT_NULL)
			continue;
		else if (p->type == ODICT_OBJECT && b->type == ODICT_OBJECT) {
			struct odict *m;
			err = schema_merge(&m, b->u.odict, p->u.odict);
			if (!err)
				err = odict_entry_add(out, b->key,
						      ODICT_OBJECT, m);
			mem_deref(m);
		}
		else
			err = odict_copy_entry(out, NULL, p);
	}

	for (struct le *le = patch ? patch->lst.head : NULL; le && !err;
	     le = le->next) {
		const struct odict_entry *p = le->data;

		if (base && odict_lookup(base, p->key))
			continue;
		if (p->type == ODICT_NULL)
			continue;
		if (p->type == ODICT_OBJECT) {
			/* nulls inside a new object also mean "absent" */
			struct odict *m;
			err = schema_merge(&m, NULL, p->u.odict);
			if (!err)
				err = odict_entry_add(out, p->key,
						      ODICT_OBJECT, m);
			mem_deref(m);
		}
		else
			err = odict_copy_entry(out, NULL, p);
	}

	if (err)
		mem_deref(out);
	else
		*outp = out;
	return err;
}

static int redact_into(struct odict *out, const char *key,
		       const struct field *f, const struct odict_entry *e);

static int redact_object(struct odict **outp, const struct field *fields,
			 const struct odict *obj)
{
	struct odict *out;
	int err;

	err = odict_alloc(&out, 8);
	if (err)
		return err;

	for (struct le *le = obj->lst.head; le && !err; le = le->next) {
		const struct odict_entry *e = le->data;
		const struct field *f = fields ? schema_field(fields, e->key)
					       : NULL;
		err = redact_into(out, e->key, f, e);
	}
	/* say which secrets are set, also for absent ones */
	for (const struct field *f = fields; f && f->name && !err; f++) {
		char k[96];
		const struct odict_entry *e;

		if (!(f->flags & FF_SECRET))
			continue;
		e = odict_lookup(obj, f->name);
		snprintf(k, sizeof(k), "%s_set", f->name);
		err = odict_entry_add(out, k, ODICT_BOOL,
				      e && e->type == ODICT_STRING &&
				      *e->u.str);
	}

	if (err)
		mem_deref(out);
	else
		*outp = out;
	return err;
}

static int redact_into(struct odict *out, const char *key,
		       const struct field *f, const struct odict_entry *e)
{
	struct odict *sub;
	int err;

	if (f && (f->flags & FF_SECRET))
		return 0;
	if (!f || f->type == FT_ANY)
		return odict_copy_entry(out, key, e);

	if (f->type == FT_OBJECT && e->type == ODICT_OBJECT) {
		err = redact_object(&sub, f->sub, e->u.odict);
		if (err)
			return err;
		err = odict_entry_add(out, key, ODICT_OBJECT, sub);
		mem_deref(sub);
		return err;
	}
	if (f->type == FT_ARRAY && e->type == ODICT_ARRAY) {
		err = odict_alloc(&sub, 8);
		if (err)
			return err;
		for (struct le *le = e->u.odict->lst.head; le && !err;
		     le = le->next) {
			const struct odict_entry *it = le->data;
			err = redact_into(sub, it->key, f->sub, it);
		}
		if (!err)
			err = odict_entry_add(out, key, ODICT_ARRAY, sub);
		mem_deref(sub);
		return err;
	}
	return odict_copy_entry(out, key, e);
}

int schema_redact(struct odict **outp, const struct field *fields,
		  const struct odict *obj)
{
	if (!outp || !obj)
		return EINVAL;
	return redact_object(outp, fields, obj);
}

static int print_field_schema(struct re_printf *pf, const struct field *f,
			      bool for_request);

int schema_print_openapi(struct re_printf *pf, const struct field *fields,
			 bool for_request)
{
	bool first = true;
	int err = re_hprintf(pf, "{\"type\":\"object\","
			     "\"additionalProperties\":false,"
			     "\"properties\":{");

	for (const struct field *f = fields; f->name && !err; f++) {
		if (for_request && (f->flags & FF_READONLY))
			continue;
		if (!for_request && (f->flags & FF_SECRET)) {
			err = re_hprintf(pf, "%s\"%s_set\":{\"type\":"
					 "\"boolean\",\"readOnly\":true}",
					 first ? "" : ",", f->name);
			first = false;
			continue;
		}
		err = re_hprintf(pf, "%s\"%s\":", first ? "" : ",", f->name);
		err |= print_field_schema(pf, f, for_request);
		first = false;
	}
	err |= re_hprintf(pf, "}");

	if (for_request) {
		first = true;
		for (const struct field *f = fields; f->name && !err; f++) {
			if (!(f->flags & FF_REQUIRED))
				continue;
			err = re_hprintf(pf, "%s\"%s\"",
					 first ? ",\"required\":[" : ",",
					 f->name);
			first = false;
		}
		if (!first)
			err |= re_hprintf(pf, "]");
	}
	return err | re_hprintf(pf, "}");
}

static int print_field_schema(struct re_printf *pf, const struct field *f,
			      bool for_request)
{
	int err = 0;

	switch (f->type) {
	case FT_OBJECT:
		return schema_print_openapi(pf, f->sub, for_request);
	case FT_ARRAY:
		err = re_hprintf(pf, "{\"type\":\"array\",\"items\":");
		err |= print_field_schema(pf, f->sub, for_request);
		if (f->max > 0)
			err |= re_hprintf(pf, ",\"maxItems\":%lld",
					  (long long)f->max);
		break;
	case FT_ANY:
		err = re_hprintf(pf, "{\"type\":\"object\"");
		break;
	case FT_INT:
	case FT_REF:
		err = re_hprintf(pf, "{\"type\":\"integer\"");
		if (f->min || f->max)
			err |= re_hprintf(pf, ",\"minimum\":%lld,"
					  "\"maximum\":%lld", (long long)f->min,
					  (long long)f->max);
		break;
	case FT_NUMBER:
		err = re_hprintf(pf, "{\"type\":\"number\"");
		if (f->min || f->max) {
			/* libre's printf has no %g */
			char lo[32], hi[32];
			snprintf(lo, sizeof(lo), "%g", f->min);
			snprintf(hi, sizeof(hi), "%g", f->max);
			err |= re_hprintf(pf, ",\"minimum\":%s,\"maximum\":%s",
					  lo, hi);
		}
		break;
	case FT_BOOL:
		err = re_hprintf(pf, "{\"type\":\"boolean\"");
		break;
	case FT_ENUM:
		err = re_hprintf(pf, "{\"type\":\"string\",\"enum\":[");
		for (const char *const *v = f->enumv; *v; v++)
			err |= re_hprintf(pf, "%s\"%s\"",
					  v == f->enumv ? "" : ",", *v);
		err |= re_hprintf(pf, "]");
		break;
	default: {
		static const char *fmts[] = {
			[FT_PHONE] = "phone", [FT_TZ] = "timezone",
			[FT_HHMM] = "HH:MM", [FT_URL] = "uri",
			[FT_SIPURI] = "sip-uri", [FT_COUNTRY] = "iso3166-alpha2",
			[FT_IPNET] = "ip-network", [FT_TIME] = "date-time",
		};
		err = re_hprintf(pf, "{\"type\":\"string\"");
		if (f->type < ARRAY_SIZE(fmts) && fmts[f->type])
			err |= re_hprintf(pf, ",\"format\":\"%s\"",
					  fmts[f->type]);
		if (f->type == FT_STRING && f->max > 0)
			err |= re_hprintf(pf, ",\"maxLength\":%lld",
					  (long long)f->max);
		break;
	}
	}

	if (f->flags & FF_NULLABLE)
		err |= re_hprintf(pf, ",\"nullable\":true");
	if (f->flags & FF_SECRET)
		err |= re_hprintf(pf, ",\"writeOnly\":true");
	if (f->flags & FF_READONLY)
		err |= re_hprintf(pf, ",\"readOnly\":true");
	if (f->def)
		err |= re_hprintf(pf, ",\"default\":%s", f->def);
	if (f->doc)
		err |= re_hprintf(pf, ",\"description\":%H", json_print_str,
				  f->doc);
	return err | re_hprintf(pf, "}");
}
