/*
 * The store's health as the control socket shows it (show status, show
 * stats): the alarm raised while commits fail (a full disk, a read-only
 * file system), with the store's own error text, so an operator sees why
 * registrations are being held and that heartbeats are unaffected.
 */
#ifndef GLOURNET_CTL_STORE_H
#define GLOURNET_CTL_STORE_H

#include <stdbool.h>
#include <jansson.h>

#include "control/daemon.h"

/* {"ok", "alarm", "queue_len", "commit_errors", ...}; `full` adds the
 * throughput counters for show stats. JSON null when there is no store. */
json_t *ctl_store_json(const struct gn_daemon *d, bool full);

#endif
