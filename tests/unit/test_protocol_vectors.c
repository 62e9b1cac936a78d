/*
 * The test vectors of docs/protocol.md (appendix F), read from the page
 * itself so it can never drift from the code. Every ```vector block is
 * checked: a datagram's fields encode (hb_encode) to exactly its bytes;
 * blocks named notify-* are checked as an endpoint checks them
 * (hb_check_notify, the reference agent's agent_notify_check and the load
 * generator's lg_notify_handle all give the verdict, and an accepted one's
 * ack is the block's, which the collector accepts); the others as the
 * collector does (hb_decode_payload and hb_accept over a slot table with
 * the workers' own SipHash); a proof's message and MAC are hb_auth_message
 * and the MAC under the key, its headers as agents send them. The page
 * must hold every kind the appendix promises (a heartbeat, a SHUTDOWN, a
 * notify with each flag, an ack, refusals, the three proofs of version 1
 * and the three of version 2, whose MAC covers their content) and nothing
 * this test does not understand.
 *
 *   test_protocol_vectors DOCS/protocol.md
 */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <sodium.h>

#include "glournet/hb_accept.h"
#include "glournet/hb_encode.h"
#include "glournet/http_api.h"
#include "agent.h"
#include "agent_notify.h"
#include "lg_endpoints.h"
#include "lg_notify.h"

#define MAX_VECTORS 64

struct vec {
	int line; /* of the opening fence */
	char name[64], verdict[32], context[8], header[4][96], content[256];
	uint8_t key[HB_KEY_LEN], bytes[64], ack[HB_PAYLOAD_LEN], message[320], mac[HB_MAC_LEN];
	size_t bytes_len, message_len, nheader;
	uint64_t id;
	uint32_t slot, time, now, type, flags;
	bool has_key, has_slot, has_id, has_type, has_flags, has_time, has_now, has_ack, has_mac;
	bool has_content; /* version 2: what the MAC covers after the time */
};

static const char *doc_path;
static struct vec vecs[MAX_VECTORS];
static size_t nvecs;

/* Hex digits with blanks between groups; the number of bytes, or -1. */
static long hex_bytes(const char *s, uint8_t *out, size_t cap)
{
	size_t n = 0;
	int hi = -1;

	for (; *s; s++) {
		int v;

		if (*s == ' ' || *s == '\t')
			continue;
		v = *s >= '0' && *s <= '9' ? *s - '0' : *s >= 'a' && *s <= 'f' ? *s - 'a' + 10 : -1;
		if (v < 0)
			return -1;
		if (hi < 0) {
			hi = v;
			continue;
		}
		if (n == cap)
			return -1;
		out[n++] = (uint8_t)(hi << 4 | v);
		hi = -1;
	}
	return hi < 0 ? (long)n : -1;
}

static uint32_t u32(const char *v, int line)
{
	char *end;
	unsigned long long x = strtoull(v, &end, 0);

	if (*end || x > UINT32_MAX)
		fail_msg("protocol.md:%d: '%s' is not a 32-bit number", line, v);
	return (uint32_t)x;
}

