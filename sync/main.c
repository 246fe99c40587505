/*
 * main.c - refsync: the command line, the lock, and the order of one run
 * (run_record.c writes the run record) (pull, ingest the spool, decide, act). Only this file
 * turns errors into exit codes.
 */
#include "act.h"
#include "check.h"
#include "config.h"
#include "crosschq.h"
#include "crosschq_sync.h"
#include "context.h"
#include "db.h"
#include "decide.h"
#include "ingest.h"
#include "lever.h"
#include "log.h"
#include "outage.h"
#include "outbox.h"
#include "pull.h"
#include "run_record.h"
#include "status.h"
#include "usage.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <unistd.h>

/* Take the run lock beside the database. Returns the fd, -1 busy, -2 error. */
static int take_lock(const char *database, char *err, size_t errlen)
{
	const char *slash = strrchr(database, '/');
	char path[4096];
	if (slash)
		snprintf(path, sizeof path, "%.*s/refsync.lock", (int)(slash - database), database);
	else
		snprintf(path, sizeof path, "refsync.lock");
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "%s: cannot open the lock file: %s", path, strerror(errno));
		return -2;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		int busy = errno == EWOULDBLOCK;
		snprintf(err, errlen, "%s: %s", path,
			 busy ? "another refsync run holds the lock; exiting (the next timer tick retries)"
			      : strerror(errno));
		close(fd);
		return busy ? -1 : -2;
	}
	return fd;
}

/* The exit code of a database that cannot be used, with the error already
 * logged: busy (another writer) is 75, a database or directory this user
 * cannot write or open is 73 with a hint, anything else is 70. */
static int db_failure_code(int busy, const char *database)
{
	if (busy)
		return EXIT_TEMPFAIL;
	if (db_last_cantwrite()) {
		log_err("%s: refsync cannot write the database or its directory: both must belong to the user "
			"refsync runs as (e.g. chown -R refsync:refsync the state directory); not retried", database);
		return EXIT_CANTCREAT;
	}
	return EXIT_SOFTWARE;
}

/* Open both remote clients with their keys. EXIT_OK or EXIT_CONFIG. */
static int open_remotes(struct sync_ctx *ctx)
{
	char err[1024];
	char *key = config_read_secret(ctx->cfg, SECRET_LEVER_API_KEY, err, sizeof err);
	if (!key || lever_client_init(&ctx->lever, ctx->cfg->lever_url, key, ctx->cfg->lever_rps, err, sizeof err)) {
		secret_free(key);
		log_err("%s", err);
		snprintf(ctx->error, sizeof ctx->error, "%s", err);
		return EXIT_CONFIG;
	}
	secret_free(key);
	ctx->have_lever = 1;
	ctx->lever.total_timeout_s = ctx->cfg->http_timeout_seconds;
	ctx->lever.low_speed_time_s = ctx->cfg->http_stall_seconds;
	ctx->lever.wait_budget_ms = (int64_t)ctx->cfg->remote_wait_seconds * 1000;
	key = config_read_secret(ctx->cfg, SECRET_CROSSCHQ_API_KEY, err, sizeof err);
	char *auth = key ? crosschq_auth_value(ctx->cfg->crosschq_auth_scheme, key) : NULL;
	if (!key || crosschq_client_init(&ctx->crosschq, ctx->cfg->crosschq_url, auth, ctx->cfg->crosschq_rps, err,
					 sizeof err)) {
		secret_free(key);
		secret_free(auth);
		log_err("%s", err);
		snprintf(ctx->error, sizeof ctx->error, "%s", err);
		return EXIT_CONFIG;
	}
	secret_free(auth);
	secret_free(key);
	ctx->have_crosschq = 1;
	ctx->crosschq.total_timeout_s = ctx->cfg->http_timeout_seconds;
	ctx->crosschq.low_speed_time_s = ctx->cfg->http_stall_seconds;
	ctx->crosschq.wait_budget_ms = (int64_t)ctx->cfg->remote_wait_seconds * 1000;
	return EXIT_OK;
}

struct run_options {
	const char *command;
	int dry_run, full, backfill, slices;
	int64_t since, until;
};

/* EXIT_SOME_FAILED while failed actions wait for the operator (refsync
 * retry, or resolve --dismiss), so that the units keep failing until they
 * are dealt with; those settled by privacy erasure are never sent and wait
 * for nobody. */
