/*
 * Option parsing for glournetd. Each option is validated here, where it
 * enters, with a message that names the option and the accepted range.
 */
#include <limits.h>
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define LOG_TAG "main"
#include "control/duration.h"
#include "control/options.h"
#include "control/options_config.h"
#include "control/options_ctl.h"
#include "control/options_say.h"
#include "control/options_tls.h"
#include "control/store_url.h"
#include "control/text.h"
#include "glournet/exception.h"
#include "glournet/heartbeat.h"
#include "glournet/log.h"
#include "glournet/neigh_route.h"
#include "glournet/net_addr.h"

static const char usage_text[] =
	"Usage: glournetd [OPTIONS] -- [DPDK EAL ARGUMENTS]\n"
	"       glournetd --config FILE [OPTIONS] [-- EAL ARGUMENTS]\n"
	"       glournetd --check [--config FILE] [OPTIONS]\n"
	"\n"
	"glournet heartbeat collector: DPDK workers take heartbeats off one port,\n"
	"the control thread serves registration over HTTP and the control socket.\n"
	"\n"
	"Endpoints:\n"
	"  --token-file FILE       read the enrollment token endpoints must present to\n"
	"                          register from FILE (first line; keep it mode 0600)\n"
	"  --token TOKEN           the token itself: every local user can read it in ps\n"
	"                          while glournetd starts; prefer --token-file\n"
	"  --udp-port PORT         heartbeat UDP port (default 7100)\n"
	"  --hb-addr ADDR          heartbeat address told to endpoints (repeatable, up to 8)\n"
	"  --http ADDR:PORT|off    HTTP listen address (default [::]:8080, dual stack)\n"
	"  --https ADDR:PORT|off   HTTPS listen address (default off; e.g. [::]:8443),\n"
	"                          with --tls-cert and --tls-key. --http off with no\n"
	"                          --https runs without the endpoint API (warned)\n"
	"  --tls-cert FILE         PEM certificate (chain) for --https\n"
	"  --tls-key FILE          PEM private key for --https (not encrypted)\n"
	"  --http-max-conns N      concurrent connections per listener (default 1024)\n"
	"  --http-timeout DUR      idle HTTP connection timeout (default 30s)\n"
	"  --http-max-body BYTES   largest request body; over: 413 (default 16384)\n"
	"  --http-max-header BYTES memory per connection, which bounds the request\n"
	"                          header block; over: 431 (default 16384)\n"
	"  --register-rate N       registrations per second per source (--source-v*-prefix)\n"
	"                          (default 50; 0: no limit); over: 429 + Retry-After\n"
	"  --register-burst N      registrations a source may make at once (default 200)\n"
	"  --http-max-conns-per-source N\n"
	"                          open connections one source may hold, both listeners\n"
	"                          together (default 64; 0: no limit); over: closed at once\n"
	"  --http-replay-cache N   authenticated requests (poll, event, registration proof)\n"
	"                          remembered to refuse a replay within the window\n"
	"                          (default 1048576, 16 bytes each; too few refuses more)\n"
	"  --http-request-timeout DUR\n"
	"                          time a connection has to send a request's header and\n"
	"                          body, from its opening or its last answer, however it\n"
	"                          trickles in; then it is closed (default 10s)\n"
	"  --source-v4-prefix LEN  one source, for the per-source limits (registration\n"
	"                          rate, connections): an IPv4 address cut to this\n"
	"                          prefix (default 32)\n"
	"  --source-v6-prefix LEN  the same for IPv6 (default 64: what one host is given)\n"
	"\n"
	"Policy (persisted in --state-dir; change it live with glournetctl set):\n"
	"  --state-dir DIR         the policy (policy.json), the endpoint store\n"
	"                          (glournet.db, SQLite) and transitions.log\n"
	"                          (default /var/lib/glournet); made 0700, its files\n"
	"                          0600; refused when others can write in it\n"
	"  --store URL             where the endpoint store is: sqlite: (the default,\n"
	"                          glournet.db in --state-dir), sqlite:/PATH,\n"
	"                          postgresql://USER@HOST[,HOST2]/DB?... or a libpq\n"
	"                          'host=... dbname=...' string (a password in it is\n"
	"                          never shown; prefer ~/.pgpass or PGPASSFILE;\n"
	"                          docs/store.md)\n"
	"  --collector-name NAME   this collector's name among several sharing one\n"
	"                          PostgreSQL store (default: the hostname)\n"
	"  --lease DUR             the decider lease of several collectors on\n"
	"                          PostgreSQL (default 10s; renewed every third;\n"
	"                          docs/store.md)\n"
	"  --allow-empty-store     start even though the state directory held a store\n"
	"                          and glournet.db is now new or empty (it was lost:\n"
	"                          endpoints register again); refused without it\n"
	"  --set NAME=VALUE        apply a setting at start, e.g. heartbeat.interval=10m\n"
	"                          (repeatable; glournetctl show settings lists them)\n"
	"  --offline-after DUR     same as --set heartbeat.offline_after=DUR\n"
	"  --hb-interval DUR       same as --set heartbeat.interval=DUR\n"
	"  --poll-interval DUR     same as --set poll.interval=DUR\n"
	"\n"
	"Heartbeat checks (durations: 500ms, 15s, 5m, 1h, 2d; no unit: seconds):\n"
	"  --window DUR            accept heartbeat times this far in the past (default 300s)\n"
	"  --skew DUR              accept heartbeat times this far in the future (default 30s)\n"
	"  --sweep-interval DUR    how often statuses are recomputed (default 1s)\n"
	"  --max-endpoints N       slot table limit (default 16777216)\n"
	"\n"
	"Dataplane:\n"
	"  --port-id N             DPDK port to use (default: the first one probed)\n"
	"  --rx-desc N             RX descriptors per queue (default 1024)\n"
	"  --mbufs N|auto          mbufs in the RX pool (default auto: every RX descriptor\n"
	"                          of every queue, the lcores' caches, 1024 spare)\n"
	"  --idle-sleep-us N       sleep N us after 1024 empty polls (default 0: poll only)\n"
	"\n"
	"Exception path (frames that are not heartbeats: ARP, ND, ping, TCP...):\n"
	"  --exception kernel|drop hand them to the kernel through the exception\n"
	"                          interface (default), or drop them\n"
	"  --exception-iface NAME  the exception interface glournetd creates\n"
	"                          (default glournet0)\n"
	"  --exception-addr A/LEN  an address for it (repeatable, up to 8; default:\n"
	"                          each --hb-addr, /24 for IPv4, /64 for IPv6)\n"
	"  --exception-route R     a route out of it: 'PREFIX via GW [metric N]',\n"
	"                          'default via GW [metric N]' (repeatable, up to 8)\n"
	"  --exception-ring N      frames queued per worker for the kernel (power of\n"
	"                          two, default 1024); over: dropped and counted\n"
	"  --neigh-max N           neighbour table entries (default 16384)\n"
	"\n"
	"Operations:\n"
	"  --ctl-socket PATH       control socket (default /run/glournet/glournetd.sock)\n" OPTIONS_CTL_HELP
	"  --log-level LEVEL       error, warn, info (default) or debug\n"
	"  --config FILE           the configuration file (YAML): every option here\n"
	"                          but the policy's, --token and --allow-empty-store,\n"
	"                          as 'name: value' (a list for the repeatable ones),\n"
	"                          and 'eal:' for the EAL arguments; the command line\n"
	"                          wins over it. SIGHUP re-reads it for the log level\n"
	"                          and the TLS files (docs/real-nic.md)\n"
	"  --check                 check the options and the configuration file, say\n"
	"                          what is wrong with its line, and exit (0: good)\n"
	"                          without starting DPDK\n"
	"  --metrics ADDR:PORT|off Prometheus /metrics, /healthz and /readyz there\n"
	"                          (default off; e.g. 127.0.0.1:9110; docs/metrics.md)\n"
	"  -h, --help              this help\n"
	"  -V, --version           version\n"
	"\n"
	"One worker runs on each EAL lcore but the main one, each on its own RX queue.\n"
	"Example (no NIC):\n"
	"  glournetd --token-file /etc/glournet/token -- -l 0,1 --no-huge --no-shconf --file-prefix gn \\\n"
	"            --vdev net_af_packet0,iface=veth0\n";

