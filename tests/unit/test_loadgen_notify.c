/*
 * The load generator's notify handling (tools/loadgen/lg_notify.c) and its
 * options. Proves: the ack roles are exact counts (round(F x N)) of a
 * seeded shuffle, repeatable per seed; each notify is found by its slot
 * among thousands and checked under that endpoint's key; an endpoint that
 * acks at once or late gets exactly docs/protocol.md §2's ack bytes (type
 * 3, the notify's flags, its own slot, id and time, a MAC the collector's
 * SipHash verifies), one that never acks or is dead gets none; every other
 * datagram is refused with the server's verdict, counted once; re-sends
 * count per endpoint and role (saturating), the first-notify latencies and
 * the observed rate come out as computed by hand; the late-ack queue is
 * first in, first out across growth and wrap; poll delays stay inside
 * [0, spread); the options refuse what does not fit, naming it; the
 * credentials file keeps each endpoint's notify_port.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <sodium.h>

#include "glournet/hb_decode.h"
#include "glournet/hb_encode.h"
#include "glournet/hb_siphash.h"
#include "lg_endpoints.h"
#include "lg_notify.h"
#include "lg_options.h"

#define NOW 1795000000u

static void make_set(struct lg_endpoints *set, uint32_t n)
{
	memset(set, 0, sizeof(*set));
	for (uint32_t i = 0; i < n; i++) {
		struct lg_ep ep = {.id = 0xA000000000000000ull | i, .slot = 3 * n - 2 * i};
		char guid[32];

		for (int k = 0; k < HB_KEY_LEN; k++)
			ep.key[k] = (uint8_t)(i * 7 + k);
		snprintf(guid, sizeof(guid), "lg-t-%u", i);
		assert_int_equal(lg_endpoints_add(set, guid, &ep), 0);
	}
}

static int init(struct lg_notify *nt, const struct lg_endpoints *set, double late, double never,
		uint64_t seed)
{
	struct lg_notify_cfg c = {
		.late = late, .never = never, .seed = seed, .window = 300, .skew = 30};

	return lg_notify_init(nt, set, &c);
}

static void test_roles_exact(void **state)
{
	(void)state;
	struct lg_endpoints set;
	struct lg_notify a, b, c;
	unsigned count[LG_ACK_ROLE_COUNT] = {0};
	unsigned same = 0;

	make_set(&set, 1000);
	assert_int_equal(init(&a, &set, 0.1, 0.25, 7), 0);
	assert_int_equal(a.n_role[LG_ACK_NOW], 650);
	assert_int_equal(a.n_role[LG_ACK_LATE], 100);
	assert_int_equal(a.n_role[LG_ACK_NEVER], 250);
	for (uint32_t i = 0; i < 1000; i++)
		count[a.role[i]]++;
	assert_int_equal(count[LG_ACK_NOW], 650);
	assert_int_equal(count[LG_ACK_LATE], 100);
	assert_int_equal(count[LG_ACK_NEVER], 250);
	/* the same seed, the same endpoints; another seed, others */
	assert_int_equal(init(&b, &set, 0.1, 0.25, 7), 0);
	assert_memory_equal(a.role, b.role, 1000);
	assert_int_equal(init(&c, &set, 0.1, 0.25, 8), 0);
	for (uint32_t i = 0; i < 1000; i++)
		same += a.role[i] == c.role[i];
	assert_true(same < 1000);
	/* scattered, not the first ones in the file */
	count[0] = 0;
	for (uint32_t i = 0; i < 250; i++)
		count[0] += a.role[i] == LG_ACK_NEVER;
	assert_true(count[0] > 20 && count[0] < 110);
	lg_notify_free(&a);
	lg_notify_free(&b);
	lg_notify_free(&c);
	/* rounding: round(0.5 x 3) = 2; everything, nothing */
	lg_endpoints_free(&set);
	make_set(&set, 3);
	assert_int_equal(init(&a, &set, 0, 0.5, 1), 0);
	assert_int_equal(a.n_role[LG_ACK_NEVER], 2);
	lg_notify_free(&a);
	assert_int_equal(init(&a, &set, 1, 0, 1), 0);
	assert_int_equal(a.n_role[LG_ACK_LATE], 3);
	lg_notify_free(&a);
	assert_int_equal(init(&a, &set, 0.6, 0.5, 1),
			 -EINVAL);
	assert_int_equal(init(&a, &set, -0.1, 0, 1),
			 -EINVAL);
	lg_endpoints_free(&set);
}

static bool dead_odd(void *arg, uint32_t ep)
{
	(void)arg;
	return ep % 2;
}

