/*
 * `glournet-agent heartbeat`: sends the state file's endpoints' 32-byte
 * heartbeats (docs/protocol.md §1) from one UDP socket, each endpoint once per
 * interval, spread evenly with jitter so 100k endpoints make a steady
 * stream rather than bursts; batched with sendmmsg and paced with absolute
 * clock_nanosleep so the process sleeps between batches instead of spinning.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "glournet/hb_encode.h"
#include "agent.h"

#define CMD               "heartbeat"
#define BATCH             64
#define NS                1000000000ull
#define MIN_SLEEP_NS      1000000ull /* gather at least 1 ms of heartbeats per wake-up */
#define SHUTDOWN_BATCH_NS 640000ull  /* final SHUTDOWN round: at most 100k/s */

struct hb_opts {
	const char *state, *to, *port;
	double interval, duration, silent_fraction, silent_after;
	int64_t time_offset;
	uint64_t count, first;
	bool have_count, shutdown_at_end, verbose;
};

struct hb_run {
	int fd;
	struct sockaddr_storage to;
	socklen_t tolen;
	const struct agent_ep *eps;
	size_t n, n_silent;
	uint64_t t0, silent_at;
	int64_t time_offset;
	uint64_t sent, errors;
	int first_errno;
	uint64_t rng;
	/* one batch */
	uint8_t pkt[BATCH][HB_PAYLOAD_LEN];
	struct iovec iov[BATCH];
	struct mmsghdr msg[BATCH];
	unsigned cnt;
};

static volatile sig_atomic_t hb_signals;

static void on_signal(int sig)
{
	(void)sig;
	hb_signals++;
}

static void help(FILE *f)
{
	fprintf(f,
		"usage: " AGENT_PROG " heartbeat --state FILE --to ADDR [OPTIONS]\n"
		"\n"
		"Sends every selected endpoint's heartbeat once per interval over UDP, spread\n"
		"evenly across the interval with jitter, batched with sendmmsg. The time field\n"
		"is the local clock + the endpoint's clock offset + --time-offset.\n"
		"\n"
		"  --state FILE            state file written by 'register' (required)\n"
		"  --to ADDR               server's IPv4 or IPv6 address (required)\n"
		"  --port PORT             UDP port (default 7100)\n"
		"  --interval DUR          between an endpoint's heartbeats (default 10s)\n"
		"  --duration DUR          run time; 0 = until SIGINT/SIGTERM (default 60)\n"
		"  --silent-fraction F     after --silent-after, the first floor(F*N) selected\n"
		"                          endpoints stop sending (default 0)\n"
		"  --silent-after DUR      (default 0)\n"
		"  --shutdown-at-end       end with one SHUTDOWN heartbeat per sending endpoint\n"
		"  --time-offset SEC       add SEC (may be negative) to the time field\n"
		"  --first K               first state-file endpoint to use (default 0)\n"
		"  --count N               number of endpoints to use (default: all from K)\n"
		"  -v, --verbose           statistics every 10 s\n"
		"  -h, --help              this text\n"
		"\n"
		"Prints 'sent N heartbeats for M endpoints, E send errors'. Exit 1 if E > 0.\n");
}

static int parse_opts(int argc, char **argv, struct hb_opts *o)
{
	static const struct option longopts[] = {
		{"state", required_argument, NULL, 'f'},
		{"to", required_argument, NULL, 't'},
		{"port", required_argument, NULL, 'p'},
		{"interval", required_argument, NULL, 'i'},
		{"duration", required_argument, NULL, 'd'},
		{"silent-fraction", required_argument, NULL, 'F'},
		{"silent-after", required_argument, NULL, 'A'},
		{"shutdown-at-end", no_argument, NULL, 'S'},
		{"time-offset", required_argument, NULL, 'o'},
		{"first", required_argument, NULL, 'k'},
		{"count", required_argument, NULL, 'n'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	uint64_t port;
	int c;

	*o = (struct hb_opts){.port = "7100", .interval = 10, .duration = 60};
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":vh", longopts, NULL)) != -1) {
		int bad = 0;

		switch (c) {
		case 'f':
			o->state = optarg;
			break;
		case 't':
			o->to = optarg;
			break;
		case 'S':
			o->shutdown_at_end = true;
			break;
		case 'v':
			o->verbose = true;
			break;
		case 'p':
			bad = agent_opt_u64(CMD, "--port", optarg, 1, 65535, &port);
			o->port = optarg;
			break;
		case 'i':
			bad = agent_opt_duration(CMD, "--interval", optarg, 0.001, 86400,
						 &o->interval);
			break;
		case 'd':
			bad = agent_opt_duration(CMD, "--duration", optarg, 0, 1e9, &o->duration);
			break;
		case 'F':
			bad = agent_opt_double(CMD, "--silent-fraction", optarg, 0, 1,
					       &o->silent_fraction);
			break;
		case 'A':
			bad = agent_opt_duration(CMD, "--silent-after", optarg, 0, 1e9,
						 &o->silent_after);
			break;
		case 'o':
			bad = agent_opt_i64(CMD, "--time-offset", optarg, -(1LL << 32), 1LL << 32,
					    &o->time_offset);
			break;
		case 'k':
			bad = agent_opt_u64(CMD, "--first", optarg, 0, UINT32_MAX, &o->first);
			break;
		case 'n':
			bad = agent_opt_u64(CMD, "--count", optarg, 1, UINT32_MAX, &o->count);
			o->have_count = true;
			break;
		case 'h':
			help(stdout);
			return -1;
		default:
			return agent_bad_option(CMD, c, argv);
		}
		if (bad)
			return AGENT_EXIT_USAGE;
	}
	if (optind < argc) {
		agent_usage_error(CMD, "unexpected argument '%s'", argv[optind]);
		return AGENT_EXIT_USAGE;
	}
	if (!o->state || !o->to) {
		agent_usage_error(CMD, "--state and --to are required");
		return AGENT_EXIT_USAGE;
	}
	return 0;
}

