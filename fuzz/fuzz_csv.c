/* fuzz_csv.c - libFuzzer target for src/contacts/csv.c.
 *
 * Each input is parsed twice, with ',' and with '\t' as the delimiter.
 * Properties checked (abort() on violation), beyond "does not crash":
 *  - csv_parse returns 0 or EBADMSG, nothing else;
 *  - an error names one of the documented messages, and its line and
 *    column point at a byte inside the input (or just past its end) that
 *    fits the message: the NUL, the stray or opening quote, the delimiter
 *    that starts one field too many, the byte after a closing quote;
 *  - every record has 1..CSV_MAX_FIELDS fields of at most CSV_MAX_FIELD
 *    bytes and no NUL, and records start on increasing lines;
 *  - the records, written back out per RFC 4180 (fields quoted where
 *    needed), parse again to exactly the same records;
 *  - a handler's non-zero return stops the parse with that value.
 */
#include <re.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "contacts/csv.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


struct state {
	char delim;
	struct mbuf *csv;       /* the records re-serialised */
	struct mbuf *flat;      /* the records: nfields, then len + bytes */
	size_t rows;
	size_t lastline;
	size_t stop_at;
};


static bool needs_quotes(const char *f, size_t len, size_t nfields,
			 char delim)
{
	if (!len)
		return nfields == 1;    /* else a blank line, skipped */

	/* a leading BOM byte could turn into a skipped BOM */
	if ((uint8_t)f[0] == 0xef)
		return true;

	return memchr(f, delim, len) || memchr(f, '"', len) ||
		memchr(f, '\r', len) || memchr(f, '\n', len);
}


static int write_field(struct mbuf *mb, const char *f, size_t len,
		       bool quote)
{
	const char *q;
	size_t n;
	int err = 0;

	if (!quote)
		return len ? mbuf_write_mem(mb, (const uint8_t *)f, len) : 0;

	err |= mbuf_write_u8(mb, '"');
	while (len && !err) {
		/* up to and including the next quote, which is doubled */
		q = memchr(f, '"', len);
		n = q ? (size_t)(q - f) + 1 : len;

		err |= mbuf_write_mem(mb, (const uint8_t *)f, n);
		if (q)
			err |= mbuf_write_u8(mb, '"');
		f += n;
		len -= n;
	}
	err |= mbuf_write_u8(mb, '"');

	return err;
}


static void check_record(struct state *st, size_t lineno,
			 char * const *fields, size_t n)
{
	size_t i;

	if (n < 1 || n > CSV_MAX_FIELDS || !fields)
		abort();
	if (lineno < 1 || lineno <= st->lastline)
		abort();
	st->lastline = lineno;

	for (i = 0; i < n; i++) {
		if (!fields[i] || strlen(fields[i]) > CSV_MAX_FIELD)
			abort();
	}
}


static int first_row(size_t lineno, char * const *fields, size_t n,
		     void *arg)
{
	struct state *st = arg;
	uint32_t v;
	size_t i;
	int err = 0;

	check_record(st, lineno, fields, n);
	++st->rows;

	v = (uint32_t)n;
	err |= mbuf_write_mem(st->flat, (uint8_t *)&v, sizeof(v));

	for (i = 0; i < n; i++) {
		size_t len = strlen(fields[i]);

		v = (uint32_t)len;
		err |= mbuf_write_mem(st->flat, (uint8_t *)&v, sizeof(v));
		err |= mbuf_write_mem(st->flat, (uint8_t *)fields[i], len);

		if (i)
			err |= mbuf_write_u8(st->csv, (uint8_t)st->delim);
		err |= write_field(st->csv, fields[i], len,
				   needs_quotes(fields[i], len, n, st->delim));
	}

	err |= mbuf_write_str(st->csv, (st->rows & 1) ? "\r\n" : "\n");

	return err;
}


