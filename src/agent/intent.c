/* intent.c - answers of callers to the scenario engine's questions: word
 * tables and small parsers over normalised transcripts (see intent.h).
 *
 * Everything works on a token array of one normalised copy of the text;
 * texts of more than MAX_TOK words are cut there (a caller's answer to
 * a question is far shorter).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <re.h>
#include "agent/intent.h"

enum { MAX_TOK = 256, MAX_NUMBER = 64 };

struct toks {
	char *buf;                 /* normalised text, NULs between words */
	const char *w[MAX_TOK];
	size_t n;
};


static const char *const expect_names[] = {
	[INTENT_YES_NO] = "yes_no", [INTENT_NUMBER] = "number",
	[INTENT_DATE] = "date", [INTENT_CHOICE] = "choice",
	[INTENT_FREE_TEXT] = "free_text", [INTENT_INTENT] = "intent",
};


int intent_expect_parse(enum intent_expect *ep, const char *name)
{
	for (size_t i = 0; name && i < ARRAY_SIZE(expect_names); i++) {
		if (!strcmp(expect_names[i], name)) {
			*ep = (enum intent_expect)i;
			return 0;
		}
	}
	return EINVAL;
}


const char *intent_expect_name(enum intent_expect e)
{
	return (size_t)e < ARRAY_SIZE(expect_names) ? expect_names[e] : "?";
}


static bool is_digit(int c)
{
	return c >= '0' && c <= '9';
}


static bool is_word(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		is_digit(c) || c >= 0x80;
}


int intent_normalise(char **outp, const char *text)
{
	size_t len = str_len(text), n = 0;
	bool gap = false;
	char *out;

	if (!outp)
		return EINVAL;
	out = mem_alloc(len + 1, NULL);
	if (!out)
		return ENOMEM;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];

		if (c == '\'')
			continue;
		/* U+2018/U+2019 quotes are apostrophes; the rest of the
		 * General Punctuation block (dashes, ellipsis) breaks words */
		if (c == 0xe2 && i + 2 < len &&
		    (unsigned char)text[i + 1] == 0x80) {
			unsigned char c3 = (unsigned char)text[i + 2];
			i += 2;
			if (c3 != 0x98 && c3 != 0x99)
				gap = true;
			continue;
		}
		if (c == ',' && i > 0 && i + 1 < len && is_digit(text[i - 1])
		    && is_digit(text[i + 1]))
			continue;
		if (!is_word(c)) {
			gap = true;
			continue;
		}
		if (gap && n)
			out[n++] = ' ';
		gap = false;
		out[n++] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : (char)c;
	}
	out[n] = '\0';
	*outp = out;
	return 0;
}


static void toks_reset(struct toks *t)
{
	t->buf = mem_deref(t->buf);
	t->n = 0;
}


static int toks_split(struct toks *t, const char *text)
{
	char *p;
	int err;

	t->n = 0;
	t->buf = NULL;
	err = intent_normalise(&t->buf, text);
	if (err)
		return err;

	p = t->buf;
	while (*p && t->n < MAX_TOK) {
		t->w[t->n++] = p;
		p = strchr(p, ' ');
		if (!p)
			break;
		*p++ = '\0';
	}
	return 0;
}


/* equal words, or one the plural of the other ("mondays") */
static bool tok_eq(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la == lb)
		return !strcmp(a, b);
	if (la + 1 == lb)
		return b[la] == 's' && !strncmp(a, b, la);
	if (lb + 1 == la)
		return a[lb] == 's' && !strncmp(a, b, lb);
	return false;
}


static bool tok_is(const struct toks *t, size_t i, const char *w)
{
	return i < t->n && !strcmp(t->w[i], w);
}


/* how many words of phrase ("of course") match t at i; 0: no match */
static size_t phrase_at(const struct toks *t, size_t i, const char *phrase)
{
	size_t k = 0;
	const char *p = phrase;

	while (*p) {
		size_t wl = strcspn(p, " ");

		if (i + k >= t->n || strlen(t->w[i + k]) != wl ||
		    strncmp(t->w[i + k], p, wl))
			return 0;
		++k;
		p += wl;
		if (*p == ' ')
			++p;
	}
	return k;
}


