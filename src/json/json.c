/* json.c - strict JSON (RFC 8259) parser and compact encoder over odict.
 *
 * Every REST request body goes through json_parse(), so unlike libre's
 * json_decode_odict() this rejects trailing commas and trailing data,
 * duplicate keys, invalid UTF-8, lone surrogates, \u0000, raw control
 * characters, leading zeros and non-finite numbers, never writes to
 * stderr, and reports a static message with the offset (and 1-based
 * line/column, column counted in bytes) of the first problem.
 *
 * Numbers: an integer literal (no fraction, no exponent) that fits int64
 * becomes ODICT_INT ("-0" is INT 0). An integer literal outside int64
 * becomes ODICT_DOUBLE (nearest double), as does every number with a
 * fraction or exponent. Results that overflow to +-inf are rejected with
 * "number out of range"; underflow to zero/subnormal is accepted.
 *
 * The encoder prints doubles in the shortest of %.15g/%.16g/%.17g that
 * round-trips, with ".0" appended when that looks like an integer so the
 * value stays a double when parsed again; non-finite doubles (which the
 * parser never produces) are printed as null. Invalid UTF-8 in strings
 * handed to the encoder is replaced by \ufffd so the output is always
 * valid JSON. strtod() and %g follow LC_NUMERIC, so the process must keep
 * the default "C" numeric locale.
 */
#include <re.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "json/json.h"


_Static_assert(JSON_MAX_DEPTH == 32, "update the depth error message");

enum {
	HASH_SIZE = 8,
	NUMBUF_SIZE = 64,
};

struct parser {
	const char *s;
	size_t len;
	size_t pos;
	struct json_err *err;
};

static int parse_container(struct parser *p, struct odict **op, int *typep,
			   unsigned depth);


static int fail_at(struct parser *p, size_t offset, const char *msg)
{
	p->err->msg = msg;
	p->err->offset = offset;

	return EBADMSG;
}


/* At end of input the real problem is always the truncation */
static int fail_expect(struct parser *p, const char *msg)
{
	if (p->pos >= p->len)
		return fail_at(p, p->len, "unexpected end of input");

	return fail_at(p, p->pos, msg);
}


static int fail_nomem(struct parser *p)
{
	p->err->msg = "out of memory";
	p->err->offset = p->pos;

	return ENOMEM;
}


static void skip_ws(struct parser *p)
{
	while (p->pos < p->len) {
		char c = p->s[p->pos];

		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			break;

		++p->pos;
	}
}


static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;

	return -1;
}


/* Read "\uXXXX" at pos; esc is the offset of the backslash */
static int read_u4(struct parser *p, size_t esc, uint32_t *cp)
{
	uint32_t v = 0;
	size_t i;

	for (i = 0; i < 4; i++) {
		int h;

		if (p->pos >= p->len)
			return fail_at(p, p->len, "unexpected end of input");

		h = hexval(p->s[p->pos]);
		if (h < 0)
			return fail_at(p, esc, "invalid escape");

		v = (v << 4) | (uint32_t)h;
		++p->pos;
	}

	*cp = v;

	return 0;
}


static size_t utf8_put(char *out, uint32_t cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}

	out[0] = (char)(0xf0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}


/*
 * Length of the valid UTF-8 sequence at s[0..n) (1-4), 0 if invalid
 * (overlong, surrogate, > U+10FFFF, bad continuation) or -1 if the
 * sequence is cut short by the end of the buffer.
 */
static int utf8_seqlen(const unsigned char *s, size_t n)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;
	int need, i;

	if (c < 0x80)
		return 1;
	else if (c >= 0xc2 && c <= 0xdf)
		need = 1;
	else if (c >= 0xe0 && c <= 0xef) {
		need = 2;
		if (c == 0xe0)
			lo = 0xa0;        /* overlong */
		else if (c == 0xed)
			hi = 0x9f;        /* UTF-16 surrogates */
	}
	else if (c >= 0xf0 && c <= 0xf4) {
		need = 3;
		if (c == 0xf0)
			lo = 0x90;        /* overlong */
		else if (c == 0xf4)
			hi = 0x8f;        /* > U+10FFFF */
	}
	else
		return 0;

	for (i = 1; i <= need; i++) {
		if ((size_t)i >= n)
			return -1;
		if (s[i] < lo || s[i] > hi)
			return 0;
		lo = 0x80;
		hi = 0xbf;
	}

	return need + 1;
}