static void set_field(struct vec *x, const char *k, const char *v, int line)
{
	uint8_t b[8];

	if (!strcmp(k, "name")) {
		snprintf(x->name, sizeof(x->name), "%s", v);
	} else if (!strcmp(k, "key")) {
		x->has_key = hex_bytes(v, x->key, sizeof(x->key)) == HB_KEY_LEN;
		if (!x->has_key)
			fail_msg("protocol.md:%d: key: 32 hex digits", line);
	} else if (!strcmp(k, "slot")) {
		x->slot = u32(v, line);
		x->has_slot = true;
	} else if (!strcmp(k, "id")) {
		if (hex_bytes(v, b, 8) != 8)
			fail_msg("protocol.md:%d: id: 16 hex digits", line);
		x->id = hb_be64(b);
		x->has_id = true;
	} else if (!strcmp(k, "type")) {
		x->type = u32(v, line);
		x->has_type = true;
	} else if (!strcmp(k, "flags")) {
		x->flags = u32(v, line);
		x->has_flags = true;
	} else if (!strcmp(k, "time")) {
		x->time = u32(v, line);
		x->has_time = true;
	} else if (!strcmp(k, "now")) {
		x->now = u32(v, line);
		x->has_now = true;
	} else if (!strcmp(k, "bytes")) {
		long n = hex_bytes(v, x->bytes, sizeof(x->bytes));
		if (n < 0)
			fail_msg("protocol.md:%d: bytes: hex digits", line);
		x->bytes_len = (size_t)n;
	} else if (!strcmp(k, "verdict")) {
		snprintf(x->verdict, sizeof(x->verdict), "%s", v);
	} else if (!strcmp(k, "ack")) {
		x->has_ack = hex_bytes(v, x->ack, sizeof(x->ack)) == HB_PAYLOAD_LEN;
		if (!x->has_ack)
			fail_msg("protocol.md:%d: ack: 32 bytes of hex", line);
	} else if (!strcmp(k, "context")) {
		snprintf(x->context, sizeof(x->context), "%s", v);
	} else if (!strcmp(k, "message")) {
		long n = hex_bytes(v, x->message, sizeof(x->message));
		if (n < 0)
			fail_msg("protocol.md:%d: message: hex digits", line);
		x->message_len = (size_t)n;
	} else if (!strcmp(k, "mac")) {
		x->has_mac = hex_bytes(v, x->mac, sizeof(x->mac)) == HB_MAC_LEN;
		if (!x->has_mac)
			fail_msg("protocol.md:%d: mac: 16 hex digits", line);
	} else if (!strcmp(k, "content")) {
		snprintf(x->content, sizeof(x->content), "%s", v);
		x->has_content = true;
	} else if (!strcmp(k, "header")) {
		if (x->nheader == 4)
			fail_msg("protocol.md:%d: more than four headers", line);
		snprintf(x->header[x->nheader++], sizeof(x->header[0]), "%s", v);
	} else {
		fail_msg("protocol.md:%d: unknown key '%s' in a vector block", line, k);
	}
}

static int load(void **state)
{
	(void)state;
	FILE *f = fopen(doc_path, "r");
	char *line = NULL;
	size_t cap = 0;
	int lineno = 0;
	struct vec *cur = NULL;

	if (!f) {
		fprintf(stderr, "cannot open %s\n", doc_path);
		return -1;
	}
	while (getline(&line, &cap, f) >= 0) {
		char *k, *v;

		lineno++;
		line[strcspn(line, "\r\n")] = '\0';
		if (!cur) {
			if (!strcmp(line, "```vector")) {
				if (nvecs == MAX_VECTORS)
					return -1;
				cur = &vecs[nvecs++];
				memset(cur, 0, sizeof(*cur));
				cur->line = lineno;
			}
			continue;
		}
		if (!strcmp(line, "```")) {
			cur = NULL;
			continue;
		}
		k = line;
		v = line + strcspn(line, " \t");
		if (*v)
			*v++ = '\0';
		v += strspn(v, " \t");
		set_field(cur, k, v, lineno);
	}
	free(line);
	fclose(f);
	return cur ? -1 : 0; /* an unclosed block */
}

static enum hb_verdict verdict_named(const struct vec *x)
{
	for (int v = 0; v < HB_VERDICT_COUNT; v++)
		if (!strcmp(x->verdict, hb_verdict_name((enum hb_verdict)v)))
			return (enum hb_verdict)v;
	fail_msg("protocol.md:%d: %s: verdict '%s' is no verdict name", x->line, x->name,
		 x->verdict);
	return HB_VERDICT_COUNT;
}

static void test_required_vectors(void **state)
{
	(void)state;
	static const char *const want[] = {
		"heartbeat-boot", "heartbeat",	   "shutdown",	      "notify-settings",
		"notify-components", "notify-verify", "notify-all",    "ack-settings",
		"notify-bad-mac",    "notify-replayed", "poll-proof",  "event-proof",
		"register-proof",    "poll-v2-proof",   "poll-v2-proof-no-ips", "event-v2-proof",
	};
	for (size_t w = 0; w < sizeof(want) / sizeof(want[0]); w++) {
		size_t found = 0;

		for (size_t i = 0; i < nvecs; i++)
			found += !strcmp(vecs[i].name, want[w]);
		if (found != 1)
			fail_msg("docs/protocol.md has %zu vector(s) named %s, want 1", found,
				 want[w]);
	}
	for (size_t i = 0; i < nvecs; i++)
		if (!vecs[i].name[0])
			fail_msg("protocol.md:%d: a vector without a name", vecs[i].line);
}

