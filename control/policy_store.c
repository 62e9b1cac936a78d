/*
 * Policy persistence (see policy_store.h). Values go through settings_set
 * and range_parse on load: the file is bad input like any other.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <jansson.h>

#include "control/policy_store.h"
#include "control/settings.h"

/* The document's values onto a default policy; `root` is borrowed, `path`
 * names it in errors. */
static int from_json(json_t *root, const char *path, struct policy **out, char *err, size_t errlen)
{
	struct policy *p = policy_new_default();
	if (!p)
		return -ENOMEM;
	int rc = 0;
	char why[512];
	const char *key;
	json_t *v;
	json_t *settings = json_object_get(root, "settings");
	json_t *ranges = json_object_get(root, "unreachable");
	json_t *jrev = json_object_get(root, "settings_rev");
	/* A wrong shape must not read as "no ranges": that would be saved back. */
	if (!json_is_object(root) || (settings && !json_is_object(settings)) ||
	    (ranges && !json_is_array(ranges))) {
		snprintf(err, errlen,
			 "%s: expected {\"settings\": {NAME: VALUE, ...}, "
			 "\"unreachable\": [RANGE, ...], \"endpoint_settings\": {KEY: VALUE, ...}, "
			 "\"components\": [COMPONENT, ...]}",
			 path);
		rc = -EINVAL;
		goto out;
	}
	/* Nor a wrong revision as 1: an agent holding the ETag of an earlier
	 * revision 2 would be told 304 when the new revision 2 differs. */
	if (jrev && (!json_is_integer(jrev) || json_integer_value(jrev) < 1)) {
		snprintf(err, errlen, "%s: settings_rev: expected a positive integer", path);
		rc = -EINVAL;
		goto out;
	}
	if (manifest_from_json(&p->manifest, json_object_get(root, "endpoint_settings"),
			       json_object_get(root, "components"), why, sizeof(why)) < 0) {
		snprintf(err, errlen, "%s: %s", path, why);
		rc = -EINVAL;
		goto out;
	}
	json_object_foreach(settings, key, v)
	{
		if (!json_is_string(v) ||
		    settings_set(p, key, json_string_value(v), why, sizeof(why))) {
			snprintf(err, errlen, "%s: settings.%s: %s", path, key,
				 json_is_string(v) ? why : "expected a string");
			rc = -EINVAL;
			goto out;
		}
	}
	size_t n = json_array_size(ranges), i;
	struct range_entry *e = calloc(n ? n : 1, sizeof(*e));
	if (!e) {
		rc = -ENOMEM;
		goto out;
	}
	json_array_foreach(ranges, i, v)
	{
		const char *s = json_string_value(v);
		if (!s || range_parse(s, &e[i], why, sizeof(why)) < 0) {
			snprintf(err, errlen, "%s: unreachable[%zu]: %s", path, i,
				 s ? why : "expected a string");
			free(e);
			rc = -EINVAL;
			goto out;
		}
	}
	range_set_free(p->ranges);
	p->ranges = range_set_build(e, n);
	free(e);
	if (!p->ranges) {
		snprintf(err, errlen, "%s: %zu unreachable ranges (at most %d)", path, n,
			 RANGES_MAX);
		rc = -EINVAL;
		goto out;
	}
	p->rev = jrev ? (uint64_t)json_integer_value(jrev) : 1;
out:
	if (rc < 0)
		policy_free(p);
	else
		*out = p;
	return rc;
}

int policy_load(const char *path, struct policy **out, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		if (access(path, F_OK) != 0) { /* first start: defaults */
			*out = policy_new_default();
			return *out ? 0 : -ENOMEM;
		}
		snprintf(err, errlen, "%s: line %d: %s", path, jerr.line, jerr.text);
		return -EINVAL;
	}
	int rc = from_json(root, path, out, err, errlen);
	json_decref(root);
	return rc;
}

int policy_from_text(const char *text, const char *what, struct policy **out, char *err,
		     size_t errlen)
{
	json_error_t jerr;
	json_t *root = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		snprintf(err, errlen, "%s: line %d: %s", what, jerr.line, jerr.text);
		return -EINVAL;
	}
	int rc = from_json(root, what, out, err, errlen);
	json_decref(root);
	return rc;
}

/* The document policy_load reads; NULL when out of memory. */
static json_t *to_json(const struct policy *p)
{
	json_t *ranges = json_array();
	for (size_t i = 0; i < range_set_count(p->ranges); i++) {
		char buf[96];
		range_format(range_set_entry(p->ranges, i), buf, sizeof(buf));
		json_array_append_new(ranges, json_string(buf));
	}
	return json_pack("{s:I, s:o, s:o, s:o, s:o}", "settings_rev", (json_int_t)p->rev,
			 "settings", settings_values(p), "unreachable", ranges, "endpoint_settings",
			 manifest_settings_json(&p->manifest), "components",
			 manifest_components_json(&p->manifest));
}

char *policy_to_text(const struct policy *p)
{
	json_t *root = to_json(p);
	char *s = root ? json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(root);
	return s;
}

/* fsyncs the directory that holds `path`. 0 or -errno. */
static int fsync_dir(const char *path)
{
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (!slash)
		strcpy(dir, ".");
	else if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = fsync(fd) < 0 ? -errno : 0;
	close(fd);
	return rc;
}

int policy_save(const char *path, const struct policy *p, char *err, size_t errlen)
{
	json_t *root = to_json(p);
	if (!root) { /* json_pack has released the values */
		snprintf(err, errlen, "cannot write %s: out of memory", path);
		return -ENOMEM;
	}
	char tmp[4096];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	int rc = 0;
	unlink(tmp); /* left by a crash: created afresh, never written through a link */
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 || json_dumpfd(root, fd, JSON_INDENT(2) | JSON_PRESERVE_ORDER) < 0 ||
	    fsync(fd) < 0)
		rc = -errno ? -errno : -EIO;
	if (fd >= 0 && close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, path) < 0)
		rc = -errno;
	if (rc == 0)
		rc = fsync_dir(path); /* the rename itself survives a crash */
	if (rc < 0) {
		snprintf(err, errlen, "cannot write %s: %s", path, strerror(-rc));
		unlink(tmp);
	}
	json_decref(root);
	return rc;
}
