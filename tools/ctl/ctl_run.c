/*
 * One command from start to exit code, the same whether it came from the
 * command line, a batch file or the interactive prompt: the words
 * glournetctl keeps for itself taken out, the request, the daemon's
 * request for a confirmation answered (a prompt on a terminal, --force
 * otherwise), the answer printed or its stream followed, and the outcome
 * mapped to the exit codes of the contract (docs/control-socket.md), with
 * -j on stdout for errors too.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"

#define PROG "glournetctl"

int ctl_exit_for_code(const char *code, const char *error)
{
	if (!code) /* a daemon from before the codes: its messages say */
		return error && !strncmp(error, "usage:", 6)               ? CTL_EXIT_USAGE
		       : error && !strncmp(error, "permission denied", 17) ? CTL_EXIT_DENIED
									   : CTL_EXIT_ERROR;
	if (!strcmp(code, "usage") || !strcmp(code, "confirm"))
		return CTL_EXIT_USAGE;
	if (!strcmp(code, "denied") || !strcmp(code, "read-only"))
		return CTL_EXIT_DENIED;
	return CTL_EXIT_ERROR;
}

int ctl_fail(const struct ctl_opts *o, int exit, const char *code, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, PROG ": %s\n", msg);
	if (o->json) {
		json_t *j = json_pack("{s:b, s:s, s:s, s:i}", "ok", 0, "error", msg, "code", code,
				      "exit", exit);
		char *s = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER | CTL_JSON_SAFE)
			    : NULL;

		if (s)
			printf("%s\n", s);
		free(s);
		json_decref(j);
		fflush(stdout);
	}
	return exit;
}

int ctl_report_reply(const struct ctl_opts *o, const struct ctl_reply *r)
{
	int err = r->errno_val;

	switch (r->status) {
	case CTL_CALL_BAD_REQUEST:
		return ctl_fail(o, CTL_EXIT_USAGE, "usage", "%s", r->why);
	case CTL_CALL_NO_CONNECT:
		if (err == EACCES || err == EPERM)
			return ctl_fail(o, CTL_EXIT_DENIED, "denied",
					"permission denied: cannot connect to %s: %s", o->socket,
					strerror(err));
		return ctl_fail(o, CTL_EXIT_NOT_RUNNING, "not-running",
				"glournetd is not running (cannot connect to %s: %s)", o->socket,
				strerror(err));
	case CTL_CALL_FAILED:
		return ctl_fail(o, CTL_EXIT_ERROR, "error", "%s", r->why);
	case CTL_CALL_OK:
		break;
	}
	int exit = ctl_exit_for_code(r->code, r->error);
	const char *code = r->code                   ? r->code
			   : exit == CTL_EXIT_USAGE  ? "usage"
			   : exit == CTL_EXIT_DENIED ? "denied"
						     : "error";
	return ctl_fail(o, exit, code, "%s", r->error);
}

bool ctl_ask(const char *what)
{
	char line[64];

	fprintf(stderr, "%s\nProceed? [y/N] ", what);
	fflush(stderr);
	if (!fgets(line, sizeof(line), stdin))
		return false;
	return !strcmp(line, "y\n") || !strcmp(line, "yes\n") || !strcmp(line, "Y\n");
}

int ctl_take_local_flags(int *argc, char **argv, bool *force, bool *wait)
{
	int k = 0;

	for (int i = 0; i < *argc; i++) {
		if (!strcmp(argv[i], "--")) { /* the command's own from here on */
			while (i < *argc)
				argv[k++] = argv[i++];
			break;
		}
		if (!strcmp(argv[i], "--force"))
			*force = true;
		else if (!strcmp(argv[i], "--wait") && *argc > 0 &&
			 (!strcmp(argv[0], "import") || !strcmp(argv[0], "export")))
			*wait = true;
		else
			argv[k++] = argv[i];
	}
	*argc = k;
	return k;
}

static int print_json(json_t *result)
{
	char *text = json_dumps(result, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY |
						CTL_JSON_SAFE);

	if (!text)
		return -ENOMEM;
	printf("%s\n", text);
	free(text);
	return 0;
}

