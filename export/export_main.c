/*
 * export_main.c - refsync-export: the command line, and the dispatch to the
 * XML, CSV and HTML exports, to --verify (with an anchored head), to
 * --verify-file (offline, with a public key) or to --keygen. Only this file
 * and anchor_verify_file map failures to exit codes (lib/util.h): usage 64,
 * broken chain or export not verified 65, unreadable export or key 66,
 * database 70, cannot write 73, config 78.
 */
#include "anchor.h"
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
#include <sys/prctl.h>
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
	int have_head;             /* --head or --since-export gave an anchored head */
	int64_t head_seq;
	char head_hash[AUDIT_HASH_HEX];
	const char *since_export;  /* --since-export FILE */
	const struct anchor *since; /* its head line, once read */
	const char *verify_file;   /* --verify-file FILE */
	const char *pubkey;        /* --pubkey KEY */
	int keygen;
};

static const char usage_text[] =
	"usage: refsync-export [-c FILE] --format xml|csv|html [--kind events|requests|runs]\n"
	"                      [--from TIME] [--to TIME] [-o FILE]\n"
	"       refsync-export [-c FILE] --verify [--head SEQ:HASH | --since-export EXPORT [--pubkey KEY]]\n"
	"       refsync-export --verify-file EXPORT --pubkey KEY\n"
	"       refsync-export [-c FILE] --keygen [-o FILE]\n"
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
	"      --verify        recompute the audit hash chain and compare the runs with it;\n"
	"                      name the first broken event\n"
	"      --head SEQ:HASH with --verify: also prove that event SEQ still has HASH (a head\n"
	"                      that refsync logged, or an export carries): nothing up to it\n"
	"                      was cut or edited\n"
	"      --since-export EXPORT  with --verify: the same, with the head EXPORT ends with\n"
	"      --verify-file EXPORT   check offline that EXPORT is signed by --pubkey KEY and\n"
	"                      unchanged since (needs no config and no database)\n"
	"      --pubkey KEY    an Ed25519 public key (PEM) for --verify-file or --since-export\n"
	"      --keygen        make the signing key [audit] signing_key_file names (0600);\n"
	"                      write its public key to standard output or -o FILE\n"
	"  -h, --help          this help\n"
	"  -V, --version       the version\n"
	"\n"
	"Exit: 0 done (chain intact, export verified), 64 usage, 65 chain broken or export\n"
	"not verified, 66 cannot read the export or key, 70 database error, 73 cannot write\n"
	"the output, 78 config error. See refsync-export(1).\n";

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
	enum { OPT_FORMAT = 256, OPT_KIND, OPT_FROM, OPT_TO, OPT_VERIFY, OPT_HEAD, OPT_SINCE, OPT_VFILE, OPT_PUBKEY,
	       OPT_KEYGEN };
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },  { "format", required_argument, NULL, OPT_FORMAT },
		{ "kind", required_argument, NULL, OPT_KIND }, { "from", required_argument, NULL, OPT_FROM },
		{ "to", required_argument, NULL, OPT_TO },     { "output", required_argument, NULL, 'o' },
		{ "verify", no_argument, NULL, OPT_VERIFY },   { "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },         { "head", required_argument, NULL, OPT_HEAD },
		{ "since-export", required_argument, NULL, OPT_SINCE },
		{ "verify-file", required_argument, NULL, OPT_VFILE },
		{ "pubkey", required_argument, NULL, OPT_PUBKEY }, { "keygen", no_argument, NULL, OPT_KEYGEN },
		{ NULL, 0, NULL, 0 },
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
		case OPT_HEAD:
			if (anchor_parse_head_arg(optarg, &o->head_seq, o->head_hash))
				return usage_error("--head takes SEQ:HASH as refsync logs it (audit head 12:9f86...), not",
						   optarg);
			o->have_head = 1;
			break;
		case OPT_SINCE:
			o->since_export = optarg;
			break;
		case OPT_VFILE:
			o->verify_file = optarg;
			break;
		case OPT_PUBKEY:
			o->pubkey = optarg;
			break;
		case OPT_KEYGEN:
			o->keygen = 1;
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
	int selects = o->format != FORMAT_NONE || o->has_kind || o->window.has_from || o->window.has_to;
	if (o->verify_file) {
		if (selects || o->output || o->verify || o->keygen || o->have_head || o->since_export || o->config)
			return usage_error("--verify-file takes only --pubkey KEY", NULL);
		if (!o->pubkey)
			return usage_error("--verify-file needs --pubkey KEY (the public key of the signing key)", NULL);
		return -1;
	}
	if (o->keygen) {
		if (selects || o->verify || o->have_head || o->since_export || o->pubkey)
			return usage_error("--keygen takes only -c FILE and -o FILE", NULL);
		return -1;
	}
	if ((o->have_head || o->since_export) && !o->verify)
		return usage_error("--head and --since-export go with --verify", NULL);
	if (o->have_head && o->since_export)
		return usage_error("give one anchored head: --head or --since-export", NULL);
	if (o->pubkey && !o->since_export)
		return usage_error("--pubkey goes with --verify-file or --since-export", NULL);
	if (o->verify) {
		if (selects || o->output)
			return usage_error("--verify takes no --format, --kind, --from, --to or -o", NULL);
		return -1;
	}
	if (o->format == FORMAT_NONE)
		return usage_error("say what to do: --format xml|csv|html, --verify, --verify-file or --keygen", NULL);
	if (o->format == FORMAT_HTML && o->has_kind)
		return usage_error("--kind does not apply to --format html: the report covers every kind", NULL);
	if (o->window.has_from && o->window.has_to && o->window.from >= o->window.to)
		return usage_error("--from must be earlier than --to", NULL);
	return -1;
}

