/*
 * DPDK's log stream (daemon_dpdk_log.h): a fopencookie stream handed to
 * rte_openlog_stream. rte_log writes a message and flushes it, so each
 * write here is one message (or a part of one) of the level
 * rte_log_cur_msg_loglevel says; whole lines go to gn_log with tag "dpdk".
 * The stream's lock serialises the writers (workers and EAL's threads
 * log too), so the line buffer needs no lock of its own.
 */
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

#include <rte_log.h>

#define LOG_TAG "dpdk"
#include "control/daemon_dpdk_log.h"
#include "glournet/log.h"

static char pending[1024];
static size_t npending;

static enum gn_log_level level_of(uint32_t rte)
{
	if (rte <= RTE_LOG_ERR)
		return GN_LOG_ERR;
	if (rte == RTE_LOG_WARNING)
		return GN_LOG_WARN;
	if (rte <= RTE_LOG_INFO)
		return GN_LOG_INFO;
	return GN_LOG_DEBUG;
}

static void emit(enum gn_log_level level)
{
	while (npending && (pending[npending - 1] == '\n' || pending[npending - 1] == '\r'))
		npending--;
	if (npending)
		gn_log(level, LOG_TAG, "%.*s", (int)npending, pending);
	npending = 0;
}

static ssize_t dpdk_write(void *cookie, const char *buf, size_t size)
{
	(void)cookie;
	int cur = rte_log_cur_msg_loglevel();
	enum gn_log_level level = level_of(cur > 0 ? (uint32_t)cur : RTE_LOG_INFO);
	for (size_t i = 0; i < size; i++) {
		if (buf[i] == '\n') {
			emit(level);
			continue;
		}
		if (npending == sizeof(pending) - 1)
			emit(level); /* a very long line: in pieces */
		pending[npending++] = buf[i];
	}
	return (ssize_t)size;
}

int dpdk_log_redirect(void)
{
	static const cookie_io_functions_t io = {.write = dpdk_write};
	FILE *f = fopencookie(NULL, "w", io);
	if (!f)
		return -1;
	setvbuf(f, NULL, _IOLBF, 0);
	return rte_openlog_stream(f);
}
