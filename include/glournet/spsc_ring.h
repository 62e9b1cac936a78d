/*
 * A single-producer single-consumer ring: how a worker hands the control
 * thread the rare heartbeats that need more than a timestamp (SHUTDOWN,
 * BOOT, notify-acks, a heartbeat from a new source address),
 * with no lock and no syscall. A full ring drops the event and says so:
 * the caller counts it (the heartbeat itself is still recorded).
 */
#ifndef GLOURNET_SPSC_RING_H
#define GLOURNET_SPSC_RING_H

#include <stdbool.h>
#include <stdint.h>

/* A power of two. Sized for a notify campaign's acks: at notify.rate's
 * default of 100000/s, a control-loop turn of up to 100 ms brings 10 k; at
 * 4096 a busy turn lost them (bench/dataplane/ab.sh, --rare 10). 40 B an
 * event: 2.5 MiB a worker. */
#define HB_EVENT_RING_SIZE 65536

struct hb_event {
	uint64_t id;
	uint32_t slot;
	uint32_t time;      /* min(heartbeat time, now) */
	uint16_t flags;
	uint8_t  type;
	/* A heartbeat whose source address is not the one its slot's tag
	 * names: that address (family 2 AF_INET, 10 AF_INET6); 0: not moved. */
	uint8_t  src_family;
	uint8_t  src[16];
};

struct hb_event_ring {
	uint32_t head __attribute__((aligned(64)));   /* written by the producer */
	uint32_t tail __attribute__((aligned(64)));   /* written by the consumer */
	struct hb_event ev[HB_EVENT_RING_SIZE];
};

static inline bool hb_event_push(struct hb_event_ring *r, const struct hb_event *e)
{
	uint32_t head = r->head;
	if (head - __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE) == HB_EVENT_RING_SIZE)
		return false;
	r->ev[head & (HB_EVENT_RING_SIZE - 1)] = *e;
	__atomic_store_n(&r->head, head + 1, __ATOMIC_RELEASE);
	return true;
}

static inline bool hb_event_pop(struct hb_event_ring *r, struct hb_event *e)
{
	uint32_t tail = r->tail;
	if (__atomic_load_n(&r->head, __ATOMIC_ACQUIRE) == tail)
		return false;
	*e = r->ev[tail & (HB_EVENT_RING_SIZE - 1)];
	__atomic_store_n(&r->tail, tail + 1, __ATOMIC_RELEASE);
	return true;
}

#endif
