/*
 * Policy snapshots: construction, copy, release. Swapping them is the
 * daemon's job (control/policy_apply.c).
 */
#include <stdlib.h>
#include <string.h>

#include "control/policy.h"
#include "control/settings_table.h"

void policy_default_settings(struct policy *p)
{
#define POLICY_SETTING_DEFAULT(name, kind, field, min, max, def, range, reach, help) p->field = def;
	POLICY_SETTINGS(POLICY_SETTING_DEFAULT)
#undef POLICY_SETTING_DEFAULT
}

struct policy *policy_new_default(void)
{
	struct policy *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	policy_default_settings(p);
	p->rev = 1;
	p->ranges = range_set_build(NULL, 0);
	if (!p->ranges || manifest_render(&p->manifest) < 0) {
		policy_free(p);
		return NULL;
	}
	return p;
}

struct policy *policy_clone(const struct policy *src)
{
	struct policy *p = malloc(sizeof(*p));
	if (!p)
		return NULL;
	*p = *src;
	p->ranges = NULL;
	if (manifest_copy(&p->manifest, &src->manifest) < 0) {
		free(p);
		return NULL;
	}
	size_t n = range_set_count(src->ranges);
	struct range_entry *e = malloc((n ? n : 1) * sizeof(*e));
	if (!e) {
		policy_free(p);
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		e[i] = *range_set_entry(src->ranges, i);
	p->ranges = range_set_build(e, n);
	free(e);
	if (!p->ranges) {
		policy_free(p);
		return NULL;
	}
	return p;
}

bool policy_same_ranges(const struct policy *a, const struct policy *b)
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

static bool same_text(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

bool policy_same(const struct policy *a, const struct policy *b)
{
#define POLICY_SETTING_SAME(name, kind, field, min, max, def, range, reach, help) \
	if (a->field != b->field)                                                 \
		return false;
	POLICY_SETTINGS(POLICY_SETTING_SAME)
#undef POLICY_SETTING_SAME
	/* The manifest as the polls answer it: rendered from entries sorted by
	 * key and name, so the same entries render the same text. */
	return policy_same_ranges(a, b) &&
	       same_text(a->manifest.settings_json, b->manifest.settings_json) &&
	       same_text(a->manifest.components_json, b->manifest.components_json);
}

void policy_free(struct policy *p)
{
	if (!p)
		return;
	range_set_free(p->ranges);
	manifest_free(&p->manifest);
	free(p);
}