static int open_socket(const struct hb_opts *o, struct hb_run *r)
{
	struct addrinfo hints = {.ai_socktype = SOCK_DGRAM,
				 .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV};
	struct addrinfo *ai;
	int e = getaddrinfo(o->to, o->port, &hints, &ai), sndbuf = 4 << 20;

	if (e) {
		agent_usage_error(CMD, "--to: '%s' is not an IPv4 or IPv6 address (%s)", o->to,
				  gai_strerror(e));
		return AGENT_EXIT_USAGE;
	}
	memcpy(&r->to, ai->ai_addr, ai->ai_addrlen);
	r->tolen = ai->ai_addrlen;
	r->fd = socket(ai->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_UDP);
	freeaddrinfo(ai);
	if (r->fd < 0) {
		fprintf(stderr, AGENT_PROG " " CMD ": socket: %s\n", strerror(errno));
		return AGENT_EXIT_FAIL;
	}
	/* Best effort: a deeper queue absorbs scheduling hiccups at 100k endpoints. */
	setsockopt(r->fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	return 0;
}

static uint64_t rng_next(struct hb_run *r)
{
	/* xorshift64*: jitter needs speed, not secrecy */
	r->rng ^= r->rng >> 12;
	r->rng ^= r->rng << 25;
	r->rng ^= r->rng >> 27;
	return r->rng * 0x2545F4914F6CDD1Dull;
}

static void flush(struct hb_run *r)
{
	unsigned done = 0;

	while (done < r->cnt) {
		int k = sendmmsg(r->fd, r->msg + done, r->cnt - done, 0);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			if (!r->first_errno) {
				r->first_errno = errno;
				fprintf(stderr, AGENT_PROG " " CMD ": send: %s\n", strerror(errno));
			}
			r->errors++;
			done++; /* the first datagram of the call failed: skip it */
			continue;
		}
		r->sent += (unsigned)k;
		done += (unsigned)k;
	}
	r->cnt = 0;
}

static void add(struct hb_run *r, const struct agent_ep *ep, uint32_t now_real, uint16_t flags)
{
	uint8_t *p = r->pkt[r->cnt];
	uint32_t t = (uint32_t)((int64_t)now_real + ep->clock_offset + r->time_offset);

	hb_encode(p, HB_TYPE_HEARTBEAT, flags, ep->slot, t, ep->id, ep->key);
	if (++r->cnt == BATCH)
		flush(r);
}

static bool silent(const struct hb_run *r, size_t i, uint64_t now)
{
	return i < r->n_silent && now >= r->silent_at;
}

static uint64_t sec_to_ns(double sec)
{
	return (uint64_t)(sec * 1e9 + 0.5);
}

static void sleep_until(uint64_t ns)
{
	struct timespec ts = {.tv_sec = (time_t)(ns / NS), .tv_nsec = (long)(ns % NS)};

	clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
}

/*
 * Endpoint i of round k is due at t0 + k*interval + i*interval/n + jitter,
 * jitter uniform in [0, min(interval/n, interval/20)): each endpoint's
 * heartbeats stay about one interval apart, and the order never changes,
 * so "which are due" is one cursor. Returns with round/next of where it
 * stopped, for the final SHUTDOWN round.
 */