enum {
	OPT_TOKEN = 256,
	OPT_TOKEN_FILE,
	OPT_UDP_PORT,
	OPT_HB_ADDR,
	OPT_HTTP,
	OPT_HTTP_MAX_CONNS,
	OPT_HTTP_TIMEOUT,
	OPT_OFFLINE_AFTER,
	OPT_HB_INTERVAL,
	OPT_POLL_INTERVAL,
	OPT_WINDOW,
	OPT_SKEW,
	OPT_SWEEP_INTERVAL,
	OPT_MAX_ENDPOINTS,
	OPT_PORT_ID,
	OPT_RX_DESC,
	OPT_MBUFS,
	OPT_IDLE_SLEEP,
	OPT_CTL_SOCKET,
	OPT_LOG_LEVEL,
	OPT_STATE_DIR,
	OPT_SET,
	OPT_HTTPS,
	OPT_TLS_CERT,
	OPT_TLS_KEY,
	OPT_HTTP_MAX_BODY,
	OPT_HTTP_MAX_HEADER,
	OPT_REGISTER_RATE,
	OPT_REGISTER_BURST,
	OPT_EXCEPTION,
	OPT_EXC_IFACE,
	OPT_EXC_ADDR,
	OPT_EXC_ROUTE,
	OPT_EXC_RING,
	OPT_NEIGH_MAX,
	OPT_HTTP_CONNS_PER_SOURCE,
	OPT_HTTP_REPLAY_CACHE,
	OPT_HTTP_REQUEST_TIMEOUT,
	OPT_SOURCE_V4_PREFIX,
	OPT_SOURCE_V6_PREFIX,
	OPT_CONFIG,
	OPT_CHECK,
	/* Issue 13: state directory and token hardening. */
	OPT_ALLOW_EMPTY_STORE,
	OPT_METRICS,
	OPT_STORE, /* issue 16 */
	OPT_COLLECTOR_NAME,
	OPT_LEASE,
};

