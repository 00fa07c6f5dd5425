/* tel.h - the telephony layer: a SIP user agent (UDP, TCP, TLS) on the
 * libre loop that answers inbound calls routed by dialled number and
 * places outbound calls through trunks, with RTP audio (media.h), DTMF,
 * blind transfer and call records in the store.
 *
 * Everything here runs on the loop thread. Store work goes through the
 * worker pool; a call never waits for it.
 */
#ifndef PARLEY_TEL_H
#define PARLEY_TEL_H

#include <stdbool.h>
#include <stdint.h>

struct agent_env;
struct config;
struct media;
struct metrics;
struct pool;
struct rtcfg_cache;
struct tel;

/** What an outbound call needs; strings are copied. */
struct tel_dial {
	int64_t tenant_id;
	int64_t call_id;          /* the calls row, already inserted */
	int64_t agent_id;
	const char *to;           /* E.164 number */
	const char *from;         /* caller ID */
	const char *trunk_uri;    /* sip:host[:port][;transport=...] */
	const char *username;     /* trunk credentials (may be NULL) */
	const char *password;
	const char *agent_json;   /* resolved runtime config (with secrets) */
	const char *vars_json;    /* template variables (contact), or NULL */
	const char *message;      /* one-way notification instead of a
				   * conversation, or NULL */
	int64_t campaign_id;
	int64_t task_id;          /* the dialer's task, or 0 */
};

/** How a call ended, for its owner (the dialer). */
struct tel_call_end {
	int64_t tenant_id;
	int64_t call_id;
	int64_t task_id;          /* 0 for calls not placed by the dialer */
	int64_t campaign_id;
	const char *outcome;      /* answered, busy, no_answer, rejected,
				   * failed, unreachable, voicemail */
	const char *cause;        /* hangup cause */
	bool answered;
	bool dnc;                 /* the callee asked not to be called */
	uint64_t duration_ms;     /* answer to end, 0 when not answered */
};

typedef void (tel_end_h)(const struct tel_call_end *e, void *arg);

/** Be told about every call's end (loop thread; one handler). */
void tel_set_end_handler(struct tel *tel, tel_end_h *h, void *arg);

int tel_alloc(struct tel **telp, const struct config *cfg, struct pool *pool,
	      struct media *media, struct metrics *metrics,
	      struct rtcfg_cache *rtcfg, struct agent_env *env);

/**
 * A trunk's sip_uri with its transport ("udp", "tcp", "tls") as the URI
 * to dial: sips: for TLS, ;transport= for TCP.
 */
int tel_trunk_uri(char **urip, const char *uri, const char *transport);

/** Place an outbound call (progress goes to its calls row). */
int tel_dial(struct tel *tel, const struct tel_dial *d);

/** Act on a live call of this tenant. ENOENT when it is not live here. */
int tel_hangup(struct tel *tel, int64_t tenant_id, int64_t call_id);
int tel_send_dtmf(struct tel *tel, int64_t tenant_id, int64_t call_id,
		  const char *digits);
int tel_transfer(struct tel *tel, int64_t tenant_id, int64_t call_id,
		 const char *target_uri);

/**
 * OPTIONS ping to a trunk; the handler gets 0, the final status and the
 * RTT, or an error (ETIMEDOUT after 3 s). It is not called when the
 * telephony layer goes away first.
 */
typedef void (tel_ping_h)(int err, uint16_t scode, uint32_t rtt_ms,
			  void *arg);
int tel_ping(struct tel *tel, const char *uri, tel_ping_h *h, void *arg);

unsigned tel_active(const struct tel *tel);

/**
 * Graceful shutdown: new INVITEs and OPTIONS get 503; calls may go on.
 * With hangup_all, every live call is hung up now. tel_idle() tells when
 * no call, no store write and no trunk check (at most 3 s) is left.
 */
void tel_shutdown(struct tel *tel, bool hangup_all);
bool tel_idle(const struct tel *tel);

#endif
