/* test_csv.c - the CSV reader: RFC 4180, the documented leniency, and
 * every syntax error with its line and column. Records are flattened to
 * "<line>:<f1>|<f2>...\n" (CR and LF inside fields shown as \r and \n) so
 * a whole parse compares as one string. */

#include <errno.h>
#include "test.h"
#include "contacts/csv.h"

struct collect {
	struct mbuf *mb;
	size_t rows;
	size_t stop_at;         /* return 42 on this row (1-based), 0: never */
	size_t maxnf;
};


static int collect_row(size_t lineno, char * const *fields, size_t nfields,
		       void *arg)
{
	struct collect *c = arg;
	size_t i;
	const char *s;
	int err;

	++c->rows;
	if (nfields > c->maxnf)
		c->maxnf = nfields;

	err = mbuf_printf(c->mb, "%zu:", lineno);
	for (i = 0; i < nfields && !err; i++) {
		if (i)
			err |= mbuf_write_u8(c->mb, '|');
		for (s = fields[i]; *s && !err; s++) {
			if (*s == '\n')
				err = mbuf_write_str(c->mb, "\\n");
			else if (*s == '\r')
				err = mbuf_write_str(c->mb, "\\r");
			else
				err = mbuf_write_u8(c->mb, (uint8_t)*s);
		}
	}
	err |= mbuf_write_u8(c->mb, '\n');
	if (err)
		return err;

	return c->stop_at && c->rows == c->stop_at ? 42 : 0;
}


/* Parse buf[len]; *outp gets the flattened records (mem_deref it). */
static int parse_n(const char *buf, size_t len, char delim, char **outp,
		   struct csv_err *e, struct collect *cp)
{
	struct collect c0;
	struct collect *c = cp ? cp : &c0;
	int err;

	if (!cp)
		memset(&c0, 0, sizeof(c0));

	c->mb = mbuf_alloc(64);
	if (!c->mb)
		return ENOMEM;

	err = csv_parse(buf, len, delim, collect_row, c, e);

	mbuf_set_pos(c->mb, 0);
	*outp = NULL;
	if (mbuf_strdup(c->mb, outp, mbuf_get_left(c->mb)))
		err = ENOMEM;
	c->mb = mem_deref(c->mb);

	return err;
}


static int parse(const char *s, char **outp, struct csv_err *e)
{
	return parse_n(s, strlen(s), ',', outp, e, NULL);
}


/* Expect a syntax error msg at line:col for input s. */
static bool bad(const char *s, size_t len, const char *msg, size_t line,
		size_t col)
{
	struct csv_err e = {0};
	char *out = NULL;
	int err;
	bool ok;

	err = parse_n(s, len, ',', &out, &e, NULL);
	mem_deref(out);

	ok = err == EBADMSG && e.msg && !strcmp(e.msg, msg) &&
		e.line == line && e.col == col;
	if (!ok)
		fprintf(stderr, "  bad(): err=%d msg=\"%s\" at %zu:%zu, "
			"want \"%s\" at %zu:%zu\n", err,
			e.msg ? e.msg : "(null)", e.line, e.col, msg, line,
			col);

	return ok;
}

#define BAD(s, msg, line, col) bad(s, sizeof(s) - 1, msg, line, col)

#define EXPECT(in, want)                                               \
	do {                                                           \
		char *out_ = NULL;                                     \
		struct csv_err e_ = {0};                               \
		int err_ = parse(in, &out_, &e_);                      \
		if (err_)                                              \
			fprintf(stderr, "  err %d: %s at %zu:%zu\n",   \
				err_, e_.msg ? e_.msg : "", e_.line,   \
				e_.col);                               \
		CHECK_EQ_INT(err_, 0);                                 \
		if (strcmp(out_, want)) {                              \
			fprintf(stderr, "  got:\n%s  want:\n%s",       \
				out_, want);                           \
			mem_deref(out_);                               \
			CHECK(0);                                      \
		}                                                      \
		mem_deref(out_);                                       \
	} while (0)


TEST(csv_simple)
{
	EXPECT("name,phone\nAda,+44 20 7946 0958\n",
	       "1:name|phone\n2:Ada|+44 20 7946 0958\n");
	EXPECT("a,b,c\n1,2,3\n", "1:a|b|c\n2:1|2|3\n");
	EXPECT("single\n", "1:single\n");
}

