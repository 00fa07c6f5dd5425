/* wav.c - 16-bit PCM WAV files.
 *
 * Call recordings are written while the call runs, and the process may
 * die at any moment (crash, OOM killer, kill -9), so the writer rewrites
 * the RIFF and data sizes after every append: at any instant the file on
 * disk is a valid WAV of everything written so far. Samples go first and
 * the sizes after, so a crash between the two leaves a header that is
 * merely one write behind, never ahead of the data. (No fsync: the page
 * cache outlives the process; surviving power loss is not the aim.)
 *
 * The reader takes WAVs from elsewhere (prompts, test fixtures, other
 * engines' recordings) and trusts nothing in them: every offset is checked
 * against the file size, unknown chunks (LIST, fact, cue ...) are skipped,
 * WAVE_FORMAT_EXTENSIBLE is accepted when its subformat is PCM, and a
 * data chunk cut short (a recorder that died before fixing its header) is
 * read up to the last whole frame. Anything else is EBADMSG.
 *
 * All multi-byte fields and samples are little-endian on disk, converted
 * byte by byte so the code is right on any host.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <re.h>
#include "audio/wav.h"

enum {
	HDR_SIZE       = 44,       /* RIFF + fmt (16) + data headers */
	FMT_PCM        = 0x0001,
	FMT_EXTENSIBLE = 0xfffe,
	CHUNK_BUF      = 4096,     /* bytes converted per write(2) */
};

/* The data chunk's size field is 32 bits and RIFF's covers it plus 36. */
#define MAX_DATA_BYTES (UINT32_MAX - (HDR_SIZE - 8) - 1)

/* KSDATAFORMAT_SUBTYPE_PCM after its first two bytes (the format tag) */
static const uint8_t pcm_guid_tail[14] = {
	0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00,
	0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71
};

struct wav_writer {
	int fd;
	unsigned channels;
	uint64_t frames;
	uint64_t data_bytes;
};


static void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}


static void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}


static uint16_t get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}


static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 |
		(uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}


/* pwrite all of buf, retrying short writes and EINTR. */
static int pwrite_all(int fd, const uint8_t *buf, size_t len, uint64_t off)
{
	while (len) {
		ssize_t n = pwrite(fd, buf, len, (off_t)off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno;
		}
		if (n == 0)
			return EIO;

		buf += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}

	return 0;
}


/* pread exactly len bytes; EBADMSG if the file ends first. */
static int pread_all(int fd, void *buf, size_t len, uint64_t off)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = pread(fd, p, len, (off_t)off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno;
		}
		if (n == 0)
			return EBADMSG;

		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}

	return 0;
}


static void writer_destructor(void *arg)
{
	struct wav_writer *w = arg;

	if (w->fd >= 0)
		(void)close(w->fd);
}


/* Rewrite the two size fields from w->data_bytes. */
static int write_sizes(struct wav_writer *w)
{
	uint8_t b[4];
	int err;

	put_le32(b, (uint32_t)(w->data_bytes + HDR_SIZE - 8));
	err = pwrite_all(w->fd, b, 4, 4);
	if (err)
		return err;

	put_le32(b, (uint32_t)w->data_bytes);

	return pwrite_all(w->fd, b, 4, HDR_SIZE - 4);
}


void wav_header(uint8_t h[44], uint32_t srate, unsigned channels,
		uint32_t data_bytes)
{
	uint16_t align = (uint16_t)(channels * 2);

	memcpy(h, "RIFF", 4);
	put_le32(h + 4, HDR_SIZE - 8 + data_bytes);
	memcpy(h + 8, "WAVEfmt ", 8);
	put_le32(h + 16, 16);
	put_le16(h + 20, FMT_PCM);
	put_le16(h + 22, (uint16_t)channels);
	put_le32(h + 24, srate);
	put_le32(h + 28, srate * align);
	put_le16(h + 32, align);
	put_le16(h + 34, 16);
	memcpy(h + 36, "data", 4);
	put_le32(h + 40, data_bytes);
}


