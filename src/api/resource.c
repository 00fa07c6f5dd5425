/* resource.c - generic CRUD over one table from its field table.
 *
 * Column order in every SELECT is "id, created_at, updated_at" then the
 * resource's fields in table order, so rows map to fields by position.
 * Writes validate the whole resulting document (create: the body; update:
 * the stored document with the body merged in as a JSON merge patch), so
 * a PATCH can never leave a row that a POST would have refused.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <re.h>
#include "api/api.h"
#include "api/resource.h"
#include "api/schema.h"
#include "config/config.h"
#include "contacts/e164.h"
#include "core/util.h"
#include "json/json.h"
#include "store/db.h"

enum { LIST_DEFAULT = 50, LIST_MAX = 500, MAX_PARAMS = 64 };

int res_columns(char **strp, const struct resource *res)
{
	struct mbuf *mb = mbuf_alloc(256);
	int err;

	if (!mb)
		return ENOMEM;
	err = mbuf_printf(mb, "id,created_at,updated_at");
	for (const struct field *f = res->fields; f->name && !err; f++)
		err = mbuf_printf(mb, ",%s", f->name);
	if (!err) {
		mb->pos = 0;
		err = mbuf_strdup(mb, strp, mb->end);
	}
	mem_deref(mb);
	return err;
}

/* one column value into the document under the field's name */
static int col_to_doc(struct odict *o, const struct field *f,
		      const char *val)
{
	switch (f->type) {
	case FT_INT:
	case FT_REF:
		return odict_entry_add(o, f->name, ODICT_INT,
				       (int64_t)strtoll(val, NULL, 10));
	case FT_NUMBER:
		return odict_entry_add(o, f->name, ODICT_DOUBLE,
				       strtod(val, NULL));
	case FT_BOOL:
		return odict_entry_add(o, f->name, ODICT_BOOL,
				       strcmp(val, "0") != 0 &&
				       strcmp(val, "f") != 0);
	case FT_TIME: {
		char ts[32];
		util_iso8601(ts, strtoll(val, NULL, 10));
		return odict_entry_add(o, f->name, ODICT_STRING, ts);
	}
	case FT_OBJECT:
	case FT_ARRAY:
	case FT_ANY: {
		struct odict *sub;
		int type, err;
		err = json_parse(&sub, &type, val, strlen(val), NULL);
		if (err)
			return 0;   /* unreadable document: leave it out */
		err = odict_entry_add(o, f->name, type, sub);
		mem_deref(sub);
		return err;
	}
	default:
		return odict_entry_add(o, f->name, ODICT_STRING, val);
	}
}

/* the internal document of one row: every field with a value */
static int row_doc(const struct resource *res, const struct db_res *rows,
		   size_t row, bool all, struct odict **docp)
{
	struct odict *doc;
	size_t col = 3;
	int err;

	err = odict_alloc(&doc, 16);
	if (err)
		return err;
	for (const struct field *f = res->fields; f->name && !err;
	     f++, col++) {
		const char *v = db_res_str(rows, row, col);
		if (!v || (!all && (f->flags & FF_READONLY)))
			continue;
		err = col_to_doc(doc, f, v);
	}
	if (err)
		mem_deref(doc);
	else
		*docp = doc;
	return err;
}

int res_row_json(const struct resource *res, const struct db_res *rows,
		 size_t row, struct odict **outp)
{
	struct odict *doc = NULL, *red = NULL, *out = NULL;
	char ts[32];
	int err;

	err = row_doc(res, rows, row, true, &doc);
	if (err)
		return err;
	err = schema_redact(&red, res->fields, doc);
	if (err)
		goto out;
	err = odict_alloc(&out, 16);
	if (err)
		goto out;
	err = odict_entry_add(out, "id", ODICT_INT, db_res_int(rows, row, 0));
	for (struct le *le = red->lst.head; le && !err; le = le->next)
		err = odict_copy_entry(out, NULL, le->data);
	util_iso8601(ts, db_res_int(rows, row, 1));
	err |= odict_entry_add(out, "created_at", ODICT_STRING, ts);
	util_iso8601(ts, db_res_int(rows, row, 2));
	err |= odict_entry_add(out, "updated_at", ODICT_STRING, ts);

 out:
	mem_deref(doc);
	mem_deref(red);
	if (err)
		mem_deref(out);
	else
		*outp = out;
	return err;
}

