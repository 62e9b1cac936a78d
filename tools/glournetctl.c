/*
 * glournetctl: the operator's and the scripts' way into a running
 * glournetd. It stays thin on purpose: the daemon owns the command table
 * (names, arguments, help), so this only sends argv, shows the answer as a
 * table or as JSON, and turns the outcome into the documented exit codes
 * (docs/control-socket.md) that scripts rely on. `watch` is the one
 * command that streams: its answer is followed by events (ctl_watch.c).
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl/ctl.h"

#define PROG               "glournetctl"
#define DEFAULT_TIMEOUT_MS 10000
#define MAX_TIMEOUT_S      86400.0

struct options {
	const char *socket;
	bool json;
	bool help;
	int timeout_ms;
	int argc; /* the command words and their arguments */
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
	fputs("\nusage: " PROG " [-s PATH] [-j] [--timeout SEC] COMMAND "
	      "[ARGS...]\nTry '" PROG " --help' for the commands.\n",
	      stderr);
	return CTL_EXIT_USAGE;
}

static int parse_timeout(const char *arg, int *timeout_ms)
{
	char *end;
	double sec;

	errno = 0;
	sec = strtod(arg, &end);
	if (errno || end == arg || *end || !isfinite(sec) || sec <= 0 || sec > MAX_TIMEOUT_S)
		return -EINVAL;
	*timeout_ms = (int)(sec * 1000 + 0.999); /* round up, >= 1 ms */
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
	static const char shortopts[] = "+:s:jh";
	static const struct option longopts[] = {
		{"socket", required_argument, NULL, 's'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{"timeout", required_argument, NULL, 't'},
		{NULL, 0, NULL, 0},
	};
	int opt;

	*o = (struct options){.timeout_ms = DEFAULT_TIMEOUT_MS};
	opterr = 0;
	while ((opt = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		switch (opt) {
		case 's':
			o->socket = optarg;
			break;
		case 'j':
			o->json = true;
			break;
		case 'h':
			o->help = true;
			break;
		case 't':
			if (parse_timeout(optarg, &o->timeout_ms))
				return usage_error("--timeout: '%s' is not a "
						   "number of seconds in (0, %g]",
						   optarg, MAX_TIMEOUT_S);
			break;
		default:
			return bad_option(opt, argv);
		}
	}
	if (!o->socket)
		o->socket = default_socket();
	if (!*o->socket)
		return usage_error("the socket path is empty");
	if (strlen(o->socket) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return usage_error("socket path too long: %s", o->socket);
	o->argc = argc - optind;
	o->argv = argv + optind;
	return CTL_EXIT_OK;
}

static int print_json(json_t *result)
{
	char *text = json_dumps(result, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);

	if (!text)
		return -ENOMEM;
	printf("%s\n", text);
	free(text);
	return 0;
}

static int report_no_connect(const char *path, int err)
{
	if (err == EACCES || err == EPERM)
		fprintf(stderr, PROG ": cannot connect to %s: %s\n", path, strerror(err));
	else
		fprintf(stderr,
			PROG ": glournetd is not running (cannot "
			     "connect to %s: %s)\n",
			path, strerror(err));
	return CTL_EXIT_NOT_RUNNING;
}

/* Maps a finished exchange to output and an exit code. */
static int report(const struct options *o, struct ctl_reply *r)
{
	int err;

	switch (r->status) {
	case CTL_CALL_BAD_REQUEST:
		return usage_error("%s", r->why);
	case CTL_CALL_NO_CONNECT:
		return report_no_connect(o->socket, r->errno_val);
	case CTL_CALL_FAILED:
		fprintf(stderr, PROG ": %s\n", r->why);
		return CTL_EXIT_ERROR;
	case CTL_CALL_OK:
		break;
	}
	if (!r->ok) {
		fprintf(stderr, PROG ": %s\n", r->error);
		return CTL_EXIT_ERROR;
	}
	err = o->json ? print_json(r->result)
		      : ctl_print_human(stdout, r->result, o->argc, o->argv);
	if (err) {
		fprintf(stderr, PROG ": cannot print the result: %s\n", strerror(-err));
		return CTL_EXIT_ERROR;
	}
	return CTL_EXIT_OK;
}

/* Reads N for --count: a whole number of events, at least 1. */
static int parse_count(const char *arg, long long *count)
{
	char *end;

	errno = 0;
	*count = strtoll(arg, &end, 10);
	return errno || end == arg || *end || *count < 1 ? -EINVAL : 0;
}

/*
 * watch [--from SEQ] [--count N]: --count is ours, the rest goes to the
 * daemon, which judges it. --timeout covers the connection and the first
 * answer only; after it, events may be hours apart.
 */
static int run_watch(const struct options *o)
{
	char **argv = calloc((size_t)o->argc, sizeof(*argv));
	long long count = 0;
	struct ctl_stream st;
	struct ctl_reply r;
	int argc = 0, code;

	if (!argv)
		return CTL_EXIT_ERROR;
	for (int i = 0; i < o->argc; i++) {
		const char *arg = o->argv[i];

		if (strcmp(arg, "--count") == 0 && i + 1 >= o->argc) {
			free(argv);
			return usage_error("watch --count needs a number");
		}
		if (strcmp(arg, "--count") == 0 || strncmp(arg, "--count=", 8) == 0) {
			const char *n = arg[7] ? arg + 8 : o->argv[++i];

			if (parse_count(n, &count)) {
				free(argv);
				return usage_error("watch --count: '%s' is not a "
						   "number of events (1 or more)",
						   n);
			}
			continue;
		}
		argv[argc++] = o->argv[i];
	}
	ctl_call_stream(o->socket, o->timeout_ms, argc, argv, &r, &st);
	free(argv);
	if (r.status != CTL_CALL_OK || !r.ok) {
		code = report(o, &r);
	} else {
		if (!o->json && isatty(STDERR_FILENO))
			fprintf(stderr,
				"-- watching glournetd's transitions "
				"(next #%lld, oldest held #%lld); Ctrl-C to stop --\n",
				(long long)json_integer_value(json_object_get(r.result, "next")),
				(long long)json_integer_value(json_object_get(r.result, "oldest")));
		code = ctl_watch_follow(&st, o->json, count);
	}
	ctl_stream_close(&st);
	ctl_reply_release(&r);
	return code;
}

/* --help works without a daemon: the static part always, its commands
 * when it answers. */
static int run_help(const struct options *o)
{
	static char help_word[] = "help";
	char *help_argv[] = {help_word};
	struct ctl_reply r;
	const char *why;

	ctl_call(o->socket, o->timeout_ms, 1, help_argv, &r);
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

/* import/export name a file the daemon opens: its working directory is
 * not ours, so a relative path becomes absolute here. */
static int absolute_file_arg(struct options *o, char *buf)
{
	if (o->argc < 2 || (strcmp(o->argv[0], "import") && strcmp(o->argv[0], "export")) ||
	    o->argv[1][0] == '/')
		return 0;
	char cwd[PATH_MAX];
	if (!getcwd(cwd, sizeof(cwd)) ||
	    snprintf(buf, PATH_MAX, "%s/%s", cwd, o->argv[1]) >= PATH_MAX) {
		fprintf(stderr, PROG ": %s: path too long\n", o->argv[1]);
		return -1;
	}
	o->argv[1] = buf;
	return 0;
}

int main(int argc, char **argv)
{
	struct options o;
	struct ctl_reply r;
	int code = parse_options(argc, argv, &o);

	if (code != CTL_EXIT_OK)
		return code;
	if (o.help)
		return flush_stdout(run_help(&o));
	if (o.argc == 0)
		return usage_error("no command given");
	if (strcmp(o.argv[0], "watch") == 0)
		return flush_stdout(run_watch(&o));
	char abs_path[PATH_MAX];
	if (absolute_file_arg(&o, abs_path) < 0)
		return CTL_EXIT_USAGE;
	ctl_call(o.socket, o.timeout_ms, o.argc, o.argv, &r);
	code = report(&o, &r);
	ctl_reply_release(&r);
	return flush_stdout(code);
}
