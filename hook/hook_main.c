/*
 * hook_main.c - main() of refsync-hook, a CGI program (RFC 3875): the
 * request comes from the environment and standard input, the response goes
 * to standard output. It parses no raw HTTP; the web server does.
 */
#include "config.h"
#include "hook.h"
#include "log.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

static const char usage[] =
	"usage: refsync-hook                (run by a web server, as CGI)\n"
	"       refsync-hook --help | --version\n"
	"\n"
	"refsync-hook is a CGI program: a web server runs it for each request, with\n"
	"the request in the CGI environment (REQUEST_METHOD, PATH_INFO, CONTENT_TYPE,\n"
	"CONTENT_LENGTH, QUERY_STRING) and the body on standard input.\n"
	"\n"
	"routes (PATH_INFO):\n"
	"  POST /lever/stage-change   Lever webhook \"Candidate Stage Change\"\n"
	"  POST /lever/hired          Lever webhook \"Candidate Hired\"\n"
	"  GET  /answer?r=&e=&s=      the owner's answer page (changes nothing)\n"
	"  POST /answer               the owner's answer\n"
	"  POST|PUT /crosschq         Crosschq's request-status webhook (a Request),\n"
	"                             authenticated by HTTP_AUTHORIZATION\n"
	"\n"
	"The config file is $REFSYNC_CONFIG, else " CONFIG_DEFAULT_PATH ".\n"
	"See refsync-hook(8).\n";

/*
 * One request: read it, load the config, handle it, write the response.
 * Returns 0 when the response was written (whatever its HTTP status).
 */
int main(int argc, char **argv)
{
	struct hook_request req;
	struct hook_response resp;
	struct config cfg;
	struct buf body;
	char err[CONFIG_ERR_MAX];
	int have_config = 0;

	/* the webhook tokens and the answer secret are read into this process:
	 * no core dump of it */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	log_init("refsync-hook", LOG_INFO);
	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		fputs(usage, stdout);
		return EXIT_OK;
	}
	if (argc == 2 && (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0)) {
		printf("refsync %s\n", REFSYNC_VERSION);
		return EXIT_OK;
	}
	if (argc > 1) {
		if (argv[1][0] == '-')
			log_usage_error("unknown option '%s'", argv[1]);
		else
			log_usage_error("unexpected argument '%s': the request comes from the CGI environment", argv[1]);
		return EXIT_USAGE;
	}
	if (!getenv("REQUEST_METHOD")) {
		log_usage_error("REQUEST_METHOD is not set: refsync-hook is a CGI program that a web server runs "
				"(see refsync-hook(8))");
		return EXIT_USAGE;
	}

	memset(&req, 0, sizeof req);
	req.method = getenv("REQUEST_METHOD");
	req.path_info = getenv("PATH_INFO");
	req.content_type = getenv("CONTENT_TYPE");
	req.query_string = getenv("QUERY_STRING");
	req.authorization = getenv("HTTP_AUTHORIZATION");
	buf_init(&body, HOOK_BODY_MAX);
	hook_read_body(&req, &body, getenv("CONTENT_LENGTH"), STDIN_FILENO);

	/* A broken config is the installation's fault, not the sender's: 500,
	 * with the detail in the web server's error log only. */
	if (config_load(config_locate(NULL), &cfg, err, sizeof err) == 0)
		have_config = 1;
	else
		config_log_errors(err);

	hook_handle(have_config ? &cfg : NULL, &req, &resp);

	char *out;
	size_t len;
	hook_response_format(&resp, &out, &len);
	int rc = write_all(STDOUT_FILENO, out, len) == 0 ? EXIT_OK : EXIT_SOFTWARE;
	free(out);
	hook_response_free(&resp);
	buf_free(&body);
	if (have_config)
		config_free(&cfg);
	log_forget_secrets();
	return rc;
}