int wav_writer_open(struct wav_writer **wp, const char *path, uint32_t srate,
		    unsigned channels)
{
	struct wav_writer *w;
	uint8_t h[HDR_SIZE];
	int err;

	if (!wp || !path || !srate || channels < 1 || channels > 2 ||
	    srate > UINT32_MAX / 4)
		return EINVAL;

	w = mem_zalloc(sizeof(*w), writer_destructor);
	if (!w)
		return ENOMEM;

	w->channels = channels;
	w->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (w->fd < 0) {
		err = errno;
		goto out;
	}

	wav_header(h, srate, channels, 0);

	err = pwrite_all(w->fd, h, sizeof(h), 0);

 out:
	if (err)
		mem_deref(w);
	else
		*wp = w;

	return err;
}


int wav_write(struct wav_writer *w, const int16_t *samples, size_t nframes)
{
	uint8_t buf[CHUNK_BUF];
	uint64_t off, bytes;
	size_t i, n, nsamp;
	int err = 0;

	if (!w || (!samples && nframes))
		return EINVAL;
	if (!nframes)
		return 0;

	if (nframes > MAX_DATA_BYTES / 4)
		return EFBIG;
	nsamp = nframes * w->channels;
	bytes = (uint64_t)nsamp * 2;
	if (bytes > MAX_DATA_BYTES - w->data_bytes)
		return EFBIG;

	off = HDR_SIZE + w->data_bytes;

	for (i = 0; i < nsamp; i += n) {
		size_t k;

		n = nsamp - i;
		if (n > sizeof(buf) / 2)
			n = sizeof(buf) / 2;

		for (k = 0; k < n; k++)
			put_le16(buf + 2 * k, (uint16_t)samples[i + k]);

		err = pwrite_all(w->fd, buf, n * 2, off);
		if (err)
			goto out;
		off += n * 2;
	}

	w->data_bytes += bytes;
	w->frames += nframes;

	err = write_sizes(w);

 out:
	if (err) {
		/* drop a partial append so the file ends where its header
		 * says; the header still describes the previous state */
		(void)ftruncate(w->fd, (off_t)(HDR_SIZE + w->data_bytes));
	}

	return err;
}


uint64_t wav_frames(const struct wav_writer *w)
{
	return w ? w->frames : 0;
}


struct fmt {
	uint16_t channels;
	uint32_t srate;
};


/* Validate a fmt chunk body of len bytes (only 16-bit PCM passes). */
static int parse_fmt(struct fmt *f, const uint8_t *p, size_t len)
{
	uint16_t tag, align, bits;

	if (len < 16)
		return EBADMSG;

	tag         = get_le16(p);
	f->channels = get_le16(p + 2);
	f->srate    = get_le32(p + 4);
	align       = get_le16(p + 12);
	bits        = get_le16(p + 14);

	if (tag == FMT_EXTENSIBLE) {
		uint16_t cbsize, valid;

		if (len < 40)
			return EBADMSG;

		cbsize = get_le16(p + 16);
		valid  = get_le16(p + 18);

		if (cbsize < 22 || get_le16(p + 24) != FMT_PCM ||
		    memcmp(p + 26, pcm_guid_tail, sizeof(pcm_guid_tail)))
			return EBADMSG;

		/* fewer valid bits still come in 16-bit containers */
		if (valid > 16)
			return EBADMSG;
	}
	else if (tag != FMT_PCM) {
		return EBADMSG;
	}

	if (f->channels < 1 || f->channels > 2 || bits != 16 ||
	    align != f->channels * 2 || !f->srate)
		return EBADMSG;

	return 0;
}


int wav_header_parse(struct wav_info *w, const uint8_t *p, size_t n)
{
	struct wav_info v;
	struct fmt f;
	bool have_fmt = false;
	size_t off;
	int err;

	if (!w || (!p && n))
		return EINVAL;

	memset(&v, 0, sizeof(v));

	/* a prefix of the magic is still possibly a WAV */
	if (n < 12) {
		if (!n)
			return ENODATA;
		if (memcmp(p, "RIFF", n < 4 ? n : 4))
			return EBADMSG;
		if (n > 8 && memcmp(p + 8, "WAVE", n - 8))
			return EBADMSG;
		return ENODATA;
	}
	if (memcmp(p, "RIFF", 4) || memcmp(p + 8, "WAVE", 4))
		return EBADMSG;

	for (off = 12; ; ) {
		uint32_t len;

		if (off > WAV_MAXHDR)
			return EBADMSG;
		if (n < 8 || off > n - 8)
			return ENODATA;

		len = get_le32(p + off + 4);

		if (!memcmp(p + off, "data", 4)) {
			if (!have_fmt)
				return EBADMSG;

			v.data_off = off + 8;
			v.data_len = len == 0 || len == UINT32_MAX ?
				UINT64_MAX : len;
			break;
		}

		if (!memcmp(p + off, "fmt ", 4) && !have_fmt) {
			if (len > WAV_MAXHDR)
				return EBADMSG;
			if (len > n - off - 8)
				return ENODATA;

			err = parse_fmt(&f, p + off + 8, len);
			if (err)
				return err;

			v.srate = f.srate;
			v.channels = f.channels;
			have_fmt = true;
		}
		else if (len > WAV_MAXHDR) {
			return EBADMSG;
		}

		/* chunks are padded to even sizes */
		off += 8 + (size_t)len + (len & 1);
	}

	*w = v;

	return 0;
}