/* ---- yes / no ---- */

struct yn_phrase {
	const char *p;
	int cls;     /* 1 yes, -1 no, 0 neither (consumes the words) */
};

static const struct yn_phrase yn_tab[] = {
	{"not sure", 0}, {"dont know", 0}, {"do not know", 0},
	{"no idea", 0}, {"maybe", 0}, {"perhaps", 0},
	{"no problem", 1}, {"why not", 1}, {"of course", 1},
	{"go ahead", 1}, {"sounds good", 1}, {"all right", 1},
	{"yes", 1}, {"yeah", 1}, {"yep", 1}, {"yup", 1}, {"yea", 1},
	{"sure", 1}, {"correct", 1}, {"right", 1}, {"okay", 1}, {"ok", 1},
	{"alright", 1}, {"absolutely", 1}, {"definitely", 1},
	{"certainly", 1}, {"affirmative", 1}, {"indeed", 1},
	{"not interested", -1}, {"no thanks", -1}, {"no thank you", -1},
	{"do not", -1}, {"no", -1}, {"nope", -1}, {"nah", -1},
	{"not", -1}, {"never", -1}, {"dont", -1}, {"negative", -1},
	{"incorrect", -1}, {"wrong", -1}, {"cannot", -1}, {"cant", -1},
};


/* 1 yes, -1 no, 0 neither */
static int yes_no(const struct toks *t)
{
	int pos = 0, neg = 0;

	for (size_t i = 0; i < t->n;) {
		size_t best = 0;
		int cls = 0;

		for (size_t k = 0; k < ARRAY_SIZE(yn_tab); k++) {
			size_t m = phrase_at(t, i, yn_tab[k].p);
			if (m > best) {
				best = m;
				cls = yn_tab[k].cls;
			}
		}
		if (!best) {
			++i;
			continue;
		}
		i += best;
		if (cls > 0)
			++pos;
		else if (cls < 0)
			++neg;
	}
	return neg ? -1 : pos ? 1 : 0;
}


/* ---- numbers ---- */

enum nk { NK_NONE, NK_DIGITS, NK_UNIT, NK_TEEN, NK_TENS, NK_HUNDRED,
	  NK_SCALE, NK_AND, NK_A };

static const char *const units[] = {
	"zero", "one", "two", "three", "four", "five", "six", "seven",
	"eight", "nine", "ten", "eleven", "twelve", "thirteen", "fourteen",
	"fifteen", "sixteen", "seventeen", "eighteen", "nineteen",
};
static const char *const tens[] = {
	"twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty",
	"ninety",
};


static bool all_digits(const char *w)
{
	if (!*w)
		return false;
	for (; *w; w++) {
		if (!is_digit(*w))
			return false;
	}
	return true;
}


static enum nk numword(const char *w, uint64_t *vp)
{
	*vp = 0;
	if (all_digits(w))
		return NK_DIGITS;
	for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
		if (!strcmp(w, units[i])) {
			*vp = i;
			return i < 10 ? NK_UNIT : NK_TEEN;
		}
	}
	if (!strcmp(w, "oh"))
		return NK_UNIT;
	for (size_t i = 0; i < ARRAY_SIZE(tens); i++) {
		if (!strcmp(w, tens[i])) {
			*vp = 20 + 10 * i;
			return NK_TENS;
		}
	}
	if (!strcmp(w, "hundred")) {
		*vp = 100;
		return NK_HUNDRED;
	}
	if (!strcmp(w, "thousand")) {
		*vp = 1000;
		return NK_SCALE;
	}
	if (!strcmp(w, "million")) {
		*vp = 1000000;
		return NK_SCALE;
	}
	if (!strcmp(w, "and"))
		return NK_AND;
	if (!strcmp(w, "a"))
		return NK_A;
	return NK_NONE;
}


static enum nk nk_at(const struct toks *t, size_t i)
{
	uint64_t v;

	return i < t->n ? numword(t->w[i], &v) : NK_NONE;
}


