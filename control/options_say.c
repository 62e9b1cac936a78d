/*
 * Option errors (options_say.h): one place that knows whether the value
 * came from the command line or a line of the configuration file.
 */
#include <stdarg.h>
#include <stdio.h>

#define LOG_TAG "main"
#include "control/options_say.h"
#include "glournet/log.h"

static const char *from_file;
static unsigned from_line;

void options_say_from(const char *file, unsigned line)
{
	from_file = file;
	from_line = line;
}

void options_say_where(const char **file, unsigned *line)
{
	*file = from_file;
	*line = from_line;
}

int options_bad(const char *opt, const char *val, const char *why)
{
	const char *pri = gn_log_prefix(GN_LOG_ERR);
	if (from_file)
		fprintf(stderr, "%sglournetd: %s:%u: %s '%s': %s\n", pri, from_file, from_line, opt,
			val, why);
	else
		fprintf(stderr, "%sglournetd: --%s '%s': %s\n", pri, opt, val, why);
	return -1;
}

int options_say(const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%sglournetd: %s\n", gn_log_prefix(GN_LOG_ERR), line);
	return -1;
}
