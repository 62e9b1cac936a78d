/*
 * glournet-loadgen's DPDK-free parts (tools/loadgen/): the schedule gives
 * exact silent / shutdown / loss counts, sends every endpoint exactly once
 * per interval at a phase inside the interval, stops silent endpoints and
 * ends shutdown ones with one SHUTDOWN heartbeat; frames decode with the
 * daemon's own hb_decode_frame / hb_decode_payload and their MAC verifies
 * under the endpoint's key (and not another's), with valid IP and UDP
 * checksums; the credentials file parses, rejects malformed lines with a
 * reason and round-trips through save; bad options exit 2 naming the
 * option.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "glournet/hb_decode.h"
#include "glournet/hb_mac.h"
#include "lg_endpoints.h"
#include "lg_frame.h"
#include "lg_options.h"
#include "lg_sched.h"

#define NS 1000000000ull

/* ---- schedule ---- */

static struct lg_sched_cfg cfg_base(uint32_t n)
{
	return (struct lg_sched_cfg){ .n = n, .interval_ns = NS, .pace = LG_PACE_INTERVAL,
				      .duration_ns = 5 * NS, .silent_after_ns = UINT64_MAX,
				      .shutdown_after_ns = UINT64_MAX, .seed = 7 };
}

static void test_sched_fractions_exact(void **state)
{
	(void)state;
	struct lg_sched s;
	struct lg_sched_cfg c = cfg_base(1000);
	unsigned roles[3] = { 0 };

	c.silent = 0.1;
	c.shutdown = 0.05;
	assert_int_equal(lg_sched_init(&s, &c), 0);
	for (uint32_t i = 0; i < 1000; i++)
		roles[lg_sched_role(&s, i)]++;
	assert_int_equal(s.n_silent, 100);
	assert_int_equal(s.n_shutdown, 50);
	assert_int_equal(roles[LG_ROLE_SILENT], 100);
	assert_int_equal(roles[LG_ROLE_SHUTDOWN], 50);
	assert_int_equal(roles[LG_ROLE_NORMAL], 850);
	lg_sched_free(&s);

	c.silent = 0.7;
	c.shutdown = 0.4;
	assert_int_equal(lg_sched_init(&s, &c), -EINVAL);
	c.silent = 0;
	c.loss = 1.5;
	assert_int_equal(lg_sched_init(&s, &c), -EINVAL);
}

static void test_sched_once_per_interval(void **state)
{
	(void)state;
	enum { N = 1000, ROUNDS = 5 };
	struct lg_sched s;
	struct lg_sched_cfg c = cfg_base(N);
	struct lg_event ev;
	static uint64_t due[N][ROUNDS];
	static unsigned cnt[N][ROUNDS];
	uint64_t prev = 0, total = 0, min0 = UINT64_MAX, max0 = 0;

	memset(cnt, 0, sizeof(cnt));
	assert_int_equal(lg_sched_init(&s, &c), 0);
	while (lg_sched_next(&s, 0, &ev) == 0) {
		uint64_t k = ev.due_ns / NS;

		assert_true(ev.due_ns >= prev);          /* in time order */
		prev = ev.due_ns;
		assert_int_equal(ev.round, k);           /* inside its own interval */
		assert_false(ev.lost);
		assert_false(ev.shutdown);
		assert_true(k < ROUNDS);
		cnt[ev.ep][k]++;
		due[ev.ep][k] = ev.due_ns;
		total++;
		if (k == 0) {
			min0 = ev.due_ns < min0 ? ev.due_ns : min0;
			max0 = ev.due_ns > max0 ? ev.due_ns : max0;
		}
	}
	assert_int_equal(total, (uint64_t)N * ROUNDS);
	for (unsigned i = 0; i < N; i++)
		for (unsigned k = 0; k < ROUNDS; k++) {
			assert_int_equal(cnt[i][k], 1);
			if (k) /* the same phase every round: exactly one interval apart */
				assert_int_equal(due[i][k] - due[i][k - 1], NS);
		}
	/* Jitter: spread over the whole interval, not bunched at its start. */
	assert_true(min0 < NS / 20);
	assert_true(max0 > NS - NS / 20);
	/* And the same endpoints do not all come first: phases are random. */
	assert_true(s.order[0] != 0 || s.order[1] != 1 || s.order[2] != 2);
	lg_sched_free(&s);
}

