/*
 * The policy: every setting of docs/status.md, the unreachable ranges and the
 * endpoint manifest (endpoint settings and components), as one immutable
 * snapshot. A change builds a whole new snapshot and swaps the pointer
 * (policy_apply.c); nothing edits a snapshot in place, so no reader ever
 * sees half a change. Only the control thread reads it: the workers get
 * what they need (window, skew) through their worker_conf.
 */
#ifndef GLOURNET_POLICY_H
#define GLOURNET_POLICY_H

#include <stdbool.h>
#include <stdint.h>

#include "control/manifest.h"
#include "control/ranges.h"

enum hb_scope { HB_SCOPE_ALL, HB_SCOPE_UNREACHABLE };

struct policy {
	bool hb_enabled;
	uint8_t hb_scope;            /* enum hb_scope */
	uint32_t hb_interval;        /* seconds */
	uint32_t offline_after;      /* seconds */
	uint32_t poll_interval;      /* seconds */
	uint32_t guard_threshold;    /* percent; 0 disables R10 */
	uint32_t expire_after_days;  /* silent this long: removed (issue #5); 0: never */
	bool notify_enabled;         /* R11 campaigns */
	uint32_t notify_rate;        /* notifies a second, all campaigns together */
	uint32_t notify_retries;     /* re-sends to an endpoint that does not ack */
	uint32_t notify_retry_after; /* seconds */
	uint32_t replace_after;      /* seconds without contact before a key is replaced without
				      * proof (docs/protocol.md §3); 0: always */
	uint32_t verify_interval;    /* seconds; 0: off (R12) */
	uint64_t rev;                /* settings_rev: bumped by every change (not by a no-op) */
	struct range_set *ranges;    /* owned */
	struct manifest manifest;    /* owned; rendered (manifest_render) before a commit */
};

/* docs/status.md defaults, no ranges, an empty manifest. NULL on allocation
 * failure. */
struct policy *policy_new_default(void);
/* Every setting of settings_table.h to its default; nothing else touched. */
void policy_default_settings(struct policy *p);
/* A deep copy, to edit into the next snapshot (the manifest included). */
struct policy *policy_clone(const struct policy *p);
void policy_free(struct policy *p);
/* The same unreachable ranges, in the same order. */
bool policy_same_ranges(const struct policy *a, const struct policy *b);
/* What an endpoint or a sweep could tell apart: every setting, the ranges,
 * the rendered manifest (settings_rev aside). A draft the same as the
 * policy in force is no change (daemon_policy_commit keeps the revision). */
bool policy_same(const struct policy *a, const struct policy *b);

/* R2: heartbeat applies when enabled and (scope all, or unreachable). */
static inline bool policy_hb_applies(const struct policy *p, bool unreachable)
{
	return p->hb_enabled && (p->hb_scope == HB_SCOPE_ALL || unreachable);
}

#endif
