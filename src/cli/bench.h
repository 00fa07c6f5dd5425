/* bench.h - `parley bench`: N concurrent scripted callers against a
 * running server's voice agent, from this separate process; one JSON
 * report of call setup, response latency, barge-in reaction, received
 * audio and the server's own per-turn timings (see bench.c). */
#ifndef PARLEY_BENCH_H
#define PARLEY_BENCH_H

#include <stdio.h>

/**
 * Run the command; argv holds the options after "bench". Returns the
 * exit status: 0 every call was answered, 1 setup or API failure (no
 * report), 2 bad usage or script, 3 some calls were not answered (the
 * report says which way they failed).
 */
int cmd_bench(int argc, char **argv);

/** The option summary for `parley bench --help`. */
void bench_usage(FILE *f);

#endif
