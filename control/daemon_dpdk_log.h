/*
 * DPDK's own log lines through glournet's logger (daemon_dpdk_log.c,
 * glournetd only): the same format, level and journal priority as every
 * other line, instead of DPDK's default (stdout and syslog, unfiltered by
 * journalctl -p).
 */
#ifndef GLOURNET_DAEMON_DPDK_LOG_H
#define GLOURNET_DAEMON_DPDK_LOG_H

/* Before rte_eal_init, so that EAL's first lines take it: 0 or -1. */
int dpdk_log_redirect(void);

#endif