static int failures_waiting(struct sync_ctx *ctx)
{
	sqlite3_stmt *st = db_prepare(ctx->db, "SELECT count(*) FROM outbox WHERE state = 'failed' AND dismissed_at "
					       "IS NULL AND CASE WHEN json_valid(payload) THEN json_extract(payload, "
					       "'$.erased') END IS NOT 1");
	long n = st && sqlite3_step(st) == SQLITE_ROW ? (long)sqlite3_column_int64(st, 0) : 0;
	sqlite3_finalize(st);
	if (n == 0)
		return EXIT_OK;
	char msg[256];
	snprintf(msg, sizeof msg, "%ld failed action%s wait%s for you: refsync status lists %s; fix the cause, then "
		 "refsync retry (or refsync resolve KEY --dismiss to give up on one)", n, n == 1 ? "" : "s",
		 n == 1 ? "s" : "", n == 1 ? "it" : "them");
	ctx_note_error(ctx, msg);
	log_warn("%s", msg);
	return EXIT_SOME_FAILED;
}

/* s as one shell word into out: as it is when it holds only safe characters, else in single quotes. */
static void shell_word(const char *s, char *out, size_t n)
{
	if (*s && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/._-+:@,=") == strlen(s)) {
		snprintf(out, n, "%s", s);
		return;
	}
	size_t j = 0;
	out[j++] = '\'';
	for (const char *p = s; *p && j + 6 < n; p++) {
		if (*p == '\'') {
			memcpy(out + j, "'\\''", 4); /* close, an escaped quote, open again */
			j += 4;
		} else {
			out[j++] = *p;
		}
	}
	out[j++] = '\'';
	out[j] = '\0';
}

/* The command that resumes an interrupted run or backfill, into out. */
static void resume_command(const struct sync_ctx *ctx, const struct run_options *o, char *out, size_t n)
{
	char a[40], z[40], k[16] = "", conf[4096];
	shell_word(ctx->cfg->path, conf, sizeof conf);
	if (!o->backfill) {
		snprintf(out, n, "refsync -c %s run%s%s", conf, o->full ? " --full" : "", o->dry_run ? " --dry-run" : "");
		return;
	}
	if (o->slices)
		snprintf(k, sizeof k, " --slices %d", o->slices);
	snprintf(out, n, "refsync -c %s backfill --since %s%s%s%s%s", conf, format_iso8601(o->since, 0, a, sizeof a),
		 o->until ? " --until " : "", o->until ? format_iso8601(o->until, 0, z, sizeof z) : "", k,
		 o->dry_run ? " --dry-run" : "");
}

/* The end of a run stopped by SIGINT or SIGTERM: its error, and how to resume. Returns the exit code. */
static int interrupted_end(struct sync_ctx *ctx, const struct run_options *o)
{
	char cmd[4096 + 256];
	resume_command(ctx, o, cmd, sizeof cmd);
	int sig = interrupt_exit_code() - 128;
	snprintf(ctx->error, sizeof ctx->error, "interrupted by %s: stopped at a safe point; what was stored is kept",
		 sig == SIGINT ? "SIGINT" : "SIGTERM");
	log_warn("%s; to resume: %s%s", ctx->error, cmd,
		 o->backfill ? " (each slice goes on where it stopped)" : " (the next run goes on where this stopped)");
	return interrupt_exit_code();
}

/* Decide (decide.h: the database and the config, no remote client); its
 * count and its error go to the run. */
static int run_decide(struct sync_ctx *ctx, int keep_open)
{
	struct decide_ctx d = { .db = ctx->db, .cfg = ctx->cfg, .run_id = ctx->run_id, .now = ctx->started_at };
	int r = decide(&d, keep_open);
	ctx->decided += d.decided;
	if (d.error[0])
		snprintf(ctx->error, sizeof ctx->error, "%s", d.error);
	return r;
}

