/* test_tts.c - espeak-ng synthesis measured as a signal: duration, level,
 * spectrum; errors; silence on stdout/stderr; concurrent callers each
 * get their own text's speech. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <unistd.h>
#include "test.h"
#include "speech/tts.h"

#define HELLO "Hello, this is Parley."

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


TEST(tts_espeak_hello)
{
	struct tts_opts o = {TTS_ESPEAK, NULL, 1.0};
	int16_t *pcm = NULL;
	size_t n = 0;
	double secs, level, band;

	CHECK_EQ_INT(tts_synth(&o, HELLO, &pcm, &n), 0);
	CHECK(pcm != NULL);

	secs  = n / 8000.0;
	level = rms(pcm, n);
	band  = band_fraction(pcm, n, 200, 3400);
	mem_deref(pcm);

	CHECK(secs > 0.8 && secs < 4.0);
	CHECK(level > 500);             /* about -36 dBFS */
	CHECK(band > 0.8);
}


TEST(tts_espeak_voice_and_speed)
{
	struct tts_opts o = {TTS_ESPEAK, "en-us", 1.0};
	int16_t *pcm = NULL;
	size_t n1 = 0, n2 = 0, n3 = 0;

	CHECK_EQ_INT(tts_synth(&o, HELLO, &pcm, &n1), 0);
	pcm = mem_deref(pcm);

	o.speed = 2.0;
	CHECK_EQ_INT(tts_synth(&o, HELLO, &pcm, &n2), 0);
	pcm = mem_deref(pcm);

	o.voice = "de";
	o.speed = 0.5;
	CHECK_EQ_INT(tts_synth(&o, "Guten Tag, schöne Grüße.", &pcm, &n3),
		     0);
	pcm = mem_deref(pcm);

	CHECK(n2 < n1 * 3 / 4);
	CHECK(n3 > n2);

	/* NULL opts and speed 0: the default voice at normal speed (within
	 * espeak's few ms of drift between utterances) */
	CHECK_EQ_INT(tts_synth(NULL, HELLO, &pcm, &n2), 0);
	pcm = mem_deref(pcm);
	CHECK(n2 > n1 * 94 / 100 && n2 < n1 * 106 / 100);
	o.voice = NULL;
	o.speed = 0;
	CHECK_EQ_INT(tts_synth(&o, HELLO, &pcm, &n2), 0);
	pcm = mem_deref(pcm);
	CHECK(n2 > n1 * 94 / 100 && n2 < n1 * 106 / 100);
}


TEST(tts_errors)
{
	struct tts_opts o = {TTS_ESPEAK, "no-such-voice", 1.0};
	int16_t *pcm = NULL;
	size_t n = 0;

	CHECK_EQ_INT(tts_synth(&o, HELLO, &pcm, &n), ENOENT);
	o.voice = "../../../../etc/passwd";
	CHECK_EQ_INT(tts_synth(&o, HELLO, &pcm, &n), ENOENT);

	o.voice = NULL;
	CHECK_EQ_INT(tts_synth(&o, "", &pcm, &n), EINVAL);
	CHECK_EQ_INT(tts_synth(&o, " \t\r\n ", &pcm, &n), EINVAL);
	CHECK_EQ_INT(tts_synth(&o, NULL, &pcm, &n), EINVAL);

	o.engine = TTS_FLITE;
	o.voice = "no-such-voice";
	CHECK_EQ_INT(tts_synth(&o, HELLO, &pcm, &n), ENOENT);
	o.voice = NULL;
	o.engine = (enum tts_engine)42;
	CHECK_EQ_INT(tts_synth(&o, HELLO, &pcm, &n), EINVAL);
	CHECK(pcm == NULL);

	/* still works after the failed voice */
	o.engine = TTS_ESPEAK;
	CHECK_EQ_INT(tts_synth(&o, "OK.", &pcm, &n), 0);
	mem_deref(pcm);
	CHECK(n > 0);
}


/* espeak-ng must not write to our stdout/stderr, even on errors. */
TEST(tts_quiet)
{
	struct tts_opts o = {TTS_ESPEAK, NULL, 1.0};
	char path[64];
	int16_t *pcm = NULL;
	size_t n = 0;
	int fd, out1, out2, e1, e2, e3;
	off_t len;

	re_snprintf(path, sizeof(path), "/tmp/parley_test_tts_%d.txt",
		    (int)getpid());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0);
	fflush(stdout);
	fflush(stderr);
	out1 = dup(1);
	out2 = dup(2);
	dup2(fd, 1);
	dup2(fd, 2);

	e1 = tts_synth(&o, "Testing, one two three. 42 €.", &pcm, &n);
	pcm = mem_deref(pcm);
	o.voice = "xx-nonexistent";
	e2 = tts_synth(&o, HELLO, &pcm, &n);
	o.voice = "mb-en1";     /* MBROLA: espeak would fork and complain */
	e3 = tts_synth(&o, HELLO, &pcm, &n);

	fflush(stdout);
	fflush(stderr);
	dup2(out1, 1);
	dup2(out2, 2);
	close(out1);
	close(out2);
	len = lseek(fd, 0, SEEK_END);
	close(fd);
	unlink(path);

	CHECK_EQ_INT(e1, 0);
	CHECK_EQ_INT(e2, ENOENT);
	CHECK_EQ_INT(e3, ENOENT);
	CHECK_EQ_INT(len, 0);
}


