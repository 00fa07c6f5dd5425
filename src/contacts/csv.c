/* csv.c - RFC 4180 CSV reader for contact imports.
 *
 * Uploaded spreadsheets come from Excel, Google Sheets, CRMs and people
 * typing by hand, so the reader is strict where a guess could silently
 * shift data between columns (a stray quote, a NUL, too many fields) and
 * lenient where the intent is unambiguous:
 *
 *   - CRLF, LF and a lone CR all end a line (a CR LF pair is one end);
 *   - a leading UTF-8 BOM is skipped and column numbers start after it;
 *   - empty lines are skipped; a line holding only the delimiter is a
 *     record of two empty fields;
 *   - spaces and tabs (unless one is the delimiter) between a delimiter
 *     and an opening quote, or between a closing quote and the next
 *     delimiter or line end, are dropped: `a, "b" ,c` is {a, b, c};
 *     unquoted fields keep their blanks;
 *   - the last line may lack its line end.
 *
 * One pass, no recursion: each input byte is looked at a bounded number of
 * times. All fields of a record go, NUL-terminated, into one mbuf reused
 * across records; the pointers handed to the row handler are built from
 * offsets once the record is complete, as the mbuf may move while growing.
 */

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <re.h>
#include "contacts/csv.h"

struct parser {
	const uint8_t *p;
	size_t len;
	size_t i;               /* next input byte */
	size_t line;            /* physical line of p[i] */
	size_t lstart;          /* offset of the first column of that line */
	uint8_t delim;
	struct mbuf *mb;        /* fields of the current record */
	size_t fstart;          /* mbuf offset where the current field begins */
	size_t nf;
	size_t offs[CSV_MAX_FIELDS];
	char *fields[CSV_MAX_FIELDS];
	struct csv_err *errp;
};


static int fail(struct parser *ps, size_t at, const char *msg)
{
	if (ps->errp) {
		ps->errp->msg  = msg;
		ps->errp->line = ps->line;
		ps->errp->col  = at - ps->lstart + 1;
	}

	return EBADMSG;
}


/* fail() at an earlier position whose line and line start are known */
static int fail_at(struct parser *ps, size_t line, size_t lstart, size_t at,
		   const char *msg)
{
	ps->line   = line;
	ps->lstart = lstart;

	return fail(ps, at, msg);
}


static bool is_blank(const struct parser *ps, uint8_t c)
{
	return (c == ' ' || c == '\t') && c != ps->delim;
}


static bool is_eol(uint8_t c)
{
	return c == '\r' || c == '\n';
}


/* Consume one line end (CR LF, LF or CR) at p[i]. */
static void eat_eol(struct parser *ps)
{
	if (ps->p[ps->i] == '\r' && ps->i + 1 < ps->len &&
	    ps->p[ps->i + 1] == '\n')
		++ps->i;

	++ps->i;
	++ps->line;
	ps->lstart = ps->i;
}


/* Append n input bytes starting at p[from] to the current field. */
static int append(struct parser *ps, size_t from, size_t n)
{
	size_t have = ps->mb->pos - ps->fstart;

	if (!n)
		return 0;

	if (n > CSV_MAX_FIELD - have)
		return fail(ps, from + (CSV_MAX_FIELD - have),
			    "field longer than 65536 bytes");

	return mbuf_write_mem(ps->mb, ps->p + from, n);
}


/* An unquoted field, from p[i] up to a delimiter, line end or the end.
 * A quote after nothing but blanks turns it into a quoted field:
 * *quotedp is then set and p[i] is the opening quote. */
static int unquoted(struct parser *ps, bool *quotedp)
{
	const size_t start = ps->i;
	size_t j = ps->i;
	int err;

	*quotedp = false;

	while (j < ps->len) {
		uint8_t c = ps->p[j];

		if (c == ps->delim || is_eol(c) || c == '"' || !c)
			break;
		++j;
	}

	err = append(ps, ps->i, j - ps->i);
	if (err)
		return err;

	ps->i = j;
	if (j == ps->len || ps->p[j] == ps->delim || is_eol(ps->p[j]))
		return 0;

	if (!ps->p[j])
		return fail(ps, j, "NUL byte in input");

	/* a quote: fine only after nothing but blanks */
	for (j = start; j < ps->i; j++) {
		if (!is_blank(ps, ps->p[j]))
			return fail(ps, ps->i, "quote inside unquoted field");
	}

	ps->mb->pos = ps->fstart;
	ps->mb->end = ps->fstart;
	*quotedp = true;

	return 0;
}