TEST(csv_no_final_newline)
{
	EXPECT("a,b\n1,2", "1:a|b\n2:1|2\n");
	EXPECT("x", "1:x\n");
	EXPECT("a,", "1:a|\n");
	EXPECT("\"q\"", "1:q\n");
}

TEST(csv_line_ends)
{
	EXPECT("a,b\r\n1,2\r\n", "1:a|b\n2:1|2\n");
	EXPECT("a,b\r1,2\r", "1:a|b\n2:1|2\n");
	EXPECT("a\r\nb\nc\rd", "1:a\n2:b\n3:c\n4:d\n");
	/* CR CR LF: a lone CR, then a CRLF (an empty line) */
	EXPECT("a\r\r\nb", "1:a\n3:b\n");
	/* LF CR: two line ends */
	EXPECT("a\n\rb", "1:a\n3:b\n");
}

TEST(csv_blank_lines)
{
	EXPECT("", "");
	EXPECT("\n", "");
	EXPECT("\r\n\r\n\n\r", "");
	EXPECT("\n\na\n\n\nb\n\n", "3:a\n6:b\n");
	EXPECT("\r\n\r\na\r\n\r\nb\r\n", "3:a\n5:b\n");
	/* only the delimiter: two empty fields, not a blank line */
	EXPECT(",\n", "1:|\n");
	EXPECT(",,", "1:||\n");
	EXPECT("a\n,\nb", "1:a\n2:|\n3:b\n");
	/* blanks are data */
	EXPECT("  \n", "1:  \n");
	/* an empty quoted field is a record */
	EXPECT("\"\"\n", "1:\n");
}

TEST(csv_empty_fields)
{
	EXPECT("a,,c\n", "1:a||c\n");
	EXPECT(",b,\n", "1:|b|\n");
	EXPECT("\"\",\"\"\n", "1:|\n");
}

TEST(csv_bom)
{
	EXPECT("\xef\xbb\xbfname,phone\nA,1\n", "1:name|phone\n2:A|1\n");
	EXPECT("\xef\xbb\xbf", "");
	EXPECT("\xef\xbb\xbf\n\nx", "3:x\n");
	EXPECT("\xef\xbb\xbf\"quoted\",x", "1:quoted|x\n");
	/* only a leading BOM is special */
	EXPECT("a\n\xef\xbb\xbf" "b", "1:a\n2:\xef\xbb\xbf" "b\n");
	/* a truncated BOM is data */
	EXPECT("\xef\xbb", "1:\xef\xbb\n");
	/* columns count from after the BOM */
	CHECK(BAD("\xef\xbb\xbf" "ab\"c", "quote inside unquoted field",
		  1, 3));
}

TEST(csv_quoted)
{
	EXPECT("\"a\",\"b\"\n", "1:a|b\n");
	EXPECT("\"a,b\",c\n", "1:a,b|c\n");
	EXPECT("\"say \"\"hi\"\"\",x\n", "1:say \"hi\"|x\n");
	EXPECT("\"\"\"\"\n", "1:\"\n");
	EXPECT("\"\"\"\"\"\"\n", "1:\"\"\n");
	EXPECT("\"a\"\"\",b", "1:a\"|b\n");
	EXPECT("x,\"\"", "1:x|\n");
	EXPECT("\"\xc3\xa9l\xc3\xa8ve\",\xe2\x82\xac", /* UTF-8 passes */
	       "1:\xc3\xa9l\xc3\xa8ve|\xe2\x82\xac\n");
}

TEST(csv_multiline_fields)
{
	EXPECT("a,\"line1\nline2\",c\nnext,1\n",
	       "1:a|line1\\nline2|c\n3:next|1\n");
	EXPECT("\"x\r\ny\"\r\nz\r\n", "1:x\\r\\ny\n3:z\n");
	EXPECT("\"x\ry\"\rz", "1:x\\ry\n3:z\n");
	EXPECT("\"\n\n\n\"\nz", "1:\\n\\n\\n\n5:z\n");
	EXPECT("\"a\r\n\r\nb\",c\n", "1:a\\r\\n\\r\\nb|c\n");
	/* line numbers of errors after a multi-line field */
	CHECK(BAD("\"a\nb\"\nx,y\"z", "quote inside unquoted field", 3, 4));
	CHECK(BAD("\"a\r\nbc\" x", "unexpected character after closing quote",
		  2, 5));
}

