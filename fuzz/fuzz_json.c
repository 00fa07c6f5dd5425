/* fuzz_json.c - libFuzzer target for src/json/json.c.
 *
 * Property checked (abort() on violation), beyond "does not crash":
 *  - a failed parse returns EBADMSG, leaves *op untouched and reports a
 *    message with an offset inside the input and a sane line/column;
 *  - a successful parse encodes to JSON that parses again to the same
 *    top-level type and encodes byte-identically (encoding is a fixed
 *    point). The encoding must itself pass the strict parser;
 *  - every proper prefix of a valid document (up to its last
 *    non-whitespace byte) fails with "unexpected end of input" at exactly
 *    the prefix length: no other error may be reported for input that a
 *    longer text would make valid. Prefixes are parsed from exact-size
 *    heap copies so ASan catches any read past len.
 */
#include <re.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "json/json.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static int encode(char **strp, const struct odict *o, int type)
{
	if (type == ODICT_ARRAY)
		return re_sdprintf(strp, "%H", json_print_array, o);

	return json_encode(strp, o);
}


static void check_err(const struct json_err *err, const uint8_t *data,
		      size_t size)
{
	size_t i, line = 1;

	if (!err->msg || !err->msg[0] || err->offset > size)
		abort();

	for (i = 0; i < err->offset; i++) {
		if (data[i] == '\n')
			++line;
	}

	if (err->line != line || err->col < 1 || err->col > err->offset + 1)
		abort();
}


static bool is_ws(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}


static void check_prefix(const uint8_t *data, size_t n)
{
	struct odict *o = NULL;
	struct json_err err;
	char *copy;

	copy = malloc(n ? n : 1);
	if (!copy)
		abort();
	memcpy(copy, data, n);

	if (json_parse(&o, NULL, copy, n, &err) != EBADMSG || o)
		abort();
	if (strcmp(err.msg, "unexpected end of input") || err.offset != n)
		abort();

	free(copy);
}


static void check_prefixes(const uint8_t *data, size_t size)
{
	size_t end = size, n, step;

	while (end > 0 && is_ws(data[end - 1]))
		--end;

	/* all prefixes of small inputs, about 256 spread over large ones */
	step = end <= 512 ? 1 : end / 256;
	for (n = 0; n < end; n += step)
		check_prefix(data, n);
	if (end > 0)
		check_prefix(data, end - 1);
}


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct odict *o = NULL, *o2 = NULL;
	struct json_err err;
	char *enc = NULL, *enc2 = NULL;
	int type = -1, type2 = -1;
	int r;

	r = json_parse(&o, &type, (const char *)data, size, &err);
	if (r) {
		if (r != EBADMSG || o)
			abort();
		check_err(&err, data, size);
		if (!strcmp(err.msg, "unexpected end of input") &&
		    err.offset != size)
			abort();
		return 0;
	}

	if (type != ODICT_OBJECT && type != ODICT_ARRAY)
		abort();

	if (encode(&enc, o, type))
		abort();

	if (json_parse(&o2, &type2, enc, strlen(enc), &err))
		abort();

	if (type2 != type)
		abort();

	if (encode(&enc2, o2, type2))
		abort();

	if (strcmp(enc, enc2))
		abort();

	check_prefixes(data, size);

	mem_deref(enc2);
	mem_deref(enc);
	mem_deref(o2);
	mem_deref(o);

	return 0;
}
