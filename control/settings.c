/*
 * Validation and display of the settings of settings_table.h, a row of
 * `defs` per line of its list. Durations here must carry a unit
 * (docs/status.md: "Durations take a unit"); a bare number is refused rather
 * than guessed as seconds or minutes.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/duration.h"
#include "glournet/duration.h"
#include "control/settings.h"

struct setting_def {
	const char *name;
	enum setting_kind kind;
	size_t offset; /* into struct policy */
	uint32_t min, max;
	const char *range; /* as told to the operator */
	const char *help;
};

#define SETTING_DEF(name, kind, field, min, max, def, range, reach, help) \
	{name, SETTING_##kind, offsetof(struct policy, field), min, max, range, help},
static const struct setting_def defs[] = {POLICY_SETTINGS(SETTING_DEF)};
#undef SETTING_DEF
#define N_DEFS (sizeof(defs) / sizeof(defs[0]))

/* A field whose type is not its kind's would be written through the wrong
 * pointer type. */
#define SETTING_TYPE_CHECK(name, kind, field, min, max, def, range, reach, help)           \
	_Static_assert(sizeof(((struct policy *)0)->field) == sizeof(SETTING_TYPE_##kind), \
		       name ": the field's type is its kind's");
POLICY_SETTINGS(SETTING_TYPE_CHECK)
#undef SETTING_TYPE_CHECK

static void *field_of(const struct policy *p, const struct setting_def *d)
{
	return (char *)p + d->offset;
}

/* Only the duration, percent and day kinds live in uint32_t fields. */
static uint32_t *u32_field(const struct policy *p, const struct setting_def *d)
{
	return field_of(p, d);
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
		char names[512] = "";
		for (size_t i = 0; i < N_DEFS; i++)
			snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s",
				 i ? ", " : "", defs[i].name);
		snprintf(err, errlen, "unknown setting '%s' (settings: %s; ranges: 'range add')",
			 name, names);
		return -EINVAL;
	}
	uint32_t v;
	switch (d->kind) {
	case SETTING_BOOL: {
		bool *b = field_of(p, d);
		if (!strcmp(value, "on") || !strcmp(value, "true"))
			*b = true;
		else if (!strcmp(value, "off") || !strcmp(value, "false"))
			*b = false;
		else
			return reject(d, value, err, errlen, "is not on or off");
		return 0;
	}
	case SETTING_SCOPE: {
		uint8_t *scope = field_of(p, d);
		if (!strcmp(value, "all"))
			*scope = HB_SCOPE_ALL;
		else if (!strcmp(value, "unreachable"))
			*scope = HB_SCOPE_UNREACHABLE;
		else
			return reject(d, value, err, errlen, "is not a scope");
		return 0;
	}
	case SETTING_DURATION_OFF:
		if (!strcmp(value, "0")) { /* off: the one bare number it takes */
			*u32_field(p, d) = 0;
			return 0;
		}
		__attribute__((fallthrough)); /* otherwise a duration in its range */
	case SETTING_DURATION: {
		/* The one grammar (glournet/duration.h), with the contract's
		 * rule for settings (STATUS.md: "Durations take a unit"): a bare
		 * number, seconds in the programs' options, is refused here, so
		 * "set heartbeat.offline_after 10" never means 10 s by mistake. */
		if (value[0] && strspn(value, "0123456789") == strlen(value))
			return reject(d, value, err, errlen, "needs a unit (30s, 10m, 2h, 1d)");
		int rc = duration_parse(value, &v);
		if (rc == -EINVAL)
			return reject(d, value, err, errlen,
				      "is not a duration: write " GN_DURATION_FORMS);
		if (rc == -EDOM)
			return reject(d, value, err, errlen,
				      "is finer than it takes (whole seconds)");
		if (rc == 0 && v == 0 && d->kind == SETTING_DURATION_OFF) {
			*u32_field(p, d) = 0; /* "0s", "0m": off as well */
			return 0;
		}
		if (rc < 0 || v < d->min || v > d->max)
			return reject(d, value, err, errlen, "is out of range");
		*u32_field(p, d) = v;
		return 0;
	}
	case SETTING_PERCENT: {
		char *end;
		errno = 0;
		unsigned long pct = strtoul(value, &end, 10);
		if (errno || value[0] < '0' || value[0] > '9' || (*end && strcmp(end, "%")) ||
		    pct > d->max)
			return reject(d, value, err, errlen, "is not a percentage in range");
		*u32_field(p, d) = (uint32_t)pct;
		return 0;
	}
	case SETTING_COUNT: {
		char *end;
		errno = 0;
		unsigned long n = strtoul(value, &end, 10);
		if (value[0] < '0' || value[0] > '9' || *end)
			return reject(d, value, err, errlen, "is not a whole number");
		if (errno || n < d->min || n > d->max)
			return reject(d, value, err, errlen, "is out of range");
		*u32_field(p, d) = (uint32_t)n;
		return 0;
	}
	case SETTING_DAYS: {
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

static void format_value(const struct policy *p, const struct setting_def *d, char *buf, size_t len)
{
	switch (d->kind) {
	case SETTING_BOOL:
		snprintf(buf, len, "%s", *(bool *)field_of(p, d) ? "on" : "off");
		break;
	case SETTING_SCOPE:
		snprintf(buf, len, "%s",
			 *(uint8_t *)field_of(p, d) == HB_SCOPE_ALL ? "all" : "unreachable");
		break;
	case SETTING_DURATION_OFF:
		if (!*u32_field(p, d)) {
			snprintf(buf, len, "0");
			break;
		}
		__attribute__((fallthrough));
	case SETTING_DURATION:
		settings_format_duration(*u32_field(p, d), buf, len);
		break;
	case SETTING_PERCENT:
	case SETTING_DAYS:
	case SETTING_COUNT:
		snprintf(buf, len, "%u", *u32_field(p, d));
		break;
	}
}

json_t *settings_show(const struct policy *p)
{
	struct policy def = {0};
	policy_default_settings(&def); /* the defaults, written as values are */
	json_t *list = json_array();
	for (size_t i = 0; i < N_DEFS; i++) {
		char value[32], dflt[32];
		format_value(p, &defs[i], value, sizeof(value));
		format_value(&def, &defs[i], dflt, sizeof(dflt));
		json_t *o =
			json_pack("{s:s, s:s, s:s, s:s, s:s}", "name", defs[i].name, "value", value,
				  "default", dflt, "range", defs[i].range, "help", defs[i].help);
		if (defs[i].kind == SETTING_DURATION || defs[i].kind == SETTING_DURATION_OFF)
			json_object_set_new(o, "seconds", json_integer(*u32_field(p, &defs[i])));
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
	char msg[320];
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
		warn(out,
		     "heartbeat.offline_after %s is not above heartbeat.interval %s: "
		     "endpoints would flap between online and offline",
		     off, hb);
	if (p->expire_after_days && (uint64_t)p->expire_after_days * 86400 <= p->offline_after)
		warn(out,
		     "expire.after_days %u is not above heartbeat.offline_after %s: endpoints "
		     "would be removed before they go offline",
		     p->expire_after_days, off);
	/* R12: between two verifications (and their retries) an endpoint that
	 * does not heartbeat has no other contact. */
	uint64_t verify_span =
		(uint64_t)p->verify_interval + (uint64_t)p->notify_retries * p->notify_retry_after;
	if (p->verify_interval && !policy_hb_applies(p, false) && verify_span >= p->offline_after) {
		char vi[16];
		settings_format_duration(p->verify_interval, vi, sizeof(vi));
		warn(out,
		     "verify.interval %s plus notify.retries %u x notify.retry_after %us is not "
		     "below heartbeat.offline_after %s while heartbeat does not apply to regular "
		     "endpoints: they would go offline between two verifications",
		     vi, p->notify_retries, p->notify_retry_after, off);
	}
	/* A verification restarts the round of one that has not acked: with
	 * rounds longer than the interval, a silent endpoint never exhausts
	 * its retries and never goes offline with reason no-ack. */
	uint64_t round = (uint64_t)(1 + p->notify_retries) * p->notify_retry_after;
	if (p->verify_interval && round > p->verify_interval) {
		char vi[16];
		settings_format_duration(p->verify_interval, vi, sizeof(vi));
		warn(out,
		     "verify.interval %s is shorter than a round of (1 + notify.retries %u) x "
		     "notify.retry_after %us: a silent endpoint's round restarts before it ends, "
		     "so it never goes offline with reason no-ack",
		     vi, p->notify_retries, p->notify_retry_after);
	}
	if (p->hb_enabled && p->hb_interval < 3600 && clients >= LARGE_FLEET)
		warn(out,
		     "heartbeat.interval %s at %u endpoints: about %.0f heartbeats/s "
		     "(intervals under 60m cost bandwidth at this fleet size)",
		     hb, clients, (double)clients / p->hb_interval);
}
