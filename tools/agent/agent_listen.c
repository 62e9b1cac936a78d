/*
 * `glournet-agent listen`: the endpoint side of notifies (docs/protocol.md
 * §2) for the state file's endpoints. One UDP socket per notify_port (the
 * endpoints registered with it), datagrams demultiplexed by the slot they
 * name and checked by agent_notify.c; each accepted notify is answered with
 * its notify-ack, from that socket to the collector's heartbeat address and
 * port, and SETTINGS or COMPONENTS make the endpoint poll soon after, at a
 * random delay, so a fleet notified within seconds does not poll within
 * the same second. Refused datagrams are counted by reason and never
 * answered: an ack goes only to the address the agent was given, never to
 * where a datagram came from, so nothing here reflects traffic.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <sodium.h>
#include <sys/socket.h>

#include "agent.h"
#include "agent_heap.h"
#include "agent_listen.h"
#include "agent_notify.h"
#include "agent_pollreq.h"

#define CMD          AGENT_LISTEN_CMD
#define NS           1000000000ull
#define MAX_SOCKETS  64
#define LOG_FIRST    AGENT_LISTEN_LOG_FIRST
#define POLL_TRIES   3            /* a poll after a notify, tried this often */
#define POLL_RETRY_S 10           /* then again after this (or Retry-After) */
#define POLL_SLICE   100000000ull /* at most 100 ms of polls between two socket reads */
#define BATCH        64

static volatile sig_atomic_t listen_stop;

static void on_signal(int sig)
{
	(void)sig;
	listen_stop = 1;
}

/* One notify port's socket, and its batch of acks. */
struct lsock {
	int fd, family;
	uint16_t port;
	struct sockaddr_storage to; /* the collector, in this socket's family */
	socklen_t tolen;
	/* one batch of acks */
	uint8_t ack[BATCH][HB_PAYLOAD_LEN];
	struct iovec iov[BATCH];
	struct mmsghdr msg[BATCH];
	unsigned nack;
};

/* One endpoint's side of polling after notifies. */
struct lep {
	struct agent_poll_view v;
	uint64_t notified_at; /* monotonic ns of the notify its pending poll is for */
	unsigned tries;
	bool pending;
};

struct lrun {
	const struct agent_listen_opts *o;
	struct agent_state st;
	struct agent_ep *eps; /* the selected ones, inside st */
	size_t n;
	struct agent_notify nc;
	struct lep *lep;
	struct lsock sock[MAX_SOCKETS];
	unsigned nsock;
	struct agent_heap polls;
	struct agent_poller pl;
	bool polling;
	uint64_t rng, t0;
	/* figures */
	uint64_t acks, ack_errors, plan[AGENT_POLL_FRESH + 1], no_server, poll_given_up;
	uint64_t poll_delay_min, poll_delay_max; /* ns, notify to poll, of those done */
	uint64_t logged_ok, logged_refused[HB_VERDICT_COUNT];
	int first_errno;
};

static uint64_t rng_next(struct lrun *r)
{
	/* xorshift64*: a spread of poll times needs speed, not secrecy */
	r->rng ^= r->rng >> 12;
	r->rng ^= r->rng << 25;
	r->rng ^= r->rng >> 27;
	return r->rng * 0x2545F4914F6CDD1Dull;
}

static void addr_text(const struct sockaddr_storage *ss, char *out, size_t len)
{
	char a[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
		inet_ntop(AF_INET, &s4->sin_addr, a, sizeof(a));
		port = ntohs(s4->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) /* as it was sent: IPv4 */
			inet_ntop(AF_INET, &s6->sin6_addr.s6_addr[12], a, sizeof(a));
		else
			inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof(a));
		port = ntohs(s6->sin6_port);
	}
	snprintf(out, len, "%s port %u", a, port);
}

/* The collector's address in the socket's family (IPv4 as ::ffff:a.b.c.d
 * on a dual-stack socket); -1 when it cannot be reached from this one. */
