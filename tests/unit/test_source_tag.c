/*
 * The workers' source check (hb_accept.h, slot_table.h): how a worker
 * notices that an endpoint's heartbeats come from a new address, with one
 * compare per heartbeat.
 * Proves: slot_src_tag is an IPv4 address as loaded and never 0 (0 means
 * "none": the next heartbeat is reported whatever its source), and tells
 * apart IPv6 addresses that differ in either half; hb_frame_source finds
 * the source address of every frame shape the decoder accepts (IPv4 with
 * and without options, IPv6 with and without extension headers, under no,
 * one or two VLAN tags), each frame first accepted by the decoder itself;
 * hb_accept_burst_tags hands back each accepted heartbeat's slot tag, as
 * registry_set_source wrote it, and hb_source_moved is false for the
 * address the tag names and true for any other, or after
 * registry_watch_next_heartbeat cleared it; slot_table_clear_seen clears
 * the tag for the slot's next owner.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "frame_csum.h"
#include "glournet/hb_accept.h"
#include "glournet/hb_encode.h"
#include "support/tu_registry.h"
#include "support/tu_run.h"

static struct tu_registry fx;

static void test_tag(void **state)
{
	(void)state;
	const uint8_t a[4] = {10, 1, 2, 3}, zero[4] = {0};
	uint32_t raw;
	memcpy(&raw, a, 4);
	assert_int_equal(slot_src_tag(AF_INET, a), raw);
	assert_int_not_equal(slot_src_tag(AF_INET, zero), 0);
	uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8}, w6[16];
	uint32_t t = slot_src_tag(AF_INET6, v6);
	assert_int_not_equal(t, 0);
	for (int byte = 0; byte < 16; byte++) { /* a change in any byte, either half */
		memcpy(w6, v6, 16);
		w6[byte] ^= 0x01;
		assert_int_not_equal(slot_src_tag(AF_INET6, w6), t);
	}
	uint8_t none[16] = {0};
	assert_int_not_equal(slot_src_tag(AF_INET6, none), 0);
}

/* A heartbeat frame from `src` (4 or 16 bytes) for the endpoint, with
 * `tags` VLAN tags, IPv4 options or an IPv6 hop-by-hop header; its length. */
static size_t frame_of(uint8_t *f, const struct endpoint *ep, const uint8_t *key, int family,
		       const uint8_t *src, int tags, int extra)
{
	memset(f, 0, 200);
	size_t off = 12;
	for (int i = 0; i < tags; i++, off += 4)
		tf_put16(f + off, i == 0 && tags == 2 ? 0x88A8 : 0x8100);
	tf_put16(f + off, family == AF_INET ? 0x0800 : 0x86DD);
	uint8_t *ip = f + off + 2, *udp;
	if (family == AF_INET) {
		size_t ihl = extra ? 24 : 20;
		ip[0] = (uint8_t)(0x40 | ihl / 4);
		tf_put16(ip + 2, (uint16_t)(ihl + 8 + HB_PAYLOAD_LEN));
		ip[8] = 64;
		ip[9] = 17;
		memcpy(ip + 12, src, 4);
		ip[16] = 192, ip[17] = 0, ip[18] = 2, ip[19] = 1;
		if (extra)
			ip[20] = 1; /* NOP options */
		udp = ip + ihl;
	} else {
		ip[0] = 0x60;
		tf_put16(ip + 4, (uint16_t)((extra ? 8 : 0) + 8 + HB_PAYLOAD_LEN));
		ip[6] = extra ? 0 : 17;
		ip[7] = 64;
		memcpy(ip + 8, src, 16);
		ip[24] = 0x20, ip[25] = 0x01, ip[39] = 1;
		udp = ip + 40;
		if (extra) { /* hop-by-hop, 8 bytes of padding */
			udp[0] = 17;
			udp += 8;
		}
	}
	tf_put16(udp, 40000);
	tf_put16(udp + 2, HB_DEFAULT_PORT);
	tf_put16(udp + 4, 8 + HB_PAYLOAD_LEN);
	hb_encode(udp + 8, HB_TYPE_HEARTBEAT, 0, ep->slot, TU_NOW, ep->id, key);
	size_t len = (size_t)(udp + 8 + HB_PAYLOAD_LEN - f);
	tf_fix(f, len, 0);
	return len;
}

static void test_frames(void **state)
{
	(void)state;
	struct endpoint *ep = tu_add_registered(&fx.reg, fx.pol, "src", TU_NOW);
	const uint8_t *key = registry_key(&fx.reg, ep);
	const uint8_t v4[4] = {198, 51, 100, 9}, other4[4] = {198, 51, 100, 10};
	const uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x42};
	struct gn_addr at = {.family = AF_INET};
	memcpy(at.bytes, v4, 4);
	assert_int_equal(registry_set_source(&fx.reg, ep, &at), 1);
	assert_int_equal(registry_set_source(&fx.reg, ep, &at), 0); /* the same again */
	struct hb_window win = {.now = TU_NOW, .window = 300, .skew = 30};
	for (int family = 0; family < 2; family++)
		for (int tags = 0; tags <= 2; tags++)
			for (int extra = 0; extra < 2; extra++) {
				int fam = family ? AF_INET6 : AF_INET;
				const uint8_t *src = family ? v6 : v4;
				uint8_t f[200];
				size_t len = frame_of(f, ep, key, fam, src, tags, extra);
				const uint8_t *pl;
				assert_int_equal(hb_decode_frame(f, (uint32_t)len, HB_DEFAULT_PORT,
								 &pl),
						 HB_ACCEPTED);
				uint8_t got;
				const uint8_t *where = hb_frame_source(f, &got);
				assert_int_equal(got, fam);
				assert_memory_equal(where, src, family ? 16 : 4);
				/* Through the worker's accept: its slot's tag. */
				const uint8_t *pls[1] = {pl};
				enum hb_verdict v[1] = {HB_ACCEPTED};
				struct hb_msg m[1];
				uint32_t tag[1];
				hb_accept_burst_tags(fx.tbl.dir, 0, pls, v, m, tag, 1, &win);
				assert_int_equal(v[0], HB_ACCEPTED);
				assert_int_equal(tag[0], slot_src_tag(AF_INET, v4));
				/* Only the address the tag names is not news. */
				assert_int_equal(hb_source_moved(f, tag[0]), family != 0);
			}
	/* Another IPv4 address: moved. Cleared: any heartbeat is reported. */
	uint8_t f[200];
	frame_of(f, ep, key, AF_INET, other4, 0, 0);
	assert_true(hb_source_moved(f, slot_dir_entry(fx.tbl.dir, ep->slot)->src_tag));
	frame_of(f, ep, key, AF_INET, v4, 0, 0);
	assert_false(hb_source_moved(f, slot_dir_entry(fx.tbl.dir, ep->slot)->src_tag));
	registry_watch_next_heartbeat(&fx.reg, ep);
	assert_int_equal(slot_dir_entry(fx.tbl.dir, ep->slot)->src_tag, 0);
	assert_true(hb_source_moved(f, 0));
	/* The slot's next owner starts knowing nothing. */
	assert_int_equal(registry_set_source(&fx.reg, ep, &at), 0);
	slot_table_release(&fx.tbl, ep->slot);
	slot_table_clear_seen(&fx.tbl, ep->slot);
	assert_int_equal(slot_dir_entry(fx.tbl.dir, ep->slot)->src_tag, 0);
}

int main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tag),
		cmocka_unit_test_prestate_setup_teardown(test_frames, tu_registry_setup,
							 tu_registry_teardown, &fx),
	};
	return TU_RUN(tests);
}
