/* worker.h - the per-thread context of the speech worker pool: that
 * thread's pocketsphinx decoder, and speech recognition with it.
 *
 * Give speech_worker_init/speech_worker_close to pool_alloc() for the
 * pool that runs local speech engines (agent_env.speech); jobs on that
 * pool get the context as their ctx. A decoder is not thread-safe, so
 * each worker thread has its own; it is created on first use (about
 * 30 MB) and grows by the general language model (about 65 MB more)
 * only when a recognition needs free speech.
 */
#ifndef PARLEY_SPEECH_WORKER_H
#define PARLEY_SPEECH_WORKER_H

#include <stddef.h>
#include <stdint.h>

/**
 * pool_ctx_init_h: create the context of one worker thread. arg: the
 * pocketsphinx model directory (const char *, with en-us/,
 * cmudict-en-us.dict and en-us.lm.bin in it), or NULL for the system
 * one. Loads nothing yet, so it cannot fail for a missing model.
 */
int speech_worker_init(void **ctxp, void *arg);

/** pool_ctx_close_h: free the context and its decoder. */
void speech_worker_close(void *ctx, void *arg);

/**
 * Recognise one utterance of n samples of 8 kHz mono audio. jsgf: a JSGF
 * grammar of what may be said, or NULL for free speech with the
 * language model. What is recognised is the grammar's first public
 * rule; words as in the dictionary (case does not matter); tags and
 * weights are ignored; imports and recursive rules are not supported.
 * A grammar that does not compile (a word the dictionary lacks, a
 * syntax error, one of the above) falls back to the language model. *textp: the words,
 * lower-case and space-separated, mem-allocated; "" when nothing was
 * recognised. *scorep (may be NULL): the decoder's path score (log
 * scale, higher is better; only comparable for the same audio).
 * Returns 0, EINVAL, ENOTSUP (no model) or ENOMEM. Worker thread only,
 * with that thread's ctx.
 */
int speech_recognize(void *ctx, const int16_t *pcm8k, size_t n,
		     const char *jsgf, char **textp, int32_t *scorep);

#endif