static int select_one(struct areq *r, const struct resource *res,
		      int64_t id, bool for_update, struct db_res **rowsp)
{
	char *cols = NULL, *sql = NULL;
	struct db_val p[2] = {DBV_INT(id), DBV_INT(r->tenant_id)};
	int err;

	err = res_columns(&cols, res);
	if (err)
		return err;
	err = re_sdprintf(&sql, "SELECT %s FROM %s WHERE id = ? AND "
			  "tenant_id = ?%s", cols, res->table,
			  for_update && db_kind(r->db) == DB_PG ?
			  " FOR UPDATE" : "");
	if (!err)
		err = db_exec(r->db, rowsp, sql, p, 2);
	if (!err && !db_res_nrows(*rowsp)) {
		*rowsp = mem_deref(*rowsp);
		err = ENOENT;
	}
	mem_deref(cols);
	mem_deref(sql);
	return err;
}

int res_load(struct areq *r, const struct resource *res, int64_t id,
	     bool all, struct odict **docp)
{
	struct db_res *rows = NULL;
	int err;

	err = select_one(r, res, id, false, &rows);
	if (!err)
		err = row_doc(res, rows, 0, all, docp);
	mem_deref(rows);
	return err;
}

static int reply_row(struct areq *r, const struct resource *res, int64_t id,
		     uint16_t status)
{
	struct db_res *rows = NULL;
	struct odict *out = NULL;
	int err;

	err = select_one(r, res, id, false, &rows);
	if (err == ENOENT)
		return api_error(r, 404, "not_found", NULL, "%s %lld not found",
				 res->name, (long long)id);
	if (err)
		return api_error_db(r, err, res->name);
	err = res_row_json(res, rows, 0, &out);
	if (!err && res->detailh)
		err = res->detailh(r, id, out);
	if (!err)
		err = api_reply_json(r, status, out);
	else if (!r->status)
		err = api_error_db(r, err, res->name);
	mem_deref(out);
	mem_deref(rows);
	return err;
}

int res_owned(struct areq *r, const char *table, int64_t id)
{
	struct db_val p[2] = {DBV_INT(id), DBV_INT(r->tenant_id)};
	struct db_res *rows = NULL;
	char *sql = NULL;
	int err;

	err = re_sdprintf(&sql, "SELECT id FROM %s WHERE id = ? AND "
			  "tenant_id = ?", table);
	if (!err)
		err = db_exec(r->db, &rows, sql, p, 2);
	if (!err && !db_res_nrows(rows))
		err = ENOENT;
	mem_deref(rows);
	mem_deref(sql);
	return err;
}

int res_check_refs(struct areq *r, const struct field *fields,
		   const struct odict *doc)
{
	for (const struct field *f = fields; f->name; f++) {
		const struct odict_entry *e;
		int err;

		if (f->type != FT_REF || (f->flags & FF_READONLY))
			continue;
		e = odict_lookup(doc, f->name);
		if (!e || e->type != ODICT_INT)
			continue;
		err = res_owned(r, f->ref, e->u.integer);
		if (err == ENOENT)
			return api_error(r, 400, "invalid_reference", f->name,
					 "field '%s': no %s %lld", f->name,
					 f->ref, (long long)e->u.integer);
		if (err)
			return api_error_db(r, err, "reference");
	}
	return 0;
}

/* parameters for the writable columns, in field order */
struct binds {
	struct db_val v[MAX_PARAMS];
	char *owned[MAX_PARAMS];
	size_t n;
};

static void binds_reset(struct binds *b)
{
	for (size_t i = 0; i < b->n; i++)
		b->owned[i] = mem_deref(b->owned[i]);
	b->n = 0;
}

