/*
 * Which of a driver's xstats count a loss (port.h, port_xstat_is_loss;
 * issue 13 item 7): the names real PMDs use for drops, misses, errors,
 * buffer shortages and discards are losses; packet and byte counts are not.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "glournet/port.h"

static void loss_names(void **state)
{
	(void)state;
	static const char *const loss[] = {
		"rx_missed_errors",   "rx_errors",      "tx_errors", "rx_mbuf_allocation_errors",
		"rx_q0_errors",       "rx_dropped",     "rx_discards_phy", "rx_no_buffer_count",
		"rx_fifo_full",       "rx_crc_errors",  "rx_q0_drop_packets", "rx_out_of_buffer",
		"tx_dropped_link_down_packets", "rx_alloc_fail", "rx_overrun", "rx_bad_length",
		"rx_illegal_byte_err", "rx_undersize_errors", "rx_invalid_descs",
		"rx_nombuf",
	};
	for (size_t i = 0; i < sizeof(loss) / sizeof(loss[0]); i++)
		if (!port_xstat_is_loss(loss[i]))
			fail_msg("%s is a loss", loss[i]);
}

static void counts_are_not_losses(void **state)
{
	(void)state;
	static const char *const plain[] = {"rx_good_packets", "tx_good_packets", "rx_good_bytes",
					    "rx_q0_packets",   "rx_q0_bytes",     "tx_q0_packets",
					    "rx_unicast_packets", "rx_multicast_packets",
					    "rx_size_64_packets"};
	for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++)
		if (port_xstat_is_loss(plain[i]))
			fail_msg("%s is no loss", plain[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(loss_names),
		cmocka_unit_test(counts_are_not_losses),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