static int target_for(const struct agent_listen_opts *o, struct lsock *s)
{
	struct in_addr a4;
	struct in6_addr a6;

	memset(&s->to, 0, sizeof(s->to));
	if (inet_pton(AF_INET, o->to, &a4) == 1) {
		if (s->family == AF_INET) {
			struct sockaddr_in *t = (struct sockaddr_in *)&s->to;
			*t = (struct sockaddr_in){.sin_family = AF_INET,
						  .sin_port = htons(o->port),
						  .sin_addr = a4};
			s->tolen = sizeof(*t);
			return 0;
		}
		memset(&a6, 0, sizeof(a6));
		a6.s6_addr[10] = a6.s6_addr[11] = 0xff;
		memcpy(&a6.s6_addr[12], &a4, 4);
	} else if (inet_pton(AF_INET6, o->to, &a6) != 1 || s->family != AF_INET6) {
		return -1;
	}
	struct sockaddr_in6 *t = (struct sockaddr_in6 *)&s->to;
	*t = (struct sockaddr_in6){.sin6_family = AF_INET6,
				   .sin6_port = htons(o->port),
				   .sin6_addr = a6};
	s->tolen = sizeof(*t);
	return 0;
}

static int open_socket(struct lrun *r, uint16_t port)
{
	const struct agent_listen_opts *o = r->o;
	struct lsock *s = &r->sock[r->nsock];
	struct sockaddr_storage ss = {0};
	socklen_t sl;
	int rcvbuf = 4 << 20, off = 0;

	if (r->nsock == MAX_SOCKETS) {
		fprintf(stderr, AGENT_PROG " " CMD ": more than %d notify ports\n", MAX_SOCKETS);
		return -1;
	}
	s->port = port;
	if (o->bind) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		if (inet_pton(AF_INET, o->bind, &s4->sin_addr) == 1) {
			s4->sin_family = AF_INET;
			s4->sin_port = htons(port);
			sl = sizeof(*s4);
		} else if (inet_pton(AF_INET6, o->bind, &s6->sin6_addr) == 1) {
			s6->sin6_family = AF_INET6;
			s6->sin6_port = htons(port);
			sl = sizeof(*s6);
		} else {
			agent_usage_error(CMD, "--bind: '%s' is not an IPv4 or IPv6 address",
					  o->bind);
			return -2;
		}
		s->family = ss.ss_family;
		s->fd = socket(s->family, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_UDP);
	} else {
		/* Dual stack where the host has IPv6, else IPv4 alone. */
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s->family = AF_INET6;
		s->fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_UDP);
		if (s->fd >= 0) {
			setsockopt(s->fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
			s6->sin6_family = AF_INET6;
			s6->sin6_port = htons(port);
			s6->sin6_addr = in6addr_any;
			sl = sizeof(*s6);
		} else {
			struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

			s->family = AF_INET;
			s->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_UDP);
			s4->sin_family = AF_INET;
			s4->sin_port = htons(port);
			sl = sizeof(*s4);
		}
	}
	if (s->fd < 0 || bind(s->fd, (struct sockaddr *)&ss, sl) < 0) {
		fprintf(stderr, AGENT_PROG " " CMD ": notify port %u: %s\n", port, strerror(errno));
		if (s->fd >= 0)
			close(s->fd);
		return -1;
	}
	/* Best effort: a deep queue absorbs a campaign's burst while a poll runs. */
	setsockopt(s->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (target_for(o, s) < 0) {
		agent_usage_error(CMD,
				  "--to: '%s' is not an address this socket can reach "
				  "(IPv4 or IPv6, of --bind's family)",
				  o->to);
		close(s->fd);
		return -2;
	}
	for (unsigned i = 0; i < BATCH; i++) {
		s->iov[i] = (struct iovec){.iov_base = s->ack[i], .iov_len = HB_PAYLOAD_LEN};
		s->msg[i].msg_hdr = (struct msghdr){.msg_name = &s->to,
						    .msg_namelen = s->tolen,
						    .msg_iov = &s->iov[i],
						    .msg_iovlen = 1};
	}
	r->nsock++;
	return 0;
}