/* The server's whole check: a slot table holding the endpoint. */
static enum hb_verdict server_check(const struct vec *x, const uint8_t *p, uint32_t now)
{
	static struct slot_table t;
	struct hb_window win = {.now = now, .window = 300, .skew = 30};
	enum hb_verdict v;

	assert_int_equal(slot_table_init(&t, 1, 2 * SLOT_CHUNK_SLOTS), 0);
	assert_int_equal(slot_table_reserve(&t, x->slot), 0);
	slot_table_assign(&t, x->slot, x->id, x->key);
	v = hb_accept(rcu_dereference(t.dir), 0, p, &win);
	slot_table_destroy(&t);
	return v;
}

/* Version 1: context, id, time. Version 2 (GLPOL2, GLEVN2): then the
 * content, the poll's X-Glournet-Ips value (a fourth header when not
 * empty) or the event's body. */
static void check_proof(const struct vec *x)
{
	uint8_t msg[sizeof(x->message)], mac[HB_MAC_LEN];
	char want[4][96], hex[2 * HB_MAC_LEN + 1];
	bool v2 = !strcmp(x->context, HB_AUTH_POLL_V2) || !strcmp(x->context, HB_AUTH_EVENT_V2);
	size_t clen = strlen(x->content), nh = 3 + (!strcmp(x->context, HB_AUTH_POLL_V2) && clen);

	if (strlen(x->context) != 6 || !x->has_key || !x->has_id || !x->has_time || !x->has_mac ||
	    x->nheader != nh || v2 != x->has_content)
		fail_msg("protocol.md:%d: %s: a proof needs context, key, id, time, message, mac, "
			 "three headers (and for version 2 its content, and a poll's ips header)",
			 x->line, x->name);
	if (v2)
		hb_auth_message_v2(msg, x->context, x->id, x->time, x->content, clen);
	else
		hb_auth_message(msg, x->context, x->id, x->time);
	assert_int_equal(x->message_len, HB_AUTH_MSG_LEN + (v2 ? clen : 0));
	assert_memory_equal(x->message, msg, x->message_len);
	hb_mac_compute(x->key, msg, x->message_len, mac);
	assert_memory_equal(x->mac, mac, sizeof(mac));
	sodium_bin2hex(hex, sizeof(hex), mac, sizeof(mac));
	snprintf(want[0], sizeof(want[0]), GN_API_HDR_ID ": %016" PRIx64, x->id);
	snprintf(want[1], sizeof(want[1]), GN_API_HDR_TIME ": %" PRIu32, x->time);
	snprintf(want[2], sizeof(want[2]), GN_API_HDR_MAC ": %s", hex);
	snprintf(want[3], sizeof(want[3]), GN_API_HDR_IPS ": %s", x->content);
	for (size_t k = 0; k < nh; k++)
		assert_string_equal(x->header[k], want[k]);
}

