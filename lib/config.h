/*
 * config.h - the INI configuration shared by refsync, refsync-hook and
 * refsync-export (parsed with inih), and the secrets it names.
 *
 * Lookup order of the file: -c FILE, then $REFSYNC_CONFIG, then
 * /etc/refsync/refsync.conf. Every error message names the file, the line
 * and the key.
 */
#ifndef REFSYNC_CONFIG_H
#define REFSYNC_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#define CONFIG_DEFAULT_PATH "/etc/refsync/refsync.conf"
#define CONFIG_ERR_MAX 8192

/* The relationships a Crosschq survey asks references of (config_params). */
enum cq_relationship { REL_MANAGERS, REL_EMPLOYEES, REL_PEERS, REL_BUSINESS, REL_SOCIAL, REL_COUNT };

/* Where a template's hiring manager comes from. */
enum hiring_manager_mode { HM_POSTING, HM_NONE, HM_FIXED };

/*
 * One [template NAME] section (crosschq-api.md section 3): which jobs it
 * serves (ats_tag, or default), and what the Crosschq request asks for.
 */
struct template_cfg {
	char *name;                 /* the NAME of [template NAME] */
	int line;                   /* the line of its section header */
	char *ats_tag;              /* NULL: only as the default */
	char *jobrole;              /* survey codename */
	int counts[REL_COUNT];      /* references asked of each relationship */
	int any_relationship;       /* the candidate chooses the types ... */
	int references;             /* ... of this many references */
	char *candidate_message;    /* NULL: none */
	enum hiring_manager_mode hiring_manager;
	char *hm_name, *hm_email;   /* HM_FIXED */
	int use_sms;
	char *position;             /* NULL: the Lever posting's title */
	int is_default;
};

/* How Crosschq's webhooks authenticate ([crosschq] webhook_auth). */
enum webhook_auth {
	WEBHOOK_AUTH_TOKEN,         /* Authorization: Token <secret>, Bearer <secret> or <secret> */
	WEBHOOK_AUTH_BASIC          /* Authorization: Basic base64(user:password) */
};

/* The secrets a config can name. Their credential names (for
 * $CREDENTIALS_DIRECTORY) are "<section>_<key without _file>". */
enum secret_id {
	SECRET_LEVER_API_KEY,
	SECRET_LEVER_STAGE_CHANGE_TOKEN,
	SECRET_LEVER_HIRED_TOKEN,
	SECRET_CROSSCHQ_API_KEY,
	SECRET_SMTP_PASSWORD,
	SECRET_ANSWER_SECRET,
	SECRET_CROSSCHQ_WEBHOOK_SECRET,
	SECRET_AUDIT_SIGNING_KEY, /* refsync-export's Ed25519 private key (PEM), optional */
	SECRET_COUNT
};

struct config {
	char *path;                 /* the file that was read */

	/* [sync] */
	char *database;
	char *spool;
	int cancel_on_archive;
	int64_t trigger_since;      /* epoch ms; 0 = the first run's time */
	int overlap_minutes;        /* re-read this much before a cursor */
	int http_timeout_seconds;   /* one HTTP exchange, whole */
	int http_stall_seconds;     /* abort a transfer that moves no byte this long */
	int remote_wait_seconds;    /* the most one run waits (Retry-After, backoff) on one remote */
	int outage_alert_minutes;   /* failing runs (75) this long turn into 69; 0: never */

	/* [lever] */
	char *lever_url;            /* without trailing slash */
	char *trigger_stage;
	char *hired_reason;
	char *perform_as;           /* NULL when not set */
	double lever_rps;
	int webhook_max_age_hours;

	/* [crosschq] */
	char *crosschq_url;
	char *crosschq_auth_scheme; /* NULL: the key is the Authorization value */
	double crosschq_rps;
	int poll_open_minutes;      /* read an open request again after this long */
	int poll_open_per_run;      /* and at most this many per run */

	enum webhook_auth crosschq_webhook_auth; /* default WEBHOOK_AUTH_TOKEN */
	int crosschq_webhook_auth_line;         /* 0 when not set */

	/* [template NAME] sections, in file order */
	struct template_cfg *templates;
	size_t n_templates;

	/* [followup] */
	int after_days;
	int answer_expiry_days;
	char *smtp_url;
	char *smtp_user;            /* NULL when not set */
	char *from;
	char *answer_url;

	/* [prospects] */
	int export_existing;
	int auto_export_new;

	/* [export] */
	char *tenant_name;          /* the report's heading; NULL when not set */

	/* the *_file keys and where they were set */
	char *secret_file[SECRET_COUNT];
	int secret_line[SECRET_COUNT];
};

/*
 * Which file to read: explicit (from -c) when not NULL, else
 * $REFSYNC_CONFIG, else the default. The result is not owned by the caller.
 */
const char *config_locate(const char *explicit_path);

/*
 * Read and validate the file at path into cfg (zeroed first; defaults
 * applied). Returns 0, or -1 with every problem in err, one line each
 * (file, line, key, what is wrong; a misspelt key or section names the one
 * meant), joined by '\n' (CONFIG_ERR_MAX holds the usual cases; the last
 * line says how many more when err is too short). On failure cfg is freed.
 */
int config_load(const char *path, struct config *cfg, char *err, size_t errlen);

/* Log each line of a config_load error as its own error line. */
void config_log_errors(const char *err);

void config_free(struct config *cfg);

/*
 * Read secret id: from $CREDENTIALS_DIRECTORY/<credential name> when that
 * exists, else from its *_file (refused when readable by group or others,
 * empty, or larger than 4 KiB). Trailing whitespace is stripped. The secret
 * is registered with the logger so that it is masked in every log line.
 * Returns a malloc'd string owned by the caller, or NULL with err set
 * (the message never contains the secret).
 */
char *config_read_secret(const struct config *cfg, enum secret_id id, char *err, size_t errlen);

/*
 * 1 when secret id is configured: its *_file key is set, or a credential of
 * its name exists in $CREDENTIALS_DIRECTORY. Reads nothing. Else 0.
 */
int config_secret_configured(const struct config *cfg, enum secret_id id);

/*
 * Check the Crosschq webhook secret s against [crosschq] webhook_auth: for
 * basic it must be "user:password" (hold a ':'); for token anything goes.
 * Returns 0, or -1 with a one-line message in err naming the file, the line
 * and the key (never the secret).
 */
int config_check_webhook_secret(const struct config *cfg, const char *s, char *err, size_t errlen);

/* Wipe a secret (OPENSSL_cleanse) and free it; NULL is fine. */
void secret_free(char *secret);

/* "lever_api_key", ... */
const char *config_secret_credential_name(enum secret_id id);
/* "[lever] api_key_file", ... */
const char *config_secret_key_name(enum secret_id id);

/* 1 when url is https://, or http:// to a loopback host. */
int config_url_allowed(const char *url);

/* "managers", "employees", "peers", "business", "social". */
const char *config_relationship_name(enum cq_relationship r);

/* The template named name, or NULL. */
const struct template_cfg *config_template_find(const struct config *cfg, const char *name);

/* The template with default = yes, or NULL. */
const struct template_cfg *config_template_default(const struct config *cfg);

/* Parse a boolean word (yes/no/true/false/on/off/1/0). 0 ok, -1 not one. */
int config_parse_bool(const char *s, int *out);

#endif
