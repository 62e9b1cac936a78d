/*
 * The time to notify a fleet (issue #12): a change campaign over N
 * registered endpoints (default 1,000,000) at notify.rate's maximum
 * (10,000,000/s, so that the control thread, not the bucket, is the
 * limit), run by the notify engine's loop job in the daemon's slices
 * (8 ms budgets) through the real TX path on a net_null port. Beside it,
 * in the same run:
 *   floor   the same notifies with no engine: a loop over the endpoints,
 *           hb_encode and tx_path_send each (what a campaign cannot beat);
 *   engine  the campaign again with a TX that only counts (the engine's
 *           own cost: the walk, the rounds, the queues, the bucket).
 * The endpoints sit behind one gateway (a fleet behind routers: one
 * neighbour entry), each with its own IPv4 source address.
 *
 *   gn-bench-notify -l 0 --no-huge -m 512 --no-pci --vdev net_null0 -- [--endpoints N]
 *                   [--rounds R]
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

#define LOG_TAG "bench"

#include "control/mono_clock.h"
#include "control/notify.h"
#include "control/registry.h"
#include "glournet/coarse_clock.h"
#include "glournet/hb_encode.h"
#include "glournet/log.h"
#include "glournet/neigh.h"
#include "glournet/neigh_route.h"
#include "glournet/port.h"
#include "glournet/tx.h"

#define NOW 1795000000u

static int path_send(void *ctx, const struct gn_addr *dst, uint16_t port, const void *p, uint16_t len)
{
	return tx_path_send(ctx, dst, port, p, len);
}
static unsigned path_flush(void *ctx)
{
	return tx_path_flush(ctx);
}
static const struct tx_ops path_ops = {.send = path_send, .flush = path_flush};

static uint64_t counted;
static int count_send(void *ctx, const struct gn_addr *dst, uint16_t port, const void *p,
		      uint16_t len)
{
	(void)ctx, (void)dst, (void)port, (void)p, (void)len;
	counted++;
	return 0;
}
static unsigned count_flush(void *ctx)
{
	(void)ctx;
	return 0;
}
static const struct tx_ops count_ops = {.send = count_send, .flush = count_flush};

struct run {
	double wall_s, cpu_s;
	uint64_t notifies, slices, longest_slice_ns;
};

/* One campaign to every endpoint, as glournetd's loop runs it. */
static void campaign(struct registry *r, struct policy **pol, struct tx_handle *tx,
		     struct run *out)
{
	struct notify_engine e;
	notify_init(&e, r, pol, tx, NOW);
	uint64_t c0 = gn_clock_ns(CLOCK_THREAD_CPUTIME_ID), w0 = gn_mono_ns();
	notify_start_change(&e, HB_FLAG_COMPONENTS, "bench", NOW);
	*out = (struct run){0};
	while (e.cur[NOTIFY_CHANGE].walking) {
		uint64_t s0 = gn_mono_ns();
		notify_step(&e, NOW, 8 * 1000 * 1000);
		uint64_t d = gn_mono_ns() - s0;
		if (d > out->longest_slice_ns)
			out->longest_slice_ns = d;
		out->slices++;
	}
	out->wall_s = (double)(gn_mono_ns() - w0) / 1e9;
	out->cpu_s = (double)(gn_clock_ns(CLOCK_THREAD_CPUTIME_ID) - c0) / 1e9;
	out->notifies = e.ctr[NOTIFY_C_SENT];
	notify_cancel(&e, NOW); /* the rounds end: the next run starts clean */
	notify_free(&e);
	for (uint32_t s = 0; s < r->nslots; s++)
		registry_at(r, s)->notify = (struct ep_notify){0};
	r->notify_pending = 0;
}

/* The floor: the same notifies, no engine. */
static void floor_run(struct registry *r, struct tx_path *tx, struct run *out)
{
	uint64_t c0 = gn_clock_ns(CLOCK_THREAD_CPUTIME_ID), w0 = gn_mono_ns();
	*out = (struct run){0};
	for (uint32_t s = 0; s < r->nslots; s++) {
		struct endpoint *ep = registry_at(r, s);
		uint8_t p[HB_PAYLOAD_LEN];
		struct gn_addr dst;
		hb_encode(p, HB_TYPE_NOTIFY, HB_FLAG_COMPONENTS, ep->slot, NOW, ep->id,
			  registry_key(r, ep));
		ep_source(ep, &dst);
		out->notifies += tx_path_send(tx, &dst, ep_notify_port(ep), p, sizeof(p)) == 0;
	}
	tx_path_flush(tx);
	out->wall_s = (double)(gn_mono_ns() - w0) / 1e9;
	out->cpu_s = (double)(gn_clock_ns(CLOCK_THREAD_CPUTIME_ID) - c0) / 1e9;
	out->slices = 1;
}

static int by_wall(const void *a, const void *b)
{
	double x = ((const struct run *)a)->wall_s, y = ((const struct run *)b)->wall_s;
	return x < y ? -1 : x > y;
}

static void print(const char *what, struct run *runs, unsigned n)
{
	qsort(runs, n, sizeof(*runs), by_wall);
	struct run *m = &runs[n / 2];
	printf("%-7s %10llu notifies  %7.3f s wall  %7.3f s CPU  %9.0f notifies/s  %6.0f ns each"
	       "  %5llu slices, longest %.2f ms\n",
	       what, (unsigned long long)m->notifies, m->wall_s, m->cpu_s,
	       (double)m->notifies / m->wall_s, m->cpu_s * 1e9 / (double)m->notifies,
	       (unsigned long long)m->slices, (double)m->longest_slice_ns / 1e6);
}

