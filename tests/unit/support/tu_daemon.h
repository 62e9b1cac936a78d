/*
 * The fake daemon: a struct gn_daemon with what ctl_dispatch and the
 * daemon-level code (expiry, persistence, policy commits) use, and none of
 * what needs sockets, threads or DPDK, plus the calls that put a request
 * line through ctl_dispatch and check the answer's shape. One fixture, so
 * that a change to the daemon's state is made for every test at once.
 */
#ifndef GLOURNET_TU_DAEMON_H
#define GLOURNET_TU_DAEMON_H

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>

#include "control/daemon.h"
#include "control/policy.h"
#include "tu_registry.h"
#include "tu_scratch.h"

/*
 * tu_registry_open's table, registry and default policy, the policy
 * persisted (by set, range, ...) to dir/policy.json, 2 workers, and a
 * collector (and sweep) started at `started`. No feed, no store, the
 * coarse clock untouched. 0 or -1.
 */
int tu_daemon_open(struct gn_daemon *d, const char *dir, uint32_t started);
/* Frees what tu_daemon_open made and what a test added: the feed (also as
 * the registry's), the store, the policy. */
void tu_daemon_close(struct gn_daemon *d);

/* The control tests' daemon: a fresh scratch directory (tag) for its
 * policy, tu_daemon_open with a collector started 1000 s before TU_NOW,
 * settings revision 5 (not the default, so that answers are seen to come
 * from the policy in force), the coarse clock at TU_NOW. 0 or -1. */
int tu_ctl_open(struct gn_daemon *d, struct tu_scratch *dir, const char *tag);
/* tu_daemon_close, and the directory removed. 0 or -1. */
int tu_ctl_close(struct gn_daemon *d, struct tu_scratch *dir);

/* One request line through ctl_dispatch; the answer parsed and checked:
 * one line, a JSON object whose "ok" is want_ok, with a "result" when ok
 * and a non-empty "error" when not. The caller frees it. */
json_t *tu_ctl(struct gn_daemon *d, const char *line, bool want_ok);
/* The same for {"argv": argv} (NULL-terminated). */
json_t *tu_ctl_argv(struct gn_daemon *d, bool want_ok, const char *const *argv);

/* What a restart would load: the policy persisted at d->policy_path. */
struct policy *tu_persisted(const struct gn_daemon *d);

#endif
