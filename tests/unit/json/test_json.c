/* test_json.c - unit tests for the strict JSON parser/encoder. */
#include "test.h"
#include <math.h>
#include <stdint.h>
#include "json/json.h"


/* Parse s (len bytes); on success encode it back (array or object) */
static int parse_enc(char **encp, int *typep, const char *s, size_t len,
		     struct json_err *err)
{
	struct odict *o = NULL;
	int type = -1, r;

	r = json_parse(&o, &type, s, len, err);
	if (r)
		return r;

	if (type == ODICT_ARRAY)
		r = re_sdprintf(encp, "%H", json_print_array, o);
	else
		r = json_encode(encp, o);

	if (typep)
		*typep = type;

	mem_deref(o);
	return r;
}


/* Returns the encoding of s (static buffer) or "ERR: msg @offset" */
static const char *rt(const char *s)
{
	static char buf[4096];
	struct json_err err;
	char *enc = NULL;
	int r;

	r = parse_enc(&enc, NULL, s, strlen(s), &err);
	if (r) {
		snprintf(buf, sizeof(buf), "ERR: %s @%zu", err.msg,
			 err.offset);
		return buf;
	}

	snprintf(buf, sizeof(buf), "%s", enc);
	mem_deref(enc);
	return buf;
}


/* Expect s (len bytes) to fail with msg at offset */
static int fails(const char *s, size_t len, const char *msg, size_t offset)
{
	struct odict *o = NULL;
	struct json_err err;
	int r;

	r = json_parse(&o, NULL, s, len, &err);
	if (r != EBADMSG || o) {
		fprintf(stderr, "  [%.*s] unexpectedly parsed\n", (int)len, s);
		mem_deref(o);
		return 0;
	}
	if (!err.msg || strcmp(err.msg, msg) || err.offset != offset) {
		fprintf(stderr, "  [%.*s]: got \"%s\" @%zu, want \"%s\" @%zu\n",
			(int)len, s, err.msg ? err.msg : "(null)", err.offset,
			msg, offset);
		return 0;
	}
	return 1;
}

#define FAILS(s, msg, off) CHECK(fails(s, strlen(s), msg, off))
#define FAILS_N(s, msg, off) CHECK(fails(s, sizeof(s) - 1, msg, off))


static const struct odict_entry *get(const struct odict *o, const char *k)
{
	return odict_lookup(o, k);
}


TEST(types)
{
	const char *s = "{\"s\":\"x\",\"i\":-42,\"d\":2.5,\"t\":true,"
		"\"f\":false,\"n\":null,\"o\":{\"k\":1},\"a\":[1,\"two\"]}";
	struct odict *o = NULL;
	const struct odict_entry *e;
	int type = -1;

	CHECK_EQ_INT(json_parse(&o, &type, s, strlen(s), NULL), 0);
	CHECK_EQ_INT(type, ODICT_OBJECT);

	e = get(o, "s");
	CHECK(e && e->type == ODICT_STRING);
	CHECK_STR(e->u.str, "x");
	e = get(o, "i");
	CHECK(e && e->type == ODICT_INT && e->u.integer == -42);
	e = get(o, "d");
	CHECK(e && e->type == ODICT_DOUBLE && e->u.dbl == 2.5);
	e = get(o, "t");
	CHECK(e && e->type == ODICT_BOOL && e->u.boolean);
	e = get(o, "f");
	CHECK(e && e->type == ODICT_BOOL && !e->u.boolean);
	e = get(o, "n");
	CHECK(e && e->type == ODICT_NULL);
	e = get(o, "o");
	CHECK(e && e->type == ODICT_OBJECT);
	CHECK(get(e->u.odict, "k") && get(e->u.odict, "k")->u.integer == 1);
	e = get(o, "a");
	CHECK(e && e->type == ODICT_ARRAY);
	CHECK_EQ_INT(odict_count(e->u.odict, false), 2);
	CHECK(get(e->u.odict, "1") && get(e->u.odict, "1")->type ==
	      ODICT_STRING);

	mem_deref(o);
}


