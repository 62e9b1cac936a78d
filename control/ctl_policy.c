/*
 * The policy commands of the control socket: settings, unreachable ranges,
 * the mass-offline guard, the endpoint manifest (components and endpoint
 * settings). Each builds a whole new snapshot and commits it,
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
	(void)argc;
	(void)argv;
	(void)err;
	(void)errlen;
	json_t *warnings = json_array();
	settings_warnings(d->policy, d->reg.count, warnings);
	return json_pack("{s:I, s:o, s:I, s:o}", "settings_rev", (json_int_t)d->policy->rev,
			 "settings", settings_show(d->policy), "unreachable_ranges",
			 (json_int_t)range_set_count(d->policy->ranges), "warnings", warnings);
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
			return NULL; /* nothing applied: all or nothing */
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

static json_t *change_ranges(struct gn_daemon *d, int argc, const char **argv, bool add, char *err,
			     size_t errlen)
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

json_t *cmd_range_add(struct gn_daemon *d, int argc, const char **argv, char *err, size_t errlen)
{
	return change_ranges(d, argc, argv, true, err, errlen);
}

json_t *cmd_range_del(struct gn_daemon *d, int argc, const char **argv, char *err, size_t errlen)
{
	return change_ranges(d, argc, argv, false, err, errlen);
}

json_t *cmd_range_list(struct gn_daemon *d, int argc, const char **argv, char *err, size_t errlen)
{
	(void)argc;
	(void)argv;
	(void)err;
	(void)errlen;
	return json_pack("{s:o}", "ranges", ctl_by_range_json(d));
}

json_t *cmd_guard_release(struct gn_daemon *d, int argc, const char **argv, char *err,
			  size_t errlen)
{
	(void)argc;
	(void)argv;
	uint32_t held = d->sweep.guard.held;
	if (!sweep_guard_release(&d->sweep, &d->reg, gn_coarse_steady())) {
		snprintf(err, errlen, "guard release: the mass-offline guard is not raised");
		return NULL;
	}
	return json_pack("{s:b, s:I}", "released", 1, "held", (json_int_t)held);
}

/* ================= the endpoint manifest ================= */

/* Commits a draft whose manifest was edited: rendered first (the poll
 * answers the rendered text), then as commit(). `what` is the affected
 * key ("components", "endpoint_settings"): every endpoint gets the change
 * at its next poll. */
