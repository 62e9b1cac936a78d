/*
 * The endpoint manifest of the policy (docs/protocol.md §3, GET /v1/poll):
 * free-form endpoint settings (key → string) and the components the
 * endpoints should run (name, version, sha256, download sources).
 *
 * A manifest lives inside a policy snapshot and follows its rules: it is
 * edited only on a draft, then never again once committed. The poll answer
 * does not walk it: manifest_render writes both halves as compact JSON text
 * once, on the draft, and every poll copies that text.
 *
 * Every entry goes through the same checks wherever it enters (the CLI, the
 * policy file), with a message that names the field and what it expects.
 */
#ifndef GLOURNET_MANIFEST_H
#define GLOURNET_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#define MANIFEST_SETTINGS_MAX   1000
#define MANIFEST_KEY_MAX        128  /* bytes, printable ASCII but space */
#define MANIFEST_VALUE_MAX      4096 /* bytes of UTF-8 */
#define MANIFEST_COMPONENTS_MAX 1000
#define MANIFEST_NAME_MAX       64 /* [A-Za-z0-9._-] */
#define MANIFEST_VERSION_MAX    64 /* printable ASCII */
#define MANIFEST_SHA256_LEN     64 /* lowercase hex */
#define MANIFEST_SOURCES_MAX    8
#define MANIFEST_URL_MAX        2048

struct endpoint_setting {
	char *key;
	char *value;
};

struct component {
	char *name;
	char *version;
	char sha256[MANIFEST_SHA256_LEN + 1];
	unsigned nsources; /* 1..MANIFEST_SOURCES_MAX */
	char *sources[MANIFEST_SOURCES_MAX];
};

struct manifest {
	size_t nsettings;
	struct endpoint_setting *settings; /* sorted by key (bytewise) */
	size_t ncomponents;
	struct component *components; /* sorted by name (bytewise) */
	/* Rendered by manifest_render: {"key":"value",...} and
	 * [{"name":..,"version":..,"sha256":..,"sources":[..]},...]. */
	char *settings_json;
	char *components_json;
};

/* The checks, one per field. 0, or -EINVAL with "FIELD: expected ..." in err. */
int manifest_check_key(const char *key, char *err, size_t errlen);
int manifest_check_value(const char *value, char *err, size_t errlen);
int manifest_check_name(const char *name, char *err, size_t errlen);
int manifest_check_version(const char *version, char *err, size_t errlen);
int manifest_check_sha256(const char *sha256, char *err, size_t errlen);
int manifest_check_url(const char *url, char *err, size_t errlen);
/* All fields of one component, sources included ("sources[2]: ..."). */
int manifest_check_component(const char *name, const char *version, const char *sha256,
			     const char *const *sources, size_t nsources, char *err, size_t errlen);

/* A deep copy of `src` into `dst` (rendered text included). 0 or -ENOMEM;
 * on failure `dst` is left empty. */
int manifest_copy(struct manifest *dst, const struct manifest *src);
void manifest_free(struct manifest *m); /* frees the contents, not `m` */

/* Edits of a draft. They do not re-render: call manifest_render after. */
enum manifest_change { MANIFEST_ADDED, MANIFEST_REPLACED, MANIFEST_UNCHANGED };

/* Sets one endpoint setting (checked). MANIFEST_ADDED/REPLACED/UNCHANGED,
 * or -EINVAL / -ENOSPC (over MANIFEST_SETTINGS_MAX) / -ENOMEM with err. */
int manifest_set_setting(struct manifest *m, const char *key, const char *value, char *err,
			 size_t errlen);
/* 0, or -ENOENT when `key` is not set. */
int manifest_del_setting(struct manifest *m, const char *key);
const struct endpoint_setting *manifest_find_setting(const struct manifest *m, const char *key);

/* Adds a component, or replaces the one of the same name (all fields
 * checked). As manifest_set_setting. */
int manifest_put_component(struct manifest *m, const char *name, const char *version,
			   const char *sha256, const char *const *sources, size_t nsources,
			   char *err, size_t errlen);
/* 0, or -ENOENT when no component has that name. */
int manifest_del_component(struct manifest *m, const char *name);
const struct component *manifest_find_component(const struct manifest *m, const char *name);

/* Writes settings_json and components_json from the entries. 0 or -ENOMEM
 * (the previous text is kept then). */
int manifest_render(struct manifest *m);

/* New JSON values, as the policy file and the CLI show them:
 * {"key": "value", ...} and [{name, version, sha256, sources}, ...]. */
json_t *manifest_settings_json(const struct manifest *m);
json_t *manifest_components_json(const struct manifest *m);
json_t *manifest_component_json(const struct component *c);

/* Fills an empty manifest from the policy file's "endpoint_settings" object
 * and "components" array (either may be NULL: absent), checking each entry
 * and the shape. Renders on success. 0, or -EINVAL / -ENOMEM with err
 * naming the entry ("components[3].sha256: expected ..."). */
int manifest_from_json(struct manifest *m, const json_t *settings, const json_t *components,
		       char *err, size_t errlen);

#endif
