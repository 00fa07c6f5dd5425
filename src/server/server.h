/* server.h - `parley serve`: wires the store, the API and (later) the
 * telephony onto one libre loop and runs it until SIGTERM/SIGINT. */
#ifndef PARLEY_SERVER_H
#define PARLEY_SERVER_H

struct config;

/** Runs until a signal asks it to stop; returns a process exit code. */
int server_run(const struct config *cfg);

/** Apply pending migrations to cfg's database; prints what it did. */
int server_migrate(const struct config *cfg, int *appliedp);

#endif
