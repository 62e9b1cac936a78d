/*
 * The recvmmsg baseline (see kernel_baseline.h). Loopback UDP: the sending
 * core does the kernel's whole receive path in its softirq and leaves the
 * datagrams queued on the socket; the receive core then pays what a
 * socket-based collector pays per heartbeat: the system calls, the copy
 * out of each skb, freeing it, and hb_accept.
 */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "glournet/coarse_clock.h"
#include "glournet/hb_accept.h"
#include "hb_fixture.h"
#include "kernel_baseline.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double thread_cpu_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int pin(int cpu)
{
	if (cpu < 0)
		return 0;
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return -pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

struct sender {
	const struct kb_conf *c;
	int fd;
	uint8_t (*payloads)[HB_PAYLOAD_LEN];
	uint32_t npayloads, next;   /* next carries over: each round sends new endpoints */
	uint64_t sent;
	double secs;
	int err;
};

static void *send_all(void *arg)
{
	struct sender *s = arg;
	struct mmsghdr msgs[KB_BATCH];
	struct iovec iov[KB_BATCH];
	s->err = pin(s->c->tx_cpu);
	uint32_t next = s->next;
	double t0 = now_s();
	s->sent = 0;
	while (!s->err && s->sent < s->c->packets) {
		unsigned n = s->c->packets - s->sent < KB_BATCH ? (unsigned)(s->c->packets - s->sent)
								: KB_BATCH;
		for (unsigned i = 0; i < n; i++) {
			iov[i] = (struct iovec){.iov_base = s->payloads[next], .iov_len = HB_PAYLOAD_LEN};
			msgs[i] = (struct mmsghdr){.msg_hdr = {.msg_iov = &iov[i], .msg_iovlen = 1}};
			if (++next == s->npayloads)
				next = 0;
		}
		int r = sendmmsg(s->fd, msgs, n, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			s->err = -errno;
			break;
		}
		s->sent += (unsigned)r;
	}
	s->secs = now_s() - t0;
	s->next = next;
	return NULL;
}

/* The measured part: runs on the receive core once the queue is full. */
static void drain(const struct kb_conf *c, int fd, struct kb_round *r)
{
	struct mmsghdr msgs[KB_BATCH];
	struct iovec iov[KB_BATCH];
	static uint8_t bufs[KB_BATCH][64] __attribute__((aligned(64)));
	uint64_t verdict[HB_VERDICT_COUNT] = {0};
	for (unsigned i = 0; i < KB_BATCH; i++) {
		iov[i] = (struct iovec){.iov_base = bufs[i], .iov_len = sizeof(bufs[i])};
		msgs[i] = (struct mmsghdr){.msg_hdr = {.msg_iov = &iov[i], .msg_iovlen = 1}};
	}
	uint64_t got = 0, bad_len = 0;
	double c0 = thread_cpu_s(), t0 = now_s();
	for (;;) {
		int n = recvmmsg(fd, msgs, KB_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			break;   /* EAGAIN: drained */
		}
		/* Per batch, as the worker per burst: clock, directory, quiescent state. */
		struct hb_window win = {.now = gn_coarse_now(), .window = HBF_WINDOW,
					.skew = HBF_SKEW, .base = c->base, .prev_base = c->base};
		const struct slot_dir *dir = rcu_dereference(c->table->dir);
		for (int i = 0; i < n; i++) {
			if (msgs[i].msg_len != HB_PAYLOAD_LEN) {
				bad_len++;
				continue;
			}
			verdict[hb_accept(dir, c->worker, bufs[i], &win)]++;
		}
		got += (unsigned)n;
		rcu_quiescent_state();
	}
	r->drain_s = now_s() - t0;
	/* It never blocks (MSG_DONTWAIT): wall minus CPU is time it was preempted. */
	r->drain_cpu_s = thread_cpu_s() - c0;
	r->received = got;
	r->accepted = verdict[HB_ACCEPTED];
	r->rejected = got - verdict[HB_ACCEPTED];
}

struct receiver {
	const struct kb_conf *c;
	int fd;
	struct kb_round *rounds;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	unsigned go;      /* rounds the main thread has filled */
	unsigned done;    /* rounds drained */
	int err;
};

static void *receive(void *arg)
{
	struct receiver *rv = arg;
	rv->err = pin(rv->c->rx_cpu);
	rcu_register_thread();
	rcu_thread_offline();
	for (unsigned k = 0; k < rv->c->rounds; k++) {
		pthread_mutex_lock(&rv->mu);
		while (rv->go <= k)
			pthread_cond_wait(&rv->cv, &rv->mu);
		pthread_mutex_unlock(&rv->mu);
		rcu_thread_online();
		drain(rv->c, rv->fd, &rv->rounds[k]);
		rcu_thread_offline();   /* idle while the next round fills: no reader held */
		pthread_mutex_lock(&rv->mu);
		rv->done = k + 1;
		pthread_cond_broadcast(&rv->cv);
		pthread_mutex_unlock(&rv->mu);
	}
	rcu_unregister_thread();
	return NULL;
}

static int udp_socket(int rcvbuf, struct kb_info *info)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	info->forced = setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) == 0;
	if (!info->forced)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	socklen_t l = sizeof(info->rcvbuf);
	getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &info->rcvbuf, &l);
	return fd;
}

