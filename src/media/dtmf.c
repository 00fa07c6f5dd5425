/* dtmf.c - in-band DTMF detection on decoded 8 kHz audio.
 *
 * Why not spandsp's dtmf_rx(): libspandsp and librem both export
 * goertzel_init/goertzel_reset/goertzel_result, and both call them through
 * the PLT. In a binary linked with librem before spandsp (our Makefile
 * order) spandsp's detector runs librem's goertzel_result on spandsp's
 * state and reports garbage ("DD" for "123#*9"); in the other order
 * librem's detector breaks. So this file keeps its own, static, Goertzel.
 *
 * Method (the classic one, as in spandsp and Q.24 receivers): blocks of
 * 102 samples (the 697/770 Hz bins fall on each other's nulls), Goertzel
 * power at the eight DTMF frequencies; a block holds a digit when the
 * strongest row and column tones are loud enough, each stands 8 dB above
 * the rest of its group, the twist is within limits and the two tones
 * carry most of the block's energy (speech rarely does). A digit is
 * reported when two blocks in a row agree (>= 25 ms of tone), once, and
 * a new press needs two blocks without it (a one-block dropout inside a
 * tone does not count twice).
 */
#include <math.h>
#include <string.h>
#include "media/media_int.h"

enum { BLOCK = DTMF_DET_BLOCK };

static const double freqs[8] = {
	697, 770, 852, 941,          /* rows */
	1209, 1336, 1477, 1633,      /* columns */
};

static const char keys[4][4] = {
	{'1', '2', '3', 'A'},
	{'4', '5', '6', 'B'},
	{'7', '8', '9', 'C'},
	{'*', '0', '#', 'D'},
};

/* a tone of amplitude A gives Goertzel power (A * BLOCK / 2)^2 */
#define MIN_AMPL      400.0      /* about -35 dBm0 per tone */
#define MIN_POWER     ((MIN_AMPL * BLOCK / 2) * (MIN_AMPL * BLOCK / 2))
#define GROUP_MARGIN  6.3        /* 8 dB over the others of its group */
#define TWIST_NORMAL  6.3        /* column may be 8 dB stronger */
#define TWIST_REVERSE 2.5        /* row may be 4 dB stronger */
#define TONE_SHARE    0.6        /* of the block's energy in the 2 tones */

void dtmf_det_init(struct dtmf_det *d)
{
	int i;

	memset(d, 0, sizeof(*d));
	for (i = 0; i < 8; i++)
		d->coef[i] = 2.0 * cos(2.0 * M_PI * freqs[i] / MEDIA_SRATE);
}

static double goertzel(const int16_t *x, double coef)
{
	double s1 = 0, s2 = 0;
	int i;

	for (i = 0; i < BLOCK; i++) {
		double s0 = x[i] + coef * s1 - s2;

		s2 = s1;
		s1 = s0;
	}

	return s1 * s1 + s2 * s2 - coef * s1 * s2;
}

/* index of the strongest of four, or -1 unless it stands out */
static int peak(const double *p)
{
	int i, best = 0;

	for (i = 1; i < 4; i++) {
		if (p[i] > p[best])
			best = i;
	}

	if (p[best] < MIN_POWER)
		return -1;

	for (i = 0; i < 4; i++) {
		if (i != best && p[i] * GROUP_MARGIN > p[best])
			return -1;
	}

	return best;
}

/* the digit in one block, or 0 */
static char block_digit(const struct dtmf_det *d)
{
	double p[8], energy = 0;
	int i, r, c;

	for (i = 0; i < 8; i++)
		p[i] = goertzel(d->buf, d->coef[i]);

	r = peak(p);
	c = peak(p + 4);
	if (r < 0 || c < 0)
		return 0;

	if (p[4 + c] > p[r] * TWIST_NORMAL || p[r] > p[4 + c] * TWIST_REVERSE)
		return 0;

	for (i = 0; i < BLOCK; i++)
		energy += (double)d->buf[i] * d->buf[i];

	/* a pure tone's power is energy * BLOCK / 2 */
	if (p[r] + p[4 + c] < TONE_SHARE * energy * BLOCK / 2)
		return 0;

	return keys[r][c];
}

void dtmf_det_process(struct dtmf_det *d, const int16_t *x, size_t n,
		      dtmf_det_h *h, void *arg)
{
	while (n) {
		size_t k = BLOCK - d->n;
		char digit;

		if (k > n)
			k = n;

		memcpy(d->buf + d->n, x, k * sizeof(*x));
		d->n += k;
		x += k;
		n -= k;

		if (d->n < BLOCK)
			break;
		d->n = 0;

		digit = block_digit(d);
		if (digit && digit == d->last && digit != d->cur) {
			d->cur = digit;
			h(digit, arg);
		}
		else if (!digit && !d->last) {
			d->cur = 0;
		}
		d->last = digit;
	}
}
