/* test_amd.c - the answering-machine detector on signals built here:
 * silence, noise, noise bursts as words, sine beeps, and espeak-ng
 * speech (tts_synth) for greetings. One test per rule, with the time of
 * the decision checked against where the signal put it; then the
 * parameter table, its text and JSON forms and their errors. */
#include <errno.h>
#include <math.h>
#include <time.h>
#include "test.h"
#include "json/json.h"
#include "media/amd.h"
#include "speech/tts.h"

enum { SIG_MAX = AMD_SRATE * 40 };

/* the signal under test, built by appending */
static int16_t sig[SIG_MAX];
static size_t sig_n;
static uint32_t rnd = 12345;

static double noise1(void)
{
	/* uniform in [-1, 1): a deterministic LCG */
	rnd = rnd * 1664525u + 1013904223u;
	return (double)(rnd >> 8) / (1 << 23) - 1.0;
}

static size_t ms_n(double ms)
{
	return (size_t)(ms * AMD_SRATE / 1000.0 + 0.5);
}

static double sig_ms(void)
{
	return sig_n * 1000.0 / AMD_SRATE;
}

static void put(double v)
{
	if (sig_n < SIG_MAX)
		sig[sig_n++] = (int16_t)lrint(v > 32767 ? 32767 :
					      v < -32768 ? -32768 : v);
}

/* quiet line noise (-66 dBFS) rather than digital zeros */
static void silence(double ms)
{
	for (size_t i = ms_n(ms); i; i--)
		put(noise1() * 30.0);
}

/* white noise at an RMS level in dBFS (uniform: RMS = peak / sqrt 3) */
static void noise(double ms, double dbfs)
{
	double peak = 32768.0 * pow(10.0, dbfs / 20.0) * sqrt(3.0);

	for (size_t i = ms_n(ms); i; i--)
		put(noise1() * peak);
}

static void sine(double ms, double hz, double dbfs)
{
	double a = 32768.0 * pow(10.0, dbfs / 20.0) * sqrt(2.0);
	size_t n = ms_n(ms);

	for (size_t i = 0; i < n; i++)
		put(a * sin(2 * M_PI * hz * (double)i / AMD_SRATE) +
		    noise1() * 30.0);
}

/* espeak-ng speech scaled to a peak level; returns its length in ms */
static double speech(const char *text, double peak_dbfs)
{
	int16_t *pcm = NULL;
	size_t n = 0, first = 0, last = 0;
	double peak = 0, g;

	if (tts_synth(NULL, text, &pcm, &n) || !n)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (abs(pcm[i]) > 300) {
			if (!first)
				first = i;
			last = i;
		}
		if (abs(pcm[i]) > peak)
			peak = abs(pcm[i]);
	}
	g = 32768.0 * pow(10.0, peak_dbfs / 20.0) / peak;
	/* without the synthesiser's own leading and trailing silence */
	for (size_t i = first; i <= last; i++)
		put(pcm[i] * g + noise1() * 30.0);
	mem_deref(pcm);
	return (last - first + 1) * 1000.0 / AMD_SRATE;
}

/* analyse sig with params (NULL: defaults) fed in chunks of `chunk` */
static int run_chunks(const struct amd_params *p, struct amd_result *res,
		      size_t chunk)
{
	struct amd *amd = NULL;
	int err = amd_alloc(&amd, p);

	if (err)
		return err;
	for (size_t off = 0; off < sig_n; off += chunk) {
		size_t k = sig_n - off < chunk ? sig_n - off : chunk;

		if (amd_frame(amd, sig + off, k) == AMD_DONE)
			break;
	}
	amd_end(amd);
	amd_result(amd, res);
	mem_deref(amd);
	return 0;
}

static int run(const struct amd_params *p, struct amd_result *res)
{
	return run_chunks(p, res, AMD_FRAME);
}

static void reset(void)
{
	sig_n = 0;
	rnd = 12345;
}

