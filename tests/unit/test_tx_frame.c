/*
 * The TX path's frames (dataplane/tx_frame.c), byte by byte against frames
 * computed independently (Python's struct and a textbook checksum): IPv4
 * with DF, ID 0, TTL 64 and both checksums; IPv6 with hop limit 64 and the
 * mandatory UDP checksum; a UDP checksum that folds to 0 goes out as
 * 0xFFFF; families that differ, a payload over TX_PAYLOAD_MAX and a buffer
 * too small are refused without writing past `room`.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "glournet/tx_frame.h"

static struct tx_frame_hdr hdr(const char *src, const char *dst)
{
	struct tx_frame_hdr h = {
		.dst_mac = {0x02, 0, 0, 0, 0, 0x02}, .src_mac = {0x02, 0, 0, 0, 0, 0x01},
		.src_port = 7100, .dst_port = 4000,
	};
	assert_int_equal(gn_addr_parse(src, &h.src), 0);
	assert_int_equal(gn_addr_parse(dst, &h.dst), 0);
	return h;
}

static void ipv4_bytes(void **state)
{
	(void)state;
	static const uint8_t want[] = {
		0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x00,
		0x45, 0x00, 0x00, 0x21, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x38, 0xb1,
		0xc6, 0x12, 0x00, 0x01, 0xcb, 0x00, 0x71, 0x07,
		0x1b, 0xbc, 0x0f, 0xa0, 0x00, 0x0d, 0x8e, 0x8a, 0x68, 0x65, 0x6c, 0x6c, 0x6f};
	struct tx_frame_hdr h = hdr("198.18.0.1", "203.0.113.7");
	uint8_t out[128];
	memset(out, 0xEE, sizeof(out));
	assert_int_equal(tx_frame_build(out, sizeof(out), &h, "hello", 5), sizeof(want));
	assert_memory_equal(out, want, sizeof(want));
	assert_int_equal(out[sizeof(want)], 0xEE);   /* nothing past the frame */
}

static void ipv6_bytes(void **state)
{
	(void)state;
	static const uint8_t want[] = {
		0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x86, 0xdd,
		0x60, 0x00, 0x00, 0x00, 0x00, 0x0d, 0x11, 0x40,
		0xfd, 0x00, 0x67, 0x6c, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x01,
		0x20, 0x01, 0x0d, 0xb8, 0x00, 0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x09,
		0x1b, 0xbc, 0x0f, 0xa0, 0x00, 0x0d, 0xfe, 0x6e, 0x68, 0x65, 0x6c, 0x6c, 0x6f};
	struct tx_frame_hdr h = hdr("fd00:676c::1", "2001:db8:7::9");
	uint8_t out[128];
	assert_int_equal(tx_frame_build(out, sizeof(out), &h, "hello", 5), sizeof(want));
	assert_memory_equal(out, want, sizeof(want));
}

/* Choose the 2 payload bytes that make the sum 0xFFFF: the checksum field
 * would be 0, which in UDP means "none"; it must go out as 0xFFFF. */
static void zero_checksum_sent_as_ffff(void **state)
{
	(void)state;
	struct tx_frame_hdr h = hdr("fd00:676c::1", "2001:db8:7::9");
	uint8_t out[128], pl[2] = {0, 0};
	int n = tx_frame_build(out, sizeof(out), &h, pl, 2);
	assert_int_equal(n, 14 + 40 + 8 + 2);
	uint8_t *udp = out + 14 + 40;
	pl[0] = udp[6];
	pl[1] = udp[7];
	assert_int_equal(tx_frame_build(out, sizeof(out), &h, pl, 2), n);
	assert_int_equal(udp[6], 0xFF);
	assert_int_equal(udp[7], 0xFF);
}

static void refusals(void **state)
{
	(void)state;
	struct tx_frame_hdr h = hdr("198.18.0.1", "fd00::2");
	uint8_t out[2048], big[TX_PAYLOAD_MAX + 1] = {0};
	assert_int_equal(tx_frame_build(out, sizeof(out), &h, "x", 1), -EINVAL);
	h = hdr("fd00::1", "fd00::2");
	assert_int_equal(tx_frame_build(out, sizeof(out), &h, big, TX_PAYLOAD_MAX + 1), -EMSGSIZE);
	assert_int_equal(tx_frame_build(out, sizeof(out), &h, big, TX_PAYLOAD_MAX),
			 TX_HDR_MAX + TX_PAYLOAD_MAX);
	memset(out, 0xEE, sizeof(out));
	assert_int_equal(tx_frame_build(out, TX_HDR_MAX + 4, &h, "hello", 5), -EMSGSIZE);
	assert_int_equal(out[0], 0xEE);   /* refused before writing */
	h.src.family = h.dst.family = 0;
	assert_int_equal(tx_frame_build(out, sizeof(out), &h, "x", 1), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ipv4_bytes),
		cmocka_unit_test(ipv6_bytes),
		cmocka_unit_test(zero_checksum_sent_as_ffff),
		cmocka_unit_test(refusals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