static int bind_field(struct binds *b, const struct field *f,
		      const struct odict_entry *e)
{
	struct db_val *v = &b->v[b->n];
	int err = 0;

	if (b->n >= MAX_PARAMS)
		return E2BIG;
	b->owned[b->n] = NULL;
	*v = DBV_NULL;

	if (e && e->type != ODICT_NULL) {
		switch (f->type) {
		case FT_INT:
		case FT_REF:
			*v = DBV_INT(e->u.integer);
			break;
		case FT_NUMBER:
			*v = DBV_REAL(e->type == ODICT_INT ?
				      (double)e->u.integer : e->u.dbl);
			break;
		case FT_BOOL:
			*v = DBV_INT(e->u.boolean ? 1 : 0);
			break;
		case FT_TIME: {
			int64_t ms = 0;
			(void)util_parse_time(&ms, e->u.str);
			*v = DBV_INT(ms);
			break;
		}
		case FT_OBJECT:
		case FT_ANY:
			err = json_encode(&b->owned[b->n], e->u.odict);
			*v = DBV_TEXT(b->owned[b->n]);
			break;
		case FT_ARRAY:
			err = re_sdprintf(&b->owned[b->n], "%H",
					  json_print_array, e->u.odict);
			*v = DBV_TEXT(b->owned[b->n]);
			break;
		default:
			*v = DBV_TEXT(e->u.str);
			break;
		}
	}
	b->n++;
	return err;
}

int res_insert(struct areq *r, const struct resource *res,
	       const struct odict *doc, int64_t *idp)
{
	struct binds b = {.n = 0};
	struct mbuf *cols = mbuf_alloc(256), *qs = mbuf_alloc(128);
	struct db_res *rows = NULL;
	char *sql = NULL;
	int64_t now = util_now_ms();
	int err = 0;

	if (!cols || !qs) {
		err = ENOMEM;
		goto out;
	}
	b.v[0] = DBV_INT(r->tenant_id);
	b.v[1] = DBV_INT(now);
	b.v[2] = DBV_INT(now);
	b.owned[0] = b.owned[1] = b.owned[2] = NULL;
	b.n = 3;
	err = mbuf_printf(cols, "tenant_id,created_at,updated_at");
	err |= mbuf_printf(qs, "?,?,?");
	for (const struct field *f = res->fields; f->name && !err; f++) {
		if (f->flags & FF_READONLY)
			continue;
		err = bind_field(&b, f, odict_lookup(doc, f->name));
		err |= mbuf_printf(cols, ",%s", f->name);
		err |= mbuf_printf(qs, ",?");
	}
	if (err)
		goto out;
	err = re_sdprintf(&sql, "INSERT INTO %s (%b) VALUES (%b) RETURNING id",
			  res->table, cols->buf, cols->end, qs->buf, qs->end);
	if (err)
		goto out;
	err = db_exec(r->db, &rows, sql, b.v, b.n);
	if (!err)
		*idp = db_res_int(rows, 0, 0);

 out:
	binds_reset(&b);
	mem_deref(rows);
	mem_deref(sql);
	mem_deref(cols);
	mem_deref(qs);
	return err;
}

int res_update_row(struct areq *r, const struct resource *res,
		      int64_t id, const struct odict *doc)
{
	struct binds b = {.n = 0};
	struct mbuf *sets = mbuf_alloc(256);
	char *sql = NULL;
	int err = 0;

	if (!sets)
		return ENOMEM;
	b.v[0] = DBV_INT(util_now_ms());
	b.owned[0] = NULL;
	b.n = 1;
	err = mbuf_printf(sets, "updated_at = ?");
	for (const struct field *f = res->fields; f->name && !err; f++) {
		if (f->flags & FF_READONLY)
			continue;
		err = bind_field(&b, f, odict_lookup(doc, f->name));
		err |= mbuf_printf(sets, ", %s = ?", f->name);
	}
	if (!err && b.n + 2 > MAX_PARAMS)
		err = E2BIG;
	if (err)
		goto out;
	b.v[b.n++] = DBV_INT(id);
	b.owned[b.n - 1] = NULL;
	b.v[b.n++] = DBV_INT(r->tenant_id);
	b.owned[b.n - 1] = NULL;
	err = re_sdprintf(&sql, "UPDATE %s SET %b WHERE id = ? AND "
			  "tenant_id = ?", res->table, sets->buf, sets->end);
	if (!err)
		err = db_exec(r->db, NULL, sql, b.v, b.n);

 out:
	binds_reset(&b);
	mem_deref(sql);
	mem_deref(sets);
	return err;
}

