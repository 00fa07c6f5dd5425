/* script.c - the caller-script parser and its speech synthesis.
 *
 * Scripts are written by users and shared between teams, so the parser
 * refuses anything it does not understand rather than guess: an unknown
 * directive, a malformed number, a control character or invalid UTF-8
 * (the text ends up in JSON and in the synthesiser) all name their line.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <re.h>
#include "sim/script.h"
#include "speech/tts.h"

/* samples quieter than this at either end of a synthesis are trimmed */
enum { TRIM_LEVEL = 32 };   /* ~ -60 dBFS */

static void script_destructor(void *data)
{
	struct script *sc = data;

	for (size_t i = 0; i < sc->n; i++) {
		mem_deref(sc->steps[i].text);
		mem_deref(sc->steps[i].pcm);
	}
	mem_deref(sc->steps);
}

const char *script_kind_name(enum script_kind kind)
{
	switch (kind) {
	case SCRIPT_SAY:           return "say";
	case SCRIPT_WAIT:          return "wait";
	case SCRIPT_BARGE:         return "barge";
	case SCRIPT_DTMF:          return "dtmf";
	case SCRIPT_HANGUP:        return "hangup";
	case SCRIPT_EXPECT_HANGUP: return "expect-hangup";
	default:                   return "?";
	}
}

static int fail(struct script_err *errp, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct script_err *errp, unsigned line, const char *fmt, ...)
{
	va_list ap;

	if (errp) {
		errp->line = line;
		va_start(ap, fmt);
		vsnprintf(errp->msg, sizeof(errp->msg), fmt, ap);
		va_end(ap);
	}
	return EBADMSG;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Length of the valid UTF-8 sequence at p (at most n bytes), 0 when it
 * is not one: no overlong forms, surrogates or code points past U+10FFFF
 * (RFC 3629). */
static size_t utf8_len(const uint8_t *p, size_t n)
{
	size_t len, i;
	uint32_t cp;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		len = 2;
		cp = p[0] & 0x1f;
	}
	else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		len = 3;
		cp = p[0] & 0x0f;
	}
	else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		len = 4;
		cp = p[0] & 0x07;
	}
	else {
		return 0;
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return len;
}

/* Every byte of a line: no NUL or other control character but tab, and
 * valid UTF-8. */
static int check_bytes(const char *p, size_t n, unsigned line,
		       struct script_err *errp)
{
	for (size_t i = 0; i < n;) {
		uint8_t c = (uint8_t)p[i];
		size_t k;

		if (c == 0)
			return fail(errp, line, "NUL byte in the script");
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return fail(errp, line, "control character 0x%02x",
				    c);
		k = utf8_len((const uint8_t *)p + i, n - i);
		if (!k)
			return fail(errp, line, "invalid UTF-8");
		i += k;
	}
	return 0;
}

/* "2", "0.5", "1.250": seconds with at most three decimals, to ms */
static bool parse_seconds(const char *p, size_t n, uint32_t max_ms,
			  uint32_t *msp)
{
	uint64_t ms = 0;
	size_t i = 0, dec = 0;
	bool dot = false, digits = false;

	for (; i < n; i++) {
		if (p[i] == '.' && !dot) {
			dot = true;
			continue;
		}
		if (p[i] < '0' || p[i] > '9')
			return false;
		digits = true;
		if (dot && ++dec > 3)
			return false;
		ms = ms * 10 + (uint64_t)(p[i] - '0');
		if (ms > (uint64_t)max_ms * 1000)
			return false;
	}
	if (!digits)
		return false;
	for (; dec < 3; dec++)
		ms *= 10;
	if (ms > max_ms)
		return false;
	*msp = (uint32_t)ms;
	return true;
}

/* the next blank-separated word of [*pp, end), blanks skipped */
static struct pl next_word(const char **pp, const char *end)
{
	const char *p = *pp;
	struct pl w;

	while (p < end && is_blank(*p))
		p++;
	w.p = p;
	while (p < end && !is_blank(*p))
		p++;
	w.l = (size_t)(p - w.p);
	while (p < end && is_blank(*p))
		p++;
	*pp = p;
	return w;
}

static int add_text(struct script_step *st, const char *p, size_t n)
{
	st->text = mem_alloc(n + 1, NULL);
	if (!st->text)
		return ENOMEM;
	memcpy(st->text, p, n);
	st->text[n] = '\0';
	return 0;
}