/* One escape sequence at pos (the backslash); appends to out */
static int parse_escape(struct parser *p, char *out, size_t *np)
{
	size_t esc = p->pos;
	uint32_t cp, lo;
	char c;
	int err;

	++p->pos;
	if (p->pos >= p->len)
		return fail_at(p, p->len, "unexpected end of input");

	c = p->s[p->pos++];
	switch (c) {

	case '"':
	case '\\':
	case '/':
		break;
	case 'b':
		c = '\b';
		break;
	case 'f':
		c = '\f';
		break;
	case 'n':
		c = '\n';
		break;
	case 'r':
		c = '\r';
		break;
	case 't':
		c = '\t';
		break;
	case 'u':
		c = 0;
		break;
	default:
		return fail_at(p, esc, "invalid escape");
	}

	if (c) {
		out[(*np)++] = c;
		return 0;
	}

	err = read_u4(p, esc, &cp);
	if (err)
		return err;

	if (cp == 0)
		return fail_at(p, esc, "\\u0000 is not allowed in strings");

	if (cp >= 0xdc00 && cp <= 0xdfff)
		return fail_at(p, esc, "lone surrogate in \\u escape");

	if (cp >= 0xd800 && cp <= 0xdbff) {
		size_t esc2 = p->pos;

		/* must be followed by \u and a low surrogate */
		if (p->pos < p->len && p->s[p->pos] != '\\')
			return fail_at(p, esc, "lone surrogate in \\u escape");
		if (p->pos + 1 >= p->len)
			return fail_at(p, p->len, "unexpected end of input");
		if (p->s[p->pos + 1] != 'u')
			return fail_at(p, esc, "lone surrogate in \\u escape");

		p->pos += 2;
		err = read_u4(p, esc2, &lo);
		if (err)
			return err;

		if (lo < 0xdc00 || lo > 0xdfff)
			return fail_at(p, esc, "lone surrogate in \\u escape");

		cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
	}

	*np += utf8_put(out + *np, cp);

	return 0;
}


/* String at pos (the opening quote) into a new mem-allocated string */
static int parse_string(struct parser *p, char **strp)
{
	size_t i, cap, n = 0;
	char *out = NULL;
	int err = 0;

	/*
	 * Upper bound: every escape or UTF-8 sequence decodes to at most
	 * as many bytes as it occupies, and the decoder below steps over
	 * the same escapes, so it stops at this same closing quote (or
	 * fails before it) and n never exceeds cap.
	 */
	for (i = p->pos + 1; i < p->len && p->s[i] != '"'; i++) {
		if (p->s[i] == '\\')
			++i;
	}
	cap = (i < p->len ? i : p->len) - (p->pos + 1);

	out = mem_alloc(cap + 1, NULL);
	if (!out)
		return fail_nomem(p);

	++p->pos;
	for (;;) {
		unsigned char c;
		int sl;

		if (p->pos >= p->len) {
			err = fail_at(p, p->len, "unexpected end of input");
			goto out;
		}

		c = (unsigned char)p->s[p->pos];

		if (c == '"') {
			++p->pos;
			break;
		}
		else if (c == '\\') {
			err = parse_escape(p, out, &n);
			if (err)
				goto out;
		}
		else if (c < 0x20) {
			err = fail_at(p, p->pos, "control character in string");
			goto out;
		}
		else if (c < 0x80) {
			out[n++] = (char)c;
			++p->pos;
		}
		else {
			sl = utf8_seqlen((const unsigned char *)p->s + p->pos,
					 p->len - p->pos);
			if (sl < 0) {
				err = fail_at(p, p->len,
					      "unexpected end of input");
				goto out;
			}
			if (sl == 0) {
				err = fail_at(p, p->pos,
					      "invalid UTF-8 in string");
				goto out;
			}

			memcpy(out + n, p->s + p->pos, (size_t)sl);
			n += (size_t)sl;
			p->pos += (size_t)sl;
		}
	}

	out[n] = '\0';

 out:
	if (err)
		mem_deref(out);
	else
		*strp = out;

	return err;
}