static void test_sched_loss_exact_and_rotating(void **state)
{
	(void)state;
	enum { N = 1000 };
	struct lg_sched s;
	struct lg_sched_cfg c = cfg_base(N);
	struct lg_event ev;
	static uint8_t lost[3][N];
	unsigned per_round[3] = { 0 }, same = 0;

	memset(lost, 0, sizeof(lost));
	c.loss = 0.1;
	c.rounds = 3;
	assert_int_equal(lg_sched_init(&s, &c), 0);
	while (lg_sched_next(&s, 0, &ev) == 0)
		if (ev.lost) {
			per_round[ev.round]++;
			lost[ev.round][ev.ep] = 1;
		}
	for (int r = 0; r < 3; r++)
		assert_int_equal(per_round[r], 100);
	for (unsigned i = 0; i < N; i++)
		same += lost[0][i] && lost[1][i];
	assert_true(same < 50);      /* not the same endpoints every round */
	lg_sched_free(&s);
}

static void test_sched_silent_and_shutdown(void **state)
{
	(void)state;
	enum { N = 500 };
	struct lg_sched s;
	struct lg_sched_cfg c = cfg_base(N);
	struct lg_event ev;
	static unsigned sent[N], shut[N];
	static uint64_t last[N];
	unsigned n_shut_events = 0;

	memset(sent, 0, sizeof(sent));
	memset(shut, 0, sizeof(shut));
	memset(last, 0, sizeof(last));
	c.silent = 0.2;
	c.shutdown = 0.1;
	c.silent_after_ns = 2 * NS + NS / 2;
	c.shutdown_after_ns = 2 * NS + NS / 2;
	assert_int_equal(lg_sched_init(&s, &c), 0);
	while (lg_sched_next(&s, 0, &ev) == 0) {
		assert_int_equal(shut[ev.ep], 0);       /* nothing after a SHUTDOWN */
		sent[ev.ep]++;
		last[ev.ep] = ev.due_ns;
		if (ev.shutdown) {
			assert_int_equal(lg_sched_role(&s, ev.ep), LG_ROLE_SHUTDOWN);
			assert_true(ev.due_ns >= c.shutdown_after_ns);
			assert_true(ev.due_ns < c.shutdown_after_ns + NS); /* its first slot after */
			shut[ev.ep] = 1;
			n_shut_events++;
		}
	}
	assert_int_equal(n_shut_events, 50);
	for (unsigned i = 0; i < N; i++) {
		switch (lg_sched_role(&s, i)) {
		case LG_ROLE_NORMAL:
			assert_int_equal(sent[i], 5);
			break;
		case LG_ROLE_SILENT:
			assert_true(sent[i] == 2 || sent[i] == 3);
			assert_true(last[i] < c.silent_after_ns);
			break;
		case LG_ROLE_SHUTDOWN:
			assert_int_equal(shut[i], 1);
			break;
		}
	}
	lg_sched_free(&s);
}

static void test_sched_rate_and_end(void **state)
{
	(void)state;
	struct lg_sched s;
	struct lg_sched_cfg c = cfg_base(10);
	struct lg_event ev;
	uint64_t k = 0;

	c.pace = LG_PACE_RATE;
	c.rate = 1000;
	c.duration_ns = NS;
	assert_int_equal(lg_sched_init(&s, &c), 0);
	while (lg_sched_next(&s, 0, &ev) == 0) {
		assert_int_equal(ev.due_ns, k * 1000000);
		k++;
	}
	assert_int_equal(k, 1000);         /* 1 s at 1000/s */
	lg_sched_free(&s);

	/* Everybody silent from the start: the schedule ends, it does not spin. */
	c = cfg_base(10);
	c.silent = 1;
	c.silent_after_ns = 0;
	c.pace = LG_PACE_MAX;
	c.duration_ns = UINT64_MAX;
	assert_int_equal(lg_sched_init(&s, &c), 0);
	assert_int_equal(lg_sched_next(&s, 0, &ev), -ENODATA);
	lg_sched_free(&s);
}

