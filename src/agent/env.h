/* env.h - the services every call's voice agent shares (provider.h's
 * struct agent_env): a worker pool for local speech engines, an HTTP
 * client for remote providers and the cache of synthesised prompts. */
#ifndef PARLEY_AGENT_ENV_H
#define PARLEY_AGENT_ENV_H

#include <stddef.h>
#include <stdint.h>

struct agent_env;

/**
 * speech_workers threads for pocketsphinx/espeak-ng/flite (each keeps
 * its own decoders); prompt_bytes of cached audio. Loop thread.
 */
int agent_env_alloc(struct agent_env **envp, unsigned speech_workers,
		    size_t prompt_bytes, uint32_t http_timeout_ms);

/** Syntheses and recognitions queued or running. */
unsigned agent_env_pending(const struct agent_env *env);

#endif