static const struct option long_opts[] = {
	{"token", required_argument, 0, OPT_TOKEN},
	{"token-file", required_argument, 0, OPT_TOKEN_FILE},
	{"udp-port", required_argument, 0, OPT_UDP_PORT},
	{"hb-addr", required_argument, 0, OPT_HB_ADDR},
	{"http", required_argument, 0, OPT_HTTP},
	{"http-max-conns", required_argument, 0, OPT_HTTP_MAX_CONNS},
	{"http-timeout", required_argument, 0, OPT_HTTP_TIMEOUT},
	{"https", required_argument, 0, OPT_HTTPS},
	{"tls-cert", required_argument, 0, OPT_TLS_CERT},
	{"tls-key", required_argument, 0, OPT_TLS_KEY},
	{"http-max-body", required_argument, 0, OPT_HTTP_MAX_BODY},
	{"http-max-header", required_argument, 0, OPT_HTTP_MAX_HEADER},
	{"register-rate", required_argument, 0, OPT_REGISTER_RATE},
	{"register-burst", required_argument, 0, OPT_REGISTER_BURST},
	{"http-max-conns-per-source", required_argument, 0, OPT_HTTP_CONNS_PER_SOURCE},
	{"http-replay-cache", required_argument, 0, OPT_HTTP_REPLAY_CACHE},
	{"http-request-timeout", required_argument, 0, OPT_HTTP_REQUEST_TIMEOUT},
	{"source-v4-prefix", required_argument, 0, OPT_SOURCE_V4_PREFIX},
	{"source-v6-prefix", required_argument, 0, OPT_SOURCE_V6_PREFIX},
	{"offline-after", required_argument, 0, OPT_OFFLINE_AFTER},
	{"hb-interval", required_argument, 0, OPT_HB_INTERVAL},
	{"poll-interval", required_argument, 0, OPT_POLL_INTERVAL},
	{"window", required_argument, 0, OPT_WINDOW},
	{"skew", required_argument, 0, OPT_SKEW},
	{"sweep-interval", required_argument, 0, OPT_SWEEP_INTERVAL},
	{"max-endpoints", required_argument, 0, OPT_MAX_ENDPOINTS},
	{"port-id", required_argument, 0, OPT_PORT_ID},
	{"rx-desc", required_argument, 0, OPT_RX_DESC},
	{"mbufs", required_argument, 0, OPT_MBUFS},
	{"idle-sleep-us", required_argument, 0, OPT_IDLE_SLEEP},
	{"ctl-socket", required_argument, 0, OPT_CTL_SOCKET},
	{"log-level", required_argument, 0, OPT_LOG_LEVEL},
	{"state-dir", required_argument, 0, OPT_STATE_DIR},
	{"set", required_argument, 0, OPT_SET},
	{"exception", required_argument, 0, OPT_EXCEPTION},
	{"exception-iface", required_argument, 0, OPT_EXC_IFACE},
	{"exception-addr", required_argument, 0, OPT_EXC_ADDR},
	{"exception-route", required_argument, 0, OPT_EXC_ROUTE},
	{"exception-ring", required_argument, 0, OPT_EXC_RING},
	{"neigh-max", required_argument, 0, OPT_NEIGH_MAX},
	{"config", required_argument, 0, OPT_CONFIG},
	{"check", no_argument, 0, OPT_CHECK},
	{"allow-empty-store", no_argument, 0, OPT_ALLOW_EMPTY_STORE},
	{"metrics", required_argument, 0, OPT_METRICS},
	{"store", required_argument, 0, OPT_STORE},
	{"collector-name", required_argument, 0, OPT_COLLECTOR_NAME},
	{"lease", required_argument, 0, OPT_LEASE},
	OPTIONS_CTL_LONG,
	{"help", no_argument, 0, 'h'},
	{"version", no_argument, 0, 'V'},
	{0, 0, 0, 0},
};

static int bad(const char *opt, const char *val, const char *want)
{
	return options_bad(opt, val, want);
}

static int parse_uint(const char *opt, const char *val, uint64_t lo, uint64_t hi, uint32_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(val, &end, 10);
	if (errno || end == val || *end || val[0] == '-' || v < lo || v > hi) {
		char want[96];
		snprintf(want, sizeof(want), "expected a whole number from %llu to %llu",
			 (unsigned long long)lo, (unsigned long long)hi);
		return bad(opt, val, want);
	}
	*out = (uint32_t)v;
	return 0;
}