/* ---- frames ---- */

static const struct lg_ep ep1 = { .id = 0x0123456789abcdefull, .slot = 4242,
	.key = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 } };

static uint16_t fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

static uint32_t sum16(const uint8_t *p, size_t len)
{
	uint32_t s = 0;
	for (size_t i = 0; i < len; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	return s;
}

static void check_frame(int family, const char *src, const char *dst)
{
	struct lg_frame_cfg fc = { .family = family, .src_mac = { 2, 0, 0, 0, 0, 1 },
				   .dst_mac = { 2, 0, 0, 0, 0, 2 }, .src_port = 40000,
				   .dst_port = 7100 };
	struct lg_frame_tmpl t;
	uint8_t pl[HB_PAYLOAD_LEN], frame[LG_FRAME_MAX], other[HB_KEY_LEN];
	const uint8_t *got;
	struct hb_msg msg;
	uint16_t len;
	unsigned alen = family == AF_INET ? 4 : 16, ip_len = family == AF_INET ? 20 : 40;
	const uint8_t *udp;

	assert_int_equal(inet_pton(family, src, fc.src_ip), 1);
	assert_int_equal(inet_pton(family, dst, fc.dst_ip), 1);
	assert_int_equal(lg_frame_init(&t, &fc), 0);
	lg_payload_build(pl, &ep1, 1795000000u, HB_FLAG_SHUTDOWN);
	len = lg_frame_build(&t, pl, frame);
	assert_int_equal(len, 14 + ip_len + 8 + 32);

	assert_int_equal(hb_decode_frame(frame, len, 7100, &got), HB_ACCEPTED);
	assert_memory_equal(got, pl, HB_PAYLOAD_LEN);
	assert_int_equal(hb_decode_payload(got, &msg), HB_ACCEPTED);
	assert_int_equal(msg.type, HB_TYPE_HEARTBEAT);
	assert_int_equal(msg.flags, HB_FLAG_SHUTDOWN);
	assert_int_equal(msg.slot, 4242);
	assert_int_equal(msg.time, 1795000000u);
	assert_int_equal(msg.id, 0x0123456789abcdefull);
	assert_true(hb_mac_verify(ep1.key, got, HB_MAC_COVERED, msg.mac));
	memcpy(other, ep1.key, sizeof(other));
	other[15] ^= 1;
	assert_false(hb_mac_verify(other, got, HB_MAC_COVERED, msg.mac));
	/* Another UDP port is not ours. */
	assert_int_equal(hb_decode_frame(frame, len, 7101, &got), HB_NOT_OUR_PORT);

	/* Checksums: IPv4 header, and UDP over the pseudo-header, both valid. */
	if (family == AF_INET)
		assert_int_equal(fold(sum16(frame + 14, 20)), 0xffff);
	udp = frame + 14 + ip_len;
	assert_int_not_equal(udp[6] << 8 | udp[7], 0);
	assert_int_equal(fold(sum16(fc.src_ip, alen) + sum16(fc.dst_ip, alen) + 17 + 40 +
			      sum16(udp, 40)), 0xffff);
}

static void test_frame_ipv4(void **state) { (void)state; check_frame(AF_INET, "198.18.0.2", "198.18.0.1"); }
static void test_frame_ipv6(void **state) { (void)state; check_frame(AF_INET6, "fd00:676c::2", "fd00:676c::1"); }

/* ---- credentials file ---- */

static void test_endpoints_lines(void **state)
{
	(void)state;
	struct lg_endpoints set = { 0 }, back = { 0 };
	char err[256], path[] = "/tmp/lg-test-XXXXXX";
	const char *good = "{\"guid\":\"host-1\",\"id\":\"0123456789abcdef\",\"slot\":7,"
			   "\"key\":\"000102030405060708090a0b0c0d0e0f\",\"status\":\"online\","
			   "\"ips\":[\"10.0.0.1\"]}";
	static const struct { const char *line, *why; } bad[] = {
		{ "{\"id\":\"0123456789abcdef\",\"slot\":7,\"key\":\"000102030405060708090a0b0c0d0e0f\"}", "guid" },
		{ "{\"guid\":\"g\",\"id\":\"0123456789ABCDEF\",\"slot\":7,\"key\":\"000102030405060708090a0b0c0d0e0f\"}", "id" },
		{ "{\"guid\":\"g\",\"id\":\"0123456789abcdef\",\"slot\":-1,\"key\":\"000102030405060708090a0b0c0d0e0f\"}", "slot" },
		{ "{\"guid\":\"g\",\"id\":\"0123456789abcdef\",\"slot\":7,\"key\":\"0001\"}", "key" },
		{ "[1,2]", "object" },
		{ "{\"guid\":", "JSON" },
	};
	int fd;

	assert_int_equal(lg_endpoints_parse_line(good, strlen(good), &set, err, sizeof(err)), 0);
	assert_int_equal(set.n, 1);
	assert_int_equal(set.eps[0].id, 0x0123456789abcdefull);
	assert_int_equal(set.eps[0].slot, 7);
	assert_int_equal(set.eps[0].key[15], 0x0f);
	assert_string_equal(lg_endpoints_guid(&set, 0), "host-1");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(lg_endpoints_parse_line(bad[i].line, strlen(bad[i].line), &set,
							 err, sizeof(err)), -EINVAL);
		assert_non_null(strstr(err, bad[i].why));
	}
	assert_int_equal(set.n, 1);

	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(lg_endpoints_save(path, &set), 0);
	assert_int_equal(lg_endpoints_load(path, &back, err, sizeof(err)), 0);
	assert_int_equal(back.n, 1);
	assert_memory_equal(&back.eps[0], &set.eps[0], sizeof(struct lg_ep));
	assert_string_equal(lg_endpoints_guid(&back, 0), "host-1");
	unlink(path);
	lg_endpoints_free(&set);
	lg_endpoints_free(&back);
}