TEST(array_keys)
{
	const char *s = "[10, 11, [], {}, 14, 15, 16, 17, 18, 19, 20, 21]";
	struct odict *o = NULL;
	struct le *le;
	int type = -1, i = 0;

	CHECK_EQ_INT(json_parse(&o, &type, s, strlen(s), NULL), 0);
	CHECK_EQ_INT(type, ODICT_ARRAY);
	CHECK_EQ_INT(odict_count(o, false), 12);

	for (le = list_head(&o->lst); le; le = le->next, i++) {
		const struct odict_entry *e = le->data;
		char key[8];

		snprintf(key, sizeof(key), "%d", i);
		if (strcmp(e->key, key)) {
			mem_deref(o);
			CHECK_STR(e->key, key);
		}
	}
	CHECK(get(o, "2")->type == ODICT_ARRAY);
	CHECK(get(o, "3")->type == ODICT_OBJECT);
	CHECK(get(o, "11")->u.integer == 21);

	mem_deref(o);
}


TEST(round_trip)
{
	static const char *canon[] = {
		"{}",
		"[]",
		"[[]]",
		"[{}]",
		"{\"a\":{\"b\":{\"c\":[]}}}",
		"{\"name\":\"Support\",\"language\":\"en-US\",\"llm\":"
			"{\"provider\":\"openai\",\"temperature\":0.7}}",
		"[{\"name\":\"Ann\",\"phone\":\"+4915112345678\"},"
			"{\"name\":\"Bob\",\"tags\":[\"vip\",\"de\"]}]",
		"[1,-1,0,1.5,-0.0,100.0,1e+300,0.30000000000000004,null,"
			"true,false,\"\"]",
		"{\"z\":1,\"a\":2,\"m\":3}",
		"[\"\\\"\\\\/\\b\\f\\n\\r\\t\\u0001\\u001f\x7f\"]",
		"[\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"]",
	};
	size_t i;

	for (i = 0; i < sizeof(canon) / sizeof(canon[0]); i++)
		CHECK_STR(rt(canon[i]), canon[i]);

	/* non-canonical input */
	CHECK_STR(rt(" \t\r\n{ \"a\" : [ 1 , 2 ] , \"b\":{ } }\r\n"),
		  "{\"a\":[1,2],\"b\":{}}");
	CHECK_STR(rt("[1E2, 1e-2, 2.50, 0.0, -0, 1E+2]"),
		  "[100.0,0.01,2.5,0.0,0,100.0]");
	CHECK_STR(rt("[\"\\/\\u0041\\u00E9\"]"), "[\"/A\xc3\xa9\"]");
}


TEST(escapes)
{
	const char *s = "[\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u0041\\u00e9"
		"\\u20ac\\ud83d\\ude00\\uDBFF\\uDFFF\"]";
	struct odict *o = NULL;
	const struct odict_entry *e;

	CHECK_EQ_INT(json_parse(&o, NULL, s, strlen(s), NULL), 0);
	e = get(o, "0");
	CHECK(e && e->type == ODICT_STRING);
	if (strcmp(e->u.str, "\"\\/\b\f\n\r\tA\xc3\xa9\xe2\x82\xac"
		   "\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf")) {
		mem_deref(o);
		CHECK(0);
	}
	mem_deref(o);

	CHECK_STR(rt("[\"\\ud83d\\ude00\"]"), "[\"\xf0\x9f\x98\x80\"]");

	FAILS("[\"\\x\"]", "invalid escape", 2);
	FAILS("[\"ab\\'\"]", "invalid escape", 4);
	FAILS("[\"\\u12g4\"]", "invalid escape", 2);
	FAILS("[\"\\u12\"]", "invalid escape", 2);
	FAILS("[\"\\u12", "unexpected end of input", 6);
	FAILS("[\"\\", "unexpected end of input", 3);
	FAILS("[\"a\\u0000b\"]", "\\u0000 is not allowed in strings", 3);
	FAILS("{\"\\u0000\":1}", "\\u0000 is not allowed in strings", 2);
}


