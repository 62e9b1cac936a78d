/*
 * The worker lcores: one RX queue each, poll, decode, accept, count.
 * Interface between the control thread (which configures and launches them
 * and reads their counters) and dataplane/worker.c.
 */
#ifndef GLOURNET_WORKER_H
#define GLOURNET_WORKER_H

#include <stdbool.h>
#include <stdint.h>

#include "glournet/exception.h"
#include "glournet/hb_verdict.h"
#include "glournet/slot_table.h"
#include "glournet/spsc_ring.h"

/* Written by one worker only; read (racily, but 64-bit aligned) by control. */
struct worker_counters {
	uint64_t rx;
	uint64_t verdict[HB_VERDICT_COUNT];
	uint64_t notify_acks;     /* accepted, of type notify-ack */
	uint64_t shutdowns;       /* accepted, with SHUTDOWN */
	uint64_t boots;           /* accepted, with BOOT and not SHUTDOWN */
	uint64_t sources;         /* accepted heartbeats from a source their slot's tag did not name */
	uint64_t events_dropped;  /* one of those not passed on: event ring full (the
				   * next heartbeat from a new source tries again) */
	uint64_t exc[EXC_WORKER_COUNT];   /* frames not ours (exception.h) */
} __attribute__((aligned(64)));

struct worker_conf {
	unsigned index;          /* 0..nworkers-1: the timestamp array it owns */
	unsigned lcore;
	uint16_t port_id;
	uint16_t queue;
	uint16_t udp_port;       /* host order */
	uint32_t window;
	uint32_t skew;
	uint32_t idle_sleep_us;  /* 0: pure polling */
	struct slot_table *table;
	struct worker_counters *counters;
	struct hb_event_ring *events;   /* SHUTDOWN, BOOT, notify-acks, new sources, for the control thread */
	volatile bool *stop;
	/* The exception path (exception.h): frames that are not ours go to the
	 * kernel through this ring; NULL (--exception drop): dropped. */
	struct rte_ring *exc_ring;
	uint8_t port_mac[6];     /* unicast to any other MAC is not for us */
};

/* rte_eal_remote_launch entry point; `arg` is a struct worker_conf. */
int worker_main(void *arg);

#endif
