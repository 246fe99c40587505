/*
 * export_main.c - refsync-export: the command line, and the dispatch to the
 * XML, CSV and HTML exports or to --verify. Only this file maps failures to
 * exit codes (sync/util.h): usage 64, broken chain 65, database 70, cannot
 * write 73, config 78.
 */
#include "audit.h"
#include "config.h"
#include "db.h"
#include "export_csv.h"
#include "export_html.h"
#include "export_rows.h"
#include "export_xml.h"
#include "log.h"
#include "output.h"
#include "util.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef REFSYNC_VERSION
#define REFSYNC_VERSION "0.1.0"
#endif

#define ERR_MAX 1024

enum format { FORMAT_NONE, FORMAT_XML, FORMAT_CSV, FORMAT_HTML };

struct options {
	const char *config;
	enum format format;
	int has_kind;
	enum rowset kind;
	struct export_window window;
	const char *output;
	int verify;
};

static const char usage_text[] =
	"usage: refsync-export [-c FILE] --format xml|csv|html [--kind events|requests|runs]\n"
	"                      [--from TIME] [--to TIME] [-o FILE]\n"
	"       refsync-export [-c FILE] --verify\n"
	"       refsync-export --help | --version\n"
	"\n"
	"Export the refsync audit trail, requests or runs, or verify the audit chain.\n"
	"\n"
	"  -c, --config FILE   config file (default: $REFSYNC_CONFIG, else " CONFIG_DEFAULT_PATH ")\n"
	"      --format FMT    xml (valid against audit.xsd, see refsync-export(1)), csv (RFC 4180,\n"
	"                      formulas neutralized) or html (a static report of everything\n"
	"                      in the window)\n"
	"      --kind KIND     events (default), requests (with holds) or runs; xml and csv\n"
	"      --from TIME     only rows at or after TIME (ISO 8601, e.g. 2026-01-01 or\n"
	"                      2026-01-01T00:00:00Z)\n"
	"      --to TIME       only rows before TIME\n"
	"  -o, --output FILE   write FILE atomically instead of standard output\n"
	"      --verify        recompute the audit hash chain; name the first broken event\n"
	"  -h, --help          this help\n"
	"  -V, --version       the version\n"
	"\n"
	"Exit: 0 done (chain intact), 64 usage, 65 chain broken, 70 database error,\n"
	"73 cannot write the output, 78 config error. See refsync-export(1).\n";

/* Report a command-line mistake ("refsync-export: what" and "Try
 * 'refsync-export --help'."). Returns EXIT_USAGE. */
static int usage_error(const char *what, const char *arg)
{
	if (arg)
		log_usage_error("%s '%s'", what, arg);
	else
		log_usage_error("%s", what);
	return EXIT_USAGE;
}

/* Parse an ISO 8601 time option into *ms. 0 or EXIT_USAGE. */
static int parse_time_option(const char *name, const char *value, int64_t *ms)
{
	if (parse_iso8601(value, ms) != 0) {
		log_usage_error("%s: '%s' is not an ISO 8601 time such as 2026-01-31 or 2026-01-31T12:00:00Z", name,
				value);
		return EXIT_USAGE;
	}
	return 0;
}

/*
 * Read the command line into o. Returns -1 to go on, or the exit code to
 * exit with (0 after --help or --version).
 */
