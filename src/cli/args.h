/* args.h - what the commands built on the API share: option parsing,
 * numbers, the caller's voice and the settings file. */
#ifndef PARLEY_CLI_ARGS_H
#define PARLEY_CLI_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct config;
struct tts_opts;

/** "--name VALUE" (valp) or a flag "--name" (flagp). */
struct cli_opt {
	const char *name;
	const char **valp;
	bool *flagp;
};

/** Parse argv into opts; EINVAL (message on stderr naming cmd). */
int cli_parse(int argc, char **argv, const struct cli_opt *opts, size_t n,
	      const char *cmd);

/** A decimal in [min, max]. */
bool cli_u32(const char *s, uint32_t min, uint32_t max, uint32_t *vp);

/** "espeak-ng" or "flite", optionally ":VOICE"; NULL arg: espeak-ng. */
int cli_voice(struct tts_opts *o, char *voice, size_t sz, const char *arg);

/** Defaults, then the --config file and PARLEY_* (errors on stderr). */
int cli_settings(struct config *cfg, const char *path);

#endif