/* One directive line (p points after the '@', blanks trimmed at end). */
static int parse_directive(struct script_step *st, const char *p,
			   const char *end, unsigned line,
			   struct script_err *errp)
{
	struct pl name = next_word(&p, end);
	struct pl arg;

	if (!pl_strcasecmp(&name, "wait")) {
		st->kind = SCRIPT_WAIT;
		arg = next_word(&p, end);
		if (!parse_seconds(arg.p, arg.l, SCRIPT_MAX_WAIT_MS, &st->ms) ||
		    !st->ms || p != end)
			return fail(errp, line, "@wait needs one duration in "
				    "seconds, more than 0 and at most 3600 "
				    "(e.g. @wait 2.5)");
		return 0;
	}
	if (!pl_strcasecmp(&name, "barge")) {
		st->kind = SCRIPT_BARGE;
		arg = next_word(&p, end);
		if (!parse_seconds(arg.p, arg.l, SCRIPT_MAX_BARGE_MS, &st->ms))
			return fail(errp, line, "@barge needs a delay in "
				    "seconds (0 to 600) and then the text "
				    "(e.g. @barge 1.5 Sorry, one question)");
		if (p == end)
			return fail(errp, line, "@barge needs the text to say "
				    "after the delay");
		return add_text(st, p, (size_t)(end - p));
	}
	if (!pl_strcasecmp(&name, "dtmf")) {
		st->kind = SCRIPT_DTMF;
		arg = next_word(&p, end);
		if (!arg.l || p != end || arg.l > SCRIPT_MAX_DIGITS)
			return fail(errp, line, "@dtmf needs one word of 1 to "
				    "%d digits (0-9 * # A-D), e.g. @dtmf 1234#",
				    SCRIPT_MAX_DIGITS);
		for (size_t i = 0; i < arg.l; i++) {
			if (!strchr("0123456789*#ABCDabcd", arg.p[i]))
				return fail(errp, line, "@dtmf: '%c' is not a "
					    "DTMF digit (0-9 * # A-D)",
					    arg.p[i]);
		}
		if (add_text(st, arg.p, arg.l))
			return ENOMEM;
		for (char *d = st->text; *d; d++)
			if (*d >= 'a' && *d <= 'd')
				*d = (char)(*d - 'a' + 'A');
		return 0;
	}
	if (!pl_strcasecmp(&name, "hangup") ||
	    !pl_strcasecmp(&name, "expect-hangup")) {
		st->kind = name.l == 6 ? SCRIPT_HANGUP : SCRIPT_EXPECT_HANGUP;
		if (p != end)
			return fail(errp, line, "@%s takes no argument",
				    script_kind_name(st->kind));
		return 0;
	}
	if (!name.l)
		return fail(errp, line, "a directive name must follow '@' "
			    "(@wait, @barge, @dtmf, @hangup, @expect-hangup)");
	return fail(errp, line, "unknown directive '@%.*s' (known: @wait, "
		    "@barge, @dtmf, @hangup, @expect-hangup)",
		    (int)(name.l > 40 ? 40 : name.l), name.p);
}

int script_parse(struct script **scp, const char *buf, size_t len,
		 struct script_err *errp)
{
	struct script *sc;
	const char *p = buf, *end = buf + len;
	size_t cap = 0;
	unsigned line = 0, final_line = 0;
	int err = 0;

	if (!scp || (!buf && len))
		return EINVAL;
	sc = mem_zalloc(sizeof(*sc), script_destructor);
	if (!sc)
		return ENOMEM;

	if (len >= 3 && !memcmp(p, "\xef\xbb\xbf", 3))
		p += 3;

	while (p < end && !err) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end, *s = p, *e;
		struct script_step *st;

		p = nl ? nl + 1 : end;
		++line;
		if (le > s && le[-1] == '\r')
			--le;
		if ((size_t)(le - s) > SCRIPT_MAX_LINE) {
			err = fail(errp, line, "line longer than %d bytes",
				   SCRIPT_MAX_LINE);
			break;
		}
		err = check_bytes(s, (size_t)(le - s), line, errp);
		if (err)
			break;
		e = le;
		while (s < e && is_blank(*s))
			s++;
		while (e > s && is_blank(e[-1]))
			e--;
		if (s == e || *s == '#')
			continue;

