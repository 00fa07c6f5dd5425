/* fuzz_template.c - libFuzzer target for src/agent/template.c.
 *
 * The input (up to its first NUL) is rendered as a template with a fixed
 * object of variables. Properties checked (abort() on violation):
 *  - rendering succeeds;
 *  - text without braces renders to itself;
 *  - the input with every brace doubled renders back to the input
 *    (escaping is exact);
 *  - seed 001's campaign instructions, with the input split at its first
 *    newline into contact name and script, succeed and start with the
 *    fixed rules.
 */
#include <re.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "agent/template.h"
#include "json/json.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char vars_json[] =
	"{\"name\":\"Ann\",\"email\":\"ann@example.com\",\"n\":42,"
	"\"d\":2.5,\"b\":true,\"nul\":null,\"blank\":\" \","
	"\"contact\":{\"company\":\"Acme\",\"deep\":{\"x\":\"{name}\"}},"
	"\"a.b\":\"flat\",\"arr\":[1,2]}";


static struct odict *vars(void)
{
	static struct odict *v;

	if (!v && json_parse(&v, NULL, vars_json, strlen(vars_json), NULL))
		abort();
	return v;
}


static char *escaped(const char *s)
{
	size_t n = strlen(s), k = 0;
	char *e = malloc(2 * n + 1);

	if (!e)
		abort();
	for (; *s; s++) {
		e[k++] = *s;
		if (*s == '{' || *s == '}')
			e[k++] = *s;
	}
	e[k] = '\0';
	return e;
}


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *tmpl, *out = NULL, *esc, *nl;
	size_t len = strnlen((const char *)data, size);

	tmpl = malloc(len + 1);
	if (!tmpl)
		abort();
	memcpy(tmpl, data, len);
	tmpl[len] = '\0';

	if (template_render(&out, tmpl, vars()))
		abort();
	if (!strpbrk(tmpl, "{}") && strcmp(out, tmpl))
		abort();
	out = mem_deref(out);

	/* also without variables: defaults only */
	if (template_render(&out, tmpl, NULL))
		abort();
	out = mem_deref(out);

	esc = escaped(tmpl);
	if (template_render(&out, esc, vars()) || strcmp(out, tmpl))
		abort();
	out = mem_deref(out);
	free(esc);

	nl = strchr(tmpl, '\n');
	if (nl)
		*nl = '\0';
	if (template_campaign_instructions(&out, tmpl, nl ? nl + 1 : NULL))
		abort();
	if (strncmp(out, "You are a concise, friendly **campaign dialer**",
		    47))
		abort();
	out = mem_deref(out);

	free(tmpl);
	return 0;
}