static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}


/* Number at pos; adds it to o under key */
static int parse_number(struct parser *p, struct odict *o, const char *key)
{
	char numbuf[NUMBUF_SIZE];
	size_t start = p->pos, nlen;
	uint64_t mag = 0, limit = INT64_MAX;
	bool neg = false, isint = true, overflow = false;
	char *copy = numbuf, *end;
	double d;
	int err = 0;

	if (p->s[p->pos] == '-') {
		neg = true;
		limit = (uint64_t)INT64_MAX + 1;
		++p->pos;
	}

	if (p->pos >= p->len)
		return fail_at(p, p->len, "unexpected end of input");

	if (p->s[p->pos] == '0') {
		++p->pos;
		if (p->pos < p->len && is_digit(p->s[p->pos]))
			return fail_at(p, p->pos - 1,
				       "leading zero in number");
	}
	else if (is_digit(p->s[p->pos])) {
		while (p->pos < p->len && is_digit(p->s[p->pos])) {
			uint64_t dig = (uint64_t)(p->s[p->pos] - '0');

			if (mag > (limit - dig) / 10)
				overflow = true;
			else
				mag = mag * 10 + dig;

			++p->pos;
		}
	}
	else {
		return fail_at(p, p->pos, "invalid number");
	}

	if (p->pos < p->len && p->s[p->pos] == '.') {
		isint = false;
		++p->pos;
		if (p->pos >= p->len)
			return fail_at(p, p->len, "unexpected end of input");
		if (!is_digit(p->s[p->pos]))
			return fail_at(p, p->pos, "invalid number");
		while (p->pos < p->len && is_digit(p->s[p->pos]))
			++p->pos;
	}

	if (p->pos < p->len && (p->s[p->pos] == 'e' || p->s[p->pos] == 'E')) {
		isint = false;
		++p->pos;
		if (p->pos < p->len &&
		    (p->s[p->pos] == '+' || p->s[p->pos] == '-'))
			++p->pos;
		if (p->pos >= p->len)
			return fail_at(p, p->len, "unexpected end of input");
		if (!is_digit(p->s[p->pos]))
			return fail_at(p, p->pos, "invalid number");
		while (p->pos < p->len && is_digit(p->s[p->pos]))
			++p->pos;
	}

	if (isint && !overflow) {
		int64_t v;

		if (neg)
			v = mag ? -(int64_t)(mag - 1) - 1 : 0;
		else
			v = (int64_t)mag;

		err = odict_entry_add(o, key, ODICT_INT, v);
		if (err)
			return fail_nomem(p);

		return 0;
	}

	/* strtod needs a NUL-terminated copy; the input isn't one */
	nlen = p->pos - start;
	if (nlen >= sizeof(numbuf)) {
		copy = mem_alloc(nlen + 1, NULL);
		if (!copy)
			return fail_nomem(p);
	}
	memcpy(copy, p->s + start, nlen);
	copy[nlen] = '\0';

	d = strtod(copy, &end);
	if (end != copy + nlen) {
		/* cannot happen for grammar-checked input */
		err = fail_at(p, start, "invalid number");
		goto out;
	}
	if (!isfinite(d)) {
		err = fail_at(p, start, "number out of range");
		goto out;
	}

	err = odict_entry_add(o, key, ODICT_DOUBLE, d);
	if (err)
		err = fail_nomem(p);

 out:
	if (copy != numbuf)
		mem_deref(copy);

	return err;
}


