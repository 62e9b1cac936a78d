/* The registry fixture (tu_registry.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "control/ranges.h"
#include "control/status.h"
#include "control/transitions.h"
#include "tu_registry.h"

int tu_registry_open(struct slot_table *t, struct registry *r, struct policy **p)
{
	if (slot_table_init(t, 2, 1u << 20) < 0 || registry_init(r, t) < 0 ||
	    registry_reset_ranges(r, 0) < 0)
		return -1;
	*p = policy_new_default();
	return *p ? 0 : -1;
}

void tu_registry_close(struct slot_table *t, struct registry *r, struct policy **p)
{
	policy_free(*p);
	*p = NULL;
	feed_free(r->feed);
	r->feed = NULL;
	registry_destroy(r);
	slot_table_destroy(t);
}

int tu_registry_setup(void **state)
{
	struct tu_registry *f = *state;
	memset(f, 0, sizeof(*f));
	if (tu_registry_open(&f->tbl, &f->reg, &f->pol) < 0)
		return -1;
	f->pol->guard_threshold = 0;
	f->sw.started = TU_NOW - 400u * 86400;
	return 0;
}

int tu_registry_teardown(void **state)
{
	struct tu_registry *f = *state;
	sweep_state_free(&f->sw);
	tu_registry_close(&f->tbl, &f->reg, &f->pol);
	return 0;
}

void tu_check_counts(const struct registry *r)
{
	uint32_t n[EP_STATUS_COUNT] = {0}, total = 0, unreachable = 0, notifiable = 0;
	for (uint32_t i = 0; i < r->nslots; i++) {
		const struct endpoint *ep = registry_at(r, i);
		if (!ep->id)
			continue; /* a free or released slot */
		assert_true(ep->status < EP_STATUS_COUNT);
		if (ep->status != ep_status_of(ep->unreachable, ep->up))
			fail_msg("slot %u: status %s, but unreachable %d up %d", i,
				 ep_status_name(ep->status), ep->unreachable, ep->up);
		n[ep->status]++;
		unreachable += ep->unreachable;
		notifiable += !ep->unreachable && ep_notifiable(ep);
	}
	for (int st = 0; st < EP_STATUS_COUNT; st++) {
		if (r->by_status[st] != n[st])
			fail_msg("by_status[%s] is %u, %u endpoints have it", ep_status_name(st),
				 r->by_status[st], n[st]);
		total += r->by_status[st];
	}
	assert_int_equal(total, r->count);
	if (r->unreachable != unreachable)
		fail_msg("unreachable is %u, %u endpoints are", r->unreachable, unreachable);
	if (r->notifiable != notifiable)
		fail_msg("notifiable is %u, %u regular endpoints have a notify address",
			 r->notifiable, notifiable);
}

struct endpoint *tu_add_registered(struct registry *r, const struct policy *p, const char *guid,
				   uint32_t now)
{
	struct endpoint *ep;
	assert_int_equal(registry_add(r, guid, now, &ep), 0);
	status_on_register(r, p, ep, now);
	return ep;
}

void tu_use_ranges(struct tu_registry *fx, const char *const *specs, size_t n)
{
	struct range_entry e[8];
	char err[256];
	assert_true(n <= 8);
	for (size_t i = 0; i < n; i++)
		if (range_parse(specs[i], &e[i], err, sizeof(err)) < 0)
			fail_msg("range '%s': %s", specs[i], err);
	struct range_set *rs = range_set_build(e, n);
	assert_non_null(rs);
	range_set_free(fx->pol->ranges);
	fx->pol->ranges = rs;
	assert_int_equal(registry_reset_ranges(&fx->reg, (uint32_t)n), 0);
}

unsigned tu_nips(const struct endpoint *ep)
{
	struct gn_addr a[EP_MAX_IPS];
	return ep_ips(ep, a);
}

struct gn_addr tu_ip_at(const struct endpoint *ep, unsigned i)
{
	struct gn_addr a[EP_MAX_IPS];
	assert_true(i < ep_ips(ep, a));
	return a[i];
}
