/*
 * run_record.h - the record of a run (runs table + audit chain).
 */
#ifndef REFSYNC_RUN_RECORD_H
#define REFSYNC_RUN_RECORD_H

#include "context.h"

#include <stdint.h>

/* Open the record of a run of command: close the runs that never ended
 * (abandoned), insert the row (marked as a dry run when ctx->dry_run) and
 * its run.start event, in one transaction. The run id, or -1. */
int64_t run_record_begin(struct sync_ctx *ctx, const char *command);

/* Record the end of run ctx->run_id with exit code code and ctx's counts
 * (run.end event), log the run's summary and its audit head. Returns code,
 * or EXIT_SOFTWARE when the record could not be written. */
int run_record_end(struct sync_ctx *ctx, const char *command, int code);

#endif
