/* config.c - the option table and its loaders; see config.h. */
#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <re.h>
#include "config/config.h"
#include "contacts/e164.h"
#include "core/log.h"

enum opt_type { OPT_STR, OPT_U32 };

typedef bool (opt_valid_h)(const char *value);

struct option {
	const char *name;
	enum opt_type type;
	size_t off;
	size_t size;          /* OPT_STR: buffer size */
	const char *def;
	uint32_t min, max;    /* OPT_U32 bounds */
	opt_valid_h *validh;
	const char *what;     /* what a valid value looks like */
	const char *doc;
};

/* "ADDRESS:PORT" with a port from 0 (any free port) to 65535; libre's
 * sa_decode() alone would wrap larger ports silently */
static bool valid_hostport(const char *v)
{
	const char *colon = strrchr(v, ':');
	char *end;
	unsigned long port;
	struct sa sa;

	if (!colon || !isdigit((unsigned char)colon[1]))
		return false;
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (*end || errno || port > 65535)
		return false;
	return sa_decode(&sa, v, strlen(v)) == 0;
}

static bool valid_hostport_opt(const char *v)
{
	return !*v || valid_hostport(v);
}

static bool valid_nonempty(const char *v)
{
	return *v != '\0';
}

static bool valid_level(const char *v)
{
	enum log_level lvl;

	return log_level_parse(&lvl, v) == 0;
}

static bool valid_country(const char *v)
{
	return e164_country_known(v);
}

/* a signed number of seconds, within about a century */
static bool valid_offset(const char *v)
{
	char *end;
	long long n;

	errno = 0;
	n = strtoll(v, &end, 10);
	return *v && !*end && !errno && n > -3155760000LL &&
	       n < 3155760000LL;
}

#define STR(n, field, d, vh, w, doc) \
	{n, OPT_STR, offsetof(struct config, field), \
	 sizeof(((struct config *)0)->field), d, 0, 0, vh, w, doc}
#define U32(n, field, d, lo, hi, doc) \
	{n, OPT_U32, offsetof(struct config, field), 0, d, lo, hi, NULL, \
	 NULL, doc}