static void test_ack_by_role(void **state)
{
	(void)state;
	struct lg_endpoints set;
	struct lg_notify nt;
	uint64_t acked = 0, later = 0, none = 0;

	make_set(&set, 5000);
	assert_int_equal(init(&nt, &set, 0.2, 0.3, 3), 0);
	for (uint32_t i = 0; i < 5000; i += 7) {
		const struct lg_ep *e = &set.eps[i];
		uint16_t fl = (uint16_t)(HB_FLAG_SETTINGS << (i % 3));
		uint8_t p[HB_PAYLOAD_LEN], ack[HB_PAYLOAD_LEN], want[HB_PAYLOAD_LEN];
		uint32_t ep = 99;
		enum hb_verdict v;
		struct hb_msg m;
		enum lg_notify_outcome out;

		hb_encode(p, HB_TYPE_NOTIFY, fl, e->slot, NOW - 5, e->id, e->key);
		out = lg_notify_handle(&nt, p, sizeof(p), NOW, 10, NULL, NULL, &ep, &v, ack);
		assert_int_equal(v, HB_ACCEPTED);
		assert_int_equal(ep, i);
		switch (nt.role[i]) {
		case LG_ACK_NOW:
			assert_int_equal(out, LG_NOTIFY_ACK);
			acked++;
			break;
		case LG_ACK_LATE:
			assert_int_equal(out, LG_NOTIFY_ACK_LATER);
			later++;
			break;
		default:
			assert_int_equal(out, LG_NOTIFY_NO_ACK);
			none++;
		}
		if (out == LG_NOTIFY_NO_ACK)
			continue;
		hb_encode(want, HB_TYPE_NOTIFY_ACK, fl, e->slot, NOW, e->id, e->key);
		assert_memory_equal(ack, want, HB_PAYLOAD_LEN);
		assert_int_equal(ack[5], 3);
		assert_true(hb_siphash_verify_hb(e->key, ack));
		assert_int_equal(hb_decode_payload(ack, &m), HB_ACCEPTED);
		assert_int_equal(m.flags, fl);
	}
	assert_true(acked && later && none);
	assert_int_equal(nt.outcome[LG_NOTIFY_ACK], acked);
	assert_int_equal(nt.outcome[LG_NOTIFY_ACK_LATER], later);
	assert_int_equal(nt.outcome[LG_NOTIFY_NO_ACK], none);
	/* a dead endpoint receives and never acks, whatever its role */
	for (uint32_t i = 1; i < 40; i += 2) {
		const struct lg_ep *e = &set.eps[i];
		uint8_t p[HB_PAYLOAD_LEN], ack[HB_PAYLOAD_LEN];
		uint32_t ep;
		enum hb_verdict v;

		hb_encode(p, HB_TYPE_NOTIFY, HB_FLAG_VERIFY, e->slot, NOW, e->id, e->key);
		assert_int_equal(lg_notify_handle(&nt, p, sizeof(p), NOW, 10, dead_odd, NULL, &ep,
						  &v, ack),
				 LG_NOTIFY_NO_ACK);
	}
	assert_int_equal(nt.to_dead, 20);
	assert_int_equal(nt.by_flag[2], 20 + (5000 / 7 + 1) / 3);
	lg_notify_free(&nt);
	lg_endpoints_free(&set);
}

