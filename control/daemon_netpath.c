/*
 * Bringing up the network path (daemon_netpath.h): the exception interface
 * with the port's MAC, its addresses (--exception-addr, or each --hb-addr
 * with the usual prefix) and routes (--exception-route) through netlink,
 * the kernel's neighbours and routes mirrored, the TX path on the port's
 * TX queue 0, which only this thread uses. Everything here runs on the
 * control thread.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <rte_ethdev.h>
#include <rte_mbuf.h>

#define LOG_TAG "netpath"
#include "control/daemon_eal.h"
#include "control/daemon_netpath.h"
#include "glournet/coarse_clock.h"
#include "glournet/log.h"
#include "glournet/netpath.h"
#include "glournet/tx_frame.h"

#define NETPATH_MBUFS EAL_OTHER_MBUFS /* the kernel's frames and ours, in flight */
#define PUMP_BUDGET   256             /* frames each way per loop turn */
#define NL_BUDGET     16              /* netlink datagrams per turn */
#define EXPIRE_CELLS  256             /* neighbour cells aged per turn */
#define POLL_MS       1               /* while frames flow */
#define IDLE_POLL_MS  5               /* after a second without any */

static int tx_ops_send(void *ctx, const struct gn_addr *dst, uint16_t dst_port, const void *payload,
		       uint16_t len)
{
	return tx_path_send(ctx, dst, dst_port, payload, len);
}

static unsigned tx_ops_flush(void *ctx)
{
	return tx_path_flush(ctx);
}

static const struct tx_ops port_tx_ops = {.send = tx_ops_send, .flush = tx_ops_flush};

static void learn(void *ctx, const uint8_t *frame, uint32_t len)
{
	struct netpath *np = ctx;
	neigh_learn_frame(&np->neigh, &np->routes, frame, len, gn_coarse_steady());
}

/* The TX path's source addresses: the first --hb-addr of each family (what
 * endpoints send to, so what a notify comes from), else the first
 * --exception-addr of that family. */
static void pick_sources(const struct gn_options *o, struct tx_path *tx)
{
	for (unsigned i = 0; i < o->n_hb_addrs + o->n_exc_addrs; i++) {
		struct gn_addr a;
		uint8_t plen;
		const char *text =
			i < o->n_hb_addrs ? o->hb_addrs[i] : o->exc_addrs[i - o->n_hb_addrs];
		if (gn_prefix_parse(text, 0, &a, &plen) < 0)
			continue;
		struct gn_addr *slot = a.family == AF_INET ? &tx->src4 : &tx->src6;
		if (!slot->family)
			*slot = a;
	}
}

static int add_address(struct netpath *np, const char *text, bool from_hb)
{
	struct gn_addr a;
	uint8_t plen;
	if (gn_prefix_parse(text, 0, &a, &plen) < 0) {
		LOG(ERR, "%s '%s': not an address", from_hb ? "--hb-addr" : "--exception-addr",
		    text);
		return -EINVAL;
	}
	if (from_hb)
		plen = a.family == AF_INET ? 24 : 64;
	uint8_t msg[256];
	char buf[GN_ADDR_TEXT_MAX];
	int rc = nl_link_request(&np->nl, msg,
				 nl_build_addr(msg, sizeof(msg), 0, np->nl.ifindex, &a, plen));
	gn_addr_format(&a, plen, buf, sizeof(buf));
	if (rc < 0) {
		LOG(ERR, "exception interface %s: adding %s: %s", np->exc.iface, buf,
		    strerror(-rc));
		return rc;
	}
	LOG(INFO, "exception interface %s: %s%s", np->exc.iface, buf,
	    from_hb ? " (from --hb-addr; --exception-addr ADDR/LEN sets another prefix)" : "");
	return 0;
}

static int add_route(struct netpath *np, const char *text)
{
	struct route_entry r;
	const char *why;
	if (route_parse(text, &r, &why) < 0)
		return -EINVAL; /* options.c checked it */
	uint8_t msg[256];
	int rc = nl_link_request(&np->nl, msg,
				 nl_build_route(msg, sizeof(msg), 0, np->nl.ifindex, &r));
	if (rc == -EEXIST)
		LOG(ERR,
		    "--exception-route '%s': the host has such a route already; give this one "
		    "another metric ('%s metric 100') or remove the other",
		    text, text);
	else if (rc < 0)
		LOG(ERR,
		    "--exception-route '%s': %s (is the gateway on an --exception-addr "
		    "prefix?)",
		    text, strerror(-rc));
	else
		LOG(INFO, "exception interface %s: route %s", np->exc.iface, text);
	return rc;
}