static int write_error(struct areq *r, const struct resource *res, int err)
{
	if (r->status)
		return err;
	if (err == EEXIST)
		return api_error(r, 409, "conflict", NULL,
				 "a %s with these values already exists",
				 res->name);
	return api_error_db(r, err, res->name);
}

static int schema_ctx_of(struct areq *r, struct schema_ctx *ctx,
			 char *country, size_t sz)
{
	const char *c = api_query(r, "default_country", country, sz);

	ctx->default_country = c ? c :
		api_config(r->api)->default_country;
	return 0;
}

int res_create(struct areq *r)
{
	const struct resource *res = r->route->data;
	struct odict *doc = NULL;
	struct schema_ctx ctx;
	struct verr ve;
	char country[8];
	int64_t id = 0;
	int err;

	if (r->body_type != ODICT_OBJECT)
		return api_error(r, 400, "invalid_body", NULL,
				 "request body must be a JSON object");
	schema_ctx_of(r, &ctx, country, sizeof(country));
	err = schema_check(&doc, res->fields, r->body, true, &ctx, &ve);
	if (err == EINVAL)
		return api_error_verr(r, &ve);
	if (err)
		return api_error_db(r, err, res->name);

	err = res_check_refs(r, res->fields, doc);
	if (!err && res->validateh)
		err = res->validateh(r, doc, 0);
	if (err || r->status)
		goto out;

	err = db_begin(r->db);
	if (err) {
		api_error_db(r, err, res->name);
		goto out;
	}
	err = res_insert(r, res, doc, &id);
	if (!err && res->writtenh)
		err = res->writtenh(r, id, doc, NULL);
	if (!err)
		err = db_commit(r->db);
	if (err) {
		(void)db_rollback(r->db);
		write_error(r, res, err);
		goto out;
	}
	if (res->changedh)
		res->changedh(r, id);

	{
		/* the route also matches with a trailing slash */
		size_t plen = strlen(r->path);
		if (plen > 1 && r->path[plen - 1] == '/')
			--plen;
		re_snprintf(r->xhdrs, sizeof(r->xhdrs),
			    "Location: %b/%lld\r\n", r->path, plen,
			    (long long)id);
	}
	err = reply_row(r, res, id, 201);
 out:
	mem_deref(doc);
	return err;
}

static bool same_value(const struct odict_entry *a,
		       const struct odict_entry *b)
{
	if (!a || !b)
		return a == b;
	if (a->type != b->type)
		return false;
	if (a->type == ODICT_INT)
		return a->u.integer == b->u.integer;
	if (a->type == ODICT_STRING)
		return !strcmp(a->u.str, b->u.str);
	return a->type == ODICT_NULL;
}

int res_update(struct areq *r)
{
	const struct resource *res = r->route->data;
	struct odict *old = NULL, *merged = NULL, *doc = NULL;
	struct db_res *rows = NULL;
	struct schema_ctx ctx;
	struct verr ve;
	char country[8];
	int64_t id = r->ids[0];
	bool intx = false;
	int err;

	if (r->body_type != ODICT_OBJECT)
		return api_error(r, 400, "invalid_body", NULL,
				 "request body must be a JSON object");
	/* unknown and read-only members are refused before merging */
	schema_ctx_of(r, &ctx, country, sizeof(country));
	err = schema_check(&doc, res->fields, r->body, false, &ctx, &ve);
	doc = mem_deref(doc);
	if (err == EINVAL)
		return api_error_verr(r, &ve);
	if (err)
		return api_error_db(r, err, res->name);

	err = db_begin(r->db);
	if (err)
		return api_error_db(r, err, res->name);
	intx = true;

	err = select_one(r, res, id, true, &rows);
	if (err == ENOENT) {
		api_error(r, 404, "not_found", NULL, "%s %lld not found",
			  res->name, (long long)id);
		goto out;
	}
	if (!err)
		err = row_doc(res, rows, 0, false, &old);
	if (err)
		goto out;

	for (const struct field *f = res->fields; f->name; f++) {
		const struct odict_entry *p = odict_lookup(r->body, f->name);
		if ((f->flags & FF_IMMUTABLE) && p &&
		    !same_value(p, odict_lookup(old, f->name))) {
			api_error(r, 400, "immutable_field", f->name,
				  "field '%s' cannot be changed", f->name);
			goto out;
		}
	}

	err = schema_merge(&merged, old, r->body);
	if (err)
		goto out;
	err = schema_check(&doc, res->fields, merged, true, &ctx, &ve);
	if (err == EINVAL) {
		api_error_verr(r, &ve);
		goto out;
	}
	if (!err)
		err = res_check_refs(r, res->fields, doc);
	if (!err && !r->status && res->validateh)
		err = res->validateh(r, doc, id);
	if (err || r->status)
		goto out;

	err = res_update_row(r, res, id, doc);
	if (!err && res->writtenh)
		err = res->writtenh(r, id, doc, old);
	if (!err)
		err = db_commit(r->db);
	if (err)
		goto out;
	intx = false;
	if (res->changedh)
		res->changedh(r, id);
	err = reply_row(r, res, id, 200);

 out:
	if (intx)
		(void)db_rollback(r->db);
	if (err && !r->status)
		write_error(r, res, err);
	mem_deref(rows);
	mem_deref(old);
	mem_deref(merged);
	mem_deref(doc);
	return err;
}

