/*
 * glournet-loadgen's command line: every option checked where it enters,
 * with a message naming it (exit 2), so a long benchmark never starts on a
 * typo. DPDK EAL arguments follow `--` and are kept for the DPDK engine.
 */
#ifndef GLOURNET_LG_OPTIONS_H
#define GLOURNET_LG_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define LG_PROG            "glournet-loadgen"
#define LG_EXIT_OK         0
#define LG_EXIT_FAIL       1
#define LG_EXIT_USAGE      2
#define LG_BATCH_MAX       64
#define LG_GUID_PREFIX_MAX 40

enum lg_engine_kind { LG_ENGINE_KERNEL, LG_ENGINE_DPDK };

struct lg_opts {
	/* credentials: exactly one source */
	const char *endpoints_file;
	const char *register_url, *token, *guid_prefix, *save, *cacert;
	bool insecure, register_only;
	uint64_t count, concurrency, reg_retries;
	uint32_t ips_base;

	/* where heartbeats go */
	const char *to;
	int family; /* of --to: AF_INET or AF_INET6 */
	uint8_t dst_ip[16], src_ip[16];
	int src_family;
	bool have_src;
	uint16_t port, src_port;

	/* schedule */
	double interval_s, duration_s, rate, loss, silent, shutdown;
	double silent_after_s, shutdown_after_s;
	bool max_rate, have_silent_after, have_shutdown_after;
	uint64_t rounds, seed;
	int64_t time_offset;

	/* engine */
	enum lg_engine_kind engine;
	unsigned batch, tx_retries;
	uint8_t dst_mac[6], src_mac[6];
	bool have_dst_mac, have_src_mac, have_port_id;
	uint16_t port_id;
	int eal_argc;
	char **eal_argv; /* eal_argv[0] is the program name */

	/* notifies (docs/loadgen.md, "Notifies") */
	bool notify, no_heartbeats;
	uint16_t notify_port;  /* endpoint i registers notify_port + i % notify_ports */
	unsigned notify_ports; /* and the fleet listens on each of them */
	uint8_t notify_bind_ip[16];
	int notify_bind_family; /* 0: the wildcard of --to's family */
	double ack_late, ack_never, ack_delay_s;
	const char *poll_url; /* poll after SETTINGS/COMPONENTS; NULL: never */
	double poll_spread_s;
	unsigned poll_concurrency;
	uint32_t notify_window, notify_skew;
	const char *roles_out;
	bool notify_only; /* an option that needs --notify was given */

	/* output */
	bool json, quiet;
};

/* The notify_port endpoint n registers with (and is listened for on). */
static inline uint16_t lg_notify_port_of(const struct lg_opts *o, uint64_t n)
{
	return (uint16_t)(o->notify_port + n % (o->notify_ports ? o->notify_ports : 1));
}

/*
 * Fills o from argv. Returns 0 to run, 1 when --help or --version was printed (exit 0),
 * LG_EXIT_USAGE after printing "glournet-loadgen: --opt: why" on err.
 * Keeps pointers into argv.
 */
int lg_opts_parse(int argc, char **argv, struct lg_opts *o, FILE *err);
void lg_opts_help(FILE *f);

/* lg_values.c: one value each; 0, or a negative errno when malformed or
 * out of range. */
int lg_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);
int lg_parse_double(const char *s, double min, double max, double *out);
int lg_parse_mac(const char *s, uint8_t mac[6]);
/* AF_INET or AF_INET6 into *family; IPv4 in the first 4 bytes. */
int lg_parse_ip(const char *s, int *family, uint8_t out[16]);

#endif