static bool nk_value_word(enum nk k)
{
	return k == NK_DIGITS || k == NK_UNIT || k == NK_TEEN ||
		k == NK_TENS || k == NK_HUNDRED || k == NK_SCALE;
}


/* can the word at i begin a number? ("oh" and "a" need company) */
static bool num_starts(const struct toks *t, size_t i)
{
	enum nk k = nk_at(t, i), next = nk_at(t, i + 1);

	if (k == NK_A)
		return next == NK_HUNDRED || next == NK_SCALE;
	if (k == NK_UNIT && !strcmp(t->w[i], "oh"))
		return nk_value_word(next);
	return nk_value_word(k);
}


struct numgrp {
	bool open;
	const char *digits;  /* a group of one digit token, as written */
	uint64_t total, cur, last_scale;
	enum nk last;
};


static int grp_flush(struct numgrp *g, char *out, size_t *np)
{
	char tmp[32];
	const char *s = tmp;
	size_t l;

	if (!g->open)
		return 0;
	if (g->digits)
		s = g->digits;
	else
		(void)re_snprintf(tmp, sizeof(tmp), "%llu",
				  (unsigned long long)(g->total + g->cur));
	l = strlen(s);
	if (*np + l >= MAX_NUMBER)
		return ENOENT;
	memcpy(out + *np, s, l);
	*np += l;
	out[*np] = '\0';
	memset(g, 0, sizeof(*g));
	return 0;
}


/* join word kind k (value v) to the group g; false: it starts another */
static bool grp_join(struct numgrp *g, enum nk k, uint64_t v)
{
	enum nk l = g->last;
	bool after_big = l == NK_HUNDRED || l == NK_SCALE || l == NK_AND;

	if (!g->open)
		return false;

	switch (k) {

	case NK_UNIT:
		if (!(after_big || (l == NK_TENS && v > 0)))
			return false;
		g->cur += v;
		break;

	case NK_TEEN:
	case NK_TENS:
		if (!after_big || (l == NK_HUNDRED && g->cur % 100) ||
		    (l == NK_AND && g->cur % 100))
			return false;
		g->cur += v;
		break;

	case NK_HUNDRED:
		if (!(l == NK_UNIT || l == NK_TEEN || l == NK_TENS ||
		      l == NK_DIGITS) || g->cur == 0 || g->cur >= 100)
			return false;
		g->cur *= 100;
		g->digits = NULL;
		break;

	case NK_SCALE:
		if (!(l == NK_UNIT || l == NK_TEEN || l == NK_TENS ||
		      l == NK_HUNDRED || l == NK_DIGITS) || g->cur == 0 ||
		    (g->last_scale && v >= g->last_scale))
			return false;
		g->total += g->cur * v;
		g->cur = 0;
		g->last_scale = v;
		g->digits = NULL;
		break;

	default:
		return false;
	}
	g->last = k;
	return true;
}


static void grp_start(struct numgrp *g, const char *w, enum nk k, uint64_t v)
{
	memset(g, 0, sizeof(*g));
	g->open = true;
	g->last = k;
	if (k == NK_DIGITS) {
		g->digits = w;
		/* small enough to take "hundred" or "thousand" after it */
		if (strlen(w) <= 3) {
			for (const char *p = w; *p; p++)
				g->cur = g->cur * 10 + (uint64_t)(*p - '0');
		}
		return;
	}
	if (k == NK_SCALE) {
		g->total = v;
		g->last_scale = v;
		return;
	}
	g->cur = v;
}


