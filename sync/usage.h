/*
 * usage.h - refsync's help texts: the whole (refsync --help) and one per
 * command (refsync COMMAND --help).
 */
#ifndef REFSYNC_USAGE_H
#define REFSYNC_USAGE_H

#include <stdio.h>

/* refsync --help: every command, the options, the exit codes. */
void usage_print(FILE *f);

/* 1 when cmd is a command of refsync, else 0. */
int usage_is_command(const char *cmd);

/* refsync COMMAND --help: cmd's synopsis, what it does, its options. 0, or
 * -1 when cmd is no command. */
int usage_print_command(const char *cmd, FILE *f);

#endif
