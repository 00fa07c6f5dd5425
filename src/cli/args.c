/* args.c - see args.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/args.h"
#include "config/config.h"
#include "core/log.h"
#include "speech/tts.h"

int cli_parse(int argc, char **argv, const struct cli_opt *opts, size_t n,
	      const char *cmd)
{
	for (int i = 0; i < argc; i++) {
		size_t k;

		for (k = 0; k < n; k++)
			if (!strcmp(argv[i], opts[k].name))
				break;
		if (k == n) {
			fprintf(stderr, "parley: %s: unknown option '%s' (see "
				"parley %s --help)\n", cmd, argv[i], cmd);
			return EINVAL;
		}
		if (opts[k].flagp) {
			*opts[k].flagp = true;
			continue;
		}
		if (i + 1 >= argc) {
			fprintf(stderr, "parley: %s needs a value\n", argv[i]);
			return EINVAL;
		}
		*opts[k].valp = argv[++i];
	}
	return 0;
}

bool cli_u32(const char *s, uint32_t min, uint32_t max, uint32_t *vp)
{
	char *end;
	unsigned long long v;

	if (!s || *s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return false;
	*vp = (uint32_t)v;
	return true;
}

int cli_voice(struct tts_opts *o, char *voice, size_t sz, const char *arg)
{
	const char *colon;

	memset(o, 0, sizeof(*o));
	o->engine = TTS_ESPEAK;
	o->speed = 1.0;
	if (!arg)
		return 0;
	colon = strchr(arg, ':');
	if (!strncmp(arg, "espeak-ng", 9) && (!arg[9] || arg[9] == ':'))
		o->engine = TTS_ESPEAK;
	else if (!strncmp(arg, "flite", 5) && (!arg[5] || arg[5] == ':'))
		o->engine = TTS_FLITE;
	else {
		fprintf(stderr, "parley: --voice is espeak-ng or flite, "
			"optionally with :VOICE (e.g. espeak-ng:en-gb, "
			"flite:slt)\n");
		return EINVAL;
	}
	if (colon && colon[1]) {
		snprintf(voice, sz, "%s", colon + 1);
		o->voice = voice;
	}
	return 0;
}

int cli_settings(struct config *cfg, const char *path)
{
	struct config_err ce;
	enum log_level lvl;

	if (config_load(cfg, path, &ce)) {
		fprintf(stderr, "parley: config: %s\n", ce.msg);
		return EINVAL;
	}
	if (!log_level_parse(&lvl, cfg->log_level))
		log_set_level(lvl);
	return 0;
}