static int number(char **valuep, const struct toks *t)
{
	char out[MAX_NUMBER];
	struct numgrp g;
	size_t i = 0, n = 0;
	int err;

	while (i < t->n && !num_starts(t, i))
		++i;
	if (i == t->n)
		return ENOENT;

	memset(&g, 0, sizeof(g));
	out[0] = '\0';
	for (; i < t->n; i++) {
		uint64_t v;
		enum nk k = numword(t->w[i], &v);

		if (k == NK_NONE)
			break;
		if (k == NK_A) {
			enum nk next = nk_at(t, i + 1);
			if (next != NK_HUNDRED && next != NK_SCALE)
				break;
			k = NK_UNIT;
			v = 1;
		}
		if (k == NK_AND) {
			enum nk next = nk_at(t, i + 1);
			if (!g.open || !(g.last == NK_HUNDRED ||
					 g.last == NK_SCALE) ||
			    !(next == NK_UNIT || next == NK_TEEN ||
			      next == NK_TENS))
				break;
			g.last = NK_AND;
			continue;
		}
		if (k == NK_UNIT && !strcmp(t->w[i], "oh") &&
		    !(g.open || nk_value_word(nk_at(t, i + 1))))
			break;
		if (grp_join(&g, k, v))
			continue;
		err = grp_flush(&g, out, &n);
		if (err)
			return err;
		grp_start(&g, t->w[i], k, v);
	}
	err = grp_flush(&g, out, &n);
	if (err)
		return err;
	if (!n)
		return ENOENT;
	return str_dup(valuep, out);
}


/* ---- dates ---- */

static const char *const months[] = {
	"january", "february", "march", "april", "may", "june", "july",
	"august", "september", "october", "november", "december",
};
static const char *const weekdays[] = {
	"monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
	"sunday",
};
static const char *const ordinals[] = {
	"zeroth", "first", "second", "third", "fourth", "fifth", "sixth",
	"seventh", "eighth", "ninth", "tenth", "eleventh", "twelfth",
	"thirteenth", "fourteenth", "fifteenth", "sixteenth", "seventeenth",
	"eighteenth", "nineteenth", "twentieth",
};


static int month_of(const char *w)
{
	static const char *const abbr[] = {
		"jan", "feb", NULL, "apr", NULL, NULL, NULL, "aug", "sept",
		"oct", "nov", "dec",
	};

	for (int i = 0; i < 12; i++) {
		if (!strcmp(w, months[i]) || (abbr[i] && !strcmp(w, abbr[i])))
			return i + 1;
	}
	return 0;
}


static int ordinal_word(const char *w)
{
	for (size_t i = 1; i < ARRAY_SIZE(ordinals); i++) {
		if (!strcmp(w, ordinals[i]))
			return (int)i;
	}
	if (!strcmp(w, "thirtieth"))
		return 30;
	return 0;
}


/* "3", "3rd", "21st": the number, or 0 */
static int digit_ordinal(const char *w)
{
	int v = 0;
	size_t i = 0;

	while (is_digit(w[i]) && i < 3)
		v = v * 10 + (w[i++] - '0');
	if (!i || is_digit(w[i]))
		return 0;
	if (w[i] && strcmp(w + i, "st") && strcmp(w + i, "nd") &&
	    strcmp(w + i, "rd") && strcmp(w + i, "th"))
		return 0;
	return v;
}


/* a day of the month at i ("third", "3rd", "twenty first", "thirty
 * one"): its number, *np the words used; 0 when none */
static int day_at(const struct toks *t, size_t i, size_t *np)
{
	uint64_t v;
	enum nk k;
	int d;

	if (i >= t->n)
		return 0;
	*np = 1;
	d = digit_ordinal(t->w[i]);
	if (d)
		return d <= 31 ? d : 0;
	d = ordinal_word(t->w[i]);
	if (d)
		return d;
	k = numword(t->w[i], &v);
	if (k == NK_TENS && (v == 20 || v == 30)) {
		if (i + 1 < t->n) {
			uint64_t u;
			int o = ordinal_word(t->w[i + 1]);
			if (o >= 1 && o <= 9 && v + (uint64_t)o <= 31) {
				*np = 2;
				return (int)v + o;
			}
			if (numword(t->w[i + 1], &u) == NK_UNIT && u >= 1 &&
			    v + u <= 31 && strcmp(t->w[i + 1], "oh")) {
				*np = 2;
				return (int)(v + u);
			}
		}
		return (int)v;
	}
	if ((k == NK_UNIT || k == NK_TEEN) && v >= 1 &&
	    strcmp(t->w[i], "oh"))
		return (int)v;
	return 0;
}


static bool day_valid(int month, int day)
{
	static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31,
				    30, 31};

	return month >= 1 && month <= 12 && day >= 1 &&
		day <= mdays[month - 1];
}