static void flush_acks(struct lrun *r, struct lsock *s)
{
	unsigned done = 0;

	while (done < s->nack) {
		int k = sendmmsg(s->fd, s->msg + done, s->nack - done, 0);

		if (k < 0) {
			if (errno == EINTR)
				continue;
			if (!r->first_errno) {
				r->first_errno = errno;
				fprintf(stderr, AGENT_PROG " " CMD ": sending an ack: %s\n",
					strerror(errno));
			}
			r->ack_errors++;
			done++; /* the first of the call failed: skip it */
			continue;
		}
		r->acks += (unsigned)k;
		done += (unsigned)k;
	}
	s->nack = 0;
}

static void kinds_text(uint16_t flags, char *out, size_t len)
{
	size_t k = 0;

	out[0] = '\0';
	for (int i = 0; i < AGENT_KIND_COUNT; i++)
		if (flags & agent_notify_kind_flag[i])
			k += (size_t)snprintf(out + k, len - k, "%s%s", k ? "," : "",
					      agent_notify_kind_name[i]);
	if (!k)
		snprintf(out, len, "no flag");
}

static void on_accepted(struct lrun *r, long i, const struct hb_msg *m, uint64_t now,
			const struct sockaddr_storage *from)
{
	const struct agent_listen_opts *o = r->o;
	struct lep *l = &r->lep[i];
	uint64_t delay = 0;
	enum agent_poll_plan plan = agent_notify_poll_plan(
		m->flags, m->time, l->v.answered_at, l->pending, l->v.poll_interval,
		(uint64_t)(o->poll_spread * 1e9), rng_next(r), &delay);
	char kinds[64], src[80], what[64] = "";

	if (plan == AGENT_POLL_SCHEDULED && !r->polling) {
		r->no_server++;
		snprintf(what, sizeof(what), "; no --server to poll");
	} else {
		r->plan[plan]++;
		if (plan == AGENT_POLL_SCHEDULED) {
			l->pending = true;
			l->tries = 0;
			l->notified_at = now;
			agent_heap_push(&r->polls, now + delay, (size_t)i);
			snprintf(what, sizeof(what), "; poll in %.1f s", (double)delay / 1e9);
		} else if (plan == AGENT_POLL_PENDING) {
			snprintf(what, sizeof(what), "; a poll is already due");
		} else if (plan == AGENT_POLL_FRESH) {
			snprintf(what, sizeof(what), "; polled since: no poll");
		}
	}
	if (o->verbose || r->logged_ok < LOG_FIRST) {
		kinds_text(m->flags, kinds, sizeof(kinds));
		addr_text(from, src, sizeof(src));
		fprintf(stderr,
			AGENT_PROG " " CMD ": %s: notify %s (time %" PRIu32 ", from %s): "
				   "acked%s\n",
			r->eps[i].guid, kinds, m->time, src, what);
	} else if (r->logged_ok == LOG_FIRST) {
		fprintf(stderr, AGENT_PROG " " CMD ": further notifies not shown (-v shows all)\n");
	}
	r->logged_ok++;
}

static void on_refused(struct lrun *r, enum hb_verdict v, long i,
		       const struct sockaddr_storage *from, size_t len)
{
	char src[80];
	uint64_t *n = &r->logged_refused[v];

	if (r->o->verbose || *n < LOG_FIRST) {
		addr_text(from, src, sizeof(src));
		fprintf(stderr, AGENT_PROG " " CMD ": refused %zu bytes from %s%s%s: %s\n", len,
			src, i >= 0 ? " for " : "", i >= 0 ? r->eps[i].guid : "",
			agent_verdict_name(v));
	} else if (*n == LOG_FIRST) {
		fprintf(stderr, AGENT_PROG " " CMD ": further %s refusals not shown\n",
			agent_verdict_name(v));
	}
	(*n)++;
}