int kb_run(const struct kb_conf *c, struct kb_round *out, struct kb_info *info)
{
	int rc = 0;
	struct sender s = {.c = c, .fd = -1};
	struct receiver rv = {.c = c, .fd = -1, .rounds = out,
			      .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
	uint64_t want = (uint64_t)c->packets * c->rounds;
	s.npayloads = want < c->nslots ? (uint32_t)want : c->nslots;
	s.payloads = malloc((size_t)s.npayloads * sizeof(*s.payloads));
	if (!s.payloads)
		return -ENOMEM;
	for (uint32_t i = 0; i < s.npayloads; i++)
		hbf_payload(s.payloads[i], c->slots[i]);

	/* 1 GiB, the most SO_RCVBUFFORCE takes: room for ~1 M small datagrams. */
	rv.fd = udp_socket(1 << 30, info);
	s.fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (rv.fd < 0 || s.fd < 0) {
		rc = rv.fd < 0 ? rv.fd : -errno;
		goto out;
	}
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof(a);
	if (bind(rv.fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    getsockname(rv.fd, (struct sockaddr *)&a, &al) < 0 ||
	    connect(s.fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		rc = -errno;
		goto out;
	}
	pthread_t rt;
	if ((rc = -pthread_create(&rt, NULL, receive, &rv)) < 0)
		goto out;
	for (unsigned k = 0; k < c->rounds && rc == 0; k++) {
		pthread_t st;
		if ((rc = -pthread_create(&st, NULL, send_all, &s)) < 0)
			break;
		pthread_join(st, NULL);
		if (s.err) {
			rc = s.err;
			break;
		}
		/* The loopback softirq ran in the sender's system calls: all queued now. */
		out[k] = (struct kb_round){.sent = s.sent, .fill_s = s.secs};
		pthread_mutex_lock(&rv.mu);
		rv.go = k + 1;
		pthread_cond_broadcast(&rv.cv);
		while (rv.done <= k)
			pthread_cond_wait(&rv.cv, &rv.mu);
		pthread_mutex_unlock(&rv.mu);
	}
	if (rc < 0) {   /* let the receiver finish its loop */
		pthread_mutex_lock(&rv.mu);
		rv.go = c->rounds;
		pthread_cond_broadcast(&rv.cv);
		pthread_mutex_unlock(&rv.mu);
	}
	pthread_join(rt, NULL);
	if (rc == 0 && rv.err)
		rc = rv.err;
out:
	if (s.fd >= 0)
		close(s.fd);
	if (rv.fd >= 0)
		close(rv.fd);
	free(s.payloads);
	return rc;
}