static void test_refusals(void **state)
{
	(void)state;
	struct lg_endpoints set;
	struct lg_notify nt;
	const struct lg_ep *e, *o;
	struct {
		const char *what;
		enum hb_verdict want;
		int kind;
	} c[] = {
		{"31 bytes", HB_BAD_LENGTH, 0},	   {"bad magic", HB_BAD_MAGIC, 1},
		{"version 2", HB_BAD_VERSION, 2},  {"heartbeat", HB_BAD_TYPE, 3},
		{"ack", HB_BAD_TYPE, 4},	   {"SHUTDOWN", HB_BAD_FLAGS, 5},
		{"no such slot", HB_UNKNOWN_SLOT, 6}, {"other id", HB_ID_MISMATCH, 7},
		{"other key", HB_BAD_MAC, 8},	   {"stale", HB_TOO_OLD, 9},
		{"future", HB_TOO_NEW, 10},
	};

	make_set(&set, 100);
	e = &set.eps[40];
	o = &set.eps[41];
	assert_int_equal(init(&nt, &set, 0, 0, 1), 0);
	for (size_t k = 0; k < sizeof(c) / sizeof(c[0]); k++) {
		uint8_t p[HB_PAYLOAD_LEN], ack[HB_PAYLOAD_LEN];
		size_t len = HB_PAYLOAD_LEN;
		uint32_t ep;
		enum hb_verdict v;
		uint64_t before = nt.verdict[c[k].want];

		hb_encode(p, HB_TYPE_NOTIFY, HB_FLAG_SETTINGS, e->slot, NOW, e->id, e->key);
		switch (c[k].kind) {
		case 0:
			len = 31;
			break;
		case 1:
			p[0] = 'X';
			break;
		case 2:
			p[4] = 2;
			break;
		case 3:
			hb_encode(p, HB_TYPE_HEARTBEAT, 0, e->slot, NOW, e->id, e->key);
			break;
		case 4:
			hb_encode(p, HB_TYPE_NOTIFY_ACK, HB_FLAG_SETTINGS, e->slot, NOW, e->id,
				  e->key);
			break;
		case 5:
			hb_encode(p, HB_TYPE_NOTIFY, HB_FLAG_SHUTDOWN, e->slot, NOW, e->id, e->key);
			break;
		case 6:
			hb_encode(p, HB_TYPE_NOTIFY, HB_FLAG_SETTINGS, 1, NOW, e->id, e->key);
			break;
		case 7:
			hb_encode(p, HB_TYPE_NOTIFY, HB_FLAG_SETTINGS, e->slot, NOW, o->id, e->key);
			break;
		case 8:
			hb_encode(p, HB_TYPE_NOTIFY, HB_FLAG_SETTINGS, e->slot, NOW, e->id, o->key);
			break;
		case 9:
			hb_encode(p, HB_TYPE_NOTIFY, HB_FLAG_SETTINGS, e->slot, NOW - 301, e->id,
				  e->key);
			break;
		case 10:
			hb_encode(p, HB_TYPE_NOTIFY, HB_FLAG_SETTINGS, e->slot, NOW + 31, e->id,
				  e->key);
			break;
		}
		assert_int_equal(lg_notify_handle(&nt, p, len, NOW, 0, NULL, NULL, &ep, &v, ack),
				 LG_NOTIFY_REFUSED);
		if (v != c[k].want)
			fail_msg("%s: %s, want %s", c[k].what, lg_verdict_name(v),
				 lg_verdict_name(c[k].want));
		assert_int_equal(nt.verdict[c[k].want], before + 1);
	}
	assert_int_equal(nt.outcome[LG_NOTIFY_REFUSED], sizeof(c) / sizeof(c[0]));
	assert_int_equal(nt.verdict[HB_ACCEPTED], 0);
	for (uint32_t i = 0; i < 100; i++)
		assert_int_equal(nt.count[i], 0);
	lg_notify_free(&nt);
	lg_endpoints_free(&set);
}

/* 100 endpoints notified 10 ms apart, the never-ackers re-sent 3 times. */
static void test_report(void **state)
{
	(void)state;
	struct lg_endpoints set;
	struct lg_notify nt;
	struct lg_notify_report r;
	uint64_t never = 0;

	make_set(&set, 120);
	assert_int_equal(init(&nt, &set, 0, 0.25, 5), 0);
	for (uint32_t i = 0; i < 100; i++) {
		const struct lg_ep *e = &set.eps[i];
		int copies = nt.role[i] == LG_ACK_NEVER ? 4 : 1;

		never += nt.role[i] == LG_ACK_NEVER;
		for (int k = 0; k < copies; k++) {
			uint8_t p[HB_PAYLOAD_LEN], ack[HB_PAYLOAD_LEN];
			uint32_t ep;
			enum hb_verdict v;

			hb_encode(p, HB_TYPE_NOTIFY, HB_FLAG_SETTINGS, e->slot, NOW, e->id, e->key);
			lg_notify_handle(&nt, p, sizeof(p), NOW, 5000 + 10 * i + 1000 * (uint32_t)k,
					 NULL, NULL, &ep, &v, ack);
		}
	}
	/* one endpoint gets 20: counted as LG_NOTIFY_COUNT_MAX (15) or more */
	for (int k = 0; k < 20; k++) {
		const struct lg_ep *e = &set.eps[110];
		uint8_t p[HB_PAYLOAD_LEN], ack[HB_PAYLOAD_LEN];
		uint32_t ep;
		enum hb_verdict v;

		hb_encode(p, HB_TYPE_NOTIFY, HB_FLAG_VERIFY, e->slot, NOW, e->id, e->key);
		lg_notify_handle(&nt, p, sizeof(p), NOW, 5990, NULL, NULL, &ep, &v, ack);
	}
	assert_int_equal(lg_notify_report(&nt, &r), 0);
	assert_int_equal(r.notified, 101);
	assert_int_equal(r.per_ep[nt.role[110]][LG_NOTIFY_COUNT_MAX], 1);
	assert_int_equal(r.per_ep[LG_ACK_NEVER][4], never);
	assert_int_equal(r.per_ep[LG_ACK_NEVER][1], 0);
	assert_int_equal(r.per_ep[LG_ACK_NOW][1], 100 - never);
	assert_int_equal(r.per_ep[LG_ACK_NOW][0] + r.per_ep[LG_ACK_NEVER][0], 19);
	assert_int_equal(r.resent, 3 * never + 14);
	/* first notifies at 0, 10, ..., 990 ms after the fleet's first (and
	 * 990 for endpoint 110); nearest rank over 101 values */
	assert_int_equal(r.p50_ms, 500);
	assert_int_equal(r.p90_ms, 900);
	assert_int_equal(r.p99_ms, 990);
	assert_int_equal(r.max_ms, 990);
	assert_true(r.first_span_s > 0.9899 && r.first_span_s < 0.9901);
	assert_true(r.first_rate > 101.0 && r.first_rate < 101.1); /* 100 / 0.99 s */
	lg_notify_free(&nt);
	lg_endpoints_free(&set);
}