static int second_row(size_t lineno, char * const *fields, size_t n,
		      void *arg)
{
	struct state *st = arg;
	uint32_t v;
	size_t i;

	check_record(st, lineno, fields, n);
	++st->rows;

	if (mbuf_get_left(st->flat) < sizeof(v))
		abort();
	memcpy(&v, mbuf_buf(st->flat), sizeof(v));
	mbuf_advance(st->flat, sizeof(v));
	if (v != n)
		abort();

	for (i = 0; i < n; i++) {
		size_t len = strlen(fields[i]);

		if (mbuf_get_left(st->flat) < sizeof(v))
			abort();
		memcpy(&v, mbuf_buf(st->flat), sizeof(v));
		mbuf_advance(st->flat, sizeof(v));
		if (v != len || mbuf_get_left(st->flat) < len ||
		    memcmp(mbuf_buf(st->flat), fields[i], len))
			abort();
		mbuf_advance(st->flat, (int)len);
	}

	return 0;
}


static int stop_row(size_t lineno, char * const *fields, size_t n,
		    void *arg)
{
	struct state *st = arg;

	return ++st->rows == st->stop_at ? 77 : 0;
}


static bool is_eol(uint8_t c)
{
	return c == '\r' || c == '\n';
}


/* The byte offset of 1-based line:col, by the parser's line rules. */
static size_t offset_of(const uint8_t *p, size_t len, size_t line,
			size_t col)
{
	size_t i = 0, l = 1;

	if (len >= 3 && !memcmp(p, "\xef\xbb\xbf", 3))
		i = 3;

	while (l < line) {
		while (i < len && !is_eol(p[i]))
			++i;
		if (i == len)
			abort();        /* no such line */
		if (p[i] == '\r' && i + 1 < len && p[i + 1] == '\n')
			++i;
		++i;
		++l;
	}

	if (col < 1)
		abort();

	return i + col - 1;
}


static void check_err(const uint8_t *p, size_t len, char delim,
		      const struct csv_err *e)
{
	size_t off;

	if (!e->msg || e->line < 1)
		abort();

	off = offset_of(p, len, e->line, e->col);
	if (off > len)
		abort();

	if (!strcmp(e->msg, "NUL byte in input")) {
		if (off == len || p[off])
			abort();
	}
	else if (!strcmp(e->msg, "quote inside unquoted field") ||
		 !strcmp(e->msg, "unterminated quoted field")) {
		if (off == len || p[off] != '"')
			abort();
	}
	else if (!strcmp(e->msg, "too many fields (max 256)")) {
		if (off == len || p[off] != (uint8_t)delim)
			abort();
	}
	else if (!strcmp(e->msg,
			 "unexpected character after closing quote")) {
		if (off == len || p[off] == (uint8_t)delim || is_eol(p[off]) ||
		    !p[off] || p[off] == ' ' || p[off] == '\t')
			abort();
	}
	else if (!strcmp(e->msg, "field longer than 65536 bytes")) {
		if (off == len)
			abort();
	}
	else {
		abort();
	}
}


static void run(const uint8_t *data, size_t size, char delim)
{
	struct state st;
	struct csv_err e = {NULL, 0, 0};
	int err;

	memset(&st, 0, sizeof(st));
	st.delim = delim;
	st.csv   = mbuf_alloc(size + 64);
	st.flat  = mbuf_alloc(size + 64);
	if (!st.csv || !st.flat)
		abort();

	err = csv_parse((const char *)data, size, delim, first_row, &st, &e);
	if (err == EBADMSG)
		check_err(data, size, delim, &e);
	else if (err)
		abort();

	/* the records so far, re-serialised, parse to the same records */
	{
		struct csv_err e2 = {NULL, 0, 0};
		size_t rows = st.rows;

		st.rows = 0;
		st.lastline = 0;
		mbuf_set_pos(st.flat, 0);

		err = csv_parse((const char *)st.csv->buf, st.csv->end, delim,
				second_row, &st, &e2);
		if (err || st.rows != rows || mbuf_get_left(st.flat))
			abort();

		if (rows >= 2) {
			st.rows = 0;
			st.stop_at = 2;
			err = csv_parse((const char *)st.csv->buf,
					st.csv->end, delim, stop_row, &st,
					NULL);
			if (err != 77 || st.rows != 2)
				abort();
		}
	}

	mem_deref(st.csv);
	mem_deref(st.flat);
}


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* an exact-size heap copy, so ASan sees any read past size */
	uint8_t *copy = malloc(size ? size : 1);

	if (!copy)
		abort();
	if (size)
		memcpy(copy, data, size);

	run(copy, size, ',');
	run(copy, size, '\t');

	free(copy);

	return 0;
}