static int parse_args(int argc, char **argv, struct options *o)
{
	enum { OPT_FORMAT = 256, OPT_KIND, OPT_FROM, OPT_TO, OPT_VERIFY };
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },  { "format", required_argument, NULL, OPT_FORMAT },
		{ "kind", required_argument, NULL, OPT_KIND }, { "from", required_argument, NULL, OPT_FROM },
		{ "to", required_argument, NULL, OPT_TO },     { "output", required_argument, NULL, 'o' },
		{ "verify", no_argument, NULL, OPT_VERIFY },   { "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },         { NULL, 0, NULL, 0 },
	};
	int c, rc;
	memset(o, 0, sizeof *o);
	o->kind = ROWS_EVENTS;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":c:o:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			o->config = optarg;
			break;
		case 'o':
			o->output = optarg;
			break;
		case OPT_FORMAT:
			if (strcmp(optarg, "xml") == 0)
				o->format = FORMAT_XML;
			else if (strcmp(optarg, "csv") == 0)
				o->format = FORMAT_CSV;
			else if (strcmp(optarg, "html") == 0)
				o->format = FORMAT_HTML;
			else
				return usage_error("--format must be xml, csv or html, not", optarg);
			break;
		case OPT_KIND:
			o->has_kind = 1;
			if (strcmp(optarg, "events") == 0)
				o->kind = ROWS_EVENTS;
			else if (strcmp(optarg, "requests") == 0)
				o->kind = ROWS_REQUESTS;
			else if (strcmp(optarg, "runs") == 0)
				o->kind = ROWS_RUNS;
			else
				return usage_error("--kind must be events, requests or runs, not", optarg);
			break;
		case OPT_FROM:
			if ((rc = parse_time_option("--from", optarg, &o->window.from)))
				return rc;
			o->window.has_from = 1;
			break;
		case OPT_TO:
			if ((rc = parse_time_option("--to", optarg, &o->window.to)))
				return rc;
			o->window.has_to = 1;
			break;
		case OPT_VERIFY:
			o->verify = 1;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return fflush(stdout) == 0 ? EXIT_OK : EXIT_CANTCREAT;
		case 'V':
			printf("refsync %s\n", REFSYNC_VERSION);
			return fflush(stdout) == 0 ? EXIT_OK : EXIT_CANTCREAT;
		case ':':
			return usage_error("this option needs a value:", argv[optind - 1]);
		default:
			if (optopt) {
				char opt[3] = { '-', (char)optopt, '\0' };
				return usage_error("unknown option", opt);
			}
			return usage_error("unknown option", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument", argv[optind]);
	if (o->verify) {
		if (o->format != FORMAT_NONE || o->has_kind || o->window.has_from || o->window.has_to || o->output)
			return usage_error("--verify takes no --format, --kind, --from, --to or -o", NULL);
		return -1;
	}
	if (o->format == FORMAT_NONE)
		return usage_error("say what to do: --format xml|csv|html, or --verify", NULL);
	if (o->format == FORMAT_HTML && o->has_kind)
		return usage_error("--kind does not apply to --format html: the report covers every kind", NULL);
	if (o->window.has_from && o->window.has_to && o->window.from >= o->window.to)
		return usage_error("--from must be earlier than --to", NULL);
	return -1;
}

/* --verify: recompute the chain and say whether it holds. Exit code. */
static int run_verify(sqlite3 *db)
{
	char err[ERR_MAX] = "", why[256] = "", kind[640] = "", when[ROWS_NUMBER_MAX] = "?";
	int64_t checked = 0, bad_seq = 0, at = 0;
	struct chain_head head;
	if (rows_begin(db, err, sizeof err))
		goto db_failed;
	int verdict = audit_verify(db, &checked, &bad_seq, why, sizeof why);
	if (verdict < 0) {
		snprintf(err, sizeof err, "database: reading the audit trail failed: %s", sqlite3_errmsg(db));
		goto db_failed;
	}
	if (rows_chain_head(db, &head, err, sizeof err))
		goto db_failed;
	if (verdict == 1) {
		if (rows_event_info(db, bad_seq, kind, sizeof kind, &at) == 0)
			rows_format_time(at, when);
		else
			strlcpy_(kind, "?", sizeof kind);
		rows_end(db);
		/* audit_verify's reason may start with "event N: "; N is said already */
		char prefix[48];
		int plen = snprintf(prefix, sizeof prefix, "event %lld: ", (long long)bad_seq);
		const char *reason = strncmp(why, prefix, (size_t)plen) == 0 ? why + plen : why;
		printf("audit chain BROKEN at event %lld (kind %s, at %s): %s\n", (long long)bad_seq, kind, when,
		       reason);
		printf("%lld events checked; stored head: event %lld, hash %s\n", (long long)checked,
		       (long long)head.seq, head.hash[0] ? head.hash : "-");
		log_err("audit chain broken: the first bad event is %lld", (long long)bad_seq);
		return fflush(stdout) == 0 ? EXIT_DATAERR : EXIT_CANTCREAT;
	}
	rows_end(db);
	if (head.seq == 0)
		printf("audit chain intact: 0 events checked (the trail is empty)\n");
	else
		printf("audit chain intact: %lld events checked; head: event %lld, hash %s\n", (long long)checked,
		       (long long)head.seq, head.hash);
	return fflush(stdout) == 0 ? EXIT_OK : EXIT_CANTCREAT;
db_failed:
	rows_end(db);
	log_err("%s", err);
	return EXIT_SOFTWARE;
}

