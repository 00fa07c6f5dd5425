/* mp3.h - MP3 copies of call recordings (lame). */
#ifndef PARLEY_MP3_H
#define PARLEY_MP3_H

/**
 * Encode a 16-bit WAV (mono, or stereo mixed to mono) as MP3 at its own
 * rate. Blocking: call it from a worker thread. The file appears whole
 * (written aside, then renamed).
 */
int mp3_from_wav(const char *wav_path, const char *mp3_path);

#endif