static int year_at(const struct toks *t, size_t i)
{
	int y = 0;

	if (i >= t->n || strlen(t->w[i]) != 4 || !all_digits(t->w[i]))
		return 0;
	for (int k = 0; k < 4; k++)
		y = y * 10 + (t->w[i][k] - '0');
	return y >= 1900 && y <= 2199 ? y : 0;
}


/* the last month-and-day in t: "--MM-DD" or "YYYY-MM-DD" into out */
static bool month_date(const struct toks *t, char out[16])
{
	bool found = false;

	for (size_t i = 0; i < t->n; i++) {
		size_t n = 0, j;
		int m = month_of(t->w[i]), d = 0, y;

		if (m) {
			/* "march third", "march the 3rd" */
			j = i + 1;
			if (tok_is(t, j, "the"))
				++j;
			d = day_at(t, j, &n);
			j += n;
		}
		else {
			/* "third of march", "3 march" */
			d = day_at(t, i, &n);
			if (!d)
				continue;
			j = i + n;
			if (tok_is(t, j, "of"))
				++j;
			m = j < t->n ? month_of(t->w[j]) : 0;
			if (!m)
				continue;
			++j;
		}
		if (!day_valid(m, d))
			continue;
		y = year_at(t, j);
		if (y)
			(void)re_snprintf(out, 16, "%04d-%02d-%02d", y, m, d);
		else
			(void)re_snprintf(out, 16, "--%02d-%02d", m, d);
		found = true;
		i = j - 1;   /* on after the words used */
	}
	return found;
}


static int date(char **valuep, const struct toks *t)
{
	char out[32];
	const char *last = NULL;
	bool next = false;

	if (month_date(t, out))
		return str_dup(valuep, out);

	for (size_t i = 0; i < t->n; i++) {
		const char *w = t->w[i];

		if (!strcmp(w, "today") || !strcmp(w, "tonight")) {
			last = "today";
			next = false;
		}
		else if (!strcmp(w, "tomorrow")) {
			last = "tomorrow";
			next = false;
		}
		for (size_t k = 0; k < ARRAY_SIZE(weekdays); k++) {
			if (tok_eq(w, weekdays[k])) {
				last = weekdays[k];
				next = i > 0 && !strcmp(t->w[i - 1], "next");
			}
		}
	}
	if (!last)
		return ENOENT;
	if (next)
		return re_sdprintf(valuep, "next %s", last);
	return str_dup(valuep, last);
}


/* ---- choices ---- */

/* ordinal words and numbers picking one of n by position: 1..n, 0 */
static size_t ordinal_pick(const struct toks *t, size_t n)
{
	size_t pick = 0;

	for (size_t i = 0; i < t->n; i++) {
		const char *w = t->w[i];
		int o = ordinal_word(w);
		uint64_t v;

		if (!o && digit_ordinal(w) && !all_digits(w))
			o = digit_ordinal(w);
		if (!o && !strcmp(w, "last") &&
		    (tok_is(t, i + 1, "one") || t->n <= 3))
			o = (int)n;
		if (!o && (!strcmp(w, "number") || !strcmp(w, "option") ||
			   !strcmp(w, "choice")) && i + 1 < t->n) {
			enum nk k = numword(t->w[i + 1], &v);
			if (k == NK_DIGITS && strlen(t->w[i + 1]) <= 2)
				v = (uint64_t)digit_ordinal(t->w[i + 1]);
			if (k == NK_UNIT || k == NK_TEEN || k == NK_DIGITS)
				o = (int)v;
		}
		if (o >= 1 && (size_t)o <= n)
			pick = (size_t)o;
	}

	/* a lone number: "two", "2" */
	if (!pick && t->n == 1) {
		uint64_t v;
		enum nk k = numword(t->w[0], &v);
		if (k == NK_DIGITS && strlen(t->w[0]) <= 2)
			v = (uint64_t)digit_ordinal(t->w[0]);
		if ((k == NK_UNIT || k == NK_TEEN || k == NK_DIGITS) &&
		    v >= 1 && v <= n)
			pick = (size_t)v;
	}
	return pick;
}