static int parse_literal(struct parser *p, struct odict *o, const char *key)
{
	static const struct {
		const char *word;
		size_t len;
		int type;
		bool val;
	} lits[] = {
		{"true",  4, ODICT_BOOL, true},
		{"false", 5, ODICT_BOOL, false},
		{"null",  4, ODICT_NULL, false},
	};
	size_t i, avail = p->len - p->pos;
	int err;

	for (i = 0; i < sizeof(lits) / sizeof(lits[0]); i++) {
		if (p->s[p->pos] != lits[i].word[0])
			continue;

		if (avail < lits[i].len) {
			if (!memcmp(p->s + p->pos, lits[i].word, avail))
				return fail_at(p, p->len,
					       "unexpected end of input");
			break;
		}
		if (memcmp(p->s + p->pos, lits[i].word, lits[i].len))
			break;

		if (lits[i].type == ODICT_BOOL)
			err = odict_entry_add(o, key, ODICT_BOOL,
					      (int)lits[i].val);
		else
			err = odict_entry_add(o, key, ODICT_NULL);
		if (err)
			return fail_nomem(p);

		p->pos += lits[i].len;
		return 0;
	}

	return fail_at(p, p->pos, "invalid literal");
}


/* Any value at pos (whitespace skipped); adds it to o under key */
static int parse_value(struct parser *p, struct odict *o, const char *key,
		       unsigned depth)
{
	struct odict *sub = NULL;
	char *str = NULL;
	int type = 0;
	int err;
	char c;

	if (p->pos >= p->len)
		return fail_at(p, p->len, "unexpected end of input");

	c = p->s[p->pos];
	switch (c) {

	case '{':
	case '[':
		err = parse_container(p, &sub, &type, depth + 1);
		if (err)
			return err;

		err = odict_entry_add(o, key, type, sub);
		mem_deref(sub);
		if (err)
			return fail_nomem(p);
		return 0;

	case '"':
		err = parse_string(p, &str);
		if (err)
			return err;

		err = odict_entry_add(o, key, ODICT_STRING, str);
		mem_deref(str);
		if (err)
			return fail_nomem(p);
		return 0;

	case 't':
	case 'f':
	case 'n':
		return parse_literal(p, o, key);

	default:
		if (c == '-' || is_digit(c))
			return parse_number(p, o, key);

		return fail_at(p, p->pos, "expected a JSON value");
	}
}


static int parse_object(struct parser *p, struct odict *o, unsigned depth)
{
	char *key = NULL;
	size_t comma = 0;
	bool first = true;
	int err = 0;

	skip_ws(p);
	if (p->pos < p->len && p->s[p->pos] == '}') {
		++p->pos;
		return 0;
	}

	for (;;) {
		size_t keypos;

		skip_ws(p);
		if (p->pos >= p->len) {
			err = fail_at(p, p->len, "unexpected end of input");
			goto out;
		}
		if (p->s[p->pos] != '"') {
			if (!first && p->s[p->pos] == '}')
				err = fail_at(p, comma,
					      "trailing comma in object");
			else
				err = fail_at(p, p->pos, first ?
					      "expected object key or '}'" :
					      "expected object key after ','");
			goto out;
		}

		keypos = p->pos;
		err = parse_string(p, &key);
		if (err)
			goto out;

		if (odict_lookup(o, key)) {
			err = fail_at(p, keypos, "duplicate object key");
			goto out;
		}

		skip_ws(p);
		if (p->pos >= p->len || p->s[p->pos] != ':') {
			err = fail_expect(p, "expected ':' after object key");
			goto out;
		}
		++p->pos;

		skip_ws(p);
		err = parse_value(p, o, key, depth);
		if (err)
			goto out;

		key = mem_deref(key);

		skip_ws(p);
		if (p->pos < p->len && p->s[p->pos] == '}') {
			++p->pos;
			break;
		}
		if (p->pos >= p->len || p->s[p->pos] != ',') {
			err = fail_expect(p,
				"expected ',' or '}' after object member");
			goto out;
		}

		comma = p->pos++;
		first = false;
	}

 out:
	mem_deref(key);

	return err;
}