TEST(surrogates)
{
	FAILS("[\"\\ud800\"]", "lone surrogate in \\u escape", 2);
	FAILS("[\"\\udc00\"]", "lone surrogate in \\u escape", 2);
	FAILS("[\"\\udfff\\ud800\"]", "lone surrogate in \\u escape", 2);
	FAILS("[\"x\\ud800\\u0041\"]", "lone surrogate in \\u escape", 3);
	FAILS("[\"\\ud800\\ud800\"]", "lone surrogate in \\u escape", 2);
	FAILS("[\"\\ud800x\"]", "lone surrogate in \\u escape", 2);
	FAILS("[\"\\ud800\\n\"]", "lone surrogate in \\u escape", 2);
	FAILS("[\"\\ud800\\uzzzz\"]", "invalid escape", 8);
	FAILS("[\"\\ud800", "unexpected end of input", 8);
	FAILS("[\"\\ud800\\", "unexpected end of input", 9);
	FAILS("[\"\\ud800\\udc", "unexpected end of input", 12);
}


TEST(utf8)
{
	/* valid: 2/3/4-byte, U+10FFFF, DEL */
	CHECK_STR(rt("[\"\xc2\x80\xef\xbf\xbf\xf4\x8f\xbf\xbf\x7f\"]"),
		  "[\"\xc2\x80\xef\xbf\xbf\xf4\x8f\xbf\xbf\x7f\"]");

	FAILS("[\"\xc0\x80\"]", "invalid UTF-8 in string", 2);  /* overlong */
	FAILS("[\"\xc1\xbf\"]", "invalid UTF-8 in string", 2);
	FAILS("[\"\xe0\x80\x80\"]", "invalid UTF-8 in string", 2);
	FAILS("[\"ab\xf0\x80\x80\x80\"]", "invalid UTF-8 in string", 4);
	FAILS("[\"\xed\xa0\x80\"]", "invalid UTF-8 in string", 2); /* D800 */
	FAILS("[\"\xed\xbf\xbf\"]", "invalid UTF-8 in string", 2); /* DFFF */
	FAILS("[\"\xf4\x90\x80\x80\"]", "invalid UTF-8 in string", 2);
	FAILS("[\"\xf5\x80\x80\x80\"]", "invalid UTF-8 in string", 2);
	FAILS("[\"\xff\"]", "invalid UTF-8 in string", 2);
	FAILS("[\"\x80\"]", "invalid UTF-8 in string", 2);  /* stray cont. */
	FAILS("[\"\xe2\x82\"]", "invalid UTF-8 in string", 2); /* truncated */
	FAILS("[\"\xe2\x82x\"]", "invalid UTF-8 in string", 2);
	FAILS("[\"\xf0\x9f\x98\"]", "invalid UTF-8 in string", 2);
	FAILS("[\"\xf0\x9f\x98", "unexpected end of input", 5);
	FAILS("{\"k\xc3\":1}", "invalid UTF-8 in string", 3);  /* in key */

	/* outside strings: not a value */
	FAILS("[\xc3\xa9]", "expected a JSON value", 1);
	FAILS("\xef\xbb\xbf{}", "top-level value must be an object or array",
	      0);
}


TEST(control_chars)
{
	FAILS("[\"a\tb\"]", "control character in string", 3);
	FAILS("[\"a\nb\"]", "control character in string", 3);
	FAILS("[\"\x1f\"]", "control character in string", 2);
	FAILS("{\"\x01\":1}", "control character in string", 2);
}


TEST(nul_bytes)
{
	FAILS_N("{\0}", "expected object key or '}'", 1);
	FAILS_N("[\"a\0b\"]", "control character in string", 3);
	FAILS_N("{}\0", "trailing data after JSON value", 2);
	FAILS_N("\0", "top-level value must be an object or array", 0);
	FAILS_N("[1\0]", "expected ',' or ']' after array element", 2);
	FAILS_N("[t\0ue]", "invalid literal", 1);
}


