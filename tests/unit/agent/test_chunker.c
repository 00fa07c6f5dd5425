#include "test.h"
#include "agent/chunker.h"

/*
 * Chunks of text pushed in pieces of step bytes (0: all at once), taking
 * chunks after every push and the rest at the end, joined by '|'.
 */
static char *run(const char *text, size_t step, char *out, size_t outsz)
{
	struct chunker *ch = NULL;
	size_t len = strlen(text), i = 0, n;
	char *c;

	out[0] = '\0';
	if (chunker_alloc(&ch))
		return NULL;
	if (!step)
		step = len ? len : 1;
	do {
		n = len - i < step ? len - i : step;
		if (chunker_push(ch, text + i, n))
			break;
		i += n;
		while (!chunker_next(ch, false, &c)) {
			strncat(out, c, outsz - strlen(out) - 2);
			strcat(out, "|");
			mem_deref(c);
		}
	} while (i < len);
	while (!chunker_next(ch, true, &c)) {
		strncat(out, c, outsz - strlen(out) - 2);
		strcat(out, "|");
		mem_deref(c);
	}
	mem_deref(ch);
	return out;
}

#define CHUNKS(text, want) do {                                          \
		char out_[2048];                                         \
		for (size_t s_ = 0; s_ <= 7; s_++)                       \
			CHECK_STR(run(text, s_, out_, sizeof(out_)), want); \
	} while (0)

TEST(sentences)
{
	CHUNKS("Hello there. How are you? Great!",
	       "Hello there.|How are you?|Great!|");
	CHUNKS("  Wait...  really?! Yes.\"  Then \"go.\" Ok",
	       "Wait...|really?!|Yes.\"|Then \"go.\"|Ok|");
	CHUNKS("Line one\nLine two\n\nLine three",
	       "Line one|Line two|Line three|");
	CHUNKS("", "");
	CHUNKS("   \n  ", "");
	CHUNKS("... ! ? Fine.", "Fine.|");   /* no chunks of punctuation */
	CHUNKS("(Really.) Yes.", "(Really.)|Yes.|");
	CHUNKS("\xe4\xbd\xa0\xe5\xa5\xbd\xe3\x80\x82\xe5\x86\x8d\xe8\xa7\x81",
	       "\xe4\xbd\xa0\xe5\xa5\xbd\xe3\x80\x82|"
	       "\xe5\x86\x8d\xe8\xa7\x81|");
	CHUNKS("He said \xe2\x80\x9cno.\xe2\x80\x9d Then left.",
	       "He said \xe2\x80\x9cno.\xe2\x80\x9d|Then left.|");
}

TEST(abbreviations_and_numbers)
{
	CHUNKS("Dr. Smith and Mr. Jones met at St. Mary's. Fine.",
	       "Dr. Smith and Mr. Jones met at St. Mary's.|Fine.|");
	CHUNKS("Bring fruit, e.g. apples, i.e. red ones. Okay.",
	       "Bring fruit, e.g. apples, i.e. red ones.|Okay.|");
	CHUNKS("It costs 3.5 dollars. The U.S. team won. J. Smith said so.",
	       "It costs 3.5 dollars.|The U.S. team won.|"
	       "J. Smith said so.|");
	CHUNKS("1. Open the app\n2. Log in", "1. Open the app|2. Log in|");
	CHUNKS("We have 3. That is all.", "We have 3.|That is all.|");
	CHUNKS("Version 2.0.1 is out. Update.",
	       "Version 2.0.1 is out.|Update.|");
}

TEST(soft_and_hard_splits)
{
	/* a comma splits only a long chunk */
	CHUNKS("Yes, sure, fine.", "Yes, sure, fine.|");
	CHUNKS("This first clause is deliberately long enough to pass sixty "
	       "bytes, and this one follows; then more: end.",
	       "This first clause is deliberately long enough to pass sixty "
	       "bytes,|and this one follows; then more: end.|");
	/* a time is not a break */
	CHUNKS("The appointment that you asked about is confirmed for 10:30 "
	       "tomorrow morning at the clinic.",
	       "The appointment that you asked about is confirmed for 10:30 "
	       "tomorrow morning at the clinic.|");
}

TEST(hard_split)
{
	char text[600], out[2048], *c, *p;
	struct chunker *ch = NULL;
	size_t n = 0, len;

	/* words without punctuation: cut at a space, at most 200 bytes */
	text[0] = '\0';
	while (strlen(text) < 500)
		strcat(text, "word ");
	CHECK(run(text, 0, out, sizeof(out)));
	for (p = out; (c = strchr(p, '|')); p = c + 1) {
		len = (size_t)(c - p);
		CHECK(len > 0 && len <= CHUNK_HARD);
		CHECK(p[len - 1] == 'd');
		n += len + 1;
	}
	CHECK(n >= 500);

	/* no space at all: a cut at a UTF-8 boundary */
	text[0] = '\0';
	while (strlen(text) < 400)
		strcat(text, "\xc3\xa9");
	CHECK_EQ_INT(chunker_alloc(&ch), 0);
	CHECK_EQ_INT(chunker_push(ch, text, strlen(text)), 0);
	CHECK_EQ_INT(chunker_next(ch, false, &c), 0);
	CHECK_EQ_INT((int)strlen(c), 200);
	CHECK((c[199] & 0xc0) != 0xc0);      /* not a lead byte at the end */
	mem_deref(c);
	/* 200 bytes left are not too long: they wait for the end */
	CHECK_EQ_INT(chunker_next(ch, false, &c), ENODATA);
	CHECK_EQ_INT(chunker_next(ch, true, &c), 0);
	CHECK_EQ_INT((int)strlen(c), 200);
	mem_deref(c);
	CHECK_EQ_INT(chunker_next(ch, true, &c), ENODATA);
	mem_deref(ch);
}

TEST(waits_for_more)
{
	struct chunker *ch = NULL;
	char *c = NULL;

	CHECK_EQ_INT(chunker_alloc(&ch), 0);
	/* "3." may become "3.5" */
	CHECK_EQ_INT(chunker_push(ch, "It is 3.", 8), 0);
	CHECK_EQ_INT(chunker_next(ch, false, &c), ENODATA);
	CHECK_EQ_INT(chunker_push(ch, "5 now. And", 10), 0);
	CHECK_EQ_INT(chunker_next(ch, false, &c), 0);
	CHECK_STR(c, "It is 3.5 now.");
	c = mem_deref(c);
	CHECK_EQ_INT(chunker_next(ch, false, &c), ENODATA);
	/* a closing quote split inside its UTF-8 sequence */
	CHECK_EQ_INT(chunker_push(ch, " so.\xe2\x80", 6), 0);
	CHECK_EQ_INT(chunker_next(ch, false, &c), ENODATA);
	CHECK_EQ_INT(chunker_push(ch, "\x9d next", 6), 0);
	CHECK_EQ_INT(chunker_next(ch, false, &c), 0);
	CHECK_STR(c, "And so.\xe2\x80\x9d");
	c = mem_deref(c);
	chunker_reset(ch);
	CHECK_EQ_INT(chunker_next(ch, true, &c), ENODATA);
	CHECK_EQ_INT(chunker_next(NULL, true, &c), EINVAL);
	mem_deref(ch);
}

TEST_MAIN()
