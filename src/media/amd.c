/* amd.c - answering-machine detection: speech/silence timing plus beeps.
 *
 * Each 20 ms frame is first tested for a steady tone (the beep finder
 * below), then classed as speech or silence. Speech needs an absolute
 * level (silence_threshold) and noise_margin dB over the noise floor,
 * the quietest frame of the last second. Not vad.c: its floor starts at
 * digital silence and learns upwards slowly, so a line that is noisy
 * from the moment of answer would be "speech" for seconds, and AMD has
 * no pre-roll to learn from. A minimum over a window needs none: steady
 * noise sits within a few dB of its own minimum, while speech falls
 * between syllables and words and stands 10-30 dB over its quietest
 * frames. The price: a steady sound that starts later (a fan switched
 * on) counts as speech until it fills the window. A 200 Hz high-pass
 * first removes rumble and hum, which no telephone band carries anyway.
 *
 * The timing rules are app_amd's: words are runs of speech of at least
 * min_word_length separated by between_words_silence; the greeting
 * starts with the first word; too long a greeting, too many or too long
 * words mean a machine, a short greeting followed by
 * after_greeting_silence means a human ("Hello?" and then waiting).
 * Tone frames are neither speech nor silence: a beep after a short
 * greeting must not pass for the silence of a human waiting.
 *
 * Defaults differ from app_amd's where the labelled set (tests/amd,
 * docs/BENCHMARKS.md) shows its values hang up on people:
 * - greeting 2500 ms (app_amd 1500): people who answer with a sentence
 *   ("Good morning, Smith residence, how can I help?") speak for 2 s
 *   and more; voicemail greetings run 3-15 s. Machines are decided about
 *   a second later, which costs less than hanging up on a person.
 * - between_words_silence 250 ms (app_amd 50): at 50 ms the gaps between
 *   syllables end words, so "Hi, this is John." is four words and more
 *   than maximum_number_of_words; at 250 ms words are phrases.
 * - total_analysis_time 7000 ms (app_amd 5000): 2.5 s of speech after up
 *   to 2 s of leading silence must fit.
 * - initial silence means UNSURE (app_amd: MACHINE). Modern voicemail
 *   speaks within a second or two of answering, while people who answer
 *   unknown numbers often wait for the caller to speak first; the
 *   agent's unsure action decides. initial_silence_decision restores
 *   app_amd's choice. Noise without speech is the same case.
 */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <re.h>
#include "media/amd.h"

enum {
	FLOOR_FRAMES = 50,       /* noise floor: minimum over the last 1 s */
	BEEP_GAP = 1,            /* frames a beep may drop out (codec) */
	BEEP_STEP_HZ = 10,       /* Goertzel probes around the estimate */
	HIGHPASS_HZ = 200,       /* below the telephone band */
	NAME_MAX_LEN = 64,
};

#define BEEP_CREST2 (2.3 * 2.3)  /* squared crest factor of a noisy sine */

/* ---- parameters: one table for names, defaults, ranges and help ---- */

enum pkind { PK_UINT, PK_INT, PK_BOOL, PK_DECISION };

struct pdesc {
	struct amd_param_info info;
	enum pkind kind;
	size_t off;
};

