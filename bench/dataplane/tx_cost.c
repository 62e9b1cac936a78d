/*
 * What one frame through the TX path costs the control thread (issue #11):
 * tx_path_send (route mirror, neighbour table, mbuf, frame with checksums)
 * plus its share of the batch's rte_eth_tx_burst, on a net_null port so
 * the device costs nothing. The destinations are DESTS distinct on-link
 * IPv4 addresses (a neighbour entry each, visited in order) or, with
 * --routed, addresses behind one gateway. Prints ns per frame from the
 * thread's CPU time.
 *
 * --notify (issue #12): the frames are a campaign's notifies, each
 * encoded for its endpoint (hb_encode: type 2, SETTINGS, its slot, id,
 * key, the MAC) before tx_path_send, as the notify sender does; and the
 * baseline beside it, from the same run: a kernel UDP socket sending the
 * same notifies (encoded the same way, to the same DESTS addresses, port
 * 21112) with sendmmsg in batches of 32 (--kernel-dst A.B.C.D: the first
 * address; bench/dataplane/run.sh routes them to a dummy interface in a
 * namespace of its own, the kernel's net_null: its xmit frees the skb).
 * The encoding alone is timed too, so either path's figure can be read
 * without it.
 *
 *   gn-bench-tx -l 0 --no-huge -m 256 --no-pci --vdev net_null0 -- [--frames N]
 *               [--dests D] [--routed] [--notify [--kernel-dst A.B.C.D]]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <sodium.h>

#include "glournet/coarse_clock.h"
#include "glournet/hb_encode.h"
#include "glournet/neigh.h"
#include "glournet/neigh_route.h"
#include "glournet/port.h"
#include "glournet/tx.h"
#include "hb_fixture.h"

#define NOTIFY_PORT  21112
#define KERNEL_BATCH 32
#define MAX_DESTS    60000

static double cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* The campaign's endpoints: identity per destination, as the registry
 * would hold it. */
static uint64_t ep_id[MAX_DESTS];
static uint8_t ep_key[MAX_DESTS][HB_KEY_LEN];

static inline void encode_notify(uint8_t p[HB_PAYLOAD_LEN], unsigned long d)
{
	hb_encode(p, HB_TYPE_NOTIFY, HB_FLAG_SETTINGS, (uint32_t)d, HBF_NOW, ep_id[d], ep_key[d]);
}

/* hb_encode alone, ns per notify. */
static double time_encode(unsigned long frames, unsigned long dests)
{
	uint8_t p[HB_PAYLOAD_LEN];
	uint64_t sink = 0;
	double t0 = cpu_ns();
	for (unsigned long i = 0; i < frames; i++) {
		encode_notify(p, i % dests);
		sink += p[31];
	}
	double ns = (cpu_ns() - t0) / (double)frames;
	if (sink == 1)   /* keep the loop */
		printf(" ");
	return ns;
}

/* The baseline: the same notifies through a kernel UDP socket, sendmmsg
 * in batches of 32, one destination address per message. ns per notify
 * sent (CPU time of this thread: the syscall's work included); -1 when
 * the socket cannot be had. */
