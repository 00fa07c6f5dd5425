/* worker.c - a speech worker thread's pocketsphinx decoder.
 *
 * One decoder per worker thread, created on its first recognition
 * (about 30 MB: acoustic model and dictionary). It holds several
 * searches that share that model:
 *
 *   - one per JSGF grammar seen recently, named after a hash of the
 *     grammar text, kept compiled for reuse (a scenario asks the same
 *     question of many callers) up to MAX_GRAMS, least recently used
 *     dropped first; a grammar that failed to compile is remembered too
 *     so it is not recompiled for every utterance;
 *   - the general language model, loaded into the same decoder when a
 *     recognition first needs free speech. As a second search it costs
 *     about 65 MB; a decoder of its own would cost about 93 MB.
 *
 * Grammars are checked (jsgf_check() below: sphinxbase's JSGF code
 * leaks, prints or exits on some input) and compiled here rather than
 * with ps_set_jsgf_string(), which leaks the parsed grammar in this
 * pocketsphinx. Their words are lower-cased, as the dictionary is.
 *
 * Phone audio is 8 kHz, the acoustic model 16 kHz: the audio is
 * upsampled (the model then sees nothing above 4 kHz, which costs
 * accuracy on fricatives; grammars keep that in check). Each utterance
 * is decoded whole, with cepstral mean normalisation over all of it.
 *
 * sphinxbase logging is process-global and not thread-safe (setting a
 * log file per decoder, "-logfn", closes the previous FILE under the
 * feet of decoders logging on other threads), so it is switched off
 * once for the process instead, before the first decoder exists.
 */

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <re.h>
#include <pocketsphinx.h>
#include <sphinxbase/err.h>
#include <sphinxbase/jsgf.h>
#include "audio/resample.h"
#include "speech/worker.h"

#define DEFAULT_MODEL "/usr/share/pocketsphinx/model/en-us"
#define LM_SEARCH     "_lm"

enum {
	IN_RATE   = 8000,
	PS_RATE   = 16000,
	MAX_GRAMS = 16,         /* compiled grammars kept per decoder */
	NAME_SZ   = 20,         /* "g" + 64-bit hash in hex */
};

struct gram {
	struct le le;
	char name[NAME_SZ];
	char *jsgf;             /* the text, to tell hash collisions */
	bool ok;                /* compiled; else it fell back to the LM */
};

struct speech_ctx {
	char *model;            /* model directory */
	ps_decoder_t *ps;       /* NULL until first use */
	int ps_err;             /* decoder creation failed: do not retry */
	bool lm;                /* LM_SEARCH is loaded */
	int lm_err;
	struct list grams;      /* most recently used first */
};

static pthread_once_t log_once = PTHREAD_ONCE_INIT;


static void log_off(void)
{
	err_set_callback(NULL, NULL);
	err_set_logfp(NULL);    /* the config dump writes to it directly */
}


static void gram_destructor(void *data)
{
	struct gram *g = data;

	list_unlink(&g->le);
	mem_deref(g->jsgf);
}


static void ctx_destructor(void *data)
{
	struct speech_ctx *ctx = data;

	list_flush(&ctx->grams);
	if (ctx->ps)
		ps_free(ctx->ps);
	mem_deref(ctx->model);
}


int speech_worker_init(void **ctxp, void *arg)
{
	const char *model = arg ? arg : DEFAULT_MODEL;
	struct speech_ctx *ctx;
	int err;

	if (!ctxp)
		return EINVAL;

	pthread_once(&log_once, log_off);

	ctx = mem_zalloc(sizeof(*ctx), ctx_destructor);
	if (!ctx)
		return ENOMEM;

	err = str_dup(&ctx->model, model);
	if (err)
		mem_deref(ctx);
	else
		*ctxp = ctx;

	return err;
}


void speech_worker_close(void *ctx, void *arg)
{
	mem_deref(ctx);
}