#define PU(n, def, unit, lo, hi, doc) \
	{{#n, def, unit, lo, hi, doc}, PK_UINT, offsetof(struct amd_params, n)}
#define PI(n, def, unit, lo, hi, doc) \
	{{#n, def, unit, lo, hi, doc}, PK_INT, offsetof(struct amd_params, n)}
#define PB(n, def, doc) \
	{{#n, def, "bool", 0, 1, doc}, PK_BOOL, offsetof(struct amd_params, n)}
#define PD(n, def, doc) \
	{{#n, def, "decision", 0, 0, doc}, PK_DECISION, \
	 offsetof(struct amd_params, n)}

static const struct pdesc params[] = {
	PU(initial_silence, "2500", "ms", 100, 60000,
	   "silence from answer before any word: initial_silence_decision"),
	PD(initial_silence_decision, "unsure",
	   "human, machine or unsure (app_amd: machine)"),
	PU(greeting, "2500", "ms", 100, 60000,
	   "speech in the greeting longer than this: machine"),
	PU(after_greeting_silence, "800", "ms", 100, 60000,
	   "silence after a greeting shorter than that: human"),
	PU(total_analysis_time, "7000", "ms", 500, 120000,
	   "no decision by then: unsure"),
	PU(min_word_length, "100", "ms", 20, 5000,
	   "speech this long makes a word"),
	PU(between_words_silence, "250", "ms", 20, 5000,
	   "silence this long ends a word"),
	PU(maximum_number_of_words, "3", "words", 1, 100,
	   "more words in the greeting: machine"),
	PU(maximum_word_length, "5000", "ms", 100, 60000,
	   "a word longer than this: machine"),
	PI(silence_threshold, "-45", "dBFS", -90, 0,
	   "frames quieter than this are silence"),
	PU(noise_margin, "9", "dB", 0, 60,
	   "speech stands this far over the noise floor"),
	PB(beep, "true", "detect voicemail beeps (a beep means machine)"),
	PU(beep_min_length, "150", "ms", 20, 5000,
	   "a steady tone this long is a beep"),
	PU(beep_min_freq, "400", "Hz", 100, 3800, "lowest beep frequency"),
	PU(beep_max_freq, "2000", "Hz", 100, 3800, "highest beep frequency"),
	PI(beep_threshold, "-40", "dBFS", -90, 0, "quietest beep"),
	PU(beep_purity, "70", "%", 10, 100,
	   "share of a frame's energy at the beep's frequency"),
	PU(beep_drift, "20", "Hz", 1, 500,
	   "frequency change allowed within one beep"),
	PB(wait_end, "true",
	   "after machine: wait for the beep or the greeting's end"),
	PU(greeting_end_silence, "1500", "ms", 100, 60000,
	   "without a beep, silence after the greeting that ends it"),
	PU(beep_timeout, "30000", "ms", 1000, 600000,
	   "stop waiting for the greeting's end (from answer)"),
};

static const char *const decisions[] = {
	[AMD_UNDECIDED] = "undecided",
	[AMD_HUMAN] = "human",
	[AMD_MACHINE] = "machine",
	[AMD_UNSURE] = "unsure",
};

const char *amd_decision_str(enum amd_decision d)
{
	return (size_t)d < ARRAY_SIZE(decisions) ? decisions[d] : "?";
}

static const struct pdesc *pfind(const char *name)
{
	char norm[NAME_MAX_LEN];
	size_t i;

	if (!name || strlen(name) >= sizeof(norm))
		return NULL;
	for (i = 0; name[i]; i++)
		norm[i] = name[i] == '-' ? '_' : name[i];
	norm[i] = '\0';

	for (i = 0; i < ARRAY_SIZE(params); i++) {
		if (!strcmp(params[i].info.name, norm))
			return &params[i];
	}
	return NULL;
}

bool amd_param_known(const char *name)
{
	return pfind(name) != NULL;
}

const struct amd_param_info *amd_param_info(size_t i)
{
	return i < ARRAY_SIZE(params) ? &params[i].info : NULL;
}

/* strict decimal integer: optional '-', digits, nothing else */
static bool parse_int(const char *s, long *vp)
{
	long v = 0;
	bool neg = *s == '-';

	if (neg)
		s++;
	if (!*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > 100000000L)
			return false;
		v = v * 10 + (*s - '0');
	}
	*vp = neg ? -v : v;
	return true;
}

static bool parse_bool(const char *s, bool *vp)
{
	static const char *const yes[] = {"true", "1", "yes", "on"};
	static const char *const no[] = {"false", "0", "no", "off"};

	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		if (!strcasecmp(s, yes[i]) || !strcasecmp(s, no[i])) {
			*vp = !strcasecmp(s, yes[i]);
			return true;
		}
	}
	return false;
}

static int pset(struct amd_params *p, const struct pdesc *d, const char *v,
		char *errbuf, size_t errsz)
{
	char *field = (char *)p + d->off;
	long n;
	bool b;

	switch (d->kind) {

	case PK_UINT:
	case PK_INT:
		if (!parse_int(v, &n) || n < d->info.min || n > d->info.max)
			break;
		if (d->kind == PK_UINT)
			*(unsigned *)(void *)field = (unsigned)n;
		else
			*(int *)(void *)field = (int)n;
		return 0;

	case PK_BOOL:
		if (!parse_bool(v, &b))
			break;
		*(bool *)(void *)field = b;
		return 0;

	case PK_DECISION:
		for (size_t i = AMD_HUMAN; i < ARRAY_SIZE(decisions); i++) {
			if (!strcmp(v, decisions[i])) {
				*(enum amd_decision *)(void *)field =
					(enum amd_decision)i;
				return 0;
			}
		}
		break;
	}

	if (errbuf && errsz) {
		if (d->kind == PK_BOOL)
			re_snprintf(errbuf, errsz, "bad value '%s' for %s: "
				    "true or false", v, d->info.name);
		else if (d->kind == PK_DECISION)
			re_snprintf(errbuf, errsz, "bad value '%s' for %s: "
				    "human, machine or unsure", v,
				    d->info.name);
		else
			re_snprintf(errbuf, errsz, "bad value '%s' for %s: "
				    "an integer from %d to %d (%s)", v,
				    d->info.name, d->info.min, d->info.max,
				    d->info.unit);
	}
	return EINVAL;
}

int amd_param_set(struct amd_params *p, const char *name, const char *value,
		  char *errbuf, size_t errsz)
{
	const struct pdesc *d;

	if (!p || !name || !value)
		return EINVAL;

	d = pfind(name);
	if (!d) {
		if (errbuf && errsz)
			re_snprintf(errbuf, errsz, "unknown AMD parameter '%s'",
				    name);
		return EINVAL;
	}
	return pset(p, d, value, errbuf, errsz);
}

void amd_params_default(struct amd_params *p)
{
	if (!p)
		return;
	memset(p, 0, sizeof(*p));
	/* the table's defaults are valid (a unit test checks) */
	for (size_t i = 0; i < ARRAY_SIZE(params); i++)
		(void)pset(p, &params[i], params[i].info.def, NULL, 0);
}

int amd_params_check(const struct amd_params *p, char *errbuf, size_t errsz)
{
	if (!p)
		return EINVAL;
	if (p->beep_min_freq >= p->beep_max_freq) {
		if (errbuf && errsz)
			re_snprintf(errbuf, errsz, "beep_min_freq (%u) must be "
				    "below beep_max_freq (%u)",
				    p->beep_min_freq, p->beep_max_freq);
		return EINVAL;
	}
	return 0;
}

int amd_params_decode(struct amd_params *p, const struct odict *o,
		      char *errbuf, size_t errsz)
{
	struct amd_params q;
	struct le *le;
	int err;

	if (!p || !o)
		return EINVAL;

	/* all or nothing: work on a copy */
	q = *p;

	for (le = o->lst.head; le; le = le->next) {
		const struct odict_entry *e = le->data;
		const struct pdesc *d = pfind(e->key);
		char v[32];

		if (!d)
			continue;

		switch (e->type) {

		case ODICT_INT:
			re_snprintf(v, sizeof(v), "%lld",
				    (long long)e->u.integer);
			break;

		case ODICT_DOUBLE:
			if (e->u.dbl != floor(e->u.dbl) ||
			    fabs(e->u.dbl) > 1e9) {
				if (errbuf && errsz)
					re_snprintf(errbuf, errsz, "%s must be "
						    "an integer", e->key);
				return EINVAL;
			}
			re_snprintf(v, sizeof(v), "%lld",
				    (long long)e->u.dbl);
			break;

		case ODICT_BOOL:
			re_snprintf(v, sizeof(v), "%s",
				    e->u.boolean ? "true" : "false");
			break;

		case ODICT_STRING:
			if (d->kind != PK_DECISION && d->kind != PK_BOOL) {
				if (errbuf && errsz)
					re_snprintf(errbuf, errsz, "%s must be "
						    "a number", e->key);
				return EINVAL;
			}
			err = pset(&q, d, e->u.str, errbuf, errsz);
			if (err)
				return err;
			continue;

		default:
			if (errbuf && errsz)
				re_snprintf(errbuf, errsz, "%s: %s is not "
					    "allowed", e->key,
					    odict_type_name(e->type));
			return EINVAL;
		}

		err = pset(&q, d, v, errbuf, errsz);
		if (err)
			return err;
	}

	err = amd_params_check(&q, errbuf, errsz);
	if (!err)
		*p = q;
	return err;
}

int amd_params_print(struct re_printf *pf, const struct amd_params *p)
{
	int err = re_hprintf(pf, "{");

	for (size_t i = 0; i < ARRAY_SIZE(params) && !err; i++) {
		const struct pdesc *d = &params[i];
		const char *field = (const char *)p + d->off;
		const char *sep = i ? "," : "";

		switch (d->kind) {

		case PK_UINT:
			err = re_hprintf(pf, "%s\"%s\":%u", sep, d->info.name,
				 *(const unsigned *)(const void *)field);
			break;

		case PK_INT:
			err = re_hprintf(pf, "%s\"%s\":%d", sep, d->info.name,
				 *(const int *)(const void *)field);
			break;

		case PK_BOOL:
			err = re_hprintf(pf, "%s\"%s\":%s", sep, d->info.name,
				 *(const bool *)(const void *)field ?
				 "true" : "false");
			break;

		case PK_DECISION:
			err = re_hprintf(pf, "%s\"%s\":\"%s\"", sep,
				 d->info.name, amd_decision_str(
				 *(const enum amd_decision *)(const void *)
				 field));
			break;
		}
	}

	return err ? err : re_hprintf(pf, "}");
}

/* ---- the detector ---- */

struct amd {
	struct amd_params p;
	enum amd_state state;
	enum amd_decision decision;
	const char *cause, *end_cause;
	int decided_ms, beep_ms, beep_end_ms, greeting_end_ms;
	unsigned beep_hz, words_at, voice_at;

	int16_t buf[AMD_FRAME];  /* a partial frame */
	size_t nbuf;
	unsigned t;              /* ms analysed */

	/* high-pass biquad: rumble and hum are not speech */
	double hb[3], ha[2], hx[2], hy[2];

	/* speech or silence; levels as mean square of full scale */
	double thr, margin;
	double hist[FLOOR_FRAMES];
	unsigned nhist, hpos;

	/* app_amd's counters, in ms */
	bool in_greeting, in_word;
	unsigned voice_run, silence_run, voice_ms, words;

	/* the current run of tone frames */
	double beep_thr;         /* sum of squares of a frame, int16 units */
	unsigned tone_start, tone_end, tone_frames, tone_gap;
	double tone_hz;
	bool tone_is_beep;
};

static double db_to_ratio(double db)
{
	return pow(10.0, db / 10.0);
}

int amd_alloc(struct amd **amdp, const struct amd_params *prm)
{
	struct amd *a;

	if (!amdp)
		return EINVAL;
	if (prm && amd_params_check(prm, NULL, 0))
		return EINVAL;

	a = mem_zalloc(sizeof(*a), NULL);
	if (!a)
		return ENOMEM;

	if (prm)
		a->p = *prm;
	else
		amd_params_default(&a->p);

	a->cause = a->end_cause = "";
	a->decided_ms = a->beep_ms = a->beep_end_ms = a->greeting_end_ms = -1;
	a->thr = db_to_ratio(a->p.silence_threshold);
	a->margin = db_to_ratio(a->p.noise_margin);
	a->beep_thr = db_to_ratio(a->p.beep_threshold) * 32768.0 * 32768.0 *
		AMD_FRAME;

	/* 2nd-order Butterworth high-pass, bilinear transform */
	{
		double k = tan(M_PI * HIGHPASS_HZ / AMD_SRATE);
		double q = M_SQRT1_2, n = 1.0 / (1.0 + k / q + k * k);

		a->hb[0] = n;
		a->hb[1] = -2.0 * n;
		a->hb[2] = n;
		a->ha[0] = 2.0 * (k * k - 1.0) * n;
		a->ha[1] = (1.0 - k / q + k * k) * n;
	}

	*amdp = a;
	return 0;
}

/* Goertzel power at hz over one frame, int16 units */
static double goertzel(const double *x, double hz)
{
	double c = 2.0 * cos(2.0 * M_PI * hz / AMD_SRATE);
	double s1 = 0, s2 = 0;

	for (int i = 0; i < AMD_FRAME; i++) {
		double s0 = x[i] + c * s1 - s2;

		s2 = s1;
		s1 = s0;
	}
	return s1 * s1 + s2 * s2 - c * s1 * s2;
}

/*
 * Is this frame a steady tone in the beep band, and at what frequency?
 * A sine obeys x[n] + x[n-2] = c x[n-1] with c = 2 cos(w), so c by
 * least squares estimates the frequency from any frame in one pass, and
 * the residual says whether the frame is sine-like at all. Noise biases
 * the estimate towards 2 kHz, so Goertzel probes a little below and
 * above it; a sine of amplitude A puts (A N / 2)^2 into its own
 * frequency, which is N/2 times the frame's sum of squares. Speech and
 * noise spread their energy and hold a small share.
 */
static bool tone(const struct amd *a, const double *x, double sumsq,
		 double *hzp)
{
	double num = 0, den = 0, yy = 0, c, hz, best = 0, best_hz = 0;

	for (int i = 2; i < AMD_FRAME; i++) {
		double z = x[i - 1], y = x[i] + x[i - 2];

		num += z * y;
		den += z * z;
		yy += y * y;
	}
	if (den <= 0)
		return false;

	/* residual of the prediction over the signal: a sine's is ~0 */
	if (yy - num * num / den > 0.5 * den)
		return false;

	c = num / den;
	if (c >= 2.0 || c <= -2.0)
		return false;
	hz = acos(c / 2.0) * AMD_SRATE / (2.0 * M_PI);
	if (hz < a->p.beep_min_freq - 50.0 || hz > a->p.beep_max_freq + 50.0)
		return false;

	for (int k = -4; k <= 2; k++) {
		double f = hz + k * BEEP_STEP_HZ, pw;

		if (f < a->p.beep_min_freq || f > a->p.beep_max_freq)
			continue;
		pw = goertzel(x, f);
		if (pw > best) {
			best = pw;
			best_hz = f;
		}
	}

	if (best * 100.0 < a->p.beep_purity * sumsq * AMD_FRAME / 2.0)
		return false;

	*hzp = best_hz;
	return true;
}

static void decide(struct amd *a, enum amd_decision d, const char *cause)
{
	a->decision = d;
	a->cause = cause;
	a->decided_ms = (int)a->t;
	a->words_at = a->words;
	a->voice_at = a->in_greeting ? a->voice_ms : 0;
	a->state = d == AMD_MACHINE && a->p.wait_end ? AMD_WAIT_END : AMD_DONE;
}

static void greeting_over(struct amd *a, const char *cause)
{
	a->end_cause = cause;
	a->greeting_end_ms = (int)a->t;
	a->state = AMD_DONE;
}

/* the run of tone frames: a beep once it lasts beep_min_length */
static void beep_track(struct amd *a, bool tonal, double hz, unsigned t0)
{
	bool same = tonal && a->tone_frames &&
		fabs(hz - a->tone_hz) <= a->p.beep_drift;

	if (a->tone_frames && !same && (tonal || ++a->tone_gap > BEEP_GAP)) {
		/* the run is over */
		if (a->tone_is_beep) {
			a->beep_end_ms = (int)a->tone_end;
			if (a->state == AMD_WAIT_END)
				greeting_over(a, "beep");
		}
		a->tone_frames = 0;
		a->tone_is_beep = false;
	}

	if (same) {
		a->tone_hz = (a->tone_hz * a->tone_frames + hz) /
			(a->tone_frames + 1);
		a->tone_frames++;
		a->tone_gap = 0;
		a->tone_end = t0 + AMD_FRAME_MS;
	}
	else if (tonal) {
		a->tone_start = t0;
		a->tone_end = t0 + AMD_FRAME_MS;
		a->tone_frames = 1;
		a->tone_gap = 0;
		a->tone_hz = hz;
	}

	if (a->tone_frames && !a->tone_is_beep && a->beep_ms < 0 &&
	    a->tone_frames * AMD_FRAME_MS >= a->p.beep_min_length) {
		a->tone_is_beep = true;
		a->beep_ms = (int)a->tone_start;
		a->beep_hz = (unsigned)(a->tone_hz + 0.5);
		if (a->state == AMD_LISTENING)
			decide(a, AMD_MACHINE, "beep");
	}
}

/* speech or silence, against the absolute threshold and the floor */
static bool is_voice(struct amd *a, double ms)
{
	double floor_ms = ms;

	a->hist[a->hpos] = ms;
	a->hpos = (a->hpos + 1) % FLOOR_FRAMES;
	if (a->nhist < FLOOR_FRAMES)
		a->nhist++;
	for (unsigned i = 0; i < a->nhist; i++) {
		if (a->hist[i] < floor_ms)
			floor_ms = a->hist[i];
	}

	return ms > a->thr && ms > floor_ms * a->margin;
}

static void step(struct amd *a, const int16_t *in)
{
	const struct amd_params *p = &a->p;
	double x[AMD_FRAME], sumsq = 0, peak = 0, hz = 0;
	unsigned t0 = a->t;
	bool tonal, voice, hold;

	for (int i = 0; i < AMD_FRAME; i++) {
		double y = a->hb[0] * in[i] + a->hb[1] * a->hx[0] +
			a->hb[2] * a->hx[1] - a->ha[0] * a->hy[0] -
			a->ha[1] * a->hy[1];

		a->hx[1] = a->hx[0];
		a->hx[0] = in[i];
		a->hy[1] = a->hy[0];
		a->hy[0] = y;
		x[i] = y;
		sumsq += y * y;
		if (fabs(y) > peak)
			peak = fabs(y);
	}

	/* a sine's peak is 1.41 times its RMS, speech's and noise's more */
	tonal = p->beep && sumsq > a->beep_thr &&
		peak * peak * AMD_FRAME < BEEP_CREST2 * sumsq &&
		tone(a, x, sumsq, &hz);
	voice = is_voice(a, sumsq / (AMD_FRAME * 32768.0 * 32768.0)) &&
		!tonal;
	a->t += AMD_FRAME_MS;

	if (p->beep)
		beep_track(a, tonal, hz, t0);
	if (a->state == AMD_DONE)
		return;

	/* a tone in progress is neither speech nor silence */
	hold = tonal || a->tone_frames;

	if (hold) {
		;
	}
	else if (voice) {
		a->silence_run = 0;
		a->voice_run += AMD_FRAME_MS;
		if (a->in_greeting)
			a->voice_ms += AMD_FRAME_MS;
		if (!a->in_word && a->voice_run >= p->min_word_length) {
			a->in_word = true;
			a->words++;
			if (!a->in_greeting) {
				a->in_greeting = true;
				a->voice_ms = a->voice_run;
			}
		}
	}
	else {
		a->silence_run += AMD_FRAME_MS;
		if (a->silence_run >= p->between_words_silence) {
			a->in_word = false;
			a->voice_run = 0;
		}
	}

	if (a->state == AMD_LISTENING) {
		if (hold)
			;
		else if (voice && a->voice_run >= p->maximum_word_length)
			decide(a, AMD_MACHINE, "max-word-length");
		else if (voice && a->words > p->maximum_number_of_words)
			decide(a, AMD_MACHINE, "max-words");
		else if (voice && a->in_greeting && a->voice_ms >= p->greeting)
			decide(a, AMD_MACHINE, "long-greeting");
		else if (!voice && !a->in_greeting &&
			 a->silence_run >= p->initial_silence)
			decide(a, p->initial_silence_decision,
			       "initial-silence");
		else if (!voice && a->in_greeting &&
			 a->silence_run >= p->after_greeting_silence)
			decide(a, AMD_HUMAN, "after-greeting-silence");

		if (a->state == AMD_LISTENING &&
		    a->t >= p->total_analysis_time)
			decide(a, AMD_UNSURE, "max-time");
		return;
	}

	/* AMD_WAIT_END: a beep ends it in beep_track() */
	if (!hold && a->words && a->silence_run >= p->greeting_end_silence)
		greeting_over(a, "silence");
	else if (a->t >= p->beep_timeout)
		greeting_over(a, "timeout");
}

enum amd_state amd_frame(struct amd *amd, const int16_t *pcm, size_t n)
{
	if (!amd)
		return AMD_DONE;
	if (!pcm)
		return amd->state;

	while (n && amd->state != AMD_DONE) {
		size_t k;

		if (!amd->nbuf && n >= AMD_FRAME) {
			step(amd, pcm);
			pcm += AMD_FRAME;
			n -= AMD_FRAME;
			continue;
		}

		k = AMD_FRAME - amd->nbuf;
		if (k > n)
			k = n;
		memcpy(amd->buf + amd->nbuf, pcm, k * sizeof(*pcm));
		amd->nbuf += k;
		pcm += k;
		n -= k;
		if (amd->nbuf == AMD_FRAME) {
			amd->nbuf = 0;
			step(amd, amd->buf);
		}
	}

	return amd->state;
}

void amd_end(struct amd *amd)
{
	if (!amd)
		return;

	if (amd->state == AMD_LISTENING)
		decide(amd, AMD_UNSURE, "audio-end");
	if (amd->state == AMD_WAIT_END) {
		amd->end_cause = "audio-end";
		amd->state = AMD_DONE;
	}
}

enum amd_state amd_state(const struct amd *amd)
{
	return amd ? amd->state : AMD_DONE;
}

void amd_result(const struct amd *amd, struct amd_result *res)
{
	if (!amd || !res)
		return;

	res->decision = amd->decision;
	res->cause = amd->cause;
	res->decided_ms = amd->decided_ms;
	res->beep_ms = amd->beep_ms;
	res->beep_hz = amd->beep_hz;
	res->beep_end_ms = amd->beep_end_ms;
	res->greeting_end_ms = amd->greeting_end_ms;
	res->end_cause = amd->end_cause;
	res->words = amd->decision ? amd->words_at : amd->words;
	res->voice_ms = amd->decision ? amd->voice_at :
		amd->in_greeting ? amd->voice_ms : 0;
	res->elapsed_ms = amd->t;
}
