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

/**
 * The same from memory: a WAV received over HTTP or from a provider.
 * Offsets are checked against len; a data chunk cut short is read up to
 * its last whole frame.
 */
int wav_decode(const uint8_t *buf, size_t len, int16_t **samplesp,
	       size_t *nframesp, uint32_t *sratep, unsigned *channelsp);

/** Where the samples of a WAV are. */
struct wav_info {
	uint32_t srate;
	unsigned channels;     /* 1 or 2 (interleaved) */
	size_t data_off;       /* first sample byte */
	uint64_t data_len;     /* bytes; UINT64_MAX: up to the end (stream) */
};

enum { WAV_MAXHDR = 65536 };

/**
 * Find the samples of a 16-bit PCM WAV from its first n bytes (the rest
 * may still be on its way, e.g. a provider's reply). ENODATA: the header
 * is not complete yet; EBADMSG: not a 16-bit PCM mono/stereo WAV, or no
 * data chunk within WAV_MAXHDR bytes. A data size of 0 or 0xffffffff
 * (streaming writers) means "up to the end".
 */
int wav_header_parse(struct wav_info *w, const uint8_t *p, size_t n);

/** The 44-byte header of a 16-bit PCM WAV with data_bytes of samples. */
void wav_header(uint8_t hdr[44], uint32_t srate, unsigned channels,
		uint32_t data_bytes);

#endif
