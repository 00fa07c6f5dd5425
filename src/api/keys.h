/* keys.h - tenants and API keys. A key is shown once when issued; the
 * store keeps only its SHA-256, so a leaked database does not leak keys. */
#ifndef PARLEY_KEYS_H
#define PARLEY_KEYS_H

#include <stdint.h>

struct db;

enum { APIKEY_LEN = 43, APIKEY_PREFIX_LEN = 10 };   /* "pk_" + 40 hex */

/** Find or create the tenant called name. */
int tenant_ensure(struct db *db, const char *name, int64_t *idp);

/** Issue a new key for the tenant; key[] receives it (shown once). */
int apikey_issue(struct db *db, int64_t tenant_id, const char *name,
		 char key[APIKEY_LEN + 1], int64_t *idp);

/**
 * Look a presented key up. 0 with the tenant and key ids, ENOENT for an
 * unknown or revoked key, or a store error.
 */
int apikey_verify(struct db *db, const char *key, int64_t *tenantp,
		  int64_t *keyp);

#endif
