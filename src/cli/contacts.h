/* contacts.h - `parley contacts import`: a CSV file of any size into a
 * campaign through the running server's import endpoint, with a progress
 * bar, in chunks of whole records that each fit the server's body limit
 * (http.import_max_body); the server's per-row errors are reported with
 * the file's own line numbers. */
#ifndef PARLEY_CLI_CONTACTS_H
#define PARLEY_CLI_CONTACTS_H

#include <stddef.h>
#include <stdio.h>

/**
 * Run the command; argv holds the arguments after "contacts". Exit
 * status: 0 imported (invalid rows are reported, not fatal), 1 the server
 * refused or could not be reached (chunks sent before stay imported),
 * 2 bad usage or unreadable file.
 */
int cmd_contacts(int argc, char **argv);

void contacts_usage(FILE *f);

/**
 * The end of the CSV record that starts at buf (just past its line end,
 * quoted line breaks included) and the physical lines it spans; for the
 * chunk planner, exposed for tests. A record without a line end ends
 * the buffer.
 */
size_t csv_record_end(const char *buf, size_t len, size_t *linesp);

#endif