#define CHECK_NEAR(a, b, tol) \
	do { \
		long long x_ = (long long)(a), y_ = (long long)(b); \
		if (llabs(x_ - y_) > (long long)(tol)) { \
			fprintf(stderr, "%s:%d: %s == %lld, want %lld +- %lld\n", \
				__FILE__, __LINE__, #a, x_, y_, \
				(long long)(tol)); \
			*failed_ = 1; \
			return; \
		} \
	} while (0)


TEST(hello_then_silence_is_human)
{
	struct amd_result r;
	double end;

	reset();
	silence(450);
	CHECK(speech("Hello?", -6) > 200);
	end = sig_ms();
	silence(4000);

	CHECK_EQ_INT(run(NULL, &r), 0);
	CHECK_EQ_INT(r.decision, AMD_HUMAN);
	CHECK_STR(r.cause, "after-greeting-silence");
	CHECK_NEAR(r.decided_ms, end + 800, 100);
	CHECK(r.words >= 1 && r.words <= 2);
	CHECK_EQ_INT(r.beep_ms, -1);
}

TEST(long_greeting_is_machine)
{
	struct amd_result r;
	double start;

	reset();
	silence(300);
	start = sig_ms();
	CHECK(speech("Hi, you have reached the voicemail of John Smith. I am "
		     "not available to take your call right now. Please "
		     "leave your name and number after the tone.", -6) > 4000);
	silence(3000);

	CHECK_EQ_INT(run(NULL, &r), 0);
	CHECK_EQ_INT(r.decision, AMD_MACHINE);
	CHECK_STR(r.cause, "long-greeting");
	CHECK_EQ_INT(r.voice_ms, 2500);
	/* 2.5 s of speech take at least that long, not much more */
	CHECK(r.decided_ms >= start + 2500 && r.decided_ms <= start + 4500);
}

TEST(asterisk_greeting_length)
{
	struct amd_params p;
	struct amd_result r;

	reset();
	silence(300);
	CHECK(speech("Good morning, Smith residence, how can I help?", -6) > 1600);
	silence(3000);

	/* our default: a long human greeting stays human */
	CHECK_EQ_INT(run(NULL, &r), 0);
	CHECK(r.voice_ms > 1500 && r.voice_ms < 2500);
	CHECK_EQ_INT(r.decision, AMD_HUMAN);

	/* app_amd's 1.5 s calls it a machine */
	amd_params_default(&p);
	CHECK_EQ_INT(amd_param_set(&p, "greeting", "1500", NULL, 0), 0);
	CHECK_EQ_INT(run(&p, &r), 0);
	CHECK_EQ_INT(r.decision, AMD_MACHINE);
	CHECK_STR(r.cause, "long-greeting");
}

TEST(too_many_words_is_machine)
{
	struct amd_result r;
	double fourth = 0;

	/* five 300 ms "words" 400 ms apart: more than 250 ms of silence
	 * ends a word, less than 800 ms does not end the greeting */
	reset();
	silence(500);
	for (int i = 0; i < 5; i++) {
		if (i == 3)
			fourth = sig_ms();
		noise(300, -20);
		silence(400);
	}
	silence(2000);

	CHECK_EQ_INT(run(NULL, &r), 0);
	CHECK_EQ_INT(r.decision, AMD_MACHINE);
	CHECK_STR(r.cause, "max-words");
	CHECK_EQ_INT(r.words, 4);
	/* the fourth word counts once it is min_word_length long */
	CHECK_NEAR(r.decided_ms, fourth + 100, 40);
}

TEST(max_word_length_is_machine)
{
	struct amd_params p;
	struct amd_result r;

	/* (a steady sound becomes the noise floor after a second) */
	reset();
	silence(500);
	noise(900, -20);
	silence(2000);

	amd_params_default(&p);
	CHECK_EQ_INT(amd_param_set(&p, "maximum_word_length", "600", NULL,
				   0), 0);
	CHECK_EQ_INT(run(&p, &r), 0);
	CHECK_EQ_INT(r.decision, AMD_MACHINE);
	CHECK_STR(r.cause, "max-word-length");
	CHECK_NEAR(r.decided_ms, 1100, 40);
}

