/*
 * Benchmark fixtures (see hb_fixture.h): built with the same calls the
 * control thread uses (slot_table_reserve, slot_table_assign) and MAC'd
 * with the encoder the agents use (hb_encode).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "glournet/gn_mem.h"
#include "glournet/hb_encode.h"
#include "hb_fixture.h"

static uint64_t mix(uint64_t x)
{
	uint64_t s = x;
	return hbf_rand(&s);
}

void hbf_identity(uint32_t slot, uint64_t *id, uint8_t key[HB_KEY_LEN])
{
	uint64_t v = mix(0xA5A5000000000000ull | slot);
	*id = v ? v : 1;
	uint64_t k0 = mix(0x5A5A000100000000ull | slot), k1 = mix(0x5A5A000200000000ull | slot);
	memcpy(key, &k0, 8);
	memcpy(key + 8, &k1, 8);
}

int hbf_table_build(struct slot_table *t, uint32_t nslots, unsigned nworkers)
{
	/* GN_BENCH_SMALL_PAGES=1: the slot table on 4 KiB pages even where
	 * hugepages are free, the layout alone (before/after in one run). */
	const char *small = getenv("GN_BENCH_SMALL_PAGES");
	gn_table_pages_no_huge(small && *small == '1');
	int rc = slot_table_init(t, nworkers, nslots);
	if (rc < 0)
		return rc;
	rc = slot_table_reserve(t, nslots - 1);
	if (rc < 0)
		return rc;
	fprintf(stderr, "slot table: %u chunks on 2 MiB hugetlb pages, %u on 4 KiB pages%s\n",
		t->huge_chunks, t->small_chunks,
		small && *small == '1' ? " (GN_BENCH_SMALL_PAGES=1)" : "");
	for (uint32_t s = 0; s < nslots; s++) {
		uint64_t id;
		uint8_t key[HB_KEY_LEN];
		hbf_identity(s, &id, key);
		slot_table_assign(t, s, id, key);
		/* The control thread knows where each endpoint sends from (its
		 * frames' source, below): no heartbeat reports a new one. */
		uint8_t src[4];
		hb_put32(src, hbf_source(s));
		slot_table_set_tag(t, s, slot_src_tag(2 /* AF_INET */, src));
	}
	return 0;
}

uint32_t *hbf_sample_slots(uint32_t nslots, uint32_t count, uint64_t seed)
{
	if (count > nslots)
		return NULL;
	uint32_t *all = malloc((size_t)nslots * sizeof(*all));
	if (!all)
		return NULL;
	for (uint32_t i = 0; i < nslots; i++)
		all[i] = i;
	uint64_t st = seed;
	for (uint32_t i = 0; i < count; i++) {
		uint32_t j = i + (uint32_t)(hbf_rand(&st) % (nslots - i));
		uint32_t x = all[i];
		all[i] = all[j];
		all[j] = x;
	}
	if (count < nslots) {
		uint32_t *shrunk = realloc(all, (size_t)(count ? count : 1) * sizeof(*all));
		if (shrunk)
			all = shrunk;
	}
	return all;
}

uint32_t hbf_time(uint32_t slot)
{
	/* 0..59 s old: well inside the window, spread like real send times. */
	return HBF_NOW - (uint32_t)(mix(0x7100000000000000ull | slot) % 60);
}

void hbf_payload(uint8_t p[HB_PAYLOAD_LEN], uint32_t slot)
{
	hbf_payload_kind(p, slot, HBF_PLAIN);
}

void hbf_payload_kind(uint8_t p[HB_PAYLOAD_LEN], uint32_t slot, enum hbf_kind kind)
{
	static const struct { uint8_t type; uint16_t flags; } k[] = {
		[HBF_PLAIN] = {HB_TYPE_HEARTBEAT, 0},
		[HBF_SHUTDOWN] = {HB_TYPE_HEARTBEAT, HB_FLAG_SHUTDOWN},
		[HBF_BOOT] = {HB_TYPE_HEARTBEAT, HB_FLAG_BOOT},
		[HBF_NOTIFY_ACK] = {HB_TYPE_NOTIFY_ACK, HB_FLAG_SETTINGS},
	};
	uint64_t id;
	uint8_t key[HB_KEY_LEN];
	hbf_identity(slot, &id, key);
	hb_encode(p, k[kind].type, k[kind].flags, slot, hbf_time(slot), id, key);
}

static uint16_t ip_checksum(const uint8_t *h, size_t len, uint32_t sum)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += hb_be16(h + i);
	while (sum >> 16)
		sum = (sum & 0xFFFF) + (sum >> 16);
	return (uint16_t)~sum;
}

void hbf_frame(uint8_t f[HBF_FRAME_LEN], uint32_t slot)
{
	hbf_frame_kind(f, slot, HBF_PLAIN, false);
}

void hbf_frame_kind(uint8_t f[HBF_FRAME_LEN], uint32_t slot, enum hbf_kind kind, bool udp_csum)
{
	static const uint8_t dst[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
	memset(f, 0, HBF_FRAME_LEN);
	memcpy(f, dst, 6);
	/* Source MAC and address vary with the slot, as distinct agents do. */
	f[6] = 0x02;
	hb_put32(f + 8, slot);
	hb_put16(f + 12, 0x0800);
	uint8_t *ip = f + 14;
	ip[0] = 0x45;
	hb_put16(ip + 2, 20 + 8 + HB_PAYLOAD_LEN);
	hb_put16(ip + 6, 0x4000);            /* DF, not a fragment */
	ip[8] = 64;
	ip[9] = 17;
	hb_put32(ip + 12, hbf_source(slot));   /* 10.x.y.z */
	hb_put32(ip + 16, 0xC0000201u);      /* 192.0.2.1, the collector */
	hb_put16(ip + 10, ip_checksum(ip, 20, 0));
	uint8_t *udp = ip + 20;
	hb_put16(udp + 0, (uint16_t)(40000 + (slot & 0x3FFF)));
	hb_put16(udp + 2, HBF_UDP_PORT);
	hb_put16(udp + 4, 8 + HB_PAYLOAD_LEN);
	hbf_payload_kind(udp + 8, slot, kind);
	/* Without: UDP checksum 0, none, as IPv4 allows. With: what a kernel
	 * socket sends (pseudo-header: addresses, protocol, UDP length). */
	if (udp_csum) {
		uint16_t c = ip_checksum(udp, 8 + HB_PAYLOAD_LEN,
					 hb_be16(ip + 12) + hb_be16(ip + 14) + hb_be16(ip + 16) +
					 hb_be16(ip + 18) + 17 + 8 + HB_PAYLOAD_LEN);
		hb_put16(udp + 6, c ? c : 0xFFFF);
	}
}
