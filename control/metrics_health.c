/*
 * The readiness checks of /readyz (metrics_health.h). Kept apart from the
 * HTTP glue so that the unit tests can put a fake daemon through every
 * check. The mass-offline guard (R10) is not among them: it is the fleet
 * going silent, which sending the collector's traffic elsewhere would not
 * mend; it has its own alert (deploy/prometheus/glournet-rules.yml).
 */
#include <stdarg.h>
#include <stdio.h>

#include "control/daemon.h"
#include "control/metrics_health.h"
#include "control/store.h"

struct lines {
	char *buf;
	size_t len, cap;
};

/* One check's line: [+] or [-], then the text; cut at the end of the
 * buffer, never past it. */
__attribute__((format(printf, 3, 4))) static void add(struct lines *l, bool ok, const char *fmt,
						      ...)
{
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	int w = snprintf(l->buf + l->len, l->cap - l->len, "[%c]%s\n", ok ? '+' : '-', line);
	if (w > 0)
		l->len += (size_t)w < l->cap - l->len ? (size_t)w : l->cap - l->len - 1;
}

bool metrics_readiness(const struct gn_daemon *d, int link, uint32_t now, char *text, size_t len)
{
	char body[1024], why[400];
	struct lines l = {body, 0, sizeof(body)};
	body[0] = '\0';
	bool store_ok = d->store && !store_degraded(d->store, why, sizeof(why));
	if (!d->store)
		add(&l, false, "store: not open");
	else if (!store_ok)
		add(&l, false, "store: alarm: %s", why);
	else
		add(&l, true, "store ok");
	bool link_ok = link != 0;
	add(&l, link_ok, "link %s (port %u)",
	    link > 0    ? "up"
	    : link == 0 ? "down"
			: "not known",
	    (unsigned)d->port_id);
	uint32_t since = now > d->sweep.last_start ? now - d->sweep.last_start : 0;
	bool loop_ok = since <= metrics_sweep_late(d->sweep.interval);
	if (loop_ok)
		add(&l, true, "loop ok (the last sweep pass began %us ago)", since);
	else
		add(&l, false,
		    "loop: the sweep is late: its last pass began %us ago (interval %us)", since,
		    d->sweep.interval);
	bool ready = store_ok && link_ok && loop_ok;
	snprintf(text, len, "%s\n%s", ready ? "ready" : "not ready", body);
	return ready;
}
