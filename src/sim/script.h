/* script.h - caller scripts for `parley simulate`: what a scripted caller
 * says and does, one step per line, parsed strictly (a malformed script
 * is refused with the number of the offending line).
 *
 * Format (UTF-8 text; LF or CRLF line ends; a leading BOM is skipped):
 *
 *   # a comment             lines whose first non-blank is '#' are
 *                           ignored, and so are blank lines
 *   I'd like to book a table.
 *                           an utterance: spoken once the agent has
 *                           finished its turn (see sim.h for the rule)
 *   @wait SECONDS           stay silent that long (after the agent's
 *                           turn), e.g. to trigger a silence re-prompt
 *   @barge SECONDS TEXT     during the agent's next turn, start saying
 *                           TEXT SECONDS after its audio began
 *   @dtmf DIGITS            send RFC 4733 digits (0-9 * # A-D, at most
 *                           32), once the agent has finished its turn
 *   @hangup                 hang up now
 *   @expect-hangup          wait for the agent to hang up
 *
 * SECONDS is a decimal number with at most three decimals ("2", "0.5");
 * @wait takes more than 0 and at most 3600, @barge 0 to 600. Directive
 * names are case-insensitive; blanks (spaces, tabs) around words are
 * ignored. An utterance cannot begin with '@' or '#'. Nothing may follow
 * @hangup or @expect-hangup. Limits: SCRIPT_MAX_LINE bytes per line,
 * SCRIPT_MAX_STEPS steps.
 *
 * A parsed script is immutable once synthesised, so one script (and its
 * audio) can be shared by any number of simulated callers.
 */
#ifndef PARLEY_SCRIPT_H
#define PARLEY_SCRIPT_H

#include <stddef.h>
#include <stdint.h>

struct tts_opts;

enum {
	SCRIPT_MAX_LINE = 2000,        /* bytes, line end excluded */
	SCRIPT_MAX_STEPS = 1000,
	SCRIPT_MAX_DIGITS = 32,
	SCRIPT_MAX_FILE = 1 << 20,     /* script_load() */
	SCRIPT_MAX_WAIT_MS = 3600000,
	SCRIPT_MAX_BARGE_MS = 600000,
};

enum script_kind {
	SCRIPT_SAY,
	SCRIPT_WAIT,
	SCRIPT_BARGE,
	SCRIPT_DTMF,
	SCRIPT_HANGUP,
	SCRIPT_EXPECT_HANGUP,
};

struct script_step {
	enum script_kind kind;
	unsigned line;         /* 1-based line of the script */
	char *text;            /* SAY, BARGE: the words; DTMF: the digits
				* (upper case); else NULL */
	uint32_t ms;           /* WAIT: how long; BARGE: delay after the
				* agent's audio began */
	int16_t *pcm;          /* SAY, BARGE: 8 kHz speech after
				* script_synth(), else NULL */
	size_t n;              /* samples in pcm */
};

struct script {
	struct script_step *steps;
	size_t n;
};

/** Why a script was refused. line is 0 for the file as a whole. */
struct script_err {
	unsigned line;
	char msg[160];
};

/**
 * Parse a script (need not be NUL-terminated). 0, EBADMSG with *errp
 * filled in (when errp is given), or ENOMEM. Release with mem_deref().
 */
int script_parse(struct script **scp, const char *buf, size_t len,
		 struct script_err *errp);

/** Read and parse a file; errors as script_parse, or errno from reading
 * (the message then says what failed). */
int script_load(struct script **scp, const char *path,
		struct script_err *errp);

/**
 * Synthesise every utterance (SAY, BARGE) with tts_synth(), trimmed of
 * leading and trailing silence; equal texts share one buffer. Blocking
 * (seconds for a long script): call it before the loop runs or from a
 * worker. On failure *errp names the line that could not be spoken.
 */
int script_synth(struct script *sc, const struct tts_opts *opts,
		 struct script_err *errp);

/** The directive name of a step kind ("say" for utterances). */
const char *script_kind_name(enum script_kind kind);

#endif