static int parse_dur(const char *opt, const char *val, uint32_t lo, uint32_t hi, uint32_t *out)
{
	char what[PATH_MAX + 80], err[PATH_MAX + 400];
	const char *file;
	unsigned line;
	options_say_where(&file, &line); /* from a file: FILE:LINE: KEY */
	if (file)
		snprintf(what, sizeof(what), "%s:%u: %s", file, line, opt);
	else
		snprintf(what, sizeof(what), "--%s", opt);
	if (duration_take_s(what, val, lo, hi, out, err, sizeof(err)) < 0)
		return options_say("%s", err); /* the grammar's words, as every tool's */
	return 0;
}

static int read_token_file(const char *path, char **token)
{
	FILE *f = fopen(path, "re");
	if (!f) {
		return bad("token-file", path, strerror(errno));
	}
	struct stat st;
	if (fstat(fileno(f), &st) == 0 && (st.st_mode & 077))
		LOG(WARN,
		    "--token-file %s is mode %04o: others may read the enrollment token "
		    "(chmod 0600 it)",
		    path, (unsigned)(st.st_mode & 07777));
	char line[512];
	if (!fgets(line, sizeof(line), f))
		line[0] = '\0';
	fclose(f);
	line[strcspn(line, "\r\n")] = '\0';
	if (!line[0])
		return bad("token-file", path, "the first line (the token) is empty");
	free(*token);
	*token = strdup(line);
	return 0;
}

int options_parse_listen(const char *text, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[64];
	const char *colon = strrchr(text, ':');
	if (!colon || colon == text || strlen(colon + 1) == 0)
		return -EINVAL;
	size_t hl = (size_t)(colon - text);
	if (text[0] == '[') {
		if (hl < 2 || text[hl - 1] != ']' || hl - 2 >= sizeof(host))
			return -EINVAL;
		memcpy(host, text + 1, hl - 2);
		host[hl - 2] = '\0';
	} else {
		if (hl >= sizeof(host))
			return -EINVAL;
		memcpy(host, text, hl);
		host[hl] = '\0';
	}
	char *end;
	errno = 0;
	long port = strtol(colon + 1, &end, 10);
	if (errno || *end || colon[1] == '-' || colon[1] == '+' || port < 0 || port > 65535)
		return -EINVAL;
	memset(ss, 0, sizeof(*ss));
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	struct gn_addr a;
	/* IPv6 only in brackets, IPv4 only without. */
	if (text_parse_addr(host, strlen(host), &a) < 0 ||
	    (a.family == AF_INET6) != (text[0] == '['))
		return -EINVAL;
	if (a.family == AF_INET) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		memcpy(&s4->sin_addr, a.bytes, 4);
		*len = sizeof(*s4);
	} else {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		memcpy(&s6->sin6_addr, a.bytes, 16);
		*len = sizeof(*s6);
	}
	return 0;
}

static int parse_listen_opt(const char *opt, const char *val, const char **out)
{
	struct sockaddr_storage ss;
	socklen_t len;
	if (strcmp(val, "off") != 0 && options_parse_listen(val, &ss, &len) < 0)
		return bad(opt, val,
			   "expected ADDR:PORT (IPv4), [ADDR]:PORT (IPv6; [::] is dual "
			   "stack) or off");
	*out = val;
	return 0;
}

static int parse_log_level(const char *val)
{
	static const char *const names[] = {"error", "warn", "info", "debug"};
	for (int i = 0; i < 4; i++) {
		if (!strcmp(val, names[i])) {
			gn_log_max_level = (enum gn_log_level)i;
			return 0;
		}
	}
	return bad("log-level", val, "expected error, warn, info or debug");
}

static void set_defaults(struct gn_options *o)
{
	memset(o, 0, sizeof(*o));
	o->udp_port = HB_DEFAULT_PORT;
	o->http_listen = "[::]:8080";
	o->ctl_socket = "/run/glournet/glournetd.sock";
	o->state_dir = "/var/lib/glournet";
	o->window = 300;
	o->skew = 30;
	o->sweep_interval = 1;
	o->lease = 10;
	o->max_endpoints = 16u << 20;
	o->port_id = -1;
	o->rx_desc = 1024;
	o->mbufs = 0; /* auto: sized from the workers and --rx-desc (daemon_eal.c) */
	o->http_max_conns = 1024;
	o->http_timeout = 30;
	o->https_listen = "off";
	o->http_max_body = 16384;
	o->http_max_header = 16384;
	o->register_rate = 50;
	o->register_burst = 200;
	o->exception_iface = "glournet0";
	o->exception_ring = EXC_RING_DEFAULT;
	o->neigh_max = 16384;
	o->http_max_conns_per_source = 64;
	o->http_replay_cache = 1u << 20;
	o->http_request_timeout = 10;
	o->source_v4_prefix = 32;
	o->source_v6_prefix = 64;
	o->metrics_listen = "off";
}