static int parse_array(struct parser *p, struct odict *o, unsigned depth)
{
	char key[24];
	size_t idx = 0, comma = 0;
	int err;

	skip_ws(p);
	if (p->pos < p->len && p->s[p->pos] == ']') {
		++p->pos;
		return 0;
	}

	for (;;) {
		skip_ws(p);
		if (idx > 0 && p->pos < p->len && p->s[p->pos] == ']')
			return fail_at(p, comma, "trailing comma in array");

		(void)snprintf(key, sizeof(key), "%zu", idx);

		err = parse_value(p, o, key, depth);
		if (err)
			return err;

		++idx;

		skip_ws(p);
		if (p->pos < p->len && p->s[p->pos] == ']') {
			++p->pos;
			return 0;
		}
		if (p->pos >= p->len || p->s[p->pos] != ',')
			return fail_expect(p,
				"expected ',' or ']' after array element");

		comma = p->pos++;
	}
}


/* Object or array at pos; depth is its own nesting level (1 = top) */
static int parse_container(struct parser *p, struct odict **op, int *typep,
			   unsigned depth)
{
	struct odict *o = NULL;
	bool isobj = p->s[p->pos] == '{';
	int err;

	if (depth > JSON_MAX_DEPTH)
		return fail_at(p, p->pos, "nesting deeper than 32");

	err = odict_alloc(&o, HASH_SIZE);
	if (err)
		return fail_nomem(p);

	++p->pos;
	if (isobj)
		err = parse_object(p, o, depth);
	else
		err = parse_array(p, o, depth);
	if (err)
		goto out;

	*typep = isobj ? ODICT_OBJECT : ODICT_ARRAY;

 out:
	if (err)
		mem_deref(o);
	else
		*op = o;

	return err;
}


static void set_linecol(const char *s, size_t len, struct json_err *err)
{
	size_t i, end = err->offset < len ? err->offset : len;
	size_t bol = 0;
	unsigned line = 1;

	for (i = 0; i < end; i++) {
		if (s[i] == '\n') {
			++line;
			bol = i + 1;
		}
	}

	err->line = line;
	err->col = (unsigned)(err->offset - bol + 1);
}


int json_parse(struct odict **op, int *typep, const char *str, size_t len,
	       struct json_err *errp)
{
	struct json_err dummy;
	struct parser p;
	struct odict *o = NULL;
	int type = 0;
	int err;

	if (!errp)
		errp = &dummy;

	memset(errp, 0, sizeof(*errp));

	if (!op || (!str && len)) {
		errp->msg = "invalid argument";
		errp->line = errp->col = 1;
		return EINVAL;
	}

	p.s = str;
	p.len = len;
	p.pos = 0;
	p.err = errp;

	skip_ws(&p);
	if (p.pos >= p.len) {
		err = fail_at(&p, p.len, "unexpected end of input");
		goto out;
	}
	if (p.s[p.pos] != '{' && p.s[p.pos] != '[') {
		err = fail_at(&p, p.pos,
			      "top-level value must be an object or array");
		goto out;
	}

	err = parse_container(&p, &o, &type, 1);
	if (err)
		goto out;

	skip_ws(&p);
	if (p.pos < p.len) {
		err = fail_at(&p, p.pos, "trailing data after JSON value");
		goto out;
	}

 out:
	if (err) {
		mem_deref(o);
		set_linecol(str, len, errp);
		return err;
	}

	*op = o;
	if (typep)
		*typep = type;

	return 0;
}


/* Encoder */

static int print_value(struct re_printf *pf, const struct odict_entry *e,
		       unsigned depth);
static int print_container(struct re_printf *pf, const struct odict *o,
			   bool isobj, unsigned depth);


static int print_double(struct re_printf *pf, double d)
{
	char buf[40];
	int prec;

	if (!isfinite(d))
		return re_hprintf(pf, "null");

	for (prec = 15; prec <= 17; prec++) {
		(void)snprintf(buf, sizeof(buf), "%.*g", prec, d);
		if (strtod(buf, NULL) == d)
			break;
	}

	if (!strpbrk(buf, ".en"))
		return re_hprintf(pf, "%s.0", buf);

	return re_hprintf(pf, "%s", buf);
}


