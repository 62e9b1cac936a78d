/*
 * The settings of docs/status.md (and issue #5's expire.after_days), declared
 * once in settings_table.h: the CLI, the config file and the persisted
 * policy all validate through settings_set, so a value is checked the same
 * way wherever it enters.
 */
#ifndef GLOURNET_SETTINGS_H
#define GLOURNET_SETTINGS_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "control/policy.h"
#include "control/settings_table.h"

#define LARGE_FLEET 100000 /* the bandwidth warning starts here */

/* Sets one setting on a draft snapshot. 0, or -EINVAL with a message that
 * names the setting and its range. */
int settings_set(struct policy *draft, const char *name, const char *value, char *err,
		 size_t errlen);

/* [{name, value, seconds?, default, range, help}, ...] */
json_t *settings_show(const struct policy *p);

/* {"name": "value", ...}: what the policy file stores. */
json_t *settings_values(const struct policy *p);

/* The docs/status.md warnings for this policy at this fleet size, appended as
 * strings to `out` (a JSON array). */
void settings_warnings(const struct policy *p, uint32_t clients, json_t *out);

/* "90s", "10m", "2h", "1d": the largest unit that divides exactly. */
void settings_format_duration(uint32_t seconds, char *buf, size_t len);

#endif
