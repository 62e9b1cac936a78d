/*
 * Dataplane capacity per worker core (issue #6), and the kernel baseline
 * beside it from the same run.
 *
 * The DPDK side runs glournet's own worker_main (dataplane/worker.c, as
 * glournetd launches it) on one lcore, against a port brought up by
 * glournet's own port_start. The port is net_ring, fed by a small "device"
 * that stands in for a NIC and is never the limit:
 *
 *   - RING_MBUFS mbufs circulate, as in a NIC's RX ring: their mempool has
 *     no cache and its driver (the ops below) puts every mbuf the worker
 *     frees straight back at the tail of the port's RX ring. So the mbuf
 *     headers stay cache-hot, as a real PMD's do with its mempool cache;
 *   - on the way back, the driver points each mbuf's buffer at the next of
 *     F preloaded frames (where a NIC would DMA the next frame): one store
 *     per frame. The frames are real heartbeats (valid MAC, time inside the
 *     window) for F distinct slots, in random order: by default every slot
 *     of a 10 M-slot table, once per pass. The frame array is read in
 *     order, like a NIC's buffers; the slot table is hit at random.
 *
 * Figures are per second of the worker thread's CPU time (schedstat), so a
 * busy machine stretches the wall clock but not the figure; the wall-clock
 * rate and the time the worker waited for its CPU are printed beside.
 * The first pass over the F frames is the headline: every heartbeat is
 * news and stores its time, as in production; later passes re-send the
 * same heartbeats (same time: nothing to store) and are printed too.
 *
 * --stop-after K is the callgrind mode: the worker stops by itself after
 * exactly K frames (the driver raises the stop flag), so the instructions
 * collected in worker_main divide by a known count.
 *
 * Issue #11's variants of the traffic: --udp-csum gives every frame a UDP
 * checksum (as a kernel socket sends it; the default is none, as IPv4
 * allows), --rx-verified marks every mbuf as a NIC with RX checksum
 * offload does (IP and L4 checksum GOOD), and --rare PCT makes PCT % of
 * the frames rare messages (SHUTDOWN, BOOT and notify-ack in turn), which
 * the worker passes to the control thread through its event ring; the
 * main thread drains that ring every millisecond as glournetd's does.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>
#include <sodium.h>

#include "glournet/coarse_clock.h"
#include "glournet/hb_mac_burst.h"
#include "glournet/port.h"
#include "glournet/worker.h"
#include "hb_fixture.h"
#include "kernel_baseline.h"

#define MAX_SAMPLES 600

struct opts {
	uint32_t slots, frames;
	unsigned duration, warmup;
	uint64_t stop_after;
	uint32_t kernel_packets;
	unsigned kernel_rounds;
	bool no_dpdk;
	bool udp_csum, rx_verified;
	double rare_pct;
	bool all_acks; /* --kind ack: every frame a notify-ack */
};

/* ---- the "device": hot mbufs re-pointed at preloaded frames ---- */

#define RING_MBUFS   1024     /* glournetd's default --rx-desc */
#define FRAME_STRIDE 128      /* a frame per 128 B, 64-byte aligned, as mbuf data */

static volatile bool worker_stop;
static uint64_t recycled;        /* mbufs put back since the launch */
static uint64_t recycle_limit;   /* 0: never stop */
static uint8_t *frames;          /* nframes x FRAME_STRIDE, after RTE_PKTMBUF_HEADROOM bytes */
static uint32_t nframes, next_frame;
static uint64_t rx_ol_flags;     /* what the "NIC" says it verified */

/* The mbuf will carry frame i: its buffer starts a headroom before it. */
static inline void point_at(struct rte_mbuf *m, uint32_t i)
{
	m->buf_addr = frames + (size_t)i * FRAME_STRIDE;
	m->data_off = RTE_PKTMBUF_HEADROOM;
	m->data_len = HBF_FRAME_LEN;
	m->pkt_len = HBF_FRAME_LEN;
	m->ol_flags = rx_ol_flags;
}

static int recycle_alloc(struct rte_mempool *mp)
{
	char name[RTE_RING_NAMESIZE];
	snprintf(name, sizeof(name), "gnb_rx_%.16s", mp->name);
	struct rte_ring *r = rte_ring_create(name, rte_align32pow2(mp->size + 1), mp->socket_id,
					     RING_F_SP_ENQ | RING_F_SC_DEQ);
	if (!r)
		return -rte_errno;
	mp->pool_data = r;
	return 0;
}

