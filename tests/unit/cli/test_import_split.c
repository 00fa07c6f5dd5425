/* test_import_split.c - where `parley contacts import` may cut a CSV
 * file: record ends, quoted line breaks, and line counts that match the
 * server's reader (csv.h), since the file's line numbers are computed
 * from them. */
#include "cli/contacts.h"
#include "test.h"

static size_t end_of(const char *s, size_t *linesp)
{
	return csv_record_end(s, strlen(s), linesp);
}

TEST(record_ends)
{
	size_t lines;

	CHECK_EQ_INT(end_of("a,b\nc,d\n", &lines), 4);
	CHECK_EQ_INT(lines, 1);
	CHECK_EQ_INT(end_of("a,b\r\nc,d\r\n", &lines), 5);
	CHECK_EQ_INT(lines, 1);
	/* a lone CR ends a line too */
	CHECK_EQ_INT(end_of("a,b\rc,d", &lines), 4);
	CHECK_EQ_INT(lines, 1);
	/* a blank line is a record of its own (the server skips it) */
	CHECK_EQ_INT(end_of("\nx\n", &lines), 1);
	CHECK_EQ_INT(lines, 1);
	/* no final line end: the rest of the buffer */
	CHECK_EQ_INT(end_of("a,b", &lines), 3);
	CHECK_EQ_INT(lines, 1);
}

TEST(quoted_line_breaks_stay_in_the_record)
{
	size_t lines;

	CHECK_EQ_INT(end_of("1,\"x\ny\",2\nnext\n", &lines), 10);
	CHECK_EQ_INT(lines, 2);
	CHECK_EQ_INT(end_of("1,\"x\r\ny\r\nz\"\r\nnext", &lines), 13);
	CHECK_EQ_INT(lines, 3);
	/* "" is an escaped quote, not the end of the field */
	CHECK_EQ_INT(end_of("1,\"a \"\"q\"\"\nb\"\n2\n", &lines), 14);
	CHECK_EQ_INT(lines, 2);
	/* an unterminated quote runs to the end (the server reports it) */
	CHECK_EQ_INT(end_of("1,\"open\n2\n3", &lines), 11);
	CHECK_EQ_INT(lines, 3);
}

TEST_MAIN()
