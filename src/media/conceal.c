/* conceal.c - packet loss concealment for 8 kHz speech.
 *
 * Why our own: spandsp 0.0.6's plc_fillin() memcpy()s overlapping memory
 * (normalise_history), undefined behaviour that AddressSanitizer reports
 * on the first loss. This follows the same idea (ITU-T G.711 Appendix I,
 * simplified): on a loss, estimate the pitch period of the last received
 * audio (AMDF), repeat that period, keep full level for 10 ms and fade
 * to silence over the next 50 ms; when audio returns, cross-fade from the
 * synthetic signal into it so the seam does not click.
 */
#include <stdlib.h>
#include <string.h>
#include "media/media_int.h"

enum {
	PITCH_MIN = 20,          /* 400 Hz */
	SPAN = MEDIA_FRAME,      /* samples compared per candidate period */
	HOLD = 80,               /* full level for 10 ms */
	FADE = 400,              /* then to silence over 50 ms */
	XFADE = 32,              /* seam when audio returns */
};

static void history_add(struct conceal *c, const int16_t *x, size_t n)
{
	if (n >= CONCEAL_HIST) {
		memcpy(c->hist, x + n - CONCEAL_HIST, sizeof(c->hist));
		return;
	}

	memmove(c->hist, c->hist + n, (CONCEAL_HIST - n) * sizeof(c->hist[0]));
	memcpy(c->hist + CONCEAL_HIST - n, x, n * sizeof(x[0]));
}

/* the period (in samples) that best repeats the recent signal */
static unsigned pitch_find(const int16_t *h)
{
	const int16_t *cur = h + CONCEAL_HIST - SPAN;
	unsigned best = CONCEAL_PITCH_MAX, lag;
	uint64_t best_d = UINT64_MAX;

	for (lag = PITCH_MIN; lag <= CONCEAL_PITCH_MAX; lag++) {
		const int16_t *prev = cur - lag;
		uint64_t d = 0;
		unsigned i;

		for (i = 0; i < SPAN; i++)
			d += (uint64_t)abs(cur[i] - prev[i]);

		if (d < best_d) {
			best_d = d;
			best = lag;
		}
	}

	return best;
}

static int16_t synth(struct conceal *c)
{
	const int16_t *period = c->hist + CONCEAL_HIST - c->pitch;
	int32_t v = period[c->pos];
	int32_t gain;

	if (++c->pos >= c->pitch)
		c->pos = 0;

	/* gain in 1/FADE steps */
	if (c->missing < HOLD)
		gain = FADE;
	else if (c->missing < HOLD + FADE)
		gain = (int32_t)(HOLD + FADE - c->missing);
	else
		gain = 0;

	++c->missing;
	return (int16_t)(v * gain / FADE);
}

void conceal_fill(struct conceal *c, int16_t *out, size_t n)
{
	size_t i;

	if (!c->missing) {
		c->pitch = pitch_find(c->hist);
		c->pos = 0;
	}

	for (i = 0; i < n; i++)
		out[i] = c->missing < HOLD + FADE ? synth(c) : 0;
}

void conceal_good(struct conceal *c, int16_t *x, size_t n)
{
	size_t i;

	if (c->missing) {
		for (i = 0; i < n && i < XFADE && c->missing < HOLD + FADE;
		     i++) {
			int32_t s = synth(c);

			x[i] = (int16_t)((s * (int32_t)(XFADE - i) +
					  x[i] * (int32_t)i) / XFADE);
		}
		c->missing = 0;
	}

	history_add(c, x, n);
}
