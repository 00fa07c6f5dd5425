/* providers.c - the provider registry: config names to function tables.
 * Each provider lives in its own file and is listed here once. */
#include <string.h>
#include <re.h>
#include "agent/provider.h"

extern const struct stt_ops stt_pocketsphinx;
extern const struct stt_ops stt_openai;
extern const struct stt_ops stt_deepgram;
extern const struct stt_ops stt_bench;
extern const struct dlg_ops dlg_scenario;
extern const struct dlg_ops dlg_openai;
extern const struct dlg_ops dlg_bench;
extern const struct tts_ops tts_espeak_ops;
extern const struct tts_ops tts_flite_ops;
extern const struct tts_ops tts_openai;
extern const struct tts_ops tts_bench;

static const struct stt_ops *const stts[] = {
	&stt_pocketsphinx, &stt_openai, &stt_deepgram, &stt_bench,
};

static const struct dlg_ops *const dlgs[] = {
	&dlg_scenario, &dlg_openai, &dlg_bench,
};

static const struct tts_ops *const ttss[] = {
	&tts_espeak_ops, &tts_flite_ops, &tts_openai, &tts_bench,
};

#define FIND(tab, name) do {                                     \
		for (size_t i = 0; name && i < ARRAY_SIZE(tab); i++) {   \
			if (!strcmp(tab[i]->name, name))                 \
				return tab[i];                           \
		}                                                        \
		return NULL;                                             \
	} while (0)

const struct stt_ops *stt_find(const char *name) { FIND(stts, name); }
const struct dlg_ops *dlg_find(const char *name) { FIND(dlgs, name); }
const struct tts_ops *tts_find(const char *name) { FIND(ttss, name); }