/* Everything waiting on one socket, in batches; acks out after each batch. */
static void drain(struct lrun *r, struct lsock *s)
{
	uint8_t buf[BATCH][64];
	struct iovec iov[BATCH];
	struct mmsghdr msg[BATCH];
	struct sockaddr_storage from[BATCH];

	for (int rounds = 0; rounds < 64; rounds++) {
		int got;
		int64_t local = (int64_t)time(NULL);
		uint64_t now = agent_mono_ns();

		for (unsigned k = 0; k < BATCH; k++) {
			iov[k] = (struct iovec){.iov_base = buf[k], .iov_len = sizeof(buf[k])};
			msg[k].msg_hdr = (struct msghdr){.msg_name = &from[k],
							 .msg_namelen = sizeof(from[k]),
							 .msg_iov = &iov[k],
							 .msg_iovlen = 1};
		}
		got = recvmmsg(s->fd, msg, BATCH, MSG_DONTWAIT, NULL);
		if (got <= 0)
			return;
		for (int k = 0; k < got; k++) {
			struct hb_msg m;
			long i;
			/* a datagram longer than the buffer is not 32 bytes either */
			size_t len = msg[k].msg_hdr.msg_flags & MSG_TRUNC ? sizeof(buf[k]) + 1
									  : msg[k].msg_len;
			enum hb_verdict v = agent_notify_check(&r->nc, buf[k], len, local, &i, &m,
							       s->ack[s->nack]);

			if (v != HB_ACCEPTED) {
				on_refused(r, v, i, &from[k], len);
				continue;
			}
			s->nack++;
			on_accepted(r, i, &m, now, &from[k]);
		}
		flush_acks(r, s);
		if (got < BATCH)
			return;
	}
}

/* The polls that are due, for at most POLL_SLICE, so the sockets are read
 * again soon even when many endpoints poll at once. */
static void run_polls(struct lrun *r)
{
	uint64_t start = agent_mono_ns();

	while (r->polls.n && agent_heap_top(&r->polls)->due <= agent_mono_ns() && !listen_stop &&
	       agent_mono_ns() - start < POLL_SLICE) {
		struct agent_heap_item it = agent_heap_pop(&r->polls);
		struct lep *l = &r->lep[it.i];
		long retry_after = 0, st = agent_poll_once(&r->pl, &l->v, &retry_after);
		uint64_t now = agent_mono_ns(), d = now - l->notified_at;

		if (st > 0) {
			r->eps[it.i].clock_offset = l->v.clock_offset; /* for the next check */
			l->pending = false;
			if (!r->poll_delay_max || d > r->poll_delay_max)
				r->poll_delay_max = d;
			if (!r->poll_delay_min || d < r->poll_delay_min)
				r->poll_delay_min = d;
			continue;
		}
		if (++l->tries >= POLL_TRIES) {
			l->pending = false;
			r->poll_given_up++;
			continue;
		}
		agent_heap_push(
			&r->polls,
			now + (uint64_t)(retry_after > POLL_RETRY_S ? retry_after : POLL_RETRY_S) *
					NS,
			it.i);
	}
}