static void recycle_free(struct rte_mempool *mp) { rte_ring_free(mp->pool_data); }

static int recycle_enqueue(struct rte_mempool *mp, void *const *objs, unsigned n)
{
	if (frames) {   /* NULL while the pool is populated */
		uint32_t f = next_frame;
		for (unsigned i = 0; i < n; i++) {
			point_at(objs[i], f);
			if (++f == nframes)
				f = 0;
		}
		next_frame = f;
		recycled += n;
		if (recycle_limit && recycled >= recycle_limit)
			worker_stop = true;
	}
	return rte_ring_sp_enqueue_bulk(mp->pool_data, objs, n, NULL) ? 0 : -ENOBUFS;
}

static int recycle_dequeue(struct rte_mempool *mp, void **objs, unsigned n)
{
	return rte_ring_sc_dequeue_bulk(mp->pool_data, objs, n, NULL) ? 0 : -ENOBUFS;
}

static unsigned recycle_count(const struct rte_mempool *mp)
{
	return rte_ring_count(mp->pool_data);
}

static struct rte_mempool_ops recycle_ops = {
	.name = "gnb_recycle",
	.alloc = recycle_alloc,
	.free = recycle_free,
	.enqueue = recycle_enqueue,
	.dequeue = recycle_dequeue,
	.get_count = recycle_count,
};
RTE_MEMPOOL_REGISTER_OPS(recycle_ops);

/* Object i of the pool is the i-th enqueued at populate time: frame i. */
static void first_frames(struct rte_mempool *mp, void *opaque, void *obj, unsigned idx)
{
	(void)mp;
	(void)opaque;
	point_at(obj, idx % nframes);
}

/* ---- measuring ---- */

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t load64(const uint64_t *p) { return __atomic_load_n(p, __ATOMIC_RELAXED); }

/* The control thread's side of the event ring, as drain_worker_events. */
static struct hb_event_ring events;
static uint64_t events_seen[4];   /* by enum hbf_kind */

static void drain_events(void)
{
	struct hb_event ev;
	while (hb_event_pop(&events, &ev))
		events_seen[ev.type == HB_TYPE_NOTIFY_ACK ? HBF_NOTIFY_ACK
			    : ev.flags & HB_FLAG_SHUTDOWN ? HBF_SHUTDOWN : HBF_BOOT]++;
}

/* Sleeps `us` microseconds, draining the ring every millisecond. */
static void sleep_draining(unsigned us)
{
	for (unsigned t = 0; t < us; t += 1000) {
		usleep(1000);
		drain_events();
	}
}

/* Frame i's kind: a fixed share of rare ones, spread by a hash of i. */
static enum hbf_kind frame_kind(const struct opts *o, uint32_t i)
{
	uint64_t st = 0x8A3E000000000000ull | i;
	if (o->all_acks)
		return HBF_NOTIFY_ACK;
	if ((double)(hbf_rand(&st) % 1000000) >= o->rare_pct * 10000)
		return HBF_PLAIN;
	return (enum hbf_kind)(1 + i % 3);
}

/* The worker lcore's thread, found by the name EAL gives it. */
static int find_lcore_tid(unsigned lcore)
{
	char want[32], path[64], comm[32];
	snprintf(want, sizeof(want), "rte-worker-%u", lcore);
	for (int tries = 0; tries < 1000; tries++) {
		DIR *d = opendir("/proc/self/task");
		struct dirent *de;
		while (d && (de = readdir(d))) {
			snprintf(path, sizeof(path), "/proc/self/task/%.20s/comm", de->d_name);
			FILE *f = fopen(path, "r");
			if (!f)
				continue;
			bool hit = fgets(comm, sizeof(comm), f) && strncmp(comm, want, strlen(want)) == 0 &&
				   (comm[strlen(want)] == '\n' || comm[strlen(want)] == 0);
			fclose(f);
			if (hit) {
				int tid = atoi(de->d_name);
				closedir(d);
				return tid;
			}
		}
		if (d)
			closedir(d);
		usleep(1000);
	}
	return -1;
}