/* where phrase p (a token list) occurs in t last: end index + 1, or 0 */
static size_t occurs_last(const struct toks *t, const struct toks *p)
{
	size_t end = 0;

	if (!p->n || p->n > t->n)
		return 0;
	for (size_t i = 0; i + p->n <= t->n; i++) {
		size_t k = 0;
		while (k < p->n && tok_eq(t->w[i + k], p->w[k]))
			++k;
		if (k == p->n)
			end = i + k;
	}
	return end;
}


static const struct odict_entry *nth_entry(const struct odict *o, size_t n)
{
	size_t i = 1;

	for (struct le *le = o ? o->lst.head : NULL; le; le = le->next, i++) {
		if (i == n)
			return le->data;
	}
	return NULL;
}


static int choice(char **valuep, const struct toks *t,
		  const struct odict *choices)
{
	const char *best = NULL;
	size_t best_len = 0, best_end = 0, n = 0;
	struct le *le;
	int err = 0;

	for (le = choices ? choices->lst.head : NULL; le; le = le->next) {
		const struct odict_entry *e = le->data;
		struct toks p;
		size_t end;

		++n;
		if (e->type != ODICT_STRING)
			continue;
		err = toks_split(&p, e->u.str);
		if (err)
			return err;
		end = occurs_last(t, &p);
		if (end && (p.n > best_len ||
			    (p.n == best_len && end > best_end))) {
			best = e->u.str;
			best_len = p.n;
			best_end = end;
		}
		toks_reset(&p);
	}
	if (!best) {
		const struct odict_entry *e = nth_entry(choices,
						       ordinal_pick(t, n));
		if (e && e->type == ODICT_STRING)
			best = e->u.str;
	}
	return best ? str_dup(valuep, best) : ENOENT;
}


/* ---- intents ---- */

static bool stopword(const char *w)
{
	static const char *const sw[] = {
		"a", "an", "the", "i", "im", "id", "ill", "to", "of", "and",
		"or", "is", "it", "its", "my", "me", "you", "your", "for",
		"in", "on", "at", "be", "would", "like", "want", "please",
		"can", "could", "this", "that", "with", "about", "some",
	};

	for (size_t i = 0; i < ARRAY_SIZE(sw); i++) {
		if (!strcmp(w, sw[i]))
			return true;
	}
	return false;
}


static bool has_tok(const struct toks *t, const char *w)
{
	for (size_t i = 0; i < t->n; i++) {
		if (tok_eq(t->w[i], w))
			return true;
	}
	return false;
}


/* share of the phrase's content words in t, in 1/1000; *matchedp */
static unsigned overlap(const struct toks *t, const struct toks *p,
			size_t *matchedp)
{
	size_t total = 0, matched = 0;
	bool content = false;

	for (size_t i = 0; i < p->n; i++)
		content |= !stopword(p->w[i]);
	for (size_t i = 0; i < p->n; i++) {
		if (content && stopword(p->w[i]))
			continue;
		++total;
		matched += has_tok(t, p->w[i]);
	}
	*matchedp = matched;
	return total ? (unsigned)(matched * 1000 / total) : 0;
}


static int intent(char **valuep, const struct toks *t,
		  const struct odict *intents)
{
	const char *best = NULL;
	unsigned best_score = 0;
	size_t best_matched = 0;

	for (struct le *le = intents ? intents->lst.head : NULL; le;
	     le = le->next) {
		const struct odict_entry *e = le->data;
		struct le *pe;

		if (e->type != ODICT_ARRAY)
			continue;
		for (pe = e->u.odict->lst.head; pe; pe = pe->next) {
			const struct odict_entry *ph = pe->data;
			struct toks p;
			size_t matched;
			unsigned score;
			int err;

			if (ph->type != ODICT_STRING)
				continue;
			err = toks_split(&p, ph->u.str);
			if (err)
				return err;
			score = overlap(t, &p, &matched);
			toks_reset(&p);
			if (score < 500 || !matched)
				continue;
			if (score > best_score || (score == best_score &&
						   matched > best_matched)) {
				best = e->key;
				best_score = score;
				best_matched = matched;
			}
		}
	}
	return best ? str_dup(valuep, best) : ENOENT;
}


