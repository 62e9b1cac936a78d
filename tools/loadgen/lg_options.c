/*
 * Option parsing and --help for glournet-loadgen (lg_options.h).
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
#include "lg_options.h"

void lg_opts_help(FILE *f)
{
	fprintf(f,
		"usage: " LG_PROG " CREDENTIALS [OPTIONS] [-- DPDK EAL ARGUMENTS]\n"
		"\n"
		"Simulates a fleet of endpoints sending glournet heartbeats (docs/protocol.md 1):\n"
		"each endpoint once per interval at its own random phase (the jitter), or the\n"
		"same order at a fixed or maximum rate; a fraction of heartbeats deliberately\n"
		"not sent, a fraction of endpoints falling silent, a fraction shutting down.\n"
		"A progress line goes to stderr every second, a summary to stdout at the end.\n"
		"\n"
		"Credentials (one of):\n"
		"  --endpoints FILE        JSON lines {\"guid\",\"id\",\"slot\",\"key\",...} (the format of\n"
		"                          glournetctl export and of --save); other fields ignored\n"
		"  --register URL          register --count endpoints first (POST URL" GN_API_PATH_REGISTER
		")\n"
		"    --token TOKEN         enrollment token (required with --register)\n"
		"    --count N             endpoints to register (required with --register);\n"
		"                          with --endpoints: use the first N (default all)\n"
		"    --guid-prefix P       guids are lg-P-0, lg-P-1, ... (default 'run')\n"
		"    --concurrency C       parallel keep-alive connections (default 32, 1..1024)\n"
		"    --ips-base A.B.C.D    endpoint i's own address is A.B.C.D + i (default 100.64.0.1)\n"
		"    --retries N           retry an answer 429/503 N times after Retry-After (default 5)\n"
		"    --cacert FILE         CA certificate(s) for an https:// URL\n"
		"    --insecure            do not verify the server's certificate\n"
		"    --save FILE           write the credentials as JSON lines, mode 0600\n"
		"                          (written whole to a new file, then renamed)\n"
		"    --register-only       register (and --save), send nothing\n"
		"\n"
		"Target:\n"
		"  --to ADDR               collector's heartbeat address, IPv4 or IPv6 (required\n"
		"                          unless --register-only)\n"
		"  --port PORT             collector's heartbeat UDP port (default 7100)\n"
		"  --src ADDR              source address (kernel: bind to it; dpdk: required)\n"
		"  --src-port PORT         source UDP port (kernel default: any; dpdk default 40000)\n"
		"\n"
		"Schedule (durations: 500ms, 10s, 2m, 1h or plain seconds):\n"
		"  --interval DUR          each endpoint sends once per interval (default 10s)\n"
		"  --rate R|max            instead of the interval: R heartbeats per second in the\n"
		"                          same order, or as fast as the engine takes them\n"
		"  --duration DUR          stop after this long (default 30s, at most 24h)\n"
		"  --rounds K              stop after K heartbeats per endpoint (default 0: none)\n"
		"  --loss F                fraction of heartbeats not sent (0..1, default 0):\n"
		"                          exactly round(F x endpoints) per round, different ones\n"
		"                          each round; they still take their place in the pacing\n"
		"  --silent F              fraction of endpoints that stop sending (default 0)\n"
		"  --silent-after DUR      when they stop (default: half of --duration)\n"
		"  --shutdown F            fraction that send one SHUTDOWN heartbeat, then stop\n"
		"                          (default 0; never lost)\n"
		"  --shutdown-after DUR    when they do (default: half of --duration)\n"
		"  --time-offset SEC       heartbeat time = wall clock + SEC (default 0: the\n"
		"                          collector runs on this clock)\n"
		"  --seed N                phases, roles and losses are a function of N (default 1)\n"
		"\n"
		"Engine:\n"
		"  --engine kernel|dpdk    kernel: one UDP socket, sendmmsg (default);\n"
		"                          dpdk: rte_eth_tx_burst on a DPDK port given by the EAL\n"
		"                          arguments after --, e.g. --vdev net_af_xdp0,iface=IF,\n"
		"                          net_af_packet0,iface=IF, net_memif0, a real NIC,\n"
		"                          or net_pcap0,tx_pcap=FILE to write the frames to a file\n"
		"  --batch N               frames per sendmmsg / tx_burst (1..64, default 64)\n"
		"  --tx-retries N          retries of a full queue before frames count as tx drops\n"
		"                          (default 32)\n"
		"  --dst-mac MAC           dpdk: the collector's MAC (required)\n"
		"  --src-mac MAC           dpdk: source MAC (default: the port's)\n"
		"  --port-id N             dpdk: the port to use (default: the first one)\n"
		"\n"
		"Output:\n"
		"  --json                  the summary as one JSON object on stdout\n"
		"  -q, --quiet             no progress line\n"
		"  -h, --help              this text\n"
		"\n"
		"Exit: 0 done, 1 failed (a registration failed, the engine could not start),\n"
		"2 bad arguments.\n");
}

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

static int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

static int parse_double(const char *s, double min, double max, double *out)
{
	char *end;
	double v;

	if (*s == '\0' || isspace((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || !isfinite(v) || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

/* 500ms, 10s, 2m, 1h, or plain seconds; into seconds. */
static int parse_duration(const char *s, double *out)
{
	char num[64], *end;
	double v, mul = 1;
	size_t len = strlen(s);

	if (len == 0 || len >= sizeof(num) || !(isdigit((unsigned char)s[0]) || s[0] == '.'))
		return -EINVAL;
	memcpy(num, s, len + 1);
	if (len > 2 && !strcmp(num + len - 2, "ms"))
		mul = 1e-3, num[len - 2] = '\0';
	else if (num[len - 1] == 's')
		num[len - 1] = '\0';
	else if (num[len - 1] == 'm')
		mul = 60, num[len - 1] = '\0';
	else if (num[len - 1] == 'h')
		mul = 3600, num[len - 1] = '\0';
	errno = 0;
	v = strtod(num, &end);
	if (errno || *end || end == num || !isfinite(v) || v < 0)
		return -EINVAL;
	*out = v * mul;
	return 0;
}

