/* The retry rules: what an attempt's outcome does to its task. */
#include "test.h"
#include "dialer/policy.h"

TEST(policy_defaults_and_overrides)
{
	struct retry_policy p;

	policy_load(&p, NULL, NULL);
	CHECK_EQ_INT(p.delay_s[PO_BUSY], 300);
	CHECK_EQ_INT(p.delay_s[PO_NO_ANSWER], 1800);
	CHECK_EQ_INT(p.delay_s[PO_FAILED], 3600);
	CHECK_EQ_INT(p.delay_s[PO_UNREACHABLE], 600);
	CHECK_EQ_INT(p.delay_s[PO_VOICEMAIL], 7200);

	/* the campaign wins over the agent, the agent over the defaults */
	policy_load(&p, "{\"delays\":{\"busy\":50}}",
		    "{\"retry_delays\":{\"busy\":100,\"no_answer\":77}}");
	CHECK_EQ_INT(p.delay_s[PO_BUSY], 50);
	CHECK_EQ_INT(p.delay_s[PO_NO_ANSWER], 77);
	CHECK_EQ_INT(p.delay_s[PO_FAILED], 3600);

	/* nonsense is ignored, not trusted */
	policy_load(&p, "{\"delays\":{\"busy\":-1,\"failed\":\"x\"}}", "[1]");
	CHECK_EQ_INT(p.delay_s[PO_BUSY], 300);
	CHECK_EQ_INT(p.delay_s[PO_FAILED], 3600);
	policy_load(&p, "not json", NULL);
	CHECK_EQ_INT(p.delay_s[PO_VOICEMAIL], 7200);
}

TEST(policy_max_attempts_sources)
{
	CHECK_EQ_INT(policy_max_attempts(NULL, NULL, NULL), 3);
	CHECK_EQ_INT(policy_max_attempts("{\"max_attempts\":5}",
					 "{\"max_attempts\":2}", NULL), 5);
	CHECK_EQ_INT(policy_max_attempts("{}", "{\"max_attempts\":2}",
					 NULL), 2);
	/* seed 002: maxRetries are retries after the first call */
	CHECK_EQ_INT(policy_max_attempts(NULL, NULL,
		"{\"outboundConfig\":{\"maxRetries\":3,\"dncEnabled\":true}}"),
		4);
	CHECK_EQ_INT(policy_max_attempts("{\"max_attempts\":50}", NULL, NULL),
		     20);
	CHECK_EQ_INT(policy_max_attempts("{\"max_attempts\":0}", NULL, NULL),
		     1);
}

TEST(policy_decisions)
{
	struct retry_policy p;
	struct policy_next nx;
	const int64_t now = 1000000;

	policy_defaults(&p);
	p.delay_s[PO_BUSY] = 2;

	policy_decide(&nx, &p, "busy", false, 1, 3, now);
	CHECK_STR(nx.status, "queued");
	CHECK(nx.final == NULL);
	CHECK_EQ_INT(nx.next_at, now + 2000);

	policy_decide(&nx, &p, "busy", false, 3, 3, now);
	CHECK_STR(nx.status, "failed");
	CHECK_STR(nx.final, "busy");

	policy_decide(&nx, &p, "voicemail", false, 1, 2, now);
	CHECK_STR(nx.status, "queued");
	CHECK_EQ_INT(nx.next_at, now + 7200 * 1000LL);

	policy_decide(&nx, &p, "no_answer", false, 1, 1, now);
	CHECK_STR(nx.status, "failed");
	CHECK_STR(nx.final, "no_answer");

	/* final at once, whatever is left */
	policy_decide(&nx, &p, "answered", false, 1, 3, now);
	CHECK_STR(nx.status, "done");
	CHECK_STR(nx.final, "answered");
	policy_decide(&nx, &p, "rejected", false, 1, 3, now);
	CHECK_STR(nx.status, "done");
	CHECK_STR(nx.final, "rejected");
	/* the callee asked not to be called: even a busy-looking end */
	policy_decide(&nx, &p, "answered", true, 1, 3, now);
	CHECK_STR(nx.final, "dnc");
	policy_decide(&nx, &p, "busy", true, 1, 3, now);
	CHECK_STR(nx.status, "done");
	CHECK_STR(nx.final, "dnc");

	/* unknown outcomes are failures, and retried as such */
	policy_decide(&nx, &p, "martian", false, 1, 3, now);
	CHECK_STR(nx.status, "queued");
	CHECK_EQ_INT(nx.next_at, now + 3600 * 1000LL);
	policy_decide(&nx, &p, NULL, false, 2, 2, now);
	CHECK_STR(nx.final, "failed");
	CHECK_STR(policy_outcome_name("unreachable"), "unreachable");
	CHECK_STR(policy_outcome_name("x"), "failed");
}

TEST_MAIN()