static bool model_file(const char *dir, const char *file)
{
	char path[512];

	if (re_snprintf(path, sizeof(path), "%s/%s", dir, file) < 0)
		return false;

	return access(path, R_OK) == 0;
}


static int decoder_open(struct speech_ctx *ctx)
{
	char hmm[512], dict[512];
	cmd_ln_t *cfg;

	if (ctx->ps)
		return 0;
	if (ctx->ps_err)
		return ctx->ps_err;

	/* sphinxbase exit()s on some missing model files: look first */
	if (!model_file(ctx->model, "en-us/mdef") ||
	    !model_file(ctx->model, "cmudict-en-us.dict")) {
		ctx->ps_err = ENOTSUP;
		return ctx->ps_err;
	}

	re_snprintf(hmm, sizeof(hmm), "%s/en-us", ctx->model);
	re_snprintf(dict, sizeof(dict), "%s/cmudict-en-us.dict", ctx->model);

	cfg = cmd_ln_init(NULL, ps_args(), TRUE, "-hmm", hmm, "-dict", dict,
			  NULL);
	if (!cfg) {
		ctx->ps_err = ENOTSUP;
		return ctx->ps_err;
	}

	ctx->ps = ps_init(cfg);
	cmd_ln_free_r(cfg);     /* the decoder keeps its own reference */
	if (!ctx->ps)
		ctx->ps_err = ENOTSUP;

	return ctx->ps_err;
}


static int lm_load(struct speech_ctx *ctx)
{
	char path[512];

	if (ctx->lm)
		return 0;
	if (ctx->lm_err)
		return ctx->lm_err;

	re_snprintf(path, sizeof(path), "%s/en-us.lm.bin", ctx->model);
	if (!model_file(ctx->model, "en-us.lm.bin") ||
	    ps_set_lm_file(ctx->ps, LM_SEARCH, path) < 0) {
		ctx->lm_err = ENOTSUP;
		return ctx->lm_err;
	}

	ctx->lm = true;

	return 0;
}


static uint64_t fnv1a64(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	}

	return h;
}


/* A grammar is checked before sphinxbase's JSGF code sees it, since
 * that code misbehaves on input it does not like: its scanner (flex)
 * echoes to stdout what it cannot match where a statement starts; its
 * parser (bison) leaks the tokens it had read on a syntax error;
 * building the FSG leaks on an undefined rule, <VOID>, a rule defined
 * twice, recursion other than at the end of a rule, and on every tag;
 * and a weight on <NULL> makes it exit().
 *
 * So the check follows the scanner's rules and the parser's grammar
 * exactly, then asks for a closed set of rules without recursion (right
 * recursion, which sphinxbase could do, is refused too: "+" and "*"
 * cover the usual needs) and without imports (they would read files).
 * Tags and weights are blanked out (recognition does not need them),
 * quotes around words dropped (sphinxbase would keep them in the word)
 * and "public" too but on the first public rule (sphinxbase would pick
 * any one of them).
 * Backslash escapes in quoted tokens and tags are refused rather than
 * followed. Refused grammars fall back to the language model.
 */
enum jtok {
	J_END = 256, J_BAD, J_HEADER, J_GRAMMAR, J_IMPORT, J_PUBLIC,
	J_RULENAME, J_TAG, J_TOKEN, J_WEIGHT,
};

/* the characters that end a token */
#define J_DELIM " \t\r\n=;|*+<>()[]{}/"

enum {
	J_MAX_DEPTH = 32,       /* nested groups */
	J_MAX_RULES = 64,
	J_MAX_REFS  = 256,
};

struct jname {
	const char *p;
	size_t n;
};

struct jlex {
	char *buf;              /* the grammar; its words get lower-cased */
	const char *s;
	bool decl;              /* inside a statement (the scanner's DECL) */
	int tok;                /* enum jtok, or a character */
	struct jname text;      /* of tok */
	unsigned depth;

