/*
 * The settings of docs/status.md (and issue #5's expire.after_days), declared
 * once: name, kind, the struct policy field, range, default, which
 * endpoints a change reaches, and help. The defaults (policy.c), the
 * validation and `show settings` (settings.c) and the "affected" counts of
 * a change (policy_apply.c) are all derived from this one list, so a new
 * setting is one line here. Macros only: it includes nothing, and
 * policy.c, below settings.c, can use it.
 *
 * X(name, kind, field, min, max, default, range text, reach, help)
 */
#ifndef GLOURNET_SETTINGS_TABLE_H
#define GLOURNET_SETTINGS_TABLE_H

#define SETTING_DURATION_MAX (129600u * 60) /* 129600 minutes */

/* clang-format off */
#define POLICY_SETTINGS(X)                                                                  \
	X("heartbeat.enabled", BOOL, hb_enabled, 0, 1, true, "on, off", HB_CHANGE,          \
	  "endpoints may send heartbeats")                                                   \
	X("heartbeat.scope", SCOPE, hb_scope, 0, 1, HB_SCOPE_ALL, "all, unreachable",       \
	  HB_CHANGE, "which endpoints heartbeat: all, or only those in the unreachable network") \
	X("heartbeat.interval", DURATION, hb_interval, 1, SETTING_DURATION_MAX, 10 * 60,    \
	  "1s .. 129600m", HB, "how often an endpoint sends a heartbeat")                    \
	X("heartbeat.offline_after", DURATION, offline_after, 1, SETTING_DURATION_MAX,      \
	  30 * 60, "1s .. 129600m", ALL, "no contact for this long: offline")                \
	X("poll.interval", DURATION, poll_interval, 1, SETTING_DURATION_MAX, 30 * 60,       \
	  "1s .. 129600m", UNREACHABLE, "how often an unreachable endpoint polls")           \
	X("guard.threshold", PERCENT, guard_threshold, 0, 100, 50,                          \
	  "0 .. 100 (%, 0 disables)", ALL,                                                   \
	  "mass-offline guard: hold offline transitions above this share (R10)")             \
	X("expire.after_days", DAYS, expire_after_days, 1, 3650, 0,                         \
	  "0 (off) or 1 .. 3650 (whole days)", EXPIRING,                                     \
	  "remove endpoints not heard from for this many days (0: never)")                   \
	X("notify.enabled", BOOL, notify_enabled, 0, 1, true, "on, off", NOTIFY,            \
	  "notify regular endpoints of changes (R11)")                                      \
	X("notify.rate", COUNT, notify_rate, 1, 10000000, 100000,                           \
	  "1 .. 10000000 (per second)", NOTIFY,                                             \
	  "notifies sent per second, all campaigns together")                               \
	X("notify.retries", COUNT, notify_retries, 0, 10, 3, "0 .. 10", NOTIFY,             \
	  "notifies re-sent to an endpoint that does not ack")                              \
	X("notify.retry_after", DURATION, notify_retry_after, 1, 3600, 10, "1s .. 1h",      \
	  NOTIFY, "wait for an ack before re-sending")                                      \
	X("register.replace_after", DURATION_OFF, replace_after, 1, SETTING_DURATION_MAX,    \
	  60 * 60, "0 (always) or 1s .. 129600m", REPLACEABLE,                             \
	  "a registration of a known guid without proof of its key replaces the key only "  \
	  "after this long without valid contact; else 409 (0: always)")                    \
	X("verify.interval", DURATION_OFF, verify_interval, 1, SETTING_DURATION_MAX, 0,     \
	  "0 (off) or 1s .. 129600m", VERIFY,                                               \
	  "connection verification of regular endpoints heartbeat does not apply to (R12)")
/* clang-format on */

/* What a kind is written as, and the C type of its struct policy field. */
enum setting_kind {
	SETTING_BOOL,
	SETTING_SCOPE,
	SETTING_DURATION,
	SETTING_DURATION_OFF,
	SETTING_PERCENT,
	SETTING_DAYS,
	SETTING_COUNT
};
#define SETTING_TYPE_BOOL         bool
#define SETTING_TYPE_SCOPE        uint8_t  /* enum hb_scope */
#define SETTING_TYPE_DURATION     uint32_t /* seconds; written with a unit */
#define SETTING_TYPE_DURATION_OFF uint32_t /* the same, or 0 (written "0"): off */
#define SETTING_TYPE_PERCENT      uint32_t
#define SETTING_TYPE_DAYS         uint32_t /* whole days, 0: off */
#define SETTING_TYPE_COUNT        uint32_t /* a plain whole number */

/* Which endpoints a change of the setting reaches (docs/status.md: a change
 * tells how many endpoints it affected). */
enum setting_reach {
	SETTING_REACH_HB_CHANGE,   /* those for which heartbeat starts or stops applying (R2) */
	SETTING_REACH_HB,          /* those heartbeat applies to under the new policy */
	SETTING_REACH_UNREACHABLE, /* those in the unreachable network (they poll) */
	SETTING_REACH_ALL,         /* every endpoint */
	SETTING_REACH_EXPIRING,    /* those the next expiry pass would remove */
	SETTING_REACH_NOTIFY,      /* regular endpoints with a notify address (R11) */
	SETTING_REACH_VERIFY,      /* those of them heartbeat does not apply to (R12) */
	SETTING_REACH_REPLACEABLE, /* those a registration without proof could now rekey */
	SETTING_REACH_COUNT
};

/* Whether endpoints are told a setting of that reach (in the registration
 * and poll answers: heartbeat, poll): a change of one starts a SETTINGS
 * notify campaign (R11, control/notify_engine.c); the others are the
 * collector's own and start none. */
#define SETTING_TOLD_HB_CHANGE   1
#define SETTING_TOLD_HB          1
#define SETTING_TOLD_UNREACHABLE 1
#define SETTING_TOLD_ALL         0
#define SETTING_TOLD_EXPIRING    0
#define SETTING_TOLD_NOTIFY      0
#define SETTING_TOLD_VERIFY      0
#define SETTING_TOLD_REPLACEABLE 0

#endif
