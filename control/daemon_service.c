/*
 * sd_notify for glournetd (daemon_service.h), through libsystemd: the
 * protocol is one datagram, but libsystemd knows its corners (abstract
 * sockets, WATCHDOG_PID, the credentials) and is on every systemd host.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <systemd/sd-daemon.h>

#define LOG_TAG "main"
#include "control/daemon_service.h"
#include "control/ep_names.h"
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

void service_status(const uint32_t *by_status, unsigned workers)
{
	static uint32_t said[EP_STATUS_COUNT];
	static uint64_t said_ns;
	uint64_t now = mono_ns();
	if (!memcmp(said, by_status, sizeof(said)) || now - said_ns < 1000000000ull)
		return;
	memcpy(said, by_status, sizeof(said));
	said_ns = now;
	char text[256];
	unsigned long long total = 0;
	for (int i = 0; i < EP_STATUS_COUNT; i++)
		total += by_status[i];
	size_t n = (size_t)snprintf(text, sizeof(text),
				    "serving %llu endpoints with %u worker%s:", total, workers,
				    workers == 1 ? "" : "s");
	for (int i = 0; i < EP_STATUS_COUNT && n < sizeof(text); i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "%s %u %s", i ? "," : "",
				      by_status[i], ep_status_name((enum ep_status)i));
	sd_notifyf(0, "STATUS=%s", text);
}

void service_reloading(void)
{
	sd_notify(0, "RELOADING=1\nSTATUS=reloading (SIGHUP)");
}

void service_reloaded(void)
{
	sd_notify(0, "READY=1");
}

void service_stopping(void)
{
	sd_notify(0, "STOPPING=1\nSTATUS=stopping");
}

void service_failed(int err)
{
	sd_notifyf(0, "STATUS=start-up failed: %s\nERRNO=%d", strerror(err), err);
}