static int setup(struct lrun *r)
{
	const struct agent_listen_opts *o = r->o;
	size_t dups;
	int rc;

	if (agent_state_load(o->state, &r->st, false) < 0)
		return AGENT_EXIT_FAIL;
	if (r->st.n == 0 || o->first >= r->st.n ||
	    (o->have_count && o->first + o->count > r->st.n)) {
		agent_usage_error(
			CMD, "--first %" PRIu64 "%s selects none of the %zu endpoints of %s",
			o->first, o->have_count ? " with --count" : "", r->st.n, o->state);
		return AGENT_EXIT_USAGE;
	}
	r->eps = r->st.eps + o->first;
	r->n = o->have_count ? o->count : r->st.n - o->first;
	if (agent_notify_init(&r->nc, r->eps, r->n, o->window, o->skew, &dups) < 0)
		return AGENT_EXIT_FAIL;
	if (dups)
		fprintf(stderr,
			AGENT_PROG " " CMD ": %zu endpoint(s) share a slot with an earlier one: "
				   "their notifies go to the first\n",
			dups);
	r->lep = calloc(r->n, sizeof(*r->lep));
	if (!r->lep || agent_heap_init(&r->polls, r->n) < 0)
		return AGENT_EXIT_FAIL;
	for (size_t i = 0; i < r->n; i++) {
		uint16_t port = r->eps[i].notify_port ? r->eps[i].notify_port : o->notify_port;
		unsigned k = 0;

		r->lep[i].v = (struct agent_poll_view){.ep = &r->eps[i],
						       .rev = -1,
						       .clock_offset = r->eps[i].clock_offset};
		while (k < r->nsock && r->sock[k].port != port)
			k++;
		if (k == r->nsock && (rc = open_socket(r, port)) < 0)
			return rc == -2 ? AGENT_EXIT_USAGE : AGENT_EXIT_FAIL;
	}
	if (o->server) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
			fprintf(stderr, AGENT_PROG " " CMD ": cannot initialise libcurl\n");
			return AGENT_EXIT_FAIL;
		}
		r->pl = (struct agent_poller){.cmd = CMD, .verbose = o->verbose};
		if (agent_poller_open(&r->pl, o->server, (long)o->timeout, o->insecure, o->cacert) <
		    0)
			return AGENT_EXIT_FAIL;
		r->polling = true;
	}
	randombytes_buf(&r->rng, sizeof(r->rng));
	r->rng |= 1;
	return 0;
}

static void summary(const struct lrun *r)
{
	const struct agent_notify *nc = &r->nc;
	uint64_t refused = 0;
	double el = (double)(agent_mono_ns() - r->t0) / 1e9;

	for (int v = 1; v < HB_VERDICT_COUNT; v++)
		refused += nc->verdict[v];
	if (r->o->json) {
		printf("{\"endpoints\":%zu,\"sockets\":%u,\"notifies\":%" PRIu64, r->n, r->nsock,
		       nc->verdict[HB_ACCEPTED]);
		for (int k = 0; k < AGENT_KIND_COUNT; k++)
			printf(",\"%s\":%" PRIu64, agent_notify_kind_name[k], nc->kind[k]);
		printf(",\"acks\":%" PRIu64 ",\"ack_errors\":%" PRIu64 ",\"refused\":%" PRIu64
		       ",\"refused_by\":{",
		       r->acks, r->ack_errors, refused);
		for (int v = 1, first = 1; v < HB_VERDICT_COUNT; v++)
			if (nc->verdict[v]) {
				printf("%s\"%s\":%" PRIu64, first ? "" : ",",
				       agent_verdict_name((enum hb_verdict)v), nc->verdict[v]);
				first = 0;
			}
		printf("},\"polls\":{\"scheduled\":%" PRIu64 ",\"already_due\":%" PRIu64
		       ",\"not_needed\":%" PRIu64 ",\"no_server\":%" PRIu64 ",\"ok_200\":%" PRIu64
		       ",\"ok_304\":%" PRIu64 ",\"errors\":%" PRIu64 ",\"given_up\":%" PRIu64
		       ",\"delay_min_ms\":%.1f,\"delay_max_ms\":%.1f},\"elapsed_s\":%.3f}\n",
		       r->plan[AGENT_POLL_SCHEDULED], r->plan[AGENT_POLL_PENDING],
		       r->plan[AGENT_POLL_FRESH], r->no_server, r->pl.n200, r->pl.n304, r->pl.nerr,
		       r->poll_given_up, (double)r->poll_delay_min / 1e6,
		       (double)r->poll_delay_max / 1e6, el);
		return;
	}
	printf("notifies %" PRIu64 " for %zu endpoints on %u socket(s) in %.1f s:",
	       nc->verdict[HB_ACCEPTED], r->n, r->nsock, el);
	for (int k = 0; k < AGENT_KIND_COUNT; k++)
		printf(" %s %" PRIu64 "%s", agent_notify_kind_name[k], nc->kind[k],
		       k + 1 < AGENT_KIND_COUNT ? "," : "");
	printf("\nacks %" PRIu64 " sent, %" PRIu64 " send errors\n", r->acks, r->ack_errors);
	printf("refused %" PRIu64, refused);
	for (int v = 1, first = 1; v < HB_VERDICT_COUNT; v++)
		if (nc->verdict[v]) {
			printf("%s %s %" PRIu64, first ? ":" : ",",
			       agent_verdict_name((enum hb_verdict)v), nc->verdict[v]);
			first = 0;
		}
	printf("\npolls after notifies: %" PRIu64 " scheduled, %" PRIu64 " already due, %" PRIu64
	       " not needed, %" PRIu64 " without --server; %" PRIu64 " 200, %" PRIu64
	       " 304, %" PRIu64 " errors, %" PRIu64 " given up\n",
	       r->plan[AGENT_POLL_SCHEDULED], r->plan[AGENT_POLL_PENDING],
	       r->plan[AGENT_POLL_FRESH], r->no_server, r->pl.n200, r->pl.n304, r->pl.nerr,
	       r->poll_given_up);
}

