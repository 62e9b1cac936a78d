/*
 * The endpoint manifest (see manifest.h): checks, copies, edits of a
 * draft, rendering, and reading the policy file's form.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/manifest.h"
#include "control/text.h"

/* ================= checks ================= */

static bool ascii_between(const char *s, unsigned char lo, unsigned char hi)
{
	for (; *s; s++)
		if ((unsigned char)*s < lo || (unsigned char)*s > hi)
			return false;
	return true;
}

static int check_key(const char *field, const char *key, char *err, size_t errlen)
{
	size_t n = strlen(key);
	if (n < 1 || n > MANIFEST_KEY_MAX || !ascii_between(key, 0x21, 0x7e)) {
		snprintf(err, errlen,
			 "%s: expected 1..%d printable ASCII characters without spaces "
			 "(got %zu bytes%s)",
			 field, MANIFEST_KEY_MAX, n,
			 n && !ascii_between(key, 0x21, 0x7e)
				 ? ", not all printable ASCII without spaces"
				 : "");
		return -EINVAL;
	}
	return 0;
}

static int check_value(const char *field, const char *value, char *err, size_t errlen)
{
	size_t n = strlen(value);
	bool text = text_utf8_valid(value, n) && text_control_at(value, n, "\t\n\r") == n;
	if (n > MANIFEST_VALUE_MAX || !text) {
		snprintf(err, errlen,
			 "%s: expected 0..%d bytes of UTF-8 text without control "
			 "characters but tab, CR and LF (got %zu bytes%s)",
			 field, MANIFEST_VALUE_MAX, n,
			 text ? "" : ", not valid UTF-8 or with control characters");
		return -EINVAL;
	}
	return 0;
}

