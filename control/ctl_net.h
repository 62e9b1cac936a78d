/*
 * The network path's parts of show stats (ctl_net.c); the commands are in
 * ctl_commands.h with the others.
 */
#ifndef GLOURNET_CTL_NET_H
#define GLOURNET_CTL_NET_H

#include <jansson.h>
#include <stdint.h>

#include "control/daemon.h"
#include "glournet/exception.h"

/* A worker's exception counters, by name. */
json_t *ctl_net_worker_json(const uint64_t exc[EXC_WORKER_COUNT]);
/* The interface, TX, neighbour and netlink counters; null without a port. */
json_t *ctl_net_stats_json(const struct gn_daemon *d);

#endif