TEST(initial_silence)
{
	struct amd_params p;
	struct amd_result r;

	reset();
	silence(6000);
	CHECK_EQ_INT(run(NULL, &r), 0);
	CHECK_EQ_INT(r.decision, AMD_UNSURE);
	CHECK_STR(r.cause, "initial-silence");
	CHECK_EQ_INT(r.decided_ms, 2500);

	/* app_amd's choice; then no greeting to wait for, nor a beep */
	amd_params_default(&p);
	CHECK_EQ_INT(amd_param_set(&p, "initial-silence-decision", "machine",
				   NULL, 0), 0);
	CHECK_EQ_INT(amd_param_set(&p, "initial-silence", "1000", NULL, 0),
		     0);
	CHECK_EQ_INT(run(&p, &r), 0);
	CHECK_EQ_INT(r.decision, AMD_MACHINE);
	CHECK_EQ_INT(r.decided_ms, 1000);
	CHECK_STR(r.end_cause, "audio-end");
	CHECK_EQ_INT(r.greeting_end_ms, -1);
}

TEST(steady_noise_is_not_speech)
{
	static const double levels[] = {-45, -30, -15};
	struct amd_result r;

	for (size_t i = 0; i < ARRAY_SIZE(levels); i++) {
		reset();
		noise(6000, levels[i]);
		CHECK_EQ_INT(run(NULL, &r), 0);
		CHECK_EQ_INT(r.decision, AMD_UNSURE);
		CHECK_STR(r.cause, "initial-silence");
	}

	/* a greeting between stretches of that noise is still heard */
	reset();
	noise(1500, -35);
	CHECK(speech("Hello?", -6) > 200);
	noise(4000, -35);
	CHECK_EQ_INT(run(NULL, &r), 0);
	CHECK_EQ_INT(r.decision, AMD_HUMAN);
}

TEST(undecided_until_max_time)
{
	struct amd_result r;

	/* 60 ms clicks every 360 ms: never a word (100 ms), never 2.5 s of
	 * silence either */
	reset();
	while (sig_ms() < 9000) {
		noise(60, -20);
		silence(300);
	}
	CHECK_EQ_INT(run(NULL, &r), 0);
	CHECK_EQ_INT(r.decision, AMD_UNSURE);
	CHECK_STR(r.cause, "max-time");
	CHECK_EQ_INT(r.decided_ms, 7000);
	CHECK_EQ_INT(r.words, 0);
}

TEST(beep_after_greeting)
{
	struct amd_result r;
	double beep, beep_end;

	reset();
	silence(300);
	CHECK(speech("Hi, you have reached the voicemail of John Smith. "
		     "Please leave a message after the tone.", -6) > 2600);
	silence(613);                 /* not on a frame boundary */
	beep = sig_ms();
	sine(500, 1000, -12);
	beep_end = sig_ms();
	silence(2000);

	CHECK_EQ_INT(run(NULL, &r), 0);
	CHECK_EQ_INT(r.decision, AMD_MACHINE);
	CHECK_STR(r.cause, "long-greeting");
	CHECK_NEAR(r.beep_ms, beep, 20);
	CHECK_NEAR(r.beep_hz, 1000, 10);
	CHECK_NEAR(r.beep_end_ms, beep_end, 20);
	CHECK_STR(r.end_cause, "beep");
	/* the message starts once the beep is over, not before */
	CHECK(r.greeting_end_ms >= beep_end);
	CHECK(r.greeting_end_ms <= beep_end + 60);
}

TEST(beep_frequencies)
{
	static const double hz[] = {440, 480, 500, 620, 800, 850, 900, 950,
		1000, 1100, 1200, 1400, 1600, 1800, 2000, 745, 1333, 1975};
	struct amd_result r;

	for (size_t i = 0; i < ARRAY_SIZE(hz); i++) {
		double at;

		reset();
		silence(400 + 7 * i);
		at = sig_ms();
		sine(250, hz[i], -18);
		silence(1500);
		CHECK_EQ_INT(run(NULL, &r), 0);
		if (r.decision != AMD_MACHINE)
			fprintf(stderr, "%.0f Hz: %s\n", hz[i],
				amd_decision_str(r.decision));
		CHECK_EQ_INT(r.decision, AMD_MACHINE);
		CHECK_STR(r.cause, "beep");
		CHECK_NEAR(r.beep_ms, at, 20);
		CHECK_NEAR(r.beep_hz, hz[i], 10);
		/* confirmed after beep_min_length */
		CHECK_NEAR(r.decided_ms, at + 150, 40);
	}
}

