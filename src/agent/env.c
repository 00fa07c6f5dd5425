/* env.c - see env.h. */
#include <errno.h>
#include <string.h>
#include <re.h>
#include "agent/env.h"
#include "agent/provider.h"
#include "core/pool.h"
#include "speech/pcache.h"
#include "speech/worker.h"

static void env_destructor(void *data)
{
	struct agent_env *env = data;

	/* the pool joins its threads: queued speech work is dropped */
	mem_deref(env->speech);
	mem_deref(env->http);
	mem_deref(env->dnsc);
	mem_deref(env->prompts);
}

int agent_env_alloc(struct agent_env **envp, unsigned speech_workers,
		    size_t prompt_bytes, uint32_t http_timeout_ms)
{
	struct agent_env *env;
	struct sa dns[4];
	uint32_t ndns = ARRAY_SIZE(dns);
	char domain[64];
	int err;

	if (!envp || !speech_workers)
		return EINVAL;
	env = mem_zalloc(sizeof(*env), env_destructor);
	if (!env)
		return ENOMEM;
	env->http_timeout_ms = http_timeout_ms ? http_timeout_ms : 10000;

	/* providers are usually reached by name; a host without
	 * resolv.conf still gets a resolver on itself */
	err = 0;
	if (dns_srv_get(domain, sizeof(domain), dns, &ndns) || !ndns) {
		ndns = 1;
		err = sa_set_str(&dns[0], "127.0.0.1", 53);
	}
	if (!err)
		err = dnsc_alloc(&env->dnsc, NULL, dns, ndns);
	if (!err)
		err = http_client_alloc(&env->http, env->dnsc);
	if (!err)
		err = pcache_alloc(&env->prompts, prompt_bytes);
	if (!err)
		err = pool_alloc(&env->speech, speech_workers,
				 speech_worker_init, speech_worker_close, NULL);
	if (err)
		mem_deref(env);
	else
		*envp = env;
	return err;
}

unsigned agent_env_pending(const struct agent_env *env)
{
	return env && env->speech ? pool_pending(env->speech) : 0;
}
