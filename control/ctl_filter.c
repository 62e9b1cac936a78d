/*
 * The filters of the fleet queries and the client line (ctl_filter.h).
 * The line is written by hand rather than through jansson: a query of 10 M
 * clients writes 10 M of them, and a json_pack/json_dumps round per client
 * costs several times the snprintf below.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "control/ctl_filter.h"
#include "control/daemon.h"
#include "control/duration.h"
#include "control/registry.h"
#include "control/text.h"

void ctl_filter_init(struct ctl_filter *f)
{
	*f = (struct ctl_filter){.unreachable = -1, .range_index = -1};
}

void ctl_filter_free(struct ctl_filter *f)
{
	free(f->guid_glob);
	free(f->host_glob);
	f->guid_glob = f->host_glob = NULL;
}

/* Bits of the names in a comma list (each checked by ctl_args already). */
static uint32_t name_bits(const char *list, const char *(*name)(int), int count)
{
	uint32_t bits = 0;
	for (const char *p = list; *p;) {
		size_t n = strcspn(p, ",");
		for (int i = 0; i < count; i++)
			if (strlen(name(i)) == n && strncmp(name(i), p, n) == 0)
				bits |= 1u << i;
		p += n + (p[n] == ',');
	}
	return bits;
}

static const char *status_name(int i)
{
	return ep_status_name((enum ep_status)i);
}

static const char *reason_name(int i)
{
	return ep_reason_name((enum ep_reason)i);
}

/* "@UNIX", "YYYY-MM-DD", "YYYY-MM-DDTHH:MM:SS[Z]" (UTC), or a duration
 * before now. 0, or -EINVAL. */
static int parse_when(const char *s, uint32_t now, uint32_t *out)
{
	struct tm tm = {0};
	const char *end;
	if (s[0] == '@') {
		char *e;
		errno = 0;
		unsigned long long v = strtoull(s + 1, &e, 10);
		if (errno || e == s + 1 || *e || v > UINT32_MAX)
			return -EINVAL;
		*out = (uint32_t)v;
		return 0;
	}
	bool iso = (end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)) && (!*end || !strcmp(end, "Z"));
	if (!iso) {
		tm = (struct tm){0};
		iso = (end = strptime(s, "%Y-%m-%d", &tm)) && !*end;
	}
	if (!iso) {
		uint32_t secs;
		if (duration_parse(s, &secs) < 0)
			return -EINVAL;
		*out = secs > now ? 0 : now - secs;
		return 0;
	}
	time_t t = timegm(&tm);
	if (t < 0 || (unsigned long long)t > UINT32_MAX)
		return -EINVAL;
	*out = (uint32_t)t;
	return 0;
}

static int take_range(struct ctl_filter *f, const char *spec, const struct gn_daemon *d, char *err,
		      size_t errlen)
{
	char why[200];
	if (range_parse(spec, &f->range, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "usage: --range: %s", why);
		return -EINVAL;
	}
	f->has_range = true;
	f->range_rev = d->policy->rev - 1; /* resolved at the first refresh */
	if (!ctl_filter_refresh(f, d)) {
		snprintf(err, errlen,
			 "--range %.64s: not one of the unreachable ranges (range list)", spec);
		return -EINVAL;
	}
	return 0;
}

