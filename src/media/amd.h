/* amd.h - answering-machine detection on the callee's audio.
 *
 * Fed the callee's 8 kHz audio from the moment of answer, the detector
 * decides HUMAN, MACHINE or UNSURE from speech/silence timing in the
 * spirit of Asterisk's app_amd (initial silence, greeting length, word
 * count, silence after a short greeting), and finds voicemail beeps (a
 * steady tone of 400-2000 Hz) on the way. A beep during the analysis is
 * itself a MACHINE decision.
 *
 * After a MACHINE decision it keeps listening (AMD_WAIT_END) until the
 * greeting is over, so a message can be left: the end of a beep, or
 * greeting_end_silence of silence after the greeting when no beep comes,
 * or beep_timeout. Then AMD_DONE. HUMAN and UNSURE are final at once.
 *
 * Every threshold is a field of struct amd_params, settable by name
 * (amd_param_set(), the CLI's --name options) or from a JSON object
 * (amd_params_decode()); one table in amd.c holds names, defaults,
 * ranges and help. Pure computation: no loop, no threads, no allocation
 * per frame; about a microsecond per 20 ms frame.
 */
#ifndef PARLEY_AMD_H
#define PARLEY_AMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct odict;
struct re_printf;

enum {
	AMD_SRATE = 8000,
	AMD_FRAME = 160,         /* samples per analysis frame */
	AMD_FRAME_MS = 20,
};

enum amd_decision {
	AMD_UNDECIDED = 0,
	AMD_HUMAN,
	AMD_MACHINE,
	AMD_UNSURE,
};

enum amd_state {
	AMD_LISTENING,           /* no decision yet */
	AMD_WAIT_END,            /* MACHINE: waiting for the beep or the
				    end of the greeting */
	AMD_DONE,                /* decided; for a machine, greeting over */
};

/* Times in ms from answer, levels in dBFS. Defaults and ranges: the
 * table in amd.c (`parley amd analyze --help` prints it). */
struct amd_params {
	unsigned initial_silence;          /* silence before any word */
	enum amd_decision initial_silence_decision;
	unsigned greeting;                 /* speech in the greeting */
	unsigned after_greeting_silence;   /* silence after it: human */
	unsigned total_analysis_time;      /* then UNSURE */
	unsigned min_word_length;
	unsigned between_words_silence;
	unsigned maximum_number_of_words;  /* more: machine */
	unsigned maximum_word_length;
	int silence_threshold;             /* dBFS; quieter is silence */
	unsigned noise_margin;             /* dB over the noise floor */
	bool beep;                         /* detect beeps */
	unsigned beep_min_length;
	unsigned beep_min_freq, beep_max_freq;  /* Hz */
	int beep_threshold;                /* dBFS */
	unsigned beep_purity;              /* % of energy in the tone */
	unsigned beep_drift;               /* Hz within one beep */
	bool wait_end;                     /* after MACHINE: find the end */
	unsigned greeting_end_silence;
	unsigned beep_timeout;             /* give up waiting, from answer */
};

struct amd_result {
	enum amd_decision decision;
	const char *cause;       /* static; "" while undecided */
	int decided_ms;          /* -1 while undecided */
	int beep_ms;             /* onset of the beep; -1 none */
	unsigned beep_hz;
	int beep_end_ms;         /* -1 none or still sounding */
	int greeting_end_ms;     /* a message can start; -1 not (yet) */
	const char *end_cause;   /* "beep", "silence", "timeout",
				    "audio-end"; "" */
	unsigned words;          /* at the decision */
	unsigned voice_ms;       /* speech in the greeting, at the decision */
	unsigned elapsed_ms;     /* audio analysed so far */
};

/** One parameter's description, for help texts and API schemas. */
struct amd_param_info {
	const char *name;        /* e.g. "greeting" */
	const char *def;         /* default as text */
	const char *unit;        /* "ms", "dBFS", "Hz", "bool", ... */
	int min, max;            /* numeric range (not for enums) */
	const char *doc;
};

struct amd;

void amd_params_default(struct amd_params *p);

/**
 * Set one parameter by name ("greeting" or "greeting-time" style:
 * dashes are taken as underscores) from text: integers, true/false,
 * human/machine/unsure. EINVAL for an unknown name or a bad value; when
 * errbuf is given it says which, with the allowed range.
 */
int amd_param_set(struct amd_params *p, const char *name, const char *value,
		  char *errbuf, size_t errsz);

/** True when name is a detector parameter. */
bool amd_param_known(const char *name);

/**
 * Apply the parameters in a JSON object (numbers, booleans, strings for
 * initial_silence_decision). Keys that are not detector parameters are
 * left alone (the agent's outbound.amd object carries its actions too;
 * its schema rejects typos). EINVAL with errbuf for a bad value, and *p
 * unchanged; the result is checked as a whole (amd_params_check()).
 */
int amd_params_decode(struct amd_params *p, const struct odict *o,
		      char *errbuf, size_t errsz);

/** Cross-field checks (beep_min_freq < beep_max_freq). EINVAL. */
int amd_params_check(const struct amd_params *p, char *errbuf, size_t errsz);

/** The i-th parameter's description; NULL past the last. */
const struct amd_param_info *amd_param_info(size_t i);

/** Print the parameters as a JSON object (re_hprintf's %H). */
int amd_params_print(struct re_printf *pf, const struct amd_params *p);

/** New detector; params NULL for the defaults (copied). EINVAL when
 * amd_params_check() fails. */
int amd_alloc(struct amd **amdp, const struct amd_params *params);

/**
 * Analyse n samples of 8 kHz audio following what came before. Frames
 * of AMD_FRAME samples are best (one step each); other sizes are
 * buffered into them. Returns the state after them; once AMD_DONE,
 * further audio is ignored.
 */
enum amd_state amd_frame(struct amd *amd, const int16_t *pcm, size_t n);

/**
 * The audio has ended (callee hung up, file over): an undecided
 * analysis becomes UNSURE "audio-end", a wait for the greeting's end
 * ends with end_cause "audio-end".
 */
void amd_end(struct amd *amd);

enum amd_state amd_state(const struct amd *amd);
void amd_result(const struct amd *amd, struct amd_result *res);

const char *amd_decision_str(enum amd_decision d);

#endif
