/*
 * The kernel baseline of issue #6: the same per-heartbeat decision
 * (hb_accept: decode, slot, id, MAC, window, store) behind recvmmsg on a
 * UDP socket, measured on the receiving core alone. A sender thread on
 * another core fills the socket queue first and stops; only then does the
 * receiver drain it, timed, so the figure is what one core can take from
 * the kernel, not how fast another core can give it.
 */
#ifndef GLOURNET_BENCH_KERNEL_BASELINE_H
#define GLOURNET_BENCH_KERNEL_BASELINE_H

#include <stdint.h>

#include "glournet/slot_table.h"

#define KB_BATCH 64

struct kb_conf {
	struct slot_table *table;
	const uint32_t *slots;    /* heartbeats for slots[0..nslots), in order, carried on */
	uint32_t nslots;          /* from round to round: new endpoints while there are */
	uint32_t packets;         /* per round */
	unsigned rounds;
	int rx_cpu, tx_cpu;
	unsigned worker;          /* the worker whose timestamps to store into */
	int32_t base;             /* the window's base: -1 records every time one
				     second later than the DPDK run did, so the
				     baseline stores every heartbeat too */
};

struct kb_round {
	uint64_t sent, received, accepted, rejected;
	double fill_s, drain_s;
	double drain_cpu_s;       /* the receiving thread's CPU time (user + system) */
};

struct kb_info {
	int rcvbuf;               /* what the kernel granted, bytes */
	int forced;               /* SO_RCVBUFFORCE worked (root) */
};

/* 0 or a negative errno; out[] has c->rounds entries. */
int kb_run(const struct kb_conf *c, struct kb_round *out, struct kb_info *info);

#endif
