/*
 * sd_notify for glournetd (daemon_service.h), through libsystemd: the
 * protocol is one datagram, but libsystemd knows its corners (abstract
 * sockets, WATCHDOG_PID, the credentials) and is on every systemd host.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>
#include <systemd/sd-daemon.h>

#define LOG_TAG "main"
#include "control/daemon_service.h"
#include "glournet/log.h"

static uint64_t watchdog_ns; /* half of WatchdogSec; 0: off */
static uint64_t last_ping_ns;

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void service_ready(unsigned long long clients, unsigned workers)
{
	uint64_t usec = 0;
	if (sd_watchdog_enabled(0, &usec) > 0 && usec) {
		watchdog_ns = usec * 1000 / 2;
		LOG(INFO, "systemd watchdog: every %llu ms (WatchdogSec %llu ms)",
		    (unsigned long long)(watchdog_ns / 1000000), (unsigned long long)(usec / 1000));
	}
	int rc = sd_notifyf(0, "READY=1\nSTATUS=serving %llu endpoints with %u worker%s", clients,
			    workers, workers == 1 ? "" : "s");
	if (rc < 0)
		LOG(WARN, "sd_notify READY=1: %s", strerror(-rc));
	last_ping_ns = mono_ns();
	if (watchdog_ns)
		sd_notify(0, "WATCHDOG=1");
}

void service_watchdog(void)
{
	if (!watchdog_ns)
		return;
	uint64_t now = mono_ns();
	if (now - last_ping_ns < watchdog_ns)
		return;
	last_ping_ns = now;
	sd_notify(0, "WATCHDOG=1");
}

void service_stopping(void)
{
	sd_notify(0, "STOPPING=1\nSTATUS=stopping");
}

void service_failed(int err)
{
	sd_notifyf(0, "STATUS=start-up failed: %s\nERRNO=%d", strerror(err), err);
}