/* Say that the trail is broken at event seq (0: at no event) and why. Exit code. */
static int report_broken(sqlite3 *db, const char *what, int64_t seq, const char *why, int64_t checked,
			 const struct chain_head *head)
{
	char kind[640] = "", when[ROWS_NUMBER_MAX] = "";
	int64_t at = 0;
	int found = seq > 0 ? rows_event_info(db, seq, kind, sizeof kind, &at) : 1;
	if (found == 0)
		rows_format_time(at, when);
	rows_end(db);
	/* the reason may start with "event N: "; N is said already */
	char prefix[48];
	int plen = snprintf(prefix, sizeof prefix, "event %lld: ", (long long)seq);
	const char *reason = strncmp(why, prefix, (size_t)plen) == 0 ? why + plen : why;
	if (seq > 0 && found == 0)
		printf("%s BROKEN at event %lld (kind %s, at %s): %s\n", what, (long long)seq, kind, when, reason);
	else if (seq > 0)
		printf("%s BROKEN at event %lld: %s\n", what, (long long)seq, reason);
	else
		printf("%s BROKEN: %s\n", what, reason);
	printf("%lld events checked; stored head: event %lld, hash %s\n", (long long)checked, (long long)head->seq,
	       head->hash[0] ? head->hash : "-");
	if (seq > 0)
		log_err("%s broken: the first bad event is %lld", what, (long long)seq);
	else
		log_err("%s broken: %s", what, reason);
	return fflush(stdout) == 0 ? EXIT_DATAERR : EXIT_CANTCREAT;
}

/* --verify: recompute the chain, check the anchored head (when given) and
 * the runs, and say whether it all holds. Exit code. */
