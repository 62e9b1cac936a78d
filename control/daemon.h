/*
 * The daemon's state, owned by the control thread and handed to the parts
 * that serve it (HTTP API, control socket, sweep).
 */
#ifndef GLOURNET_DAEMON_H
#define GLOURNET_DAEMON_H

#include <stdbool.h>
#include <stdint.h>

#include "control/ctl_server.h"
#include "control/event_loop.h"
#include "control/http_counters.h"
#include "control/http_server.h"
#include "control/options.h"
#include "control/registry.h"
#include "glournet/port.h"
#include "glournet/slot_table.h"
#include "glournet/worker.h"

struct gn_daemon {
	struct gn_options opt;
	struct event_loop loop;
	struct slot_table table;
	struct registry reg;
	struct http_counters http_counters;
	struct http_server http;
	struct ctl_server ctl;
	uint16_t port_id;
	struct port_stats port_stats;  /* refreshed by the main loop */
	unsigned nworkers;
	struct worker_conf workers[GN_MAX_WORKERS];
	struct worker_counters counters[GN_MAX_WORKERS];
	uint32_t started;
	uint32_t last_sweep;
	volatile bool stop_workers;
	volatile bool quit;
};

#endif