static int check_name(const char *field, const char *name, char *err, size_t errlen)
{
	static const char ok[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-";
	size_t n = strlen(name);
	/* "." and ".." fit the set but name a directory, and agents may well
	 * store a component under its name. */
	if (n < 1 || n > MANIFEST_NAME_MAX || strspn(name, ok) != n || !strcmp(name, ".") ||
	    !strcmp(name, "..")) {
		snprintf(err, errlen,
			 "%s: expected 1..%d characters of A-Z a-z 0-9 . _ -, "
			 "not '.' or '..' (got %zu bytes)",
			 field, MANIFEST_NAME_MAX, n);
		return -EINVAL;
	}
	return 0;
}

static int check_version(const char *field, const char *version, char *err, size_t errlen)
{
	size_t n = strlen(version);
	if (n < 1 || n > MANIFEST_VERSION_MAX || !ascii_between(version, 0x20, 0x7e)) {
		snprintf(err, errlen,
			 "%s: expected 1..%d printable ASCII characters (got %zu bytes)", field,
			 MANIFEST_VERSION_MAX, n);
		return -EINVAL;
	}
	return 0;
}

static int check_sha256(const char *field, const char *sha, char *err, size_t errlen)
{
	size_t n = strlen(sha);
	if (n != MANIFEST_SHA256_LEN || strspn(sha, "0123456789abcdef") != n) {
		snprintf(err, errlen,
			 "%s: expected exactly %d lowercase hex digits (got %zu "
			 "characters%s)",
			 field, MANIFEST_SHA256_LEN, n,
			 strspn(sha, "0123456789abcdef") != n ? ", not all lowercase hex" : "");
		return -EINVAL;
	}
	return 0;
}

static int check_url(const char *field, const char *url, char *err, size_t errlen)
{
	size_t n = strlen(url), scheme = 0;
	if (!strncmp(url, "http://", 7))
		scheme = 7;
	else if (!strncmp(url, "https://", 8))
		scheme = 8;
	/* A URL has no spaces or raw control/non-ASCII bytes (RFC 3986: they
	 * are percent-encoded), and a host after the scheme. */
	if (!scheme || n > MANIFEST_URL_MAX || !ascii_between(url, 0x21, 0x7e) ||
	    strchr("/?#", url[scheme])) {
		snprintf(err, errlen,
			 "%s: expected an http:// or https:// URL with a host, at most "
			 "%d characters, no spaces or control characters (got %zu bytes)",
			 field, MANIFEST_URL_MAX, n);
		return -EINVAL;
	}
	return 0;
}

int manifest_check_key(const char *key, char *err, size_t errlen)
{
	return check_key("key", key, err, errlen);
}

int manifest_check_value(const char *value, char *err, size_t errlen)
{
	return check_value("value", value, err, errlen);
}

int manifest_check_name(const char *name, char *err, size_t errlen)
{
	return check_name("name", name, err, errlen);
}

int manifest_check_version(const char *version, char *err, size_t errlen)
{
	return check_version("version", version, err, errlen);
}

int manifest_check_sha256(const char *sha256, char *err, size_t errlen)
{
	return check_sha256("sha256", sha256, err, errlen);
}

int manifest_check_url(const char *url, char *err, size_t errlen)
{
	return check_url("source", url, err, errlen);
}

int manifest_check_component(const char *name, const char *version, const char *sha256,
			     const char *const *sources, size_t nsources, char *err, size_t errlen)
{
	if (check_name("name", name, err, errlen) < 0 ||
	    check_version("version", version, err, errlen) < 0 ||
	    check_sha256("sha256", sha256, err, errlen) < 0)
		return -EINVAL;
	if (nsources < 1 || nsources > MANIFEST_SOURCES_MAX) {
		snprintf(err, errlen, "sources: expected 1..%d URLs (got %zu)",
			 MANIFEST_SOURCES_MAX, nsources);
		return -EINVAL;
	}
	for (size_t i = 0; i < nsources; i++) {
		char field[32];
		snprintf(field, sizeof(field), "sources[%zu]", i);
		if (check_url(field, sources[i], err, errlen) < 0)
			return -EINVAL;
	}
	return 0;
}

/* ================= copies ================= */

static void component_free(struct component *c)
{
	free(c->name);
	free(c->version);
	for (unsigned i = 0; i < c->nsources; i++)
		free(c->sources[i]);
	memset(c, 0, sizeof(*c));
}

/* A deep copy of already checked fields. 0 or -ENOMEM (`c` left empty). */
static int component_build(struct component *c, const char *name, const char *version,
			   const char *sha256, const char *const *sources, size_t nsources)
{
	memset(c, 0, sizeof(*c));
	c->name = strdup(name);
	c->version = strdup(version);
	memcpy(c->sha256, sha256, MANIFEST_SHA256_LEN + 1);
	bool ok = c->name && c->version;
	for (size_t i = 0; i < nsources; i++) {
		c->sources[i] = strdup(sources[i]);
		c->nsources++;
		ok = ok && c->sources[i];
	}
	if (!ok) {
		component_free(c);
		return -ENOMEM;
	}
	return 0;
}

void manifest_free(struct manifest *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->nsettings; i++) {
		free(m->settings[i].key);
		free(m->settings[i].value);
	}
	free(m->settings);
	for (size_t i = 0; i < m->ncomponents; i++)
		component_free(&m->components[i]);
	free(m->components);
	free(m->settings_json);
	free(m->components_json);
	memset(m, 0, sizeof(*m));
}

static char *strdup_or_null(const char *s, bool *ok)
{
	if (!s)
		return NULL;
	char *d = strdup(s);
	*ok = *ok && d;
	return d;
}

