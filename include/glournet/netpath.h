/*
 * Everything between the port and the kernel's view of the network, as
 * one object the control thread owns: the exception interface, the TX
 * path, the netlink link, the neighbour table and the route mirror.
 * Started and turned by control/daemon_netpath.c (DPDK); read by the
 * control-socket views (control/ctl_net.c, no DPDK) through these plain
 * fields.
 */
#ifndef GLOURNET_NETPATH_H
#define GLOURNET_NETPATH_H

#include <stdbool.h>

#include "glournet/exception.h"
#include "glournet/neigh.h"
#include "glournet/neigh_netlink.h"
#include "glournet/neigh_route.h"
#include "glournet/tx.h"

struct netpath {
	bool kernel;                 /* --exception kernel (else drop: no interface) */
	struct exc_path exc;
	struct tx_path tx;
	struct nl_link nl;
	struct neigh_table neigh;
	struct route_table routes;
	struct rte_mempool *pool;    /* what the kernel sends, and the TX path's frames */
	uint64_t turns;              /* pump turns */
	uint64_t busy_turns;         /* ... that hit their budget (more was waiting) */
	uint32_t last_frame;         /* coarse second a frame last went either way */
};

#endif
