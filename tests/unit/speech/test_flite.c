/* test_flite.c - flite synthesis measured as a signal: duration, level,
 * spectrum for both voices; speed; voice names and errors; silence on
 * stdout/stderr; concurrent callers (flite and espeak-ng at once) each
 * get their own text's speech at their own settings. kal is
 * deterministic (sample-identical output for the same request); slt is
 * not quite (clustergen excites unvoiced sounds with rand()), but its
 * durations are. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <unistd.h>
#include "test.h"
#include "speech/tts.h"

#define HELLO "Hello, this is Parley."
#define TUESDAY "Your appointment is on Tuesday."

enum { NTHREADS = 4, FRAME = 256 };


static double rms(const int16_t *p, size_t n)
{
	double s = 0;
	size_t i;

	for (i = 0; i < n; i++)
		s += (double)p[i] * p[i];

	return n ? sqrt(s / n) : 0;
}


/* Energy in [lo, hi] Hz over total energy (DC excluded), from
 * Hann-windowed DFTs of consecutive 256-sample frames at 8 kHz. */
static double band_fraction(const int16_t *p, size_t n, double lo,
			    double hi)
{
	double in_band = 0, total = 0;
	size_t f, k, i;

	for (f = 0; f + FRAME <= n; f += FRAME) {
		for (k = 1; k <= FRAME / 2; k++) {
			double re = 0, im = 0, e, hz = k * 8000.0 / FRAME;

			for (i = 0; i < FRAME; i++) {
				double w = 0.5 - 0.5 * cos(2 * M_PI * i / FRAME);
				double a = 2 * M_PI * k * i / FRAME;

				re += w * p[f + i] * cos(a);
				im -= w * p[f + i] * sin(a);
			}

			e = re * re + im * im;
			total += e;
			if (hz >= lo && hz <= hi)
				in_band += e;
		}
	}

	return total > 0 ? in_band / total : 0;
}


static int speak(const char *voice, double speed, const char *text,
		 int16_t **pcmp, size_t *np)
{
	struct tts_opts o = {TTS_FLITE, voice, speed};

	return tts_synth(&o, text, pcmp, np);
}


TEST(flite_voices_sound_like_speech)
{
	static const char *voices[] = {"kal", "slt"};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(voices); i++) {
		int16_t *pcm = NULL;
		size_t n = 0;
		double secs, level, band;

		CHECK_EQ_INT(speak(voices[i], 1.0, HELLO, &pcm, &n), 0);
		CHECK(pcm != NULL);

		secs  = n / 8000.0;
		level = rms(pcm, n);
		/* from 80 Hz: slt's fundamental is around 100-200 Hz */
		band  = band_fraction(pcm, n, 80, 3400);
		mem_deref(pcm);

		CHECK(secs > 0.8 && secs < 4.0);
		CHECK(level > 500);     /* about -36 dBFS */
		CHECK(band > 0.8);
	}
}


/* flite is deterministic: the default voice is exactly kal's output. */
TEST(flite_default_voice_and_names)
{
	int16_t *kal = NULL, *pcm = NULL;
	size_t nkal = 0, n = 0;
	struct tts_opts zero = {TTS_FLITE, NULL, 0};

	CHECK_EQ_INT(speak("kal", 1.0, HELLO, &kal, &nkal), 0);

	CHECK_EQ_INT(speak(NULL, 1.0, HELLO, &pcm, &n), 0);
	CHECK(n == nkal && !memcmp(pcm, kal, n * sizeof(*pcm)));
	pcm = mem_deref(pcm);

	CHECK_EQ_INT(speak("", 1.0, HELLO, &pcm, &n), 0);
	CHECK(n == nkal && !memcmp(pcm, kal, n * sizeof(*pcm)));
	pcm = mem_deref(pcm);

	CHECK_EQ_INT(speak("KAL", 1.0, HELLO, &pcm, &n), 0);
	CHECK(n == nkal && !memcmp(pcm, kal, n * sizeof(*pcm)));
	pcm = mem_deref(pcm);

	/* speed 0 (a zeroed struct) is normal speed */
	CHECK_EQ_INT(tts_synth(&zero, HELLO, &pcm, &n), 0);
	CHECK(n == nkal && !memcmp(pcm, kal, n * sizeof(*pcm)));
	pcm = mem_deref(pcm);

	/* slt is another voice */
	CHECK_EQ_INT(speak("slt", 1.0, HELLO, &pcm, &n), 0);
	CHECK(n != nkal || memcmp(pcm, kal, n * sizeof(*pcm)));
	pcm = mem_deref(pcm);

	mem_deref(kal);
}


