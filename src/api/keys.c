/* keys.c - tenants, API key issue/verify, and the /api-keys handlers
 * that are not generic (create shows the key once; delete revokes). */
#include <errno.h>
#include <string.h>
#include <re.h>
#include "api/api.h"
#include "api/handlers.h"
#include "api/keys.h"
#include "api/resource.h"
#include "api/schema.h"
#include "core/util.h"
#include "json/json.h"
#include "store/db.h"

int tenant_ensure(struct db *db, const char *name, int64_t *idp)
{
	struct db_val p[2] = {DBV_TEXT(name), DBV_INT(util_now_ms())};
	struct db_res *rows = NULL;
	int err;

	err = db_exec(db, &rows, "SELECT id FROM tenants WHERE name = ?", p, 1);
	if (!err && db_res_nrows(rows)) {
		*idp = db_res_int(rows, 0, 0);
		mem_deref(rows);
		return 0;
	}
	rows = mem_deref(rows);
	if (err)
		return err;
	err = db_exec(db, &rows, "INSERT INTO tenants (name, created_at) "
		      "VALUES (?, ?) RETURNING id", p, 2);
	if (err == EEXIST)   /* created concurrently */
		return tenant_ensure(db, name, idp);
	if (!err)
		*idp = db_res_int(rows, 0, 0);
	mem_deref(rows);
	return err;
}

int apikey_issue(struct db *db, int64_t tenant_id, const char *name,
		 char key[APIKEY_LEN + 1], int64_t *idp)
{
	uint8_t rnd[20];
	char hash[65], prefix[APIKEY_PREFIX_LEN + 1];
	struct db_res *rows = NULL;
	int64_t now = util_now_ms();
	int err;

	err = util_random(rnd, sizeof(rnd));
	if (err)
		return err;
	memcpy(key, "pk_", 3);
	util_hex(key + 3, rnd, sizeof(rnd));
	util_sha256_hex(hash, key, APIKEY_LEN);
	memcpy(prefix, key, APIKEY_PREFIX_LEN);
	prefix[APIKEY_PREFIX_LEN] = '\0';

	struct db_val p[] = {DBV_INT(tenant_id), DBV_INT(now), DBV_INT(now),
			     DBV_TEXT(name), DBV_TEXT(prefix), DBV_TEXT(hash)};
	err = db_exec(db, &rows, "INSERT INTO api_keys (tenant_id, created_at, "
		      "updated_at, name, prefix, key_hash) VALUES "
		      "(?, ?, ?, ?, ?, ?) RETURNING id", p, 6);
	if (!err && idp)
		*idp = db_res_int(rows, 0, 0);
	mem_deref(rows);
	return err;
}

int apikey_verify(struct db *db, const char *key, int64_t *tenantp,
		  int64_t *keyp)
{
	char hash[65];
	struct db_res *rows = NULL;
	int err;

	if (strlen(key) != APIKEY_LEN || strncmp(key, "pk_", 3))
		return ENOENT;
	util_sha256_hex(hash, key, APIKEY_LEN);
	struct db_val p[] = {DBV_TEXT(hash)};
	err = db_exec(db, &rows, "SELECT id, tenant_id FROM api_keys WHERE "
		      "key_hash = ? AND revoked_at IS NULL", p, 1);
	if (!err && !db_res_nrows(rows))
		err = ENOENT;
	if (!err) {
		*keyp = db_res_int(rows, 0, 0);
		*tenantp = db_res_int(rows, 0, 1);
		struct db_val u[] = {DBV_INT(util_now_ms()), DBV_INT(*keyp)};
		(void)db_exec(db, NULL, "UPDATE api_keys SET last_used_at = ? "
			      "WHERE id = ?", u, 2);
	}
	mem_deref(rows);
	return err;
}

/* POST /api/v1/api-keys {"name": ...} -> the key, once */
int apikey_create_h(struct areq *r)
{
	const struct resource *res = &res_api_keys;
	struct odict *doc = NULL, *out = NULL;
	struct db_res *rows = NULL;
	char key[APIKEY_LEN + 1], *cols = NULL, *sql = NULL;
	struct verr ve;
	int64_t id = 0;
	int err;

	if (r->body_type != ODICT_OBJECT)
		return api_error(r, 400, "invalid_body", NULL,
				 "request body must be a JSON object");
	err = schema_check(&doc, res->fields, r->body, true, NULL, &ve);
	if (err == EINVAL)
		return api_error_verr(r, &ve);
	if (!err)
		err = apikey_issue(r->db, r->tenant_id,
				   odict_string(doc, "name"), key, &id);
	if (err) {
		api_error_db(r, err, "API key");
		goto out;
	}

	struct db_val p[] = {DBV_INT(id)};
	err = res_columns(&cols, res);
	if (!err)
		err = re_sdprintf(&sql, "SELECT %s FROM api_keys WHERE id = ?",
				  cols);
	if (!err)
		err = db_exec(r->db, &rows, sql, p, 1);
	if (!err)
		err = res_row_json(res, rows, 0, &out);
	if (!err)
		err = odict_entry_add(out, "key", ODICT_STRING, key);
	if (!err)
		err = api_reply_json(r, 201, out);
	else
		api_error_db(r, err, "API key");
 out:
	memset(key, 0, sizeof(key));
	mem_deref(doc);
	mem_deref(out);
	mem_deref(rows);
	mem_deref(cols);
	mem_deref(sql);
	return err;
}

/* DELETE /api/v1/api-keys/{id}: revoke (the row stays for the audit) */
int apikey_revoke_h(struct areq *r)
{
	struct db_val p[] = {DBV_INT(util_now_ms()), DBV_INT(util_now_ms()),
			     DBV_INT(r->ids[0]), DBV_INT(r->tenant_id)};
	int err;

	err = db_exec(r->db, NULL, "UPDATE api_keys SET revoked_at = ?, "
		      "updated_at = ? WHERE id = ? AND tenant_id = ? AND "
		      "revoked_at IS NULL", p, 4);
	if (err)
		return api_error_db(r, err, "API key");
	if (!db_changes(r->db))
		return api_error(r, 404, "not_found", NULL,
				 "API key %lld not found or already revoked",
				 (long long)r->ids[0]);
	api_auth_forget(r->api, r->ids[0]);
	r->status = 204;
	return 0;
}
