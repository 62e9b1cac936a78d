/*
 * The fleet's receiver thread (lg_listen.h). One loop waits on the notify
 * sockets and on libcurl's connections together (curl_multi_poll with the
 * sockets as extra descriptors), so receiving, acking, the late acks and
 * the polls never wait on each other.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "lg_listen.h"
#include "lg_notify.h"
#include "lg_poll.h"

#define NS          1000000000ull
#define BATCH       64
#define MAX_SOCKETS 64

struct lsock {
	int fd;
	uint16_t port;
	uint8_t ack[BATCH][HB_PAYLOAD_LEN];
	struct iovec iov[BATCH];
	struct mmsghdr msg[BATCH];
	unsigned nack;
};

struct lg_listen {
	const struct lg_opts *o;
	const struct lg_endpoints *set;
	struct lg_notify nt;
	uint8_t *hb_role; /* enum lg_role, copied: the send loop writes its own */
	uint64_t silent_at, shutdown_at, t0;
	struct lsock sock[MAX_SOCKETS];
	unsigned nsock;
	struct sockaddr_storage to;
	socklen_t tolen;
	struct lg_ackq late;
	struct lg_polls polls; /* with --poll-after-notify */
	bool polling;
	pthread_t thread;
	bool running;
	int stop; /* atomic */
	/* figures: the thread's own, read by others after the join; `live` by
	 * the send loop at any time (atomics) */
	uint64_t acks, late_sent, ack_errors;
	int first_errno;
	struct lg_listen_live live;
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS + (uint64_t)ts.tv_nsec;
}

static uint32_t server_now(const struct lg_listen *ln)
{
	return (uint32_t)((int64_t)time(NULL) + ln->o->time_offset);
}

/* Silent endpoints die at --silent-after, shutdown ones at --shutdown-after. */
static bool is_dead(void *arg, uint32_t ep)
{
	const struct lg_listen *ln = arg;
	uint64_t now = mono_ns() - ln->t0;

	return (ln->hb_role[ep] == LG_ROLE_SILENT && now >= ln->silent_at) ||
	       (ln->hb_role[ep] == LG_ROLE_SHUTDOWN && now >= ln->shutdown_at);
}

/* ---- sockets ---- */

static void sockaddr_of(struct sockaddr_storage *ss, socklen_t *len, int family,
			const uint8_t ip[16], uint16_t port)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		memcpy(&s4->sin_addr, ip, 4);
		*len = sizeof(*s4);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		memcpy(&s6->sin6_addr, ip, 16);
		*len = sizeof(*s6);
	}
}