static int run_verify(sqlite3 *db, const struct options *o)
{
	char err[ERR_MAX] = "", why[512] = "";
	int64_t checked = 0, bad_seq = 0;
	struct chain_head head;
	struct audit_runs_result runs;
	if (rows_begin(db, err, sizeof err))
		goto db_failed;
	int verdict = audit_verify(db, &checked, &bad_seq, why, sizeof why);
	if (verdict < 0) {
		snprintf(err, sizeof err, "database: reading the audit trail failed: %s", sqlite3_errmsg(db));
		goto db_failed;
	}
	if (rows_chain_head(db, &head, err, sizeof err))
		goto db_failed;
	if (verdict == 1)
		return report_broken(db, "audit chain", bad_seq, why, checked, &head);
	if (o->have_head) {
		verdict = audit_check_head(db, o->head_seq, o->head_hash, &bad_seq, why, sizeof why);
		if (verdict < 0) {
			snprintf(err, sizeof err, "database: reading the audit trail failed: %s", sqlite3_errmsg(db));
			goto db_failed;
		}
		/* an events export names the first event that differs, even in a recomputed chain */
		int64_t first = 0;
		char first_why[512] = "";
		if (verdict == 1 && o->since &&
		    anchor_compare_events(db, o->since_export, o->since, &first, first_why, sizeof first_why) < 0) {
			snprintf(err, sizeof err, "database: reading the audit trail failed: %s", sqlite3_errmsg(db));
			goto db_failed;
		}
		if (verdict == 1 && first > 0 && first < bad_seq) {
			bad_seq = first;
			strlcpy_(why, first_why, sizeof why);
		}
		if (verdict == 1)
			return report_broken(db, "audit trail", bad_seq, why, checked, &head);
	}
	verdict = audit_verify_runs(db, &runs, why, sizeof why);
	if (verdict < 0) {
		snprintf(err, sizeof err, "database: reading the runs failed: %s", sqlite3_errmsg(db));
		goto db_failed;
	}
	if (verdict == 1)
		return report_broken(db, "runs", runs.bad_seq, why, checked, &head);
	rows_end(db);
	if (head.seq == 0)
		printf("audit chain intact: 0 events checked (the trail is empty)\n");
	else
		printf("audit chain intact: %lld events checked; head: event %lld, hash %s\n", (long long)checked,
		       (long long)head.seq, head.hash);
	if (runs.first_run > 1)
		printf("runs intact: %lld run%s from run %lld (event %lld) on match%s the chain; runs before run %lld "
		       "predate runs in the chain and are not covered\n", (long long)runs.checked,
		       runs.checked == 1 ? "" : "s", (long long)runs.first_run, (long long)runs.first_seq,
		       runs.checked == 1 ? "es" : "", (long long)runs.first_run);
	else if (runs.first_run == 1 && runs.checked == 1)
		printf("runs intact: the one run matches the chain\n");
	else if (runs.first_run == 1)
		printf("runs intact: all %lld runs match the chain\n", (long long)runs.checked);
	else
		printf("runs: no run is in the chain yet (every run predates runs in the chain)\n");
	if (o->have_head)
		printf("anchored head holds: event %lld has hash %s; nothing recorded up to it was cut or edited\n",
		       (long long)o->head_seq, o->head_seq ? o->head_hash : "-");
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

/* The signing key of [audit] signing_key_file into key when one is set.
 * 0 none, 1 loaded, or EXIT_CONFIG (logged; the key never is). */
static int load_signing_key(const struct config *cfg, struct sign_key *key)
{
	char err[ERR_MAX] = "", why[256] = "";
	if (!config_secret_configured(cfg, SECRET_AUDIT_SIGNING_KEY))
		return 0;
	char *pem = config_read_secret(cfg, SECRET_AUDIT_SIGNING_KEY, err, sizeof err);
	if (!pem) {
		log_err("%s (exports are signed with the key %s names)", err,
			config_secret_key_name(SECRET_AUDIT_SIGNING_KEY));
		return EXIT_CONFIG;
	}
	int bad = sign_load_private(pem, key, why, sizeof why);
	secret_free(pem);
	if (bad) {
		log_err("%s: %s: %s", cfg->path, config_secret_key_name(SECRET_AUDIT_SIGNING_KEY), why);
		return EXIT_CONFIG;
	}
	return 1;
}

/* Write the export o asks for, ending with its head line (signed when a
 * key is configured). Exit code. */
static int run_export(sqlite3 *db, const struct options *o, const struct config *cfg)
{
	char tenant[256];
	struct html_meta meta = { tenant_name(cfg, tenant, sizeof tenant), now_ms() };
	static struct output out; /* 64 KiB buffer: not on the stack */
	static const char *const names[] = { [FORMAT_XML] = "xml", [FORMAT_CSV] = "csv", [FORMAT_HTML] = "html" };
	char err[ERR_MAX] = "";
	struct sign_key key = { 0 };
	struct chain_head head;
	int rc, have_key = load_signing_key(cfg, &key);
	if (have_key == EXIT_CONFIG)
		return EXIT_CONFIG;
	if (output_open(&out, o->output, err, sizeof err)) {
		log_err("%s", err);
		sign_key_free(&key);
		return EXIT_CANTCREAT;
	}
	if (have_key && output_digest_start(&out)) {
		rc = -1;
		snprintf(err, sizeof err, "cannot start the digest of the export");
	} else if (rows_begin(db, err, sizeof err) || rows_chain_head(db, &head, err, sizeof err)) {
		rc = -1;
	} else if (o->format == FORMAT_XML) {
		rc = export_xml(db, o->kind, &o->window, &out, err, sizeof err);
	} else if (o->format == FORMAT_CSV) {
		rc = export_csv(db, o->kind, &o->window, &out, err, sizeof err);
	} else {
		rc = export_html(db, &o->window, &meta, &out, err, sizeof err);
	}
	rows_end(db);
	if (rc == 0)
		rc = anchor_write(&out, names[o->format], &head, have_key ? &key : NULL, err, sizeof err);
	sign_key_free(&key);
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

/* --keygen: make the key [audit] signing_key_file names; write its public
 * key to -o FILE or standard output. Exit code. */
static int run_keygen(const struct config *cfg, const char *output)
{
	static struct output out;
	char err[ERR_MAX] = "", keyid[SIGN_KEYID_HEX], *pub = NULL;
	const char *path = cfg->secret_file[SECRET_AUDIT_SIGNING_KEY];
	if (!path) {
		log_err("%s: %s is not set: set it to where the key goes (e.g. /etc/refsync/audit.key), then run "
			"--keygen", cfg->path, config_secret_key_name(SECRET_AUDIT_SIGNING_KEY));
		return EXIT_CONFIG;
	}
	if (sign_keygen(path, &pub, keyid, err, sizeof err)) {
		log_err("%s", err);
		return EXIT_CANTCREAT;
	}
	log_info("wrote a new Ed25519 signing key to %s (mode 0600, key %s); its public key, for auditors, %s",
		 path, keyid, output ? "is in" : "follows on standard output");
	if (output)
		log_info("%s", output);
	int code = EXIT_OK;
	if (output_open(&out, output, err, sizeof err)) {
		code = EXIT_CANTCREAT;
	} else {
		output_puts(&out, pub);
		if (output_commit(&out, err, sizeof err))
			code = EXIT_CANTCREAT;
	}
	if (code)
		log_err("%s (the private key %s was made: run openssl pkey -in %s -pubout to get its public key)",
			err, path, path);
	free(pub);
	return code;
}

/* --since-export: take the anchored head from the export (checking its
 * signature first when --pubkey is given). -1 to go on, else exit code. */
static int head_from_export(struct options *o)
{
	static struct anchor a;
	char err[ERR_MAX] = "";
	if (o->pubkey) {
		int code = anchor_verify_file(o->since_export, o->pubkey, &a);
		if (code != EXIT_OK)
			return code;
	} else {
		int rc = anchor_read(o->since_export, &a, err, sizeof err);
		if (rc) {
			log_err("%s", err);
			return EXIT_NOINPUT;
		}
	}
	o->have_head = 1;
	o->since = &a;
	o->head_seq = a.seq;
	strlcpy_(o->head_hash, a.hash, sizeof o->head_hash);
	return -1;
}

/* Parse, read the config, open the database read-only, dispatch. */
int main(int argc, char **argv)
{
	struct options o;
	struct config cfg;
	char err[CONFIG_ERR_MAX] = "";
	sqlite3 *db = NULL;
	int code;
	/* the signing key may be in this process's memory: no core dump, no ptrace by other processes */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	log_init("refsync-export", LOG_INFO);
	code = parse_args(argc, argv, &o);
	if (code >= 0)
		return code;
	if (o.verify_file) {
		struct anchor a;
		return anchor_verify_file(o.verify_file, o.pubkey, &a);
	}
	if (config_load(config_locate(o.config), &cfg, err, sizeof err)) {
		config_log_errors(err);
		return EXIT_CONFIG;
	}
	if (o.keygen) {
		code = run_keygen(&cfg, o.output);
		goto out;
	}
	if (o.since_export && (code = head_from_export(&o)) >= 0)
		goto out;
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
	code = o.verify ? run_verify(db, &o) : run_export(db, &o, &cfg);
out:
	db_close(db);
	config_free(&cfg);
	log_forget_secrets();
	return code;
}