static void test_ackq_fifo(void **state)
{
	(void)state;
	struct lg_ackq q = {0};
	struct lg_late_ack a;
	uint8_t ack[HB_PAYLOAD_LEN];
	uint32_t next_out = 0, next_in = 0;

	assert_false(lg_ackq_pop_due(&q, ~0ull, &a));
	/* fill 1000, take 600, fill 2000 more: grows while the ring has wrapped */
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < (round ? 2000 : 1000); i++, next_in++) {
			memset(ack, (int)(next_in & 0xFF), sizeof(ack));
			assert_int_equal(lg_ackq_push(&q, 1000 + next_in, next_in % 3, ack), 0);
		}
		for (int i = 0; i < 600; i++, next_out++) {
			assert_true(lg_ackq_pop_due(&q, ~0ull, &a));
			assert_int_equal(a.due_ns, 1000 + next_out);
			assert_int_equal(a.sock, next_out % 3);
			assert_int_equal(a.ack[31], next_out & 0xFF);
		}
	}
	/* not before it is due */
	assert_false(lg_ackq_pop_due(&q, 1000 + next_out - 1, &a));
	assert_true(lg_ackq_pop_due(&q, 1000 + next_out, &a));
	next_out++;
	while (lg_ackq_pop_due(&q, ~0ull, &a))
		assert_int_equal(a.due_ns, 1000 + next_out++);
	assert_int_equal(next_out, next_in);
	assert_int_equal(q.n, 0);
	lg_ackq_free(&q);
}

static void test_jitter(void **state)
{
	(void)state;
	const uint64_t S = 2000000000ull;
	uint64_t x = 88172645463325252ull, lo = ~0ull, hi = 0;

	assert_int_equal(lg_jitter_ns(0, S), 0);
	assert_true(lg_jitter_ns(~0ull, S) < S);
	for (int i = 0; i < 100000; i++) {
		uint64_t d;

		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		d = lg_jitter_ns(x, S);
		assert_true(d < S);
		lo = d < lo ? d : lo;
		hi = d > hi ? d : hi;
	}
	assert_true(lo < S / 1000 && hi > S - S / 1000); /* the whole spread is used */
}

static int parse(const char *want_in_msg, struct lg_opts *o, ...)
{
	char *argv[40], *msg = NULL;
	size_t msglen = 0;
	int argc = 0, rc;
	va_list ap;
	FILE *err = open_memstream(&msg, &msglen);

	argv[argc++] = (char *)"glournet-loadgen";
	va_start(ap, o);
	for (char *a; (a = va_arg(ap, char *));)
		argv[argc++] = a;
	va_end(ap);
	argv[argc] = NULL;
	rc = lg_opts_parse(argc, argv, o, err);
	fclose(err);
	if (want_in_msg && !strstr(msg, want_in_msg))
		fail_msg("message '%s' does not name '%s'", msg, want_in_msg);
	free(msg);
	return rc;
}