static void run(struct hb_run *r, uint64_t interval_ns, uint64_t deadline, bool verbose,
		uint64_t *round_out, size_t *next_out)
{
	double step = (double)interval_ns / (double)r->n;
	uint64_t jmax =
		(uint64_t)(step < (double)interval_ns / 20.0 ? step : (double)interval_ns / 20.0);
	uint64_t round = 0, round_start = r->t0, next_stats = r->t0 + 10 * NS;
	uint64_t last_sent = 0, last_stats = r->t0;
	size_t next = 0;
	uint64_t due = r->t0 + (jmax ? rng_next(r) % jmax : 0);

	while (!hb_signals) {
		uint64_t now = agent_mono_ns(), wake;
		uint32_t real = (uint32_t)time(NULL);

		if (now >= deadline)
			break;
		/* bounded catch-up: at most one round per pass, then re-check signals */
		for (size_t k = 0; k < r->n && due <= now; k++) {
			if (!silent(r, next, now))
				add(r, &r->eps[next], real, round == 0 ? HB_FLAG_BOOT : 0);
			if (++next == r->n) {
				next = 0;
				round++;
				round_start += interval_ns;
			}
			due = round_start + (uint64_t)(step * (double)next) +
			      (jmax ? rng_next(r) % jmax : 0);
		}
		flush(r);
		if (verbose && now >= next_stats) {
			fprintf(stderr,
				AGENT_PROG " " CMD ": %.0f s: sent %" PRIu64 " (%.0f/s), %" PRIu64
					   " send errors, round %" PRIu64 "\n",
				(double)(now - r->t0) / 1e9, r->sent,
				(double)(r->sent - last_sent) * 1e9 / (double)(now - last_stats),
				r->errors, round);
			last_sent = r->sent;
			last_stats = now;
			next_stats += 10 * NS;
		}
		if (due <= now)
			continue;
		wake = due > now + MIN_SLEEP_NS ? due : now + MIN_SLEEP_NS;
		if (wake > deadline)
			wake = deadline;
		if (verbose && wake > next_stats)
			wake = next_stats;
		sleep_until(wake);
	}
	*round_out = round;
	*next_out = next;
}

int agent_heartbeat_main(int argc, char **argv)
{
	struct hb_opts o;
	struct agent_state st = {0};
	struct hb_run *r;
	struct sigaction sa = {.sa_handler = on_signal};
	uint64_t interval_ns, deadline, round = 0;
	size_t next = 0;
	int rc = parse_opts(argc, argv, &o);

	if (rc)
		return rc < 0 ? AGENT_EXIT_OK : rc;
	r = calloc(1, sizeof(*r));
	if (!r)
		return AGENT_EXIT_FAIL;
	r->fd = -1;
	if ((rc = open_socket(&o, r)) != 0)
		goto out;
	rc = AGENT_EXIT_FAIL;
	if (agent_state_load(o.state, &st, false) < 0)
		goto out;
	if (st.n == 0) {
		fprintf(stderr, AGENT_PROG " " CMD ": %s has no endpoints\n", o.state);
		goto out;
	}
	if (o.first >= st.n || (o.have_count && o.first + o.count > st.n)) {
		if (o.have_count)
			agent_usage_error(CMD,
					  "--first %" PRIu64 " --count %" PRIu64 " selects past "
					  "the %zu endpoints of %s",
					  o.first, o.count, st.n, o.state);
		else
			agent_usage_error(CMD,
					  "--first %" PRIu64 " is past the %zu endpoints of %s",
					  o.first, st.n, o.state);
		rc = AGENT_EXIT_USAGE;
		goto out;
	}
	r->eps = st.eps + o.first;
	r->n = o.have_count ? o.count : st.n - o.first;
	r->n_silent = (size_t)(o.silent_fraction * (double)r->n); /* floor: both >= 0 */
	r->time_offset = o.time_offset;
	for (unsigned i = 0; i < BATCH; i++) {
		r->iov[i] = (struct iovec){.iov_base = r->pkt[i], .iov_len = HB_PAYLOAD_LEN};
		r->msg[i].msg_hdr = (struct msghdr){.msg_name = &r->to,
						    .msg_namelen = r->tolen,
						    .msg_iov = &r->iov[i],
						    .msg_iovlen = 1};
	}
	randombytes_buf(&r->rng, sizeof(r->rng));
	r->rng |= 1;

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	interval_ns = sec_to_ns(o.interval);
	r->t0 = agent_mono_ns();
	r->silent_at = r->t0 + sec_to_ns(o.silent_after);
	deadline = o.duration > 0 ? r->t0 + sec_to_ns(o.duration) : UINT64_MAX;
	if (o.verbose)
		fprintf(stderr,
			AGENT_PROG " " CMD ": %zu endpoints to %s port %s every %g s, "
				   "%zu go silent after %g s\n",
			r->n, o.to, o.port, o.interval, r->n_silent, o.silent_after);

	run(r, interval_ns, deadline, o.verbose, &round, &next);

	if (o.shutdown_at_end && hb_signals < 2) {
		uint64_t now = agent_mono_ns(), t = now;

		for (size_t i = 0; i < r->n && hb_signals < 2; i++) {
			/* an endpoint that never sent gets BOOT too: it is its first heartbeat */
			uint16_t fl =
				HB_FLAG_SHUTDOWN | (round == 0 && i >= next ? HB_FLAG_BOOT : 0);

			if (silent(r, i, now))
				continue;
			add(r, &r->eps[i], (uint32_t)time(NULL), fl);
			if (r->cnt == 0) { /* a batch just went out: pace the burst */
				t += SHUTDOWN_BATCH_NS;
				sleep_until(t);
			}
		}
		flush(r);
	}
	printf("sent %" PRIu64 " heartbeats for %zu endpoints, %" PRIu64 " send errors\n", r->sent,
	       r->n, r->errors);
	rc = r->errors ? AGENT_EXIT_FAIL : AGENT_EXIT_OK;
out:
	if (r->fd >= 0)
		close(r->fd);
	free(r);
	agent_state_free(&st);
	return rc;
}
