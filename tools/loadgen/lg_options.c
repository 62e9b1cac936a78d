/*
 * Option parsing for glournet-loadgen (lg_options.h); the --help text is
 * lg_options_help.c's.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "glournet/heartbeat.h"
#include "glournet/http_api.h"
#include "glournet/duration.h"
#include "lg_options.h"

static void bad(FILE *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void bad(FILE *err, const char *fmt, ...)
{
	va_list ap;

	fputs(LG_PROG ": ", err);
	va_start(ap, fmt);
	vfprintf(err, fmt, ap);
	va_end(ap);
	fputs(" (try --help)\n", err);
}

enum {
	O_ENDPOINTS = 256,
	O_REGISTER,
	O_TOKEN,
	O_COUNT,
	O_PREFIX,
	O_CONC,
	O_IPS_BASE,
	O_RETRIES,
	O_CACERT,
	O_INSECURE,
	O_SAVE,
	O_REG_ONLY,
	O_TO,
	O_PORT,
	O_SRC,
	O_SRC_PORT,
	O_INTERVAL,
	O_RATE,
	O_DURATION,
	O_ROUNDS,
	O_LOSS,
	O_SILENT,
	O_SILENT_AFTER,
	O_SHUTDOWN,
	O_SHUTDOWN_AFTER,
	O_TIME_OFFSET,
	O_SEED,
	O_ENGINE,
	O_BATCH,
	O_TX_RETRIES,
	O_DST_MAC,
	O_SRC_MAC,
	O_PORT_ID,
	O_JSON,
	O_NOTIFY,
	O_NOTIFY_PORT,
	O_NOTIFY_PORTS,
	O_NOTIFY_BIND,
	O_ACK_LATE,
	O_ACK_DELAY,
	O_ACK_NEVER,
	O_POLL_AFTER,
	O_POLL_SPREAD,
	O_POLL_CONC,
	O_NOTIFY_WINDOW,
	O_NOTIFY_SKEW,
	O_NO_HEARTBEATS,
	O_ROLES_OUT,
};

static const struct option lg_longopts[] = {
	{"endpoints", required_argument, NULL, O_ENDPOINTS},
	{"register", required_argument, NULL, O_REGISTER},
	{"token", required_argument, NULL, O_TOKEN},
	{"count", required_argument, NULL, O_COUNT},
	{"guid-prefix", required_argument, NULL, O_PREFIX},
	{"concurrency", required_argument, NULL, O_CONC},
	{"ips-base", required_argument, NULL, O_IPS_BASE},
	{"retries", required_argument, NULL, O_RETRIES},
	{"cacert", required_argument, NULL, O_CACERT},
	{"insecure", no_argument, NULL, O_INSECURE},
	{"save", required_argument, NULL, O_SAVE},
	{"register-only", no_argument, NULL, O_REG_ONLY},
	{"to", required_argument, NULL, O_TO},
	{"port", required_argument, NULL, O_PORT},
	{"src", required_argument, NULL, O_SRC},
	{"src-port", required_argument, NULL, O_SRC_PORT},
	{"interval", required_argument, NULL, O_INTERVAL},
	{"rate", required_argument, NULL, O_RATE},
	{"duration", required_argument, NULL, O_DURATION},
	{"rounds", required_argument, NULL, O_ROUNDS},
	{"loss", required_argument, NULL, O_LOSS},
	{"silent", required_argument, NULL, O_SILENT},
	{"silent-after", required_argument, NULL, O_SILENT_AFTER},
	{"shutdown", required_argument, NULL, O_SHUTDOWN},
	{"shutdown-after", required_argument, NULL, O_SHUTDOWN_AFTER},
	{"time-offset", required_argument, NULL, O_TIME_OFFSET},
	{"seed", required_argument, NULL, O_SEED},
	{"engine", required_argument, NULL, O_ENGINE},
	{"batch", required_argument, NULL, O_BATCH},
	{"tx-retries", required_argument, NULL, O_TX_RETRIES},
	{"dst-mac", required_argument, NULL, O_DST_MAC},
	{"src-mac", required_argument, NULL, O_SRC_MAC},
	{"port-id", required_argument, NULL, O_PORT_ID},
	{"json", no_argument, NULL, O_JSON},
	{"notify", no_argument, NULL, O_NOTIFY},
	{"notify-port", required_argument, NULL, O_NOTIFY_PORT},
	{"notify-ports", required_argument, NULL, O_NOTIFY_PORTS},
	{"notify-bind", required_argument, NULL, O_NOTIFY_BIND},
	{"ack-late", required_argument, NULL, O_ACK_LATE},
	{"ack-delay", required_argument, NULL, O_ACK_DELAY},
	{"ack-never", required_argument, NULL, O_ACK_NEVER},
	{"poll-after-notify", required_argument, NULL, O_POLL_AFTER},
	{"poll-spread", required_argument, NULL, O_POLL_SPREAD},
	{"poll-concurrency", required_argument, NULL, O_POLL_CONC},
	{"notify-window", required_argument, NULL, O_NOTIFY_WINDOW},
	{"notify-skew", required_argument, NULL, O_NOTIFY_SKEW},
	{"no-heartbeats", no_argument, NULL, O_NO_HEARTBEATS},
	{"roles-out", required_argument, NULL, O_ROLES_OUT},
	{"quiet", no_argument, NULL, 'q'},
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, 'V'},
	{NULL, 0, NULL, 0},
};

static const char *opt_name(int c)
{
	for (const struct option *l = lg_longopts; l->name; l++)
		if (l->val == c)
			return l->name;
	return "?";
}

/* One option's value; 0 or LG_EXIT_USAGE (message printed). */
static int parse_one(int c, const char *v, struct lg_opts *o, FILE *err)
{
	const char *name = opt_name(c);
	uint64_t u;
	int fam;

#define U64(min, max, dst)                                                                \
	do {                                                                              \
		if (lg_parse_u64(v, min, max, &u)) {                                      \
			bad(err, "--%s: '%s' is not an integer in [%llu, %llu]", name, v, \
			    (unsigned long long)(min), (unsigned long long)(max));        \
			return LG_EXIT_USAGE;                                             \
		}                                                                         \
		dst = u;                                                                  \
	} while (0)
#define FRACTION(dst)                                                                \
	do {                                                                         \
		if (lg_parse_double(v, 0, 1, &dst)) {                                \
			bad(err, "--%s: '%s' is not a fraction in [0, 1]", name, v); \
			return LG_EXIT_USAGE;                                        \
		}                                                                    \
	} while (0)
/* glournet's one duration grammar and its one message (glournet/duration.h). */
#define DURATION(dst, min, max)                                                   \
	do {                                                                      \
		char what_[64], why_[256];                                        \
		uint64_t ms_;                                                     \
		snprintf(what_, sizeof(what_), "--%s", name);                     \
		if (gn_duration_take(what_, v, (uint64_t)((min)*1000 + 0.5),      \
				     (uint64_t)((max)*1000 + 0.5), 0, &ms_, why_, \
				     sizeof(why_)) < 0) {                         \
			bad(err, "%s", why_);                                     \
			return LG_EXIT_USAGE;                                     \
		}                                                                 \
		dst = (double)ms_ / 1000;                                         \
	} while (0)

	if (c >= O_NOTIFY_BIND && c <= O_ROLES_OUT)
		o->notify_only = true; /* checked once all are read */
	switch (c) {
	case O_ENDPOINTS:
		o->endpoints_file = v;
		break;
	case O_REGISTER:
		if (strncmp(v, "http://", 7) && strncmp(v, "https://", 8)) {
			bad(err, "--register: '%s' is not an http:// or https:// URL", v);
			return LG_EXIT_USAGE;
		}
		o->register_url = v;
		break;
	case O_TOKEN:
		for (const char *p = v; *p; p++)
			if (!isgraph((unsigned char)*p))
				goto token_bad;
		if (*v && strlen(v) <= 4096) {
			o->token = v;
			break;
		}
	token_bad:
		bad(err, "--token: must be 1..4096 printable characters, no blanks");
		return LG_EXIT_USAGE;
	case O_COUNT:
		U64(1, 100000000, o->count);
		break;
	case O_PREFIX:
		for (const char *p = v; *p; p++)
			if (!isgraph((unsigned char)*p) || *p == '"' || *p == '\\')
				goto prefix_bad;
		if (*v && strlen(v) <= LG_GUID_PREFIX_MAX) {
			o->guid_prefix = v;
			break;
		}
	prefix_bad:
		bad(err,
		    "--guid-prefix: '%s' must be 1..%d printable characters, no blanks, "
		    "quotes or backslashes",
		    v, LG_GUID_PREFIX_MAX);
		return LG_EXIT_USAGE;
	case O_CONC:
		U64(1, 1024, o->concurrency);
		break;
	case O_IPS_BASE: {
		struct in_addr a;
		if (inet_pton(AF_INET, v, &a) != 1) {
			bad(err, "--ips-base: '%s' is not an IPv4 address", v);
			return LG_EXIT_USAGE;
		}
		o->ips_base = ntohl(a.s_addr);
		break;
	}
	case O_RETRIES:
		U64(0, 100, o->reg_retries);
		break;
	case O_CACERT:
		o->cacert = v;
		break;
	case O_INSECURE:
		o->insecure = true;
		break;
	case O_SAVE:
		o->save = v;
		break;
	case O_REG_ONLY:
		o->register_only = true;
		break;
	case O_TO:
		if (lg_parse_ip(v, &o->family, o->dst_ip)) {
			bad(err, "--to: '%s' is not an IPv4 or IPv6 address", v);
			return LG_EXIT_USAGE;
		}
		o->to = v;
		break;
	case O_PORT:
		U64(1, 65535, o->port);
		break;
	case O_SRC:
		if (lg_parse_ip(v, &fam, o->src_ip)) {
			bad(err, "--src: '%s' is not an IPv4 or IPv6 address", v);
			return LG_EXIT_USAGE;
		}
		o->have_src = true;
		o->src_family = fam;
		break;
	case O_SRC_PORT:
		U64(1, 65535, o->src_port);
		break;
	case O_INTERVAL:
		DURATION(o->interval_s, 0.001, 129600.0 * 60);
		break;
	case O_RATE:
		if (!strcmp(v, "max")) {
			o->max_rate = true;
			o->rate = 0;
		} else if (lg_parse_double(v, 1, 1e9, &o->rate)) {
			bad(err, "--rate: '%s' is not 'max' or a rate in [1, 1e9] per second", v);
			return LG_EXIT_USAGE;
		} else {
			o->max_rate = false;
		}
		break;
	case O_DURATION:
		DURATION(o->duration_s, 0.001, 86400.0);
		break;
	case O_ROUNDS:
		U64(0, 1000000000, o->rounds);
		break;
	case O_LOSS:
		FRACTION(o->loss);
		break;
	case O_SILENT:
		FRACTION(o->silent);
		break;
	case O_SHUTDOWN:
		FRACTION(o->shutdown);
		break;
	case O_SILENT_AFTER:
		DURATION(o->silent_after_s, 0, 86400.0);
		o->have_silent_after = true;
		break;
	case O_SHUTDOWN_AFTER:
		DURATION(o->shutdown_after_s, 0, 86400.0);
		o->have_shutdown_after = true;
		break;
	case O_TIME_OFFSET: {
		char *end;
		long long t;
		errno = 0;
		t = strtoll(v, &end, 10);
		if (errno || *end || end == v || t < -86400LL * 365 * 100 ||
		    t > 86400LL * 365 * 100) {
			bad(err, "--time-offset: '%s' is not a number of seconds within 100 years",
			    v);
			return LG_EXIT_USAGE;
		}
		o->time_offset = t;
		break;
	}
	case O_SEED:
		U64(0, UINT64_MAX, o->seed);
		break;
	case O_ENGINE:
		if (!strcmp(v, "kernel"))
			o->engine = LG_ENGINE_KERNEL;
		else if (!strcmp(v, "dpdk"))
			o->engine = LG_ENGINE_DPDK;
		else {
			bad(err, "--engine: '%s' is not kernel or dpdk", v);
			return LG_EXIT_USAGE;
		}
		break;
	case O_BATCH:
		U64(1, LG_BATCH_MAX, o->batch);
		break;
	case O_TX_RETRIES:
		U64(0, 1000000, o->tx_retries);
		break;
	case O_DST_MAC:
	case O_SRC_MAC:
		if (lg_parse_mac(v, c == O_DST_MAC ? o->dst_mac : o->src_mac)) {
			bad(err, "--%s: '%s' is not a MAC address like 02:00:00:00:00:01", name, v);
			return LG_EXIT_USAGE;
		}
		*(c == O_DST_MAC ? &o->have_dst_mac : &o->have_src_mac) = true;
		break;
	case O_PORT_ID:
		U64(0, 65535, o->port_id);
		o->have_port_id = true;
		break;
	case O_JSON:
		o->json = true;
		break;
	case O_NOTIFY:
		o->notify = true;
		break;
	case O_NOTIFY_PORT:
		U64(1, 65535, o->notify_port);
		break;
	case O_NOTIFY_PORTS:
		U64(1, 64, o->notify_ports);
		break;
	case O_NOTIFY_BIND:
		if (lg_parse_ip(v, &o->notify_bind_family, o->notify_bind_ip)) {
			bad(err, "--notify-bind: '%s' is not an IPv4 or IPv6 address", v);
			return LG_EXIT_USAGE;
		}
		break;
	case O_ACK_LATE:
		FRACTION(o->ack_late);
		break;
	case O_ACK_NEVER:
		FRACTION(o->ack_never);
		break;
	case O_ACK_DELAY:
		DURATION(o->ack_delay_s, 0, 3600.0);
		break;
	case O_POLL_AFTER:
		if (strncmp(v, "http://", 7) && strncmp(v, "https://", 8)) {
			bad(err, "--poll-after-notify: '%s' is not an http:// or https:// URL", v);
			return LG_EXIT_USAGE;
		}
		o->poll_url = v;
		break;
	case O_POLL_SPREAD:
		DURATION(o->poll_spread_s, 0, 86400.0);
		break;
	case O_POLL_CONC:
		U64(1, 1024, o->poll_concurrency);
		break;
	case O_NOTIFY_WINDOW:
		U64(0, 86400, o->notify_window);
		break;
	case O_NOTIFY_SKEW:
		U64(0, 86400, o->notify_skew);
		break;
	case O_NO_HEARTBEATS:
		o->no_heartbeats = true;
		break;
	case O_ROLES_OUT:
		o->roles_out = v;
		break;
	}
	return 0;
#undef U64
#undef FRACTION
#undef DURATION
}

