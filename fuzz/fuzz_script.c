/* fuzz_script.c - libFuzzer target for src/sim/script.c (caller scripts).
 *
 * Properties checked (abort() on violation), beyond "does not crash":
 *  - script_parse returns 0 or EBADMSG, and never a script on error;
 *  - an error has a message and a line: 0 only for a script without
 *    steps, else a line of the input (1 .. number of lines);
 *  - a parsed script has 1..SCRIPT_MAX_STEPS steps on increasing lines
 *    within the input; utterances are non-empty, not blank-padded, do
 *    not start with '@' or '#', hold no control character and are at
 *    most SCRIPT_MAX_LINE bytes; @wait lasts 1 ms..1 h, @barge waits
 *    at most 600 s and has text; @dtmf has 1..32 digits of 0-9*#A-D;
 *    @hangup and @expect-hangup come last, and have no text;
 *  - the steps, written back out as a script, parse to the same steps.
 */
#include <re.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "sim/script.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static size_t count_lines(const uint8_t *p, size_t n)
{
	size_t lines = 1;

	for (size_t i = 0; i < n; i++)
		lines += p[i] == '\n';
	return lines;
}


static void check_text(const char *t, bool say)
{
	size_t n;

	if (!t || !*t)
		abort();
	n = strlen(t);
	if (n > SCRIPT_MAX_LINE)
		abort();
	if (t[0] == ' ' || t[0] == '\t' || t[n - 1] == ' ' ||
	    t[n - 1] == '\t')
		abort();
	if (say && (t[0] == '@' || t[0] == '#'))
		abort();
	for (size_t i = 0; i < n; i++) {
		uint8_t c = (uint8_t)t[i];
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			abort();
	}
}


static void check_script(const struct script *sc, size_t lines)
{
	unsigned last = 0;

	if (!sc->n || sc->n > SCRIPT_MAX_STEPS)
		abort();
	for (size_t i = 0; i < sc->n; i++) {
		const struct script_step *st = &sc->steps[i];

		if (st->line <= last || st->line > lines)
			abort();
		last = st->line;
		if (st->pcm || st->n)
			abort();

		switch (st->kind) {

		case SCRIPT_SAY:
			check_text(st->text, true);
			break;

		case SCRIPT_WAIT:
			if (st->text || !st->ms || st->ms > SCRIPT_MAX_WAIT_MS)
				abort();
			break;

		case SCRIPT_BARGE:
			check_text(st->text, false);
			if (st->ms > SCRIPT_MAX_BARGE_MS)
				abort();
			break;

		case SCRIPT_DTMF:
			if (!st->text || !*st->text ||
			    strlen(st->text) > SCRIPT_MAX_DIGITS ||
			    strspn(st->text, "0123456789*#ABCD") !=
			    strlen(st->text))
				abort();
			break;

		case SCRIPT_HANGUP:
		case SCRIPT_EXPECT_HANGUP:
			if (st->text || i != sc->n - 1)
				abort();
			break;

		default:
			abort();
		}
	}
}


/* seconds as short as the parser accepts them ("1.5", "2"), so a line
 * written back is never longer than the one read */
static void secs(char *buf, size_t sz, uint32_t ms)
{
	size_t n;

	re_snprintf(buf, sz, "%u.%03u", ms / 1000, ms % 1000);
	n = strlen(buf);
	while (buf[n - 1] == '0')
		buf[--n] = '\0';
	if (buf[n - 1] == '.')
		buf[n - 1] = '\0';
}


static int write_script(struct mbuf *mb, const struct script *sc)
{
	/* a first line of text could begin with a BOM, which the parser
	 * skips at the start of the file only */
	int err = mbuf_printf(mb, "# again\n");

	for (size_t i = 0; i < sc->n && !err; i++) {
		const struct script_step *st = &sc->steps[i];
		char sec[24];

		secs(sec, sizeof(sec), st->ms);
		switch (st->kind) {

		case SCRIPT_SAY:
			err = mbuf_printf(mb, "%s\n", st->text);
			break;

		case SCRIPT_WAIT:
			err = mbuf_printf(mb, "# step %zu\n@wait %s\n", i, sec);
			break;

		case SCRIPT_BARGE:
			err = mbuf_printf(mb, "@barge %s %s\r\n", sec,
					  st->text);
			break;

		case SCRIPT_DTMF:
			err = mbuf_printf(mb, "@DTMF %s\n", st->text);
			break;

		default:
			err = mbuf_printf(mb, "\n@%s \n",
					  script_kind_name(st->kind));
			break;
		}
	}
	return err;
}


static void same_steps(const struct script *a, const struct script *b)
{
	if (a->n != b->n)
		abort();
	for (size_t i = 0; i < a->n; i++) {
		const struct script_step *x = &a->steps[i], *y = &b->steps[i];

		if (x->kind != y->kind || x->ms != y->ms ||
		    !x->text != !y->text)
			abort();
		if (x->text && strcmp(x->text, y->text))
			abort();
	}
}


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct script *sc = NULL, *again = NULL;
	struct script_err e = {12345, ""};
	struct mbuf *mb;
	/* an exact-size heap copy, so ASan sees any read past size */
	char *copy = malloc(size ? size : 1);
	int err;

	if (!copy)
		abort();
	if (size)
		memcpy(copy, data, size);

	err = script_parse(&sc, copy, size, &e);
	if (err) {
		if (err != EBADMSG || sc || !e.msg[0])
			abort();
		if (e.line > count_lines(data, size))
			abort();
		if (!e.line && strncmp(e.msg, "the script has no steps", 23))
			abort();
		free(copy);
		return 0;
	}
	if (!sc)
		abort();
	check_script(sc, count_lines(data, size));

	mb = mbuf_alloc(size * 2 + 64);
	if (!mb || write_script(mb, sc))
		abort();
	err = script_parse(&again, (const char *)mb->buf, mb->end, &e);
	if (err)
		abort();
	same_steps(sc, again);

	mem_deref(again);
	mem_deref(mb);
	mem_deref(sc);
	free(copy);
	return 0;
}