static int open_socket(struct lg_listen *ln, uint16_t port)
{
	const struct lg_opts *o = ln->o;
	static const uint8_t any[16];
	struct lsock *s = &ln->sock[ln->nsock];
	struct sockaddr_storage ss;
	socklen_t len;
	int rcvbuf = 8 << 20, rc;

	s->port = port;
	s->fd = socket(o->family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s->fd < 0)
		return -errno;
	/* The queue a campaign's burst lands in (the kernel caps it at rmem_max;
	 * as root SO_RCVBUFFORCE goes past it). */
	if (setsockopt(s->fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) < 0)
		setsockopt(s->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	sockaddr_of(&ss, &len, o->family, o->notify_bind_family ? o->notify_bind_ip : any, port);
	if (bind(s->fd, (struct sockaddr *)&ss, len) < 0) {
		rc = -errno;
		fprintf(stderr, LG_PROG ": notify port %u: %s\n", port, strerror(errno));
		close(s->fd);
		return rc;
	}
	for (unsigned i = 0; i < BATCH; i++) {
		s->iov[i] = (struct iovec){.iov_base = s->ack[i], .iov_len = HB_PAYLOAD_LEN};
		s->msg[i].msg_hdr = (struct msghdr){.msg_name = &ln->to,
						    .msg_namelen = ln->tolen,
						    .msg_iov = &s->iov[i],
						    .msg_iovlen = 1};
	}
	ln->nsock++;
	return 0;
}

static void flush_acks(struct lg_listen *ln, struct lsock *s)
{
	unsigned done = 0;

	while (done < s->nack) {
		int k = sendmmsg(s->fd, s->msg + done, s->nack - done, 0);

		if (k < 0) {
			if (errno == EINTR)
				continue;
			if (!ln->first_errno)
				ln->first_errno = errno;
			ln->ack_errors++;
			done++;
			continue;
		}
		ln->acks += (unsigned)k;
		done += (unsigned)k;
	}
	s->nack = 0;
}

/* ---- the thread ---- */

static void drain(struct lg_listen *ln, unsigned k)
{
	struct lsock *s = &ln->sock[k];
	uint8_t buf[BATCH][64];
	struct iovec iov[BATCH];
	struct mmsghdr msg[BATCH];

	for (int rounds = 0; rounds < 64; rounds++) {
		uint64_t now = mono_ns();
		uint32_t t = server_now(ln), ms = (uint32_t)((now - ln->t0) / 1000000);
		int got;

		for (unsigned i = 0; i < BATCH; i++) {
			iov[i] = (struct iovec){.iov_base = buf[i], .iov_len = sizeof(buf[i])};
			msg[i].msg_hdr = (struct msghdr){.msg_iov = &iov[i], .msg_iovlen = 1};
		}
		got = recvmmsg(s->fd, msg, BATCH, MSG_DONTWAIT, NULL);
		if (got <= 0)
			return;
		for (int i = 0; i < got; i++) {
			size_t len = msg[i].msg_hdr.msg_flags & MSG_TRUNC ? sizeof(buf[i]) + 1
									  : msg[i].msg_len;
			uint32_t ep;
			enum hb_verdict v;
			enum lg_notify_outcome out = lg_notify_handle(
				&ln->nt, buf[i], len, t, ms, is_dead, ln, &ep, &v, s->ack[s->nack]);

			if (out == LG_NOTIFY_REFUSED)
				continue;
			if (out == LG_NOTIFY_ACK)
				s->nack++;
			else if (out == LG_NOTIFY_ACK_LATER &&
				 lg_ackq_push(&ln->late, now + (uint64_t)(ln->o->ack_delay_s * 1e9),
					      k, s->ack[s->nack]) < 0)
				ln->ack_errors++;
			if (ln->polling && (out != LG_NOTIFY_NO_ACK || !is_dead(ln, ep)))
				lg_polls_notified(&ln->polls, ep,
						  hb_be16(buf[i] + offsetof(struct hb_wire, flags)),
						  hb_be32(buf[i] + offsetof(struct hb_wire, time)),
						  now);
		}
		flush_acks(ln, s);
		if (got < BATCH)
			return;
	}
}

static void send_late(struct lg_listen *ln, uint64_t now)
{
	struct lg_late_ack a;

	while (lg_ackq_pop_due(&ln->late, now, &a)) {
		struct lsock *s = &ln->sock[a.sock];

		if (sendto(s->fd, a.ack, HB_PAYLOAD_LEN, 0, (struct sockaddr *)&ln->to,
			   ln->tolen) == HB_PAYLOAD_LEN) {
			ln->acks++;
			ln->late_sent++;
		} else {
			if (!ln->first_errno)
				ln->first_errno = errno;
			ln->ack_errors++;
		}
	}
}

static void publish(struct lg_listen *ln)
{
	uint64_t refused = ln->nt.outcome[LG_NOTIFY_REFUSED];

	__atomic_store_n(&ln->live.accepted, ln->nt.verdict[HB_ACCEPTED], __ATOMIC_RELAXED);
	__atomic_store_n(&ln->live.refused, refused, __ATOMIC_RELAXED);
	__atomic_store_n(&ln->live.acks, ln->acks, __ATOMIC_RELAXED);
	__atomic_store_n(&ln->live.late_waiting, (uint64_t)ln->late.n, __ATOMIC_RELAXED);
	__atomic_store_n(&ln->live.polls, ln->polls.started, __ATOMIC_RELAXED);
}

static void *thread_main(void *arg)
{
	struct lg_listen *ln = arg;
	struct curl_waitfd wfd[MAX_SOCKETS];
	struct pollfd pfd[MAX_SOCKETS];

	for (unsigned k = 0; k < ln->nsock; k++) {
		wfd[k] = (struct curl_waitfd){.fd = ln->sock[k].fd, .events = CURL_WAIT_POLLIN};
		pfd[k] = (struct pollfd){.fd = ln->sock[k].fd, .events = POLLIN};
	}
	while (!__atomic_load_n(&ln->stop, __ATOMIC_ACQUIRE)) {
		uint64_t now = mono_ns(), wake = now + 50000000ull; /* re-check stop every 50 ms */
		int ms;

		if (ln->late.n && ln->late.a[ln->late.head].due_ns < wake)
			wake = ln->late.a[ln->late.head].due_ns;
		if (ln->polling && lg_polls_next_due(&ln->polls) < wake)
			wake = lg_polls_next_due(&ln->polls);
		ms = wake <= now ? 0 : (int)((wake - now + 999999) / 1000000);
		if (ln->polling) {
			for (unsigned k = 0; k < ln->nsock; k++)
				wfd[k].revents = 0;
			curl_multi_poll(ln->polls.multi, wfd, ln->nsock, ms, NULL);
			for (unsigned k = 0; k < ln->nsock; k++)
				pfd[k].revents = wfd[k].revents & CURL_WAIT_POLLIN ? POLLIN : 0;
		} else if (poll(pfd, ln->nsock, ms) < 0 && errno != EINTR) {
			break;
		}
		for (unsigned k = 0; k < ln->nsock; k++)
			if (pfd[k].revents & POLLIN)
				drain(ln, k);
		now = mono_ns();
		send_late(ln, now);
		if (ln->polling)
			lg_polls_run(&ln->polls, now);
		publish(ln);
	}
	/* what is still in the sockets was received in the run: count it */
	for (unsigned k = 0; k < ln->nsock; k++)
		drain(ln, k);
	publish(ln);
	return NULL;
}

int lg_listen_start(struct lg_listen **out, const struct lg_opts *o, const struct lg_endpoints *set,
		    const struct lg_sched *s, uint64_t t0_ns)
{
	struct lg_listen *ln = calloc(1, sizeof(*ln));
	int rc;

	*out = ln;
	if (!ln)
		return -ENOMEM;
	ln->o = o;
	ln->set = set;
	ln->t0 = t0_ns;
	ln->silent_at = s->cfg.silent_after_ns;
	ln->shutdown_at = s->cfg.shutdown_after_ns;
	ln->hb_role = malloc(set->n ? set->n : 1);
	if (!ln->hb_role)
		return -ENOMEM;
	for (size_t i = 0; i < set->n; i++)
		ln->hb_role[i] = (uint8_t)lg_sched_role(s, (uint32_t)i);
	rc = lg_notify_init(&ln->nt, set,
			    &(struct lg_notify_cfg){.late = o->ack_late,
						    .never = o->ack_never,
						    .seed = o->seed,
						    .window = o->notify_window,
						    .skew = o->notify_skew});
	if (rc < 0)
		return rc;
	if (ln->nt.dup_slots)
		fprintf(stderr, LG_PROG ": note: %u endpoint(s) share a slot with an earlier one\n",
			ln->nt.dup_slots);
	sockaddr_of(&ln->to, &ln->tolen, o->family, o->dst_ip, o->port);
	for (size_t i = 0; i < set->n; i++) {
		uint16_t port =
			set->eps[i].notify_port ? set->eps[i].notify_port : lg_notify_port_of(o, i);
		unsigned k = 0;

		while (k < ln->nsock && ln->sock[k].port != port)
			k++;
		if (k < ln->nsock)
			continue;
		if (ln->nsock == MAX_SOCKETS) {
			fprintf(stderr, LG_PROG ": more than %d notify ports\n", MAX_SOCKETS);
			return -E2BIG;
		}
		if ((rc = open_socket(ln, port)) < 0)
			return rc;
	}
	if (o->poll_url) {
		ln->polling = true;
		if ((rc = lg_polls_open(&ln->polls, o, set)) < 0)
			return rc;
	}
	if ((rc = pthread_create(&ln->thread, NULL, thread_main, ln)) != 0)
		return -rc;
	ln->running = true;
	return 0;
}

void lg_listen_live(struct lg_listen *ln, struct lg_listen_live *live)
{
	live->accepted = __atomic_load_n(&ln->live.accepted, __ATOMIC_RELAXED);
	live->refused = __atomic_load_n(&ln->live.refused, __ATOMIC_RELAXED);
	live->acks = __atomic_load_n(&ln->live.acks, __ATOMIC_RELAXED);
	live->late_waiting = __atomic_load_n(&ln->live.late_waiting, __ATOMIC_RELAXED);
	live->polls = __atomic_load_n(&ln->live.polls, __ATOMIC_RELAXED);
}

void lg_listen_stop(struct lg_listen *ln)
{
	if (!ln || !ln->running)
		return;
	__atomic_store_n(&ln->stop, 1, __ATOMIC_RELEASE);
	pthread_join(ln->thread, NULL);
	ln->running = false;
}

void lg_listen_figures(const struct lg_listen *ln, struct lg_listen_figures *f)
{
	*f = (struct lg_listen_figures){
		.nt = &ln->nt,
		.hb_role = ln->hb_role,
		.sockets = ln->nsock,
		.acks = ln->acks,
		.late_sent = ln->late_sent,
		.late_unsent = ln->late.n,
		.ack_errors = ln->ack_errors,
		.polls_started = ln->polls.started,
		.polls_200 = ln->polls.ok_200,
		.polls_other = ln->polls.other_status,
		.polls_failed = ln->polls.failed,
		.polls_coalesced = ln->polls.coalesced,
		.polls_fresh = ln->polls.fresh,
		.polls_unstarted = lg_polls_waiting(&ln->polls),
		.first_errno = ln->first_errno,
	};
}

void lg_listen_free(struct lg_listen *ln)
{
	if (!ln)
		return;
	lg_listen_stop(ln);
	for (unsigned k = 0; k < ln->nsock; k++)
		close(ln->sock[k].fd);
	if (ln->polling)
		lg_polls_close(&ln->polls);
	lg_ackq_free(&ln->late);
	lg_notify_free(&ln->nt);
	free(ln->hb_role);
	free(ln);
}