		if (final_line) {
			err = fail(errp, line, "nothing can follow @%s "
				   "(line %u)", script_kind_name(
					   sc->steps[sc->n - 1].kind),
				   final_line);
			break;
		}
		if (sc->n >= SCRIPT_MAX_STEPS) {
			err = fail(errp, line, "more than %d steps",
				   SCRIPT_MAX_STEPS);
			break;
		}
		if (sc->n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			struct script_step *ns = mem_reallocarray(sc->steps,
						ncap, sizeof(*ns), NULL);
			if (!ns) {
				err = ENOMEM;
				break;
			}
			sc->steps = ns;
			cap = ncap;
		}
		st = &sc->steps[sc->n++];
		memset(st, 0, sizeof(*st));
		st->line = line;

		if (*s == '@') {
			err = parse_directive(st, s + 1, e, line, errp);
			if (!err && (st->kind == SCRIPT_HANGUP ||
				     st->kind == SCRIPT_EXPECT_HANGUP))
				final_line = line;
		}
		else {
			st->kind = SCRIPT_SAY;
			err = add_text(st, s, (size_t)(e - s));
		}
	}

	if (!err && !sc->n)
		err = fail(errp, 0, "the script has no steps (only blank lines "
			   "and comments)");
	if (err)
		mem_deref(sc);
	else
		*scp = sc;
	return err;
}

int script_load(struct script **scp, const char *path,
		struct script_err *errp)
{
	struct stat stt;
	char *buf = NULL;
	ssize_t n;
	size_t got = 0;
	int fd, err = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = errno;
		fail(errp, 0, "cannot open: %s", strerror(err));
		return err;
	}
	if (fstat(fd, &stt) || !S_ISREG(stt.st_mode)) {
		err = EISDIR;
		fail(errp, 0, "not a regular file");
		goto out;
	}
	if (stt.st_size > SCRIPT_MAX_FILE) {
		err = fail(errp, 0, "larger than %d bytes", SCRIPT_MAX_FILE);
		goto out;
	}
	buf = mem_alloc((size_t)stt.st_size + 1, NULL);
	if (!buf) {
		err = ENOMEM;
		goto out;
	}
	/* the size may change under us: read what is there, up to the cap */
	while (got < (size_t)stt.st_size + 1) {
		n = read(fd, buf + got, (size_t)stt.st_size + 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = errno;
			fail(errp, 0, "cannot read: %s", strerror(err));
			goto out;
		}
		if (!n)
			break;
		got += (size_t)n;
	}
	if (got > (size_t)stt.st_size) {
		err = fail(errp, 0, "the file grew while being read");
		goto out;
	}
	err = script_parse(scp, buf, got, errp);

 out:
	close(fd);
	mem_deref(buf);
	return err;
}

/* the audible part of a synthesis, as a new buffer */
static int trimmed(int16_t **pcmp, size_t *np, const int16_t *pcm, size_t n)
{
	size_t a = 0, b = n;

	while (a < b && pcm[a] > -TRIM_LEVEL && pcm[a] < TRIM_LEVEL)
		a++;
	while (b > a && pcm[b - 1] > -TRIM_LEVEL && pcm[b - 1] < TRIM_LEVEL)
		b--;
	if (a == b)
		return ENODATA;
	*pcmp = mem_alloc((b - a) * sizeof(**pcmp), NULL);
	if (!*pcmp)
		return ENOMEM;
	memcpy(*pcmp, pcm + a, (b - a) * sizeof(**pcmp));
	*np = b - a;
	return 0;
}

int script_synth(struct script *sc, const struct tts_opts *opts,
		 struct script_err *errp)
{
	if (!sc)
		return EINVAL;

	for (size_t i = 0; i < sc->n; i++) {
		struct script_step *st = &sc->steps[i];
		int16_t *raw = NULL;
		size_t n = 0;
		int err;

		if ((st->kind != SCRIPT_SAY && st->kind != SCRIPT_BARGE) ||
		    st->pcm)
			continue;

		/* the same words said twice are synthesised once */
		for (size_t j = 0; j < i; j++) {
			const struct script_step *o = &sc->steps[j];
			if (o->pcm && !strcmp(o->text, st->text)) {
				st->pcm = mem_ref(o->pcm);
				st->n = o->n;
				break;
			}
		}
		if (st->pcm)
			continue;

		err = tts_synth(opts, st->text, &raw, &n);
		if (!err)
			err = trimmed(&st->pcm, &st->n, raw, n);
		mem_deref(raw);
		if (err) {
			if (errp) {
				errp->line = st->line;
				snprintf(errp->msg, sizeof(errp->msg),
					 "cannot synthesise: %s",
					 err == ENODATA ? "no audible speech" :
					 strerror(err));
			}
			return err;
		}
	}
	return 0;
}