/* Rules between options, once all are read. */
static int check_all(struct lg_opts *o, FILE *err)
{
	if (!!o->endpoints_file == !!o->register_url) {
		bad(err, "give exactly one of --endpoints FILE and --register URL");
		return LG_EXIT_USAGE;
	}
	if (o->register_url && (!o->token || !o->count)) {
		bad(err, "--register needs --token and --count");
		return LG_EXIT_USAGE;
	}
	if (!o->register_url && (o->token || o->save || o->register_only)) {
		bad(err, "--token, --save and --register-only go with --register");
		return LG_EXIT_USAGE;
	}
	if (!o->notify && o->notify_only) {
		bad(err, "--ack-*, --poll-*, --notify-bind, --notify-window/-skew, --no-heartbeats "
			 "and --roles-out go with --notify");
		return LG_EXIT_USAGE;
	}
	if (o->ack_late + o->ack_never > 1.0) {
		bad(err, "--ack-late + --ack-never: %g + %g is more than 1", o->ack_late,
		    o->ack_never);
		return LG_EXIT_USAGE;
	}
	if ((unsigned)o->notify_port + o->notify_ports - 1 > 65535) {
		bad(err, "--notify-port %u + --notify-ports %u goes past port 65535",
		    (unsigned)o->notify_port, o->notify_ports);
		return LG_EXIT_USAGE;
	}
	if (o->register_url && o->register_only)
		return o->eal_argc > 1 || o->notify
			       ? (bad(err, "EAL arguments or --notify, but --register-only"),
				  LG_EXIT_USAGE)
			       : 0;
	if (!o->to) {
		bad(err, "--to ADDR is required (the collector's heartbeat address)");
		return LG_EXIT_USAGE;
	}
	if (o->have_src && o->src_family != o->family) {
		bad(err, "--src: not the same address family as --to");
		return LG_EXIT_USAGE;
	}
	if (o->silent + o->shutdown > 1.0) {
		bad(err, "--silent + --shutdown: %g + %g is more than 1", o->silent, o->shutdown);
		return LG_EXIT_USAGE;
	}
	if (o->notify_bind_family && o->notify_bind_family != o->family) {
		bad(err, "--notify-bind: not the same address family as --to");
		return LG_EXIT_USAGE;
	}
	if (o->no_heartbeats && o->engine == LG_ENGINE_DPDK) {
		bad(err, "--no-heartbeats: the dpdk engine would send nothing");
		return LG_EXIT_USAGE;
	}
	if (o->engine == LG_ENGINE_DPDK) {
		if (!o->have_dst_mac || !o->have_src) {
			bad(err,
			    "--engine dpdk needs --dst-mac and --src (it builds whole frames)");
			return LG_EXIT_USAGE;
		}
		if (o->eal_argc < 2) {
			bad(err, "--engine dpdk needs EAL arguments after -- (e.g. -- --no-huge "
				 "--no-shconf -m 256 --vdev net_af_packet0,iface=IF)");
			return LG_EXIT_USAGE;
		}
		if (!o->src_port)
			o->src_port = 40000;
	} else {
		if (o->eal_argc > 1) {
			bad(err, "EAL arguments after -- are for --engine dpdk");
			return LG_EXIT_USAGE;
		}
		if (o->have_dst_mac || o->have_src_mac || o->have_port_id) {
			bad(err, "--dst-mac, --src-mac and --port-id are for --engine dpdk");
			return LG_EXIT_USAGE;
		}
	}
	if (!o->have_silent_after)
		o->silent_after_s = o->duration_s / 2;
	if (!o->have_shutdown_after)
		o->shutdown_after_s = o->duration_s / 2;
	return 0;
}