TEST(not_beeps)
{
	struct amd_result r;

	/* too short, out of band, two tones at once, too quiet */
	reset();
	silence(400);
	sine(100, 1000, -12);
	silence(600);
	sine(400, 300, -12);
	silence(600);
	sine(400, 2600, -12);
	silence(600);
	for (size_t i = 0, n = ms_n(400); i < n; i++)
		put(6000.0 * (sin(2 * M_PI * 697 * i / AMD_SRATE) +
			      sin(2 * M_PI * 1209 * i / AMD_SRATE)));
	silence(600);
	sine(400, 1000, -50);
	silence(3000);

	{
		struct amd_params p;

		amd_params_default(&p);
		/* keep listening through it all */
		CHECK_EQ_INT(amd_param_set(&p, "after_greeting_silence",
					   "20000", NULL, 0), 0);
		CHECK_EQ_INT(amd_param_set(&p, "total_analysis_time",
					   "20000", NULL, 0), 0);
		CHECK_EQ_INT(amd_param_set(&p, "initial_silence", "20000",
					   NULL, 0), 0);
		CHECK_EQ_INT(run(&p, &r), 0);
	}
	CHECK_EQ_INT(r.beep_ms, -1);
	CHECK(r.decision != AMD_MACHINE);
}

TEST(speech_is_not_a_beep)
{
	struct amd_params p;
	struct amd_result r;

	reset();
	silence(300);
	CHECK(speech("Hello, you have reached the voicemail of five five "
		     "five, zero one nine nine. Leave a message, and have a "
		     "wonderful day. Oooh, aaah, mmmm, eeee.", -3) > 5000);
	silence(2000);

	/* no timing rule decides: only a beep could */
	amd_params_default(&p);
	CHECK_EQ_INT(amd_param_set(&p, "greeting", "60000", NULL, 0), 0);
	CHECK_EQ_INT(amd_param_set(&p, "maximum_word_length", "60000", NULL,
				   0), 0);
	CHECK_EQ_INT(amd_param_set(&p, "maximum_number_of_words", "100",
				   NULL, 0), 0);
	CHECK_EQ_INT(amd_param_set(&p, "total_analysis_time", "60000", NULL,
				   0), 0);
	CHECK_EQ_INT(amd_param_set(&p, "after_greeting_silence", "60000",
				   NULL, 0), 0);
	CHECK_EQ_INT(run(&p, &r), 0);
	CHECK_EQ_INT(r.beep_ms, -1);
	CHECK_STR(r.cause, "audio-end");
}

TEST(greeting_end_without_beep)
{
	struct amd_result r;
	double end;

	reset();
	silence(200);
	CHECK(speech("Thank you for calling Acme Dental. Our office is "
		     "closed. Please call again tomorrow.", -6) > 2600);
	end = sig_ms();
	silence(4000);

	CHECK_EQ_INT(run(NULL, &r), 0);
	CHECK_EQ_INT(r.decision, AMD_MACHINE);
	CHECK_EQ_INT(r.beep_ms, -1);
	CHECK_STR(r.end_cause, "silence");
	CHECK_NEAR(r.greeting_end_ms, end + 1500, 100);
}

