/* vad.c - voice activity detection: frame energy against an adaptive
 * noise floor.
 *
 * A frame is speech-like when it is loud enough in absolute terms
 * (VAD_MIN_DBFS) and stands VAD_SNR_DB above the noise floor. The floor
 * follows quieter frames quickly and louder ones very slowly, so steady
 * line noise is learnt while speech does not raise it. Speech begins
 * after VAD_ONSET speech-like frames in a row and ends after VAD_HANG
 * frames without; callers that need longer silences (endpointing) count
 * v->quiet themselves.
 *
 * Steady tones are not speech: a sine's peak is 1.41 times its RMS and
 * two tones' (DTMF) at most 2, while voiced speech comes in glottal
 * pulses well above that. Frames with a crest factor below VAD_CREST
 * (ringback, test tones, keypad tones, hum) count as silence.
 */
#include <math.h>
#include <string.h>
#include "media/vad.h"

enum {
	VAD_ONSET = 3,           /* 60 ms of speech to begin */
	VAD_HANG  = 4,           /* 80 ms without to end */
};

#define VAD_MIN_DBFS   (-46.0)
#define VAD_SNR_DB     (9.0)
#define VAD_FLOOR_MIN  (1e-7)    /* -70 dBFS: digital silence */
#define VAD_CREST      (2.1)

void vad_init(struct vad *v)
{
	memset(v, 0, sizeof(*v));
	v->noise = VAD_FLOOR_MIN;
	v->level = -100.0;
}

bool vad_frame(struct vad *v, const int16_t *pcm, size_t n)
{
	double ms = 0.0, peak = 0.0;
	bool like;

	for (size_t i = 0; i < n; i++) {
		double x = pcm[i] / 32768.0;
		ms += x * x;
		if (fabs(x) > peak)
			peak = fabs(x);
	}
	ms = n ? ms / (double)n : 0.0;
	v->level = 10.0 * log10(ms + 1e-12);
	v->frames++;

	like = v->level > VAD_MIN_DBFS &&
		ms > v->noise * pow(10.0, VAD_SNR_DB / 10.0) &&
		peak > VAD_CREST * sqrt(ms);

	/* learn the floor: down fast, up slowly (not at all in speech) */
	if (ms < v->noise)
		v->noise = 0.7 * v->noise + 0.3 * ms;
	else if (!like)
		v->noise = 0.98 * v->noise + 0.02 * ms;
	else
		v->noise = 0.9995 * v->noise + 0.0005 * ms;
	if (v->noise < VAD_FLOOR_MIN)
		v->noise = VAD_FLOOR_MIN;

	if (like) {
		v->run++;
		v->quiet = 0;
		if (v->run >= VAD_ONSET)
			v->speech = true;
	}
	else {
		v->run = 0;
		v->quiet++;
		if (v->quiet >= VAD_HANG)
			v->speech = false;
	}
	return v->speech;
}
