/*
 * Control-socket transport: non-blocking accept, read until a newline,
 * dispatch, queue the answer and write it as the socket allows. The
 * control thread never blocks on a slow or stuck client.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define LOG_TAG "ctl"
#include "control/ctl_server.h"
#include "glournet/log.h"

static void client_close(struct ctl_client *c)
{
	struct ctl_server *s = c->server;
	for (unsigned i = 0; i < CTL_MAX_CLIENTS; i++)
		if (s->clients[i] == c)
			s->clients[i] = NULL;
	loop_del(s->loop, &c->watch);
	close(c->watch.fd);
	free(c->in);
	free(c->out);
	free(c);
}

static int flush_out(struct ctl_client *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->watch.fd, c->out + c->out_off, c->out_len - c->out_off,
				 MSG_NOSIGNAL);
		if (n < 0)
			return errno == EAGAIN ? 0 : -errno;
		c->out_off += (size_t)n;
	}
	free(c->out);
	c->out = NULL;
	c->out_len = c->out_off = 0;
	return 0;
}

static int queue_out(struct ctl_client *c, char *resp)
{
	size_t n = strlen(resp);
	char *b = realloc(c->out, c->out_len + n + 1);
	if (!b) {
		free(resp);
		return -ENOMEM;
	}
	memcpy(b + c->out_len, resp, n);
	b[c->out_len + n] = '\n';
	c->out = b;
	c->out_len += n + 1;
	free(resp);
	return 0;
}

/* Answers every complete line in the input buffer. */
static int handle_lines(struct ctl_client *c)
{
	char *start = c->in, *nl;
	while ((nl = memchr(start, '\n', c->in_len - (size_t)(start - c->in)))) {
		*nl = '\0';
		int rc = queue_out(c, ctl_dispatch(c->server->daemon, start, (size_t)(nl - start)));
		if (rc < 0)
			return rc;
		start = nl + 1;
	}
	size_t rest = c->in_len - (size_t)(start - c->in);
	memmove(c->in, start, rest);
	c->in_len = rest;
	if (rest >= CTL_MAX_LINE) {
		c->server->bad_requests++;
		LOG(WARN, "control client sent a line over %d bytes; closing it", CTL_MAX_LINE);
		return -EMSGSIZE;
	}
	return 0;
}

static void on_client(struct loop_watch *w, uint32_t events)
{
	struct ctl_client *c = w->ctx;
	if (events & EPOLLIN) {
		ssize_t n = recv(w->fd, c->in + c->in_len, CTL_MAX_LINE + 1 - c->in_len, 0);
		if (n == 0 || (n < 0 && errno != EAGAIN)) {
			client_close(c);
			return;
		}
		if (n > 0) {
			c->in_len += (size_t)n;
			if (handle_lines(c) < 0) {
				client_close(c);
				return;
			}
		}
	} else if (events & (EPOLLHUP | EPOLLERR)) {
		client_close(c);
		return;
	}
	if (flush_out(c) < 0) {
		client_close(c);
		return;
	}
	loop_mod(c->server->loop, &c->watch, EPOLLIN | (c->out ? EPOLLOUT : 0));
}

static void on_accept(struct loop_watch *w, uint32_t events)
{
	(void)events;
	struct ctl_server *s = w->ctx;
	int fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	unsigned slot = 0;
	while (slot < CTL_MAX_CLIENTS && s->clients[slot])
		slot++;
	struct ctl_client *c = slot < CTL_MAX_CLIENTS ? calloc(1, sizeof(*c)) : NULL;
	char *in = c ? malloc(CTL_MAX_LINE + 1) : NULL;
	if (!in) {
		s->rejected++;
		LOG(WARN, "control socket: refusing a client (%u connected)", CTL_MAX_CLIENTS);
		free(c);
		close(fd);
		return;
	}
	c->in = in;
	c->server = s;
	c->watch = (struct loop_watch){.fd = fd, .fn = on_client, .ctx = c};
	s->clients[slot] = c;
	if (loop_add(s->loop, &c->watch, EPOLLIN) < 0)
		client_close(c);
}

int ctl_server_start(struct ctl_server *s, struct event_loop *loop, struct gn_daemon *d,
		     const char *path)
{
	memset(s, 0, sizeof(*s));
	s->loop = loop;
	s->daemon = d;
	s->path = path;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path)) {
		LOG(ERR, "--ctl-socket '%s': path too long (max %zu)", path, sizeof(sa.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	char dir[sizeof(sa.sun_path)];
	strcpy(dir, path);
	mkdir(dirname(dir), 0750);   /* /run/glournet on first start; fine if present */

	/* A stale socket from a crashed run would block bind: probe, then unlink. */
	int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		LOG(ERR, "control socket %s is in use: is another glournetd running?", path);
		close(probe);
		return -EADDRINUSE;
	}
	if (probe >= 0)
		close(probe);
	unlink(path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 16) < 0) {
		int e = errno;
		LOG(ERR, "control socket %s: %s", path, strerror(e));
		close(fd);
		return -e;
	}
	chmod(path, 0660);
	s->listen_watch = (struct loop_watch){.fd = fd, .fn = on_accept, .ctx = s};
	int rc = loop_add(loop, &s->listen_watch, EPOLLIN);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	LOG(INFO, "control socket on %s", path);
	return 0;
}

void ctl_server_stop(struct ctl_server *s)
{
	for (unsigned i = 0; i < CTL_MAX_CLIENTS; i++)
		if (s->clients[i])
			client_close(s->clients[i]);
	if (s->listen_watch.fd > 0) {
		loop_del(s->loop, &s->listen_watch);
		close(s->listen_watch.fd);
		unlink(s->path);
	}
}