/* A quoted field; p[i] is the opening quote. Leaves p[i] at the
 * delimiter, line end or end of input that follows it. */
static int quoted(struct parser *ps)
{
	const size_t qline = ps->line, qlstart = ps->lstart, qpos = ps->i;
	size_t j;
	int err;

	++ps->i;

	for (;;) {
		j = ps->i;
		while (j < ps->len && ps->p[j] != '"' && ps->p[j]) {
			if (!is_eol(ps->p[j])) {
				++j;
				continue;
			}

			/* an embedded line end: write out the field so far
			 * while errors still point into this line */
			if (ps->p[j] == '\r' && j + 1 < ps->len &&
			    ps->p[j + 1] == '\n')
				++j;
			++j;

			err = append(ps, ps->i, j - ps->i);
			if (err)
				return err;

			ps->i = j;
			++ps->line;
			ps->lstart = j;
		}

		err = append(ps, ps->i, j - ps->i);
		if (err)
			return err;

		if (j == ps->len)
			return fail_at(ps, qline, qlstart, qpos,
				       "unterminated quoted field");

		if (!ps->p[j])
			return fail(ps, j, "NUL byte in input");

		/* a quote: either an escaped one or the closing one */
		if (j + 1 < ps->len && ps->p[j + 1] == '"') {
			err = append(ps, j, 1);
			if (err)
				return err;
			ps->i = j + 2;
			continue;
		}

		ps->i = j + 1;
		break;
	}

	while (ps->i < ps->len && is_blank(ps, ps->p[ps->i]))
		++ps->i;

	if (ps->i == ps->len || ps->p[ps->i] == ps->delim ||
	    is_eol(ps->p[ps->i]))
		return 0;

	if (!ps->p[ps->i])
		return fail(ps, ps->i, "NUL byte in input");

	return fail(ps, ps->i, "unexpected character after closing quote");
}


/* One record starting at p[i], which is not a line end. Consumes the
 * record's line end, if any. */
static int record(struct parser *ps)
{
	bool isq;
	int err;

	ps->mb->pos = 0;
	ps->mb->end = 0;
	ps->nf = 0;

	for (;;) {
		ps->fstart = ps->mb->pos;

		if (ps->i < ps->len && ps->p[ps->i] == '"') {
			isq = true;
		}
		else {
			err = unquoted(ps, &isq);
			if (err)
				return err;
		}

		if (isq) {
			err = quoted(ps);
			if (err)
				return err;
		}

		err = mbuf_write_u8(ps->mb, 0);
		if (err)
			return err;

		ps->offs[ps->nf++] = ps->fstart;

		if (ps->i == ps->len)
			return 0;

		if (is_eol(ps->p[ps->i])) {
			eat_eol(ps);
			return 0;
		}

		/* a delimiter */
		if (ps->nf == CSV_MAX_FIELDS)
			return fail(ps, ps->i, "too many fields (max 256)");

		++ps->i;
	}
}


int csv_parse(const char *buf, size_t len, char delim, csv_row_h *rowh,
	      void *arg, struct csv_err *errp)
{
	struct parser *ps;
	size_t k;
	int err = 0;

	if ((!buf && len) || !rowh || !delim || delim == '"' ||
	    delim == '\r' || delim == '\n')
		return EINVAL;

	/* ~4 KiB of offsets and pointers: keep them off the stack */
	ps = mem_zalloc(sizeof(*ps), NULL);
	if (!ps)
		return ENOMEM;

	ps->p     = (const uint8_t *)buf;
	ps->len   = len;
	ps->line  = 1;
	ps->delim = (uint8_t)delim;
	ps->errp  = errp;

	ps->mb = mbuf_alloc(256);
	if (!ps->mb) {
		err = ENOMEM;
		goto out;
	}

	if (len >= 3 && !memcmp(buf, "\xef\xbb\xbf", 3)) {
		ps->i      = 3;
		ps->lstart = 3;
	}

	while (ps->i < ps->len) {
		size_t lineno;

		if (is_eol(ps->p[ps->i])) {
			eat_eol(ps);
			continue;
		}

		lineno = ps->line;

		err = record(ps);
		if (err)
			goto out;

		for (k = 0; k < ps->nf; k++)
			ps->fields[k] = (char *)ps->mb->buf + ps->offs[k];

		err = rowh(lineno, ps->fields, ps->nf, arg);
		if (err)
			goto out;
	}

 out:
	mem_deref(ps->mb);
	mem_deref(ps);

	return err;
}
