/*
 * The exception path: every frame a worker sees that is not a glournet
 * heartbeat or notify-ack for our UDP port (ARP, ND, ping, TCP to the HTTP
 * API, SSH, anything) goes to the kernel through an exception interface
 * glournetd creates (net_tap; virtio-user with vhost-net plugs in the same
 * way where /dev/vhost-net exists), and what the kernel sends there goes
 * out of the port.
 *
 *   worker q: burst -> verdicts -> not ours? -> SPSC ring q (bounded; full:
 *             counted, dropped) -- never a lock, a syscall or a wait
 *   control thread, every loop turn, in bounded bursts:
 *             rings -> learn next hops (neigh.h) -> exception interface
 *             exception interface -> the TX path (tx.h) -> port TX queue 0
 *
 * Workers never transmit: the control thread owns the port's only TX queue.
 */
#ifndef GLOURNET_EXCEPTION_H
#define GLOURNET_EXCEPTION_H

#include <stdbool.h>
#include <stdint.h>

#include "glournet/hb_verdict.h"
#include "glournet/slot_table.h"

struct rte_mbuf;
struct rte_mempool;
struct rte_ring;
struct tx_path;

/*
 * The verdicts that mean "not a glournet frame": the route column of the
 * verdict table (hb_verdict.h: KERNEL), e.g. ARP (not_ip), ICMP and TCP
 * (not_udp), DNS (not_our_port), a fragment that is not a first fragment to
 * our port (fragment_other: a large ping). A frame for our UDP port, even a
 * bad one (a fragment of it, a bad checksum, magic, MAC...), is counted and
 * dropped, never the kernel's; so is one broken below UDP.
 */
#define EXC_TO_KERNEL_MASK HB_VERDICT_KERNEL_MASK

static inline bool exc_verdict_to_kernel(enum hb_verdict v)
{
	return (EXC_TO_KERNEL_MASK >> v) & 1;
}

/* Per worker, in worker_counters.exc[]: the frames that were not ours. */
#define EXC_WORKER_COUNTERS(X)                                                       \
	X(TO_KERNEL,  "to_kernel")   /* handed to the control thread's ring */          \
	X(RING_FULL,  "ring_full")   /* dropped: the ring was full */                    \
	X(OTHER_HOST, "other_host")  /* dropped: unicast to another MAC (promiscuous) */ \
	X(DROPPED,    "dropped")     /* dropped: --exception drop */

enum exc_worker_counter {
#define EXC_WORKER_ENUM(name, str) EXC_W_##name,
	EXC_WORKER_COUNTERS(EXC_WORKER_ENUM)
#undef EXC_WORKER_ENUM
	EXC_WORKER_COUNT
};

/* The control thread's side of the exception interface. */
#define EXC_IFACE_COUNTERS(X)                                                        \
	X(TO_KERNEL,   "to_kernel")    /* from the rings into the exception interface */ \
	X(KERNEL_FULL, "kernel_full")  /* the interface took no more: dropped */         \
	X(FROM_KERNEL, "from_kernel")  /* what the kernel sent on the interface */       \
	X(TO_PORT,     "to_port")      /* ... out of the port */                         \
	X(PORT_FULL,   "port_full")    /* dropped: the port's TX queue was full */

enum exc_iface_counter {
#define EXC_IFACE_ENUM(name, str) EXC_I_##name,
	EXC_IFACE_COUNTERS(EXC_IFACE_ENUM)
#undef EXC_IFACE_ENUM
	EXC_IFACE_COUNT
};

const char *exc_worker_counter_name(enum exc_worker_counter c);
const char *exc_iface_counter_name(enum exc_iface_counter c);

#define EXC_RING_DEFAULT 1024   /* frames per worker ring */
#define EXC_IFNAME_MAX   16     /* IFNAMSIZ */

struct exc_conf {
	const char *iface;        /* the kernel interface's name */
	uint8_t mac[6];           /* the port's: the kernel's answers carry it */
	uint16_t mtu;
	unsigned nrings;          /* one per worker */
	unsigned ring_size;       /* power of two */
	struct rte_mempool *pool; /* for what the kernel sends */
	int socket;
};

struct exc_path {
	bool up;
	uint16_t port;                        /* the exception interface's DPDK port */
	char iface[EXC_IFNAME_MAX];
	int ifindex;
	unsigned nrings, next_ring;
	struct rte_ring *rings[GN_MAX_WORKERS];
	uint64_t ctr[EXC_IFACE_COUNT];
};

/* Creates the interface (net_tap, through rte_vdev_init), its queues and
 * the rings, and starts it. 0 or a negative errno, logged with the fix. */
int exc_open(struct exc_path *x, const struct exc_conf *c);
/* Frees what the rings still hold, stops and removes the interface. */
void exc_close(struct exc_path *x);

/* Rings -> kernel: up to `budget` frames, round-robin over the rings; each
 * frame is shown to `learn` first. Returns how many moved. */
typedef void exc_learn_fn(void *ctx, const uint8_t *frame, uint32_t len);
unsigned exc_pump_in(struct exc_path *x, unsigned budget, exc_learn_fn *learn, void *ctx);
/* Kernel -> port through the TX path: up to `budget` frames. */
unsigned exc_pump_out(struct exc_path *x, struct tx_path *tx, unsigned budget);

#endif
