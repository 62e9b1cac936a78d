/*
 * A heartbeat through the workers' own decision (hb_accept), encoded with
 * hb_encode as an agent sends it: what the registry, sweep, API and
 * control tests use to make an endpoint heard.
 */
#ifndef GLOURNET_TU_HEARTBEAT_H
#define GLOURNET_TU_HEARTBEAT_H

#include <stdint.h>

#include "control/registry.h"
#include "glournet/hb_accept.h"

/* glournetd's default window at `now` (--window 300, --skew 30). */
struct hb_window tu_window(uint32_t now);

/* A heartbeat (no flags) of (slot, id) at `time` under `key`, recorded by
 * `worker` in `dir` when accepted; its verdict. */
enum hb_verdict tu_heartbeat(const struct slot_dir *dir, unsigned worker, uint32_t slot,
			     uint64_t id, const uint8_t key[HB_KEY_LEN], uint32_t time,
			     const struct hb_window *w);

/* The same from `ep` (its slot and id) under `key`, in the default window
 * at `now`. */
enum hb_verdict tu_heartbeat_ep(const struct slot_table *t, const struct endpoint *ep,
				const uint8_t key[HB_KEY_LEN], unsigned worker, uint32_t time,
				uint32_t now);

#endif