int manifest_copy(struct manifest *dst, const struct manifest *src)
{
	memset(dst, 0, sizeof(*dst));
	bool ok = true;
	if (src->nsettings) {
		dst->settings = calloc(src->nsettings, sizeof(*dst->settings));
		ok = dst->settings != NULL;
	}
	for (size_t i = 0; ok && i < src->nsettings; i++) {
		dst->nsettings++;
		dst->settings[i].key = strdup_or_null(src->settings[i].key, &ok);
		dst->settings[i].value = strdup_or_null(src->settings[i].value, &ok);
	}
	if (ok && src->ncomponents) {
		dst->components = calloc(src->ncomponents, sizeof(*dst->components));
		ok = dst->components != NULL;
	}
	for (size_t i = 0; ok && i < src->ncomponents; i++) {
		const struct component *c = &src->components[i];
		ok = component_build(&dst->components[i], c->name, c->version, c->sha256,
				     (const char *const *)c->sources, c->nsources) == 0;
		dst->ncomponents += ok;
	}
	dst->settings_json = strdup_or_null(src->settings_json, &ok);
	dst->components_json = strdup_or_null(src->components_json, &ok);
	if (!ok) {
		manifest_free(dst);
		return -ENOMEM;
	}
	return 0;
}

/* ================= edits ================= */

