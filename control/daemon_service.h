/*
 * glournetd as a systemd service (daemon_service.c, glournetd only):
 * Type=notify's READY=1 once it serves, WATCHDOG=1 from the control loop
 * when the unit sets WatchdogSec, STOPPING=1 when it begins to stop, and a
 * STATUS= line for `systemctl status`. Nothing is sent where systemd did
 * not ask (no NOTIFY_SOCKET).
 */
#ifndef GLOURNET_DAEMON_SERVICE_H
#define GLOURNET_DAEMON_SERVICE_H

#include <stdint.h>

/* Serving: READY=1 and STATUS (`clients` endpoints, `workers`); looks up
 * the watchdog's interval. */
void service_ready(unsigned long long clients, unsigned workers);
/* From each turn of the control loop: WATCHDOG=1 every half interval, so
 * a loop that stops turning (a stuck job) is restarted by systemd. */
void service_watchdog(void);
/* From each turn too: when the endpoints' counts by status (EP_STATUS_COUNT
 * of them) differ from the last said, at most once a second, STATUS=
 * "serving N endpoints: a online, b offline, ...". */
void service_status(const uint32_t *by_status, unsigned workers);
/* SIGHUP: RELOADING=1 before the reload, READY=1 after it, so that
 * `systemctl reload` returns once it is done. */
void service_reloading(void);
void service_reloaded(void);
/* The loop has ended: STOPPING=1. */
void service_stopping(void);
/* The start failed: STATUS= and ERRNO= for systemctl status. */
void service_failed(int err);

#endif