/*
 * The tenant's name for the report: [export] tenant_name, else NAME when
 * the file is NAME.conf other than refsync.conf (the file of the instance
 * refsync@NAME), else NULL. A derived name is written into buf.
 */
static const char *tenant_name(const struct config *cfg, char *buf, size_t len)
{
	if (cfg->tenant_name)
		return cfg->tenant_name;
	const char *base = cfg->path ? strrchr(cfg->path, '/') : NULL;
	base = base ? base + 1 : cfg->path ? cfg->path : "";
	size_t n = strlen(base);
	if (n <= 5 || strcmp(base + n - 5, ".conf") != 0 || strcmp(base, "refsync.conf") == 0 || n - 5 >= len)
		return NULL;
	memcpy(buf, base, n - 5);
	buf[n - 5] = '\0';
	return buf;
}

/* Write the export o asks for. Exit code. */
static int run_export(sqlite3 *db, const struct options *o, const struct config *cfg)
{
	char tenant[256];
	struct html_meta meta = { tenant_name(cfg, tenant, sizeof tenant), now_ms() };
	static struct output out; /* 64 KiB buffer: not on the stack */
	char err[ERR_MAX] = "";
	int rc;
	if (output_open(&out, o->output, err, sizeof err)) {
		log_err("%s", err);
		return EXIT_CANTCREAT;
	}
	if (rows_begin(db, err, sizeof err)) {
		rc = -1;
	} else if (o->format == FORMAT_XML) {
		rc = export_xml(db, o->kind, &o->window, &out, err, sizeof err);
	} else if (o->format == FORMAT_CSV) {
		rc = export_csv(db, o->kind, &o->window, &out, err, sizeof err);
	} else {
		rc = export_html(db, &o->window, &meta, &out, err, sizeof err);
	}
	rows_end(db);
	if (rc) {
		int cantcreat = out.error != 0;
		if (cantcreat)
			log_err("%s: %s failed: %s%s", o->output ? o->output : "standard output",
				out.failed_op ? out.failed_op : "write", strerror(out.error),
				o->output ? " (no file was written)" : "");
		else
			log_err("%s", err);
		output_abort(&out);
		return cantcreat ? EXIT_CANTCREAT : EXIT_SOFTWARE;
	}
	if (output_commit(&out, err, sizeof err)) {
		log_err("%s", err);
		return EXIT_CANTCREAT;
	}
	return EXIT_OK;
}

/* Parse, read the config, open the database read-only, dispatch. */
int main(int argc, char **argv)
{
	struct options o;
	struct config cfg;
	char err[CONFIG_ERR_MAX] = "";
	sqlite3 *db = NULL;
	int code;
	log_init("refsync-export", LOG_INFO);
	code = parse_args(argc, argv, &o);
	if (code >= 0)
		return code;
	if (config_load(config_locate(o.config), &cfg, err, sizeof err)) {
		config_log_errors(err);
		return EXIT_CONFIG;
	}
	if (db_open(cfg.database, DB_READONLY, &db, NULL, err, sizeof err)) {
		log_err("%s", err);
		code = EXIT_SOFTWARE;
		goto out;
	}
	/* a corrupt database proves nothing and exports nothing: a full check
	 * before --verify, the cheaper quick_check before an export */
	int bad = db_check_integrity(db, o.verify, err, sizeof err);
	if (bad) {
		log_err("%s: %s", cfg.database, err);
		code = EXIT_SOFTWARE;
		goto out;
	}
	code = o.verify ? run_verify(db) : run_export(db, &o, &cfg);
out:
	db_close(db);
	config_free(&cfg);
	return code;
}