/* ---- options ---- */

static int parse(const char *want_in_msg, ...)
{
	char *argv[32], *msg = NULL;
	size_t msglen = 0;
	int argc = 0, rc;
	va_list ap;
	struct lg_opts o;
	FILE *err = open_memstream(&msg, &msglen);

	argv[argc++] = (char *)"glournet-loadgen";
	va_start(ap, want_in_msg);
	for (char *a; (a = va_arg(ap, char *));)
		argv[argc++] = a;
	va_end(ap);
	argv[argc] = NULL;
	rc = lg_opts_parse(argc, argv, &o, err);
	fclose(err);
	if (want_in_msg && !strstr(msg, want_in_msg))
		fail_msg("message '%s' does not name '%s'", msg, want_in_msg);
	free(msg);
	return rc;
}

#define EP "--endpoints", "f.jsonl"
static void test_options(void **state)
{
	(void)state;
	assert_int_equal(parse(NULL, EP, "--to", "198.18.0.1", NULL), 0);
	assert_int_equal(parse(NULL, EP, "--to", "fd00::1", "--engine", "dpdk", "--src", "fd00::2",
			       "--dst-mac", "02:00:00:00:00:01", "--", "--no-huge", NULL), 0);
	assert_int_equal(parse("--endpoints", "--to", "198.18.0.1", NULL), LG_EXIT_USAGE);
	assert_int_equal(parse("--endpoints", EP, "--register", "http://x", "--to", "1.2.3.4",
			       NULL), LG_EXIT_USAGE);
	assert_int_equal(parse("--register", "--register", "ftp://x", NULL), LG_EXIT_USAGE);
	assert_int_equal(parse("--token", "--register", "http://x", "--count", "5", "--to",
			       "1.2.3.4", NULL), LG_EXIT_USAGE);
	assert_int_equal(parse("--loss", EP, "--to", "1.2.3.4", "--loss", "1.5", NULL),
			 LG_EXIT_USAGE);
	assert_int_equal(parse("--silent", EP, "--to", "1.2.3.4", "--silent", "0.6", "--shutdown",
			       "0.6", NULL), LG_EXIT_USAGE);
	assert_int_equal(parse("--rate", EP, "--to", "1.2.3.4", "--rate", "fast", NULL),
			 LG_EXIT_USAGE);
	assert_int_equal(parse("--to", EP, "--to", "not-an-ip", NULL), LG_EXIT_USAGE);
	assert_int_equal(parse("--to", EP, NULL), LG_EXIT_USAGE);
	assert_int_equal(parse("--src", EP, "--to", "1.2.3.4", "--src", "fd00::2", NULL),
			 LG_EXIT_USAGE);
	assert_int_equal(parse("--engine", EP, "--to", "1.2.3.4", "--engine", "xdp", NULL),
			 LG_EXIT_USAGE);
	assert_int_equal(parse("--batch", EP, "--to", "1.2.3.4", "--batch", "65", NULL),
			 LG_EXIT_USAGE);
	assert_int_equal(parse("--interval", EP, "--to", "1.2.3.4", "--interval", "0", NULL),
			 LG_EXIT_USAGE);
	assert_int_equal(parse("--duration", EP, "--to", "1.2.3.4", "--duration", "2d", NULL),
			 LG_EXIT_USAGE);
	assert_int_equal(parse("--count", EP, "--to", "1.2.3.4", "--count", "-3", NULL),
			 LG_EXIT_USAGE);
	assert_int_equal(parse("--dst-mac", EP, "--to", "1.2.3.4", "--engine", "dpdk", "--src",
			       "1.2.3.5", "--", "--no-huge", NULL), LG_EXIT_USAGE);
	assert_int_equal(parse("--dst-mac", EP, "--to", "1.2.3.4", "--engine", "dpdk", "--src",
			       "1.2.3.5", "--dst-mac", "02:00:00:00:00", "--", "--no-huge", NULL),
			 LG_EXIT_USAGE);
	assert_int_equal(parse("EAL", EP, "--to", "1.2.3.4", "--", "--no-huge", NULL),
			 LG_EXIT_USAGE);
	assert_int_equal(parse("--bogus", EP, "--to", "1.2.3.4", "--bogus", NULL), LG_EXIT_USAGE);
	assert_int_equal(parse("--port", EP, "--to", "1.2.3.4", "--port", NULL), LG_EXIT_USAGE);
	assert_int_equal(parse("unexpected", EP, "--to", "1.2.3.4", "stray", NULL), LG_EXIT_USAGE);
}

