/* vad.h - voice activity detection on 20 ms frames of 8 kHz audio.
 *
 * Energy against an adaptive noise floor, with a zero-crossing check to
 * reject hum and clicks; onset needs a few consecutive speech frames,
 * and the decision holds for a short hangover. Deterministic and cheap
 * (a few hundred ns per frame); one per call direction.
 */
#ifndef PARLEY_VAD_H
#define PARLEY_VAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vad {
	double noise;          /* noise floor (mean square) */
	double level;          /* last frame's level, dBFS */
	unsigned run;          /* consecutive speech-like frames */
	unsigned quiet;        /* consecutive non-speech frames */
	bool speech;           /* the current decision */
	uint64_t frames;
};

void vad_init(struct vad *v);
/** Classify one frame; true while speech is going on. */
bool vad_frame(struct vad *v, const int16_t *pcm, size_t n);

#endif