TEST(wait_end_off_and_timeout)
{
	struct amd_params p;
	struct amd_result r;

	reset();
	silence(200);
	CHECK(speech("Thank you for calling Acme Dental. Our office is "
		     "closed. Please call again tomorrow.", -6) > 2600);
	silence(4000);

	amd_params_default(&p);
	CHECK_EQ_INT(amd_param_set(&p, "wait_end", "false", NULL, 0), 0);
	CHECK_EQ_INT(run(&p, &r), 0);
	CHECK_EQ_INT(r.decision, AMD_MACHINE);
	CHECK_EQ_INT(r.greeting_end_ms, -1);
	CHECK_STR(r.end_cause, "");
	CHECK_EQ_INT(r.elapsed_ms, r.decided_ms);

	/* the greeting is still going on 200 ms after the decision */
	{
		char v[16];
		int limit = r.decided_ms + 200;

		amd_params_default(&p);
		re_snprintf(v, sizeof(v), "%d", limit);
		CHECK_EQ_INT(amd_param_set(&p, "beep_timeout", v, NULL, 0), 0);
		CHECK_EQ_INT(run(&p, &r), 0);
		CHECK_STR(r.end_cause, "timeout");
		CHECK_EQ_INT(r.greeting_end_ms, limit);
	}
}

TEST(chunk_sizes_do_not_matter)
{
	static const size_t chunks[] = {1, 37, 159, 161, 480, 8000};
	struct amd_result a, b;

	reset();
	silence(300);
	CHECK(speech("Hi, you have reached Maria. Leave a message.", -6) > 0);
	silence(377);
	sine(300, 850, -15);
	silence(2000);

	CHECK_EQ_INT(run(NULL, &a), 0);
	for (size_t i = 0; i < ARRAY_SIZE(chunks); i++) {
		CHECK_EQ_INT(run_chunks(NULL, &b, chunks[i]), 0);
		CHECK_EQ_INT(b.decision, a.decision);
		CHECK_EQ_INT(b.decided_ms, a.decided_ms);
		CHECK_EQ_INT(b.beep_ms, a.beep_ms);
		CHECK_EQ_INT(b.greeting_end_ms, a.greeting_end_ms);
	}
}

TEST(end_of_audio_and_after_done)
{
	struct amd *amd = NULL;
	struct amd_result r;
	int16_t frame[AMD_FRAME] = {0};

	CHECK_EQ_INT(amd_alloc(&amd, NULL), 0);
	CHECK_EQ_INT(amd_frame(amd, frame, AMD_FRAME), AMD_LISTENING);
	amd_result(amd, &r);
	CHECK_EQ_INT(r.decision, AMD_UNDECIDED);
	CHECK_EQ_INT(r.decided_ms, -1);
	CHECK_STR(r.cause, "");
	amd_end(amd);
	CHECK_EQ_INT(amd_state(amd), AMD_DONE);
	amd_result(amd, &r);
	CHECK_EQ_INT(r.decision, AMD_UNSURE);
	CHECK_STR(r.cause, "audio-end");
	CHECK_EQ_INT(r.decided_ms, 20);
	/* audio after the end changes nothing */
	CHECK_EQ_INT(amd_frame(amd, frame, AMD_FRAME), AMD_DONE);
	amd_result(amd, &r);
	CHECK_EQ_INT(r.elapsed_ms, 20);
	mem_deref(amd);

	CHECK_EQ_INT(amd_alloc(NULL, NULL), EINVAL);
	CHECK_EQ_INT(amd_frame(NULL, frame, AMD_FRAME), AMD_DONE);
	CHECK_STR(amd_decision_str(AMD_MACHINE), "machine");
}

