/* The notify engine's fixture (tu_notify.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "glournet/hb_encode.h"
#include "tu_notify.h"

uint64_t tu_fake_ns;

static uint64_t fake_clock(void)
{
	return tu_fake_ns;
}

static int fake_send(void *ctx, const struct gn_addr *dst, uint16_t port, const void *payload,
		     uint16_t len)
{
	struct tu_notify *t = ctx;
	assert_int_equal(len, HB_PAYLOAD_LEN);
	int rc = t->answer ? t->answer(dst, t->answer_ctx) : 0;
	if (rc < 0)
		return rc;
	if (t->count_only) {
		t->nsent++;
		return 0;
	}
	if (t->nsent == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 1024;
		t->sent = realloc(t->sent, t->cap * sizeof(*t->sent));
		assert_non_null(t->sent);
	}
	struct tu_sent *s = &t->sent[t->nsent++];
	s->dst = *dst;
	s->port = port;
	memcpy(s->payload, payload, HB_PAYLOAD_LEN);
	s->ns = tu_fake_ns;
	s->now = tu_notify_now(t);
	return 0;
}

static unsigned fake_flush(void *ctx)
{
	struct tu_notify *t = ctx;
	t->flushes++;
	return 0;
}

static const struct tx_ops fake_ops = {.send = fake_send, .flush = fake_flush};

int tu_notify_setup(void **state)
{
	struct tu_notify *t = calloc(1, sizeof(*t));
	if (!t)
		return -1;
	void *fx = &t->fx;
	if (tu_registry_setup(&fx) < 0)
		return -1;
	t->tx = (struct tx_handle){.ops = &fake_ops, .ctx = t};
	tu_fake_ns = t->t0_ns = 1000ull * 1000000000ull;
	if (notify_init(&t->e, &t->fx.reg, &t->fx.pol, &t->tx, TU_NOW) < 0)
		return -1;
	t->e.clock_ns = fake_clock;
	t->e.refilled_ns = tu_fake_ns;
	*state = t;
	return 0;
}

int tu_notify_teardown(void **state)
{
	struct tu_notify *t = *state;
	notify_free(&t->e);
	free(t->sent);
	void *fx = &t->fx;
	tu_registry_teardown(&fx);
	free(t);
	return 0;
}

uint32_t tu_notify_now(const struct tu_notify *t)
{
	return TU_NOW + (uint32_t)((tu_fake_ns - t->t0_ns) / 1000000000ull);
}

struct endpoint *tu_notify_add(struct tu_notify *t, uint32_t n)
{
	char guid[32];
	snprintf(guid, sizeof(guid), "ep-%u", n);
	struct endpoint *ep = tu_add_registered(&t->fx.reg, t->fx.pol, guid, tu_notify_now(t));
	struct gn_addr src = {.family = AF_INET,
			      .bytes = {10, (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n}};
	assert_int_equal(registry_set_details(&t->fx.reg, ep, "", NULL, 0, 21112), 0);
	assert_int_equal(registry_set_source(&t->fx.reg, ep, &src), 1);
	return ep;
}

unsigned tu_notify_run(struct tu_notify *t, uint32_t ms, uint32_t step_us)
{
	unsigned more = 0;
	uint64_t end = tu_fake_ns + (uint64_t)ms * 1000000;
	while (tu_fake_ns < end) {
		tu_fake_ns += (uint64_t)step_us * 1000;
		more += notify_step(&t->e, tu_notify_now(t), 2 * 1000 * 1000);
	}
	return more;
}

unsigned tu_notify_count(const struct tu_notify *t, const struct endpoint *ep, size_t from,
			 uint16_t *flags)
{
	struct gn_addr src;
	assert_true(ep_source(ep, &src));
	unsigned n = 0;
	for (size_t i = from; i < t->nsent; i++) {
		const struct tu_sent *s = &t->sent[i];
		if (!gn_addr_eq(&s->dst, &src) || s->port != ep_notify_port(ep))
			continue;
		struct hb_self self = {.slot = ep->slot,
				       .id = ep->id,
				       .key = registry_key(&t->fx.reg, ep),
				       .now = s->now,
				       .window = 300,
				       .skew = 30};
		struct hb_msg m = {0};
		assert_int_equal(hb_check_notify(s->payload, HB_PAYLOAD_LEN, &self, &m),
				 HB_ACCEPTED);
		assert_int_equal(m.time, s->now); /* the server's time */
		if (flags)
			*flags |= m.flags;
		n++;
	}
	return n;
}

void tu_notify_ack(struct tu_notify *t, struct endpoint *ep, uint16_t flags, uint32_t time)
{
	notify_on_ack(&t->e, ep, flags, time, tu_notify_now(t));
}