static const struct option options[] = {
	STR("db.url", db_url, "sqlite:parley.db", valid_nonempty,
	    "a database URL",
	    "Database: sqlite:PATH (default; a file in the working directory)\n"
	    "or postgresql://user:pass@host:port/dbname."),
	STR("http.listen", http_listen, "127.0.0.1:8080", valid_hostport,
	    "ADDRESS:PORT",
	    "Address and port of the REST API, metrics and dashboard."),
	STR("sip.listen", sip_listen, "127.0.0.1:5060", valid_hostport,
	    "ADDRESS:PORT",
	    "Address and port of the SIP listener (UDP and TCP)."),
	STR("sip.public_addr", public_addr, "", valid_hostport_opt,
	    "ADDRESS:PORT or empty",
	    "Public address advertised in Contact and SDP behind NAT;\n"
	    "empty uses the listening address."),
	STR("sip.tls_listen", sip_tls_listen, "", valid_hostport_opt,
	    "ADDRESS:PORT or empty",
	    "Address and port for SIP over TLS; empty disables TLS."),
	STR("sip.tls_cert", sip_tls_cert, "", NULL, "a file name",
	    "PEM file with the TLS certificate and its private key."),
	STR("sip.realm", sip_realm, "parley", valid_nonempty, "a realm",
	    "Digest realm in challenges to inbound callers."),
	U32("sip.ring_timeout", sip_ring_timeout, "30", 1, 600,
	    "Seconds an outbound call may ring before it is cancelled."),
	U32("rtp.port_min", rtp_port_min, "10000", 1024, 65534,
	    "Lowest UDP port for RTP."),
	U32("rtp.port_max", rtp_port_max, "20000", 1025, 65535,
	    "Highest UDP port for RTP."),
	U32("rtp.timeout", rtp_timeout, "30", 0, 3600,
	    "Seconds without RTP or RTCP from the far end after which an\n"
	    "answered call is hung up (a caller gone without a BYE); 0 never."),
	STR("recordings.dir", recordings_dir, "recordings", valid_nonempty,
	    "a directory", "Where call recordings are written."),
	STR("log.level", log_level, "info", valid_level,
	    "debug, info, warn or error", "Least severe level logged."),
	STR("contacts.default_country", default_country, "US", valid_country,
	    "an ISO 3166-1 alpha-2 country code",
	    "Country assumed for national phone numbers in imports when the\n"
	    "request names none."),
	U32("workers", workers, "4", 1, 256,
	    "Worker threads for database work."),
	U32("speech.workers", speech_workers, "2", 1, 256,
	    "Worker threads for local speech engines (pocketsphinx,\n"
	    "espeak-ng, flite); each keeps its own recogniser (about 31 MB,\n"
	    "91 MB more when free speech is recognised)."),
	U32("speech.prompt_cache", prompt_cache, "33554432", 0, 1073741824,
	    "Bytes of synthesised speech kept for reuse (fixed prompts)."),
	U32("providers.timeout", provider_timeout, "10000", 100, 600000,
	    "Milliseconds a remote speech or LLM provider may stay silent\n"
	    "before the request fails (a fallback line is spoken)."),
	U32("http.max_body", http_max_body, "262144", 1024, 67108864,
	    "Largest JSON request body accepted, in bytes (413 above)."),
	U32("http.import_max_body", import_max_body, "16777216", 1024,
	    268435456, "Largest contact import body accepted, in bytes."),
	U32("http.idle_timeout", http_idle_timeout, "60", 1, 3600,
	    "Seconds an idle HTTP connection is kept open."),
	U32("cache.ttl", cache_ttl, "300", 0, 86400,
	    "Seconds an agent's runtime config stays fresh in the cache."),
	U32("cache.stale_ttl", cache_stale_ttl, "86400", 0, 604800,
	    "Seconds a stale runtime config may still be served when the\n"
	    "store cannot be reached."),
	U32("auth.cache_ttl", auth_cache_ttl, "30", 0, 3600,
	    "Seconds a verified API key is cached (revocation on this node\n"
	    "takes effect at once; on other nodes within this time)."),
	U32("events.timeout", events_timeout, "10000", 100, 120000,
	    "Milliseconds a webhook receiver has to answer a delivery."),
	U32("events.max_attempts", events_max_attempts, "15", 1, 100,
	    "Delivery attempts of a webhook event before it is marked failed."),
	U32("events.retry_base", events_retry_base, "5000", 10, 3600000,
	    "Milliseconds before the first retry of a failed webhook delivery;\n"
	    "each later retry waits twice as long (plus up to 25% jitter)."),
	U32("events.retry_max", events_retry_max, "3600000", 10, 86400000,
	    "Longest wait in milliseconds between two delivery attempts."),
	U32("events.poll_interval", events_poll, "1000", 10, 60000,
	    "Milliseconds between looks for due webhook deliveries."),
	U32("events.concurrency", events_concurrency, "32", 1, 1024,
	    "Webhook deliveries in flight at once on this node."),
	U32("shutdown.grace", shutdown_grace, "30", 0, 3600,
	    "Seconds active work may finish after SIGTERM."),
	U32("dialer.enabled", dialer_enabled, "1", 0, 1,
	    "1: this node dials campaign and outbound-call tasks; 0: it\n"
	    "never claims any (API and inbound calls only)."),
	U32("dialer.max_calls", dialer_max_calls, "100", 1, 100000,
	    "Node-wide capacity: the dialer claims no task while this many\n"
	    "calls (its own and any other) are up or being placed here."),
	U32("dialer.tick_ms", dialer_tick_ms, "200", 20, 10000,
	    "Milliseconds between two looks for due call tasks."),
	U32("dialer.lease", dialer_lease, "60", 3, 3600,
	    "Seconds a claimed task stays leased to this node without a\n"
	    "renewal (renewed every third of it while the call lives); a\n"
	    "crashed node's tasks go back to the queue after it, their\n"
	    "attempt counted as failed."),
	STR("dialer.node_id", dialer_node_id, "", NULL, "a name or empty",
	    "This node's name in task leases and call rows; empty uses\n"
	    "HOSTNAME:PID. A fixed name lets a restarted node take its\n"
	    "crashed predecessor's tasks back at once."),
	STR("dialer.clock_offset", dialer_clock_offset, "0", valid_offset,
	    "an integer number of seconds",
	    "For testing only: seconds added to the wall clock when the\n"
	    "dialer decides whether a calling window is open."),
	STR("dialer.clock_file", dialer_clock_file, "", NULL,
	    "a file name or empty",
	    "For testing only: a file holding such an offset in seconds,\n"
	    "read again every second (it wins over dialer.clock_offset); a\n"
	    "change re-evaluates the tasks waiting for their window."),
};

static const struct option *opt_find(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(options); i++)
		if (!strcmp(options[i].name, name))
			return &options[i];
	return NULL;
}

static int opt_set(struct config *cfg, const struct option *o,
		   const char *value, struct config_err *errp,
		   const char *where)
{
	char *dst = (char *)cfg + o->off;

	if (o->type == OPT_STR) {
		if (strlen(value) >= o->size) {
			snprintf(errp->msg, sizeof(errp->msg),
				 "%s%s: value longer than %zu characters",
				 where, o->name, o->size - 1);
			return EINVAL;
		}
		if (o->validh && !o->validh(value)) {
			snprintf(errp->msg, sizeof(errp->msg),
				 "%s%s: invalid value, expected %s",
				 where, o->name, o->what);
			return EINVAL;
		}
		memcpy(dst, value, strlen(value) + 1);
		return 0;
	}

	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(value, &end, 10);
	if (!isdigit((unsigned char)value[0]) || *end || errno ||
	    v < o->min || v > o->max) {
		snprintf(errp->msg, sizeof(errp->msg),
			 "%s%s: expected an integer from %u to %u",
			 where, o->name, o->min, o->max);
		return EINVAL;
	}
	*(uint32_t *)(void *)dst = (uint32_t)v;
	return 0;
}

