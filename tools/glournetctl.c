/*
 * glournetctl: the operator's and the scripts' way into a running
 * glournetd. It stays thin on purpose: the daemon owns the command table
 * (names, arguments, options, help, which commands change it and which
 * ask to confirm), so this sends argv, shows the answer as a table or as
 * JSON, and turns the outcome into the documented exit codes
 * (docs/control-socket.md) that scripts rely on. This file reads
 * glournetctl's own options and picks the mode: one command (ctl_run.c),
 * a batch (-f, ctl_batch.c), the prompt on a terminal
 * (ctl_interactive.c), or completion (ctl_complete.c).
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl/ctl.h"
#include "glournet/duration.h"

#define PROG               "glournetctl"
#define DEFAULT_TIMEOUT_MS 10000
#define MAX_TIMEOUT_S      86400

struct options {
	struct ctl_opts run;
	bool help, version, errexit;
	const char *batch; /* -f FILE */
	int argc;          /* the command words and their arguments */
	char **argv;
};

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs(PROG ": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nusage: " PROG " [-s PATH] [-j] [--timeout DUR] [--force] COMMAND "
	      "[ARGS...]\n       " PROG " [-s PATH] -f FILE [-e]\nTry '" PROG
	      " --help' for the commands.\n",
	      stderr);
	return CTL_EXIT_USAGE;
}

/* glournet's one duration grammar (500ms, 10s, 1m; no unit: seconds). */
static int parse_timeout(const char *arg, int *timeout_ms, char *why, size_t len)
{
	uint64_t ms;

	if (gn_duration_take("--timeout", arg, 1, (uint64_t)MAX_TIMEOUT_S * 1000, 0, &ms, why,
			     len) < 0)
		return -EINVAL;
	*timeout_ms = (int)ms;
	return 0;
}

static const char *default_socket(void)
{
	const char *env = getenv("GLOURNET_SOCKET");

	return env && *env ? env : CTL_DEFAULT_SOCKET;
}

static int bad_option(int opt, char **argv)
{
	const char *given = argv[optind - 1];

	if (opt == ':')
		return usage_error("option '%s' needs an argument", given);
	if (optopt)
		return usage_error("unknown option '-%c'", optopt);
	return usage_error("unknown option '%s'", given);
}

/* Returns CTL_EXIT_OK or CTL_EXIT_USAGE (after saying why). */
static int parse_options(int argc, char **argv, struct options *o)
{
	/* '+': options end at the command, whose own args may start with '-' */
	static const char shortopts[] = "+:s:jhf:eV";
	static const struct option longopts[] = {
		{"socket", required_argument, NULL, 's'}, {"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},         {"timeout", required_argument, NULL, 't'},
		{"force", no_argument, NULL, 'F'},        {"wait", no_argument, NULL, 'W'},
		{"file", required_argument, NULL, 'f'},   {"errexit", no_argument, NULL, 'e'},
		{"version", no_argument, NULL, 'V'},      {NULL, 0, NULL, 0},
	};
	int opt;
	char why[256];

	*o = (struct options){.run = {.timeout_ms = DEFAULT_TIMEOUT_MS}};
	opterr = 0;
	while ((opt = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		switch (opt) {
		case 's':
			o->run.socket = optarg;
			break;
		case 'j':
			o->run.json = true;
			break;
		case 'h':
			o->help = true;
			break;
		case 'F':
			o->run.force = true;
			break;
		case 'W':
			o->run.wait = true;
			break;
		case 'f':
			o->batch = optarg;
			break;
		case 'e':
			o->errexit = true;
			break;
		case 'V':
			o->version = true;
			break;
		case 't':
			if (parse_timeout(optarg, &o->run.timeout_ms, why, sizeof(why)))
				return usage_error("%s", why);
			break;
		default:
			return bad_option(opt, argv);
		}
	}
	if (!o->run.socket)
		o->run.socket = default_socket();
	if (!*o->run.socket)
		return usage_error("the socket path is empty");
	if (strlen(o->run.socket) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return usage_error("socket path too long: %s", o->run.socket);
	o->argc = argc - optind;
	o->argv = argv + optind;
	o->run.can_ask = isatty(STDIN_FILENO) && isatty(STDERR_FILENO);
	o->run.progress = isatty(STDERR_FILENO);
	return CTL_EXIT_OK;
}

/* --help works without a daemon: the static part always, its commands
 * when it answers. */
static int run_help(const struct options *o)
{
	static char help_word[] = "help";
	char *help_argv[] = {help_word};
	struct ctl_reply r;
	const char *why;

	ctl_call(o->run.socket, o->run.timeout_ms, 1, help_argv, &r);
	if (r.status == CTL_CALL_OK && r.ok) {
		ctl_view_help(stdout, r.result);
	} else {
		ctl_print_usage(stdout);
		why = r.status == CTL_CALL_NO_CONNECT ? "it is not running"
		      : r.status == CTL_CALL_OK       ? r.error
						      : r.why;
		fprintf(stderr,
			"\n" PROG ": glournetd's commands are not "
			"listed: %s\n",
			why);
	}
	ctl_reply_release(&r);
	return CTL_EXIT_OK;
}

static int flush_stdout(int code)
{
	if (fflush(stdout) == 0 && !ferror(stdout))
		return code;
	fprintf(stderr, PROG ": cannot write the output: %s\n", strerror(errno));
	return CTL_EXIT_ERROR;
}

/* `completion bash` | `completion words CWORD WORDS...`: glournetctl's. */
static int run_completion(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "bash")) {
		ctl_complete_bash(stdout);
		return CTL_EXIT_OK;
	}
	if (argc >= 3 && !strcmp(argv[1], "words"))
		return ctl_complete_words(argc - 2, argv + 2);
	return usage_error("usage: completion bash (the script for bash to source)");
}

static int run_batch(struct options *o)
{
	bool from_stdin = !strcmp(o->batch, "-");
	FILE *in = from_stdin ? stdin : fopen(o->batch, "r");

	if (!in)
		return usage_error("-f %s: %s", o->batch, strerror(errno));
	if (from_stdin)
		o->run.can_ask = false; /* the batch is what stdin says */
	int code = ctl_batch(&o->run, in, from_stdin ? "stdin" : o->batch, o->errexit);
	if (!from_stdin)
		fclose(in);
	return code;
}

int main(int argc, char **argv)
{
	struct options o;
	int code = parse_options(argc, argv, &o);

	if (code != CTL_EXIT_OK)
		return code;
	if (o.version) {
		printf(PROG " %s\n", GN_VERSION);
		return flush_stdout(CTL_EXIT_OK);
	}
	if (o.help)
		return flush_stdout(run_help(&o));
	if (o.batch && o.argc)
		return usage_error("-f FILE runs the file's commands: no command after it");
	if (o.batch)
		return flush_stdout(run_batch(&o));
	if (o.argc && !strcmp(o.argv[0], "completion"))
		return flush_stdout(run_completion(o.argc, o.argv));
	if (o.argc == 0 && isatty(STDIN_FILENO) && isatty(STDOUT_FILENO))
		return flush_stdout(ctl_interactive(&o.run));
	if (o.argc == 0)
		return usage_error("no command given (on a terminal, none starts the prompt; "
				   "-f FILE, or -f - for stdin, runs a batch)");
	return flush_stdout(ctl_run(&o.run, o.argc, o.argv));
}