/* The steps of run and backfill. */
static int sync_steps(struct sync_ctx *ctx, const struct run_options *o)
{
	int r = o->backfill ? pull_lever_window(ctx, o->since, o->until, o->slices) : pull_lever(ctx, o->full);
	if (r == EXIT_OK && !interrupted())
		r = pull_lever_users(ctx);
	if (r == EXIT_OK && !o->dry_run && !interrupted())
		r = ingest_spool(ctx);
	if (r == EXIT_OK && !interrupted())
		r = pull_crosschq(ctx);
	if (r == EXIT_OK && interrupted())
		r = interrupt_exit_code();
	if (r != EXIT_OK)
		return r;
	if (o->dry_run) {
		r = run_decide(ctx, 1);
		if (r == EXIT_OK) {
			act_print_pending(ctx);
			db_rollback(ctx->db);
		}
		return r;
	}
	/* Two rounds: some actions lead to others within the same run (a
	 * prospect created in Lever, then its id recorded in Crosschq). */
	int final = EXIT_OK;
	for (int round = 0; round < 2; round++) {
		long before = ctx->decided;
		r = run_decide(ctx, 0);
		if (r == EXIT_OK)
			r = act(ctx);
		if (r == EXIT_SOME_FAILED) {
			final = r;
			r = EXIT_OK;
		}
		if (r != EXIT_OK || ctx->decided == before || interrupted())
			break;
	}
	if (r == EXIT_OK && final == EXIT_OK)
		final = failures_waiting(ctx);
	if (r == EXIT_OK && final == EXIT_OK && ctx->crosschq_unread) {
		/* everything else is done; Crosschq's states wait: not a success to the timer */
		log_notice("Crosschq was unreachable while its request states were read: exit 75 (try again later)");
		return EXIT_TEMPFAIL;
	}
	return r != EXIT_OK ? r : final;
}