void config_defaults(struct config *cfg)
{
	struct config_err err;

	memset(cfg, 0, sizeof(*cfg));
	for (size_t i = 0; i < ARRAY_SIZE(options); i++)
		(void)opt_set(cfg, &options[i], options[i].def, &err, "");
}

int config_set(struct config *cfg, const char *name, const char *value,
	       struct config_err *errp)
{
	const struct option *o = opt_find(name);

	if (!o) {
		snprintf(errp->msg, sizeof(errp->msg), "unknown option '%s'",
			 name);
		return ENOENT;
	}
	return opt_set(cfg, o, value, errp, "");
}

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		++s;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

static int load_file(struct config *cfg, const char *path,
		     struct config_err *errp)
{
	char line[1024], where[300];
	unsigned lineno = 0;
	FILE *f;
	int err = 0;

	f = fopen(path, "r");
	if (!f) {
		snprintf(errp->msg, sizeof(errp->msg), "%s: %s", path,
			 strerror(errno));
		return ENOENT;
	}

	while (fgets(line, sizeof(line), f)) {
		char *s, *eq, *name, *value;
		const struct option *o;

		++lineno;
		snprintf(where, sizeof(where), "%s:%u: ", path, lineno);
		if (!strchr(line, '\n') && !feof(f)) {
			snprintf(errp->msg, sizeof(errp->msg),
				 "%sline too long", where);
			err = EINVAL;
			break;
		}
		s = trim(line);
		if (!*s || *s == '#')
			continue;
		eq = strchr(s, '=');
		if (!eq) {
			snprintf(errp->msg, sizeof(errp->msg),
				 "%sexpected 'name = value'", where);
			err = EINVAL;
			break;
		}
		*eq = '\0';
		name  = trim(s);
		value = trim(eq + 1);
		o = opt_find(name);
		if (!o) {
			snprintf(errp->msg, sizeof(errp->msg),
				 "%sunknown option '%.64s'", where, name);
			err = EINVAL;
			break;
		}
		err = opt_set(cfg, o, value, errp, where);
		if (err)
			break;
	}

	fclose(f);
	return err;
}

static void env_name(char *buf, size_t sz, const char *name)
{
	size_t n = (size_t)snprintf(buf, sz, "PARLEY_");

	for (; *name && n + 1 < sz; name++)
		buf[n++] = *name == '.' ? '_' : (char)toupper((unsigned char)*name);
	buf[n] = '\0';
}

int config_load(struct config *cfg, const char *path, struct config_err *errp)
{
	int err;

	config_defaults(cfg);

	if (path) {
		err = load_file(cfg, path, errp);
		if (err)
			return err;
	}

	for (size_t i = 0; i < ARRAY_SIZE(options); i++) {
		char env[80], where[100];
		const char *v;

		env_name(env, sizeof(env), options[i].name);
		v = getenv(env);
		if (!v)
			continue;
		snprintf(where, sizeof(where), "environment %s: ", env);
		err = opt_set(cfg, &options[i], v, errp, where);
		if (err)
			return err;
	}

	return 0;
}

int config_print_sample(struct re_printf *pf, void *unused)
{
	int err;
	(void)unused;

	err = re_hprintf(pf,
		"# Parley configuration (generated by `parley config sample`).\n"
		"# Every option is shown with its default. Each may also be set\n"
		"# by an environment variable PARLEY_<NAME>, '.' written as '_'\n"
		"# (db.url -> PARLEY_DB_URL), which wins over this file.\n");

	for (size_t i = 0; i < ARRAY_SIZE(options) && !err; i++) {
		const struct option *o = &options[i];
		const char *p = o->doc;
		char env[80];

		env_name(env, sizeof(env), o->name);
		err |= re_hprintf(pf, "\n");
		while (*p && !err) {
			const char *nl = strchr(p, '\n');
			size_t n = nl ? (size_t)(nl - p) : strlen(p);
			err |= re_hprintf(pf, "# %b\n", p, n);
			p += n + (nl ? 1 : 0);
		}
		if (o->type == OPT_U32)
			err |= re_hprintf(pf, "# Range %u..%u. Env: %s\n",
					  o->min, o->max, env);
		else
			err |= re_hprintf(pf, "# Env: %s\n", env);
		err |= re_hprintf(pf, "%s = %s\n", o->name, o->def);
	}

	return err;
}