	/* rules defined, and rule references in their bodies */
	struct jname defs[J_MAX_RULES];
	unsigned ndefs;
	struct {
		unsigned from;  /* index into defs */
		struct jname to;
	} refs[J_MAX_REFS];
	unsigned nrefs;
};


static bool jblank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}


/* Length of a comment at s (to the end if unclosed), or 0. */
static size_t jcomment(const char *s)
{
	const char *e;

	if (s[0] != '/')
		return 0;

	if (s[1] == '*') {
		e = strstr(s + 2, "*/");
		return e ? (size_t)(e + 2 - s) : strlen(s);
	}

	if (s[1] == '/') {
		e = strchr(s, '\n');    /* the scanner wants the newline */
		return e ? (size_t)(e + 1 - s) : 0;
	}

	return 0;
}


/* Length of a <rule name> at s, or 0. */
static size_t jrulename(const char *s)
{
	size_t n = 1;

	if (s[0] != '<')
		return 0;
	while (s[n] && s[n] != '<' && s[n] != '>')
		n++;

	return s[n] == '>' && n > 1 ? n + 1 : 0;
}


/* Length of a "..." or {...} at s, 0 if unclosed; -1 to refuse. */
static int jspan(const char *s, char close)
{
	int n;

	for (n = 1; s[n] && s[n] != close; n++) {
		if (s[n] == '\\')
			return -1;
	}

	return s[n] ? n + 1 : 0;
}


/* Blank out n characters of the grammar at p (a place lx->s passed). */
static void jblank_out(struct jlex *lx, const char *p, size_t n)
{
	memset(lx->buf + (p - lx->buf), ' ', n);
}


/* A quoted token of n characters at s holds words and single spaces. */
static bool jquoted_words(const char *s, size_t n)
{
	bool word = false;
	size_t i;

	for (i = 1; i + 1 < n; i++) {
		if (s[i] == ' ')
			continue;
		if (strchr(J_DELIM, s[i]) || s[i] == '"')
			return false;
		word = true;
	}

	return word;
}


/* Length of a /weight/ at s, or 0. */
static size_t jweight(const char *s)
{
	const char *p = s + 1;

	while (isdigit((unsigned char)*p))
		p++;
	if (p[0] == '.' && isdigit((unsigned char)p[1])) {
		p++;
		while (isdigit((unsigned char)*p))
			p++;
	}
	if (p[0] == 'e' && p[1] == '-')
		p += 2;
	while (isdigit((unsigned char)*p))
		p++;

	return *p == '/' ? (size_t)(p + 1 - s) : 0;
}


static int jnext_start(struct jlex *lx)
{
	static const struct {
		const char *kw;
		int tok;
	} kws[] = {
		{"\xEF\xBB\xBF#JSGF", J_HEADER}, {"#JSGF", J_HEADER},
		{"grammar", J_GRAMMAR}, {"import", J_IMPORT},
		{"public", J_PUBLIC},
	};
	size_t i, n;

	for (i = 0; i < ARRAY_SIZE(kws); i++) {
		n = strlen(kws[i].kw);
		if (!strncmp(lx->s, kws[i].kw, n)) {
			lx->s += n;
			lx->decl = true;
			return kws[i].tok;
		}
	}

	n = jrulename(lx->s);
	if (!n)
		return J_BAD;   /* the scanner would echo it */

	lx->s += n;
	lx->decl = true;

	return J_RULENAME;
}


