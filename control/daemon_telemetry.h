/*
 * glournet's counters through DPDK telemetry, under /glournet/
 * (daemon_telemetry.c, linked into glournetd only).
 */
#ifndef GLOURNET_DAEMON_TELEMETRY_H
#define GLOURNET_DAEMON_TELEMETRY_H

struct gn_daemon;

/* Registers the /glournet/ commands (once the workers run) and logs where
 * the socket is, or that EAL runs without one. 0 or a negative errno. */
int daemon_telemetry_start(const struct gn_daemon *d);

#endif
