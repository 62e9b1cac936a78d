/*
 * Losses the kernel counts under the PMD (port.h, struct port_kernel):
 * DPDK 22.11's net_af_packet reports no imissed at all, though its
 * sockets drop every frame that finds their ring full, and net_af_xdp
 * leaves out the ring-full and fill-ring-empty counts. The PMD does not
 * hand out its sockets, so they are found once among this process's
 * descriptors: AF_PACKET sockets bound to the port's interface, and
 * AF_XDP sockets (only the port makes them). The control thread reads them
 * with the port's other counters; the workers never see any of it.
 */
#include <dirent.h>
#include <linux/if_packet.h>
#include <linux/if_xdp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <rte_ethdev.h>

#define LOG_TAG "port"
#include "glournet/log.h"
#include "glournet/port.h"

#ifndef AF_XDP
#define AF_XDP 44
#endif
#ifndef SOL_XDP
#define SOL_XDP 283
#endif

#define MAX_SOCKETS 64

static struct {
	int found;      /* looked for them: 1 */
	uint16_t port_id;
	int family;     /* AF_PACKET or AF_XDP; 0: neither */
	unsigned n;
	int fd[MAX_SOCKETS];
	uint64_t packet_drops; /* PACKET_STATISTICS resets on read: summed here */
} loss;

static int sock_family(int fd)
{
	int dom = 0;
	socklen_t len = sizeof(dom);
	return getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &dom, &len) == 0 ? dom : -1;
}

static int bound_ifindex(int fd)
{
	struct sockaddr_ll sll;
	socklen_t len = sizeof(sll);
	memset(&sll, 0, sizeof(sll));
	if (getsockname(fd, (struct sockaddr *)&sll, &len) < 0 || sll.sll_family != AF_PACKET)
		return -1;
	return sll.sll_ifindex;
}

static void find_sockets(uint16_t port_id)
{
	loss.found = 1;
	loss.port_id = port_id;
	struct rte_eth_dev_info info;
	if (rte_eth_dev_info_get(port_id, &info) != 0 || !info.driver_name)
		return;
	if (!strcmp(info.driver_name, "net_af_packet"))
		loss.family = AF_PACKET;
	else if (!strcmp(info.driver_name, "net_af_xdp"))
		loss.family = AF_XDP;
	else
		return;
	DIR *dir = opendir("/proc/self/fd");
	if (!dir)
		return;
	int self = dirfd(dir);
	struct dirent *de;
	while ((de = readdir(dir)) && loss.n < MAX_SOCKETS) {
		char *end;
		long fd = strtol(de->d_name, &end, 10);
		if (*end || end == de->d_name || fd == self || sock_family((int)fd) != loss.family)
			continue;
		if (loss.family == AF_PACKET && bound_ifindex((int)fd) != (int)info.if_index)
			continue;
		loss.fd[loss.n++] = (int)fd;
	}
	closedir(dir);
	LOG(INFO, "port %u (%s): the kernel's drop counters of %u socket%s read with its stats",
	    port_id, info.driver_name, loss.n, loss.n == 1 ? "" : "s");
}

void port_loss_read(uint16_t port_id, struct port_kernel *out)
{
	if (!loss.found || loss.port_id != port_id)
		find_sockets(port_id);
	memset(out, 0, sizeof(*out));
	out->sockets = loss.n;
	for (unsigned i = 0; i < loss.n; i++) {
		if (loss.family == AF_PACKET) {
			struct tpacket_stats st;
			socklen_t len = sizeof(st);
			if (getsockopt(loss.fd[i], SOL_PACKET, PACKET_STATISTICS, &st, &len) == 0)
				loss.packet_drops += st.tp_drops;
		} else {
			struct xdp_statistics st;
			socklen_t len = sizeof(st);
			memset(&st, 0, sizeof(st));
			if (getsockopt(loss.fd[i], SOL_XDP, XDP_STATISTICS, &st, &len) != 0)
				continue;
			out->xdp_rx_dropped += st.rx_dropped;
			out->xdp_rx_invalid_descs += st.rx_invalid_descs;
			out->xdp_rx_ring_full += st.rx_ring_full;
			out->xdp_rx_fill_ring_empty += st.rx_fill_ring_empty_descs;
		}
	}
	out->packet_drops = loss.packet_drops;
}