static int jnext_decl(struct jlex *lx)
{
	const char *s = lx->s;
	size_t n;
	int q;

	switch (*s) {

	case ';':
		lx->decl = false;
		lx->s++;
		return ';';

	case '<':
		n = jrulename(s);
		lx->s += n ? n : 1;
		return n ? J_RULENAME : '<';

	case '{':
		q = jspan(s, '}');
		if (q < 0)
			return J_BAD;
		if (!q) {
			lx->s++;
			return '{';
		}
		/* tags do nothing for recognition, and leak: drop them */
		jblank_out(lx, s, (size_t)q);
		lx->s += q;
		return J_TAG;

	case '/':
		n = jweight(s);
		if (!n) {
			lx->s++;
			return '/';
		}
		/* a weight on <NULL> makes sphinxbase exit(): drop them
		 * all (they only bias recognition) */
		jblank_out(lx, s, n);
		lx->s += n;
		return J_WEIGHT;

	default:
		break;
	}

	/* a token, or a quoted one when that is the longer match */
	n = strcspn(s, J_DELIM);
	if (*s == '"') {
		q = jspan(s, '"');
		if (q < 0)
			return J_BAD;
		if ((size_t)q >= n) {
			/* the same word either way; sphinxbase keeps the
			 * quotes in it: drop them, leaving the words */
			n = (size_t)q;
			if (!jquoted_words(s, n))
				return J_BAD;
			jblank_out(lx, s, 1);
			jblank_out(lx, s + n - 1, 1);
		}
	}
	if (n) {
		lx->s += n;
		return J_TOKEN;
	}

	lx->s++;

	return (unsigned char)*s;
}


static void jnext(struct jlex *lx)
{
	size_t n;

	for (;;) {
		while (jblank(*lx->s))
			lx->s++;
		n = jcomment(lx->s);
		if (!n)
			break;
		lx->s += n;
	}

	lx->text.p = lx->s;
	if (!*lx->s)
		lx->tok = J_END;
	else if (!lx->decl)
		lx->tok = jnext_start(lx);
	else
		lx->tok = jnext_decl(lx);
	lx->text.n = (size_t)(lx->s - lx->text.p);

	/* words in lower case, as in the dictionary */
	if (lx->tok == J_TOKEN) {
		char *p = lx->buf + (lx->text.p - lx->buf);
		size_t i;

		for (i = 0; i < lx->text.n; i++)
			p[i] = (char)tolower((unsigned char)p[i]);
	}
}


static bool jaccept(struct jlex *lx, int tok)
{
	if (lx->tok != tok)
		return false;

	jnext(lx);

	return true;
}


static bool jalternates(struct jlex *lx);


/* [WEIGHT] (TOKEN | RULENAME | '(' alts ')' | '[' alts ']') [*+]* TAG* */
static bool jitem(struct jlex *lx)
{
	bool ok;

	jaccept(lx, J_WEIGHT);

	if (lx->tok == J_RULENAME) {
		if (lx->nrefs >= J_MAX_REFS)
			return false;
		lx->refs[lx->nrefs].from = lx->ndefs - 1;
		lx->refs[lx->nrefs++].to = lx->text;
		jnext(lx);
		ok = true;
	}
	else if (jaccept(lx, J_TOKEN)) {
		ok = true;
	}
	else if (lx->tok == '(' || lx->tok == '[') {
		int close = lx->tok == '(' ? ')' : ']';

		if (++lx->depth > J_MAX_DEPTH)
			return false;
		jnext(lx);
		ok = jalternates(lx) && jaccept(lx, close);
		--lx->depth;
	}
	else {
		ok = false;
	}

	while (ok && (jaccept(lx, '*') || jaccept(lx, '+')))
		;
	while (ok && jaccept(lx, J_TAG))
		;

	return ok;
}


static bool jitem_start(int tok)
{
	return tok == J_WEIGHT || tok == J_TOKEN || tok == J_RULENAME ||
		tok == '(' || tok == '[';
}


/* expansion ('|' expansion)*, an expansion being one or more items */
static bool jalternates(struct jlex *lx)
{
	do {
		if (!jitem(lx))
			return false;
		while (jitem_start(lx->tok)) {
			if (!jitem(lx))
				return false;
		}
	} while (jaccept(lx, '|'));

	return true;
}


static bool jname_eq(const struct jname *a, const struct jname *b)
{
	return a->n == b->n && !memcmp(a->p, b->p, a->n);
}