TEST(flite_speed)
{
	size_t n1 = 0, nfast = 0, nslow = 0, nmax = 0;
	int16_t *pcm = NULL;

	CHECK_EQ_INT(speak("kal", 1.0, TUESDAY, &pcm, &n1), 0);
	pcm = mem_deref(pcm);
	CHECK_EQ_INT(speak("kal", 2.0, TUESDAY, &pcm, &nfast), 0);
	pcm = mem_deref(pcm);
	CHECK_EQ_INT(speak("kal", 0.5, TUESDAY, &pcm, &nslow), 0);
	pcm = mem_deref(pcm);

	CHECK(nfast < n1 * 3 / 4);
	CHECK(nslow > n1 * 3 / 2);

	/* nonsense speeds are clamped, not obeyed */
	CHECK_EQ_INT(speak("kal", 1e9, TUESDAY, &pcm, &nmax), 0);
	pcm = mem_deref(pcm);
	CHECK(nmax > n1 / 8);

	/* speed set by one call does not stick to the voice */
	CHECK_EQ_INT(speak("kal", 1.0, TUESDAY, &pcm, &nfast), 0);
	pcm = mem_deref(pcm);
	CHECK_EQ_INT(nfast, n1);

	/* slt is resampled from 16 kHz: speed works there too */
	CHECK_EQ_INT(speak("slt", 1.0, TUESDAY, &pcm, &n1), 0);
	pcm = mem_deref(pcm);
	CHECK_EQ_INT(speak("slt", 2.0, TUESDAY, &pcm, &nfast), 0);
	pcm = mem_deref(pcm);
	CHECK(nfast < n1 * 3 / 4);
}


TEST(flite_errors)
{
	int16_t *pcm = NULL;
	size_t n = 0;

	CHECK_EQ_INT(speak("no-such-voice", 1.0, HELLO, &pcm, &n), ENOENT);
	CHECK_EQ_INT(speak("en-us", 1.0, HELLO, &pcm, &n), ENOENT);
	CHECK_EQ_INT(speak("kal", 1.0, "", &pcm, &n), EINVAL);
	CHECK_EQ_INT(speak("kal", 1.0, " \n\t", &pcm, &n), EINVAL);
	CHECK_EQ_INT(speak("kal", 1.0, NULL, &pcm, &n), EINVAL);
	CHECK(pcm == NULL);

	/* still works after the failures */
	CHECK_EQ_INT(speak(NULL, 1.0, "OK.", &pcm, &n), 0);
	mem_deref(pcm);
	CHECK(n > 0);
}


