/* recording.c - GET /api/v1/calls/{id}/recording[?format=wav|mp3]: the
 * call's recording, this tenant's only, with single byte-range requests
 * (players seek with them). The WAV (stereo: caller or callee left, agent
 * right) exists from the answer on and is playable at every moment; the
 * MP3 of the mix is made after the call, or here when it is missing (a
 * node that died before making it). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <re.h>
#include "api/api.h"
#include "api/handlers.h"
#include "audio/mp3.h"
#include "audio/recording.h"
#include "config/config.h"
#include "store/db.h"

enum { MAX_BODY = 256 << 20 };

/* "bytes=a-b", "bytes=a-", "bytes=-n" within size; EINVAL: not a single
 * range we serve (the whole file is sent then); ERANGE: unsatisfiable */
static int parse_range(const struct pl *v, uint64_t size, uint64_t *a,
		       uint64_t *b)
{
	struct pl from, to;

	if (re_regex(v->p, v->l, "bytes=[0-9]*-[0-9]*", &from, &to) ||
	    pl_strchr(v, ','))
		return EINVAL;
	if (!pl_isset(&from) && !pl_isset(&to))
		return EINVAL;
	if (!pl_isset(&from)) {           /* the last n bytes */
		uint64_t n = pl_u64(&to);
		if (!n || !size)
			return ERANGE;
		*a = n >= size ? 0 : size - n;
		*b = size - 1;
		return 0;
	}
	*a = pl_u64(&from);
	*b = pl_isset(&to) ? pl_u64(&to) : size - 1;
	if (*a >= size || *b < *a)
		return ERANGE;
	if (*b >= size)
		*b = size - 1;
	return 0;
}

int call_recording(struct areq *r)
{
	static const char *const known[] = {"format", NULL};
	struct db_val p[] = {DBV_INT(r->ids[0]), DBV_INT(r->tenant_id)};
	const struct http_hdr *range;
	struct db_res *rows = NULL;
	char fmt[8] = "wav", path[512], wav[512];
	uint64_t size, a = 0, b = 0;
	bool mp3, ended, partial = false;
	struct stat st;
	int fd = -1, err;

	if (api_query_check(r, known))
		return 0;
	if (api_query(r, "format", fmt, sizeof(fmt)) &&
	    strcmp(fmt, "wav") && strcmp(fmt, "mp3"))
		return api_error(r, 400, "invalid_query", "format",
				 "format must be wav or mp3");
	mp3 = !strcmp(fmt, "mp3");

	err = db_exec(r->db, &rows, "SELECT campaign_id, agent_id, status "
		      "FROM calls WHERE id = ? AND tenant_id = ?", p, 2);
	if (err)
		return api_error_db(r, err, "call");
	if (!db_res_nrows(rows)) {
		mem_deref(rows);
		return api_error(r, 404, "not_found", NULL,
				 "call %lld not found", (long long)r->ids[0]);
	}
	ended = !strcmp(db_res_str(rows, 0, 2), "ended");
	err = recording_path(wav, sizeof(wav), api_config(r->api)->
			     recordings_dir, db_res_int(rows, 0, 0),
			     db_res_int(rows, 0, 1), r->ids[0],
			     "recording.wav");
	if (!err)
		err = recording_path(path, sizeof(path),
				     api_config(r->api)->recordings_dir,
				     db_res_int(rows, 0, 0),
				     db_res_int(rows, 0, 1), r->ids[0],
				     mp3 ? "recording.mp3" : "recording.wav");
	mem_deref(rows);
	if (err)
		return api_error(r, 500, "internal", NULL,
				 "recordings.dir is too long");

	if (mp3 && stat(path, &st) && !stat(wav, &st)) {
		if (!ended)
			return api_error(r, 409, "recording_in_progress",
					 "format", "the MP3 is made when the "
					 "call ends; the WAV is available now");
		err = mp3_from_wav(wav, path);
		if (err)
			return api_error(r, 500, "internal", NULL,
					 "the MP3 could not be made (%s)",
					 strerror(err));
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		if (fd >= 0)
			close(fd);
		return api_error(r, 404, "no_recording", NULL,
				 "call %lld has no recording",
				 (long long)r->ids[0]);
	}
	size = (uint64_t)st.st_size;
	b = size ? size - 1 : 0;

	range = http_msg_hdr(r->msg, HTTP_HDR_RANGE);
	if (range) {
		err = parse_range(&range->val, size, &a, &b);
		if (err == ERANGE) {
			close(fd);
			re_snprintf(r->xhdrs, sizeof(r->xhdrs),
				    "Content-Range: bytes */%llu\r\n",
				    (unsigned long long)size);
			return api_error(r, 416, "range_not_satisfiable",
					 NULL, "the recording has %llu bytes",
					 (unsigned long long)size);
		}
		partial = !err;
		if (!partial) {
			a = 0;
			b = size ? size - 1 : 0;
		}
	}
	if (size && b - a + 1 > MAX_BODY) {
		close(fd);
		return api_error(r, 413, "too_large", NULL,
				 "ask for at most %u bytes at a time (Range)",
				 MAX_BODY);
	}

	r->resp = mem_deref(r->resp);
	r->resp = mbuf_alloc(size ? (size_t)(b - a + 1) : 1);
	err = r->resp ? 0 : ENOMEM;
	for (uint64_t off = a; !err && size && off <= b; ) {
		ssize_t n = pread(fd, r->resp->buf + (off - a),
				  (size_t)(b - off + 1), (off_t)off);
		if (n <= 0)
			err = n < 0 ? errno : EIO;
		else
			off += (uint64_t)n;
	}
	close(fd);
	if (err) {
		r->resp = mem_deref(r->resp);
		return api_error(r, 500, "internal", NULL,
				 "the recording could not be read (%s)",
				 strerror(err));
	}
	r->resp->end = size ? (size_t)(b - a + 1) : 0;
	r->status = partial ? 206 : 200;
	r->ctype = mp3 ? "audio/mpeg" : "audio/wav";
	if (partial)
		re_snprintf(r->xhdrs, sizeof(r->xhdrs), "Accept-Ranges: bytes"
			    "\r\nContent-Range: bytes %llu-%llu/%llu\r\n",
			    (unsigned long long)a, (unsigned long long)b,
			    (unsigned long long)size);
	else
		re_snprintf(r->xhdrs, sizeof(r->xhdrs),
			    "Accept-Ranges: bytes\r\n");
	return 0;
}
