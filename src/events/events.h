/* events.h - call and campaign events to webhooks: a durable outbox in
 * the store, delivered over HTTP with HMAC-SHA256 signatures, retried
 * with exponential backoff.
 *
 * events_emit() runs on a worker thread with that worker's connection,
 * inside whatever the caller is doing there (a call's event row, a
 * campaign update): it adds one webhook_outbox row per active webhook of
 * the tenant that subscribes to the type. The deliverer on the loop
 * claims due rows through the pool and POSTs them.
 *
 * The wire format (body, headers, how a receiver verifies a signature)
 * is described at the top of events.c.
 */
#ifndef PARLEY_EVENTS_H
#define PARLEY_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct db;
struct events;
struct http_cli;
struct pool;
struct config;

/** Is this event type one webhooks receive? */
bool events_webhook_type(const char *type);

/**
 * Queue type (e.g. "call.ended") with data (a JSON object, or NULL) for
 * the tenant's webhooks. Worker thread; db is the worker's connection.
 * Integer members "call_id" and "campaign_id" of data are also set on
 * the envelope (e.g. campaign.completed with {"campaign_id": 7, ...}).
 * 0 when nothing subscribes; the caller's transaction, if any, covers
 * the rows written.
 */
int events_emit(struct db *db, int64_t tenant_id, const char *type,
		const char *data_json);

/**
 * A call's event, from its call_events row (callrec writes that row
 * first, on the same connection and in the same transaction): the
 * envelope names the call and its campaign; data gains the call's
 * direction, numbers, agent, contact and task. Lifecycle events go out
 * once per call (a repeated call_events row of the same type is not sent
 * again); call.ended carries the outcome, duration and transcript read
 * from the store, and is preceded by user_hangup when the far end hung up
 * an answered call. at_ms: when the event happened.
 */
int events_emit_call(struct db *db, int64_t tenant_id, int64_t call_id,
		     int64_t at_ms, const char *type, const char *data_json);

/** The deliverer (loop thread); it starts at once. */
int events_alloc(struct events **evp, const struct config *cfg,
		 struct pool *pool, struct http_cli *http);

/** Shutting down: claim no more deliveries (those in flight go on). */
void events_stop(struct events *ev);

/** Nothing in flight: no claim, POST or result write under way. */
bool events_idle(const struct events *ev);

/**
 * The signature header value "v1=<hex HMAC-SHA256(secret, "<ts>." body)>"
 * into sig (68 bytes with the NUL).
 */
void events_sign(char sig[68], const char *secret, int64_t ts,
		 const void *body, size_t n);

/**
 * Milliseconds to wait after the n-th failed attempt (n >= 1):
 * base * 2^(n-1), at most max, plus rnd % (that / 4 + 1) of jitter.
 */
uint64_t events_backoff_ms(uint32_t n, uint32_t base_ms, uint32_t max_ms,
			   uint32_t rnd);

#endif
