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

	/* output */
	bool json, quiet;
};

/*
 * Fills o from argv. Returns 0 to run, 1 when --help was printed (exit 0),
 * LG_EXIT_USAGE after printing "glournet-loadgen: --opt: why" on err.
 * Keeps pointers into argv.
 */
int lg_opts_parse(int argc, char **argv, struct lg_opts *o, FILE *err);
void lg_opts_help(FILE *f);

#endif