static int parse_date_arg(const char *opt, const char *v, int64_t *out)
{
	if (parse_iso8601(v, out)) {
		log_usage_error("%s '%s': expected an ISO 8601 date or time such as 2026-01-31 or 2026-01-31T12:00:00Z",
				opt, v);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *config_path = NULL;
	int verbosity = LOG_INFO;
	/* the API keys are in this process's memory: no core dump, no ptrace by
	 * other processes of the user (refsync.service also sets LimitCORE=0) */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	log_init("refsync", verbosity);
	static const struct option global[] = {
		{ "config", required_argument, NULL, 'c' }, { "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },        { "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },      { NULL, 0, NULL, 0 }
	};
	int ch;
	opterr = 0; /* the mistakes are said here, one way */
	while ((ch = getopt_long(argc, argv, "+:c:vqhV", global, NULL)) != -1) {
		switch (ch) {
		case 'c':
			config_path = optarg;
			break;
		case 'v':
			verbosity = LOG_DEBUG;
			break;
		case 'q':
			verbosity = LOG_WARN;
			break;
		case 'h':
			usage_print(stdout);
			return EXIT_OK;
		case 'V':
			printf("refsync %s\n", REFSYNC_VERSION);
			return EXIT_OK;
		case ':':
			log_usage_error("option '%s' needs a value", argv[optind - 1]);
			return EXIT_USAGE;
		default:
			if (optopt)
				log_usage_error("unknown option '-%c'", optopt);
			else
				log_usage_error("unknown option '%s'", argv[optind - 1]);
			return EXIT_USAGE;
		}
	}
	log_set_verbosity(verbosity);
	if (optind >= argc) {
		log_usage_error("no command given (run, backfill, plan, status, retry, resolve or check)");
		return EXIT_USAGE;
	}
	if (!usage_is_command(argv[optind])) {
		log_usage_error("unknown command '%s' (run, backfill, plan, status, retry, resolve or check)",
				argv[optind]);
		return EXIT_USAGE;
	}
	struct run_options o = { .command = argv[optind], .slices = 0 };
	int json = 0;
	argc -= optind;
	argv += optind;
	optind = 0; /* 0: glibc starts afresh (the global options stopped at the command, "+") */
	static const struct option cmd_opts[] = {
		{ "dry-run", no_argument, NULL, 'n' }, { "full", no_argument, NULL, 'f' },
		{ "since", required_argument, NULL, 's' }, { "until", required_argument, NULL, 'u' },
		{ "json", no_argument, NULL, 'j' }, { "slices", required_argument, NULL, 'S' },
		{ "failed", no_argument, NULL, 'F' }, { "help", no_argument, NULL, 'h' },
		{ "sent", required_argument, NULL, 'R' }, { "not-sent", no_argument, NULL, 'N' },
		{ "dismiss", no_argument, NULL, 'D' }, { NULL, 0, NULL, 0 }
	};
	int have_since = 0, all_failed = 0, not_sent = 0, dismiss = 0;
	const char *sent_id = NULL;
	while ((ch = getopt_long(argc, argv, ":", cmd_opts, NULL)) != -1) {
		switch (ch) {
		case 'n':
			o.dry_run = 1;
			break;
		case 'f':
			o.full = 1;
			break;
		case 's':
			if (parse_date_arg("--since", optarg, &o.since))
				return EXIT_USAGE;
			have_since = 1;
			break;
		case 'u':
			if (parse_date_arg("--until", optarg, &o.until))
				return EXIT_USAGE;
			break;
		case 'j':
			json = 1;
			break;
		case 'F':
			all_failed = 1;
			break;
		case 'R':
			sent_id = optarg;
			break;
		case 'N':
			not_sent = 1;
			break;
		case 'D':
			dismiss = 1;
			break;
		case 'S': {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (*end || v < 1 || v > 64) {
				log_usage_error("--slices '%s': expected a whole number from 1 to 64", optarg);
				return EXIT_USAGE;
			}
			o.slices = (int)v;
			break;
		}
		case 'h':
			usage_print_command(o.command, stdout);
			return EXIT_OK;
		case ':':
			log_usage_error("%s: option '%s' needs a value", o.command, argv[optind - 1]);
			return EXIT_USAGE;
		default:
			if (optopt)
				log_usage_error("%s: unknown option '-%c'", o.command, optopt);
			else
				log_usage_error("%s: unknown option '%s'", o.command, argv[optind - 1]);
			return EXIT_USAGE;
		}
	}
	const char *cmd = o.command;
	int is_run = strcmp(cmd, "run") == 0, is_backfill = strcmp(cmd, "backfill") == 0;
	int is_plan = strcmp(cmd, "plan") == 0, is_status = strcmp(cmd, "status") == 0;
	int is_check = strcmp(cmd, "check") == 0, is_retry = strcmp(cmd, "retry") == 0;
	int is_resolve = strcmp(cmd, "resolve") == 0;
	if ((optind < argc && !is_retry && !is_resolve) || ((sent_id || not_sent || dismiss) && !is_resolve) ||
	    (all_failed && !is_retry) || (o.full && !is_run) || (o.dry_run && !is_run && !is_backfill) ||
	    ((have_since || o.until || o.slices) && !is_backfill) || (json && !is_status)) {
		if (optind < argc && !is_retry && !is_resolve)
			log_usage_error("%s takes no argument '%s'", cmd, argv[optind]);
		else
			log_usage_error("option not valid for '%s'", cmd);
		return EXIT_USAGE;
	}
	if (is_retry && (all_failed == (optind < argc))) {
		log_usage_error("retry takes --failed, or the keys of failed actions (refsync status lists them)");
		return EXIT_USAGE;
	}
	if (is_resolve && (argc - optind != 1 || (sent_id != NULL) + not_sent + dismiss != 1)) {
		log_usage_error("resolve takes one action key and --sent REQUEST_ID or --not-sent (an action in doubt), "
				"or --dismiss (a failed action); refsync status lists them");
		return EXIT_USAGE;
	}
	if (is_backfill) {
		if (!have_since) {
			log_usage_error("backfill needs --since DATE");
			return EXIT_USAGE;
		}
		/* no --until: now, or the end of the interrupted backfill it resumes (pull.h) */
		if ((o.until ? o.until : now_ms()) <= o.since) {
			log_usage_error("backfill: --until must be after --since");
			return EXIT_USAGE;
		}
		o.backfill = 1;
	}

	struct config cfg;
	char err[8192];
	if (config_load(config_locate(config_path), &cfg, err, sizeof err)) {
		config_log_errors(err);
		return EXIT_CONFIG;
	}
	if (is_check) {
		int r = check_all(&cfg);
		config_free(&cfg);
		return r;
	}
	if (is_status) {
		int r = status_print(&cfg, json);
		config_free(&cfg);
		return r;
	}

	http_global_init();
	struct sync_ctx ctx;
	memset(&ctx, 0, sizeof ctx);
	ctx.cfg = &cfg;
	ctx.dry_run = o.dry_run || is_plan;
	ctx.progress = is_backfill;
	ctx.started_at = now_ms();
	ctx.started_mono = monotonic_ms();
	int code = EXIT_OK, lock_fd = -1;
	if (is_retry && access(cfg.database, F_OK) != 0 && errno == ENOENT) {
		/* no run yet: nothing failed, and retry does not make the database */
		if (all_failed) {
			printf("0 actions put back to planned: there has been no run yet (%s does not exist)\n",
			       cfg.database);
		} else {
			for (int i = optind; i < argc; i++)
				fprintf(stderr, "refsync: no failed action has the key %s\n", argv[i]);
			log_err("retry: there has been no run yet (%s does not exist): nothing was put back",
				cfg.database);
			code = EXIT_USAGE;
		}
		goto out;
	}
	code = state_dir_ready(cfg.database, err, sizeof err);
	if (code != EXIT_OK) {
		log_err("%s", err);
		goto out;
	}
	lock_fd = take_lock(cfg.database, err, sizeof err);
	if (lock_fd < 0) {
		log_err("%s", err);
		code = lock_fd == -1 ? EXIT_TEMPFAIL : EXIT_CANTCREAT;
		goto out;
	}
	int busy = 0;
	if (db_open(cfg.database, DB_READWRITE, &ctx.db, &busy, err, sizeof err)) {
		log_err("%s", err);
		code = db_failure_code(busy, cfg.database);
		goto out;
	}
	if (is_retry) {
		int unknown = 0;
		int n = outbox_requeue_failed(ctx.db, argv + optind, argc - optind, &unknown);
		if (n < 0) {
			log_err("%s: %s", cfg.database, db_last_error());
			code = db_failure_code(db_last_busy(), cfg.database);
		} else if (unknown) {
			log_err("retry: %d key%s named no failed action: nothing was put back", unknown,
				unknown == 1 ? "" : "s");
			code = EXIT_USAGE;
		} else {
			printf("%d action%s put back to planned; the next run sends %s\n", n, n == 1 ? "" : "s",
			       n == 1 ? "it" : "them");
			code = EXIT_OK;
		}
		goto out;
	}
	if (is_resolve) {
		ctx.run_id = run_record_begin(&ctx, cmd);
		code = ctx.run_id < 0 ? EXIT_TEMPFAIL : sent_id ? open_remotes(&ctx) : EXIT_OK;
		if (code == EXIT_OK)
			code = dismiss ? act_dismiss_failed(&ctx, argv[optind])
				       : act_resolve(&ctx, argv[optind], sent_id);
		if (ctx.run_id >= 0)
			run_record_end(&ctx, cmd, code);
		goto out;
	}
	if (is_plan) {
		code = run_decide(&ctx, 1);
		if (code == EXIT_OK) {
			act_print_pending(&ctx);
			db_rollback(ctx.db);
		}
		goto out;
	}
	/* from here a run stops at a safe point on SIGINT or SIGTERM and closes its record */
	interrupt_install();
	ctx.run_id = run_record_begin(&ctx, cmd);
	if (ctx.run_id < 0) {
		/* busy: another writer (75); anything else is the database's own fault (70) */
		int busy_now = db_last_busy();
		log_err("%s: cannot record the run: %s%s", cfg.database, db_last_error(),
			db_last_corrupt() ? " (the database is corrupt: restore it from a backup)" : "");
		code = db_failure_code(busy_now, cfg.database);
		goto out;
	}
	code = open_remotes(&ctx);
	if (code == EXIT_OK)
		code = sync_steps(&ctx, &o);
	if (interrupted())
		code = interrupted_end(&ctx, &o);
	if (!o.dry_run)
		code = outage_judge(&ctx, code);
	code = run_record_end(&ctx, o.dry_run ? (is_run ? "run --dry-run" : "backfill --dry-run") : cmd, code);
out:
	if (ctx.have_lever)
		http_client_free(&ctx.lever);
	if (ctx.have_crosschq)
		http_client_free(&ctx.crosschq);
	db_close(ctx.db);
	if (lock_fd >= 0)
		close(lock_fd);
	config_free(&cfg);
	http_global_cleanup();
	log_forget_secrets();
	return code;
}