static void test_option_values(void **state)
{
	(void)state;
	char *argv[] = { (char *)"lg", (char *)"--endpoints", (char *)"f", (char *)"--to",
			 (char *)"198.18.0.1", (char *)"--interval", (char *)"500ms",
			 (char *)"--duration", (char *)"2m", (char *)"--rate", (char *)"max",
			 (char *)"--silent", (char *)"0.25", (char *)"--time-offset", (char *)"-5",
			 NULL };
	struct lg_opts o;

	assert_int_equal(lg_opts_parse(15, argv, &o, stderr), 0);
	assert_true(o.interval_s > 0.4999 && o.interval_s < 0.5001);
	assert_true(o.duration_s > 119.999 && o.duration_s < 120.001);
	assert_true(o.max_rate);
	assert_true(o.silent == 0.25);
	assert_true(o.silent_after_s > 59.999 && o.silent_after_s < 60.001); /* half the duration */
	assert_int_equal(o.time_offset, -5);
	assert_int_equal(o.port, 7100);
	assert_int_equal(o.family, AF_INET);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sched_fractions_exact),
		cmocka_unit_test(test_sched_once_per_interval),
		cmocka_unit_test(test_sched_loss_exact_and_rotating),
		cmocka_unit_test(test_sched_silent_and_shutdown),
		cmocka_unit_test(test_sched_rate_and_end),
		cmocka_unit_test(test_frame_ipv4),
		cmocka_unit_test(test_frame_ipv6),
		cmocka_unit_test(test_endpoints_lines),
		cmocka_unit_test(test_options),
		cmocka_unit_test(test_option_values),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
