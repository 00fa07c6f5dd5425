/* chunker.h - streamed reply text cut into sentence-sized pieces for
 * text to speech, so speech can start before the reply is complete.
 *
 * A chunk ends after ".", "!" or "?" (with any run of them and closing
 * quotes or brackets) followed by white space, at a line break, or after
 * "。", "！", "？". Once a chunk is longer than CHUNK_SOFT bytes it may also
 * end after ";", ":" or "," followed by white space; past CHUNK_HARD
 * bytes it is cut at its last space (or, with none, at a UTF-8 character
 * boundary). A period does not end a chunk after a known abbreviation
 * ("Dr.", "Mr.", "e.g."), a single capital ("J. Smith"), a dotted word
 * ("U.S.") or a list number at the start of a chunk ("1."), nor inside a
 * number ("3.5", never followed by a space). Text at the end of the
 * pushed input waits for more, because the next piece may continue it,
 * until the caller says the text is complete. Chunks are trimmed of
 * white space; empty ones are skipped.
 */
#ifndef PARLEY_AGENT_CHUNKER_H
#define PARLEY_AGENT_CHUNKER_H

#include <stdbool.h>
#include <stddef.h>

enum { CHUNK_SOFT = 60, CHUNK_HARD = 200 };

struct chunker;

int chunker_alloc(struct chunker **chp);

/** Append streamed text (any split, even inside a UTF-8 sequence). */
int chunker_push(struct chunker *ch, const char *text, size_t len);

/**
 * Take the next complete chunk as a mem string (*chunkp). end: the text
 * is complete, so what is left comes out as well. 0, or ENODATA when no
 * chunk is complete yet (or nothing is left).
 */
int chunker_next(struct chunker *ch, bool end, char **chunkp);

/** Drop pending text (a new reply). */
void chunker_reset(struct chunker *ch);

#endif
