/* json.h - strict JSON (RFC 8259) to and from libre's odict.
 *
 * libre 1.1.0's json_decode_odict() accepts trailing commas and garbage,
 * wraps oversized integers and truncates strings at \u0000, so request
 * bodies go through this parser instead. Objects and arrays become
 * ODICT_OBJECT / ODICT_ARRAY odicts (array keys "0", "1", ... as libre
 * does); integers that fit int64 become ODICT_INT, other numbers
 * ODICT_DOUBLE.
 */
#ifndef PARLEY_JSON_H
#define PARLEY_JSON_H

#include <stddef.h>
#include <stdint.h>

struct odict;
struct re_printf;

enum { JSON_MAX_DEPTH = 32 };

/** Where and why parsing failed. msg is a static string. */
struct json_err {
	const char *msg;     /* e.g. "expected ':' after object key" */
	size_t offset;       /* byte offset of the problem */
	unsigned line, col;  /* 1-based */
};

/**
 * Parse a complete JSON text whose top-level value is an object or array
 * (*typep set to ODICT_OBJECT or ODICT_ARRAY when typep is not NULL).
 * Rejects: trailing data, duplicate keys, invalid UTF-8, lone surrogates,
 * \u0000, control characters in strings, depth > JSON_MAX_DEPTH,
 * leading zeros, non-finite numbers. Returns 0 or EBADMSG with *errp set.
 */
int json_parse(struct odict **op, int *typep, const char *str, size_t len,
	       struct json_err *errp);

/** Encode an odict object as compact JSON (for re_hprintf's %H). */
int json_print(struct re_printf *pf, const struct odict *o);
/** Encode an odict array as compact JSON. */
int json_print_array(struct re_printf *pf, const struct odict *arr);
/** Encode one string with JSON escaping, including the quotes. */
int json_print_str(struct re_printf *pf, const char *s);

/** Encode to a new mem-allocated NUL-terminated string. */
int json_encode(char **strp, const struct odict *o);

#endif
