/*
 * One listening control socket (ctl_server.h's struct ctl_listener): made
 * so that nobody but glournetd can connect until it has its group and
 * mode, and the credential check of each client against them. Below
 * ctl_server.c, which accepts and serves.
 */
#ifndef GLOURNET_CTL_LISTEN_H
#define GLOURNET_CTL_LISTEN_H

#include <stdbool.h>
#include <sys/socket.h>

#include "control/ctl_server.h"

#define CTL_SOCKET_MODE 0660 /* unless --ctl-socket-mode */

/* Binds and listens on `path` (l->watch.fd set; nothing added to a loop):
 * the socket born 0600 under umask, then given `group` (a name or a gid;
 * NULL: glournetd's own) and `mode` (0: CTL_SOCKET_MODE), in that order. A
 * stale socket file is replaced; one a live glournetd answers on is
 * -EADDRINUSE. `what` names the option in log lines. 0 or -errno. */
int ctl_listen_open(struct ctl_listener *l, const char *path, unsigned mode, const char *group,
		    const char *what);
/* Closes and unlinks it (nothing when it never opened). */
void ctl_listen_close(struct ctl_listener *l, struct event_loop *loop);

/* Whether this client may use the socket: root, glournetd's uid, a member
 * of the socket file's group as it is now (a chgrp after start counts),
 * or anyone when the configured mode lets others connect (o+w). */
bool ctl_listen_allows(struct ctl_listener *l, int fd, const struct ucred *cr);

#endif