#define EP "--endpoints", "f.jsonl", "--to", "198.18.0.1"
static void test_options(void **state)
{
	(void)state;
	struct lg_opts o;

	assert_int_equal(parse(NULL, &o, EP, "--notify", "--ack-late", "0.1", "--ack-delay", "2s",
			       "--ack-never", "0.2", "--notify-ports", "3", "--notify-port",
			       "30000", "--poll-after-notify", "http://x:8080", "--poll-spread",
			       "500ms", "--no-heartbeats", NULL),
			 0);
	assert_true(o.notify && o.no_heartbeats);
	assert_true(o.ack_late == 0.1 && o.ack_never == 0.2 && o.ack_delay_s == 2);
	assert_true(o.poll_spread_s > 0.4999 && o.poll_spread_s < 0.5001);
	assert_int_equal(lg_notify_port_of(&o, 0), 30000);
	assert_int_equal(lg_notify_port_of(&o, 4), 30001);
	assert_int_equal(lg_notify_port_of(&o, 5), 30002);
	assert_int_equal(parse(NULL, &o, EP, NULL), 0);
	assert_false(o.notify);
	assert_int_equal(lg_notify_port_of(&o, 12345), 21112); /* registration's default */
	assert_true(o.poll_spread_s == 30 && o.notify_window == 300 && o.notify_skew == 30);

	assert_int_equal(parse("--notify", &o, EP, "--ack-never", "0.1", NULL), LG_EXIT_USAGE);
	assert_int_equal(parse("--notify", &o, EP, "--no-heartbeats", NULL), LG_EXIT_USAGE);
	assert_int_equal(parse("--notify", &o, EP, "--poll-after-notify", "http://x", NULL),
			 LG_EXIT_USAGE);
	assert_int_equal(parse("--ack-late", &o, EP, "--notify", "--ack-late", "0.6",
			       "--ack-never", "0.5", NULL),
			 LG_EXIT_USAGE);
	assert_int_equal(parse("--ack-never", &o, EP, "--notify", "--ack-never", "2", NULL),
			 LG_EXIT_USAGE);
	assert_int_equal(parse("--notify-ports", &o, EP, "--notify-port", "65535",
			       "--notify-ports", "2", NULL),
			 LG_EXIT_USAGE);
	assert_int_equal(parse("--poll-after-notify", &o, EP, "--notify", "--poll-after-notify",
			       "ftp://x", NULL),
			 LG_EXIT_USAGE);
	assert_int_equal(parse("--notify-bind", &o, EP, "--notify", "--notify-bind", "fd00::2",
			       NULL),
			 LG_EXIT_USAGE);
	assert_int_equal(parse("--no-heartbeats", &o, EP, "--notify", "--no-heartbeats",
			       "--engine", "dpdk", "--src", "198.18.0.2", "--dst-mac",
			       "02:00:00:00:00:01", "--", "--no-huge", NULL),
			 LG_EXIT_USAGE);
	assert_int_equal(parse("--register-only", &o, "--register", "http://x", "--token", "t",
			       "--count", "3", "--register-only", "--notify", NULL),
			 LG_EXIT_USAGE);
}

static void test_endpoints_notify_port(void **state)
{
	(void)state;
	char path[] = "/tmp/gn-lg-notify-XXXXXX", err[256];
	int fd = mkstemp(path);
	struct lg_endpoints set = {0}, back = {0};
	static const char line_ok[] =
		"{\"guid\":\"g\",\"id\":\"00000000000000aa\",\"slot\":3,"
		"\"key\":\"00112233445566778899aabbccddeeff\",\"notify_port\":23000}";
	static const char line_bad[] =
		"{\"guid\":\"g\",\"id\":\"00000000000000aa\",\"slot\":3,"
		"\"key\":\"00112233445566778899aabbccddeeff\",\"notify_port\":70000}";

	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(lg_endpoints_parse_line(line_ok, strlen(line_ok), &set, err, sizeof(err)),
			 0);
	assert_int_equal(set.eps[0].notify_port, 23000);
	assert_int_equal(
		lg_endpoints_parse_line(line_bad, strlen(line_bad), &set, err, sizeof(err)),
		-EINVAL);
	assert_non_null(strstr(err, "notify_port"));
	make_set(&back, 2); /* no notify_port: written without one */
	assert_int_equal(lg_endpoints_add(&set, "h", &back.eps[1]), 0);
	lg_endpoints_free(&back);
	assert_int_equal(lg_endpoints_save(path, &set), 0);
	assert_int_equal(lg_endpoints_load(path, &back, err, sizeof(err)), 0);
	assert_int_equal(back.n, 2);
	assert_int_equal(back.eps[0].notify_port, 23000);
	assert_int_equal(back.eps[1].notify_port, 0);
	lg_endpoints_free(&set);
	lg_endpoints_free(&back);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roles_exact),  cmocka_unit_test(test_ack_by_role),
		cmocka_unit_test(test_refusals),     cmocka_unit_test(test_report),
		cmocka_unit_test(test_ackq_fifo),    cmocka_unit_test(test_jitter),
		cmocka_unit_test(test_options),	     cmocka_unit_test(test_endpoints_notify_port),
	};
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