TEST(csv_blanks_around_quotes)
{
	EXPECT("a, \"b\" ,c\n", "1:a|b|c\n");
	EXPECT("\t\"x\"\t,y", "1:x|y\n");
	EXPECT(" \"x\"", "1:x\n");
	EXPECT("\"x\"  \r\n", "1:x\n");
	/* unquoted fields keep their blanks */
	EXPECT(" a , b ", "1: a | b \n");
	/* blanks inside the quotes are kept */
	EXPECT(" \" a \" ", "1: a \n");
}

TEST(csv_other_delimiters)
{
	char *out = NULL;
	int err;

	err = parse_n("a;b;\"c;d\"\n1;2;3", 15, ';', &out, NULL, NULL);
	CHECK_EQ_INT(err, 0);
	CHECK_STR(out, "1:a|b|c;d\n2:1|2|3\n");
	out = mem_deref(out);

	err = parse_n("a,b\tc\n", 6, '\t', &out, NULL, NULL);
	CHECK_EQ_INT(err, 0);
	CHECK_STR(out, "1:a,b|c\n");
	out = mem_deref(out);

	/* with a tab delimiter, only spaces are blanks around quotes */
	err = parse_n("\"a\"\t \"b\" \t", 10, '\t', &out, NULL, NULL);
	CHECK_EQ_INT(err, 0);
	CHECK_STR(out, "1:a|b|\n");
	out = mem_deref(out);

	err = parse_n("a|b", 3, '|', &out, NULL, NULL);
	CHECK_EQ_INT(err, 0);
	CHECK_STR(out, "1:a|b\n");
	out = mem_deref(out);

	/* a space delimiter: tabs are still blanks */
	err = parse_n("a \"b\"\t c", 8, ' ', &out, NULL, NULL);
	CHECK_EQ_INT(err, 0);
	CHECK_STR(out, "1:a|b|c\n");
	out = mem_deref(out);
}

TEST(csv_bad_arguments)
{
	struct collect c = {0};

	CHECK_EQ_INT(csv_parse("a", 1, ',', NULL, NULL, NULL), EINVAL);
	CHECK_EQ_INT(csv_parse(NULL, 1, ',', collect_row, &c, NULL), EINVAL);
	CHECK_EQ_INT(csv_parse("a", 1, '"', collect_row, &c, NULL), EINVAL);
	CHECK_EQ_INT(csv_parse("a", 1, '\n', collect_row, &c, NULL), EINVAL);
	CHECK_EQ_INT(csv_parse("a", 1, '\r', collect_row, &c, NULL), EINVAL);
	CHECK_EQ_INT(csv_parse("a", 1, '\0', collect_row, &c, NULL), EINVAL);
	CHECK_EQ_INT(c.rows, 0);

	/* an empty buffer may be NULL */
	CHECK_EQ_INT(csv_parse(NULL, 0, ',', collect_row, &c, NULL), 0);
	CHECK_EQ_INT(c.rows, 0);
}

TEST(csv_err_unterminated)
{
	CHECK(BAD("\"abc", "unterminated quoted field", 1, 1));
	CHECK(BAD("a,b,\"c", "unterminated quoted field", 1, 5));
	/* points at the opening quote, lines away from the end */
	CHECK(BAD("x\nfoo,\"bar\nbaz\nqux", "unterminated quoted field",
		  2, 5));
	CHECK(BAD("x\r\n  \"bar\r\n", "unterminated quoted field", 2, 3));
	CHECK(BAD("\"a\"\"", "unterminated quoted field", 1, 1));
	CHECK(BAD("\"", "unterminated quoted field", 1, 1));
}

TEST(csv_err_after_quote)
{
	CHECK(BAD("\"abc\"d,e", "unexpected character after closing quote",
		  1, 6));
	CHECK(BAD("x\n\"a\" b", "unexpected character after closing quote",
		  2, 5));
	CHECK(BAD("\"a\"\"b\"c", "unexpected character after closing quote",
		  1, 7));
	CHECK(BAD("\"a\" \"b\"", "unexpected character after closing quote",
		  1, 5));
}

TEST(csv_err_quote_in_unquoted)
{
	CHECK(BAD("ab\"c", "quote inside unquoted field", 1, 3));
	CHECK(BAD("name,5'11\"\n", "quote inside unquoted field", 1, 10));
	CHECK(BAD("ok\nok\nx \"y\"", "quote inside unquoted field", 3, 3));
	CHECK(BAD("a\r\nb,c\"", "quote inside unquoted field", 2, 4));
}