/* Validated later, with the policy: one validation path for every entry. */
static int add_set(struct gn_options *o, const char *opt, const char *name, const char *value)
{
	if (o->n_sets == GN_MAX_SETS)
		return bad(opt, value, "too many settings on the command line (at most 32)");
	o->set_name[o->n_sets] = name;
	o->set_value[o->n_sets++] = value;
	return 0;
}

/* The exception path's options (docs/exception-path.md). */
static int apply_exception(struct gn_options *o, int c, const char *v)
{
	uint32_t u;
	struct gn_addr a;
	uint8_t plen;
	struct route_entry r;
	const char *why;
	switch (c) {
	case OPT_EXCEPTION:
		if (strcmp(v, "kernel") && strcmp(v, "drop"))
			return bad("exception", v, "expected kernel or drop");
		o->exception_drop = !strcmp(v, "drop");
		return 0;
	case OPT_EXC_IFACE:
		if (!*v || strlen(v) >= EXC_IFNAME_MAX || strpbrk(v, "/ \t:"))
			return bad("exception-iface", v,
				   "expected an interface name of 1 to 15 "
				   "characters, without '/', ':' or spaces");
		o->exception_iface = v;
		return 0;
	case OPT_EXC_ADDR:
		if (gn_prefix_parse(v, 0, &a, &plen) < 0 || !strchr(v, '/') || plen == 0)
			return bad("exception-addr", v,
				   "expected ADDRESS/LENGTH, e.g. "
				   "198.18.0.1/24 or 2001:db8::1/64");
		if (o->n_exc_addrs == GN_MAX_EXC_ADDRS)
			return bad("exception-addr", v, "at most 8 addresses");
		o->exc_addrs[o->n_exc_addrs++] = v;
		return 0;
	case OPT_EXC_ROUTE:
		if (route_parse(v, &r, &why) < 0)
			return bad("exception-route", v, why);
		if (o->n_exc_routes == GN_MAX_EXC_ROUTES)
			return bad("exception-route", v, "at most 8 routes");
		o->exc_routes[o->n_exc_routes++] = v;
		return 0;
	case OPT_EXC_RING:
		if (parse_uint("exception-ring", v, 64, 65536, &u) < 0)
			return -1;
		if (u & (u - 1))
			return bad("exception-ring", v, "expected a power of two from 64 to 65536");
		o->exception_ring = u;
		return 0;
	case OPT_NEIGH_MAX:
		return parse_uint("neigh-max", v, 16, 1u << 24, &o->neigh_max);
	}
	return -1;
}