TEST(params_table)
{
	const struct amd_param_info *pi;
	struct amd_params p, q;
	char msg[160];
	size_t i;

	amd_params_default(&p);
	CHECK_EQ_INT(p.initial_silence, 2500);
	CHECK_EQ_INT(p.initial_silence_decision, AMD_UNSURE);
	CHECK_EQ_INT(p.greeting, 2500);
	CHECK_EQ_INT(p.after_greeting_silence, 800);
	CHECK_EQ_INT(p.total_analysis_time, 7000);
	CHECK_EQ_INT(p.min_word_length, 100);
	CHECK_EQ_INT(p.between_words_silence, 250);
	CHECK_EQ_INT(p.maximum_number_of_words, 3);
	CHECK_EQ_INT(p.maximum_word_length, 5000);
	CHECK_EQ_INT(p.silence_threshold, -45);
	CHECK(p.beep && p.wait_end);
	CHECK_EQ_INT(p.beep_min_length, 150);
	CHECK_EQ_INT(p.greeting_end_silence, 1500);

	/* every default is a valid value of its own parameter */
	for (i = 0; (pi = amd_param_info(i)); i++) {
		q = p;
		CHECK(amd_param_known(pi->name));
		if (amd_param_set(&q, pi->name, pi->def, msg, sizeof(msg)))
			fprintf(stderr, "%s: %s\n", pi->name, msg);
		CHECK_EQ_INT(amd_param_set(&q, pi->name, pi->def, NULL, 0), 0);
		CHECK(pi->doc && *pi->doc && pi->unit);
	}
	CHECK(i >= 20);
	CHECK_EQ_INT(amd_params_check(&p, NULL, 0), 0);
}

