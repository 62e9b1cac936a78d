/*
 * What one frame through the TX path costs the control thread (issue #11):
 * tx_path_send (route mirror, neighbour table, mbuf, frame with checksums)
 * plus its share of the batch's rte_eth_tx_burst, on a net_null port so
 * the device costs nothing. The destinations are DESTS distinct on-link
 * IPv4 addresses (a neighbour entry each, visited in order) or, with
 * --routed, addresses behind one gateway. Prints ns per frame from the
 * thread's CPU time.
 *
 *   gn-bench-tx -l 0 --no-huge -m 256 --no-pci --vdev net_null0 -- [--frames N]
 *               [--dests D] [--routed]
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <sodium.h>

#include "glournet/coarse_clock.h"
#include "glournet/neigh.h"
#include "glournet/neigh_route.h"
#include "glournet/port.h"
#include "glournet/tx.h"

static double cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	int n = rte_eal_init(argc, argv);
	if (n < 0 || sodium_init() < 0) {
		fprintf(stderr, "gn-bench-tx: EAL or libsodium failed\n");
		return 1;
	}
	argc -= n;
	argv += n;
	unsigned long frames = 10000000, dests = 1000;
	int routed = 0;
	static const struct option opts[] = {{"frames", 1, 0, 'f'}, {"dests", 1, 0, 'd'},
					     {"routed", 0, 0, 'r'}, {0, 0, 0, 0}};
	for (int c; (c = getopt_long(argc, argv, "", opts, NULL)) != -1;) {
		if (c == 'f')
			frames = strtoul(optarg, NULL, 10);
		else if (c == 'd')
			dests = strtoul(optarg, NULL, 10);
		else if (c == 'r')
			routed = 1;
		else
			return 2;
	}
	if (rte_eth_dev_count_avail() == 0 || dests == 0 || dests > 60000) {
		fprintf(stderr, "gn-bench-tx: give a port (--vdev net_null0) and 1..60000 --dests\n");
		return 2;
	}
	struct rte_mempool *pool = port_rx_pool_create(0, "tx_bench", 8191, 256);
	if (!pool || port_start(0, 1, 1024, pool) < 0)
		return 1;
	gn_coarse_set(1000);
	struct neigh_table neigh;
	struct route_table routes = {0};
	neigh_init(&neigh, 65536);
	struct route_entry r;
	const char *why;
	route_parse("10.0.0.0/8", &r, &why);
	route_upsert(&routes, &r);
	route_parse("default via 10.0.0.1", &r, &why);
	route_upsert(&routes, &r);
	static struct gn_addr dst[60000];
	uint8_t mac[6] = {2, 0, 0, 0, 0, 1};
	for (unsigned long i = 0; i < dests; i++) {
		uint32_t ip = (routed ? 0xCB000000u : 0x0A010000u) + (uint32_t)i;   /* 203.x or 10.1.x */
		dst[i] = (struct gn_addr){.family = AF_INET,
			.bytes = {ip >> 24, (uint8_t)(ip >> 16), (uint8_t)(ip >> 8), (uint8_t)ip}};
		if (!routed)
			neigh_set(&neigh, &dst[i], NEIGH_REACHABLE, mac, 1000);
	}
	struct gn_addr gw = {.family = AF_INET, .bytes = {10, 0, 0, 1}};
	neigh_set(&neigh, &gw, NEIGH_REACHABLE, mac, 1000);
	struct tx_path tx = {.port = 0, .pool = pool, .src_port = 7100, .neigh = &neigh,
			     .routes = &routes, .src4 = {.family = AF_INET, .bytes = {10, 0, 0, 2}}};
	uint8_t payload[32] = {0x47, 0x4C, 0x48, 0x42, 1, 2};
	double t0 = cpu_ns();
	unsigned long failed = 0;
	for (unsigned long i = 0; i < frames; i++)
		failed += tx_path_send(&tx, &dst[i % dests], 21112, payload, sizeof(payload)) != 0;
	tx_path_flush(&tx);
	double ns = (cpu_ns() - t0) / (double)frames;
	printf("tx_path_send: %.1f ns/frame (%lu frames, %lu %s destinations, %lu failed, "
	       "sent %llu, tx_full %llu)\n", ns, frames, dests, routed ? "routed" : "on-link", failed,
	       (unsigned long long)tx.ctr[TX_C_SENT], (unsigned long long)tx.ctr[TX_C_TX_FULL]);
	port_stop(0);
	rte_eal_cleanup();
	return failed ? 1 : 0;
}