int main(int argc, char **argv)
{
	int n = rte_eal_init(argc, argv);
	if (n < 0 || sodium_init() < 0) {
		fprintf(stderr, "gn-bench-notify: EAL or libsodium failed\n");
		return 1;
	}
	argc -= n;
	argv += n;
	gn_log_max_level = GN_LOG_WARN; /* not a line per campaign */
	unsigned long endpoints = 1000000, rounds = 3;
	static const struct option opts[] = {
		{"endpoints", 1, 0, 'e'}, {"rounds", 1, 0, 'r'}, {0, 0, 0, 0}};
	for (int c; (c = getopt_long(argc, argv, "", opts, NULL)) != -1;) {
		if (c == 'e')
			endpoints = strtoul(optarg, NULL, 10);
		else if (c == 'r')
			rounds = strtoul(optarg, NULL, 10);
		else
			return 2;
	}
	if (rte_eth_dev_count_avail() == 0 || endpoints == 0 || endpoints > (1u << 24) ||
	    rounds == 0 || rounds > 9) {
		fprintf(stderr, "gn-bench-notify: give a port (--vdev net_null0), 1..2^24 "
				"--endpoints, 1..9 --rounds\n");
		return 2;
	}
	struct rte_mempool *pool = port_rx_pool_create(0, "notify_bench", 8191, 256);
	if (!pool || port_start(0, 1, 1024, pool) < 0)
		return 1;
	gn_coarse_set(NOW);
	struct neigh_table neigh;
	struct route_table routes = {0};
	neigh_init(&neigh, 1024);
	struct route_entry re;
	const char *why;
	route_parse("10.0.0.0/24", &re, &why);
	route_upsert(&routes, &re);
	route_parse("default via 10.0.0.1", &re, &why);
	route_upsert(&routes, &re);
	struct gn_addr gw = {.family = AF_INET, .bytes = {10, 0, 0, 1}};
	uint8_t mac[6] = {2, 0, 0, 0, 0, 1};
	neigh_set(&neigh, &gw, NEIGH_REACHABLE, mac, NOW);
	struct tx_path path = {.port = 0,
			       .pool = pool,
			       .src_port = 7100,
			       .neigh = &neigh,
			       .routes = &routes,
			       .src4 = {.family = AF_INET, .bytes = {10, 0, 0, 2}}};

	/* The fleet: registered, online, a notify port and a source each. */
	struct slot_table table;
	struct registry reg;
	struct policy *pol = policy_new_default();
	if (!pol || slot_table_init(&table, 1, (uint32_t)endpoints) < 0 ||
	    registry_init(&reg, &table) < 0 || registry_reserve(&reg, (uint32_t)endpoints) < 0)
		return 1;
	pol->notify_rate = 10000000; /* the maximum: the thread, not the bucket, limits */
	pol->notify_retry_after = 3600;
	for (uint32_t i = 0; i < endpoints; i++) {
		char guid[32];
		struct endpoint *ep;
		snprintf(guid, sizeof(guid), "bench-%u", i);
		uint32_t ip = 0x64400000u + i; /* 100.64.0.0/10 and up: behind the gateway */
		struct gn_addr src = {.family = AF_INET,
				      .bytes = {ip >> 24, (uint8_t)(ip >> 16), (uint8_t)(ip >> 8),
						(uint8_t)ip}};
		if (registry_add(&reg, guid, NOW, &ep) < 0 ||
		    registry_set_details(&reg, ep, "", NULL, 0, 21112) < 0 ||
		    registry_set_source(&reg, ep, &src) < 0)
			return 1;
		registry_set_state(&reg, ep, false, true, EP_REASON_REGISTERED, NOW);
	}
	printf("gn-bench-notify: %lu endpoints, notify.rate %u/s, median of %lu rounds each "
	       "(alternated)\n",
	       endpoints, pol->notify_rate, rounds);
	struct run fl[9], tx_runs[9], eng[9];
	struct tx_handle port_tx = {.ops = &path_ops, .ctx = &path},
			 count_tx = {.ops = &count_ops, .ctx = NULL};
	uint64_t sent0 = path.ctr[TX_C_SENT];
	for (unsigned long k = 0; k < rounds; k++) {
		floor_run(&reg, &path, &fl[k]);
		campaign(&reg, &pol, &port_tx, &tx_runs[k]);
		counted = 0;
		campaign(&reg, &pol, &count_tx, &eng[k]);
	}
	print("floor", fl, (unsigned)rounds);
	print("notify", tx_runs, (unsigned)rounds);
	print("engine", eng, (unsigned)rounds);
	printf("port: sent %llu, tx_full %llu, no_mbuf %llu\n",
	       (unsigned long long)(path.ctr[TX_C_SENT] - sent0),
	       (unsigned long long)path.ctr[TX_C_TX_FULL],
	       (unsigned long long)path.ctr[TX_C_NO_MBUF]);
	registry_destroy(&reg);
	slot_table_destroy(&table);
	policy_free(pol);
	port_stop(0);
	rte_eal_cleanup();
	return 0;
}