static int jdef_find(const struct jlex *lx, const struct jname *name)
{
	unsigned i;

	for (i = 0; i < lx->ndefs; i++) {
		if (jname_eq(&lx->defs[i], name))
			return (int)i;
	}

	return -1;
}


/* Depth-first search for a cycle through rule i. state: 0 unseen,
 * 1 on the path, 2 done. */
static bool jcycle(const struct jlex *lx, unsigned i, uint8_t *state)
{
	unsigned r;

	if (state[i] == 1)
		return true;
	if (state[i] == 2)
		return false;

	state[i] = 1;
	for (r = 0; r < lx->nrefs; r++) {
		int to;

		if (lx->refs[r].from != i)
			continue;
		to = jdef_find(lx, &lx->refs[r].to);
		if (to >= 0 && jcycle(lx, (unsigned)to, state))
			return true;
	}
	state[i] = 2;

	return false;
}


/* Every reference defined (or <NULL>), no rule twice, no recursion. */
static bool jrules_ok(const struct jlex *lx)
{
	static const struct jname null = {"<NULL>", 6};
	uint8_t state[J_MAX_RULES];
	unsigned i;

	for (i = 0; i < lx->ndefs; i++) {
		if (jdef_find(lx, &lx->defs[i]) != (int)i)
			return false;
	}

	for (i = 0; i < lx->nrefs; i++) {
		if (!jname_eq(&lx->refs[i].to, &null) &&
		    jdef_find(lx, &lx->refs[i].to) < 0)
			return false;
	}

	memset(state, 0, sizeof(state));
	for (i = 0; i < lx->ndefs; i++) {
		if (jcycle(lx, i, state))
			return false;
	}

	return true;
}


/* Check a grammar, lower-casing its words in place. */
static bool jsgf_check(char *text)
{
	struct jlex lx;
	unsigned ntok = 0, npublic = 0;

	memset(&lx, 0, sizeof(lx));
	lx.buf = text;
	lx.s = text;
	jnext(&lx);

	/* #JSGF [version [charset [locale]]]; grammar name; */
	if (!jaccept(&lx, J_HEADER))
		return false;
	while (ntok < 3 && jaccept(&lx, J_TOKEN))
		ntok++;
	if (!jaccept(&lx, ';') || !jaccept(&lx, J_GRAMMAR) ||
	    !jaccept(&lx, J_TOKEN) || !jaccept(&lx, ';'))
		return false;

	/* [public] <name> = alternates ; */
	while (lx.tok == J_PUBLIC || lx.tok == J_RULENAME) {
		if (lx.tok == J_PUBLIC) {
			/* sphinxbase would pick any of several public
			 * rules: keep the first one public */
			if (npublic++)
				jblank_out(&lx, lx.text.p, lx.text.n);
			jnext(&lx);
		}
		if (lx.tok != J_RULENAME || lx.ndefs >= J_MAX_RULES)
			return false;
		lx.defs[lx.ndefs++] = lx.text;
		jnext(&lx);
		if (!jaccept(&lx, '=') || !jalternates(&lx) ||
		    !jaccept(&lx, ';'))
			return false;
	}

	/* an import, or anything else after the rules, ends up here */
	return lx.tok == J_END && lx.ndefs && jrules_ok(&lx);
}


/* Parse and compile a grammar into the search called name. */
static bool jsgf_compile(ps_decoder_t *ps, const char *name,
			 const char *text)
{
	jsgf_t *jsgf;
	jsgf_rule_t *rule;
	fsg_model_t *fsg;
	char *lower;
	bool ok = false;

	if (str_dup(&lower, text))
		return false;

	jsgf = jsgf_check(lower) ? jsgf_parse_string(lower, NULL) : NULL;
	mem_deref(lower);
	if (!jsgf)
		return false;

	rule = jsgf_get_public_rule(jsgf);
	if (rule) {
		float32 lw = cmd_ln_float32_r(ps_get_config(ps), "-lw");

		fsg = jsgf_build_fsg(jsgf, rule, ps_get_logmath(ps), lw);
		if (fsg) {
			/* fails on words the dictionary lacks */
			ok = ps_set_fsg(ps, name, fsg) == 0;
			fsg_model_free(fsg);    /* the search keeps a ref */
		}
	}

	jsgf_grammar_free(jsgf);

	return ok;
}


