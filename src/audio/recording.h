/* recording.h - where a call's recording lives:
 * ROOT/campaign-ID/CALL/ for campaign calls (seed 004's
 * recordings/{campaign}/{session}/), ROOT/agent-ID/CALL/ for the rest,
 * with recording.wav (stereo: caller left, agent right, aligned to the
 * call's timeline, written during the call) and recording.mp3 (the mix,
 * made after the call). */
#ifndef PARLEY_RECORDING_H
#define PARLEY_RECORDING_H

#include <stddef.h>
#include <stdint.h>

/** ROOT/.../CALL/FILE into buf; ENAMETOOLONG when it does not fit. */
int recording_path(char *buf, size_t sz, const char *root,
		   int64_t campaign_id, int64_t agent_id, int64_t call_id,
		   const char *file);

/** Create the directories above path (like mkdir -p of its dirname). */
int recording_mkdirs(const char *path);

#endif
