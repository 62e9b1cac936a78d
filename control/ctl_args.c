/*
 * Reading a command's options against its declared list (ctl_args.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "control/ctl_args.h"
#include "control/ep_names.h"
#include "control/settings_table.h"

/* clang-format off */
#define STATUS_WORD(name, str) str "|"
#define REASON_WORD(name, str) str "|"
static const char statuses[] = EP_STATUSES(STATUS_WORD);
static const char reasons[] = EP_REASONS(REASON_WORD);
#define SETTING_WORD(name, kind, field, min, max, dflt, range, reach, help) name "|"
static const char settings[] = POLICY_SETTINGS(SETTING_WORD);
/* clang-format on */

const char *ctl_args_choices(const char *choices)
{
	if (choices && strcmp(choices, "@statuses") == 0)
		return statuses;
	if (choices && strcmp(choices, "@reasons") == 0)
		return reasons;
	if (choices && strcmp(choices, "@settings") == 0)
		return settings;
	return choices;
}

bool ctl_args_is_choice(const char *choices, const char *word, size_t len)
{
	const char *c = ctl_args_choices(choices);
	while (c && *c) {
		size_t n = strcspn(c, "|");
		if (n == len && len && strncmp(c, word, len) == 0)
			return true;
		c += n + (c[n] == '|');
	}
	return false;
}

/* Every comma-separated item of value is one of the choices. */
static bool valid_choice(const char *choices, const char *value, const char **bad, size_t *badlen)
{
	const char *p = value;
	for (;;) {
		size_t n = strcspn(p, ",");
		if (!ctl_args_is_choice(choices, p, n)) {
			*bad = p;
			*badlen = n;
			return false;
		}
		if (!p[n])
			return true;
		p += n + 1;
	}
}

static const struct ctl_opt *find(const struct ctl_opt *opts, const char *word, size_t len)
{
	for (const struct ctl_opt *o = opts; o && o->name; o++)
		if (strlen(o->name) == len && strncmp(o->name, word, len) == 0)
			return o;
	return NULL;
}

int ctl_args_next(struct ctl_args *it, struct ctl_arg *a, char *err, size_t errlen)
{
	if (it->i >= it->argc)
		return 0;
	const char *w = it->argv[it->i++];
	if (!it->rest && it->opts && strcmp(w, "--") == 0) {
		it->rest = true;
		if (it->i >= it->argc)
			return 0;
		w = it->argv[it->i++];
	}
	if (it->rest || !it->opts || strncmp(w, "--", 2) != 0) {
		*a = (struct ctl_arg){.opt = NULL, .value = w};
		return 1;
	}
	const char *eq = strchr(w, '=');
	size_t len = eq ? (size_t)(eq - w) : strlen(w);
	const struct ctl_opt *o = find(it->opts, w, len);
	if (!o) {
		snprintf(err, errlen, "usage: unknown option '%.*s'", (int)(len > 64 ? 64 : len),
			 w);
		return -EINVAL;
	}
	const char *value = NULL;
	if (o->value && eq) {
		value = eq + 1;
	} else if (o->value) {
		if (it->i >= it->argc) {
			snprintf(err, errlen, "usage: %s needs a value (%s)", o->name, o->value);
			return -EINVAL;
		}
		value = it->argv[it->i++];
	} else if (eq) {
		snprintf(err, errlen, "usage: %s takes no value", o->name);
		return -EINVAL;
	}
	const char *bad;
	size_t badlen;
	if (value && o->choices && !valid_choice(o->choices, value, &bad, &badlen)) {
		char list[400];
		snprintf(list, sizeof(list), "%s", ctl_args_choices(o->choices));
		for (char *p = list; (p = strchr(p, '|'));)
			*p = ' ';
		size_t n = strlen(list);
		if (n && list[n - 1] == ' ')
			list[n - 1] = '\0';
		snprintf(err, errlen, "usage: %s: '%.*s' is not one of: %s", o->name,
			 (int)(badlen > 64 ? 64 : badlen), bad, list);
		return -EINVAL;
	}
	*a = (struct ctl_arg){.opt = o, .value = value};
	return 1;
}
