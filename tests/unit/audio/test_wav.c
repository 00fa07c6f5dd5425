/* test_wav.c - the WAV writer and reader: round trips, a file that is
 * valid after every write, and files from elsewhere, good and bad. */
#include <errno.h>
#include <stdint.h>
#include <unistd.h>
#include "test.h"
#include "audio/wav.h"


/* A per-test temporary path, removed by the caller. */
static void tmp_path(char *buf, size_t sz, const char *tag)
{
	re_snprintf(buf, sz, "/tmp/parley_test_wav_%d_%s.wav",
		    (int)getpid(), tag);
}


static int write_file(const char *path, const uint8_t *p, size_t len)
{
	FILE *f = fopen(path, "wb");
	size_t n;

	if (!f)
		return errno;
	n = fwrite(p, 1, len, f);
	fclose(f);

	return n == len ? 0 : EIO;
}


static uint8_t *read_file(const char *path, size_t *lenp)
{
	FILE *f = fopen(path, "rb");
	uint8_t *p;
	long len;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	fseek(f, 0, SEEK_SET);
	p = malloc(len > 0 ? (size_t)len : 1);
	if (p && fread(p, 1, (size_t)len, f) != (size_t)len) {
		free(p);
		p = NULL;
	}
	fclose(f);
	*lenp = (size_t)len;

	return p;
}


static void le16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}


static void le32(uint8_t *p, uint32_t v)
{
	le16(p, v & 0xffff);
	le16(p + 2, v >> 16);
}


/* Build a WAV by hand: RIFF, optional LIST, fmt of fmt_len bytes with
 * the given tag (0xfffe adds the extensible tail with subformat sub),
 * data with nsamp samples 0, 1, -1, 2, -2 ... Returns its length. */
static size_t build(uint8_t *b, unsigned tag, unsigned sub, unsigned ch,
		    unsigned bits, bool list, size_t nsamp)
{
	static const uint8_t guid_tail[14] = {
		0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00,
		0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71
	};
	size_t o = 12, i;
	unsigned fmt_len = tag == 0xfffe ? 40 : 16;

	memcpy(b, "RIFF", 4);
	memcpy(b + 8, "WAVE", 4);

	if (list) {
		/* odd-sized, so the pad byte must be skipped */
		memcpy(b + o, "LIST", 4);
		le32(b + o + 4, 5);
		memcpy(b + o + 8, "INFOx\0", 6);
		o += 8 + 6;
	}

	memcpy(b + o, "fmt ", 4);
	le32(b + o + 4, fmt_len);
	le16(b + o + 8, tag);
	le16(b + o + 10, ch);
	le32(b + o + 12, 16000);
	le32(b + o + 16, 16000 * ch * bits / 8);
	le16(b + o + 20, ch * bits / 8);
	le16(b + o + 22, bits);
	if (tag == 0xfffe) {
		le16(b + o + 24, 22);
		le16(b + o + 26, bits);
		le32(b + o + 28, ch == 2 ? 3 : 4);
		le16(b + o + 32, sub);
		memcpy(b + o + 34, guid_tail, sizeof(guid_tail));
	}
	o += 8 + fmt_len;

	memcpy(b + o, "data", 4);
	le32(b + o + 4, (uint32_t)(nsamp * 2));
	o += 8;
	for (i = 0; i < nsamp; i++) {
		int v = (i & 1) ? (int)(i + 1) / 2 : -(int)i / 2;

		le16(b + o, (unsigned)(v & 0xffff));
		o += 2;
	}

	le32(b + 4, (uint32_t)(o - 8));

	return o;
}


TEST(wav_roundtrip_mono)
{
	struct wav_writer *w = NULL;
	int16_t pcm[1000], *got = NULL;
	size_t n = 0, i;
	uint32_t srate = 0;
	unsigned ch = 0;
	char path[128];
	int err;

	tmp_path(path, sizeof(path), "mono");
	for (i = 0; i < 1000; i++)
		pcm[i] = (int16_t)(i * 65 - 32768);
	pcm[1] = INT16_MAX;
	pcm[2] = INT16_MIN;

	CHECK_EQ_INT(wav_writer_open(&w, path, 8000, 1), 0);
	CHECK_EQ_INT(wav_write(w, pcm, 400), 0);
	CHECK_EQ_INT(wav_write(w, pcm + 400, 0), 0);
	CHECK_EQ_INT(wav_write(w, pcm + 400, 600), 0);
	CHECK_EQ_INT(wav_frames(w), 1000);
	w = mem_deref(w);

	err = wav_read(path, &got, &n, &srate, &ch);
	unlink(path);
	CHECK_EQ_INT(err, 0);
	CHECK_EQ_INT(n, 1000);
	CHECK_EQ_INT(srate, 8000);
	CHECK_EQ_INT(ch, 1);
	err = memcmp(got, pcm, sizeof(pcm));
	mem_deref(got);
	CHECK_EQ_INT(err, 0);
}


