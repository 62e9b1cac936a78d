/*
 * The notify engine's fixture (control/notify.h) without a port: the
 * registry fixture, an engine on it with a fake TX path that records
 * every datagram and can refuse some, and a fake monotonic clock, so that
 * pacing and retries run in fake time, exactly.
 */
#ifndef GLOURNET_TU_NOTIFY_H
#define GLOURNET_TU_NOTIFY_H

#include <stdbool.h>
#include <stdint.h>

#include "control/notify.h"
#include "tu_registry.h"

struct tu_sent {
	struct gn_addr dst;
	uint16_t port;
	uint8_t payload[HB_PAYLOAD_LEN];
	uint64_t ns;  /* the fake clock when it was sent */
	uint32_t now; /* the engine's seconds */
};

struct tu_notify {
	struct tu_registry fx;
	struct notify_engine e;
	struct tx_handle tx;
	struct tu_sent *sent;
	size_t nsent, cap;
	uint64_t t0_ns;
	/* What the fake TX answers for a send to `dst` (0: queued); NULL: 0. */
	int (*answer)(const struct gn_addr *dst, void *ctx);
	void *answer_ctx;
	uint32_t flushes;
	bool count_only; /* count the datagrams, keep none (large fleets) */
};

/* The fake clock every fixture shares (one test runs at a time). */
extern uint64_t tu_fake_ns;

/* *state is a struct tu_notify: tu_registry_setup's registry and policy,
 * the engine wired to them and to the fake TX, the fake clock at 1000 s. */
int tu_notify_setup(void **state);
int tu_notify_teardown(void **state);

/* The engine's seconds at the fake clock: TU_NOW + elapsed. */
uint32_t tu_notify_now(const struct tu_notify *t);

/* A registered regular endpoint, online, with notify port 21112 and source
 * address 10.x.y.z from `n` (distinct for every n below 2^24). */
struct endpoint *tu_notify_add(struct tu_notify *t, uint32_t n);

/* Runs the loop job for `ms` of fake time, one step every `step_us`, each
 * with a budget of 2 ms; returns the steps that wanted more at once. */
unsigned tu_notify_run(struct tu_notify *t, uint32_t ms, uint32_t step_us);

/* The datagrams sent to `ep`'s notify address since `from`; each is
 * checked as an endpoint checks a notify (hb_check_notify: type, slot, id,
 * MAC, time) and its flags ORed into *flags (NULL: not wanted). */
unsigned tu_notify_count(const struct tu_notify *t, const struct endpoint *ep, size_t from,
			 uint16_t *flags);

/* An ack from `ep` for `flags`, stamped `time`, as the workers pass it on. */
void tu_notify_ack(struct tu_notify *t, struct endpoint *ep, uint16_t flags, uint32_t time);

#endif