static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned b[6];
	char tail;

	if (strlen(s) != 17 || sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3],
				      &b[4], &b[5], &tail) != 6)
		return -EINVAL;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)b[i];
	return 0;
}

static int parse_ip(const char *s, int *family, uint8_t out[16])
{
	memset(out, 0, 16);
	if (inet_pton(AF_INET, s, out) == 1)
		*family = AF_INET;
	else if (inet_pton(AF_INET6, s, out) == 1)
		*family = AF_INET6;
	else
		return -EINVAL;
	return 0;
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
	{"quiet", no_argument, NULL, 'q'},
	{"help", no_argument, NULL, 'h'},
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
		if (parse_u64(v, min, max, &u)) {                                         \
			bad(err, "--%s: '%s' is not an integer in [%llu, %llu]", name, v, \
			    (unsigned long long)(min), (unsigned long long)(max));        \
			return LG_EXIT_USAGE;                                             \
		}                                                                         \
		dst = u;                                                                  \
	} while (0)
#define FRACTION(dst)                                                                \
	do {                                                                         \
		if (parse_double(v, 0, 1, &dst)) {                                   \
			bad(err, "--%s: '%s' is not a fraction in [0, 1]", name, v); \
			return LG_EXIT_USAGE;                                        \
		}                                                                    \
	} while (0)
#define DURATION(dst, min, max)                                                                 \
	do {                                                                                    \
		if (parse_duration(v, &dst) || dst < (min) || dst > (max)) {                    \
			bad(err,                                                                \
			    "--%s: '%s' is not a duration in [%gs, %gs] (e.g. 500ms, 10s, 2m)", \
			    name, v, (double)(min), (double)(max));                             \
			return LG_EXIT_USAGE;                                                   \
		}                                                                               \
	} while (0)

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
		if (parse_ip(v, &o->family, o->dst_ip)) {
			bad(err, "--to: '%s' is not an IPv4 or IPv6 address", v);
			return LG_EXIT_USAGE;
		}
		o->to = v;
		break;
	case O_PORT:
		U64(1, 65535, o->port);
		break;
	case O_SRC:
		if (parse_ip(v, &fam, o->src_ip)) {
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
		} else if (parse_double(v, 1, 1e9, &o->rate)) {
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
		if (parse_mac(v, c == O_DST_MAC ? o->dst_mac : o->src_mac)) {
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
	if (o->register_url && o->register_only)
		return o->eal_argc > 1 ? (bad(err, "EAL arguments after -- but --register-only"),
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
	while ((c = getopt_long(dd, argv, ":qh", lg_longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			lg_opts_help(stdout);
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