/* The search for a grammar, compiled on first use. NULL: use the LM. */
static const char *gram_search(struct speech_ctx *ctx, const char *jsgf)
{
	char name[NAME_SZ];
	struct gram *g = NULL;
	struct le *le;

	re_snprintf(name, sizeof(name), "g%016llx",
		    (unsigned long long)fnv1a64(jsgf));

	for (le = ctx->grams.head; le; le = le->next) {
		struct gram *x = le->data;

		if (!strcmp(x->name, name)) {
			g = x;
			break;
		}
	}

	if (g && !strcmp(g->jsgf, jsgf)) {
		list_unlink(&g->le);
		list_prepend(&ctx->grams, &g->le, g);
		return g->ok ? g->name : NULL;
	}

	if (g) {
		/* a hash collision: the new grammar takes the name over */
		if (g->ok)
			ps_unset_search(ctx->ps, g->name);
		mem_deref(g);
	}

	if (list_count(&ctx->grams) >= MAX_GRAMS) {
		struct gram *old = ctx->grams.tail->data;

		if (old->ok)
			ps_unset_search(ctx->ps, old->name);
		mem_deref(old);
	}

	g = mem_zalloc(sizeof(*g), gram_destructor);
	if (!g)
		return NULL;
	if (str_dup(&g->jsgf, jsgf)) {
		mem_deref(g);
		return NULL;
	}
	str_ncpy(g->name, name, sizeof(g->name));

	g->ok = jsgf_compile(ctx->ps, g->name, jsgf);
	list_prepend(&ctx->grams, &g->le, g);

	return g->ok ? g->name : NULL;
}


static int decode(ps_decoder_t *ps, const char *search,
		  const int16_t *pcm, size_t n, char **textp,
		  int32_t *scorep)
{
	const char *hyp;
	int32 score = 0;

	if (ps_set_search(ps, search) < 0 || ps_start_utt(ps) < 0)
		return EIO;

	/* whole utterance at once: no_search FALSE, full_utt TRUE */
	if (ps_process_raw(ps, pcm, n, FALSE, TRUE) < 0) {
		ps_end_utt(ps);
		return EIO;
	}

	if (ps_end_utt(ps) < 0)
		return EIO;

	hyp = ps_get_hyp(ps, &score);
	if (scorep)
		*scorep = hyp ? score : 0;

	return str_dup(textp, hyp ? hyp : "");
}


int speech_recognize(void *arg, const int16_t *pcm8k, size_t n,
		     const char *jsgf, char **textp, int32_t *scorep)
{
	struct speech_ctx *ctx = arg;
	const char *search = NULL;
	int16_t *pcm = NULL;
	size_t n16 = 0;
	int err;

	if (!ctx || (!pcm8k && n) || !textp)
		return EINVAL;

	if (scorep)
		*scorep = 0;

	/* nothing said: no decoder needed */
	if (!n)
		return str_dup(textp, "");

	err = decoder_open(ctx);
	if (err)
		return err;

	if (jsgf && jsgf[0])
		search = gram_search(ctx, jsgf);

	if (!search) {
		err = lm_load(ctx);
		if (err)
			return err;
		search = LM_SEARCH;
	}

	err = resample(&pcm, &n16, pcm8k, n, IN_RATE, PS_RATE);
	if (err)
		return err;

	err = decode(ctx->ps, search, pcm, n16, textp, scorep);
	mem_deref(pcm);

	return err;
}
