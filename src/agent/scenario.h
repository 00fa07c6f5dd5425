/* scenario.h - the offline dialogue: a graph of steps, checked once and
 * compiled for the "scenario" dialogue provider (dlg_scenario.c).
 *
 * The agent's "scenario" member is a JSON object:
 *
 *   {"start": "greet",
 *    "steps": {
 *      "greet":    {"type":"say", "text":"Hello {name}, this is the clinic.",
 *                   "next":"ask_book"},
 *      "ask_book": {"type":"ask", "text":"Would you like to book?",
 *                   "expect":"yes_no", "slot":"wants",
 *                   "branches":{"yes":"ask_day","no":"bye"},
 *                   "no_match":{"text":"Please say yes or no.", "max":2,
 *                               "next":"bye"}},
 *      "ask_day":  {"type":"ask", "text":"Monday, Tuesday or Wednesday?",
 *                   "expect":"choice", "slot":"day",
 *                   "choices":["monday","tuesday","wednesday"],
 *                   "next":"confirm"},
 *      "confirm":  {"type":"say", "text":"Booked for {day}.", "next":"end"},
 *      "bye":      {"type":"say", "text":"Okay, goodbye.", "next":"end"},
 *      "end":      {"type":"hangup"}}}
 *
 * Members of "start"/"steps"; steps are named by their keys (1-64 bytes,
 * at most SCENARIO_MAX_STEPS). Texts are templates (template.h) rendered
 * with the call's variables: the contact fields, then every slot and
 * "set" variable so far (those override contact fields of the same name).
 * Every member named below is checked; unknown members are refused,
 * except ones beginning with '_' (free for editors: "_pos", "_note").
 *
 *   say       text (required), next. Says text, goes on to next.
 *   ask       text (required), expect (default "free_text"), slot,
 *             branches, next, no_match, reprompt, and choices (expect
 *             "choice": a non-empty array of strings) or intents (expect
 *             "intent": {"name": ["phrase", ...]}). Says text and waits
 *             for the caller. The answer is matched (intent.h) and its
 *             value stored in the variable named by slot; then the
 *             branch for that value (keys compared case-insensitively;
 *             yes_no keys must be "yes"/"no", choice keys choices,
 *             intent keys intent names) or else next is taken.
 *             no_match: {"text", "max" (1-10, default 2), "next"}: an
 *             answer that does not match says no_match.text (default:
 *             "Sorry, I didn't catch that." and the ask's text) and waits
 *             again; the max-th no-match in a row goes to no_match.next
 *             instead. Silence re-prompts with reprompt (default: text)
 *             and does not count as a no-match. Keypad: yes_no 1 = yes,
 *             2 = no; choice and intent 1-9 by position; number: digits
 *             ended by '#' ('*' clears).
 *   branch    var (required), cases ({"value": "step"}), default. Goes to
 *             the case equal (case-insensitively) to the variable's
 *             value, else to default.
 *   set       var (required), value (required; a template, or a number or
 *             boolean), next. Sets a variable (it counts as a slot).
 *   transfer  to (required: "+" and 7-15 digits, a sip:/sips: URI, or a
 *             template such as "{agent_number}"), text. Says text, then
 *             transfers the call: the scenario ends.
 *   hangup    text. Says text and ends the call.
 *   dnc       text, next. Says text, records that the caller asked not
 *             to be called again (DLG_DNC), goes on to next.
 *   webhook   url (required, http:// or https://, not a template), method
 *             ("POST" default, "PUT" or "GET"), next, on_error. Sends the
 *             variables as a JSON object (POST/PUT; GET sends no body)
 *             without blocking the call; string, integer and boolean
 *             members of a JSON object reply become variables. A failure
 *             (no HTTP client, connection error, timeout, non-2xx status)
 *             is reported as DLG_ERROR (http = true) and goes to on_error
 *             (default: next). A barge-in (cancel) while it is under way
 *             drops the request; the next caller turn continues at
 *             on_error (default: next) without sending it again.
 *
 * A step without a way on (say, set, dnc or webhook without next; an ask
 * whose answer has no branch and no next; a branch without a matching
 * case or default; the max-th no-match without no_match.next) ends the
 * scenario and the call. The agent's first_message is not used when a
 * scenario is present: the start step speaks first.
 *
 * Refused (scenario_compile fails naming the step): a missing or
 * unknown start, no steps, more than SCENARIO_MAX_STEPS steps, an unknown
 * type, a next/branch/case/default/no_match/on_error naming no step, an
 * ask without text, a choice without choices, an intent without
 * intents, a slot or var that is not an identifier ([A-Za-z0-9_.]), and
 * a cycle of steps that never waits for the caller (say -> set -> say
 * -> ... with no ask on the way), which would talk forever.
 */
#ifndef PARLEY_AGENT_SCENARIO_H
#define PARLEY_AGENT_SCENARIO_H

#include <stddef.h>
#include "agent/intent.h"

struct odict;
struct scenario;

enum { SCENARIO_MAX_STEPS = 200, SCENARIO_NO_STEP = -1 };

enum scn_type {
	SCN_SAY,
	SCN_ASK,
	SCN_BRANCH,
	SCN_SET,
	SCN_TRANSFER,
	SCN_HANGUP,
	SCN_DNC,
	SCN_WEBHOOK,
};

/** A value -> step pair of ask branches and branch cases. */
struct scn_case {
	const char *value;
	int step;
};

/**
 * One compiled step. Strings point into the scenario's odict, which the
 * compiled scenario keeps a reference on; step links are indexes
 * (SCENARIO_NO_STEP: none).
 */
struct scn_step {
	const char *name;
	enum scn_type type;
	const char *text;           /* say/ask/transfer/hangup/dnc, or NULL */
	int next;

	/* ask */
	struct intent_spec spec;
	const char *slot;           /* or NULL */
	const char *reprompt;       /* or NULL: text */
	const char *nm_text;        /* no_match.text or NULL */
	unsigned nm_max;            /* >= 1 */
	int nm_next;
	char *grammar;              /* JSGF or NULL */

	/* ask branches, branch cases */
	struct scn_case *cases;
	size_t ncases;
	int def;                    /* branch: default */

	/* branch, set */
	const char *var;
	const char *value;          /* set: template text */
	char *own;                  /* set: storage of a literal value */

	/* transfer */
	const char *to;

	/* webhook */
	const char *url;
	const char *method;
	int on_error;
};

/** Why a scenario was refused. */
struct scenario_err {
	char field[128];   /* path in the scenario: "steps.ask_day.next" */
	char msg[256];     /* "step 'ask_day': next 'confrim' is not a step" */
};

/**
 * Check and compile a scenario object into *scnp (a mem object). 0,
 * EINVAL with *errp filled (errp may be NULL), or ENOMEM.
 */
int scenario_compile(struct scenario **scnp, const struct odict *obj,
		     struct scenario_err *errp);

/** Check only: scenario_compile without keeping the result. */
int scenario_validate(const struct odict *obj, struct scenario_err *errp);

/** Number of steps. */
size_t scenario_count(const struct scenario *scn);

/** The start step's index. */
int scenario_start(const struct scenario *scn);

/** Step idx (0 <= idx < count), or NULL. */
const struct scn_step *scenario_step(const struct scenario *scn, int idx);

/** The index of the step named name, or SCENARIO_NO_STEP. */
int scenario_find(const struct scenario *scn, const char *name);

/** The scenario name of a step type ("say", ...). */
const char *scenario_type_name(enum scn_type type);

#endif
