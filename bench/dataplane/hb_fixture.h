/*
 * Benchmark fixtures, free of DPDK: a slot table with every slot assigned,
 * and heartbeats as an agent would send them (valid MAC, time inside the
 * window), for distinct slots in random order. Shared by the micro
 * benchmarks and the end-to-end capacity programs, so that every figure is
 * measured over the same kind of traffic.
 *
 * Ids and keys are derived from the slot number (a keyed mix), so a
 * heartbeat for any slot can be built without keeping 10 M keys twice.
 */
#ifndef GLOURNET_BENCH_HB_FIXTURE_H
#define GLOURNET_BENCH_HB_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "glournet/heartbeat.h"
#include "glournet/slot_table.h"

#ifdef __cplusplus
extern "C" {
#endif

#define HBF_NOW      1795000000u  /* the coarse clock of every fixture */
#define HBF_WINDOW   300u         /* glournetd's defaults (--window, --skew) */
#define HBF_SKEW     30u
#define HBF_UDP_PORT HB_DEFAULT_PORT
/* Ethernet 14 + IPv4 20 + UDP 8 + heartbeat 32. */
#define HBF_FRAME_LEN 74
#define HBF_PAYLOAD_OFF 42

/* splitmix64: the benchmarks' only random source, seeded, repeatable. */
static inline uint64_t hbf_rand(uint64_t *state)
{
	uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

/* The endpoint that owns `slot`: id (never 0) and key. */
void hbf_identity(uint32_t slot, uint64_t *id, uint8_t key[HB_KEY_LEN]);

/* Initialises `t` for `nworkers`, reserves [0, nslots) in one directory
 * publication and assigns every slot; says on stderr which pages the table
 * got (GN_BENCH_SMALL_PAGES=1 keeps it off hugepages). 0 or a negative
 * errno. */
int hbf_table_build(struct slot_table *t, uint32_t nslots, unsigned nworkers);

/* `count` distinct slots out of [0, nslots), in random order (a partial
 * Fisher-Yates shuffle; count == nslots gives a permutation). malloc'd. */
uint32_t *hbf_sample_slots(uint32_t nslots, uint32_t count, uint64_t seed);

/* The IPv4 source address (host order) of `slot`'s frames: 10.x.y.z. */
static inline uint32_t hbf_source(uint32_t slot)
{
	return 0x0A000000u | (slot & 0x00FFFFFFu);
}

/* The time a fixture heartbeat for `slot` carries: inside the window. */
uint32_t hbf_time(uint32_t slot);

/* A heartbeat payload for `slot` with a valid MAC. */
void hbf_payload(uint8_t p[HB_PAYLOAD_LEN], uint32_t slot);

/* The rare messages beside the plain heartbeat (issue #11: they go to the
 * control thread through the worker's ring). */
enum hbf_kind { HBF_PLAIN, HBF_SHUTDOWN, HBF_BOOT, HBF_NOTIFY_ACK };
void hbf_payload_kind(uint8_t p[HB_PAYLOAD_LEN], uint32_t slot, enum hbf_kind kind);

/* A whole frame (Ethernet, IPv4 with checksum, UDP to HBF_UDP_PORT, the
 * payload); writes HBF_FRAME_LEN bytes. */
void hbf_frame(uint8_t f[HBF_FRAME_LEN], uint32_t slot);
/* The same for any kind, with a UDP checksum (as a kernel socket sends)
 * or without (0, as IPv4 allows). */
void hbf_frame_kind(uint8_t f[HBF_FRAME_LEN], uint32_t slot, enum hbf_kind kind, bool udp_csum);

#ifdef __cplusplus
}
#endif

#endif
