/*
 * The policy commands of the control socket: settings, unreachable ranges,
 * the mass-offline guard. Each builds a whole new snapshot and commits it,
 * or changes nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_TAG "ctl"
#include "control/ctl_commands.h"
#include "control/settings.h"
#include "glournet/coarse_clock.h"
#include "glournet/log.h"

json_t *cmd_show_settings(struct gn_daemon *d, int argc, const char **argv, char *err,
				 size_t errlen)
{
	(void)argc; (void)argv; (void)err; (void)errlen;
	json_t *warnings = json_array();
	settings_warnings(d->policy, d->reg.count, warnings);
	return json_pack("{s:I, s:o, s:I, s:o}", "settings_rev", (json_int_t)d->policy->rev,
			 "settings", settings_show(d->policy),
			 "unreachable_ranges", (json_int_t)range_set_count(d->policy->ranges),
			 "warnings", warnings);
}

/* Commits a draft; on failure the old policy stays, whole. */
static json_t *commit(struct gn_daemon *d, struct policy *draft, json_t *result, char *err,
		      size_t errlen)
{
	if (daemon_policy_commit(d, draft, result, err, errlen) < 0) {
		json_decref(result);
		return NULL;
	}
	return result;
}

json_t *cmd_set(struct gn_daemon *d, int argc, const char **argv, char *err, size_t errlen)
{
	if (argc % 2) {
		snprintf(err, errlen, "usage: set NAME VALUE [NAME VALUE ...] (got an odd count)");
		return NULL;
	}
	struct policy *draft = policy_clone(d->policy);
	if (!draft) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	json_t *changed = json_object();
	for (int i = 0; i < argc; i += 2) {
		if (settings_set(draft, argv[i], argv[i + 1], err, errlen) < 0) {
			LOG(WARN, "set refused: %s", err);
			json_decref(changed);
			policy_free(draft);
			return NULL;   /* nothing applied: all or nothing */
		}
		json_object_set_new(changed, argv[i], json_string(argv[i + 1]));
	}
	LOG(INFO, "set by operator: %d setting(s)", argc / 2);
	return commit(d, draft, json_pack("{s:o}", "changed", changed), err, errlen);
}

static struct range_entry *range_entries(const struct policy *p, size_t extra, size_t *n)
{
	*n = range_set_count(p->ranges);
	struct range_entry *e = calloc(*n + extra + 1, sizeof(*e));
	for (size_t i = 0; e && i < *n; i++)
		e[i] = *range_set_entry(p->ranges, i);
	return e;
}

static json_t *change_ranges(struct gn_daemon *d, int argc, const char **argv, bool add,
			     char *err, size_t errlen)
{
	size_t n;
	struct range_entry *e = range_entries(d->policy, (size_t)argc, &n);
	if (!e) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	for (int i = 0; i < argc; i++) {
		struct range_entry one;
		if (range_parse(argv[i], &one, err, errlen) < 0)
			goto refuse;
		size_t at;
		for (at = 0; at < n; at++)
			if (one.family == e[at].family && !memcmp(one.lo, e[at].lo, 16) &&
			    !memcmp(one.hi, e[at].hi, 16))
				break;
		if (add && at == n) {
			if (n == RANGES_MAX) {
				snprintf(err, errlen, "range add: at most %d ranges", RANGES_MAX);
				goto refuse;
			}
			e[n++] = one;
		} else if (!add) {
			if (at == n) {
				snprintf(err, errlen, "range del: '%s' is not configured", argv[i]);
				goto refuse;
			}
			memmove(&e[at], &e[at + 1], (n - at - 1) * sizeof(*e));
			n--;
		}
	}
	struct policy *draft = policy_clone(d->policy);
	struct range_set *rs = range_set_build(e, n);
	free(e);
	if (!draft || !rs) {
		policy_free(draft);
		range_set_free(rs);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	range_set_free(draft->ranges);
	draft->ranges = rs;
	LOG(INFO, "range %s by operator: %d entr%s, %zu in all", add ? "add" : "del", argc,
	    argc == 1 ? "y" : "ies", n);
	return commit(d, draft, json_pack("{s:I}", "ranges", (json_int_t)n), err, errlen);
refuse:
	free(e);
	return NULL;
}

json_t *cmd_range_add(struct gn_daemon *d, int argc, const char **argv, char *err,
			     size_t errlen)
{
	return change_ranges(d, argc, argv, true, err, errlen);
}

json_t *cmd_range_del(struct gn_daemon *d, int argc, const char **argv, char *err,
			     size_t errlen)
{
	return change_ranges(d, argc, argv, false, err, errlen);
}

json_t *cmd_range_list(struct gn_daemon *d, int argc, const char **argv, char *err,
			      size_t errlen)
{
	(void)argc; (void)argv; (void)err; (void)errlen;
	return json_pack("{s:o}", "ranges", ctl_by_range_json(d));
}

json_t *cmd_guard_release(struct gn_daemon *d, int argc, const char **argv, char *err,
				 size_t errlen)
{
	(void)argc; (void)argv;
	uint32_t held = d->sweep.guard.held;
	if (!sweep_guard_release(&d->sweep, &d->reg, gn_coarse_now())) {
		snprintf(err, errlen, "guard release: the mass-offline guard is not raised");
		return NULL;
	}
	return json_pack("{s:b, s:I}", "released", 1, "held", (json_int_t)held);
}
