/* resample.c - whole-buffer sample-rate conversion with speexdsp.
 *
 * Synthesised prompts come out of the engines at 22050 Hz (espeak-ng) or
 * other rates and must become 8 kHz call audio. The buffer is complete,
 * so the resampler's filter delay is removed at both ends: its leading
 * zeros are skipped and its tail is flushed with silence, giving output
 * aligned with the input and exactly round(nin * out_rate / in_rate)
 * samples long.
 */

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <re.h>
#include <speex/speex_resampler.h>
#include "audio/resample.h"

/* 5, "desktop": flat passband at ~0.003x real time (22050 -> 8000) */
#define QUALITY SPEEX_RESAMPLER_QUALITY_DESKTOP


int resample(int16_t **outp, size_t *noutp, const int16_t *in, size_t nin,
	     uint32_t in_rate, uint32_t out_rate)
{
	SpeexResamplerState *st = NULL;
	int16_t *out = NULL;
	uint64_t want;
	size_t nout = 0, done = 0, used = 0;
	unsigned stalls = 0;
	int err = 0, serr;

	if (!outp || !noutp || (!in && nin) || !in_rate || !out_rate)
		return EINVAL;

	if (nin > UINT32_MAX)
		return ENOMEM;
	want = ((uint64_t)nin * out_rate + in_rate / 2) / in_rate;
	if (want > SIZE_MAX / sizeof(*out) - 1)
		return ENOMEM;
	nout = (size_t)want;

	/* at least one sample, so an empty result is still a buffer */
	out = mem_alloc((nout ? nout : 1) * sizeof(*out), NULL);
	if (!out)
		return ENOMEM;

	if (in_rate == out_rate) {
		if (nin)
			memcpy(out, in, nin * sizeof(*in));
		goto out;
	}

	if (!nin)
		goto out;

	st = speex_resampler_init(1, in_rate, out_rate, QUALITY, &serr);
	if (!st) {
		err = serr == RESAMPLER_ERR_ALLOC_FAILED ? ENOMEM : EINVAL;
		goto out;
	}

	speex_resampler_skip_zeros(st);

	/* the input, then silence (in == NULL) until the tail is out */
	while (done < nout) {
		spx_uint32_t ilen, olen = (spx_uint32_t)(nout - done);
		const int16_t *ip = NULL;

		if (used < nin) {
			ip   = in + used;
			ilen = (spx_uint32_t)(nin - used);
		}
		else {
			ilen = (spx_uint32_t)
				speex_resampler_get_input_latency(st) + 1;
		}

		serr = speex_resampler_process_int(st, 0, ip, &ilen,
						   out + done, &olen);
		if (serr != RESAMPLER_ERR_SUCCESS) {
			err = EINVAL;
			goto out;
		}

		if (ip)
			used += ilen;
		done += olen;

		/* a resampler that stops producing would spin forever */
		stalls = olen ? 0 : stalls + 1;
		if (stalls > 4) {
			err = EPROTO;
			goto out;
		}
	}

 out:
	if (st)
		speex_resampler_destroy(st);

	if (err) {
		mem_deref(out);
	}
	else {
		*outp  = out;
		*noutp = nout;
	}

	return err;
}
