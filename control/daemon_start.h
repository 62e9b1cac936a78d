/*
 * glournetd's start-up and shutdown steps (daemon_start.c), called in
 * order by main.c.
 */
#ifndef GLOURNET_DAEMON_START_H
#define GLOURNET_DAEMON_START_H

#include <signal.h>

#include "control/daemon.h"

int start_dataplane(struct gn_daemon *d); /* port, pool, slot table */
int start_control(struct gn_daemon *d, sigset_t *sigs, struct loop_watch *sigw);
int launch_workers(struct gn_daemon *d);
void drain_worker_events(struct gn_daemon *d, uint32_t now);
void shutdown_all(struct gn_daemon *d);

#endif
