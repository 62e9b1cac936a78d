/*
 * The settings table and its validation. Durations here must carry a unit
 * (STATUS.md: "Durations take a unit"); a bare number is refused rather
 * than guessed as seconds or minutes.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/duration.h"
#include "control/settings.h"

enum setting_kind { KIND_BOOL, KIND_SCOPE, KIND_DURATION, KIND_PERCENT, KIND_DAYS };

struct setting_def {
	const char *name;
	enum setting_kind kind;
	size_t offset;              /* into struct policy */
	uint32_t min, max;
	const char *range;          /* as told to the operator */
	const char *def;
	const char *help;
};

#define FIELD(f) offsetof(struct policy, f)

static const struct setting_def defs[] = {
	{"heartbeat.enabled", KIND_BOOL, FIELD(hb_enabled), 0, 1, "on, off", "on",
	 "endpoints may send heartbeats"},
	{"heartbeat.scope", KIND_SCOPE, FIELD(hb_scope), 0, 1, "all, unreachable", "all",
	 "which endpoints heartbeat: all, or only those in the unreachable network"},
	{"heartbeat.interval", KIND_DURATION, FIELD(hb_interval), 1, SETTING_DURATION_MAX,
	 "1s .. 129600m", "10m", "how often an endpoint sends a heartbeat"},
	{"heartbeat.offline_after", KIND_DURATION, FIELD(offline_after), 1, SETTING_DURATION_MAX,
	 "1s .. 129600m", "30m", "no contact for this long: offline"},
	{"poll.interval", KIND_DURATION, FIELD(poll_interval), 1, SETTING_DURATION_MAX,
	 "1s .. 129600m", "30m", "how often an unreachable endpoint polls"},
	{"guard.threshold", KIND_PERCENT, FIELD(guard_threshold), 0, 100, "0 .. 100 (%, 0 disables)",
	 "50", "mass-offline guard: hold offline transitions above this share (R10)"},
	{"expire.after_days", KIND_DAYS, FIELD(expire_after_days), 1, 3650,
	 "0 (off) or 1 .. 3650 (whole days)", "0",
	 "remove endpoints not heard from for this many days (0: never)"},
};
#define N_DEFS (sizeof(defs) / sizeof(defs[0]))

static uint32_t *u32_field(struct policy *p, const struct setting_def *d)
{
	return (uint32_t *)((char *)p + d->offset);
}

static const struct setting_def *find(const char *name)
{
	for (size_t i = 0; i < N_DEFS; i++)
		if (!strcmp(defs[i].name, name))
			return &defs[i];
	return NULL;
}

static int reject(const struct setting_def *d, const char *value, char *err, size_t errlen,
		  const char *why)
{
	snprintf(err, errlen, "%s: '%s' %s; expected %s", d->name, value, why, d->range);
	return -EINVAL;
}

int settings_set(struct policy *p, const char *name, const char *value, char *err, size_t errlen)
{
	const struct setting_def *d = find(name);
	if (!d) {
		char names[256] = "";
		for (size_t i = 0; i < N_DEFS; i++)
			snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s",
				 i ? ", " : "", defs[i].name);
		snprintf(err, errlen, "unknown setting '%s' (settings: %s; ranges: 'range add')",
			 name, names);
		return -EINVAL;
	}
	uint32_t v;
	switch (d->kind) {
	case KIND_BOOL:
		if (!strcmp(value, "on") || !strcmp(value, "true"))
			p->hb_enabled = true;
		else if (!strcmp(value, "off") || !strcmp(value, "false"))
			p->hb_enabled = false;
		else
			return reject(d, value, err, errlen, "is not on or off");
		return 0;
	case KIND_SCOPE:
		if (!strcmp(value, "all"))
			p->hb_scope = HB_SCOPE_ALL;
		else if (!strcmp(value, "unreachable"))
			p->hb_scope = HB_SCOPE_UNREACHABLE;
		else
			return reject(d, value, err, errlen, "is not a scope");
		return 0;
	case KIND_DURATION: {
		size_t n = strlen(value);
		if (n && value[n - 1] >= '0' && value[n - 1] <= '9')
			return reject(d, value, err, errlen, "needs a unit (s, m, h or d)");
		int rc = duration_parse(value, &v);
		if (rc == -EINVAL)
			return reject(d, value, err, errlen, "is not a duration like 30s, 10m, 2h, 1d");
		if (rc < 0 || v < d->min || v > d->max)
			return reject(d, value, err, errlen, "is out of range");
		*u32_field(p, d) = v;
		return 0;
	}
	case KIND_PERCENT: {
		char *end;
		errno = 0;
		unsigned long pct = strtoul(value, &end, 10);
		if (errno || value[0] < '0' || value[0] > '9' || (*end && strcmp(end, "%")) ||
		    pct > d->max)
			return reject(d, value, err, errlen, "is not a percentage in range");
		*u32_field(p, d) = (uint32_t)pct;
		return 0;
	}
	case KIND_DAYS: {
		/* Whole days, no unit: the name says days, and "1d" here would
		 * suggest that "36h" works too. */
		char *end;
		errno = 0;
		unsigned long days = strtoul(value, &end, 10);
		if (value[0] < '0' || value[0] > '9' || *end)
			return reject(d, value, err, errlen, "is not a whole number of days");
		if (errno || (days != 0 && (days < d->min || days > d->max)))
			return reject(d, value, err, errlen, "is out of range");
		*u32_field(p, d) = (uint32_t)days;
		return 0;
	}
	}
	return -EINVAL;
}

