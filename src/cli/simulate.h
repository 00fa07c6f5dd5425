/* simulate.h - `parley simulate`: a scripted caller against an agent,
 * over a real SIP call on loopback (see sim/sim.h and sim/script.h). */
#ifndef PARLEY_SIMULATE_H
#define PARLEY_SIMULATE_H

#include <stdio.h>

/**
 * Run the command; argv holds the options after "simulate". Returns the
 * exit status: 0 answered and the script ran to its end, 1 setup or API
 * failure, 2 bad usage or script, 3 the call or the script did not
 * complete.
 */
int cmd_simulate(int argc, char **argv);

/** The option and script summary for `parley simulate --help`. */
void simulate_usage(FILE *f);

#endif
