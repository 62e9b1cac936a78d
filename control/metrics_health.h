/*
 * What /healthz and /readyz answer (docs/metrics.md). Alive: the control
 * loop answered at all. Ready, i.e. serving: the store is open and not in
 * alarm (registrations are answered once durable), the port's link is up
 * (heartbeats can arrive), and the loop is turning (its sweep keeps its
 * schedule). Each check is one line, [+] passed or [-] failed, so the
 * answer says why as well as whether.
 */
#ifndef GLOURNET_METRICS_HEALTH_H
#define GLOURNET_METRICS_HEALTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct gn_daemon;

/* The sweep is late, and the loop counted as stuck, when its last pass
 * began longer ago than this (seconds). */
static inline uint32_t metrics_sweep_late(uint32_t interval)
{
	return 3 * interval + 5;
}

/* Writes "ready\n" or "not ready\n" and one line per check into `text`;
 * `link` 1 up, 0 down, -1 not known (passes: a PMD that cannot tell is
 * not down). Returns whether every check passed. */
bool metrics_readiness(const struct gn_daemon *d, int link, uint32_t now, char *text, size_t len);

#endif