static int apply(struct gn_options *o, int c, const char *v)
{
	uint32_t u;
	switch (c) {
	case OPT_TOKEN:
		if (!*v)
			return bad("token", v, "the token must not be empty");
		free(o->token);
		o->token = strdup(v);
		o->token_file = NULL; /* the last of --token and --token-file wins */
		/* Out of /proc/PID/cmdline (ps) from now on; it was readable
		 * until here, which --help says. */
		explicit_bzero((char *)v, strlen(v));
		LOG(WARN, "--token: the enrollment token was visible to every local user in ps "
			  "while glournetd started; prefer --token-file");
		return 0;
	case OPT_TOKEN_FILE:
		/* Read once every option is in: the command line's may replace
		 * the file's, whose file then need not exist. */
		free(o->token);
		o->token = NULL;
		o->token_file = v;
		options_say_where(&o->token_file_from, &o->token_file_line);
		return 0;
	case OPT_UDP_PORT:
		if (parse_uint("udp-port", v, 1, 65535, &u) < 0)
			return -1;
		o->udp_port = (uint16_t)u;
		return 0;
	case OPT_HB_ADDR:
		if (o->n_hb_addrs == GN_MAX_HB_ADDRS)
			return bad("hb-addr", v, "at most 8 heartbeat addresses");
		o->hb_addrs[o->n_hb_addrs++] = v;
		return 0;
	case OPT_HTTP:
		return parse_listen_opt("http", v, &o->http_listen);
	case OPT_HTTPS:
		return parse_listen_opt("https", v, &o->https_listen);
	case OPT_TLS_CERT: /* read with the key once every option is in */
		o->tls_cert_file = v;
		options_say_where(&o->tls_from[0].file, &o->tls_from[0].line);
		return 0;
	case OPT_TLS_KEY:
		o->tls_key_file = v;
		options_say_where(&o->tls_from[1].file, &o->tls_from[1].line);
		return 0;
	case OPT_HTTP_MAX_BODY:
		return parse_uint("http-max-body", v, 64, 16u << 20, &o->http_max_body);
	case OPT_HTTP_MAX_HEADER:
		return parse_uint("http-max-header", v, 4096, 1u << 20, &o->http_max_header);
	case OPT_REGISTER_RATE:
		return parse_uint("register-rate", v, 0, 1000000, &o->register_rate);
	case OPT_REGISTER_BURST:
		return parse_uint("register-burst", v, 1, 1000000, &o->register_burst);
	case OPT_HTTP_REPLAY_CACHE:
		return parse_uint("http-replay-cache", v, 1024, 1u << 30, &o->http_replay_cache);
	case OPT_HTTP_CONNS_PER_SOURCE:
		return parse_uint("http-max-conns-per-source", v, 0, 1000000,
				  &o->http_max_conns_per_source);
	case OPT_HTTP_REQUEST_TIMEOUT:
		return parse_dur("http-request-timeout", v, 1, 3600, &o->http_request_timeout);
	case OPT_SOURCE_V4_PREFIX:
		return parse_uint("source-v4-prefix", v, 1, 32, &o->source_v4_prefix);
	case OPT_SOURCE_V6_PREFIX:
		return parse_uint("source-v6-prefix", v, 1, 128, &o->source_v6_prefix);
	case OPT_HTTP_MAX_CONNS:
		return parse_uint("http-max-conns", v, 1, 1000000, &o->http_max_conns);
	case OPT_HTTP_TIMEOUT:
		return parse_dur("http-timeout", v, 1, 3600, &o->http_timeout);
	case OPT_OFFLINE_AFTER:
		return add_set(o, "offline-after", "heartbeat.offline_after", v);
	case OPT_HB_INTERVAL:
		return add_set(o, "hb-interval", "heartbeat.interval", v);
	case OPT_POLL_INTERVAL:
		return add_set(o, "poll-interval", "poll.interval", v);
	case OPT_STATE_DIR:
		o->state_dir = v;
		return 0;
	case OPT_SET: {
		char *eq = strchr(v, '=');
		if (!eq || eq == v)
			return bad("set", v, "expected NAME=VALUE, e.g. heartbeat.interval=10m");
		*eq = '\0'; /* argv is ours to cut */
		return add_set(o, "set", v, eq + 1);
	}
	case OPT_WINDOW:
		return parse_dur("window", v, 1, 86400, &o->window);
	case OPT_SKEW:
		return parse_dur("skew", v, 0, 3600, &o->skew);
	case OPT_SWEEP_INTERVAL:
		return parse_dur("sweep-interval", v, 1, 3600, &o->sweep_interval);
	case OPT_MAX_ENDPOINTS:
		return parse_uint("max-endpoints", v, 1, 1u << 30, &o->max_endpoints);
	case OPT_PORT_ID:
		if (parse_uint("port-id", v, 0, 65534, &u) < 0)
			return -1;
		o->port_id = (int)u;
		return 0;
	case OPT_RX_DESC:
		return parse_uint("rx-desc", v, 64, 16384, &o->rx_desc);
	case OPT_MBUFS:
		if (!strcmp(v, "auto")) {
			o->mbufs = 0;
			return 0;
		}
		return parse_uint("mbufs", v, 1023, 1u << 24, &o->mbufs);
	case OPT_IDLE_SLEEP:
		return parse_uint("idle-sleep-us", v, 0, 100000, &o->idle_sleep_us);
	case OPT_CTL_SOCKET:
		o->ctl_socket = v;
		return 0;
	case OPT_ALLOW_EMPTY_STORE:
		o->allow_empty_store = true;
		return 0;
	case OPT_LOG_LEVEL:
		return parse_log_level(v);
	case OPT_CONFIG:
		if (o->config_path && strcmp(o->config_path, v) != 0)
			return bad("config", v, "one configuration file only");
		o->config_path = v;
		return 0;
	case OPT_CHECK:
		o->check = true;
		return 0;
	case OPT_METRICS:
		return parse_listen_opt("metrics", v, &o->metrics_listen);
	case OPT_LEASE:
		return parse_dur("lease", v, 2, 3600, &o->lease);
	case OPT_COLLECTOR_NAME:
		if (!*v || strlen(v) > 63)
			return bad("collector-name", v, "1 to 63 characters");
		o->collector_name = v;
		return 0;
	case OPT_STORE: {
		struct store_url u;
		char why[STORE_URL_MAX + 300];
		if (store_url_parse(v, &u, why, sizeof(why)) < 0) {
			/* why names the input, masked: never the value as given */
			const char *file;
			unsigned line;
			options_say_where(&file, &line);
			if (file)
				return options_say("%s:%u: store %s", file, line, why);
			return options_say("--store %s", why);
		}
		char *copy = strdup(v);
		if (!copy)
			return options_say("out of memory");
		free(o->store_copy);
		o->store = o->store_copy = copy;
		const char *file;
		unsigned line;
		options_say_where(&file, &line);
		if (!file && strcmp(u.shown, v) != 0) {
			/* As --token: out of /proc/PID/cmdline from now on. */
			explicit_bzero((char *)v, strlen(v));
			LOG(WARN, "--store: the database password was visible to every local user "
				  "in ps while glournetd started; prefer ~/.pgpass or PGPASSFILE");
		}
		return 0;
	}
	}
	if (c >= OPT_CTL_SOCKET_MODE && c <= OPT_CTL_LAST)
		return options_ctl_apply(o, c, v);
	return apply_exception(o, c, v);
}

