/* policy.h - what happens to a call task after an attempt: retried
 * after a delay that depends on the outcome, or finished with a final
 * outcome. Pure functions (no store, no loop), shared by the end of a
 * call, lease recovery and the unit tests.
 *
 * Outcomes retried while attempts remain: busy, no_answer, failed,
 * unreachable, voicemail (a task out of attempts ends "failed" with that
 * outcome). Final at once: answered, rejected, dnc (the callee asked not
 * to be called, or the number is on a list), invalid. Anything else is
 * taken as failed.
 */
#ifndef PARLEY_DIALER_POLICY_H
#define PARLEY_DIALER_POLICY_H

#include <stdbool.h>
#include <stdint.h>

struct odict;

enum policy_outcome {
	PO_BUSY = 0,
	PO_NO_ANSWER,
	PO_FAILED,
	PO_UNREACHABLE,
	PO_VOICEMAIL,
	PO_NRETRY,
};

/** Seconds before the next attempt, per retried outcome. */
struct retry_policy {
	uint32_t delay_s[PO_NRETRY];
};

/** The resource defaults (busy 300, no_answer 1800, failed 3600,
 * unreachable 600, voicemail 7200). */
void policy_defaults(struct retry_policy *p);

/** Override delays from a {"busy":S,...} object (NULL: nothing). */
void policy_apply(struct retry_policy *p, const struct odict *delays);

/**
 * Delays for a task: the defaults, then the agent's outbound.retry_delays,
 * then the campaign's retry.delays (either JSON text may be NULL).
 */
void policy_load(struct retry_policy *p, const char *campaign_retry_json,
		 const char *agent_outbound_json);

/**
 * Attempts per contact: the campaign's retry.max_attempts, else the
 * agent's outbound.max_attempts, else seed 002's
 * metadata.outboundConfig.maxRetries (+1: the first call is no retry),
 * else 3. Clamped to 1..20.
 */
int64_t policy_max_attempts(const char *campaign_retry_json,
			    const char *agent_outbound_json,
			    const char *agent_metadata_json);

/** The next state of a task after an attempt. */
struct policy_next {
	const char *status;     /* "queued", "done" or "failed" */
	const char *final;      /* final outcome, NULL while queued */
	int64_t next_at;        /* when queued: now + delay */
};

/** attempt is the number of the attempt that just ended (1-based). */
void policy_decide(struct policy_next *nx, const struct retry_policy *p,
		   const char *outcome, bool dnc, int64_t attempt,
		   int64_t max_attempts, int64_t now_ms);

/** The canonical spelling of outcome (a static string). */
const char *policy_outcome_name(const char *outcome);

#endif
