/*
 * The control socket's transport: a Unix stream socket, one JSON request
 * per line, one JSON response per line (docs/control-socket.md). What the
 * commands do is in ctl_commands.c, except `watch`, which turns the
 * connection into a stream of transition events and so lives here.
 */
#ifndef GLOURNET_CTL_SERVER_H
#define GLOURNET_CTL_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "control/event_loop.h"

#define CTL_MAX_LINE    65536
#define CTL_MAX_CLIENTS 64
/* Issue 13: a local user (in the socket's group) must not lock the
 * operator out. A uid other than root holds at most this many
 * connections, and root always finds CTL_ROOT_RESERVED of them free. */
#define CTL_MAX_PER_UID   16
#define CTL_ROOT_RESERVED 8
/* A connection that sends no complete request for this long is closed
 * (a watcher is exempt: it streams). */
#define CTL_IDLE_TIMEOUT_MS 30000
/* A refused client is told why, and its connection kept (half closed,
 * unread) this long, so that its request is not met by a reset before it
 * reads the answer; at most this many at a time. */
#define CTL_LINGER_MS  1000
#define CTL_LINGER_MAX 32
/* A watcher's unsent output above this: no more events queued for it until
 * it reads; if the feed overwrites its cursor meanwhile, it is told how many
 * it missed. Bounds memory per slow reader. */
#define CTL_WATCH_OUT_MAX (256 * 1024)

struct gn_daemon;

struct ctl_client {
	struct loop_watch watch;
	struct ctl_server *server;
	char *in;
	size_t in_len;
	char *out;
	size_t out_len, out_off, out_cap;
	bool want_out;      /* EPOLLOUT is armed */
	bool watching;      /* after `watch`: events out, input ignored */
	uint64_t cursor;    /* watching: seq of the next event to send */
	uint32_t uid;       /* SO_PEERCRED */
	uint64_t active_ns; /* accepted, or its last complete request */
};

struct ctl_server {
	struct loop_watch listen_watch;
	struct event_loop *loop;
	struct gn_daemon *daemon;
	const char *path;
	struct ctl_client *clients[CTL_MAX_CLIENTS];
	unsigned long rejected;    /* connections refused: too many clients */
	unsigned long denied;      /* connections refused: not root nor in the socket's group */
	unsigned long idle_closed; /* closed after CTL_IDLE_TIMEOUT_MS without a request */
	uint32_t
		sock_gid; /* the socket file's group (read at each accept): its members may connect */
	unsigned long refusals_unlogged;
	uint64_t refusal_logged_ns;
	struct {
		int fd;
		uint64_t since_ns;
	} linger[CTL_LINGER_MAX]; /* fd -1: free */
	unsigned linger_next;
	unsigned long bad_requests;
	unsigned long watch_missed; /* events watchers were told they missed */
};

int ctl_server_start(struct ctl_server *s, struct event_loop *loop, struct gn_daemon *d,
		     const char *path);
void ctl_server_stop(struct ctl_server *s);
/* Once per event-loop tick, after the sweep: queues new transition events
 * to every watching client (up to CTL_WATCH_OUT_MAX pending each) and
 * writes what the sockets take. Never blocks. */
void ctl_server_pump(struct ctl_server *s);

/* ctl_commands.c: one request line in, one malloc'd response line out. */
char *ctl_dispatch(struct gn_daemon *d, const char *line, size_t len);

#endif