static int free_text(char **valuep, const char *text)
{
	struct pl pl;

	pl_set_str(&pl, text);
	while (pl.l && strchr(" \t\r\n\v\f", pl.p[0]))
		pl_advance(&pl, 1);
	while (pl.l && strchr(" \t\r\n\v\f", pl.p[pl.l - 1]))
		--pl.l;
	return pl.l ? pl_strdup(valuep, &pl) : ENOENT;
}


int intent_match(char **valuep, const struct intent_spec *spec,
		 const char *text)
{
	struct toks t;
	int err, yn;

	if (!valuep || !spec)
		return EINVAL;
	if (!text)
		return ENOENT;

	err = toks_split(&t, text);
	if (err)
		return err;

	if (!t.n) {
		err = ENOENT;
		goto out;
	}

	switch (spec->expect) {

	case INTENT_YES_NO:
		yn = yes_no(&t);
		err = yn ? str_dup(valuep, yn > 0 ? "yes" : "no") : ENOENT;
		break;

	case INTENT_NUMBER:
		err = number(valuep, &t);
		break;

	case INTENT_DATE:
		err = date(valuep, &t);
		break;

	case INTENT_CHOICE:
		err = choice(valuep, &t, spec->choices);
		break;

	case INTENT_INTENT:
		err = intent(valuep, &t, spec->intents);
		break;

	case INTENT_FREE_TEXT:
		err = free_text(valuep, text);
		break;

	default:
		err = EINVAL;
		break;
	}
 out:
	toks_reset(&t);
	return err;
}


int intent_dtmf(char **valuep, const struct intent_spec *spec,
		const char *digits)
{
	const struct odict_entry *e;
	size_t idx;

	if (!valuep || !spec || !digits)
		return EINVAL;
	if (!all_digits(digits))
		return ENOENT;

	switch (spec->expect) {

	case INTENT_NUMBER:
		return str_dup(valuep, digits);

	case INTENT_YES_NO:
		if (!strcmp(digits, "1"))
			return str_dup(valuep, "yes");
		if (!strcmp(digits, "2"))
			return str_dup(valuep, "no");
		return ENOENT;

	case INTENT_CHOICE:
	case INTENT_INTENT:
		if (strlen(digits) != 1 || digits[0] == '0')
			return ENOENT;
		idx = (size_t)(digits[0] - '0');
		if (spec->expect == INTENT_CHOICE) {
			e = nth_entry(spec->choices, idx);
			return e && e->type == ODICT_STRING ?
				str_dup(valuep, e->u.str) : ENOENT;
		}
		e = nth_entry(spec->intents, idx);
		return e ? str_dup(valuep, e->key) : ENOENT;

	default:
		return ENOENT;
	}
}


/* ---- grammars ---- */

static const char jsgf_head[] = "#JSGF V1.0;\ngrammar parley;\n"
	"public <answer> = ";

/* few, distinct words: variants that sound alike ("yeah", "yep") are
 * left out, so the recogniser hears them as "yes" instead of guessing
 * between near twins */
static const char yes_no_rule[] =
	"yes | sure | correct | right | okay | of course | absolutely | "
	"go ahead | no | nope | not interested | no thanks | never | don't";

static const char number_rules[] = "<num>+ ;\n"
	"<num> = zero | oh | one | two | three | four | five | six | seven | "
	"eight | nine | ten | eleven | twelve | thirteen | fourteen | "
	"fifteen | sixteen | seventeen | eighteen | nineteen | twenty | "
	"thirty | forty | fifty | sixty | seventy | eighty | ninety | "
	"hundred | thousand | million | and | a";