TEST(wav_roundtrip_stereo)
{
	struct wav_writer *w = NULL;
	int16_t pcm[2 * 5000], *got = NULL;
	uint8_t *raw;
	size_t n = 0, i, len = 0;
	uint32_t srate = 0;
	unsigned ch = 0;
	char path[128];
	int err;

	tmp_path(path, sizeof(path), "stereo");
	for (i = 0; i < 5000; i++) {
		pcm[2 * i]     = (int16_t)(i * 7);          /* left */
		pcm[2 * i + 1] = (int16_t)(-(int)i * 3);    /* right */
	}

	CHECK_EQ_INT(wav_writer_open(&w, path, 16000, 2), 0);
	CHECK_EQ_INT(wav_write(w, pcm, 5000), 0);
	w = mem_deref(w);

	/* the exact canonical header, little-endian */
	raw = read_file(path, &len);
	CHECK(raw != NULL);
	CHECK_EQ_INT(len, 44 + sizeof(pcm));
	err = memcmp(raw, "RIFF", 4) || raw[4] != 0x44 || raw[5] != 0x4e ||
		raw[6] != 0 || memcmp(raw + 8, "WAVEfmt ", 8) ||
		raw[16] != 16 || raw[20] != 1 || raw[22] != 2 ||
		raw[24] != 0x80 || raw[25] != 0x3e || raw[32] != 4 ||
		raw[34] != 16 || memcmp(raw + 36, "data", 4) ||
		raw[40] != 0x20 || raw[41] != 0x4e ||
		raw[44] != 0 || raw[46] != 0 || raw[48] != 7 || raw[50] != 0xfd
		|| raw[51] != 0xff;
	free(raw);
	CHECK_EQ_INT(err, 0);

	err = wav_read(path, &got, &n, &srate, &ch);
	unlink(path);
	CHECK_EQ_INT(err, 0);
	CHECK_EQ_INT(n, 5000);
	CHECK_EQ_INT(srate, 16000);
	CHECK_EQ_INT(ch, 2);
	err = memcmp(got, pcm, sizeof(pcm));
	mem_deref(got);
	CHECK_EQ_INT(err, 0);
}


/* A recording read while it is still being written (or after the
 * process died) is a valid file holding every frame written so far. */
TEST(wav_valid_after_each_write)
{
	struct wav_writer *w = NULL;
	int16_t frame[2 * 160], *got = NULL;
	size_t n = 0, i;
	unsigned ch = 0, k;
	char path[128];
	int err = 0;

	tmp_path(path, sizeof(path), "live");
	CHECK_EQ_INT(wav_writer_open(&w, path, 8000, 2), 0);

	/* valid before any sample, too */
	CHECK_EQ_INT(wav_read(path, &got, &n, NULL, &ch), 0);
	got = mem_deref(got);
	CHECK_EQ_INT(n, 0);

	for (k = 0; k < 10 && !err; k++) {
		for (i = 0; i < 320; i++)
			frame[i] = (int16_t)(k * 1000 + i);
		err = wav_write(w, frame, 160);
		if (err)
			break;

		err = wav_read(path, &got, &n, NULL, &ch);
		if (err)
			break;
		if (n != (k + 1) * 160 || ch != 2 ||
		    memcmp(got + k * 320, frame, sizeof(frame)) ||
		    got[0] != 0)
			err = EBADMSG;
		got = mem_deref(got);
	}

	w = mem_deref(w);
	unlink(path);
	CHECK_EQ_INT(err, 0);
}


TEST(wav_writer_args)
{
	struct wav_writer *w = NULL;
	int16_t s = 0;

	CHECK_EQ_INT(wav_writer_open(&w, "/tmp/x.wav", 8000, 0), EINVAL);
	CHECK_EQ_INT(wav_writer_open(&w, "/tmp/x.wav", 8000, 3), EINVAL);
	CHECK_EQ_INT(wav_writer_open(&w, "/tmp/x.wav", 0, 1), EINVAL);
	CHECK_EQ_INT(wav_writer_open(&w, "/nonexistent/dir/x.wav", 8000, 1),
		     ENOENT);
	CHECK(w == NULL);
	CHECK_EQ_INT(wav_write(NULL, &s, 1), EINVAL);
}


TEST(wav_read_missing)
{
	int16_t *got = NULL;
	size_t n = 0;

	CHECK_EQ_INT(wav_read("/nonexistent/x.wav", &got, &n, NULL, NULL),
		     ENOENT);
	CHECK_EQ_INT(wav_read("/tmp", &got, &n, NULL, NULL), EBADMSG);
}