static double time_kernel(const char *base, unsigned long frames, unsigned long dests,
			  unsigned long *sent_out, unsigned long *dropped_out)
{
	static struct sockaddr_in to[MAX_DESTS];
	static uint8_t buf[KERNEL_BATCH][HB_PAYLOAD_LEN];
	struct mmsghdr msg[KERNEL_BATCH];
	struct iovec iov[KERNEL_BATCH];
	struct in_addr a;
	int fd, sndbuf = 8 << 20;
	unsigned long sent = 0, dropped = 0;

	if (inet_pton(AF_INET, base, &a) != 1)
		return -1;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof(sndbuf));
	for (unsigned long d = 0; d < dests; d++)
		to[d] = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons(NOTIFY_PORT),
					     .sin_addr.s_addr = htonl(ntohl(a.s_addr) + (uint32_t)d)};
	for (unsigned k = 0; k < KERNEL_BATCH; k++)
		iov[k] = (struct iovec){.iov_base = buf[k], .iov_len = HB_PAYLOAD_LEN};
	double t0 = cpu_ns();
	for (unsigned long i = 0; i < frames;) {
		unsigned n = 0;
		for (; n < KERNEL_BATCH && i < frames; n++, i++) {
			unsigned long d = i % dests;
			encode_notify(buf[n], d);
			msg[n].msg_hdr = (struct msghdr){.msg_name = &to[d], .msg_namelen = sizeof(to[d]),
							 .msg_iov = &iov[n], .msg_iovlen = 1};
		}
		for (unsigned done = 0; done < n;) {
			int k = sendmmsg(fd, msg + done, n - done, 0);
			if (k > 0) {
				done += (unsigned)k;
				sent += (unsigned)k;
			} else if (k < 0 && errno == EINTR) {
				continue;
			} else {
				dropped += n - done;   /* a full queue: counted, not retried */
				break;
			}
		}
	}
	double ns = (cpu_ns() - t0) / (double)(sent ? sent : 1);
	close(fd);
	*sent_out = sent;
	*dropped_out = dropped;
	return ns;
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
	int routed = 0, notify = 0;
	const char *kernel_dst = NULL;
	static const struct option opts[] = {{"frames", 1, 0, 'f'}, {"dests", 1, 0, 'd'},
					     {"routed", 0, 0, 'r'}, {"notify", 0, 0, 'n'},
					     {"kernel-dst", 1, 0, 'k'}, {0, 0, 0, 0}};
	for (int c; (c = getopt_long(argc, argv, "", opts, NULL)) != -1;) {
		if (c == 'f')
			frames = strtoul(optarg, NULL, 10);
		else if (c == 'd')
			dests = strtoul(optarg, NULL, 10);
		else if (c == 'r')
			routed = 1;
		else if (c == 'n')
			notify = 1;
		else if (c == 'k')
			kernel_dst = optarg;
		else
			return 2;
	}
	if (rte_eth_dev_count_avail() == 0 || dests == 0 || dests > MAX_DESTS || frames == 0 ||
	    (kernel_dst && !notify)) {
		fprintf(stderr, "gn-bench-tx: give a port (--vdev net_null0), 1..60000 --dests; "
				"--kernel-dst goes with --notify\n");
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
	static struct gn_addr dst[MAX_DESTS];
	uint8_t mac[6] = {2, 0, 0, 0, 0, 1};
	for (unsigned long i = 0; i < dests; i++) {
		uint32_t ip = (routed ? 0xCB000000u : 0x0A010000u) + (uint32_t)i;   /* 203.x or 10.1.x */
		dst[i] = (struct gn_addr){.family = AF_INET,
			.bytes = {ip >> 24, (uint8_t)(ip >> 16), (uint8_t)(ip >> 8), (uint8_t)ip}};
		if (!routed)
			neigh_set(&neigh, &dst[i], NEIGH_REACHABLE, mac, 1000);
		hbf_identity((uint32_t)i, &ep_id[i], ep_key[i]);
	}
	struct gn_addr gw = {.family = AF_INET, .bytes = {10, 0, 0, 1}};
	neigh_set(&neigh, &gw, NEIGH_REACHABLE, mac, 1000);
	struct tx_path tx = {.port = 0, .pool = pool, .src_port = 7100, .neigh = &neigh,
			     .routes = &routes, .src4 = {.family = AF_INET, .bytes = {10, 0, 0, 2}}};
	uint8_t payload[32] = {0x47, 0x4C, 0x48, 0x42, 1, 2};
	double enc_ns = notify ? time_encode(frames, dests) : 0;
	double t0 = cpu_ns();
	unsigned long failed = 0;
	for (unsigned long i = 0; i < frames; i++) {
		unsigned long d = i % dests;
		if (notify)
			encode_notify(payload, d);
		failed += tx_path_send(&tx, &dst[d], NOTIFY_PORT, payload, sizeof(payload)) != 0;
	}
	tx_path_flush(&tx);
	double ns = (cpu_ns() - t0) / (double)frames;
	printf("tx_path_send%s: %.1f ns/frame (%lu frames, %lu %s destinations, %lu failed, "
	       "sent %llu, tx_full %llu)\n", notify ? " of notifies, hb_encode included" : "", ns,
	       frames, dests, routed ? "routed" : "on-link", failed,
	       (unsigned long long)tx.ctr[TX_C_SENT], (unsigned long long)tx.ctr[TX_C_TX_FULL]);
	int rc = failed ? 1 : 0;
	if (notify) {
		double kns = -1;
		unsigned long ksent = 0, kdropped = 0;
		printf("hb_encode of a notify alone: %.1f ns\n", enc_ns);
		if (kernel_dst) {
			kns = time_kernel(kernel_dst, frames, dests, &ksent, &kdropped);
			if (kns < 0) {
				fprintf(stderr, "gn-bench-tx: kernel baseline: %s\n", strerror(errno));
				rc = 1;
			} else {
				printf("kernel sendmmsg (batch %d) of the same notifies to %lu addresses "
				       "from %s: %.1f ns/notify (sent %lu, dropped %lu)\n", KERNEL_BATCH,
				       dests, kernel_dst, kns, ksent, kdropped);
			}
		}
		/* One machine-readable line for bench/dataplane/run.sh. */
		printf("result tx_notify_mpps=%.3f tx_notify_ns=%.1f encode_ns=%.1f "
		       "kernel_tx_mpps=%.3f kernel_tx_ns=%.1f kernel_dropped=%lu ratio=%.2f "
		       "fleet_1m_s=%.3f dests=%lu frames=%lu\n",
		       1e3 / ns, ns, enc_ns, kns > 0 ? 1e3 / kns : 0, kns > 0 ? kns : 0, kdropped,
		       kns > 0 ? kns / ns : 0, ns * 1e6 / 1e9, dests, frames);
	}
	port_stop(0);
	rte_eal_cleanup();
	return rc;
}
