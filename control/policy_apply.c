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
#include "control/reclassify.h"
#include "control/status.h"
#include "glournet/coarse_clock.h"
#include "glournet/log.h"

/* How many endpoints each changed setting reaches, by its reach in
 * settings_table.h: from the registry's running tallies (registry.h), so a
 * change answers in constant time at any fleet size (issue 15: the walk it
 * replaced held the loop 48 ms at 2 M). Two reaches depend on each
 * endpoint's last contact and the new value, and only a change of their
 * own setting walks for them: register.replace_after (who could now be
 * rekeyed) and expire.after_days (who the next pass would remove). */
static json_t *affected(const struct gn_daemon *d, const struct policy *old,
			const struct policy *new)
{
	const struct registry *r = &d->reg;
	uint32_t now = gn_coarse_steady();
	uint32_t unreach = r->unreachable, regular = r->count - unreach;
	bool hb_u = policy_hb_applies(new, true), hb_r = policy_hb_applies(new, false);
	bool hb_u_moved = policy_hb_applies(old, true) != hb_u;
	bool hb_r_moved = policy_hb_applies(old, false) != hb_r;
	uint32_t reach[SETTING_REACH_COUNT] = {
		[SETTING_REACH_ALL] = r->count,
		[SETTING_REACH_UNREACHABLE] = unreach,
		[SETTING_REACH_HB] = (hb_u ? unreach : 0) + (hb_r ? regular : 0),
		[SETTING_REACH_HB_CHANGE] = (hb_u_moved ? unreach : 0) + (hb_r_moved ? regular : 0),
		[SETTING_REACH_NOTIFY] = r->notifiable,
		[SETTING_REACH_VERIFY] = hb_r ? 0 : r->notifiable,
	};
	bool expiry_changed = old->expire_after_days != new->expire_after_days;
	bool replace_changed = old->replace_after != new->replace_after;
	for (uint32_t s = 0; (expiry_changed || replace_changed) && s < r->nslots; s++) {
		const struct endpoint *ep = registry_at(r, s);
		if (!ep->id)
			continue; /* a free slot */
		uint32_t last = registry_last_contact(r, ep);
		reach[SETTING_REACH_REPLACEABLE] +=
			!new->replace_after || !last || (uint64_t)last + new->replace_after <= now;
		if (expiry_changed)
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

/* R1 again for everyone after the ranges changed: in slices by the
 * "reclassify" job (reclassify.h), whose first slice runs here so that a
 * small fleet's answer says how many moved; at once where the loop's jobs
 * are not wired (a daemon the unit tests build without its table). */
static int reclassify_now(struct gn_daemon *d, const struct policy *p, json_t *result, json_t *aff)
{
	uint32_t now = gn_coarse_steady();
	if (!d->reclassify.reg) {
		uint32_t moved = 0;
		int rc = status_reclassify_all(&d->reg, p, now, &moved);
		if (rc == 0)
			json_object_set_new(aff, "unreachable", json_integer(moved));
		return rc;
	}
	int rc = reclassify_start(&d->reclassify, now);
	if (rc < 0)
		return rc;
	if (reclassify_step(&d->reclassify, now, RECLASSIFY_FIRST_SLICE_NS))
		json_object_set_new(result, "reclassifying",
				    json_integer((json_int_t)d->reclassify.end));
	else
		json_object_set_new(aff, "unreachable", json_integer(d->reclassify.last_moved));
	return 0;
}

/*
 * policy.json is written on a thread of its own (io_offload.h): on a
 * stalled disk the write would hold the control thread, and with it every
 * registration's answer, for as long as the disk likes. A save that has not
 * returned within POLICY_SAVE_WAIT_NS is refused (not applied); it goes on
 * in the background, and if it lands after all the file holds a revision
 * that is not in force, so the one in force is written back over it.
 */
#define POLICY_SAVE_WAIT_NS (1000ull * 1000000ull)

static int save_job(void *arg)
{
	struct gn_daemon *d = arg;
	return policy_save(d->policy_path, d->policy_saver.saving, d->policy_saver.err,
			   sizeof(d->policy_saver.err));
}

/* 1: saved; 0: not returned within the wait (left in flight); < 0 failed. */
static int save_offloaded(struct gn_daemon *d, const struct policy *p)
{
	d->policy_saver.saving = p;
	int res, rc = io_offload_run(&d->policy_saver.io, save_job, d, POLICY_SAVE_WAIT_NS, &res);
	return rc == 1 ? (res < 0 ? res : 1) : rc == 0 ? 0 : rc;
}

void daemon_policy_tick(struct gn_daemon *d)
{
	if (!d->policy_saver.in_flight)
		return;
	int res;
	if (io_offload_poll(&d->policy_saver.io, 0, &res) != 1)
		return;
	d->policy_saver.in_flight = false;
	bool refused_landed = res == 0 && d->policy_saver.saving != d->policy;
	policy_free(d->policy_saver.owned);
	d->policy_saver.owned = NULL;
	if (!refused_landed) {
		LOG(INFO, "%s: the stalled save returned (%s)", d->policy_path,
		    res < 0 ? strerror(-res) : "written");
		return;
	}
	LOG(WARN, "%s: the stalled save of a refused change landed; writing revision %llu back",
	    d->policy_path, (unsigned long long)d->policy->rev);
	if (save_offloaded(d, d->policy) == 0)
		d->policy_saver.in_flight = true; /* owns nothing: it writes d->policy */
}

int daemon_policy_commit(struct gn_daemon *d, struct policy *draft, json_t *result, char *err,
			 size_t errlen)
{
	struct policy *old = d->policy;
	if (policy_same(old, draft)) {
		/* Issue 14: set to the value in force, a range already there, the
		 * same component again: no new revision, so every endpoint's poll
		 * ETag stays (304) and no notify campaign starts. */
		policy_free(draft);
		json_t *warnings = json_array();
		settings_warnings(old, d->reg.count, warnings);
		json_object_set_new(result, "settings_rev", json_integer((json_int_t)old->rev));
		json_object_set_new(result, "unchanged", json_true());
		json_object_set_new(result, "affected", json_object());
		json_object_set_new(result, "warnings", warnings);
		LOG(INFO, "policy unchanged: revision %llu stays", (unsigned long long)old->rev);
		return 0;
	}
	draft->rev = old->rev + 1;
	daemon_policy_tick(d);
	int rc = d->policy_saver.in_flight ? -EBUSY : save_offloaded(d, draft);
	if (rc == -EBUSY) {
		snprintf(err, errlen,
			 "cannot write %s: an earlier save has not returned for %.0f s (a stalled "
			 "disk?); nothing applied",
			 d->policy_path, (double)io_offload_running_ns(&d->policy_saver.io) / 1e9);
	} else if (rc == 0) {
		d->policy_saver.in_flight = true;
		d->policy_saver.owned = draft; /* the thread still reads it */
		snprintf(err, errlen,
			 "cannot write %s: the save has not returned within %.0f s (a stalled "
			 "disk?); nothing applied",
			 d->policy_path, (double)POLICY_SAVE_WAIT_NS / 1e9);
		LOG(ERR, "policy change refused: %s", err);
		return -ETIMEDOUT;
	} else if (rc < 0) {
		snprintf(err, errlen, "%s", d->policy_saver.err);
	}
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
	bool reclassify = !policy_same_ranges(old, draft);
	/* R11: what changed for the endpoints starts a campaign (its walk
	 * runs later, after the reclassification below). */
	notify_policy_changed(&d->notify, old, draft, reclassify, gn_coarse_steady());
	policy_free(old);

	if (reclassify) {
		rc = reclassify_now(d, draft, result, aff);
		if (rc < 0) {
			snprintf(err, errlen, "out of memory reclassifying endpoints");
			json_decref(aff);
			return rc;
		}
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