/* How the configuration file may use an option (options_config.h): the
 * repeatable ones take a list; some stay on the command line. */
#define POLICY_WHY                                                                           \
	"policy, not configuration: it is persisted in the state directory; change it with " \
	"glournetctl set (or --set at start)"
static const struct options_config_rule config_rules[] = {
	{OPT_HB_ADDR, true, NULL},
	{OPT_EXC_ADDR, true, NULL},
	{OPT_EXC_ROUTE, true, NULL},
	{OPT_TOKEN, false,
	 "the token would be one more copy to guard: give token-file (a file only root reads)"},
	{OPT_ALLOW_EMPTY_STORE, false,
	 "a decision for one start, after a lost store: give it on the command line"},
	{OPT_CONFIG, false, "not nested"},
	{OPT_CHECK, false, "a command-line flag"},
	{OPT_SET, false, POLICY_WHY},
	{OPT_OFFLINE_AFTER, false, POLICY_WHY},
	{OPT_HB_INTERVAL, false, POLICY_WHY},
	{OPT_POLL_INTERVAL, false, POLICY_WHY},
};
#define N_RULES (sizeof(config_rules) / sizeof(config_rules[0]))

/* A repeatable option given on the command line replaces the file's list. */
static void clear_list(struct gn_options *o, int c)
{
	if (c == OPT_HB_ADDR)
		o->n_hb_addrs = 0;
	else if (c == OPT_EXC_ADDR)
		o->n_exc_addrs = 0;
	else if (c == OPT_EXC_ROUTE)
		o->n_exc_routes = 0;
}

/* One getopt pass over argv: the command line's, or the configuration
 * file's words (`w`, each with its line: every bad one is said, then -1).
 * 1 after --help/--version, 0 when done, -1 after a usage error. */
static int parse_args(struct gn_options *o, int argc, char **argv,
		      const struct options_config_words *w)
{
	int c, failed = 0;
	unsigned listed = 0; /* the lists the command line has begun */
	opterr = 0;
	optind = 1;
	/* '+' stops at the first non-option, so `--` ends our part. */
	while ((c = getopt_long(argc, argv, "+hV", long_opts, NULL)) != -1) {
		if (c == 'h') {
			fputs(usage_text, stdout);
			return 1;
		}
		if (c == 'V') {
			printf("glournetd %s\n", GN_VERSION);
			return 1;
		}
		if (c == '?' || c == ':') {
			const char *a = argv[optind - 1];
			if (!strncmp(a, "--options-file", 14))
				return options_say(
					"--options-file is gone: its options are keys of "
					"--config FILE now (YAML, 'log-level: debug'; "
					"docs/real-nic.md)");
			return options_say("unknown option or missing value: '%s'\n"
					   "Try 'glournetd --help'.",
					   a);
		}
		options_say_from(w ? w->cf.path : NULL, w ? w->line[optind - 1] : 0);
		const struct options_config_rule *r = options_config_rule(config_rules, N_RULES, c);
		if (!w && r && r->list) {
			unsigned bit = 1u << (r - config_rules);
			if (!(listed & bit))
				clear_list(o, c);
			listed |= bit;
		}
		if (apply(o, c, optarg) < 0) {
			if (!w)
				return -1;
			failed = 1;
		}
	}
	options_say_from(NULL, 0);
	return failed ? -1 : 0;
}

void options_free(struct gn_options *o)
{
	free(o->token);
	o->token = NULL;
	free(o->store_copy);
	o->store_copy = NULL;
	o->store = NULL;
	if (o->config) {
		options_config_free(o->config);
		free(o->config);
		o->config = NULL;
	}
	free(o->eal_argv);
	o->eal_argv = NULL;
	for (int i = 0; i < 2; i++) {
		free(o->tls_files_reloaded[i]);
		o->tls_files_reloaded[i] = NULL;
	}
}

/* The configuration file's options, applied first (so the command line
 * wins); its words stay with `o`, which points into them. */
static int parse_config(struct gn_options *o, const char *path)
{
	struct options_config_words *w = calloc(1, sizeof(*w));
	if (!w)
		return options_say("out of memory");
	int refused = options_config_load(path, long_opts, config_rules, N_RULES, w);
	if (refused < 0) {
		free(w);
		return -1;
	}
	o->config = w;
	return parse_args(o, w->argc, w->argv, w) == 0 && !refused ? 0 : -1;
}

/* A path a SIGHUP read from the configuration file, owned by `o` from now
 * on (the file's words are freed with the reload's options). */