int res_get(struct areq *r)
{
	return reply_row(r, r->route->data, r->ids[0], 200);
}

int res_delete(struct areq *r)
{
	const struct resource *res = r->route->data;
	struct db_val p[2] = {DBV_INT(r->ids[0]), DBV_INT(r->tenant_id)};
	char *sql = NULL;
	int err;

	err = re_sdprintf(&sql, "DELETE FROM %s WHERE id = ? AND "
			  "tenant_id = ?", res->table);
	if (!err)
		err = db_exec(r->db, NULL, sql, p, 2);
	mem_deref(sql);
	if (err == EINVAL)
		return api_error(r, 409, "in_use", NULL,
				 "%s %lld is still referenced (e.g. by a "
				 "campaign)", res->name, (long long)r->ids[0]);
	if (err)
		return api_error_db(r, err, res->name);
	if (!db_changes(r->db))
		return api_error(r, 404, "not_found", NULL, "%s %lld not found",
				 res->name, (long long)r->ids[0]);
	if (res->changedh)
		res->changedh(r, r->ids[0]);
	r->status = 204;
	return 0;
}

static int parse_i64(const char *s, int64_t *vp)
{
	char *end;
	long long v;

	if (!s || !*s)
		return EINVAL;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (*end || errno)
		return EINVAL;
	*vp = v;
	return 0;
}