TEST(empty_and_top_level)
{
	struct odict *o = NULL;
	struct json_err err;

	CHECK_EQ_INT(json_parse(&o, NULL, NULL, 0, &err), EBADMSG);
	CHECK(o == NULL);
	CHECK_STR(err.msg, "unexpected end of input");
	CHECK_EQ_INT(err.offset, 0);
	CHECK_EQ_INT(err.line, 1);
	CHECK_EQ_INT(err.col, 1);

	CHECK_EQ_INT(json_parse(NULL, NULL, "{}", 2, &err), EINVAL);

	FAILS("", "unexpected end of input", 0);
	FAILS(" \n\t ", "unexpected end of input", 4);
	FAILS("\"x\"", "top-level value must be an object or array", 0);
	FAILS("  42", "top-level value must be an object or array", 2);
	FAILS("null", "top-level value must be an object or array", 0);
	FAILS("\f{}", "top-level value must be an object or array", 0);
	FAILS("{} x", "trailing data after JSON value", 3);
	FAILS("{}{}", "trailing data after JSON value", 2);
	FAILS("[]]", "trailing data after JSON value", 2);
	FAILS("[] \f", "trailing data after JSON value", 3);

	/* len bounds the input: the garbage after it is not seen */
	CHECK_EQ_INT(json_parse(&o, NULL, "{}garbage", 2, NULL), 0);
	CHECK(o != NULL);
	mem_deref(o);
}


TEST(structure_errors)
{
	FAILS("{", "unexpected end of input", 1);
	FAILS("[", "unexpected end of input", 1);
	FAILS("[1", "unexpected end of input", 2);
	FAILS("[1,", "unexpected end of input", 3);
	FAILS("{\"a\"", "unexpected end of input", 4);
	FAILS("{\"a\":", "unexpected end of input", 5);
	FAILS("{\"a\":1", "unexpected end of input", 6);
	FAILS("{\"a\":1,", "unexpected end of input", 7);
	FAILS("{\"a", "unexpected end of input", 3);
	FAILS("{\"a\" 1}", "expected ':' after object key", 5);
	FAILS("{\"a\":1 \"b\":2}", "expected ',' or '}' after object member",
	      7);
	FAILS("{\"a\":1]", "expected ',' or '}' after object member", 6);
	FAILS("[1 2]", "expected ',' or ']' after array element", 3);
	FAILS("[1}", "expected ',' or ']' after array element", 2);
	FAILS("{\"a\":1,}", "trailing comma in object", 6);
	FAILS("[1,]", "trailing comma in array", 2);
	FAILS("[1, \n]", "trailing comma in array", 2);
	FAILS("{1:2}", "expected object key or '}'", 1);
	FAILS("{'a':2}", "expected object key or '}'", 1);
	FAILS("{\"a\":1,2}", "expected object key after ','", 7);
	FAILS("{,}", "expected object key or '}'", 1);
	FAILS("[,1]", "expected a JSON value", 1);
	FAILS("[1,,2]", "expected a JSON value", 3);
	FAILS("{\"a\":}", "expected a JSON value", 5);
	FAILS("[tru]", "invalid literal", 1);
	FAILS("[True]", "expected a JSON value", 1);
	FAILS("[nul", "unexpected end of input", 4);
	FAILS("[nulL]", "invalid literal", 1);
	FAILS("[truex]", "expected ',' or ']' after array element", 5);
	FAILS("[NaN]", "expected a JSON value", 1);
	FAILS("[undefined]", "expected a JSON value", 1);
}


TEST(line_col)
{
	const char *s = "{\n  \"a\": 1,\n  \"a\": 2\n}";
	struct odict *o = NULL;
	struct json_err err;

	CHECK_EQ_INT(json_parse(&o, NULL, s, strlen(s), &err), EBADMSG);
	CHECK_STR(err.msg, "duplicate object key");
	CHECK_EQ_INT(err.offset, 14);
	CHECK_EQ_INT(err.line, 3);
	CHECK_EQ_INT(err.col, 3);

	s = "[\n1,\n]";
	CHECK_EQ_INT(json_parse(&o, NULL, s, strlen(s), &err), EBADMSG);
	CHECK_STR(err.msg, "trailing comma in array");
	CHECK_EQ_INT(err.line, 2);
	CHECK_EQ_INT(err.col, 2);

	s = "[\r\n\"x\",\r\n  01]";
	CHECK_EQ_INT(json_parse(&o, NULL, s, strlen(s), &err), EBADMSG);
	CHECK_STR(err.msg, "leading zero in number");
	CHECK_EQ_INT(err.offset, 11);
	CHECK_EQ_INT(err.line, 3);
	CHECK_EQ_INT(err.col, 3);

	s = "{\"a\":\n";
	CHECK_EQ_INT(json_parse(&o, NULL, s, strlen(s), &err), EBADMSG);
	CHECK_STR(err.msg, "unexpected end of input");
	CHECK_EQ_INT(err.offset, 6);
	CHECK_EQ_INT(err.line, 2);
	CHECK_EQ_INT(err.col, 1);

	s = "{} \n\n   ]";
	CHECK_EQ_INT(json_parse(&o, NULL, s, strlen(s), &err), EBADMSG);
	CHECK_STR(err.msg, "trailing data after JSON value");
	CHECK_EQ_INT(err.line, 3);
	CHECK_EQ_INT(err.col, 4);
	CHECK(o == NULL);
}


