/* amd.h - `parley amd analyze`: the answering-machine detector run
 * offline on recordings of callees, to check and tune its thresholds. */
#ifndef PARLEY_CLI_AMD_H
#define PARLEY_CLI_AMD_H

/**
 * Run the command; argv holds what follows "amd". Returns the exit
 * status: 0 every file analysed, 2 bad usage, parameter or file.
 */
int cmd_amd(int argc, char **argv);

#endif
