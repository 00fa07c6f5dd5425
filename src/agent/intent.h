/* intent.h - what a caller's answer means, for the scenario engine.
 *
 * Transcripts are normalised first: ASCII letters lower-cased, every
 * character that is not a letter, digit, apostrophe or non-ASCII byte
 * becomes a word break, apostrophes are dropped ("Don't!" -> "dont"),
 * a comma between digits is dropped ("1,000" -> "1000"), and words are
 * joined by single spaces.
 *
 * Then one kind of answer is matched; the value is a normalised string:
 *
 *   yes_no     "yes" or "no". yes: yes, yeah, yep, yup, sure, correct,
 *              right, okay, ok, alright, absolutely, definitely,
 *              certainly, "of course", "go ahead", "no problem", ...
 *              no: no, nope, nah, not, never, dont, "not interested",
 *              "no thanks", ... A negative word wins over a positive one
 *              ("yes, I'm not interested" is no); "not sure", "dont
 *              know" and "maybe" mean neither.
 *   number     decimal digits: spoken digits are concatenated ("one two
 *              three" and "1 2 3" -> "123"), number words are combined
 *              up to the millions ("twenty three" -> "23", "two thousand
 *              and five" -> "2005", "nineteen eighty four" -> "1984").
 *              The first run of number words in the text counts.
 *   date       "today", "tomorrow", a weekday ("monday"), "next monday"
 *              (as said: the engine does not know the calendar), or a
 *              month and day as ISO 8601 without a year, "--MM-DD"
 *              ("march third", "the 3rd of march" -> "--03-03"), with
 *              "YYYY-MM-DD" when a four-digit year follows.
 *   choice     the choice (as written in the scenario) whose words occur
 *              in the text; the longest wins, then the last said. Else
 *              an ordinal picks by position: "the second one", "number
 *              two", "option 2", "the last one".
 *   intent     the name of the intent with the phrase that overlaps the
 *              text best (share of the phrase's content words found, at
 *              least half; ties: the intent listed first).
 *   free_text  the text itself (trimmed), when it is not empty.
 */
#ifndef PARLEY_AGENT_INTENT_H
#define PARLEY_AGENT_INTENT_H

#include <stddef.h>

struct odict;

enum intent_expect {
	INTENT_YES_NO,
	INTENT_NUMBER,
	INTENT_DATE,
	INTENT_CHOICE,
	INTENT_FREE_TEXT,
	INTENT_INTENT,
};

/** What an ask step expects. The odicts are borrowed. */
struct intent_spec {
	enum intent_expect expect;
	const struct odict *choices;  /* CHOICE: array of strings */
	const struct odict *intents;  /* INTENT: object, name -> [phrase] */
};

/** The expect value for its scenario name ("yes_no", ...). 0 or EINVAL. */
int intent_expect_parse(enum intent_expect *ep, const char *name);

/** The scenario name of an expect value. */
const char *intent_expect_name(enum intent_expect e);

/** Normalise a transcript (see above) into a new mem string. */
int intent_normalise(char **outp, const char *text);

/**
 * Match text against spec: *valuep is a new mem string (see above).
 * Returns 0, ENOENT when the text does not answer, or ENOMEM/EINVAL.
 */
int intent_match(char **valuep, const struct intent_spec *spec,
		 const char *text);

/**
 * Match keypad input: yes_no: 1 yes, 2 no; choice and intent: 1-9 pick
 * by position; number: the digits (the caller collects them up to '#').
 * Returns 0, ENOENT (no meaning here) or ENOMEM.
 */
int intent_dtmf(char **valuep, const struct intent_spec *spec,
		const char *digits);

/**
 * A JSGF grammar (for pocketsphinx) of the answers spec expects:
 * "#JSGF V1.0;\ngrammar parley;\npublic <answer> = ... ;\n", lower-case
 * words only. *jsgfp is NULL for free_text or when no word of the spec
 * can be written in a grammar. 0 or ENOMEM.
 */
int intent_grammar(char **jsgfp, const struct intent_spec *spec);

#endif