TEST(csv_err_nul)
{
	CHECK(BAD("a\0b", "NUL byte in input", 1, 2));
	CHECK(BAD("\0", "NUL byte in input", 1, 1));
	CHECK(BAD("a,\0", "NUL byte in input", 1, 3));
	CHECK(BAD("\"a\0\"", "NUL byte in input", 1, 3));
	CHECK(BAD("\"a\n\0\"", "NUL byte in input", 2, 1));
	CHECK(BAD("\"a\"\0", "NUL byte in input", 1, 4));
	CHECK(BAD("\"a\" \0", "NUL byte in input", 1, 5));
	CHECK(BAD("x\n\n\0", "NUL byte in input", 3, 1));
}

static char *repeat_fields(size_t n, const char *sep_end)
{
	char *s = mem_alloc(n * 2 + 8, NULL);
	size_t i, k = 0;

	if (!s)
		return NULL;
	for (i = 0; i < n; i++) {
		s[k++] = 'a' + (char)(i % 26);
		s[k++] = i + 1 < n ? ',' : '\0';
	}
	--k;
	strcpy(s + k, sep_end);

	return s;
}

TEST(csv_max_fields)
{
	struct collect c = {0};
	struct csv_err e = {0};
	char *s, *out = NULL;
	int err;

	s = repeat_fields(CSV_MAX_FIELDS, "\n");
	CHECK(s);
	err = parse_n(s, strlen(s), ',', &out, &e, &c);
	mem_deref(s);
	mem_deref(out);
	CHECK_EQ_INT(err, 0);
	CHECK_EQ_INT(c.rows, 1);
	CHECK_EQ_INT(c.maxnf, CSV_MAX_FIELDS);

	/* 256 fields and a trailing delimiter: 257 */
	s = repeat_fields(CSV_MAX_FIELDS, ",\n");
	CHECK(s);
	err = bad(s, strlen(s), "too many fields (max 256)", 1, 512);
	mem_deref(s);
	CHECK(err);

	s = repeat_fields(CSV_MAX_FIELDS + 10, "");
	CHECK(s);
	err = bad(s, strlen(s), "too many fields (max 256)", 1, 512);
	mem_deref(s);
	CHECK(err);

	/* a short record first, and only delimiters */
	s = mem_zalloc(400, NULL);
	CHECK(s);
	memcpy(s, "x\n", 2);
	memset(s + 2, ',', 300);
	err = bad(s, strlen(s), "too many fields (max 256)", 2, 256);
	mem_deref(s);
	CHECK(err);
}

TEST(csv_max_field_len)
{
	struct collect c = {0};
	char *s, *out = NULL;
	size_t n = CSV_MAX_FIELD;
	int err;

	/* exactly the limit, unquoted and quoted */
	s = mem_zalloc(n + 16, NULL);
	CHECK(s);
	memset(s, 'x', n);
	err = parse_n(s, n, ',', &out, NULL, &c);
	out = mem_deref(out);
	CHECK_EQ_INT(err, 0);
	CHECK_EQ_INT(c.rows, 1);

	s[0] = '"';
	memset(s + 1, 'x', n);
	s[n + 1] = '"';
	err = parse_n(s, n + 2, ',', &out, NULL, NULL);
	out = mem_deref(out);
	CHECK_EQ_INT(err, 0);

	/* one more byte */
	memset(s, 'x', n + 1);
	s[n + 1] = '\0';
	err = bad(s, n + 1, "field longer than 65536 bytes", 1, n + 1);
	CHECK(err);

	/* after a prefix "ab," the long field starts at column 4 */
	memcpy(s, "ab,", 3);
	memset(s + 3, 'y', n + 1);
	err = bad(s, n + 4, "field longer than 65536 bytes", 1, n + 4);
	CHECK(err);

	/* quoted, with an escaped quote counting as one byte */
	s[0] = '"';
	s[1] = '"';
	s[2] = '"';
	memset(s + 3, 'z', n);
	s[n + 3] = '"';
	err = bad(s, n + 4, "field longer than 65536 bytes", 1, n + 3);
	CHECK(err);

	/* quoted, over the limit on its second line */
	s[0] = '"';
	s[1] = 'a';
	s[2] = '\n';
	memset(s + 3, 'z', n);
	s[n + 3] = '"';
	err = bad(s, n + 4, "field longer than 65536 bytes", 2, n - 1);
	CHECK(err);

	/* line ends in a quoted field count */
	s[0] = '"';
	memset(s + 1, '\n', n + 2);
	s[n + 3] = '"';
	err = bad(s, n + 4, "field longer than 65536 bytes", n + 1, 1);
	CHECK(err);

	mem_deref(s);
}

