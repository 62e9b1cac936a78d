/*
 * The exception interface (exception.h): a net_tap port created at run
 * time, per-worker rings into it, and the two pumps the control thread
 * turns. net_tap, because /dev/net/tun is all a host is sure to have; a
 * virtio-user port over vhost-net (faster: no copy through read/write)
 * would be created here the same way, and nothing else would change: the
 * pumps only see an ethdev port.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>

#include <rte_bus_vdev.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#define LOG_TAG "exception"
#include "glournet/exception.h"
#include "glournet/log.h"
#include "glournet/tx.h"

#define EXC_VDEV   "net_tap_gn"
#define EXC_BURST  32
#define EXC_DESC   1024

static int make_rings(struct exc_path *x, const struct exc_conf *c)
{
	for (unsigned i = 0; i < c->nrings; i++) {
		char name[RTE_RING_NAMESIZE];
		snprintf(name, sizeof(name), "gn_exc%u", i);
		x->rings[i] = rte_ring_create(name, c->ring_size, c->socket,
					      RING_F_SP_ENQ | RING_F_SC_DEQ);
		if (!x->rings[i]) {
			LOG(ERR, "exception ring %u of %u frames: %s", i, c->ring_size,
			    rte_strerror(rte_errno));
			return -ENOMEM;
		}
		x->nrings = i + 1;
	}
	return 0;
}

static int start_port(struct exc_path *x, const struct exc_conf *c)
{
	struct rte_eth_conf conf = {0};
	int rc = rte_eth_dev_configure(x->port, 1, 1, &conf);
	if (rc == 0 && c->mtu)
		rc = rte_eth_dev_set_mtu(x->port, c->mtu);
	if (rc == 0)
		rc = rte_eth_rx_queue_setup(x->port, 0, EXC_DESC, c->socket, NULL, c->pool);
	if (rc == 0)
		rc = rte_eth_tx_queue_setup(x->port, 0, EXC_DESC, c->socket, NULL);
	if (rc == 0)
		rc = rte_eth_dev_start(x->port);
	if (rc < 0)
		LOG(ERR, "exception interface %s: %s", x->iface, rte_strerror(-rc));
	return rc;
}

int exc_open(struct exc_path *x, const struct exc_conf *c)
{
	memset(x, 0, sizeof(*x));
	if (strlen(c->iface) >= EXC_IFNAME_MAX) {
		LOG(ERR, "--exception-iface %s: at most %d characters", c->iface, EXC_IFNAME_MAX - 1);
		return -EINVAL;
	}
	snprintf(x->iface, sizeof(x->iface), "%s", c->iface);
	if (if_nametoindex(c->iface)) {
		LOG(ERR, "exception interface %s exists already (another glournetd, or left "
		    "over?): give another name with --exception-iface", c->iface);
		return -EEXIST;
	}
	const uint8_t *m = c->mac;
	char args[128];
	snprintf(args, sizeof(args), "iface=%s,mac=%02x:%02x:%02x:%02x:%02x:%02x", c->iface,
		 m[0], m[1], m[2], m[3], m[4], m[5]);
	int rc = rte_vdev_init(EXC_VDEV, args);
	if (rc < 0) {
		LOG(ERR, "exception interface %s (%s,%s): %s; it needs /dev/net/tun and "
		    "CAP_NET_ADMIN (or run with --exception drop)", c->iface, EXC_VDEV, args,
		    rte_strerror(-rc));
		return rc;
	}
	rc = rte_eth_dev_get_port_by_name(EXC_VDEV, &x->port);
	if (rc == 0) {
		x->up = true;
		x->ifindex = (int)if_nametoindex(c->iface);
		rc = x->ifindex ? 0 : -ENODEV;
	}
	if (rc == 0)
		rc = start_port(x, c);
	if (rc == 0)
		rc = make_rings(x, c);
	if (rc < 0) {
		exc_close(x);
		return rc;
	}
	LOG(INFO, "exception interface %s (ifindex %d, DPDK port %u), %u ring(s) of %u frames",
	    x->iface, x->ifindex, x->port, x->nrings, c->ring_size);
	return 0;
}

void exc_close(struct exc_path *x)
{
	struct rte_mbuf *pkts[EXC_BURST];
	for (unsigned i = 0; i < x->nrings; i++) {
		unsigned n;
		while ((n = rte_ring_sc_dequeue_burst(x->rings[i], (void **)pkts, EXC_BURST, NULL)))
			rte_pktmbuf_free_bulk(pkts, n);
		rte_ring_free(x->rings[i]);
		x->rings[i] = NULL;
	}
	x->nrings = 0;
	if (x->up) {
		rte_eth_dev_stop(x->port);
		rte_eth_dev_close(x->port);
		rte_vdev_uninit(EXC_VDEV);
		x->up = false;
	}
}

unsigned exc_pump_in(struct exc_path *x, unsigned budget, exc_learn_fn *learn, void *ctx)
{
	struct rte_mbuf *pkts[EXC_BURST];
	unsigned moved = 0, idle = 0;
	/* Round-robin, one burst a ring at a time, until the budget is spent
	 * or every ring came up empty once in a row. */
	while (moved < budget && idle < x->nrings) {
		struct rte_ring *r = x->rings[x->next_ring];
		x->next_ring = (x->next_ring + 1) % x->nrings;
		unsigned want = budget - moved < EXC_BURST ? budget - moved : EXC_BURST;
		unsigned n = rte_ring_sc_dequeue_burst(r, (void **)pkts, want, NULL);
		if (!n) {
			idle++;
			continue;
		}
		idle = 0;
		for (unsigned i = 0; learn && i < n; i++)
			learn(ctx, rte_pktmbuf_mtod(pkts[i], const uint8_t *),
			      rte_pktmbuf_data_len(pkts[i]));
		uint16_t sent = rte_eth_tx_burst(x->port, 0, pkts, (uint16_t)n);
		if (sent < n) {
			rte_pktmbuf_free_bulk(pkts + sent, n - sent);
			x->ctr[EXC_I_KERNEL_FULL] += n - sent;
		}
		x->ctr[EXC_I_TO_KERNEL] += sent;
		moved += n;
	}
	return moved;
}

unsigned exc_pump_out(struct exc_path *x, struct tx_path *tx, unsigned budget)
{
	struct rte_mbuf *pkts[EXC_BURST];
	unsigned moved = 0;
	while (moved < budget) {
		uint16_t want = budget - moved < EXC_BURST ? (uint16_t)(budget - moved) : EXC_BURST;
		uint16_t n = rte_eth_rx_burst(x->port, 0, pkts, want);
		if (!n)
			break;
		x->ctr[EXC_I_FROM_KERNEL] += n;
		uint16_t sent = tx_path_raw(tx, pkts, n);
		x->ctr[EXC_I_TO_PORT] += sent;
		x->ctr[EXC_I_PORT_FULL] += n - sent;
		moved += n;
		if (n < want)
			break;
	}
	return moved;
}