int ctl_filter_take(struct ctl_filter *f, const struct ctl_arg *a, const struct gn_daemon *d,
		    uint32_t now, char *err, size_t errlen)
{
	const char *o = a->opt ? a->opt->name : "";
	const char *v = a->value;
	int rc = 0;
	if (!strcmp(o, "--status")) {
		f->statuses |= (uint8_t)name_bits(v, status_name, EP_STATUS_COUNT);
	} else if (!strcmp(o, "--reason")) {
		f->reasons |= name_bits(v, reason_name, EP_REASON_COUNT);
	} else if (!strcmp(o, "--unreachable") || !strcmp(o, "--reachable")) {
		int want = !strcmp(o, "--unreachable");
		if (f->unreachable >= 0 && f->unreachable != want) {
			snprintf(err, errlen,
				 "usage: --unreachable and --reachable exclude each other");
			return -EINVAL;
		}
		f->unreachable = (int8_t)want;
	} else if (!strcmp(o, "--range")) {
		rc = take_range(f, v, d, err, errlen);
	} else if (!strcmp(o, "--not-seen-since")) {
		if (parse_when(v, now, &f->seen_before) < 0) {
			snprintf(err, errlen,
				 "usage: --not-seen-since: '%.64s' is neither a duration (30m, 7d) "
				 "nor a time (2025-01-31, 2025-01-31T12:00:00Z, @UNIX)",
				 v);
			return -EINVAL;
		}
		f->has_seen_before = true;
	} else if (!strcmp(o, "--never-seen")) {
		f->never_seen = true;
	} else if (!strcmp(o, "--guid") || !strcmp(o, "--hostname")) {
		char **glob = !strcmp(o, "--guid") ? &f->guid_glob : &f->host_glob;
		free(*glob);
		if (!(*glob = strdup(v)))
			return -ENOMEM;
	} else {
		return 0;
	}
	if (rc < 0)
		return rc;
	f->given++;
	return 1;
}

bool ctl_filter_refresh(struct ctl_filter *f, const struct gn_daemon *d)
{
	if (!f->has_range)
		return true;
	if (f->range_rev != d->policy->rev) {
		f->range_index = range_set_find(d->policy->ranges, &f->range);
		f->range_rev = d->policy->rev;
	}
	f->range_gen = d->reg.range_gen;
	return f->range_index >= 0;
}

bool ctl_filter_match(const struct ctl_filter *f, const struct endpoint *ep, uint32_t last_contact)
{
	if (f->statuses && !(f->statuses & (1u << ep->status)))
		return false;
	if (f->reasons && !(f->reasons & (1u << ep->reason)))
		return false;
	if (f->unreachable >= 0 && ep->unreachable != f->unreachable)
		return false;
	if (f->has_range &&
	    (!ep->unreachable || ep->range_gen != f->range_gen || ep->range != f->range_index))
		return false;
	if (f->has_seen_before && last_contact >= f->seen_before)
		return false;
	if (f->never_seen && last_contact)
		return false;
	if (f->guid_glob && fnmatch(f->guid_glob, ep_guid(ep), 0) != 0)
		return false;
	if (f->host_glob && fnmatch(f->host_glob, ep_hostname(ep), 0) != 0)
		return false;
	return true;
}

/* ---- writing ---- */

struct out {
	char *buf;
	size_t cap, n; /* n counts on past cap, as snprintf does */
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int k = vsnprintf(o->n < o->cap ? o->buf + o->n : NULL, o->n < o->cap ? o->cap - o->n : 0,
			  fmt, ap);
	va_end(ap);
	o->n += k > 0 ? (size_t)k : 0;
}

/* Bytes as they are (NUL-terminated while they fit). */
static void put_raw(struct out *o, const char *s, size_t n)
{
	if (o->n < o->cap) {
		size_t room = o->cap - o->n - 1, k = n < room ? n : room;
		memcpy(o->buf + o->n, s, k);
		o->buf[o->n + k] = '\0';
	}
	o->n += n;
}

/* A JSON string; text that is not UTF-8 (never from the API, which checks
 * it) is written as "" rather than as a line the reader cannot parse. */
static void put_str(struct out *o, const char *s)
{
	size_t len = strlen(s);
	if (!text_utf8_valid(s, len))
		len = 0;
	put_raw(o, "\"", 1);
	for (size_t i = 0; i < len;) {
		size_t run = i;
		while (run < len && (unsigned char)s[run] >= 0x20 && s[run] != 0x7f &&
		       s[run] != '"' && s[run] != '\\')
			run++;
		put_raw(o, s + i, run - i);
		if (run < len) {
			unsigned char c = (unsigned char)s[run];
			if (c == '"' || c == '\\')
				put(o, "\\%c", c);
			else
				put(o, "\\u%04x", c);
			run++;
		}
		i = run;
	}
	put_raw(o, "\"", 1);
}

