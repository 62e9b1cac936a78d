/*
 * The option parsing the agent's subcommands share, so every bad value is
 * reported the same way (naming the subcommand, the option and the value)
 * with exit status 2.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "agent.h"
#include "glournet/duration.h"

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

static int take(const char *cmd, const char *opt, const char *s, uint64_t lo_ms, uint64_t hi_ms,
		int whole_s, uint64_t *ms)
{
	char why[256];

	if (gn_duration_take(opt, s, lo_ms, hi_ms, whole_s, ms, why, sizeof(why)) < 0) {
		agent_usage_error(cmd, "%s", why);
		return -1;
	}
	return 0;
}

int agent_opt_duration(const char *cmd, const char *opt, const char *s, double min, double max,
		       double *out)
{
	uint64_t ms;

	if (take(cmd, opt, s, (uint64_t)(min * 1000 + 0.5), (uint64_t)(max * 1000 + 0.5), 0, &ms) <
	    0)
		return -1;
	*out = (double)ms / 1000;
	return 0;
}

int agent_opt_seconds(const char *cmd, const char *opt, const char *s, uint64_t min, uint64_t max,
		      uint64_t *out)
{
	uint64_t ms;

	if (take(cmd, opt, s, min * 1000, max * 1000, 1, &ms) < 0)
		return -1;
	*out = ms / 1000;
	return 0;
}
