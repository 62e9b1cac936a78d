/*
 * The control thread's one event loop: epoll over the control socket,
 * the HTTP server's epoll fd, signals. Callbacks, no threads.
 */
#ifndef GLOURNET_EVENT_LOOP_H
#define GLOURNET_EVENT_LOOP_H

#include <stdint.h>

struct loop_watch;
typedef void (*loop_fn)(struct loop_watch *w, uint32_t events);

struct loop_watch {
	int fd;
	loop_fn fn;
	void *ctx;
};

struct event_loop {
	int epfd;
};

int loop_init(struct event_loop *l);
void loop_close(struct event_loop *l);
int loop_add(struct event_loop *l, struct loop_watch *w, uint32_t events);
int loop_mod(struct event_loop *l, struct loop_watch *w, uint32_t events);
void loop_del(struct event_loop *l, struct loop_watch *w);
/* Waits up to timeout_ms and dispatches what is ready. */
int loop_run_once(struct event_loop *l, int timeout_ms);

#endif
