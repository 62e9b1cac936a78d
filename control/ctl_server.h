/*
 * The control socket's transport: a Unix stream socket, one JSON request
 * per line, one JSON response per line (docs/control-socket.md). What the
 * commands do is in ctl_commands.c.
 */
#ifndef GLOURNET_CTL_SERVER_H
#define GLOURNET_CTL_SERVER_H

#include <stddef.h>

#include "control/event_loop.h"

#define CTL_MAX_LINE   65536
#define CTL_MAX_CLIENTS 64

struct gn_daemon;

struct ctl_client {
	struct loop_watch watch;
	struct ctl_server *server;
	char *in;
	size_t in_len;
	char *out;
	size_t out_len, out_off;
};

struct ctl_server {
	struct loop_watch listen_watch;
	struct event_loop *loop;
	struct gn_daemon *daemon;
	const char *path;
	struct ctl_client *clients[CTL_MAX_CLIENTS];
	unsigned long rejected;      /* connections refused: too many clients */
	unsigned long bad_requests;
};

int ctl_server_start(struct ctl_server *s, struct event_loop *loop, struct gn_daemon *d,
		     const char *path);
void ctl_server_stop(struct ctl_server *s);

/* ctl_commands.c: one request line in, one malloc'd response line out. */
char *ctl_dispatch(struct gn_daemon *d, const char *line, size_t len);

#endif
