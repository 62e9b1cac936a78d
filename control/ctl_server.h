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
#include "control/loop_job.h"

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
struct ctl_query;

struct ctl_client {
	struct loop_watch watch;
	struct ctl_server *server;
	char *in;
	size_t in_len;
	char *out;
	size_t out_len, out_off, out_cap;
	bool want_out;           /* EPOLLOUT is armed */
	bool in_paused;          /* EPOLLIN is not (a stream's requests fill the input) */
	bool watching;           /* after `watch`: events out, input ignored */
	uint64_t cursor;         /* watching: seq of the next event to send */
	uint32_t uid;            /* SO_PEERCRED */
	uint64_t active_ns;      /* accepted, or its last complete request */
	bool read_only;          /* came through the read-only socket */
	bool eof;                /* half-closed during a stream: closed when all is sent */
	struct ctl_query *query; /* a streaming answer under way (show clients...):
				  * its input waits, unread, until it ends */
};

/* One listening socket: the main one, or the read-only one (show and
 * watch only, ctl_commands.h's CTL_F_READ), each with its own mode and
 * group (--ctl-socket-mode, --ctl-socket-group, and -ro- for the other). */
struct ctl_listener {
	struct loop_watch watch; /* fd 0: not listening */
	struct ctl_server *server;
	const char *path;
	unsigned mode; /* as created: 0660 unless configured */
	uint32_t gid;  /* the file's group (read at each accept): its members may connect */
	bool read_only;
};

struct ctl_server {
	struct ctl_listener main, ro;
	struct event_loop *loop;
	struct gn_daemon *daemon;
	struct ctl_client *clients[CTL_MAX_CLIENTS];
	unsigned long rejected;    /* connections refused: too many clients */
	unsigned long denied;      /* connections refused: not root nor in the socket's group */
	unsigned long idle_closed; /* closed after CTL_IDLE_TIMEOUT_MS without a request */
	unsigned long refusals_unlogged;
	uint64_t refusal_logged_ns;
	struct {
		int fd;
		uint64_t since_ns;
	} linger[CTL_LINGER_MAX]; /* fd -1: free */
	unsigned linger_next;
	unsigned long bad_requests;
	unsigned long watch_missed;        /* events watchers were told they missed */
	unsigned long queries;             /* streaming queries begun */
	struct loop_job_stats query_stats; /* the "query" job's slices */
};

/* Listens on `path` (mode and group from d->opt: --ctl-socket-mode,
 * --ctl-socket-group), and on d->opt.ctl_socket_ro as well when set. */
int ctl_server_start(struct ctl_server *s, struct event_loop *loop, struct gn_daemon *d,
		     const char *path);
void ctl_server_stop(struct ctl_server *s);
/* Once per event-loop tick, after the sweep: queues new transition events
 * to every watching client (up to CTL_WATCH_OUT_MAX pending each) and
 * writes what the sockets take. Never blocks. */
void ctl_server_pump(struct ctl_server *s);

/* The "query" job (daemon_jobs.c): steps every streaming query (ctl_clients.h)
 * of the connections, sharing the budget, while its reader keeps up; true
 * while one has more to do at once. */
bool ctl_server_step_queries(void *self, uint32_t now, uint64_t budget_ns);

/* ctl_commands.c: one request line in, one malloc'd response line out, as
 * from the main socket (a streaming command gives its first answer only). */
char *ctl_dispatch(struct gn_daemon *d, const char *line, size_t len);

#endif