void ctl_filter_describe(const struct ctl_filter *f, char *buf, size_t len)
{
	struct out o = {.buf = buf, .cap = len};
	if (len)
		buf[0] = '\0';
	const char *sep = " --status ";
	for (int i = 0; i < EP_STATUS_COUNT; i++)
		if (f->statuses & (1u << i)) {
			put(&o, "%s%s", sep, ep_status_name((enum ep_status)i));
			sep = ",";
		}
	sep = " --reason ";
	for (int i = 0; i < EP_REASON_COUNT; i++)
		if (f->reasons & (1u << i)) {
			put(&o, "%s%s", sep, ep_reason_name((enum ep_reason)i));
			sep = ",";
		}
	if (f->unreachable >= 0)
		put(&o, " --%s", f->unreachable ? "unreachable" : "reachable");
	if (f->has_range) {
		char r[RANGE_TEXT_MAX];
		range_format(&f->range, r, sizeof(r));
		put(&o, " --range %s", r);
	}
	if (f->has_seen_before) {
		time_t t = f->seen_before;
		struct tm tm;
		char iso[32] = "?";
		if (gmtime_r(&t, &tm))
			strftime(iso, sizeof(iso), "%Y-%m-%dT%H:%M:%SZ", &tm);
		put(&o, " --not-seen-since %s", iso);
	}
	if (f->never_seen)
		put(&o, " --never-seen");
	if (f->guid_glob)
		put(&o, " --guid '%.80s'", f->guid_glob);
	if (f->host_glob)
		put(&o, " --hostname '%.80s'", f->host_glob);
	if (len && buf[0] == ' ')
		memmove(buf, buf + 1, strlen(buf));
}

size_t ctl_client_line(char *buf, size_t cap, const struct gn_daemon *d, const struct endpoint *ep,
		       const char *key)
{
	struct out o = {.buf = buf, .cap = cap};
	if (cap)
		buf[0] = '\0';
	const struct registry *r = &d->reg;
	put(&o, "{\"%s\":{\"id\":\"%016llx\",\"guid\":", key ? key : "client",
	    (unsigned long long)ep->id);
	put_str(&o, ep_guid(ep));
	put(&o, ",\"hostname\":");
	put_str(&o, ep_hostname(ep));
	put(&o, ",\"status\":\"%s\",\"reason\":\"%s\",\"unreachable\":%s,\"range\":",
	    ep_status_name(ep->status), ep_reason_name(ep->reason),
	    ep->unreachable ? "true" : "false");
	int32_t range = registry_range_of(r, ep); /* -1 until reclassified */
	const struct range_entry *re =
		ep->unreachable && range >= 0 && (size_t)range < range_set_count(d->policy->ranges)
			? range_set_entry(d->policy->ranges, (size_t)range)
			: NULL;
	if (re) {
		char text[RANGE_TEXT_MAX];
		range_format(re, text, sizeof(text));
		put(&o, "\"%s\"", text);
	} else {
		put(&o, "null");
	}
	put(&o,
	    ",\"last_contact\":%u,\"last_heartbeat\":%u,\"last_poll\":%u,\"status_since\":%u,"
	    "\"registered\":%u,\"slot\":%u,\"ips\":[",
	    registry_last_contact(r, ep), registry_last_heartbeat(r, ep), ep->last_poll,
	    ep->status_since, ep_registered(ep), ep->slot);
	struct gn_addr addrs[EP_MAX_IPS];
	unsigned nips = ep_ips(ep, addrs);
	for (unsigned i = 0; i < nips; i++) {
		char text[INET6_ADDRSTRLEN] = "?";
		inet_ntop(addrs[i].family, addrs[i].bytes, text, sizeof(text));
		put(&o, "%s\"%s\"", i ? "," : "", text);
	}
	put(&o, "]}}");
	return o.n;
}