/* As an endpoint: the protocol's check, the reference agent's, the fleet's. */
static void check_at_endpoint(const struct vec *x, enum hb_verdict want)
{
	struct hb_self self = {.slot = x->slot, .id = x->id, .key = x->key, .now = x->now,
			       .window = 300, .skew = 30};
	struct agent_ep aep = {.id = x->id, .slot = x->slot, .clock_offset = 0};
	struct agent_notify an;
	struct lg_endpoints set = {0};
	struct lg_ep lep = {.id = x->id, .slot = x->slot};
	struct lg_notify_cfg cfg = {.window = 300, .skew = 30};
	struct lg_notify ln;
	struct hb_msg m;
	uint8_t ack_a[HB_PAYLOAD_LEN], ack_l[HB_PAYLOAD_LEN], want_ack[HB_PAYLOAD_LEN];
	enum hb_verdict v;
	uint32_t ep;
	long idx;
	size_t dups;

	memcpy(aep.key, x->key, HB_KEY_LEN);
	memcpy(lep.key, x->key, HB_KEY_LEN);
	v = hb_check_notify(x->bytes, x->bytes_len, &self, &m);
	if (v != want)
		fail_msg("%s: hb_check_notify says %s, the page %s", x->name, hb_verdict_name(v),
			 x->verdict);
	assert_int_equal(agent_notify_init(&an, &aep, 1, 300, 30, &dups), 0);
	assert_int_equal(agent_notify_check(&an, x->bytes, x->bytes_len, x->now, &idx, &m, ack_a),
			 want);
	agent_notify_free(&an);
	assert_int_equal(lg_endpoints_add(&set, "vector", &lep), 0);
	assert_int_equal(lg_notify_init(&ln, &set, &cfg), 0);
	assert_int_equal(lg_notify_handle(&ln, x->bytes, x->bytes_len, x->now, 0, NULL, NULL, &ep,
					  &v, ack_l),
			 want == HB_ACCEPTED ? LG_NOTIFY_ACK : LG_NOTIFY_REFUSED);
	assert_int_equal(v, want);
	lg_notify_free(&ln);
	lg_endpoints_free(&set);
	if (want != HB_ACCEPTED) {
		if (x->has_ack)
			fail_msg("%s: a refused notify is never answered: no ack line", x->name);
		return;
	}
	if (!x->has_ack)
		fail_msg("%s: an accepted notify needs its ack", x->name);
	hb_encode(want_ack, HB_TYPE_NOTIFY_ACK, m.flags, x->slot, x->now, x->id, x->key);
	assert_memory_equal(x->ack, want_ack, HB_PAYLOAD_LEN);
	assert_memory_equal(ack_a, want_ack, HB_PAYLOAD_LEN);
	assert_memory_equal(ack_l, want_ack, HB_PAYLOAD_LEN);
	assert_int_equal(server_check(x, x->ack, x->now), HB_ACCEPTED);
}

static void test_vectors(void **state)
{
	(void)state;
	size_t datagrams = 0, proofs = 0;

	rcu_register_thread();
	for (size_t i = 0; i < nvecs; i++) {
		const struct vec *x = &vecs[i];
		enum hb_verdict want;
		struct hb_msg m;

		for (size_t j = 0; j < i; j++)
			if (!strcmp(vecs[j].name, x->name))
				fail_msg("protocol.md:%d: a second vector named %s", x->line,
					 x->name);
		if (x->context[0]) {
			check_proof(x);
			proofs++;
			continue;
		}
		if (!x->has_key || !x->has_slot || !x->has_id || !x->has_now || !x->verdict[0] ||
		    !x->bytes_len)
			fail_msg("protocol.md:%d: %s: a datagram needs key, slot, id, bytes, now "
				 "and verdict",
				 x->line, x->name);
		if (x->has_type || x->has_flags || x->has_time) {
			uint8_t p[HB_PAYLOAD_LEN];

			if (!x->has_type || !x->has_flags || !x->has_time)
				fail_msg("%s: type, flags and time go together", x->name);
			hb_encode(p, (enum hb_type)x->type, (uint16_t)x->flags, x->slot, x->time,
				  x->id, x->key);
			assert_int_equal(x->bytes_len, HB_PAYLOAD_LEN);
			if (memcmp(p, x->bytes, HB_PAYLOAD_LEN))
				fail_msg("%s: its fields do not encode to its bytes", x->name);
		}
		want = verdict_named(x);
		if (!strncmp(x->name, "notify-", 7)) {
			check_at_endpoint(x, want);
		} else {
			enum hb_verdict v;

			assert_int_equal(x->bytes_len, HB_PAYLOAD_LEN);
			v = server_check(x, x->bytes, x->now);
			if (v != want)
				fail_msg("%s: the collector says %s, the page %s", x->name,
					 hb_verdict_name(v), x->verdict);
			if (x->has_type) {
				assert_int_equal(hb_decode_payload(x->bytes, &m), HB_ACCEPTED);
				assert_int_equal(m.type, x->type);
				assert_int_equal(m.flags, x->flags);
				assert_int_equal(m.time, x->time);
				assert_true(hb_siphash_verify_hb(x->key, x->bytes));
			}
		}
		datagrams++;
	}
	rcu_unregister_thread();
	print_message("%zu datagrams and %zu proofs of docs/protocol.md checked\n", datagrams,
		      proofs);
	assert_true(datagrams >= 10 && proofs == 6);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_required_vectors),
		cmocka_unit_test(test_vectors),
	};
	if (argc != 2) {
		fprintf(stderr, "usage: %s DOCS/protocol.md\n", argv[0]);
		return 2;
	}
	doc_path = argv[1];
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, load, NULL);
}
