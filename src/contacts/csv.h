/* csv.h - RFC 4180 CSV reader for contact imports.
 *
 * Accepts ',' (or a given delimiter), CRLF or LF line ends, quoted fields
 * with "" escapes and embedded line breaks, a leading UTF-8 BOM, and a
 * missing final line end. Blank lines are skipped. Syntax errors stop the
 * parse with the line and column where they occur.
 */
#ifndef PARLEY_CSV_H
#define PARLEY_CSV_H

#include <stddef.h>

enum {
	CSV_MAX_FIELDS = 256,
	CSV_MAX_FIELD  = 65536,   /* bytes in one field */
};

struct csv_err {
	const char *msg;    /* static text, e.g. "unterminated quoted field" */
	size_t line;        /* 1-based physical line */
	size_t col;         /* 1-based byte column */
};

/**
 * Called once per record. fields[i] are NUL-terminated, valid only during
 * the call. lineno is the physical line where the record starts. Return
 * non-zero to stop parsing (csv_parse returns that value).
 */
typedef int (csv_row_h)(size_t lineno, char * const *fields, size_t nfields,
			void *arg);

/** Returns 0, EBADMSG (syntax; *errp set), ENOMEM or the handler's value. */
int csv_parse(const char *buf, size_t len, char delim, csv_row_h *rowh,
	      void *arg, struct csv_err *errp);

#endif