static int start_kernel_side(struct gn_daemon *d, struct netpath *np)
{
	const struct gn_options *o = &d->opt;
	uint16_t mtu = 1500;
	rte_eth_dev_get_mtu(d->port_id, &mtu);
	struct exc_conf c = {.iface = o->exception_iface,
			     .mtu = mtu,
			     .nrings = d->nworkers,
			     .ring_size = o->exception_ring,
			     .pool = np->pool,
			     .socket = rte_eth_dev_socket_id(d->port_id)};
	memcpy(c.mac, np->tx.src_mac, 6);
	int rc = exc_open(&np->exc, &c);
	if (rc < 0)
		return rc;
	rc = nl_link_open(&np->nl, np->exc.ifindex);
	if (rc < 0) {
		LOG(ERR, "netlink: %s", strerror(-rc));
		return rc;
	}
	for (unsigned i = 0; i < o->n_exc_addrs && rc == 0; i++)
		rc = add_address(np, o->exc_addrs[i], false);
	for (unsigned i = 0; !o->n_exc_addrs && i < o->n_hb_addrs && rc == 0; i++)
		rc = add_address(np, o->hb_addrs[i], true);
	if (rc == 0 && !o->n_exc_addrs && !o->n_hb_addrs)
		LOG(WARN,
		    "exception interface %s has no address (no --exception-addr or "
		    "--hb-addr): nothing reaches the collector's kernel",
		    np->exc.iface);
	for (unsigned i = 0; i < o->n_exc_routes && rc == 0; i++)
		rc = add_route(np, o->exc_routes[i]);
	if (rc == 0)
		rc = nl_link_dump(&np->nl, &np->neigh, &np->routes, gn_coarse_steady());
	if (rc < 0)
		return rc;
	np->tx.nl = &np->nl;
	LOG(INFO, "exception path: kernel, through %s; %u route(s), %u neighbour(s) mirrored",
	    np->exc.iface, np->routes.n, np->neigh.count);
	return 0;
}

int netpath_start(struct gn_daemon *d)
{
	struct netpath *np = calloc(1, sizeof(*np));
	if (!np)
		return -ENOMEM;
	d->net = np;
	np->nl.req_fd = np->nl.ev_fd = -1;
	np->kernel = !d->opt.exception_drop;
	np->pool =
		rte_pktmbuf_pool_create("gn_ctl", NETPATH_MBUFS, 128, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
					rte_eth_dev_socket_id(d->port_id));
	if (!np->pool) {
		LOG(ERR, "mbuf pool of %u for the exception path: %s", NETPATH_MBUFS,
		    rte_strerror(rte_errno));
		return -ENOMEM;
	}
	int rc = neigh_init(&np->neigh, d->opt.neigh_max);
	if (rc < 0)
		return rc;
	struct rte_ether_addr mac;
	rte_eth_macaddr_get(d->port_id, &mac);
	np->tx = (struct tx_path){.port = d->port_id,
				  .queue = 0,
				  .pool = np->pool,
				  .src_port = d->opt.udp_port,
				  .neigh = &np->neigh,
				  .routes = &np->routes};
	memcpy(np->tx.src_mac, mac.addr_bytes, 6);
	pick_sources(&d->opt, &np->tx);
	if (np->kernel) {
		rc = start_kernel_side(d, np);
		if (rc < 0)
			return rc;
	} else {
		LOG(INFO, "exception path: drop (--exception drop): no ARP, ND or ping answers, "
			  "no next hops for the TX path");
	}
	d->tx = (struct tx_handle){.ops = &port_tx_ops, .ctx = &np->tx};
	return 0;
}

void netpath_worker(struct gn_daemon *d, struct worker_conf *wc)
{
	struct netpath *np = d->net;
	wc->exc_ring = np && np->kernel ? np->exc.rings[wc->index] : NULL;
	if (np)
		memcpy(wc->port_mac, np->tx.src_mac, 6);
}

bool netpath_tick(struct gn_daemon *d, uint32_t now)
{
	struct netpath *np = d->net;
	if (!np)
		return false;
	bool more = false;
	if (np->kernel) {
		nl_link_drain(&np->nl, &np->neigh, &np->routes, now, NL_BUDGET);
		/* In, then out: what the kernel answers at once (ARP, ping) leaves
		 * in the same turn. */
		unsigned in = exc_pump_in(&np->exc, PUMP_BUDGET, learn, np);
		unsigned out = exc_pump_out(&np->exc, &np->tx, PUMP_BUDGET);
		more = in >= PUMP_BUDGET || out >= PUMP_BUDGET;
		if (in || out)
			np->last_frame = now;
	}
	neigh_expire_step(&np->neigh, now, EXPIRE_CELLS);
	tx_path_flush(&np->tx);
	np->turns++;
	np->busy_turns += more;
	return more;
}

int netpath_timeout(const struct gn_daemon *d, int timeout_ms)
{
	if (!d->net || !d->net->kernel)
		return timeout_ms;
	/* The first frame after a quiet second waits up to 5 ms, the ones
	 * that follow 1 ms: an idle collector wakes 200 times a second. */
	int cap = gn_coarse_steady() - d->net->last_frame <= 1 ? POLL_MS : IDLE_POLL_MS;
	return timeout_ms < 0 || timeout_ms > cap ? cap : timeout_ms;
}

void netpath_stop(struct gn_daemon *d)
{
	struct netpath *np = d->net;
	if (!np)
		return;
	/* What the kernel still sends (the last HTTP answers, FINs) goes out
	 * before the interface goes: until 20 ms pass with nothing, 500 ms at
	 * most. */
	for (int quiet = 0, turns = 0; np->exc.up && quiet < 20 && turns < 500; turns++) {
		unsigned moved = exc_pump_in(&np->exc, PUMP_BUDGET, NULL, NULL) +
				 exc_pump_out(&np->exc, &np->tx, PUMP_BUDGET);
		quiet = moved ? 0 : quiet + 1;
		nanosleep(&(struct timespec){.tv_nsec = 1000000}, NULL);
	}
	tx_path_flush(&np->tx);
	d->tx = (struct tx_handle){0};
	exc_close(&np->exc);
	nl_link_close(&np->nl);
	neigh_free(&np->neigh);
	free(np);
	d->net = NULL;
}