TEST(duplicate_keys)
{
	FAILS("{\"a\":1,\"b\":2,\"a\":3}", "duplicate object key", 13);
	FAILS("{\"a\":1,\"\\u0061\":2}", "duplicate object key", 7);
	FAILS("{\"x\":{\"a\":[],\"a\":{}}}", "duplicate object key", 13);
	FAILS("{\"\":1,\"\":2}", "duplicate object key", 6);

	/* same key in different objects, and case differs: fine */
	CHECK_STR(rt("{\"a\":{\"a\":1},\"b\":[{\"a\":1},{\"a\":2}],\"A\":0}"),
		  "{\"a\":{\"a\":1},\"b\":[{\"a\":1},{\"a\":2}],\"A\":0}");
}


static void nest(char *buf, unsigned n, const char *open, const char *close)
{
	size_t lo = strlen(open), lc = strlen(close);
	unsigned i;
	char *p = buf;

	for (i = 0; i < n; i++, p += lo)
		memcpy(p, open, lo);
	for (i = 0; i < n; i++, p += lc)
		memcpy(p, close, lc);
	*p = '\0';
}


TEST(depth)
{
	char buf[512];

	nest(buf, JSON_MAX_DEPTH, "[", "]");
	CHECK_STR(rt(buf), buf);

	nest(buf, JSON_MAX_DEPTH + 1, "[", "]");
	FAILS(buf, "nesting deeper than 32", 32);

	nest(buf, JSON_MAX_DEPTH - 1, "{\"a\":", "}");
	buf[strlen(buf) - (JSON_MAX_DEPTH - 1)] = '\0';
	strcat(buf, "[]");
	{
		size_t i;
		for (i = 0; i < JSON_MAX_DEPTH - 1; i++)
			strcat(buf, "}");
	}
	CHECK_STR(rt(buf), buf);  /* 31 objects + 1 array = 32 */

	nest(buf, JSON_MAX_DEPTH + 1, "{\"a\":", "}");
	FAILS(buf, "nesting deeper than 32", 32 * 5);

	/* deep but unterminated: the depth error comes first */
	memset(buf, '[', 100);
	buf[100] = '\0';
	FAILS(buf, "nesting deeper than 32", 32);
}


TEST(print_depth_bound)
{
	struct odict *o = NULL, *cur, *sub;
	char *s = NULL;
	unsigned i;

	CHECK_EQ_INT(odict_alloc(&o, 8), 0);
	cur = o;
	for (i = 0; i < JSON_MAX_DEPTH; i++) {
		sub = NULL;
		CHECK_EQ_INT(odict_alloc(&sub, 8), 0);
		CHECK_EQ_INT(odict_entry_add(cur, "a", ODICT_OBJECT, sub), 0);
		mem_deref(sub);
		cur = sub;  /* still referenced by its parent */
	}

	/* 33 levels: refused rather than producing unparseable output */
	CHECK_EQ_INT(json_encode(&s, o), EOVERFLOW);
	CHECK(s == NULL);

	mem_deref(o);
}


static int num(const char *s, int *typep, int64_t *ip, double *dp)
{
	char buf[512];
	struct odict *o = NULL;
	const struct odict_entry *e;
	int r;

	snprintf(buf, sizeof(buf), "[%s]", s);
	r = json_parse(&o, NULL, buf, strlen(buf), NULL);
	if (r)
		return r;

	e = get(o, "0");
	*typep = e->type;
	if (e->type == ODICT_INT)
		*ip = e->u.integer;
	else if (e->type == ODICT_DOUBLE)
		*dp = e->u.dbl;

	mem_deref(o);
	return 0;
}


