/* template.h - prompt templates: "{name}", "{email}", "{phone}" and any
 * other variable ("{company}") replaced from an object of variables.
 *
 * A placeholder is "{" identifier "}" (letters, digits, '_', '.'); an
 * unknown variable is replaced by its default when one is registered
 * ("there" for name), else left empty. "{{" and "}}" are literal braces.
 * Anything else (an unclosed brace, "{ x }") is copied as it is.
 */
#ifndef PARLEY_AGENT_TEMPLATE_H
#define PARLEY_AGENT_TEMPLATE_H

struct odict;

/**
 * Render tmpl with vars (string, integer, number and boolean entries;
 * NULL vars: every placeholder gets its default) into a mem string.
 */
int template_render(char **outp, const char *tmpl, const struct odict *vars);

/**
 * Seed 001's campaign instructions for an outbound call: the rules of a
 * concise campaign caller, personalised by contact name, with the
 * (rendered) campaign script appended.
 */
int template_campaign_instructions(char **outp, const char *contact_name,
				   const char *campaign_script);

#endif