int json_print_str(struct re_printf *pf, const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, run = 0, n;
	int err;

	if (!pf || !s)
		return EINVAL;

	n = strlen(s);

	err = re_hprintf(pf, "\"");

	while (!err && i < n) {
		unsigned char c = u[i];
		const char *esc = NULL;
		char ubuf[8];
		int sl = 1;

		if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
			++i;
			continue;
		}

		if (c >= 0x80) {
			sl = utf8_seqlen(u + i, n - i);
			if (sl > 0) {
				i += (size_t)sl;
				continue;
			}
			esc = "\\ufffd";
		}
		else {
			switch (c) {

			case '"':  esc = "\\\""; break;
			case '\\': esc = "\\\\"; break;
			case '\b': esc = "\\b";  break;
			case '\f': esc = "\\f";  break;
			case '\n': esc = "\\n";  break;
			case '\r': esc = "\\r";  break;
			case '\t': esc = "\\t";  break;
			default:
				(void)snprintf(ubuf, sizeof(ubuf), "\\u%04x",
					       (unsigned)c);
				esc = ubuf;
				break;
			}
		}

		/* flush the plain run before the escape */
		if (i > run)
			err = re_hprintf(pf, "%b", s + run, i - run);
		if (!err)
			err = re_hprintf(pf, "%s", esc);

		++i;
		run = i;
	}

	if (!err && i > run)
		err = re_hprintf(pf, "%b", s + run, i - run);
	if (!err)
		err = re_hprintf(pf, "\"");

	return err;
}


static int print_value(struct re_printf *pf, const struct odict_entry *e,
		       unsigned depth)
{
	char buf[24];

	switch (e->type) {

	case ODICT_OBJECT:
		return print_container(pf, e->u.odict, true, depth + 1);

	case ODICT_ARRAY:
		return print_container(pf, e->u.odict, false, depth + 1);

	case ODICT_STRING:
		return json_print_str(pf, e->u.str);

	case ODICT_INT:
		(void)snprintf(buf, sizeof(buf), "%" PRId64, e->u.integer);
		return re_hprintf(pf, "%s", buf);

	case ODICT_DOUBLE:
		return print_double(pf, e->u.dbl);

	case ODICT_BOOL:
		return re_hprintf(pf, "%s", e->u.boolean ? "true" : "false");

	case ODICT_NULL:
		return re_hprintf(pf, "null");

	default:
		return EINVAL;
	}
}


/* depth is the container's own nesting level (1 = top) */
static int print_container(struct re_printf *pf, const struct odict *o,
			   bool isobj, unsigned depth)
{
	struct le *le;
	int err;

	if (!pf || !o)
		return EINVAL;

	if (depth > JSON_MAX_DEPTH)
		return EOVERFLOW;

	err = re_hprintf(pf, "%s", isobj ? "{" : "[");

	for (le = list_head(&o->lst); le && !err; le = le->next) {
		const struct odict_entry *e = le->data;

		if (le != list_head(&o->lst))
			err = re_hprintf(pf, ",");

		if (!err && isobj) {
			err = json_print_str(pf, e->key);
			if (!err)
				err = re_hprintf(pf, ":");
		}

		if (!err)
			err = print_value(pf, e, depth);
	}

	if (!err)
		err = re_hprintf(pf, "%s", isobj ? "}" : "]");

	return err;
}


int json_print(struct re_printf *pf, const struct odict *o)
{
	return print_container(pf, o, true, 1);
}


int json_print_array(struct re_printf *pf, const struct odict *arr)
{
	return print_container(pf, arr, false, 1);
}


int json_encode(char **strp, const struct odict *o)
{
	if (!strp || !o)
		return EINVAL;

	return re_sdprintf(strp, "%H", json_print, o);
}
