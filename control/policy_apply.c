/*
 * Committing a new policy snapshot: persist, publish, free the old one,
 * reclassify, and tell the operator what it touched
 * (docs/status.md: how many endpoints each change affected, and the warnings).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_TAG "policy"
#include "control/cluster.h"
#include "control/cluster_policy.h"
#include "control/daemon.h"
#include "control/expire.h"
#include "control/mono_clock.h"
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
	const struct policy *p = d->policy_saver.saving;
	if (!d->cluster_policy)
		return policy_save(d->policy_path, p, d->policy_saver.err,
				   sizeof(d->policy_saver.err));
	/* Several collectors: the fleet's row, compare-and-set on the
	 * revision the change was made on (cluster_policy.h). */
	char *doc = policy_to_text(p);
	if (!doc) {
		snprintf(d->policy_saver.err, sizeof(d->policy_saver.err), "out of memory");
		return -ENOMEM;
	}
	int rc = cluster_policy_write(d->cluster_policy, d->policy_saver.expected, p->rev, doc,
				      d->policy_saver.err, sizeof(d->policy_saver.err));
	free(doc);
	return rc;
}

/* Where a change is written, for the operator's errors. */
static const char *save_where(const struct gn_daemon *d)
{
	return d->cluster_policy ? "the fleet's policy to the store" : d->policy_path;
}

/* 1: saved; 0: not returned within the wait (left in flight); < 0 failed. */
static int save_offloaded(struct gn_daemon *d, const struct policy *p)
{
	d->policy_saver.saving = p;
	int res, rc = io_offload_run(&d->policy_saver.io, save_job, d, POLICY_SAVE_WAIT_NS, &res);
	return rc == 1 ? (res < 0 ? res : 1) : rc == 0 ? 0 : rc;
}

static void saver_tick(struct gn_daemon *d)
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
	/* Several collectors: a late commit is the fleet's policy now and the
	 * watch brings it here like any other collector's change. */
	if (d->cluster_policy) {
		LOG(INFO, "the stalled policy write returned (%s)",
		    res < 0 ? d->policy_saver.err : "committed: in force from the store");
		return;
	}
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

/* daemon_policy_commit, and the same for a revision the fleet's store
 * committed (store_rev > 0): that one is in force already elsewhere, so it
 * is not written again and keeps its revision even when it changes nothing
 * here (the fleet has one settings_rev). */
static int commit_rev(struct gn_daemon *d, struct policy *draft, uint64_t store_rev, json_t *result,
		      char *err, size_t errlen)
{
	struct policy *old = d->policy;
	if (!store_rev && policy_same(old, draft)) {
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
	draft->rev = store_rev ? store_rev : old->rev + 1;
	saver_tick(d);
	d->policy_saver.expected = old->rev;
	int rc = store_rev ? 1 : d->policy_saver.in_flight ? -EBUSY : save_offloaded(d, draft);
	if (rc == -EBUSY) {
		snprintf(err, errlen,
			 "cannot write %s: an earlier save has not returned for %.0f s (a stalled "
			 "disk or store?); nothing applied",
			 save_where(d), (double)io_offload_running_ns(&d->policy_saver.io) / 1e9);
	} else if (rc == 0) {
		d->policy_saver.in_flight = true;
		d->policy_saver.owned = draft; /* the thread still reads it */
		snprintf(err, errlen,
			 "cannot write %s: the save has not returned within %.0f s (a stalled "
			 "disk or store?); nothing applied%s",
			 save_where(d), (double)POLICY_SAVE_WAIT_NS / 1e9,
			 d->cluster_policy
				 ? " here yet (should it commit late, the watch brings it)"
				 : "");
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
	LOG(INFO, "policy revision %llu in force%s", (unsigned long long)draft->rev,
	    store_rev ? " (from the fleet's store)" : "");
	return 0;
}

int daemon_policy_commit(struct gn_daemon *d, struct policy *draft, json_t *result, char *err,
			 size_t errlen)
{
	return commit_rev(d, draft, 0, result, err, errlen);
}

/* A newer revision another collector committed: validated as policy.json
 * is, then through the path a local change takes. */
static void apply_from_store(struct gn_daemon *d)
{
	char *doc, err[512];
	uint64_t rev;
	if (!cluster_policy_take(d->cluster_policy, d->policy->rev, &doc, &rev))
		return;
	struct policy *p;
	int rc = policy_from_text(doc, "the fleet's policy", &p, err, sizeof(err));
	free(doc);
	if (rc < 0) {
		LOG(ERR, "revision %llu of the fleet's policy refused: %s", (unsigned long long)rev,
		    err);
		return;
	}
	json_t *result = json_object();
	if (commit_rev(d, p, rev, result, err, sizeof(err)) < 0)
		LOG(ERR, "revision %llu of the fleet's policy not applied: %s",
		    (unsigned long long)rev, err);
	json_decref(result);
}

/* heartbeat.addrs from the lease thread's view of `collectors`, a few
 * times a second (the view itself is read each lease/3). */
#define HB_ADDRS_REFRESH_NS (250ull * 1000000ull)

static void refresh_hb_addrs(struct gn_daemon *d)
{
	uint64_t now = gn_mono_ns();
	if (now - d->hb_addrs_ns < HB_ADDRS_REFRESH_NS)
		return;
	d->hb_addrs_ns = now;
	struct cluster_view v;
	struct cluster_info info;
	cluster_get_view(d->cluster, &v);
	if (v.age_s < 0)
		return; /* none read yet */
	cluster_get_info(d->cluster, &info);
	if (hb_addrs_merge(&d->hb_addrs, d->opt.hb_addrs, d->opt.n_hb_addrs, &v, info.name,
			   (double)d->opt.lease))
		LOG(INFO, "heartbeat.addrs now %u address(es) of the live collectors",
		    d->hb_addrs.n);
}

void daemon_policy_tick(struct gn_daemon *d)
{
	saver_tick(d);
	if (d->cluster_policy)
		apply_from_store(d);
	if (d->cluster)
		refresh_hb_addrs(d);
}
