/* fuzz_scenario.c - libFuzzer target for the scenario engine:
 * src/agent/scenario.c, dlg_scenario.c and intent.c.
 *
 * The input is parsed with the strict JSON parser; an object is checked
 * as a scenario, and a valid one drives a "scenario" dialogue through a
 * fixed conversation (answers, silences, keys, a barge-in). There is no
 * HTTP client, so webhook steps take their error path synchronously.
 * The input is also matched as a caller's answer of every kind.
 *
 * Properties checked (abort() on violation), beyond "does not crash or
 * leak":
 *  - a refused scenario has a message;
 *  - every turn returns 0 and ends with exactly one DLG_DONE, its last
 *    action (except a turn cut short by a cancel);
 *  - DLG_SAY texts are non-empty and trimmed; event data is a JSON
 *    object; nothing is said after the call was ended or transferred;
 *  - grammars start with the JSGF header and hold lower-case words only;
 *  - normalised text is lower-case single-spaced words; numbers are
 *    digits; yes_no is "yes" or "no".
 */
#include <re.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "agent/intent.h"
#include "agent/provider.h"
#include "agent/scenario.h"
#include "json/json.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

extern const struct dlg_ops dlg_scenario;

struct turn {
	unsigned actions;
	unsigned dones;
	bool done_last;
	bool over;          /* END_CALL or TRANSFER seen (ever) */
};


static void action_h(const struct dlg_action *a, void *arg)
{
	struct turn *t = arg;
	struct odict *o = NULL;
	int type;
	size_t l;

	++t->actions;
	t->done_last = false;

	switch (a->act) {

	case DLG_SAY:
		if (t->over || !a->text || !a->text[0])
			abort();
		l = strlen(a->text);
		if (strchr(" \t\r\n", a->text[0]) ||
		    strchr(" \t\r\n", a->text[l - 1]))
			abort();
		break;

	case DLG_DONE:
		++t->dones;
		t->done_last = true;
		break;

	case DLG_END_CALL:
	case DLG_TRANSFER:
		t->over = true;
		break;

	case DLG_EVENT:
		if (!a->text || !a->data)
			abort();
		if (json_parse(&o, &type, a->data, strlen(a->data), NULL) ||
		    type != ODICT_OBJECT)
			abort();
		mem_deref(o);
		break;

	case DLG_ERROR:
		if (!a->text)
			abort();
		break;

	default:
		break;
	}
}


static void check_grammar(const char *g)
{
	static const char head[] = "#JSGF V1.0;\ngrammar parley;\n"
		"public <answer> = ";

	if (!g)
		return;
	if (strncmp(g, head, sizeof(head) - 1))
		abort();
	for (g += sizeof(head) - 1; *g; g++) {
		if (!strchr("abcdefghijklmnopqrstuvwxyz' |()[]<>+=;\n", *g))
			abort();
	}
}


static void check_turn(struct turn *t, int err)
{
	if (err || t->dones != 1 || !t->done_last)
		abort();
	t->actions = t->dones = 0;
}


static void converse(const struct odict *scn)
{
	static const char *const says[] = {
		"yes", "no", "tuesday", "twenty three", "", "the second one",
		"march third", "billing please", "hmm", "next friday",
	};
	struct odict *agent = NULL, *vars = NULL;
	static const char vj[] = "{\"name\":\"Ann\",\"tier\":\"gold\","
		"\"n\":3,\"c\":{\"x\":\"y\"}}";
	struct agent_env env;
	struct turn t;
	void *st = NULL;

	memset(&env, 0, sizeof(env));
	memset(&t, 0, sizeof(t));
	if (odict_alloc(&agent, 4) ||
	    odict_entry_add(agent, "scenario", ODICT_OBJECT, scn) ||
	    json_parse(&vars, NULL, vj, strlen(vj), NULL))
		abort();
	if (dlg_scenario.alloc(&st, &env, agent, vars, action_h, &t))
		abort();
	mem_deref(agent);
	mem_deref(vars);

	check_turn(&t, dlg_scenario.start(st));
	check_grammar(dlg_scenario.grammar(st));
	for (size_t i = 0; i < ARRAY_SIZE(says); i++) {
		check_turn(&t, dlg_scenario.user(st, says[i]));
		check_grammar(dlg_scenario.grammar(st));
		if (i == 2)
			check_turn(&t, dlg_scenario.silence(st));
		if (i == 4) {
			static const char keys[] = "12#3*9#";
			for (const char *k = keys; *k; k++)
				check_turn(&t, dlg_scenario.dtmf(st, *k));
		}
		if (t.over && dlg_scenario.grammar(st))
			abort();
	}

	/* a barge-in: no more actions for this reply, the next goes on */
	dlg_scenario.cancel(st, "");
	if (t.actions)
		abort();
	check_turn(&t, dlg_scenario.user(st, "one"));
	check_turn(&t, dlg_scenario.silence(st));
	if (dlg_scenario.start(st) != EALREADY)
		abort();

	mem_deref(st);
}


static bool normal(const char *s)
{
	if (*s == ' ')
		return false;
	for (; *s; s++) {
		if ((*s >= 'A' && *s <= 'Z') || (s[0] == ' ' && s[1] == ' ') ||
		    (s[0] == ' ' && !s[1]))
			return false;
	}
	return true;
}


static void answers(const uint8_t *data, size_t size)
{
	static const char cj[] = "[\"monday\",\"Front Desk\",\"2\"]";
	static const char ij[] = "{\"billing\":[\"my invoice\",\"pay\"],"
		"\"human\":[\"talk to a person\"]}";
	struct odict *choices = NULL, *intents = NULL;
	char *text, *v = NULL;
	size_t n = size < 512 ? size : 512;

	text = malloc(n + 1);
	if (!text)
		abort();
	memcpy(text, data, n);
	text[n] = '\0';
	if (json_parse(&choices, NULL, cj, strlen(cj), NULL) ||
	    json_parse(&intents, NULL, ij, strlen(ij), NULL))
		abort();

	if (intent_normalise(&v, text) || !normal(v))
		abort();
	v = mem_deref(v);

	for (int e = INTENT_YES_NO; e <= INTENT_INTENT; e++) {
		struct intent_spec spec = {(enum intent_expect)e, choices,
					   intents};
		int err = intent_match(&v, &spec, text);

		if (err && err != ENOENT)
			abort();
		if (!err && (!v || !v[0]))
			abort();
		if (!err && e == INTENT_YES_NO && strcmp(v, "yes") &&
		    strcmp(v, "no"))
			abort();
		if (!err && e == INTENT_NUMBER &&
		    strspn(v, "0123456789") != strlen(v))
			abort();
		v = mem_deref(v);

		err = intent_dtmf(&v, &spec, text);
		if (err && err != ENOENT)
			abort();
		v = mem_deref(v);
	}

	mem_deref(choices);
	mem_deref(intents);
	free(text);
}


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct odict *o = NULL;
	struct scenario_err e;
	int type, err;

	answers(data, size);

	if (json_parse(&o, &type, (const char *)data, size, NULL))
		return 0;
	if (type != ODICT_OBJECT) {
		mem_deref(o);
		return 0;
	}

	err = scenario_validate(o, &e);
	if (err == EINVAL) {
		if (!e.msg[0])
			abort();
	}
	else if (err) {
		abort();
	}
	else {
		converse(o);
	}

	mem_deref(o);
	return 0;
}