int wav_decode(const uint8_t *buf, size_t len, int16_t **samplesp,
	       size_t *nframesp, uint32_t *sratep, unsigned *channelsp)
{
	struct fmt fmt = {0, 0};
	bool have_fmt = false, have_data = false;
	uint64_t end = len, off, data_off = 0, data_len = 0;
	int16_t *samples;
	size_t nframes, nsamp;

	if (!buf || !samplesp || !nframesp)
		return EINVAL;
	if (len < 12 || memcmp(buf, "RIFF", 4) || memcmp(buf + 8, "WAVE", 4))
		return EBADMSG;

	/* a RIFF size smaller than the buffer bounds the chunks (trailing
	 * junk is not ours); 0 or too large is a writer that never fixed
	 * its header, then the length is all we have */
	{
		uint64_t riff = (uint64_t)get_le32(buf + 4) + 8;

		if (riff >= 12 && riff < end)
			end = riff;
	}

	for (off = 12; off + 8 <= end; ) {
		const uint8_t *ch = buf + off;
		uint64_t clen = get_le32(ch + 4), avail = end - off - 8;

		if (!memcmp(ch, "fmt ", 4) && !have_fmt) {
			int err;

			if (clen > avail)
				return EBADMSG;
			err = parse_fmt(&fmt, ch + 8, clen < 40 ? (size_t)clen :
					40);
			if (err)
				return err;
			have_fmt = true;
		}
		else if (!memcmp(ch, "data", 4) && !have_data) {
			data_off  = off + 8;
			data_len  = clen < avail ? clen : avail;
			have_data = true;
		}
		if (have_fmt && have_data)
			break;

		/* chunks are padded to even sizes */
		off += 8 + clen + (clen & 1);
	}
	if (!have_fmt || !have_data)
		return EBADMSG;

	nframes = (size_t)(data_len / (fmt.channels * 2u));
	nsamp   = nframes * fmt.channels;

	/* at least one sample, so an empty file still yields a buffer */
	samples = mem_alloc((nsamp ? nsamp : 1) * sizeof(*samples), NULL);
	if (!samples)
		return ENOMEM;
	for (size_t i = 0; i < nsamp; i++)
		samples[i] = (int16_t)get_le16(buf + data_off + 2 * i);

	*samplesp = samples;
	*nframesp = nframes;
	if (sratep)
		*sratep = fmt.srate;
	if (channelsp)
		*channelsp = fmt.channels;
	return 0;
}


int wav_read(const char *path, int16_t **samplesp, size_t *nframesp,
	     uint32_t *sratep, unsigned *channelsp)
{
	uint8_t *buf = NULL;
	struct stat st;
	int fd, err;

	if (!path || !samplesp || !nframesp)
		return EINVAL;

	/* O_NONBLOCK: a FIFO must not hang us; it is refused below */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return errno;
	if (fstat(fd, &st) < 0) {
		err = errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_size < 12) {
		err = EBADMSG;
		goto out;
	}
	if ((uint64_t)st.st_size > SIZE_MAX / 2) {
		err = ENOMEM;
		goto out;
	}
	buf = mem_alloc((size_t)st.st_size, NULL);
	if (!buf) {
		err = ENOMEM;
		goto out;
	}
	err = pread_all(fd, buf, (size_t)st.st_size, 0);
	if (!err)
		err = wav_decode(buf, (size_t)st.st_size, samplesp, nframesp,
				 sratep, channelsp);
 out:
	(void)close(fd);
	mem_deref(buf);
	return err;
}
