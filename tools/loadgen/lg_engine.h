/*
 * How glournet-loadgen puts heartbeats on the wire: a small vtable, so the
 * schedule and the statistics are the same whether a kernel socket or a
 * DPDK port sends (Knot DNS does the same for its UDP and XDP handlers).
 */
#ifndef GLOURNET_LG_ENGINE_H
#define GLOURNET_LG_ENGINE_H

#include <stdint.h>

#include "glournet/heartbeat.h"
#include "lg_options.h"

struct lg_engine;

struct lg_engine_ops {
	const char *name;
	/* 0, or a negative errno with the reason in e->err. */
	int (*open)(struct lg_engine *e, const struct lg_opts *o);
	/* Sends n (<= LG_BATCH_MAX) payloads in order; returns how many went
	 * out: always a prefix, the rest are tx drops (after the retries). */
	unsigned (*send)(struct lg_engine *e, const uint8_t (*payloads)[HB_PAYLOAD_LEN],
			 unsigned n);
	/* Appends engine-specific figures for the summary (may be NULL). */
	void (*report)(struct lg_engine *e, char *buf, size_t len);
	void (*close)(struct lg_engine *e);
};

struct lg_engine {
	const struct lg_engine_ops *ops;
	void *priv;
	uint64_t retries; /* sends tried again (queue full; kernel: ICMP errors too) */
	int first_errno;  /* of the first failed send, 0 if none */
	char err[256];
};

extern const struct lg_engine_ops lg_engine_kernel_ops;
extern const struct lg_engine_ops lg_engine_dpdk_ops;

#endif
