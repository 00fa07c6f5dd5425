/* chunker.c - see chunker.h. The pending text is rescanned from its start
 * on every call: it is at most a chunk or two long, and a decision made
 * with less text (a period at the very end) could be wrong. */
#include <string.h>
#include <re.h>
#include "agent/chunker.h"

struct chunker {
	char *buf;
	size_t len, cap;
};

/* Lower-case words that a period does not end a sentence after. */
static const char *const abbrevs[] = {
	"mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "mt", "vs",
	"approx", "dept", "fig", "gen", "gov", "lt", "col", "capt", "sgt",
	"rev", "hon", "ave", "blvd", "tel", "ext", "cf",
};

static void destructor(void *data)
{
	struct chunker *ch = data;

	mem_deref(ch->buf);
}

int chunker_alloc(struct chunker **chp)
{
	struct chunker *ch;

	if (!chp)
		return EINVAL;

	ch = mem_zalloc(sizeof(*ch), destructor);
	if (!ch)
		return ENOMEM;

	*chp = ch;
	return 0;
}

void chunker_reset(struct chunker *ch)
{
	if (ch)
		ch->len = 0;
}

int chunker_push(struct chunker *ch, const char *text, size_t len)
{
	if (!ch || (len && !text))
		return EINVAL;

	if (ch->len + len > ch->cap) {
		size_t cap = ch->cap ? ch->cap : 256;
		char *buf;

		while (cap < ch->len + len)
			cap *= 2;
		buf = ch->buf ? mem_realloc(ch->buf, cap) :
			mem_alloc(cap, NULL);
		if (!buf)
			return ENOMEM;
		ch->buf = buf;
		ch->cap = cap;
	}

	if (len)
		memcpy(ch->buf + ch->len, text, len);
	ch->len += len;

	return 0;
}

static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
		c == '\f' || c == '\v';
}

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_term(char c)
{
	return c == '.' || c == '!' || c == '?';
}

enum { MORE = -1 };

/* Length of a closing quote or bracket at s[i], 0 for none, MORE when a
 * UTF-8 sequence at the end of the text may still become one. */
static int closer(const char *s, size_t i, size_t n)
{
	static const char *const u8[] = {
		"\xe2\x80\x99", "\xe2\x80\x9d", "\xc2\xbb", "\xe3\x80\x8d",
	};
	const char c = s[i];

	if (c == '"' || c == '\'' || c == ')' || c == ']' || c == '}')
		return 1;

	for (size_t k = 0; k < ARRAY_SIZE(u8); k++) {
		size_t m = strlen(u8[k]), avail = n - i;

		if (!memcmp(s + i, u8[k], avail < m ? avail : m))
			return avail < m ? MORE : (int)m;
	}

	return 0;
}

/* A full stop at s[i] that does not end a sentence. */
static bool no_stop(const char *s, size_t i)
{
	char word[8];
	size_t w = i, len, k;

	if (i > 0 && is_digit(s[i - 1])) {
		while (w > 0 && is_digit(s[w - 1]))
			--w;
		return w == 0;    /* "1." opening a list item */
	}

	while (w > 0 && (is_alpha(s[w - 1]) || s[w - 1] == '.'))
		--w;
	len = i - w;
	if (len == 0)
		return false;
	if (memchr(s + w, '.', len))
		return true;      /* "e.g.", "U.S." */
	if (len == 1 && s[w] >= 'A' && s[w] <= 'Z')
		return true;      /* an initial */
	if (len >= sizeof(word))
		return false;
	for (k = 0; k < len; k++)
		word[k] = (char)(s[w + k] | 0x20);
	word[len] = '\0';
	for (k = 0; k < ARRAY_SIZE(abbrevs); k++) {
		if (!strcmp(word, abbrevs[k]))
			return true;
	}

	return false;
}

/* A full-width sentence end at s[i] ("。", "！", "？"): its length. */
static size_t cjk_term(const char *s, size_t i, size_t n)
{
	if (i + 3 > n)
		return 0;
	if (!memcmp(s + i, "\xe3\x80\x82", 3) ||
	    !memcmp(s + i, "\xef\xbc\x81", 3) ||
	    !memcmp(s + i, "\xef\xbc\x9f", 3))
		return 3;
	return 0;
}

/*
 * Where the chunk starting at s (no leading white space) ends: its
 * length, with *usedp the bytes it consumes; 0 when it is not complete.
 */
static size_t find_cut(const char *s, size_t n, bool end, size_t *usedp)
{
	size_t i, j, k, last_sp = 0;
	int m;

	for (i = 0; i < n; i++) {
		const char c = s[i];

		if (i >= CHUNK_HARD) {
			if (last_sp) {
				*usedp = last_sp + 1;
				return last_sp;
			}
			for (k = i; k > 1 && (s[k] & 0xc0) == 0x80; k--)
				;
			*usedp = k;
			return k;
		}

		if (c == '\n' || c == '\r') {
			*usedp = i + 1;
			return i;
		}
		if (is_ws(c)) {
			last_sp = i;
			continue;
		}

		if (is_term(c)) {
			for (j = i + 1; j < n && is_term(s[j]); j++)
				;
			while (j < n && (m = closer(s, j, n)) > 0)
				j += (size_t)m;
			if (j == n || (j < n && closer(s, j, n) == MORE))
				break;            /* more text may follow */
			if (!is_ws(s[j]) || (c == '.' && no_stop(s, i))) {
				i = j - 1;
				continue;
			}
			*usedp = j;
			return j;
		}

		if ((k = cjk_term(s, i, n))) {
			*usedp = i + k;
			return i + k;
		}

		if ((c == ';' || c == ':' || c == ',') && i + 1 > CHUNK_SOFT &&
		    i + 1 < n && is_ws(s[i + 1])) {
			*usedp = i + 1;
			return i + 1;
		}
	}

	if (end) {
		*usedp = n;
		return n;
	}

	return 0;
}

/* Worth speaking: a letter, a digit or any non-ASCII character. */
static bool has_content(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (is_alpha(s[i]) || is_digit(s[i]) || (s[i] & 0x80))
			return true;
	}

	return false;
}

static void consume(struct chunker *ch, size_t n)
{
	if (!n)
		return;
	memmove(ch->buf, ch->buf + n, ch->len - n);
	ch->len -= n;
}

int chunker_next(struct chunker *ch, bool end, char **chunkp)
{
	size_t lead, clen, used;
	int err;

	if (!ch || !chunkp)
		return EINVAL;

	for (;;) {
		for (lead = 0; lead < ch->len && is_ws(ch->buf[lead]); lead++)
			;
		consume(ch, lead);
		if (!ch->len)
			return ENODATA;

		clen = find_cut(ch->buf, ch->len, end, &used);
		if (!clen)
			return ENODATA;

		while (clen > 0 && is_ws(ch->buf[clen - 1]))
			--clen;

		if (has_content(ch->buf, clen)) {
			err = re_sdprintf(chunkp, "%b", ch->buf, clen);
			if (err)
				return err;
			consume(ch, used);
			return 0;
		}

		consume(ch, used);
	}
}
