/*
 * Fuzz target: any bytes as a frame off the wire, through the decoder and
 * the acceptance checks against a small populated slot table. The verdict
 * must be one of the known ones; nothing may read out of bounds.
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
	const uint8_t *payload = NULL;
	enum hb_verdict v = hb_decode_frame(frame, (uint32_t)size, HB_DEFAULT_PORT, &payload);
	if (v == HB_ACCEPTED) {
		if (payload < frame || payload + HB_PAYLOAD_LEN > frame + size)
			abort();
		struct hb_window win = {.now = 1795000000, .window = 300, .skew = 30};
		v = hb_accept(table.dir, size & 1, payload, &win);
	}
	if ((unsigned)v >= HB_VERDICT_COUNT)
		abort();
	free(frame);
	return 0;
}