static const char date_rules[] =
	"[on] [next | this] (today | tomorrow | monday | tuesday | "
	"wednesday | thursday | friday | saturday | sunday) | "
	"[on] [the] <day> of <month> | [on] <month> [the] <day> ;\n"
	"<month> = january | february | march | april | may | june | july | "
	"august | september | october | november | december ;\n"
	"<day> = first | second | third | fourth | fifth | sixth | seventh | "
	"eighth | ninth | tenth | eleventh | twelfth | thirteenth | "
	"fourteenth | fifteenth | sixteenth | seventeenth | eighteenth | "
	"nineteenth | twentieth | twenty (first | second | third | fourth | "
	"fifth | sixth | seventh | eighth | ninth) | thirtieth | "
	"thirty first";


/* the words of s as lower-case [a-z'] words separated by spaces into mb;
 * false when nothing of s could be written */
static bool jsgf_words(struct mbuf *mb, const char *s, bool sep)
{
	bool any = false, inword = false;
	size_t start = mb->pos;

	if (sep)
		(void)mbuf_write_str(mb, " | ");

	for (; *s; s++) {
		char c = *s;

		if (c >= 'A' && c <= 'Z')
			c = (char)(c + 32);
		if ((c >= 'a' && c <= 'z') ||
		    (c == '\'' && inword && ((s[1] >= 'a' && s[1] <= 'z') ||
					     (s[1] >= 'A' && s[1] <= 'Z')))) {
			if (!inword && any)
				(void)mbuf_write_u8(mb, ' ');
			(void)mbuf_write_u8(mb, (uint8_t)c);
			inword = any = true;
		}
		else {
			inword = false;
		}
	}
	if (!any) {
		mb->pos = mb->end = start;
	}
	return any;
}


int intent_grammar(char **jsgfp, const struct intent_spec *spec)
{
	static const char *const ord[] = {"first", "second", "third",
		"fourth", "fifth", "sixth", "seventh", "eighth", "ninth",
		"tenth"};
	struct mbuf *mb;
	bool any = false;
	size_t n = 0;
	int err = 0;

	if (!jsgfp || !spec)
		return EINVAL;
	*jsgfp = NULL;
	if (spec->expect == INTENT_FREE_TEXT)
		return 0;

	mb = mbuf_alloc(512);
	if (!mb)
		return ENOMEM;
	err = mbuf_write_str(mb, jsgf_head);

	switch (spec->expect) {

	case INTENT_YES_NO:
		err |= mbuf_write_str(mb, yes_no_rule);
		any = true;
		break;

	case INTENT_NUMBER:
		err |= mbuf_write_str(mb, number_rules);
		any = true;
		break;

	case INTENT_DATE:
		err |= mbuf_write_str(mb, date_rules);
		any = true;
		break;

	case INTENT_CHOICE:
		err |= mbuf_write_str(mb, "[the] (");
		for (struct le *le = spec->choices ?
			     spec->choices->lst.head : NULL; le;
		     le = le->next) {
			const struct odict_entry *e = le->data;
			++n;
			if (e->type == ODICT_STRING)
				any |= jsgf_words(mb, e->u.str, any);
		}
		if (any && n) {
			err |= mbuf_write_str(mb, " | (");
			for (size_t i = 0; i < n && i < ARRAY_SIZE(ord); i++)
				err |= mbuf_printf(mb, "%s%s", i ? " | " : "",
						   ord[i]);
			err |= mbuf_write_str(mb, " | last) [one]");
		}
		err |= mbuf_write_str(mb, ")");
		break;

	case INTENT_INTENT:
		for (struct le *le = spec->intents ?
			     spec->intents->lst.head : NULL; le;
		     le = le->next) {
			const struct odict_entry *e = le->data;
			if (e->type != ODICT_ARRAY)
				continue;
			for (struct le *pe = e->u.odict->lst.head; pe;
			     pe = pe->next) {
				const struct odict_entry *ph = pe->data;
				if (ph->type == ODICT_STRING)
					any |= jsgf_words(mb, ph->u.str, any);
			}
		}
		break;

	default:
		break;
	}

	err |= mbuf_write_str(mb, " ;\n");
	if (err) {
		err = ENOMEM;
		goto out;
	}
	if (any) {
		mb->pos = 0;
		err = mbuf_strdup(mb, jsgfp, mb->end);
	}
 out:
	mem_deref(mb);
	return err;
}
