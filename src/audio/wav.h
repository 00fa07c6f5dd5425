/* wav.h - 16-bit PCM WAV files: a streaming writer that keeps the header
 * valid after every write (a recording survives an abrupt end), and a
 * reader. */
#ifndef PARLEY_WAV_H
#define PARLEY_WAV_H

#include <stddef.h>
#include <stdint.h>

struct wav_writer;

/** Create path (truncating) for `channels` interleaved 16-bit samples. */
int wav_writer_open(struct wav_writer **wp, const char *path, uint32_t srate,
		    unsigned channels);
/** Append nframes frames (nframes * channels samples). */
int wav_write(struct wav_writer *w, const int16_t *samples, size_t nframes);
/** Frames written so far. */
uint64_t wav_frames(const struct wav_writer *w);
/* mem_deref() closes the file (header already final). */

/**
 * Read a whole 16-bit PCM WAV (mono or stereo; stereo is returned
 * interleaved) into a mem-allocated buffer. EBADMSG for other formats.
 */
int wav_read(const char *path, int16_t **samplesp, size_t *nframesp,
	     uint32_t *sratep, unsigned *channelsp);

#endif