TEST(numbers)
{
	char big[300];
	int64_t i = 0;
	double d = 0;
	int type = -1;

	CHECK_EQ_INT(num("9223372036854775807", &type, &i, &d), 0);
	CHECK(type == ODICT_INT && i == INT64_MAX);
	CHECK_EQ_INT(num("-9223372036854775808", &type, &i, &d), 0);
	CHECK(type == ODICT_INT && i == INT64_MIN);
	CHECK_EQ_INT(num("-0", &type, &i, &d), 0);
	CHECK(type == ODICT_INT && i == 0);
	CHECK_EQ_INT(num("0", &type, &i, &d), 0);
	CHECK(type == ODICT_INT && i == 0);

	/* integer overflow becomes a double, never wraps */
	CHECK_EQ_INT(num("9223372036854775808", &type, &i, &d), 0);
	CHECK(type == ODICT_DOUBLE && d == 9223372036854775808.0);
	CHECK_EQ_INT(num("-9223372036854775809", &type, &i, &d), 0);
	CHECK(type == ODICT_DOUBLE && d == -9223372036854775808.0);
	CHECK_EQ_INT(num("18446744073709551616", &type, &i, &d), 0);
	CHECK(type == ODICT_DOUBLE && d == 18446744073709551616.0);
	CHECK_STR(rt("[9223372036854775807,-9223372036854775808,"
		     "9223372036854775808]"),
		  "[9223372036854775807,-9223372036854775808,"
		  "9.223372036854776e+18]");

	/* longer than the on-stack copy */
	memset(big, '9', 200);
	big[200] = '\0';
	CHECK_EQ_INT(num(big, &type, &i, &d), 0);
	CHECK(type == ODICT_DOUBLE && d == 1e200);
	memcpy(big, "0.", 2);
	CHECK_EQ_INT(num(big, &type, &i, &d), 0);
	CHECK(type == ODICT_DOUBLE && d == 1.0);

	CHECK_EQ_INT(num("1.5e3", &type, &i, &d), 0);
	CHECK(type == ODICT_DOUBLE && d == 1500.0);
	CHECK_EQ_INT(num("-1E-2", &type, &i, &d), 0);
	CHECK(type == ODICT_DOUBLE && d == -0.01);
	CHECK_EQ_INT(num("1e+0", &type, &i, &d), 0);
	CHECK(type == ODICT_DOUBLE && d == 1.0);
	CHECK_EQ_INT(num("1e-400", &type, &i, &d), 0);  /* underflow ok */
	CHECK(type == ODICT_DOUBLE && d == 0.0);
	CHECK_EQ_INT(num("-0.0", &type, &i, &d), 0);
	CHECK(type == ODICT_DOUBLE && d == 0.0 && signbit(d));

	FAILS("[1e400]", "number out of range", 1);
	FAILS("[-1e309]", "number out of range", 1);
	FAILS("{\"x\":  1.8e308}", "number out of range", 7);
	FAILS("[01]", "leading zero in number", 1);
	FAILS("[-01]", "leading zero in number", 2);
	FAILS("[00]", "leading zero in number", 1);
	FAILS("[-]", "invalid number", 2);
	FAILS("[-a]", "invalid number", 2);
	FAILS("[1.]", "invalid number", 3);
	FAILS("[1.e5]", "invalid number", 3);
	FAILS("[1e]", "invalid number", 3);
	FAILS("[1e+]", "invalid number", 4);
	FAILS("[1", "unexpected end of input", 2);
	FAILS("[1.", "unexpected end of input", 3);
	FAILS("[1e-", "unexpected end of input", 4);
	FAILS("[-", "unexpected end of input", 2);
	FAILS("[.5]", "expected a JSON value", 1);
	FAILS("[+1]", "expected a JSON value", 1);
	FAILS("[0x10]", "expected ',' or ']' after array element", 2);
	FAILS("[1.5.2]", "expected ',' or ']' after array element", 4);
	FAILS("[Infinity]", "expected a JSON value", 1);
	FAILS("[-Infinity]", "invalid number", 2);
}