struct job {
	const char *text;
	int16_t *pcm;
	size_t n;
	int err;
};


static void *synth_thread(void *arg)
{
	struct tts_opts o = {TTS_ESPEAK, "en-us", 1.0};
	struct job *j = arg;
	int k;

	/* a few rounds each, so the threads really overlap */
	for (k = 0; k < 3 && !j->err; k++) {
		j->pcm = mem_deref(j->pcm);
		j->err = tts_synth(&o, j->text, &j->pcm, &j->n);
	}

	return NULL;
}


/* Correlation of two loudness contours, each cut into NBINS bins over
 * its own length (so a few ms of drift do not matter). */
enum { NBINS = 40 };
static double contour_corr(const int16_t *a, size_t na, const int16_t *b,
			   size_t nb)
{
	double ea[NBINS], eb[NBINS], ma = 0, mb = 0, sab = 0, saa = 0, sbb = 0;
	size_t i, k;

	for (i = 0; i < NBINS; i++) {
		ea[i] = eb[i] = 0;
		for (k = i * na / NBINS; k < (i + 1) * na / NBINS; k++)
			ea[i] += fabs((double)a[k]);
		for (k = i * nb / NBINS; k < (i + 1) * nb / NBINS; k++)
			eb[i] += fabs((double)b[k]);
		ea[i] /= (double)na;
		eb[i] /= (double)nb;
		ma += ea[i] / NBINS;
		mb += eb[i] / NBINS;
	}

	for (i = 0; i < NBINS; i++) {
		sab += (ea[i] - ma) * (eb[i] - mb);
		saa += (ea[i] - ma) * (ea[i] - ma);
		sbb += (eb[i] - mb) * (eb[i] - mb);
	}

	return saa > 0 && sbb > 0 ? sab / sqrt(saa * sbb) : 0;
}


/* Same speech as the reference: length within 6 %, level within
 * 1.5 dB, loudness contour alike. Not sample-identical: espeak-ng keeps
 * synthesiser state between utterances (pitch-flutter and glottal phase
 * in wavegen.c) that no API resets, so the same text comes out a few
 * milliseconds longer or shorter depending on what was said before, even
 * on a single thread. */
static bool same_speech(const int16_t *a, size_t na, const int16_t *b,
			size_t nb)
{
	double db;

	if (!na || !nb || fabs((double)na - (double)nb) > 0.06 * nb)
		return false;

	db = 20 * log10(rms(a, na) / rms(b, nb));

	return fabs(db) < 1.5 && contour_corr(a, na, b, nb) > 0.8;
}


TEST(tts_threads_concurrent)
{
	static const char *texts[NTHREADS] = {
		HELLO, "Your appointment is on Tuesday.", HELLO,
		"Your appointment is on Tuesday."
	};
	struct job jobs[NTHREADS];
	pthread_t th[NTHREADS];
	bool started[NTHREADS];
	int16_t *ref[2] = {NULL, NULL};
	size_t nref[2] = {0, 0};
	int i, err = 0, distinct;

	CHECK_EQ_INT(tts_synth(NULL, texts[0], &ref[0], &nref[0]), 0);
	CHECK_EQ_INT(tts_synth(NULL, texts[1], &ref[1], &nref[1]), 0);

	memset(jobs, 0, sizeof(jobs));
	for (i = 0; i < NTHREADS; i++) {
		jobs[i].text = texts[i];
		started[i] = !pthread_create(&th[i], NULL, synth_thread,
					     &jobs[i]);
	}
	for (i = 0; i < NTHREADS; i++) {
		if (started[i])
			pthread_join(th[i], NULL);
		else
			jobs[i].err = EAGAIN;
	}

	for (i = 0; i < NTHREADS && !err; i++) {
		const int r = i % 2;

		if (jobs[i].err)
			err = jobs[i].err;
		else if (!same_speech(jobs[i].pcm, jobs[i].n, ref[r], nref[r])
			 || same_speech(jobs[i].pcm, jobs[i].n, ref[!r],
					nref[!r]))
			err = EPROTO;
	}

	/* the check above can tell the two texts apart */
	distinct = !same_speech(ref[0], nref[0], ref[1], nref[1]);

	for (i = 0; i < NTHREADS; i++)
		mem_deref(jobs[i].pcm);
	mem_deref(ref[0]);
	mem_deref(ref[1]);

	CHECK_EQ_INT(err, 0);
	CHECK(distinct);
}


TEST_MAIN()