/* The first index whose key is >= `key` (binary search); *found when equal. */
static size_t setting_at(const struct manifest *m, const char *key, bool *found)
{
	size_t lo = 0, hi = m->nsettings;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(m->settings[mid].key, key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = lo < m->nsettings && !strcmp(m->settings[lo].key, key);
	return lo;
}

static size_t component_at(const struct manifest *m, const char *name, bool *found)
{
	size_t lo = 0, hi = m->ncomponents;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(m->components[mid].name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = lo < m->ncomponents && !strcmp(m->components[lo].name, name);
	return lo;
}

const struct endpoint_setting *manifest_find_setting(const struct manifest *m, const char *key)
{
	bool found;
	size_t at = setting_at(m, key, &found);
	return found ? &m->settings[at] : NULL;
}

const struct component *manifest_find_component(const struct manifest *m, const char *name)
{
	bool found;
	size_t at = component_at(m, name, &found);
	return found ? &m->components[at] : NULL;
}

int manifest_set_setting(struct manifest *m, const char *key, const char *value, char *err,
			 size_t errlen)
{
	if (check_key("key", key, err, errlen) < 0 || check_value("value", value, err, errlen) < 0)
		return -EINVAL;
	bool found;
	size_t at = setting_at(m, key, &found);
	if (found && !strcmp(m->settings[at].value, value))
		return MANIFEST_UNCHANGED;
	if (!found && m->nsettings >= MANIFEST_SETTINGS_MAX) {
		snprintf(err, errlen, "key: at most %d endpoint settings (all in use)",
			 MANIFEST_SETTINGS_MAX);
		return -ENOSPC;
	}
	char *v = strdup(value);
	char *k = found ? NULL : strdup(key);
	struct endpoint_setting *grown = NULL;
	if (!found && k)
		grown = realloc(m->settings, (m->nsettings + 1) * sizeof(*grown));
	if (!v || (!found && !grown)) {
		free(v);
		free(k);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (found) {
		free(m->settings[at].value);
		m->settings[at].value = v;
		return MANIFEST_REPLACED;
	}
	m->settings = grown;
	memmove(&m->settings[at + 1], &m->settings[at], (m->nsettings - at) * sizeof(*grown));
	m->settings[at] = (struct endpoint_setting){.key = k, .value = v};
	m->nsettings++;
	return MANIFEST_ADDED;
}

int manifest_del_setting(struct manifest *m, const char *key)
{
	bool found;
	size_t at = setting_at(m, key, &found);
	if (!found)
		return -ENOENT;
	free(m->settings[at].key);
	free(m->settings[at].value);
	memmove(&m->settings[at], &m->settings[at + 1],
		(m->nsettings - at - 1) * sizeof(m->settings[0]));
	m->nsettings--;
	return 0;
}

static bool same_component(const struct component *c, const char *version, const char *sha256,
			   const char *const *sources, size_t nsources)
{
	if (strcmp(c->version, version) || strcmp(c->sha256, sha256) || c->nsources != nsources)
		return false;
	for (size_t i = 0; i < nsources; i++)
		if (strcmp(c->sources[i], sources[i]))
			return false;
	return true;
}

int manifest_put_component(struct manifest *m, const char *name, const char *version,
			   const char *sha256, const char *const *sources, size_t nsources,
			   char *err, size_t errlen)
{
	if (manifest_check_component(name, version, sha256, sources, nsources, err, errlen) < 0)
		return -EINVAL;
	bool found;
	size_t at = component_at(m, name, &found);
	if (found && same_component(&m->components[at], version, sha256, sources, nsources))
		return MANIFEST_UNCHANGED;
	if (!found && m->ncomponents >= MANIFEST_COMPONENTS_MAX) {
		snprintf(err, errlen, "name: at most %d components (all in use)",
			 MANIFEST_COMPONENTS_MAX);
		return -ENOSPC;
	}
	struct component c;
	if (component_build(&c, name, version, sha256, sources, nsources) < 0) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (found) {
		component_free(&m->components[at]);
		m->components[at] = c;
		return MANIFEST_REPLACED;
	}
	struct component *grown = realloc(m->components, (m->ncomponents + 1) * sizeof(*grown));
	if (!grown) {
		component_free(&c);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	m->components = grown;
	memmove(&m->components[at + 1], &m->components[at], (m->ncomponents - at) * sizeof(c));
	m->components[at] = c;
	m->ncomponents++;
	return MANIFEST_ADDED;
}

int manifest_del_component(struct manifest *m, const char *name)
{
	bool found;
	size_t at = component_at(m, name, &found);
	if (!found)
		return -ENOENT;
	component_free(&m->components[at]);
	memmove(&m->components[at], &m->components[at + 1],
		(m->ncomponents - at - 1) * sizeof(m->components[0]));
	m->ncomponents--;
	return 0;
}

/* ================= JSON ================= */

json_t *manifest_settings_json(const struct manifest *m)
{
	json_t *o = json_object();
	for (size_t i = 0; o && i < m->nsettings; i++)
		if (json_object_set_new(o, m->settings[i].key, json_string(m->settings[i].value)) <
		    0) {
			json_decref(o);
			return NULL;
		}
	return o;
}

json_t *manifest_component_json(const struct component *c)
{
	json_t *src = json_array();
	for (unsigned i = 0; src && i < c->nsources; i++)
		if (json_array_append_new(src, json_string(c->sources[i])) < 0) {
			json_decref(src);
			return NULL;
		}
	return json_pack("{s:s, s:s, s:s, s:o}", "name", c->name, "version", c->version, "sha256",
			 c->sha256, "sources", src);
}

json_t *manifest_components_json(const struct manifest *m)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < m->ncomponents; i++)
		if (json_array_append_new(a, manifest_component_json(&m->components[i])) < 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

int manifest_render(struct manifest *m)
{
	json_t *s = manifest_settings_json(m);
	json_t *c = manifest_components_json(m);
	char *st = s ? json_dumps(s, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	char *ct = c ? json_dumps(c, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(s);
	json_decref(c);
	if (!st || !ct) {
		free(st);
		free(ct);
		return -ENOMEM;
	}
	free(m->settings_json);
	free(m->components_json);
	m->settings_json = st;
	m->components_json = ct;
	return 0;
}

/* A check's message, prefixed with where in the file it happened. */
__attribute__((format(printf, 4, 5))) static int at_entry(int rc, char *err, size_t errlen,
							  const char *fmt, ...)
{
	char where[192], why[512];
	snprintf(why, sizeof(why), "%s", err);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(where, sizeof(where), fmt, ap);
	va_end(ap);
	snprintf(err, errlen, "%s%s", where, why);
	return rc;
}

static int component_from_json(struct manifest *m, size_t i, const json_t *c, char *err,
			       size_t errlen)
{
	static const char shape[] = "expected {\"name\": NAME, \"version\": VERSION, "
				    "\"sha256\": HEX, \"sources\": [URL, ...]}";
	if (!json_is_object(c)) {
		snprintf(err, errlen, "components[%zu]: %s", i, shape);
		return -EINVAL;
	}
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)c, k, v) if (strcmp(k, "name") && strcmp(k, "version") &&
						   strcmp(k, "sha256") && strcmp(k, "sources"))
	{
		snprintf(err, errlen, "components[%zu]: unknown member '%.64s'; %s", i, k, shape);
		return -EINVAL;
	}
	static const char *const str_fields[] = {"name", "version", "sha256"};
	const char *s[3];
	for (int f = 0; f < 3; f++) {
		s[f] = json_string_value(json_object_get(c, str_fields[f]));
		if (!s[f]) {
			snprintf(err, errlen, "components[%zu].%s: expected a string", i,
				 str_fields[f]);
			return -EINVAL;
		}
	}
	json_t *src = json_object_get(c, "sources");
	size_t n = json_array_size(src);
	if (!json_is_array(src) || n < 1 || n > MANIFEST_SOURCES_MAX) {
		snprintf(err, errlen, "components[%zu].sources: expected an array of 1..%d URLs", i,
			 MANIFEST_SOURCES_MAX);
		return -EINVAL;
	}
	const char *urls[MANIFEST_SOURCES_MAX];
	for (size_t u = 0; u < n; u++) {
		urls[u] = json_string_value(json_array_get(src, u));
		if (!urls[u]) {
			snprintf(err, errlen, "components[%zu].sources[%zu]: expected a string", i,
				 u);
			return -EINVAL;
		}
	}
	if (manifest_check_component(s[0], s[1], s[2], urls, n, err, errlen) < 0)
		return at_entry(-EINVAL, err, errlen, "components[%zu].", i);
	if (manifest_find_component(m, s[0])) {
		snprintf(err, errlen, "components[%zu].name: '%s' names an earlier component too",
			 i, s[0]);
		return -EINVAL;
	}
	int rc = manifest_put_component(m, s[0], s[1], s[2], urls, n, err, errlen);
	return rc < 0 ? at_entry(rc, err, errlen, "components[%zu]: ", i) : 0;
}

int manifest_from_json(struct manifest *m, const json_t *settings, const json_t *components,
		       char *err, size_t errlen)
{
	int rc = 0;
	if (settings && !json_is_object(settings)) {
		snprintf(err, errlen, "endpoint_settings: expected {KEY: \"VALUE\", ...}");
		return -EINVAL;
	}
	if (components && !json_is_array(components)) {
		snprintf(err, errlen,
			 "components: expected [{\"name\", \"version\", \"sha256\", "
			 "\"sources\"}, ...]");
		return -EINVAL;
	}
	if (json_object_size(settings) > MANIFEST_SETTINGS_MAX) {
		snprintf(err, errlen, "endpoint_settings: %zu keys (at most %d)",
			 json_object_size(settings), MANIFEST_SETTINGS_MAX);
		return -EINVAL;
	}
	if (json_array_size(components) > MANIFEST_COMPONENTS_MAX) {
		snprintf(err, errlen, "components: %zu entries (at most %d)",
			 json_array_size(components), MANIFEST_COMPONENTS_MAX);
		return -EINVAL;
	}
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)settings, key, v)
	{
		/* The key is shown only once it passed its check. */
		if (check_key("key", key, err, errlen) < 0)
			return at_entry(-EINVAL, err, errlen, "endpoint_settings: ");
		if (!json_is_string(v)) {
			snprintf(err, errlen, "endpoint_settings.%s: expected a string", key);
			return -EINVAL;
		}
		rc = manifest_set_setting(m, key, json_string_value(v), err, errlen);
		if (rc < 0)
			return at_entry(rc, err, errlen, "endpoint_settings.%.128s: ", key);
	}
	size_t i;
	json_array_foreach(components, i,
			   v) if ((rc = component_from_json(m, i, v, err, errlen)) < 0) return rc;
	if (manifest_render(m) < 0) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	return 0;
}
