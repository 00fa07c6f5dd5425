/* config.h - Parley's settings.
 *
 * Every option lives in one declarative table (config.c): name, type,
 * default, bounds, validator and the text of its documentation. Values
 * come from the defaults, then a config file ("name = value" lines, '#'
 * comments), then PARLEY_* environment variables (name upper-cased, '.'
 * replaced by '_': db.url -> PARLEY_DB_URL). The sample config and
 * `parley --help` are generated from the same table.
 */
#ifndef PARLEY_CONFIG_H
#define PARLEY_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

struct re_printf;

struct config {
	char db_url[512];
	char http_listen[64];
	char sip_listen[64];
	char public_addr[64];
	char sip_tls_listen[64];
	char sip_tls_cert[256];
	char sip_realm[64];
	char recordings_dir[256];
	char log_level[16];
	char default_country[4];
	uint32_t workers;
	uint32_t speech_workers;
	uint32_t prompt_cache;
	uint32_t provider_timeout;
	uint32_t http_max_body;
	uint32_t import_max_body;
	uint32_t http_idle_timeout;
	uint32_t cache_ttl;
	uint32_t cache_stale_ttl;
	uint32_t auth_cache_ttl;
	uint32_t shutdown_grace;
	uint32_t events_timeout;
	uint32_t events_max_attempts;
	uint32_t events_retry_base, events_retry_max;
	uint32_t events_poll;
	uint32_t events_concurrency;
	uint32_t sip_ring_timeout;
	uint32_t rtp_port_min, rtp_port_max;
	uint32_t rtp_timeout;
	/* the campaign dialer (src/dialer/) */
	uint32_t dialer_enabled;
	uint32_t dialer_max_calls;
	uint32_t dialer_tick_ms;
	uint32_t dialer_lease;
	char dialer_node_id[64];
	char dialer_clock_offset[24];
	char dialer_clock_file[256];
};

/** Where a config error was found; msg is ready to print. */
struct config_err {
	char msg[256];
};

/** Fill cfg with the defaults. */
void config_defaults(struct config *cfg);

/**
 * Defaults, then file (NULL: none), then environment. 0, or EINVAL/ENOENT
 * with a message naming the file, line and option.
 */
int config_load(struct config *cfg, const char *path, struct config_err *errp);

/** Set one option by name from text (validated). 0, ENOENT or EINVAL. */
int config_set(struct config *cfg, const char *name, const char *value,
	       struct config_err *errp);

/** Print the commented sample config (all options with defaults). */
int config_print_sample(struct re_printf *pf, void *unused);

#endif
