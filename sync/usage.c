/*
 * usage.c - refsync's help texts (usage.h). The man page refsync(1) says the
 * same at length.
 */
#include "usage.h"
#include "config.h"

#include <string.h>

static const struct {
	const char *name, *text;
} commands[] = {
	{ "run",
	  "usage: refsync [-c FILE] [-v | -q] run [--dry-run] [--full]\n"
	  "\n"
	  "One pass: pull Lever and Crosschq, take in the webhook spool, decide, act.\n"
	  "\n"
	  "  --dry-run   print the actions it would take, with their reasons; send nothing\n"
	  "  --full      pull every Lever opportunity, not only those changed since the last run\n" },
	{ "backfill",
	  "usage: refsync [-c FILE] [-v | -q] backfill --since DATE [--until DATE] [--slices N] [--dry-run]\n"
	  "\n"
	  "Re-pull a window of Lever opportunities (a new install, a repair), then decide and\n"
	  "act as a run does; resumable when interrupted. Sends nothing that was sent already.\n"
	  "\n"
	  "  --since DATE   the start of the window (ISO 8601, e.g. 2025-01-01)\n"
	  "  --until DATE   its end (default: now, or the end of the backfill it resumes)\n"
	  "  --slices N     pull up to N parts of the window at once (1 to 64, default 10)\n"
	  "  --dry-run      print the actions it would take; send nothing\n" },
	{ "plan",
	  "usage: refsync [-c FILE] [-v | -q] plan\n"
	  "\n"
	  "Print the actions the stored state implies, with their reasons. Pulls nothing,\n"
	  "sends nothing, changes nothing.\n" },
	{ "status",
	  "usage: refsync [-c FILE] [-v | -q] status [--json]\n"
	  "\n"
	  "The last runs, the outbox by state with each failure, holds, parked actions,\n"
	  "cursors, Crosschq capabilities and the webhook spool. Reads the database only.\n"
	  "\n"
	  "  --json   the same as one JSON object\n" },
	{ "retry",
	  "usage: refsync [-c FILE] [-v | -q] retry (--failed | KEY...)\n"
	  "\n"
	  "Put failed actions back to planned once their cause is fixed; the next run sends\n"
	  "them. A KEY that names no failed action is an error, and then nothing is put back.\n"
	  "\n"
	  "  --failed   every failed action\n"
	  "  KEY        the key of a failed action, as refsync status lists it\n" },
	{ "resolve",
	  "usage: refsync [-c FILE] [-v | -q] resolve KEY (--sent REQUEST_ID | --not-sent | --dismiss)\n"
	  "\n"
	  "Settle a Crosschq create left in doubt, or give up a failed action for good\n"
	  "(refsync status lists both).\n"
	  "\n"
	  "  --sent REQUEST_ID   it made that Crosschq request (read and recorded)\n"
	  "  --not-sent          it was not sent: the next run sends it\n"
	  "  --dismiss           a failed action: it stays failed, is never sent, and no\n"
	  "                      longer keeps the runs at exit 1 (retry KEY sends it after all)\n" },
	{ "check",
	  "usage: refsync [-c FILE] [-v | -q] check\n"
	  "\n"
	  "Validate the config, the secrets, the state directory and the database, Lever (key,\n"
	  "trigger stage, hired reason), Crosschq (key, templates, capabilities) and SMTP.\n"
	  "Prints one line per problem; exit 0 when a run can go ahead, 78 when not.\n" },
};

#define N_COMMANDS (sizeof commands / sizeof commands[0])

void usage_print(FILE *f)
{
	fprintf(f,
		"usage: refsync [-c FILE] [-v | -q] COMMAND [OPTIONS]\n"
		"       refsync COMMAND --help\n"
		"\n"
		"Connects Lever (ATS) with Crosschq (reference checks). Commands:\n"
		"  run [--dry-run] [--full]   pull both systems, take in webhooks, decide, act\n"
		"  backfill --since DATE [--until DATE] [--slices N] [--dry-run]\n"
		"                             re-pull a window of Lever opportunities, cut into up to N slices\n"
		"                             at once (default 10, 1 = sequential; resumable)\n"
		"  plan                       print the actions the stored state implies; sends nothing\n"
		"  status [--json]            last runs, outbox, holds, cursors, spool backlog\n"
		"  retry (--failed | KEY...)  put failed actions back to planned, once their cause\n"
		"                             is fixed; the next run sends them\n"
		"  resolve KEY (--sent REQUEST_ID | --not-sent | --dismiss)\n"
		"                             settle a Crosschq create left in doubt: it made that\n"
		"                             request, or it was not sent (the next run sends it);\n"
		"                             or give up on a failed action for good (never sent)\n"
		"  check                      validate config, credentials, stage, reason, templates,\n"
		"                             Crosschq capabilities, SMTP\n"
		"\n"
		"Options:\n"
		"  -c, --config FILE   config file (default: $REFSYNC_CONFIG, then %s)\n"
		"  -v, --verbose       more detail in the log\n"
		"  -q, --quiet         errors and warnings only\n"
		"  -h, --help          this text (after a command: that command's)\n"
		"  -V, --version       the version\n"
		"\n"
		"Exit codes: 0 done; 1 failed actions or a create in doubt wait for you (refsync status;\n"
		"then retry, resolve --dismiss or resolve: every run exits 1 until then); 64 usage;\n"
		"69 a remote has been failing for [sync] outage_alert_minutes; 70 internal error;\n"
		"73 the state directory or database is missing or not writable;\n"
		"75 try again later (another run, remote down, database busy);\n"
		"77 run as root on a state directory another user owns;\n"
		"78 configuration or credential error; 130, 143 interrupted by SIGINT, SIGTERM\n"
		"(stderr says how to resume). See refsync(1).\n",
		CONFIG_DEFAULT_PATH);
}

int usage_is_command(const char *cmd)
{
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (strcmp(cmd, commands[i].name) == 0)
			return 1;
	return 0;
}

int usage_print_command(const char *cmd, FILE *f)
{
	for (size_t i = 0; i < N_COMMANDS; i++) {
		if (strcmp(cmd, commands[i].name) == 0) {
			fputs(commands[i].text, f);
			fprintf(f, "\nGlobal options (before the command): -c FILE, -v, -q. See refsync --help and "
				   "refsync(1).\n");
			return 0;
		}
	}
	return -1;
}