int lg_opts_parse(int argc, char **argv, struct lg_opts *o, FILE *err)
{
	int c, rc, dd = argc;

	*o = (struct lg_opts){
		.guid_prefix = "run",
		.count = 0,
		.concurrency = 32,
		.reg_retries = 5,
		.ips_base = (100u << 24 | 64u << 16) + 1,
		.port = HB_DEFAULT_PORT,
		.interval_s = 10,
		.duration_s = 30,
		.seed = 1,
		.engine = LG_ENGINE_KERNEL,
		.batch = LG_BATCH_MAX,
		.tx_retries = 32,
		.notify_port = 21112,
		.notify_ports = 1,
		.ack_delay_s = 5,
		.poll_spread_s = 30,
		.poll_concurrency = 32,
		.notify_window = 300,
		.notify_skew = 30,
	};
	/* Everything after "--" is EAL's; getopt must not see it. */
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--")) {
			dd = i;
			break;
		}
	o->eal_argv = argv + dd; /* argv[dd] ("--") stands in for EAL's program name */
	o->eal_argc = dd < argc ? argc - dd : 0;
	optind = 0; /* GNU: re-initialise, so tests may parse again */
	opterr = 0;
	while ((c = getopt_long(dd, argv, ":qhV", lg_longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			lg_opts_help(stdout);
			return 1;
		case 'V': /* the project's version, as every glournet program says it */
			printf("glournet-loadgen %s\n", GN_VERSION);
			return 1;
		case 'q':
			o->quiet = true;
			break;
		case ':':
			bad(err, "%s: needs a value", argv[optind - 1]);
			return LG_EXIT_USAGE;
		case '?':
			bad(err, "%s: unknown option", argv[optind - 1]);
			return LG_EXIT_USAGE;
		default:
			if ((rc = parse_one(c, optarg, o, err)))
				return rc;
		}
	}
	if (optind < dd) {
		bad(err, "unexpected argument '%s'", argv[optind]);
		return LG_EXIT_USAGE;
	}
	return check_all(o, err);
}