int agent_listen_main(int argc, char **argv)
{
	struct agent_listen_opts o;
	struct lrun *r;
	struct sigaction sa = {.sa_handler = on_signal};
	struct pollfd pfd[MAX_SOCKETS];
	uint64_t deadline;
	int rc = agent_listen_parse(argc, argv, &o);

	if (rc)
		return rc < 0 ? AGENT_EXIT_OK : rc;
	r = calloc(1, sizeof(*r));
	if (!r)
		return AGENT_EXIT_FAIL;
	r->o = &o;
	if ((rc = setup(r)) != 0)
		goto out;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	for (unsigned k = 0; k < r->nsock; k++)
		pfd[k] = (struct pollfd){.fd = r->sock[k].fd, .events = POLLIN};
	fprintf(stderr, AGENT_PROG " " CMD ": listening for %zu endpoints on %u port(s):", r->n,
		r->nsock);
	for (unsigned k = 0; k < r->nsock; k++)
		fprintf(stderr, " %u", r->sock[k].port);
	fprintf(stderr, "; acks to %s port %u%s\n", o.to, o.port,
		r->polling ? "; polls after SETTINGS/COMPONENTS" : "");
	r->t0 = agent_mono_ns();
	deadline = o.duration > 0 ? r->t0 + (uint64_t)(o.duration * 1e9) : UINT64_MAX;
	while (!listen_stop) {
		uint64_t now = agent_mono_ns(), wake = deadline;
		int ms;

		if (now >= deadline)
			break;
		if (r->polls.n && agent_heap_top(&r->polls)->due < wake)
			wake = agent_heap_top(&r->polls)->due;
		ms = wake <= now       ? 0
		     : wake - now > NS ? 1000
				       : (int)((wake - now + 999999) / 1000000);
		if (poll(pfd, r->nsock, ms) < 0 && errno != EINTR)
			break;
		for (unsigned k = 0; k < r->nsock; k++)
			if (pfd[k].revents & POLLIN)
				drain(r, &r->sock[k]);
		run_polls(r);
	}
	summary(r);
	rc = r->ack_errors || r->pl.nerr ? AGENT_EXIT_FAIL : AGENT_EXIT_OK;
out:
	for (unsigned k = 0; k < r->nsock; k++)
		close(r->sock[k].fd);
	if (r->polling) {
		agent_poller_close(&r->pl);
		curl_global_cleanup();
	}
	agent_heap_free(&r->polls);
	agent_notify_free(&r->nc);
	free(r->lep);
	agent_state_free(&r->st);
	free(r);
	return rc;
}