static int print_result(const struct ctl_opts *o, json_t *result, int argc, char **argv)
{
	int err;

	if (o->json)
		err = print_json(result);
	else if (argc > 1 && !strcmp(argv[0], "help"))
		err = ctl_view_help_detail(stdout, result);
	else
		err = ctl_print_human(stdout, result, argc, argv);
	if (err)
		return ctl_fail(o, CTL_EXIT_ERROR, "error", "cannot print the result: %s",
				strerror(-err));
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
static int run_watch(const struct ctl_opts *o, int argc, char **argv)
{
	char **wargv = calloc((size_t)argc, sizeof(*wargv));
	long long count = 0;
	struct ctl_stream st;
	struct ctl_reply r;
	int wargc = 0, code;

	if (!wargv)
		return CTL_EXIT_ERROR;
	for (int i = 0; i < argc; i++) {
		const char *arg = argv[i];

		if (strcmp(arg, "--count") == 0 && i + 1 >= argc) {
			free(wargv);
			return ctl_fail(o, CTL_EXIT_USAGE, "usage", "watch --count needs a number");
		}
		if (strcmp(arg, "--count") == 0 || strncmp(arg, "--count=", 8) == 0) {
			const char *n = arg[7] ? arg + 8 : argv[++i];

			if (parse_count(n, &count)) {
				free(wargv);
				return ctl_fail(o, CTL_EXIT_USAGE, "usage",
						"watch --count: '%s' is not a number of events (1 "
						"or more)",
						n);
			}
			continue;
		}
		wargv[wargc++] = argv[i];
	}
	ctl_call_stream(o->socket, o->timeout_ms, wargc, wargv, &r, &st);
	free(wargv);
	if (r.status != CTL_CALL_OK || !r.ok) {
		code = ctl_report_reply(o, &r);
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

/* import/export name a file the daemon opens: its working directory is
 * not ours, so a relative path becomes absolute here. */
static int absolute_file_arg(int argc, char **argv, char *buf)
{
	if (argc < 2 || (strcmp(argv[0], "import") && strcmp(argv[0], "export")) ||
	    argv[1][0] == '/')
		return 0;
	char cwd[PATH_MAX];
	if (!getcwd(cwd, sizeof(cwd)) || snprintf(buf, PATH_MAX, "%s/%s", cwd, argv[1]) >= PATH_MAX)
		return -1;
	argv[1] = buf;
	return 0;
}

/* The daemon asked to confirm `what`: on a terminal the operator says;
 * elsewhere nothing is done and --force is the way. 1: go on. */
static int confirmed(const struct ctl_opts *o, const char *what, int *code)
{
	if (!o->can_ask) {
		*code = ctl_fail(o, CTL_EXIT_USAGE, "confirm",
				 "%s: not done (confirm with --force, or run it on a terminal)",
				 what);
		return 0;
	}
	if (!ctl_ask(what)) {
		*code = ctl_fail(o, CTL_EXIT_ERROR, "cancelled", "cancelled: nothing done");
		return 0;
	}
	return 1;
}

static bool is_streaming(const struct ctl_reply *r)
{
	return r->status == CTL_CALL_OK && r->ok &&
	       json_is_true(json_object_get(r->result, "streaming"));
}

/* One exchange with its confirmation: returns the exit code. */
static int exchange(const struct ctl_opts *o, int argc, char **argv, bool force, bool wait)
{
	for (int round = 0; round < 2; round++) {
		struct ctl_stream st = {.fd = -1};
		struct ctl_reply r;
		char *confirm = NULL;
		int code;

		ctl_call_force(o->socket, o->timeout_ms, argc, argv, force, &r, &st);
		if (is_streaming(&r)) {
			code = ctl_list_follow(o, &st, r.result, &confirm);
		} else if (r.status == CTL_CALL_OK && !r.ok && r.code &&
			   !strcmp(r.code, "confirm") && !force) {
			confirm = strdup(r.error);
			code = CTL_EXIT_USAGE;
		} else if (r.status != CTL_CALL_OK || !r.ok) {
			code = ctl_report_reply(o, &r);
		} else {
			/* -j --wait: the one JSON document is the end's */
			code = wait && o->json ? CTL_EXIT_OK
					       : print_result(o, r.result, argc, argv);
			if (code == CTL_EXIT_OK && wait)
				code = ctl_bulk_wait(o, argv[0]);
		}
		ctl_stream_close(&st);
		ctl_reply_release(&r);
		if (!confirm)
			return code;
		int go = confirmed(o, confirm, &code);
		free(confirm);
		if (!go)
			return code;
		force = true;
	}
	return CTL_EXIT_ERROR;
}

static int run(const struct ctl_opts *o, int argc, char **argv)
{
	bool force = o->force, wait = o->wait;
	char abs_path[PATH_MAX];

	ctl_take_local_flags(&argc, argv, &force, &wait);
	if (argc == 0)
		return ctl_fail(o, CTL_EXIT_USAGE, "usage", "no command given");
	if (!strcmp(argv[0], "watch"))
		return run_watch(o, argc, argv);
	if (ctl_remove_is_batched(argc, argv)) {
		struct ctl_opts forced = *o;

		forced.force = force;
		return ctl_remove_batched(&forced, argc, argv);
	}
	if (absolute_file_arg(argc, argv, abs_path) < 0)
		return ctl_fail(o, CTL_EXIT_USAGE, "usage", "%s: path too long", argv[1]);
	return exchange(o, argc, argv, force, wait && argc > 1);
}

int ctl_run(const struct ctl_opts *o, int argc, char **argv)
{
	/* Ours to edit (flags taken out, paths made absolute): the caller's
	 * array stays as it was. */
	char **copy = malloc(((size_t)argc + 1) * sizeof(*copy));

	if (!copy)
		return ctl_fail(o, CTL_EXIT_ERROR, "error", "out of memory");
	memcpy(copy, argv, (size_t)argc * sizeof(*copy));
	copy[argc] = NULL;
	int code = run(o, argc, copy);
	free(copy);
	return code;
}