static const char *enc_dbl(double v)
{
	static char buf[64];
	struct odict *o = NULL;
	char *s = NULL;

	if (odict_alloc(&o, 8) || odict_entry_add(o, "0", ODICT_DOUBLE, v) ||
	    re_sdprintf(&s, "%H", json_print_array, o)) {
		mem_deref(o);
		return "(error)";
	}
	snprintf(buf, sizeof(buf), "%s", s);
	mem_deref(s);
	mem_deref(o);
	return buf;
}


TEST(print_numbers)
{
	struct odict *o = NULL;
	char *s = NULL;

	CHECK_STR(enc_dbl(0.1), "[0.1]");
	CHECK_STR(enc_dbl(1.0), "[1.0]");
	CHECK_STR(enc_dbl(-3.0), "[-3.0]");
	CHECK_STR(enc_dbl(123456789.0), "[123456789.0]");
	CHECK_STR(enc_dbl(0.1 + 0.2), "[0.30000000000000004]");
	CHECK_STR(enc_dbl(1e15), "[1e+15]");
	CHECK_STR(enc_dbl(1e300), "[1e+300]");
	CHECK_STR(enc_dbl(-0.0), "[-0.0]");
	CHECK_STR(enc_dbl(5e-324), "[4.94065645841247e-324]");
	CHECK_STR(enc_dbl(1.7976931348623157e308),
		  "[1.7976931348623157e+308]");
	CHECK_STR(enc_dbl(INFINITY), "[null]");
	CHECK_STR(enc_dbl(NAN), "[null]");

	CHECK_EQ_INT(odict_alloc(&o, 8), 0);
	CHECK_EQ_INT(odict_entry_add(o, "min", ODICT_INT, INT64_MIN), 0);
	CHECK_EQ_INT(odict_entry_add(o, "max", ODICT_INT, INT64_MAX), 0);
	CHECK_EQ_INT(json_encode(&s, o), 0);
	mem_deref(o);
	CHECK_STR(s, "{\"min\":-9223372036854775808,"
		  "\"max\":9223372036854775807}");
	mem_deref(s);
}


TEST(print_escaping)
{
	struct odict *o = NULL;
	char *s = NULL;
	int err;

	CHECK_EQ_INT(odict_alloc(&o, 8), 0);
	CHECK_EQ_INT(odict_entry_add(o, "k\n\"", ODICT_STRING,
			"\x01\x08\x09\x0a\x0c\x0d\x1b\x1f \x7f\"\\/\xc3\xa9"),
		     0);
	CHECK_EQ_INT(odict_entry_add(o, "bad", ODICT_STRING,
				     "a\xff" "b\xc3(\xed\xa0\x80"), 0);
	err = json_encode(&s, o);
	mem_deref(o);
	CHECK_EQ_INT(err, 0);
	CHECK_STR(s, "{\"k\\n\\\"\":\"\\u0001\\b\\t\\n\\f\\r\\u001b\\u001f "
		  "\x7f\\\"\\\\/\xc3\xa9\","
		  "\"bad\":\"a\\ufffdb\\ufffd(\\ufffd\\ufffd\\ufffd\"}");

	/* the output is always strict JSON */
	o = NULL;
	CHECK_EQ_INT(json_parse(&o, NULL, s, strlen(s), NULL), 0);
	mem_deref(o);
	mem_deref(s);

	s = NULL;
	CHECK_EQ_INT(re_sdprintf(&s, "%H", json_print_str, "a\"b"), 0);
	CHECK_STR(s, "\"a\\\"b\"");
	mem_deref(s);
}


TEST(errors_do_not_leak)
{
	/* ASan/LSan flags a leak if any partial tree survives */
	FAILS("{\"a\":[1,2,{\"b\":\"c\",\"d\":[true,null,1.5]}],\"e\":x}",
	      "expected a JSON value", 45);
	FAILS("[[[[{\"a\":\"long string value here\"},[1,2,3],{\"a\":1,"
	      "\"a\":2}]]]]", "duplicate object key", 50);
	FAILS("{\"key\":\"unterminated", "unexpected end of input", 20);
}

TEST_MAIN()
