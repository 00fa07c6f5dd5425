/* resample.h - sample-rate conversion (speexdsp), e.g. TTS output at
 * 22050 Hz to the 8 kHz of a phone call. */
#ifndef PARLEY_RESAMPLE_H
#define PARLEY_RESAMPLE_H

#include <stddef.h>
#include <stdint.h>

/**
 * Convert a whole buffer from in_rate to out_rate into a mem-allocated
 * buffer *outp of *noutp samples (mono, 16-bit).
 */
int resample(int16_t **outp, size_t *noutp, const int16_t *in, size_t nin,
	     uint32_t in_rate, uint32_t out_rate);

#endif