void settings_format_duration(uint32_t s, char *buf, size_t len)
{
	if (s && s % 86400 == 0)
		snprintf(buf, len, "%ud", s / 86400);
	else if (s && s % 3600 == 0)
		snprintf(buf, len, "%uh", s / 3600);
	else if (s && s % 60 == 0)
		snprintf(buf, len, "%um", s / 60);
	else
		snprintf(buf, len, "%us", s);
}

static void format_value(const struct policy *p, const struct setting_def *d, char *buf,
			 size_t len)
{
	switch (d->kind) {
	case KIND_BOOL: snprintf(buf, len, "%s", p->hb_enabled ? "on" : "off"); break;
	case KIND_SCOPE:
		snprintf(buf, len, "%s", p->hb_scope == HB_SCOPE_ALL ? "all" : "unreachable");
		break;
	/* Only these kinds live in uint32_t fields. */
	case KIND_DURATION: settings_format_duration(*u32_field((struct policy *)p, d), buf, len); break;
	case KIND_PERCENT:
	case KIND_DAYS: snprintf(buf, len, "%u", *u32_field((struct policy *)p, d)); break;
	}
}

json_t *settings_show(const struct policy *p)
{
	json_t *list = json_array();
	for (size_t i = 0; i < N_DEFS; i++) {
		char value[32];
		format_value(p, &defs[i], value, sizeof(value));
		json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s}", "name", defs[i].name,
				      "value", value, "default", defs[i].def, "range", defs[i].range,
				      "help", defs[i].help);
		if (defs[i].kind == KIND_DURATION)
			json_object_set_new(o, "seconds",
					    json_integer(*u32_field((struct policy *)p, &defs[i])));
		json_array_append_new(list, o);
	}
	return list;
}

json_t *settings_values(const struct policy *p)
{
	json_t *o = json_object();
	for (size_t i = 0; i < N_DEFS; i++) {
		char value[32];
		format_value(p, &defs[i], value, sizeof(value));
		json_object_set_new(o, defs[i].name, json_string(value));
	}
	return o;
}

static void warn(json_t *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warn(json_t *out, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_array_append_new(out, json_string(msg));
}

void settings_warnings(const struct policy *p, uint32_t clients, json_t *out)
{
	char hb[16], poll[16], off[16];
	settings_format_duration(p->hb_interval, hb, sizeof(hb));
	settings_format_duration(p->poll_interval, poll, sizeof(poll));
	settings_format_duration(p->offline_after, off, sizeof(off));
	if ((uint64_t)p->poll_interval < 3ull * p->hb_interval)
		warn(out, "poll.interval %s is under 3 x heartbeat.interval %s", poll, hb);
	if (p->offline_after <= p->hb_interval)
		warn(out, "heartbeat.offline_after %s is not above heartbeat.interval %s: "
			  "endpoints would flap between online and offline", off, hb);
	if (p->expire_after_days && (uint64_t)p->expire_after_days * 86400 <= p->offline_after)
		warn(out, "expire.after_days %u is not above heartbeat.offline_after %s: endpoints "
			  "would be removed before they go offline", p->expire_after_days, off);
	if (p->hb_enabled && p->hb_interval < 3600 && clients >= LARGE_FLEET)
		warn(out, "heartbeat.interval %s at %u endpoints: about %.0f heartbeats/s "
			  "(intervals under 60m cost bandwidth at this fleet size)",
		     hb, clients, (double)clients / p->hb_interval);
}