static json_t *commit_manifest(struct gn_daemon *d, struct policy *draft, const char *what,
			       json_t *result, char *err, size_t errlen)
{
	if (!result || manifest_render(&draft->manifest) < 0) {
		json_decref(result);
		policy_free(draft);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (!commit(d, draft, result, err, errlen))
		return NULL;
	json_object_set_new(json_object_get(result, "affected"), what, json_integer(d->reg.count));
	return result;
}

/* An edit that changed nothing: no commit, no new revision (every agent
 * would fetch the same manifest again), the same answer's shape. */
static json_t *unchanged(const struct gn_daemon *d, json_t *result, char *err, size_t errlen)
{
	if (!result) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	json_object_set_new(result, "settings_rev", json_integer((json_int_t)d->policy->rev));
	json_object_set_new(result, "unchanged", json_true()); /* as daemon_policy_commit says it */
	json_object_set_new(result, "affected", json_object());
	json_object_set_new(result, "warnings", json_array());
	return result;
}

static const char *change_name(int change)
{
	return change == MANIFEST_ADDED      ? "added"
	       : change == MANIFEST_REPLACED ? "replaced"
					     : "unchanged";
}

json_t *cmd_component_add(struct gn_daemon *d, int argc, const char **argv, char *err,
			  size_t errlen)
{
	char why[512];
	struct policy *draft = policy_clone(d->policy);
	if (!draft) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	int rc = manifest_put_component(&draft->manifest, argv[0], argv[1], argv[2], argv + 3,
					(size_t)argc - 3, why, sizeof(why));
	if (rc < 0) {
		snprintf(err, errlen, "component add: %s", why);
		LOG(WARN, "%s", err);
		policy_free(draft);
		return NULL;
	}
	const struct component *c = manifest_find_component(&draft->manifest, argv[0]);
	json_t *result = json_pack("{s:s, s:o, s:I}", "action", change_name(rc), "component",
				   manifest_component_json(c), "components",
				   (json_int_t)draft->manifest.ncomponents);
	if (rc == MANIFEST_UNCHANGED) {
		policy_free(draft);
		return unchanged(d, result, err, errlen);
	}
	LOG(INFO, "component %s by operator: %s %s, %u source(s)", change_name(rc), c->name,
	    c->version, c->nsources);
	return commit_manifest(d, draft, "components", result, err, errlen);
}

json_t *cmd_component_del(struct gn_daemon *d, int argc, const char **argv, char *err,
			  size_t errlen)
{
	(void)argc;
	char why[256];
	if (manifest_check_name(argv[0], why, sizeof(why)) < 0) {
		snprintf(err, errlen, "component del: %s", why);
		return NULL;
	}
	if (!manifest_find_component(&d->policy->manifest, argv[0])) {
		snprintf(err, errlen, "component del: no component named '%s'", argv[0]);
		return NULL;
	}
	struct policy *draft = policy_clone(d->policy);
	if (!draft) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	manifest_del_component(&draft->manifest, argv[0]);
	LOG(INFO, "component deleted by operator: %s", argv[0]);
	return commit_manifest(d, draft, "components",
			       json_pack("{s:s, s:I}", "deleted", argv[0], "components",
					 (json_int_t)draft->manifest.ncomponents),
			       err, errlen);
}

json_t *cmd_component_list(struct gn_daemon *d, int argc, const char **argv, char *err,
			   size_t errlen)
{
	(void)argc;
	(void)argv;
	(void)err;
	(void)errlen;
	return json_pack("{s:I, s:o}", "settings_rev", (json_int_t)d->policy->rev, "components",
			 manifest_components_json(&d->policy->manifest));
}

json_t *cmd_endpoint_setting_set(struct gn_daemon *d, int argc, const char **argv, char *err,
				 size_t errlen)
{
	(void)argc;
	char why[512];
	struct policy *draft = policy_clone(d->policy);
	if (!draft) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	int rc = manifest_set_setting(&draft->manifest, argv[0], argv[1], why, sizeof(why));
	if (rc < 0) {
		snprintf(err, errlen, "endpoint-setting set: %s", why);
		LOG(WARN, "%s", err);
		policy_free(draft);
		return NULL;
	}
	json_t *result = json_pack("{s:s, s:s, s:s, s:I}", "action", change_name(rc), "key",
				   argv[0], "value", argv[1], "endpoint_settings",
				   (json_int_t)draft->manifest.nsettings);
	if (rc == MANIFEST_UNCHANGED) {
		policy_free(draft);
		return unchanged(d, result, err, errlen);
	}
	LOG(INFO, "endpoint setting %s by operator: %s (%zu bytes)", change_name(rc), argv[0],
	    strlen(argv[1]));
	return commit_manifest(d, draft, "endpoint_settings", result, err, errlen);
}

json_t *cmd_endpoint_setting_del(struct gn_daemon *d, int argc, const char **argv, char *err,
				 size_t errlen)
{
	(void)argc;
	char why[256];
	if (manifest_check_key(argv[0], why, sizeof(why)) < 0) {
		snprintf(err, errlen, "endpoint-setting del: %s", why);
		return NULL;
	}
	if (!manifest_find_setting(&d->policy->manifest, argv[0])) {
		snprintf(err, errlen, "endpoint-setting del: no endpoint setting '%s'", argv[0]);
		return NULL;
	}
	struct policy *draft = policy_clone(d->policy);
	if (!draft) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	manifest_del_setting(&draft->manifest, argv[0]);
	LOG(INFO, "endpoint setting deleted by operator: %s", argv[0]);
	return commit_manifest(d, draft, "endpoint_settings",
			       json_pack("{s:s, s:I}", "deleted", argv[0], "endpoint_settings",
					 (json_int_t)draft->manifest.nsettings),
			       err, errlen);
}

json_t *cmd_endpoint_setting_list(struct gn_daemon *d, int argc, const char **argv, char *err,
				  size_t errlen)
{
	(void)argc;
	(void)argv;
	(void)err;
	(void)errlen;
	return json_pack("{s:I, s:o}", "settings_rev", (json_int_t)d->policy->rev,
			 "endpoint_settings", manifest_settings_json(&d->policy->manifest));
}