static void take_reloaded(struct gn_options *o, int which, const char *path, const char **field)
{
	char *copy = strdup(path);
	if (!copy)
		return; /* keep the old one */
	free(o->tls_files_reloaded[which]);
	o->tls_files_reloaded[which] = copy;
	*field = copy;
}

static const char *config_in_args(int argc, char **argv)
{
	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
		if (!strcmp(argv[i], "--config") && i + 1 < argc)
			return argv[i + 1];
		if (!strncmp(argv[i], "--config=", 9))
			return argv[i] + 9;
	}
	return NULL;
}

/* EAL's argv: argv[0], then the command line's words after `--` when
 * there are any, else the file's `eal:`. */
static int eal_args(struct gn_options *o, int argc, char **argv, int first)
{
	int cli = argc - first;
	int n = cli > 0 ? cli : o->config ? o->config->eal_argc : 0;
	char **src = cli > 0 ? argv + first : o->config ? o->config->eal_argv : NULL;
	o->eal_argv = calloc((size_t)n + 2, sizeof(char *));
	if (!o->eal_argv)
		return options_say("out of memory");
	o->eal_argv[0] = argv[0];
	for (int i = 0; i < n; i++)
		o->eal_argv[i + 1] = src[i];
	o->eal_argc = n + 1;
	return 0;
}

int options_parse(struct gn_options *o, int argc, char **argv)
{
	set_defaults(o);
	const char *file = config_in_args(argc, argv);
	int file_rc = file ? parse_config(o, file) : 0;
	/* With --check, the command line is checked too before saying no. */
	int rc = parse_args(o, argc, argv, NULL);
	if (rc > 0)
		return 0;
	if (rc < 0 || file_rc < 0)
		return -1;
	if (optind < argc && strcmp(argv[optind - 1], "--") != 0)
		return options_say("unexpected argument '%s' (EAL arguments go after --)",
				   argv[optind]);
	if (o->token_file) {
		options_say_from(o->token_file_from, o->token_file_line);
		rc = read_token_file(o->token_file, &o->token);
		options_say_from(NULL, 0);
		if (rc < 0)
			return -1;
	}
	if (!o->token)
		return options_say("an enrollment token is required (token-file in the "
				   "configuration, --token-file or --token)");
	if (options_check_tls(o) < 0)
		return -1;
	if (strcmp(o->metrics_listen, "off") != 0 && (!strcmp(o->metrics_listen, o->http_listen) ||
						      !strcmp(o->metrics_listen, o->https_listen)))
		return bad("metrics", o->metrics_listen, "the endpoint API listens there");
	if (eal_args(o, argc, argv, optind) < 0)
		return -1;
	return optind;
}

int options_reload(struct gn_options *o, struct options_reloaded *r)
{
	static const char *const levels[] = {"error", "warn", "info", "debug"};
	memset(r, 0, sizeof(*r));
	enum gn_log_level before = gn_log_max_level;
	size_t n = 0;
	if (o->config_path) {
		/* The file alone, over the defaults: only its reloadable options
		 * are taken (the log level applies as it is parsed). */
		struct gn_options tmp;
		set_defaults(&tmp);
		if (parse_config(&tmp, o->config_path) < 0) {
			options_free(&tmp);
			gn_log_max_level = before;
			snprintf(r->said, sizeof(r->said),
				 "%s unreadable or invalid (see above): "
				 "nothing reloaded",
				 o->config_path);
			return -1;
		}
		if (tmp.tls_cert_file)
			take_reloaded(o, 0, tmp.tls_cert_file, &o->tls_cert_file);
		if (tmp.tls_key_file)
			take_reloaded(o, 1, tmp.tls_key_file, &o->tls_key_file);
		options_free(&tmp);
		n += (size_t)snprintf(r->said + n, sizeof(r->said) - n, "%s: log level %s%s%s",
				      o->config_path, levels[before],
				      gn_log_max_level == before ? " (unchanged)" : " -> ",
				      gn_log_max_level == before ? "" : levels[gn_log_max_level]);
	} else {
		n += (size_t)snprintf(r->said, sizeof(r->said),
				      "log level %s (no --config to reload it from)",
				      levels[before]);
	}
	if (strcmp(o->https_listen, "off") != 0 && n < sizeof(r->said)) {
		if (options_read_pem("tls-cert", o->tls_cert_file, "the server certificate",
				     &r->cert_pem) < 0 ||
		    options_read_pem("tls-key", o->tls_key_file, "the certificate's private key",
				     &r->key_pem) < 0) {
			free(r->cert_pem);
			free(r->key_pem);
			r->cert_pem = r->key_pem = NULL;
			snprintf(r->said + n, sizeof(r->said) - n,
				 "; TLS certificate and key not reloaded (see above)");
			return -1;
		}
		snprintf(r->said + n, sizeof(r->said) - n,
			 "; TLS certificate %s and key %s re-read", o->tls_cert_file,
			 o->tls_key_file);
	}
	return 0;
}