/* A thread's time on a CPU and waiting for one (ns), from schedstat. */
static bool sched_times(int tid, uint64_t *run, uint64_t *wait)
{
	char path[64];
	unsigned long long r, w;
	snprintf(path, sizeof(path), "/proc/self/task/%d/schedstat", tid);
	FILE *f = fopen(path, "r");
	if (!f)
		return false;
	bool ok = fscanf(f, "%llu %llu", &r, &w) == 2;
	fclose(f);
	*run = r;
	*wait = w;
	return ok;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median(double *v, unsigned n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n == 0 ? 0 : n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

struct dpdk_result {
	/* First pass (every heartbeat stores), then the later passes; per
	 * second of the worker thread's CPU time, wall clock beside. */
	double first_mpps, first_wall_mpps, first_wait_pct;
	double mpps, mpps_min, mpps_max, wall_mpps, wait_pct;
	unsigned samples;
	uint64_t rx, accepted, rejected;
	uint32_t rare_frames;            /* of the F frames */
	uint64_t events, events_dropped; /* rare messages the "control thread" got / the ring lost */
};

static int run_dpdk(const struct opts *o, struct slot_table *t, const uint32_t *slots,
		    struct dpdk_result *res)
{
	unsigned lcore = rte_get_next_lcore(-1, 1, 0);
	if (lcore >= RTE_MAX_LCORE) {
		fprintf(stderr, "need a worker lcore besides the main one (EAL -l 0,1)\n");
		return -EINVAL;
	}
	int socket = (int)rte_socket_id();

	/* The frames, in DPDK memory (hugepages when EAL has them), as DMA'd. */
	nframes = o->frames;
	uint8_t *fr = rte_malloc_socket("gnb_frames",
					(size_t)nframes * FRAME_STRIDE + RTE_PKTMBUF_HEADROOM, 64, socket);
	if (!fr) {
		fprintf(stderr, "%u frames: out of DPDK memory\n", nframes);
		return -ENOMEM;
	}
	uint32_t nrare = 0;
	for (uint32_t i = 0; i < nframes; i++) {
		enum hbf_kind k = frame_kind(o, i);
		nrare += k != HBF_PLAIN;
		hbf_frame_kind(fr + (size_t)i * FRAME_STRIDE + RTE_PKTMBUF_HEADROOM, slots[i], k,
			       o->udp_csum);
	}
	res->rare_frames = nrare;
	rx_ol_flags = o->rx_verified ? RTE_MBUF_F_RX_IP_CKSUM_GOOD | RTE_MBUF_F_RX_L4_CKSUM_GOOD : 0;

	struct rte_mempool *mp = rte_pktmbuf_pool_create_by_ops(
		"gnb_rx", RING_MBUFS, 0, 0, RTE_PKTMBUF_HEADROOM, socket, "gnb_recycle");
	if (!mp) {
		fprintf(stderr, "mbuf pool: %s\n", rte_strerror(rte_errno));
		return -ENOMEM;
	}
	frames = fr;
	rte_mempool_obj_iter(mp, first_frames, NULL);
	next_frame = RING_MBUFS % nframes;
	struct rte_ring *rx = mp->pool_data;
	struct rte_ring *tx = rte_ring_create("gnb_tx", 1024, socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
	int port = tx ? rte_eth_from_rings("net_gnb", &rx, 1, &tx, 1, (unsigned)socket) : -1;
	if (port < 0) {
		fprintf(stderr, "ring port: %s\n", rte_strerror(rte_errno));
		return -ENODEV;
	}
	int rc = port_start((uint16_t)port, 1, RING_MBUFS, mp);
	if (rc < 0)
		return rc;
	if (rte_ring_count(rx) != RING_MBUFS) {
		fprintf(stderr, "ring holds %u mbufs, expected %u\n", rte_ring_count(rx), RING_MBUFS);
		return -EPROTO;
	}

	static struct worker_counters ctr;
	struct worker_conf wc = {
		.index = 0, .lcore = lcore, .port_id = (uint16_t)port, .queue = 0,
		.udp_port = HBF_UDP_PORT, .window = HBF_WINDOW, .skew = HBF_SKEW,
		.idle_sleep_us = 0, .table = t, .counters = &ctr, .events = &events,
		.stop = &worker_stop,
	};
	recycled = 0;
	recycle_limit = o->stop_after;
	worker_stop = false;

	int tid = o->stop_after ? -1 : find_lcore_tid(lcore);
	uint64_t run0 = 0, wait0 = 0, run1, wait1;
	bool cpu = tid > 0 && sched_times(tid, &run0, &wait0);
	double t0 = now_s();
	rc = rte_eal_remote_launch(worker_main, &wc, lcore);
	if (rc < 0)
		return rc;
	if (o->stop_after) {
		while (rte_eal_get_lcore_state(lcore) != WAIT)
			sleep_draining(1000);
		rte_eal_wait_lcore(lcore);
	} else {
		/* The first pass: every heartbeat is news and stores its time. */
		while (load64(&ctr.rx) < o->frames && now_s() - t0 < 300)
			sleep_draining(1000);
		uint64_t a1 = load64(&ctr.verdict[HB_ACCEPTED]);
		double t1 = now_s();
		cpu = cpu && sched_times(tid, &run1, &wait1);
		res->first_wall_mpps = (double)a1 / (t1 - t0) / 1e6;
		res->first_mpps = cpu ? (double)a1 / ((double)(run1 - run0) * 1e-9) / 1e6
				      : res->first_wall_mpps;
		res->first_wait_pct = cpu ? 100.0 * (double)(wait1 - wait0) * 1e-9 / (t1 - t0) : 0;

		/* Later passes: the same heartbeats again, nothing new to store. */
		sleep_draining(o->warmup * 1000000u);
		double v[MAX_SAMPLES], w[MAX_SAMPLES];
		unsigned n = o->duration < MAX_SAMPLES ? o->duration : MAX_SAMPLES;
		uint64_t a0 = load64(&ctr.verdict[HB_ACCEPTED]);
		cpu = cpu && sched_times(tid, &run0, &wait0);
		double s0 = now_s();
		res->wait_pct = 0;
		for (unsigned i = 0; i < n; i++) {
			sleep_draining(1000000);
			a1 = load64(&ctr.verdict[HB_ACCEPTED]);
			double s1 = now_s();
			cpu = cpu && sched_times(tid, &run1, &wait1);
			w[i] = (double)(a1 - a0) / (s1 - s0) / 1e6;
			if (cpu) {
				v[i] = (double)(a1 - a0) / ((double)(run1 - run0) * 1e-9) / 1e6;
				double wp = 100.0 * (double)(wait1 - wait0) * 1e-9 / (s1 - s0);
				res->wait_pct = wp > res->wait_pct ? wp : res->wait_pct;
				run0 = run1;
				wait0 = wait1;
			} else {
				v[i] = w[i];
			}
			a0 = a1;
			s0 = s1;
		}
		worker_stop = true;
		rte_eal_wait_lcore(lcore);
		if (!cpu)
			fprintf(stderr, "NOTE: no schedstat for the worker thread: wall-clock rates only\n");
		res->samples = n;
		res->mpps_min = res->mpps_max = n ? v[0] : 0;
		for (unsigned i = 0; i < n; i++) {
			res->mpps_min = v[i] < res->mpps_min ? v[i] : res->mpps_min;
			res->mpps_max = v[i] > res->mpps_max ? v[i] : res->mpps_max;
		}
		res->mpps = median(v, n);
		res->wall_mpps = median(w, n);
	}
	drain_events();
	res->events = events_seen[HBF_SHUTDOWN] + events_seen[HBF_BOOT] +
		      events_seen[HBF_NOTIFY_ACK];
	res->events_dropped = ctr.events_dropped;
	res->rx = ctr.rx;
	res->accepted = ctr.verdict[HB_ACCEPTED];
	res->rejected = 0;
	for (int v = 0; v < HB_VERDICT_COUNT; v++)
		if (v != HB_ACCEPTED && ctr.verdict[v]) {
			res->rejected += ctr.verdict[v];
			fprintf(stderr, "worker verdict %s: %llu\n", hb_verdict_name((enum hb_verdict)v),
				(unsigned long long)ctr.verdict[v]);
		}
	port_stop((uint16_t)port);
	rte_ring_free(tx);
	rte_mempool_free(mp);
	frames = NULL;
	rte_free(fr);
	return 0;
}

/* ---- main ---- */

static void usage(const char *argv0)
{
	fprintf(stderr,
		"usage: %s EAL-ARGS -- [--slots N] [--frames F] [--duration S] [--warmup S]\n"
		"          [--kernel PACKETS] [--kernel-rounds R] [--stop-after K] [--no-dpdk]\n"
		"          [--mac scalar|avx2|avx512] [--udp-csum] [--rx-verified] [--rare PCT]\n"
		"          [--kind heartbeat|ack]\n"
		"  EAL needs two lcores (-l 0,1): the main one measures, the other is the worker.\n"
		"  --mac: the burst MAC variant worker_main uses (default: the widest the CPU has).\n",
		argv0);
}

static int parse(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{"slots", required_argument, 0, 's'},  {"frames", required_argument, 0, 'f'},
		{"duration", required_argument, 0, 'd'}, {"warmup", required_argument, 0, 'w'},
		{"kernel", required_argument, 0, 'k'}, {"kernel-rounds", required_argument, 0, 'r'},
		{"stop-after", required_argument, 0, 'K'}, {"no-dpdk", no_argument, 0, 'n'},
		{"mac", required_argument, 0, 'm'},    {"help", no_argument, 0, 'h'},
		{"udp-csum", no_argument, 0, 'u'},     {"rx-verified", no_argument, 0, 'v'},
		{"rare", required_argument, 0, 'R'},   {"kind", required_argument, 0, 'T'},
		{0, 0, 0, 0}};
	int c;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		unsigned long long v = optarg ? strtoull(optarg, NULL, 10) : 0;
		switch (c) {
		case 's': o->slots = (uint32_t)v; break;
		case 'f': o->frames = (uint32_t)v; break;
		case 'd': o->duration = (unsigned)v; break;
		case 'w': o->warmup = (unsigned)v; break;
		case 'k': o->kernel_packets = (uint32_t)v; break;
		case 'r': o->kernel_rounds = (unsigned)v; break;
		case 'K': o->stop_after = v; break;
		case 'n': o->no_dpdk = true; break;
		case 'u': o->udp_csum = true; break;
		case 'v': o->rx_verified = true; break;
		case 'R': o->rare_pct = strtod(optarg, NULL); break;
		case 'T':
			if (strcmp(optarg, "heartbeat") && strcmp(optarg, "ack")) {
				fprintf(stderr, "--kind %s: not heartbeat or ack\n", optarg);
				return -1;
			}
			o->all_acks = strcmp(optarg, "ack") == 0;
			break;
		case 'm': {
			int impl = -1;
			for (int i = 0; i < HB_MAC_IMPL_COUNT; i++)
				if (strcmp(optarg, hb_mac_impl_name((enum hb_mac_impl)i)) == 0)
					impl = i;
			if (impl < 0) {
				fprintf(stderr, "--mac %s: not scalar, avx2 or avx512\n", optarg);
				return -1;
			}
			if (hb_mac_burst_select((enum hb_mac_impl)impl) < 0) {
				fprintf(stderr, "--mac %s: this CPU cannot run it\n", optarg);
				return -1;
			}
			break;
		}
		default: return -1;
		}
	}
	if (o->frames == 0)
		o->frames = o->slots;   /* every endpoint once per pass */
	if (o->slots < 64 || o->frames < 64 || o->frames > o->slots || o->duration == 0 ||
	    o->kernel_rounds == 0 || o->kernel_rounds > 64 || !(o->rare_pct >= 0 && o->rare_pct <= 100))
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	int n = rte_eal_init(argc, argv);
	if (n < 0) {
		fprintf(stderr, "EAL: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	struct opts o = {.slots = 10000000, .frames = 0, .duration = 5, .warmup = 1,
			 .kernel_packets = 1000000, .kernel_rounds = 3};
	argv[n] = argv[0];
	if (parse(argc - n, argv + n, &o) < 0) {
		usage(argv[0]);
		return 2;
	}
	if (sodium_init() < 0)
		return 1;
	bool huge = rte_eal_has_hugepages();
	gn_coarse_set(HBF_NOW);

	double t0 = now_s();
	static struct slot_table table;
	/* One worker, as a one-worker glournetd (32-byte entries, issue 15);
	 * the kernel baseline stores into the same timestamps one second
	 * later (kb_conf.base), so both store every heartbeat they see first. */
	int rc = hbf_table_build(&table, o.slots, 1);
	uint32_t *slots = rc == 0 ? hbf_sample_slots(o.slots, o.frames, 0xF4A3E5) : NULL;
	if (!slots) {
		fprintf(stderr, "fixture of %u slots: %s\n", o.slots, strerror(rc < 0 ? -rc : ENOMEM));
		return 1;
	}
	const char *what = o.all_acks ? "notify-ack" : "heartbeat";
	printf("fixture: %u slots assigned, %u distinct %s frames in random order (%.1f s)\n",
	       o.slots, o.frames, what, now_s() - t0);

	struct dpdk_result d = {0};
	if (!o.no_dpdk) {
		rc = run_dpdk(&o, &table, slots, &d);
		if (rc < 0)
			return 1;
		if (o.stop_after) {
			printf("result stop_after_heartbeats=%llu accepted=%llu rejected=%llu mac=%s "
			       "events=%llu events_dropped=%llu \n",
			       (unsigned long long)d.rx, (unsigned long long)d.accepted,
			       (unsigned long long)d.rejected, hb_mac_impl_name(hb_mac_burst_impl()),
			       (unsigned long long)d.events, (unsigned long long)d.events_dropped);
			rte_eal_cleanup();
			return d.rejected || d.rx != o.stop_after ? 1 : 0;
		}
	}

	struct kb_round kr[64] = {{0}};
	struct kb_info ki = {0};
	double kmpps = 0, kmin = 0, kmax = 0, kwall = 0, kwait = 0;
	uint64_t kdrops = 0, krej = 0;
	if (o.kernel_packets) {
		unsigned lcore = rte_get_next_lcore(-1, 1, 0);
		struct kb_conf kc = {
			.table = &table, .slots = slots, .nslots = o.frames,
			.packets = o.kernel_packets, .rounds = o.kernel_rounds,
			.rx_cpu = lcore < RTE_MAX_LCORE ? (int)rte_lcore_to_cpu_id((int)lcore) : -1,
			.tx_cpu = (int)rte_lcore_to_cpu_id((int)rte_get_main_lcore()),
			.worker = 0,
			.base = -1,
		};
		rc = kb_run(&kc, kr, &ki);
		if (rc < 0) {
			fprintf(stderr, "kernel baseline: %s\n", strerror(-rc));
			return 1;
		}
		double v[64], w[64];
		for (unsigned k = 0; k < o.kernel_rounds; k++) {
			/* Per second of the receiving thread's CPU time, as the DPDK figure. */
			v[k] = kr[k].drain_cpu_s > 0 ? (double)kr[k].received / kr[k].drain_cpu_s / 1e6 : 0;
			w[k] = kr[k].drain_s > 0 ? (double)kr[k].received / kr[k].drain_s / 1e6 : 0;
			double wp = kr[k].drain_s > 0 ? 100 * (kr[k].drain_s - kr[k].drain_cpu_s) / kr[k].drain_s : 0;
			kwait = wp > kwait ? wp : kwait;
			kmin = k == 0 || v[k] < kmin ? v[k] : kmin;
			kmax = v[k] > kmax ? v[k] : kmax;
			kdrops += kr[k].sent - kr[k].received;
			krej += kr[k].rejected;
			printf("kernel round %u: sent %llu in %.3f s (%.2f Mpps, sender core), "
			       "drained %llu in %.3f s (CPU %.3f s): %.3f Mpps per CPU-second, "
			       "%.3f wall, accepted %llu\n",
			       k + 1, (unsigned long long)kr[k].sent, kr[k].fill_s,
			       (double)kr[k].sent / kr[k].fill_s / 1e6,
			       (unsigned long long)kr[k].received, kr[k].drain_s, kr[k].drain_cpu_s, v[k],
			       w[k], (unsigned long long)kr[k].accepted);
		}
		kmpps = median(v, o.kernel_rounds);
		kwall = median(w, o.kernel_rounds);
	}

	printf("\n== Dataplane capacity, one worker core: %u endpoints, %u distinct %s frames "
	       "in random order, every heartbeat fully checked (MAC included) ==\n", o.slots, o.frames, what);
	printf("(per second of the measuring thread's CPU time, i.e. per core; the wall-clock rate "
	       "and the share of time the thread waited for its CPU beside)\n");
	if (!o.no_dpdk) {
		printf("DPDK  worker_main on %s, net_ring fed with preloaded frames, MACs %s:\n",
		       huge ? "hugepages" : "--no-huge (NOTE: no hugepages; ~3.5x slower)",
		       hb_mac_impl_name(hb_mac_burst_impl()));
		printf("      %.2f Mpps per core: first pass, each endpoint once, every heartbeat news "
		       "(stored)\n      (wall %.2f; waited for CPU %.1f%%)\n",
		       d.first_mpps, d.first_wall_mpps, d.first_wait_pct);
		printf("      %.2f Mpps per core: later passes, the same heartbeats again (nothing to "
		       "store)\n      (median of %u x 1 s; %.2f .. %.2f; wall %.2f; waited for CPU <= "
		       "%.1f%%)\n",
		       d.mpps, d.samples, d.mpps_min, d.mpps_max, d.wall_mpps, d.wait_pct);
		printf("      %llu frames, %llu accepted, %llu rejected\n",
		       (unsigned long long)d.rx, (unsigned long long)d.accepted,
		       (unsigned long long)d.rejected);
		printf("      UDP checksums %s, NIC-verified flags %s, rare messages %.2f%% of the "
		       "frames (%u of %u): %llu passed on, %llu lost (ring full)\n",
		       o.udp_csum ? "on" : "off (0)", o.rx_verified ? "on" : "off", o.all_acks ? 100.0 : o.rare_pct,
		       d.rare_frames, o.frames, (unsigned long long)d.events,
		       (unsigned long long)d.events_dropped);
	}
	if (o.kernel_packets) {
		printf("kernel UDP recvmmsg (batch %d) on a loopback socket, receiving core alone "
		       "(queue filled, then drained),\n      new endpoints every heartbeat (stored): "
		       "%.2f Mpps per core\n      (median of %u rounds of %u; %.2f .. %.2f; wall %.2f; "
		       "waited for CPU <= %.1f%%; drops %llu, rejected %llu; SO_RCVBUF %d%s)\n",
		       KB_BATCH, kmpps, o.kernel_rounds, o.kernel_packets, kmin, kmax, kwall, kwait,
		       (unsigned long long)kdrops, (unsigned long long)krej, ki.rcvbuf,
		       ki.forced ? " forced" : ", not root: small queue");
	}
	double ratio = !o.no_dpdk && kmpps > 0 ? d.first_mpps / kmpps : 0;
	if (ratio > 0)
		printf("ratio DPDK / kernel, per core, both storing every heartbeat: %.1fx\n", ratio);
	/* One machine-readable line for bench/run-all.sh. */
	printf("result dpdk_mpps=%.3f dpdk_wall_mpps=%.3f dpdk_wait_pct=%.1f "
	       "resend_mpps=%.3f resend_min=%.3f resend_max=%.3f resend_wall_mpps=%.3f "
	       "resend_wait_pct=%.1f hugepages=%d dpdk_rejected=%llu "
	       "kernel_mpps=%.3f kernel_min=%.3f kernel_max=%.3f kernel_wall_mpps=%.3f "
	       "kernel_wait_pct=%.1f kernel_drops=%llu kernel_rejected=%llu ratio=%.2f "
	       "slots=%u frames=%u loop=%s mac=%s udp_csum=%d rx_verified=%d rare_pct=%.2f "
	       "events=%llu events_dropped=%llu kind=%s\n",
	       d.first_mpps, d.first_wall_mpps, d.first_wait_pct, d.mpps, d.mpps_min, d.mpps_max,
	       d.wall_mpps, d.wait_pct, huge, (unsigned long long)d.rejected, kmpps, kmin, kmax,
	       kwall, kwait, (unsigned long long)kdrops, (unsigned long long)krej, ratio, o.slots,
	       o.frames, "worker_main", hb_mac_impl_name(hb_mac_burst_impl()), o.udp_csum,
	       o.rx_verified, o.rare_pct, (unsigned long long)d.events,
	       (unsigned long long)d.events_dropped, o.all_acks ? "ack" : "heartbeat");
	free(slots);
	slot_table_destroy(&table);
	rte_eal_cleanup();
	return d.rejected || krej ? 1 : 0;
}
