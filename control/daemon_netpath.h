/*
 * glournetd's network path (glournet/netpath.h): the exception interface,
 * its addresses and routes, the neighbour mirror and the TX path. Started
 * after the port (before the HTTP server binds the interface's addresses),
 * turned once per loop turn, stopped after the servers.
 */
#ifndef GLOURNET_DAEMON_NETPATH_H
#define GLOURNET_DAEMON_NETPATH_H

#include <stdbool.h>
#include <stdint.h>

#include "control/daemon.h"

int netpath_start(struct gn_daemon *d);
/* A worker's exception fields: its ring (none with --exception drop), the
 * port's MAC. */
void netpath_worker(struct gn_daemon *d, struct worker_conf *wc);
/* One turn: netlink, kernel -> port, rings -> kernel, expiry, TX flush,
 * each bounded. True when a budget ran out (call again without waiting). */
bool netpath_tick(struct gn_daemon *d, uint32_t now);
/* The loop's wait, capped so that frames from the workers wait at most
 * ~1 ms for the kernel while frames flow, 5 ms after a quiet second
 * (workers cannot wake the loop: that would be a syscall). */
int netpath_timeout(const struct gn_daemon *d, int timeout_ms);
void netpath_stop(struct gn_daemon *d);

#endif