TEST(csv_many_max_fields)
{
	/* 256 fields of 65536 bytes: the buffer grows to ~16 MiB */
	struct collect c = {0};
	size_t n = CSV_MAX_FIELDS * (CSV_MAX_FIELD + 1);
	char *s, *out = NULL;
	size_t i;
	int err;

	s = mem_alloc(n, NULL);
	CHECK(s);
	memset(s, 'q', n);
	for (i = 1; i < CSV_MAX_FIELDS; i++)
		s[i * (CSV_MAX_FIELD + 1) - 1] = ',';
	s[n - 1] = '\n';

	c.mb = NULL;
	err = parse_n(s, n, ',', &out, NULL, &c);
	mem_deref(s);
	CHECK_EQ_INT(err, 0);
	CHECK_EQ_INT(c.rows, 1);
	CHECK_EQ_INT(c.maxnf, CSV_MAX_FIELDS);
	CHECK_EQ_INT(strlen(out), 2 + CSV_MAX_FIELDS * (CSV_MAX_FIELD + 1));
	mem_deref(out);
}

TEST(csv_handler_stops)
{
	struct collect c = {0};
	char *out = NULL;
	int err;

	c.stop_at = 2;
	err = parse_n("a\nb\nc\nd\n", 8, ',', &out, NULL, &c);
	CHECK_EQ_INT(err, 42);
	CHECK_EQ_INT(c.rows, 2);
	CHECK_STR(out, "1:a\n2:b\n");
	mem_deref(out);

	/* a syntax error after the stop is never reached */
	memset(&c, 0, sizeof(c));
	c.stop_at = 1;
	err = parse_n("a\n\"", 3, ',', &out, NULL, &c);
	CHECK_EQ_INT(err, 42);
	mem_deref(out);
}

TEST(csv_rows_before_error)
{
	struct collect c = {0};
	struct csv_err e = {0};
	char *out = NULL;
	int err;

	err = parse_n("a,b\nc,d\ne\"f\n", 12, ',', &out, &e, &c);
	CHECK_EQ_INT(err, EBADMSG);
	CHECK_EQ_INT(c.rows, 2);
	CHECK_STR(out, "1:a|b\n2:c|d\n");
	CHECK_STR(e.msg, "quote inside unquoted field");
	CHECK_EQ_INT(e.line, 3);
	CHECK_EQ_INT(e.col, 2);
	mem_deref(out);

	/* errp may be NULL */
	err = parse_n("\"", 1, ',', &out, NULL, NULL);
	CHECK_EQ_INT(err, EBADMSG);
	mem_deref(out);
}

TEST(csv_realistic_exports)
{
	/* Excel "CSV UTF-8": BOM, CRLF, quotes only where needed */
	EXPECT("\xef\xbb\xbf" "First Name,Last Name,Phone,Notes\r\n"
	       "Ada,Lovelace,+44 20 7946 0958,\"Analyst, Engine\"\r\n"
	       "Grace,Hopper,(415) 555-0100,\"Said \"\"hi\"\"\"\r\n"
	       "Alan,Turing,,\"Line one\r\nLine two\"\r\n",
	       "1:First Name|Last Name|Phone|Notes\n"
	       "2:Ada|Lovelace|+44 20 7946 0958|Analyst, Engine\n"
	       "3:Grace|Hopper|(415) 555-0100|Said \"hi\"\n"
	       "4:Alan|Turing||Line one\\r\\nLine two\n");

	/* Google Contacts: every field quoted, LF */
	EXPECT("\"Name\",\"Phone 1 - Value\"\n\"Zoë\",\"+33 1 23 45 67 89\"\n",
	       "1:Name|Phone 1 - Value\n2:Zoë|+33 1 23 45 67 89\n");

	/* ragged rows are the caller's business */
	EXPECT("a,b,c\n1\n1,2,3,4\n", "1:a|b|c\n2:1\n3:1|2|3|4\n");
}

TEST_MAIN()
