/*
 * Fuzz target: any bytes as a frame off the wire, through the decoder and
 * the acceptance checks against a small populated slot table. The verdict
 * must be one of the known ones, the same through the inline fast path
 * and the general walk (under several NIC checksum flags), and through
 * hb_accept and the worker's hb_accept_burst; nothing may read out of
 * bounds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "glournet/hb_accept.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct slot_table table;

static void setup(void)
{
	static int done;
	if (done)
		return;
	done = 1;
	if (sodium_init() < 0 || slot_table_init(&table, 2, 1u << 20) < 0 ||
	    slot_table_reserve(&table, 1000) < 0)
		abort();
	uint8_t key[HB_KEY_LEN] = {0};
	for (uint32_t s = 0; s < 1000; s += 7)
		slot_table_assign(&table, s, 0x1000 + s, key);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	setup();
	/* An exactly-sized copy, so a read past the end is a real overflow. */
	uint8_t *frame = malloc(size ? size : 1);
	memcpy(frame, data, size);
	const uint8_t *payload = NULL, *slow_pl = NULL;
	/* What a NIC may say about the checksums, from the size's low bits:
	 * nothing, all verified, or one of them. The inline fast path and the
	 * general walk must agree under each. */
	static const uint32_t rxs[4] = {0, HB_RX_CSUM_VERIFIED, HB_RX_IP_CSUM_GOOD,
					HB_RX_L4_CSUM_GOOD | HB_RX_IP_CSUM_BAD};
	uint32_t rx = rxs[(size >> 2) & 3];
	enum hb_verdict v = hb_decode_frame_rx(frame, (uint32_t)size, HB_DEFAULT_PORT, rx, &payload);
	if (hb_decode_frame_slow(frame, (uint32_t)size, HB_DEFAULT_PORT, rx, &slow_pl) != v ||
	    (v == HB_ACCEPTED && slow_pl != payload))
		abort();
	if (v == HB_ACCEPTED) {
		if (payload < frame || payload + HB_PAYLOAD_LEN > frame + size)
			abort();
		struct hb_window win = {.now = 1795000000, .window = 300, .skew = 30};
		v = hb_accept(table.dir, size & 1, payload, &win);
		/* The worker's burst path must say the same (the frame alone, and
		 * twice over, in one burst). */
		const uint8_t *pl[2] = {payload, payload};
		enum hb_verdict bv[2] = {HB_ACCEPTED, HB_ACCEPTED};
		struct hb_msg msg[2];
		hb_accept_burst(table.dir, size & 1, pl, bv, msg, 1 + (size & 2) / 2, &win);
		if (bv[0] != v || ((size & 2) && bv[1] != v))
			abort();
	}
	if ((unsigned)v >= HB_VERDICT_COUNT)
		abort();
	free(frame);
	return 0;
}
