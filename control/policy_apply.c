/*
 * Committing a new policy snapshot: persist, publish, free the old one,
 * reclassify, and tell the operator what it touched
 * (docs/status.md: how many endpoints each change affected, and the warnings).
 */
#include <errno.h>
#include <string.h>

#define LOG_TAG "policy"
#include "control/daemon.h"
#include "control/expire.h"
#include "control/policy_store.h"
#include "control/settings.h"
#include "control/status.h"
#include "glournet/coarse_clock.h"
#include "glournet/log.h"

static bool same_ranges(const struct policy *a, const struct policy *b)
{
	size_t n = range_set_count(a->ranges);
	if (n != range_set_count(b->ranges))
		return false;
	for (size_t i = 0; i < n; i++)
		if (memcmp(range_set_entry(a->ranges, i), range_set_entry(b->ranges, i),
			   sizeof(struct range_entry)))
			return false;
	return true;
}

/* How many endpoints each changed setting reaches, by its reach in
 * settings_table.h; for expiry, how many the next pass would remove. */
static json_t *affected(const struct gn_daemon *d, const struct policy *old,
			const struct policy *new)
{
	const struct registry *r = &d->reg;
	uint32_t now = gn_coarse_now();
	uint32_t reach[SETTING_REACH_COUNT] = {[SETTING_REACH_ALL] = r->count};
	bool expiry_changed = old->expire_after_days != new->expire_after_days;
	for (uint32_t s = 0; s < r->nslots; s++) {
		const struct endpoint *ep = registry_at(r, s);
		if (!ep->id)
			continue; /* a free slot */
		bool u = ep->unreachable;
		reach[SETTING_REACH_HB_CHANGE] +=
			policy_hb_applies(old, u) != policy_hb_applies(new, u);
		reach[SETTING_REACH_HB] += policy_hb_applies(new, u);
		reach[SETTING_REACH_UNREACHABLE] += u;
		bool notifiable = !u && ep_notifiable(ep);
		reach[SETTING_REACH_NOTIFY] += notifiable;
		reach[SETTING_REACH_VERIFY] += notifiable && !policy_hb_applies(new, false);
		uint32_t last = registry_last_contact(r, ep);
		reach[SETTING_REACH_REPLACEABLE] +=
			!new->replace_after || !last || (uint64_t)last + new->replace_after <= now;
		if (expiry_changed) /* the one count that costs more than a load */
			reach[SETTING_REACH_EXPIRING] +=
				expire_due(r, ep, new->expire_after_days, d->started, now);
	}
	json_t *o = json_object();
#define SETTING_AFFECTED(name, kind, field, min, max, def, range, reach_of, help) \
	if (old->field != new->field)                                             \
		json_object_set_new(o, name, json_integer(reach[SETTING_REACH_##reach_of]));
	POLICY_SETTINGS(SETTING_AFFECTED)
#undef SETTING_AFFECTED
	return o;
}

int daemon_policy_commit(struct gn_daemon *d, struct policy *draft, json_t *result, char *err,
			 size_t errlen)
{
	struct policy *old = d->policy;
	draft->rev = old->rev + 1;
	int rc = policy_save(d->policy_path, draft, err, errlen);
	if (rc < 0) {
		LOG(ERR, "policy change refused: %s", err);
		policy_free(draft);
		return rc;
	}
	json_t *aff = affected(d, old, draft);
	/* A plain swap: every reader of d->policy runs on this thread (the
	 * HTTP handlers in http_tick, the control socket, the loop's jobs),
	 * none holds it across a turn, and the workers get their window and
	 * skew through worker_conf, never from the policy. */
	d->policy = draft;
	bool reclassify = !same_ranges(old, draft);
	/* R11: what changed for the endpoints starts a campaign (its walk
	 * runs later, after the reclassification below). */
	notify_policy_changed(&d->notify, old, draft, reclassify, gn_coarse_now());
	policy_free(old);

	if (reclassify) {
		uint32_t moved = 0;
		rc = status_reclassify_all(&d->reg, draft, gn_coarse_now(), &moved);
		if (rc < 0) {
			snprintf(err, errlen, "out of memory reclassifying endpoints");
			json_decref(aff);
			return rc;
		}
		json_object_set_new(aff, "unreachable", json_integer(moved));
		LOG(INFO, "unreachable ranges changed: %zu ranges, %u endpoints moved",
		    range_set_count(draft->ranges), moved);
	}
	json_t *warnings = json_array();
	settings_warnings(draft, d->reg.count, warnings);
	size_t i;
	json_t *w;
	json_array_foreach(warnings, i, w) LOG(WARN, "%s", json_string_value(w));
	json_object_set_new(result, "settings_rev", json_integer((json_int_t)draft->rev));
	json_object_set_new(result, "affected", aff);
	json_object_set_new(result, "warnings", warnings);
	LOG(INFO, "policy revision %llu in force", (unsigned long long)draft->rev);
	return 0;
}
