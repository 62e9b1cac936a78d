/*
 * glournetd's own command line (everything before `--`; EAL gets the rest).
 */
#ifndef GLOURNET_OPTIONS_H
#define GLOURNET_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>

#define GN_MAX_HB_ADDRS 8
#define GN_MAX_SETS     32

struct gn_options {
	uint16_t udp_port;
	const char *hb_addrs[GN_MAX_HB_ADDRS];
	unsigned n_hb_addrs;
	const char *http_listen;      /* "ADDR:PORT", "[V6]:PORT" or "off" */
	char *token;
	const char *ctl_socket;
	const char *state_dir;        /* the persisted policy lives here */
	/* Settings given at start (--set and shorthands), applied on top of the
	 * persisted policy through the same validation as the CLI. */
	const char *set_name[GN_MAX_SETS];
	const char *set_value[GN_MAX_SETS];
	unsigned n_sets;
	uint32_t window;
	uint32_t skew;
	uint32_t sweep_interval;
	uint32_t max_endpoints;
	int port_id;                  /* -1: the first port EAL probed */
	uint32_t rx_desc;
	uint32_t mbufs;
	uint32_t idle_sleep_us;
	uint32_t http_max_conns;
	uint32_t http_timeout;
};

/*
 * Parses argv up to `--`. Returns the number of arguments consumed (so the
 * caller hands argv + n to EAL), or -1 after printing a usage error, or 0
 * after printing --help/--version (exit 0).
 */
int options_parse(struct gn_options *o, int argc, char **argv);

#endif
