/* test_resample.c - resampling keeps a tone's frequency, level, timing
 * and length, and leaves equal rates alone. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include "test.h"
#include "audio/resample.h"


static int16_t *sine(size_t n, double freq, uint32_t rate, double amp)
{
	int16_t *p = malloc(n * sizeof(*p));
	size_t i;

	for (i = 0; p && i < n; i++)
		p[i] = (int16_t)lrint(amp * sin(2 * M_PI * freq * i / rate));

	return p;
}


static double rms(const int16_t *p, size_t n)
{
	double s = 0;
	size_t i;

	for (i = 0; i < n; i++)
		s += (double)p[i] * p[i];

	return n ? sqrt(s / n) : 0;
}


/* Power at freq (Goertzel), normalised to the squared amplitude. */
static double goertzel(const int16_t *p, size_t n, double freq,
		       uint32_t rate)
{
	double c = 2 * cos(2 * M_PI * freq / rate), s1 = 0, s2 = 0, s;
	size_t i;

	for (i = 0; i < n; i++) {
		s = p[i] + c * s1 - s2;
		s2 = s1;
		s1 = s;
	}

	return (s1 * s1 + s2 * s2 - c * s1 * s2) * 4 / ((double)n * n);
}


static size_t zero_crossings(const int16_t *p, size_t n)
{
	size_t i, z = 0;

	for (i = 1; i < n; i++) {
		if ((p[i - 1] < 0) != (p[i] < 0))
			++z;
	}

	return z;
}


TEST(resample_22050_to_8000_sine)
{
	const size_t nin = 22050 * 2;
	int16_t *in = sine(nin, 1000, 22050, 10000), *out = NULL;
	size_t nout = 0, z;
	double lvl_in, lvl_out, db, p1k, p900, p1100;

	CHECK(in != NULL);
	CHECK_EQ_INT(resample(&out, &nout, in, nin, 22050, 8000), 0);
	CHECK_EQ_INT(nout, 16000);

	/* away from the edges, where the filter sees silence */
	lvl_in  = rms(in + 2205, nin - 2 * 2205);
	lvl_out = rms(out + 800, nout - 1600);
	db = 20 * log10(lvl_out / lvl_in);

	z   = zero_crossings(out + 800, 14400);     /* 1.8 s of 1 kHz */
	p1k = goertzel(out + 800, 14400, 1000, 8000);
	p900  = goertzel(out + 800, 14400, 900, 8000);
	p1100 = goertzel(out + 800, 14400, 1100, 8000);

	free(in);
	mem_deref(out);

	CHECK(db > -1.0 && db < 1.0);
	CHECK(z >= 3590 && z <= 3610);
	CHECK(p1k > 0.8 * 10000.0 * 10000.0);
	CHECK(p900 < p1k / 1000 && p1100 < p1k / 1000);
}


/* The filter delay is removed: a click stays where it was in time. */
TEST(resample_aligned)
{
	int16_t in[22050], *out = NULL;
	size_t nout = 0, i, peak = 0;

	memset(in, 0, sizeof(in));
	in[11025] = 30000;      /* 0.5 s */

	CHECK_EQ_INT(resample(&out, &nout, in, 22050, 22050, 8000), 0);
	CHECK_EQ_INT(nout, 8000);
	for (i = 0; i < nout; i++) {
		if (abs(out[i]) > abs(out[peak]))
			peak = i;
	}
	mem_deref(out);

	CHECK(peak >= 3998 && peak <= 4002);
}


TEST(resample_lengths)
{
	int16_t in[4410], *out = NULL;
	size_t nout = 0;

	memset(in, 0, sizeof(in));

	CHECK_EQ_INT(resample(&out, &nout, in, 4410, 22050, 8000), 0);
	out = mem_deref(out);
	CHECK_EQ_INT(nout, 1600);

	CHECK_EQ_INT(resample(&out, &nout, in, 4410, 8000, 16000), 0);
	out = mem_deref(out);
	CHECK_EQ_INT(nout, 8820);

	CHECK_EQ_INT(resample(&out, &nout, in, 1001, 16000, 8000), 0);
	out = mem_deref(out);
	CHECK_EQ_INT(nout, 501);

	CHECK_EQ_INT(resample(&out, &nout, in, 1, 22050, 8000), 0);
	out = mem_deref(out);
	CHECK_EQ_INT(nout, 0);

	CHECK_EQ_INT(resample(&out, &nout, NULL, 0, 22050, 8000), 0);
	CHECK(out != NULL);
	out = mem_deref(out);
	CHECK_EQ_INT(nout, 0);

	CHECK_EQ_INT(resample(&out, &nout, in, 10, 0, 8000), EINVAL);
	CHECK_EQ_INT(resample(&out, &nout, in, 10, 8000, 0), EINVAL);
	CHECK_EQ_INT(resample(&out, &nout, NULL, 10, 8000, 8000), EINVAL);
}


TEST(resample_identity)
{
	int16_t *in = sine(8000, 440, 8000, 20000), *out = NULL;
	size_t nout = 0;
	int diff;

	CHECK(in != NULL);
	in[7] = INT16_MIN;
	in[8] = INT16_MAX;

	CHECK_EQ_INT(resample(&out, &nout, in, 8000, 8000, 8000), 0);
	CHECK_EQ_INT(nout, 8000);
	diff = memcmp(in, out, 8000 * sizeof(*in));
	free(in);
	mem_deref(out);
	CHECK_EQ_INT(diff, 0);
}


TEST_MAIN()
