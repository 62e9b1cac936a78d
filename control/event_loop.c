/*
 * epoll wrapper: each fd carries its callback in epoll's data pointer.
 */
#include <errno.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "control/event_loop.h"

int loop_init(struct event_loop *l)
{
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	return l->epfd < 0 ? -errno : 0;
}

void loop_close(struct event_loop *l)
{
	if (l->epfd >= 0)
		close(l->epfd);
	l->epfd = -1;
}

static int ctl(struct event_loop *l, int op, struct loop_watch *w, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = w};
	return epoll_ctl(l->epfd, op, w->fd, &ev) < 0 ? -errno : 0;
}

int loop_add(struct event_loop *l, struct loop_watch *w, uint32_t events)
{
	return ctl(l, EPOLL_CTL_ADD, w, events);
}

int loop_mod(struct event_loop *l, struct loop_watch *w, uint32_t events)
{
	return ctl(l, EPOLL_CTL_MOD, w, events);
}

void loop_del(struct event_loop *l, struct loop_watch *w)
{
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, w->fd, NULL);
}

int loop_run_once(struct event_loop *l, int timeout_ms)
{
	struct epoll_event evs[64];
	int n = epoll_wait(l->epfd, evs, 64, timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (int i = 0; i < n; i++) {
		struct loop_watch *w = evs[i].data.ptr;
		w->fn(w, evs[i].events);
	}
	return n;
}
