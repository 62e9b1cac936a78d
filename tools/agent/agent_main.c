/*
 * glournet-agent entry point: picks the subcommand and holds the option
 * parsing helpers, so every bad value is reported the same way (naming the
 * subcommand, the option and the value) with exit status 2.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "agent.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: " AGENT_PROG " COMMAND [OPTIONS]\n"
		"\n"
		"The reference endpoint agent of glournet (docs/agent.md, PROTOCOL.md):\n"
		"registers simulated endpoints, sends their UDP heartbeats and polls for them.\n"
		"\n"
		"commands:\n"
		"  register   register endpoints over HTTP(S) and write the state file\n"
		"  heartbeat  send the state file's endpoints' heartbeats over UDP\n"
		"  poll       poll the server (GET /v1/poll) for the state file's endpoints\n"
		"  help       this text\n"
		"\n"
		"'" AGENT_PROG " COMMAND --help' describes each command's options.\n"
		"exit status: 0 ok, 1 failure, 2 usage error\n");
}

void agent_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, AGENT_PROG "%s%s: ", cmd ? " " : "", cmd ? cmd : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n(try '" AGENT_PROG "%s%s --help')\n", cmd ? " " : "", cmd ? cmd : "");
}

int agent_bad_option(const char *cmd, int c, char **argv)
{
	const char *arg = argv[optind - 1];

	if (c == ':')
		agent_usage_error(cmd, "option '%s' needs a value", arg);
	else if (optopt && optopt != '?')
		agent_usage_error(cmd, "unknown option '-%c'", optopt);
	else
		agent_usage_error(cmd, "unknown option '%s'", arg);
	return AGENT_EXIT_USAGE;
}

int agent_opt_u64(const char *cmd, const char *opt, const char *s, uint64_t min, uint64_t max,
		  uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	if (*s == '-' || *s == '\0' || *s == ' ')
		goto bad;
	v = strtoull(s, &end, 10);
	if (errno || *end)
		goto bad;
	if (v < min || v > max) {
		agent_usage_error(cmd, "%s: %s is out of range [%llu, %llu]", opt, s,
				  (unsigned long long)min, (unsigned long long)max);
		return -1;
	}
	*out = v;
	return 0;
bad:
	agent_usage_error(cmd, "%s: '%s' is not a non-negative integer", opt, s);
	return -1;
}

int agent_opt_i64(const char *cmd, const char *opt, const char *s, int64_t min, int64_t max,
		  int64_t *out)
{
	char *end;
	long long v;

	errno = 0;
	if (*s == '\0' || *s == ' ')
		goto bad;
	v = strtoll(s, &end, 10);
	if (errno || *end)
		goto bad;
	if (v < min || v > max) {
		agent_usage_error(cmd, "%s: %s is out of range [%lld, %lld]", opt, s,
				  (long long)min, (long long)max);
		return -1;
	}
	*out = v;
	return 0;
bad:
	agent_usage_error(cmd, "%s: '%s' is not an integer", opt, s);
	return -1;
}

int agent_opt_double(const char *cmd, const char *opt, const char *s, double min, double max,
		     double *out)
{
	char *end;
	double v;

	errno = 0;
	if (*s == '\0' || *s == ' ')
		goto bad;
	v = strtod(s, &end);
	if (errno || *end || !isfinite(v))
		goto bad;
	if (v < min || v > max) {
		agent_usage_error(cmd, "%s: %s is out of range [%g, %g]", opt, s, min, max);
		return -1;
	}
	*out = v;
	return 0;
bad:
	agent_usage_error(cmd, "%s: '%s' is not a number", opt, s);
	return -1;
}

uint64_t agent_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int main(int argc, char **argv)
{
	const char *cmd;

	if (argc < 2) {
		usage(stderr);
		return AGENT_EXIT_USAGE;
	}
	cmd = argv[1];
	if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
		usage(stdout);
		return AGENT_EXIT_OK;
	}
	if (sodium_init() < 0) {
		fprintf(stderr, AGENT_PROG ": sodium_init failed\n");
		return AGENT_EXIT_FAIL;
	}
	/* Unbuffered-enough: summaries must reach a pipe even if we are killed later. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(cmd, "register"))
		return agent_register_main(argc - 1, argv + 1);
	if (!strcmp(cmd, "heartbeat"))
		return agent_heartbeat_main(argc - 1, argv + 1);
	if (!strcmp(cmd, "poll"))
		return agent_poll_main(argc - 1, argv + 1);
	agent_usage_error(NULL, "unknown command '%s' (register, heartbeat, poll, help)", cmd);
	return AGENT_EXIT_USAGE;
}