/* flite must not write to our stdout/stderr, whatever the text. */
TEST(flite_quiet)
{
	static const char *texts[] = {
		"Testing, one two three. 42 € at 3:30pm on 2024-01-02.",
		"Grüße aus Köln, ça va? Ωμέγα 日本語",
		"<speak>not SSML</speak> {{}} ### ... !!! ??? \\ / | ~",
		"Zzzxqj pfffft brrrrrr hmmm mmm.",
		"a",
	};
	char path[64];
	int fd, out1, out2, err = 0;
	size_t i;
	off_t len;

	re_snprintf(path, sizeof(path), "/tmp/parley_test_flite_%d.txt",
		    (int)getpid());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0);
	fflush(stdout);
	fflush(stderr);
	out1 = dup(1);
	out2 = dup(2);
	dup2(fd, 1);
	dup2(fd, 2);

	for (i = 0; i < ARRAY_SIZE(texts) && !err; i++) {
		static const char *voices[] = {"kal", "slt"};
		size_t v;

		for (v = 0; v < ARRAY_SIZE(voices) && !err; v++) {
			int16_t *pcm = NULL;
			size_t n = 0;

			err = speak(voices[v], 1.0, texts[i], &pcm, &n);
			mem_deref(pcm);
		}
	}

	fflush(stdout);
	fflush(stderr);
	dup2(out1, 1);
	dup2(out2, 2);
	close(out1);
	close(out2);
	len = lseek(fd, 0, SEEK_END);
	close(fd);
	unlink(path);

	CHECK_EQ_INT(err, 0);
	CHECK_EQ_INT(len, 0);
}


struct job {
	struct tts_opts opts;
	const char *text;
	int16_t *pcm;
	size_t n;
	int err;
};


static void *synth_thread(void *arg)
{
	struct job *j = arg;
	int k;

	/* a few rounds each, so the threads really overlap */
	for (k = 0; k < 3 && !j->err; k++) {
		j->pcm = mem_deref(j->pcm);
		j->err = tts_synth(&j->opts, j->text, &j->pcm, &j->n);
	}

	return NULL;
}


/* Same request, same speech: kal sample-identical; slt the same length
 * and level within 1 dB. */
static bool same_flite(const struct tts_opts *o, const int16_t *a,
		       size_t na, const int16_t *b, size_t nb)
{
	if (na != nb || !na)
		return false;
	if (!strcmp(o->voice, "kal"))
		return !memcmp(a, b, na * sizeof(*a));

	return fabs(20 * log10(rms(a, na) / rms(b, nb))) < 1.0;
}


/* Threads speaking different texts with different voices and speeds,
 * one of them with espeak-ng: every flite result is the same speech as
 * the same request made alone (so no setting leaked between callers). */
TEST(flite_threads_concurrent)
{
	struct job jobs[NTHREADS] = {
		{{TTS_FLITE, "kal", 1.0}, HELLO, NULL, 0, 0},
		{{TTS_FLITE, "slt", 1.5}, TUESDAY, NULL, 0, 0},
		{{TTS_FLITE, "kal", 0.7}, TUESDAY, NULL, 0, 0},
		{{TTS_ESPEAK, NULL, 1.0}, HELLO, NULL, 0, 0},
	};
	int16_t *ref[NTHREADS] = {NULL};
	size_t nref[NTHREADS] = {0};
	pthread_t th[NTHREADS];
	bool started[NTHREADS];
	int i, err = 0;

	for (i = 0; i < NTHREADS; i++) {
		CHECK_EQ_INT(tts_synth(&jobs[i].opts, jobs[i].text, &ref[i],
				       &nref[i]), 0);
	}

	for (i = 0; i < NTHREADS; i++)
		started[i] = !pthread_create(&th[i], NULL, synth_thread,
					     &jobs[i]);
	for (i = 0; i < NTHREADS; i++) {
		if (started[i])
			pthread_join(th[i], NULL);
		else
			jobs[i].err = EAGAIN;
	}

	for (i = 0; i < NTHREADS && !err; i++) {
		if (jobs[i].err)
			err = jobs[i].err;
		else if (jobs[i].opts.engine == TTS_ESPEAK)
			err = jobs[i].n > 0 ? 0 : EPROTO;
		else if (!same_flite(&jobs[i].opts, jobs[i].pcm, jobs[i].n,
				     ref[i], nref[i]))
			err = EPROTO;
	}

	for (i = 0; i < NTHREADS; i++) {
		mem_deref(jobs[i].pcm);
		mem_deref(ref[i]);
	}

	CHECK_EQ_INT(err, 0);
}


TEST_MAIN()
