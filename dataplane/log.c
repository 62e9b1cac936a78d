/*
 * The daemon's log: one line per event on stderr, with UTC time, level and
 * subsystem tag. When stderr is the journal (systemd sets JOURNAL_STREAM to
 * its device and inode), each line starts with its syslog priority (<3>
 * error, <4> warning, <6> info, <7> debug, as sd-daemon.h's SD_ERR...) so
 * that `journalctl -p err` filters them, and the time is left to the
 * journal. In hb_core because both planes log (port setup here,
 * everything in control/); never called per packet.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>

#define LOG_TAG "log"
#include "glournet/log.h"

enum gn_log_level gn_log_max_level = GN_LOG_INFO;

static int on_journal = -1; /* -1: not looked yet */

bool gn_log_on_journal(void)
{
	if (on_journal < 0) {
		const char *js = getenv("JOURNAL_STREAM");
		unsigned long long dev, ino;
		struct stat st;
		on_journal = js && sscanf(js, "%llu:%llu", &dev, &ino) == 2 &&
			     fstat(2, &st) == 0 && (unsigned long long)st.st_dev == dev &&
			     (unsigned long long)st.st_ino == ino;
	}
	return on_journal;
}

_Static_assert(LOG_ERR == 3 && LOG_WARNING == 4 && LOG_INFO == 6 && LOG_DEBUG == 7,
	       "syslog priorities");

const char *gn_log_prefix(enum gn_log_level level)
{
	static const char *const pri[] = {
		[GN_LOG_ERR] = "<3>", [GN_LOG_WARN] = "<4>", [GN_LOG_INFO] = "<6>", [GN_LOG_DEBUG] = "<7>"};
	return gn_log_on_journal() ? pri[level] : "";
}

void gn_log(enum gn_log_level level, const char *tag, const char *fmt, ...)
{
	static const char *const names[] = {"error", "warn", "info", "debug"};
	if (level > gn_log_max_level)
		return;
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (gn_log_on_journal()) {
		fprintf(stderr, "%s%-5s %-6s %s\n", gn_log_prefix(level), names[level], tag, line);
		return;
	}
	char stamp[32];
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(stderr, "%s.%03ldZ %-5s %-6s %s\n", stamp, ts.tv_nsec / 1000000, names[level], tag, line);
}