/* Files from other writers: unknown chunks, WAVE_FORMAT_EXTENSIBLE. */
TEST(wav_read_foreign)
{
	static uint8_t b[512];
	int16_t *got = NULL;
	size_t n = 0, len;
	uint32_t srate = 0;
	unsigned ch = 0;
	char path[128];
	int err;

	tmp_path(path, sizeof(path), "foreign");

	/* LIST chunk with a pad byte before fmt */
	len = build(b, 1, 0, 1, 16, true, 10);
	CHECK_EQ_INT(write_file(path, b, len), 0);
	err = wav_read(path, &got, &n, &srate, &ch);
	CHECK_EQ_INT(err, 0);
	CHECK_EQ_INT(n, 10);
	CHECK_EQ_INT(srate, 16000);
	CHECK_EQ_INT(ch, 1);
	err = got[0] != 0 || got[1] != 1 || got[2] != -1 || got[9] != 5;
	got = mem_deref(got);
	CHECK_EQ_INT(err, 0);

	/* extensible, PCM subformat, stereo */
	len = build(b, 0xfffe, 1, 2, 16, false, 8);
	CHECK_EQ_INT(write_file(path, b, len), 0);
	err = wav_read(path, &got, &n, &srate, &ch);
	CHECK_EQ_INT(err, 0);
	CHECK_EQ_INT(n, 4);
	CHECK_EQ_INT(ch, 2);
	err = got[3] != 2 || got[7] != 4;
	got = mem_deref(got);
	CHECK_EQ_INT(err, 0);

	/* extensible with a float subformat */
	len = build(b, 0xfffe, 3, 1, 16, true, 8);
	CHECK_EQ_INT(write_file(path, b, len), 0);
	CHECK_EQ_INT(wav_read(path, &got, &n, NULL, NULL), EBADMSG);

	unlink(path);
}


TEST(wav_read_bad_format)
{
	static uint8_t b[512];
	int16_t *got = NULL;
	size_t n = 0, len;
	char path[128];
	int e1, e2, e3, e4, e5;

	tmp_path(path, sizeof(path), "badfmt");

	len = build(b, 1, 0, 1, 8, false, 10);           /* 8-bit */
	write_file(path, b, len);
	e1 = wav_read(path, &got, &n, NULL, NULL);

	len = build(b, 3, 0, 1, 16, false, 10);          /* IEEE float */
	write_file(path, b, len);
	e2 = wav_read(path, &got, &n, NULL, NULL);

	len = build(b, 7, 0, 1, 16, false, 10);          /* mu-law */
	write_file(path, b, len);
	e3 = wav_read(path, &got, &n, NULL, NULL);

	len = build(b, 1, 0, 6, 16, false, 12);          /* 5.1 */
	write_file(path, b, len);
	e4 = wav_read(path, &got, &n, NULL, NULL);

	len = build(b, 1, 0, 1, 16, false, 10);
	memcpy(b + 8, "AVI ", 4);                        /* not WAVE */
	write_file(path, b, len);
	e5 = wav_read(path, &got, &n, NULL, NULL);

	unlink(path);
	CHECK_EQ_INT(e1, EBADMSG);
	CHECK_EQ_INT(e2, EBADMSG);
	CHECK_EQ_INT(e3, EBADMSG);
	CHECK_EQ_INT(e4, EBADMSG);
	CHECK_EQ_INT(e5, EBADMSG);
}


/* Every prefix of a valid file: cut inside the headers is EBADMSG,
 * cut inside the data yields the whole frames that are there. */
TEST(wav_read_truncated)
{
	static uint8_t b[512];
	int16_t *got = NULL;
	size_t n = 0, len, cut, hdr;
	char path[128];
	int err = 0;

	tmp_path(path, sizeof(path), "trunc");
	len = build(b, 0xfffe, 1, 2, 16, true, 40);
	hdr = len - 80;

	for (cut = 0; cut < len && !err; cut++) {
		write_file(path, b, cut);
		err = wav_read(path, &got, &n, NULL, NULL);

		if (cut < hdr) {
			if (err != EBADMSG)
				break;
			err = 0;
		}
		else if (!err) {
			if (n != (cut - hdr) / 4)
				err = ERANGE;
			got = mem_deref(got);
		}
	}

	unlink(path);
	CHECK_EQ_INT(err, 0);
	CHECK_EQ_INT(cut, len);
}


TEST(wav_read_garbage)
{
	static uint8_t b[4096];
	int16_t *got = NULL;
	size_t n = 0, len, i;
	unsigned ch = 0;
	char path[128];
	uint32_t x = 12345;
	int k, err = 0;

	tmp_path(path, sizeof(path), "garbage");

	for (k = 0; k < 300 && !err; k++) {
		len = 1 + (size_t)(k * 13) % sizeof(b);
		for (i = 0; i < len; i++) {
			x = x * 1103515245u + 12345u;
			b[i] = (uint8_t)(x >> 16);
		}

		/* a third keep a RIFF/WAVE start, a third a fmt chunk too */
		if (k % 3 && len >= 12) {
			memcpy(b, "RIFF", 4);
			memcpy(b + 8, "WAVE", 4);
		}
		if (k % 3 == 2 && len >= 36) {
			memcpy(b + 12, "fmt ", 4);
			le32(b + 16, 16);
			le16(b + 20, 1);
		}

		write_file(path, b, len);
		err = wav_read(path, &got, &n, NULL, &ch);
		if (!err) {
			/* legal by luck: then it must be sane */
			if (ch < 1 || ch > 2)
				err = ERANGE;
			for (i = 0; i < n * ch; i++)
				x += (uint32_t)got[i];
			got = mem_deref(got);
		}
		else if (err == EBADMSG) {
			err = 0;
		}
	}

	unlink(path);
	CHECK_EQ_INT(err, 0);
}


TEST_MAIN()
