/* mp3.c - a call recording's MP3 (lame): the stereo WAV (caller left,
 * agent right) mixed to mono at 8 kHz, 24 kbit/s (MPEG-2.5 layer III).
 *
 * Synchronous; runs on a worker thread after the call (the WAV, written
 * during the call, is the recording of record: a crash leaves a playable
 * WAV, and a missing MP3 is made again from it). Written to a temporary
 * name and renamed, so a reader never sees half a file.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <lame/lame.h>
#include <re.h>
#include "audio/mp3.h"
#include "audio/wav.h"

enum { BLOCK = 1152 * 4 };

int mp3_from_wav(const char *wav_path, const char *mp3_path)
{
	lame_global_flags *lame = NULL;
	int16_t *pcm = NULL, mono[BLOCK];
	unsigned char out[BLOCK * 5 / 4 + 7200];
	size_t frames = 0;
	uint32_t srate = 0;
	unsigned ch = 0;
	char tmp[512];
	FILE *f = NULL;
	int err, n;

	if (!wav_path || !mp3_path)
		return EINVAL;
	err = wav_read(wav_path, &pcm, &frames, &srate, &ch);
	if (err)
		return err;
	if (re_snprintf(tmp, sizeof(tmp), "%s.part", mp3_path) < 0) {
		err = ENAMETOOLONG;
		goto out;
	}

	lame = lame_init();
	if (!lame) {
		err = ENOMEM;
		goto out;
	}
	lame_set_in_samplerate(lame, (int)srate);
	lame_set_out_samplerate(lame, (int)srate);
	lame_set_num_channels(lame, 1);
	lame_set_mode(lame, MONO);
	lame_set_brate(lame, 24);
	lame_set_quality(lame, 5);
	if (lame_init_params(lame) < 0) {
		err = EINVAL;
		goto out;
	}

	f = fopen(tmp, "wb");
	if (!f) {
		err = errno;
		goto out;
	}
	for (size_t at = 0; at < frames; ) {
		size_t k = frames - at < BLOCK ? frames - at : BLOCK;
		for (size_t i = 0; i < k; i++) {
			int v = ch == 2 ? (pcm[2 * (at + i)] +
					   pcm[2 * (at + i) + 1]) / 2 :
				pcm[at + i];
			mono[i] = (int16_t)v;
		}
		n = lame_encode_buffer(lame, mono, mono, (int)k, out,
				       (int)sizeof(out));
		if (n < 0 || fwrite(out, 1, (size_t)n, f) != (size_t)n) {
			err = n < 0 ? EIO : errno;
			goto out;
		}
		at += k;
	}
	n = lame_encode_flush(lame, out, (int)sizeof(out));
	if (n < 0 || fwrite(out, 1, (size_t)n, f) != (size_t)n) {
		err = n < 0 ? EIO : errno;
		goto out;
	}
	if (fclose(f)) {
		f = NULL;
		err = errno;
		goto out;
	}
	f = NULL;
	if (rename(tmp, mp3_path))
		err = errno;
 out:
	if (f)
		fclose(f);
	if (err)
		(void)unlink(tmp);
	if (lame)
		lame_close(lame);
	mem_deref(pcm);
	return err;
}