TEST(param_set_by_name)
{
	struct amd_params p;
	char msg[160];

	amd_params_default(&p);
	CHECK_EQ_INT(amd_param_set(&p, "greeting", "1200", msg, sizeof(msg)),
		     0);
	CHECK_EQ_INT(p.greeting, 1200);
	CHECK_EQ_INT(amd_param_set(&p, "after-greeting-silence", "1000", msg,
				   sizeof(msg)), 0);
	CHECK_EQ_INT(p.after_greeting_silence, 1000);
	CHECK_EQ_INT(amd_param_set(&p, "silence_threshold", "-38", msg,
				   sizeof(msg)), 0);
	CHECK_EQ_INT(p.silence_threshold, -38);
	CHECK_EQ_INT(amd_param_set(&p, "beep", "off", msg, sizeof(msg)), 0);
	CHECK(!p.beep);
	CHECK_EQ_INT(amd_param_set(&p, "initial_silence_decision", "human",
				   msg, sizeof(msg)), 0);
	CHECK_EQ_INT(p.initial_silence_decision, AMD_HUMAN);

	/* unknown names and bad values are named */
	CHECK_EQ_INT(amd_param_set(&p, "greting", "1200", msg, sizeof(msg)),
		     EINVAL);
	CHECK(strstr(msg, "unknown") && strstr(msg, "'greting'"));
	CHECK(!amd_param_known("greting"));

	static const char *const bad[][2] = {
		{"greeting", "abc"}, {"greeting", ""}, {"greeting", "12x"},
		{"greeting", "-5"}, {"greeting", "99"}, {"greeting", "1e3"},
		{"greeting", " 1200"}, {"greeting", "99999999999999"},
		{"silence_threshold", "5"}, {"beep", "maybe"},
		{"initial_silence_decision", "robot"},
		{"initial_silence_decision", "undecided"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct amd_params q = p;

		msg[0] = '\0';
		CHECK_EQ_INT(amd_param_set(&q, bad[i][0], bad[i][1], msg,
					   sizeof(msg)), EINVAL);
		CHECK(strstr(msg, bad[i][0]) != NULL);
		CHECK(!memcmp(&q, &p, sizeof(p)));   /* unchanged */
	}
	CHECK_EQ_INT(amd_param_set(&p, "greeting", "abc", NULL, 0), EINVAL);
	CHECK(strstr(msg, "from") || strstr(msg, "human"));
	CHECK_EQ_INT(amd_param_set(&p, NULL, "1", NULL, 0), EINVAL);

	/* the set as a whole */
	CHECK_EQ_INT(amd_param_set(&p, "beep_min_freq", "2500", NULL, 0), 0);
	CHECK_EQ_INT(amd_params_check(&p, msg, sizeof(msg)), EINVAL);
	CHECK(strstr(msg, "beep_max_freq") != NULL);
	{
		struct amd *amd = NULL;

		CHECK_EQ_INT(amd_alloc(&amd, &p), EINVAL);
		CHECK(amd == NULL);
	}
}

static int decode(struct amd_params *p, const char *json, char *msg,
		  size_t sz)
{
	struct odict *o = NULL;
	struct json_err je;
	int err = json_parse(&o, NULL, json, strlen(json), &je);

	if (!err)
		err = amd_params_decode(p, o, msg, sz);
	mem_deref(o);
	return err;
}

TEST(params_from_json)
{
	struct amd_params p, q;
	char msg[160], *txt = NULL;

	amd_params_default(&p);
	/* an agent's outbound.amd: its own keys pass through */
	CHECK_EQ_INT(decode(&p, "{\"enabled\":true,\"voicemail_action\":"
			    "\"hangup\",\"greeting\":1200,\"beep\":false,"
			    "\"initial_silence_decision\":\"machine\","
			    "\"silence_threshold\":-40,\"beep_purity\":80.0}",
			    msg, sizeof(msg)), 0);
	CHECK_EQ_INT(p.greeting, 1200);
	CHECK(!p.beep);
	CHECK_EQ_INT(p.initial_silence_decision, AMD_MACHINE);
	CHECK_EQ_INT(p.silence_threshold, -40);
	CHECK_EQ_INT(p.beep_purity, 80);

	static const char *const bad[] = {
		"{\"greeting\":\"1200\"}", "{\"greeting\":12.5}",
		"{\"greeting\":[1]}", "{\"greeting\":null}",
		"{\"greeting\":50}", "{\"beep\":2}",
		"{\"initial_silence_decision\":1}",
		"{\"beep_min_freq\":2100}",
		"{\"greeting\":1000,\"beep\":\"loud\"}",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct amd_params before;

		amd_params_default(&q);
		before = q;
		msg[0] = '\0';
		CHECK_EQ_INT(decode(&q, bad[i], msg, sizeof(msg)), EINVAL);
		CHECK(!memcmp(&q, &before, sizeof(q)));
		CHECK(strstr(msg, "greeting") || strstr(msg, "beep") ||
		      strstr(msg, "initial_silence_decision"));
	}

	/* print -> parse -> decode gives the same parameters */
	CHECK_EQ_INT(re_sdprintf(&txt, "%H", amd_params_print, &p), 0);
	CHECK(strstr(txt, "\"greeting\":1200") != NULL);
	CHECK(strstr(txt, "\"initial_silence_decision\":\"machine\"") != NULL);
	amd_params_default(&q);
	CHECK_EQ_INT(decode(&q, txt, msg, sizeof(msg)), 0);
	CHECK(!memcmp(&p, &q, sizeof(p)));
	mem_deref(txt);
	CHECK_EQ_INT(amd_params_decode(&q, NULL, NULL, 0), EINVAL);
}

TEST(cost_per_frame)
{
	struct amd_params p;
	struct amd *amd = NULL;
	struct timespec t0, t1;
	size_t frames = 0;
	double ns;

	reset();
	CHECK(speech("Hi, you have reached the voicemail of John Smith. "
		     "Please leave a message after the tone.", -6) > 0);
	sine(500, 1000, -12);
	noise(1000, -30);

	/* never decide (a beep would), so every frame is analysed in full */
	amd_params_default(&p);
	CHECK_EQ_INT(decode(&p, "{\"greeting\":60000,\"total_analysis_time\":"
			    "120000,\"after_greeting_silence\":60000,"
			    "\"maximum_number_of_words\":100,"
			    "\"maximum_word_length\":60000,\"beep\":true,"
			    "\"beep_min_length\":5000}",
			    NULL, 0), 0);
	CHECK_EQ_INT(amd_alloc(&amd, &p), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int rep = 0; rep < 20; rep++) {
		for (size_t off = 0; off + AMD_FRAME <= sig_n;
		     off += AMD_FRAME, frames++)
			amd_frame(amd, sig + off, AMD_FRAME);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	mem_deref(amd);

	ns = ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) /
		(double)frames;
	printf("amd: %.0f ns per 20 ms frame (this build)\n", ns);
	/* generous: ASan builds are several times slower */
	CHECK(ns < 50000);
}

TEST_MAIN()