int res_list(struct areq *r)
{
	const struct resource *res = r->route->data;
	const char *known[24];
	size_t nk = 0;
	struct db_val p[24];
	char *owned[24] = {NULL};
	size_t np = 0;
	struct mbuf *where = mbuf_alloc(128);
	struct db_res *rows = NULL;
	struct odict *out = NULL, *arr = NULL;
	char *cols = NULL, *sql = NULL, buf[256];
	int64_t limit = LIST_DEFAULT, cursor = 0;
	int err = 0;

	if (!where)
		return ENOMEM;
	known[nk++] = "limit";
	known[nk++] = "cursor";
	for (const struct rfilter *f = res->filters; f && f->name; f++) {
		known[nk++] = f->name;
		/* national numbers in a phone filter use it */
		if (f->type == RF_PHONE)
			known[nk++] = "default_country";
	}
	known[nk] = NULL;
	if (api_query_check(r, known))
		goto out;

	if (api_query(r, "limit", buf, sizeof(buf)) &&
	    (parse_i64(buf, &limit) || limit < 1 || limit > LIST_MAX)) {
		api_error(r, 400, "invalid_query", "limit",
			  "limit must be an integer from 1 to %d", LIST_MAX);
		goto out;
	}
	if (api_query(r, "cursor", buf, sizeof(buf)) &&
	    (parse_i64(buf, &cursor) || cursor < 0)) {
		api_error(r, 400, "invalid_query", "cursor",
			  "cursor must be a value from next_cursor");
		goto out;
	}

	p[np++] = DBV_INT(r->tenant_id);
	p[np++] = DBV_INT(cursor);
	err = mbuf_printf(where, "tenant_id = ? AND id > ?");

	for (const struct rfilter *f = res->filters; f && f->name && !err;
	     f++) {
		const char *v = api_query(r, f->name, buf, sizeof(buf));
		int64_t iv;

		if (!v)
			continue;
		switch (f->type) {
		case RF_INT:
			if (parse_i64(v, &iv)) {
				api_error(r, 400, "invalid_query", f->name,
					  "%s must be an integer", f->name);
				goto out;
			}
			p[np++] = DBV_INT(iv);
			err = mbuf_printf(where, " AND %s = ?", f->column);
			break;
		case RF_TIME_GE:
		case RF_TIME_LT:
			if (util_parse_time(&iv, v)) {
				api_error(r, 400, "invalid_query", f->name,
					  "%s must be an RFC 3339 time",
					  f->name);
				goto out;
			}
			p[np++] = DBV_INT(iv);
			err = mbuf_printf(where, " AND %s %s ?", f->column,
					  f->type == RF_TIME_GE ? ">=" : "<");
			break;
		case RF_ENUM:
		case RF_SQL: {
			size_t i;
			for (i = 0; f->values[i]; i++)
				if (!strcmp(f->values[i], v))
					break;
			if (!f->values[i]) {
				api_error(r, 400, "invalid_query", f->name,
					  "%s has an unknown value", f->name);
				goto out;
			}
			if (f->type == RF_SQL) {
				err = mbuf_printf(where, " AND %s", f->sql[i]);
				break;
			}
			owned[np] = NULL;
			err = str_dup(&owned[np], v);
			p[np] = DBV_TEXT(owned[np]);
			np++;
			err |= mbuf_printf(where, " AND %s = ?", f->column);
			break;
		}
		case RF_PHONE: {
			struct schema_ctx ctx;
			char country[8], num[24];
			const char *why;
			schema_ctx_of(r, &ctx, country, sizeof(country));
			if (e164_normalize(num, v, ctx.default_country, &why)) {
				api_error(r, 400, "invalid_query", f->name,
					  "%s is not a valid phone number: %s",
					  f->name, why);
				goto out;
			}
			err = str_dup(&owned[np], num);
			p[np] = DBV_TEXT(owned[np]);
			np++;
			err |= mbuf_printf(where, " AND %s = ?", f->column);
			break;
		}
		case RF_TEXT:
			err = str_dup(&owned[np], v);
			p[np] = DBV_TEXT(owned[np]);
			np++;
			err |= mbuf_printf(where, " AND %s = ?", f->column);
			break;
		}
	}
	if (err)
		goto out;

	err = res_columns(&cols, res);
	if (!err)
		err = re_sdprintf(&sql, "SELECT %s FROM %s WHERE %b ORDER BY "
				  "id LIMIT %lld", cols, res->table,
				  where->buf, where->end,
				  (long long)limit + 1);
	if (!err)
		err = db_exec(r->db, &rows, sql, p, np);
	if (err) {
		api_error_db(r, err, res->name);
		goto out;
	}

	err = odict_alloc(&out, 4);
	err |= odict_alloc(&arr, 64);
	if (err)
		goto out;
	size_t n = db_res_nrows(rows);
	for (size_t i = 0; i < n && i < (size_t)limit && !err; i++) {
		struct odict *item = NULL;
		char k[16];
		err = res_row_json(res, rows, i, &item);
		re_snprintf(k, sizeof(k), "%zu", i);
		if (!err)
			err = odict_entry_add(arr, k, ODICT_OBJECT, item);
		mem_deref(item);
	}
	err |= odict_entry_add(out, "data", ODICT_ARRAY, arr);
	if (n > (size_t)limit) {
		char c[24];
		re_snprintf(c, sizeof(c), "%lld", (long long)db_res_int(
				    rows, (size_t)limit - 1, 0));
		err |= odict_entry_add(out, "next_cursor", ODICT_STRING, c);
	}
	else {
		err |= odict_entry_add(out, "next_cursor", ODICT_NULL);
	}
	if (!err)
		err = api_reply_json(r, 200, out);

 out:
	for (size_t i = 0; i < np; i++)
		mem_deref(owned[i]);
	mem_deref(where);
	mem_deref(rows);
	mem_deref(cols);
	mem_deref(sql);
	mem_deref(out);
	mem_deref(arr);
	return err;
}
