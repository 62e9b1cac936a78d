/*
 * The daemon's log: one line per event on stderr (journald or the
 * terminal adds nothing we need), with UTC time, level and subsystem tag.
 * In hb_core because both planes log (port setup here, everything in
 * control/); never called per packet.
 */
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#define LOG_TAG "log"
#include "glournet/log.h"

enum gn_log_level gn_log_max_level = GN_LOG_INFO;

void gn_log(enum gn_log_level level, const char *tag, const char *fmt, ...)
{
	static const char *const names[] = {"error", "warn", "info", "debug"};
	if (level > gn_log_max_level)
		return;
	char line[1024], stamp[32];
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s.%03ldZ %-5s %-6s %s\n", stamp, ts.tv_nsec / 1000000, names[level], tag, line);
}
