/*
 * glournetd's own command line (everything before `--`; EAL gets the rest).
 */
#ifndef GLOURNET_OPTIONS_H
#define GLOURNET_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#define GN_MAX_HB_ADDRS   8
#define GN_MAX_SETS       32
#define GN_MAX_EXC_ADDRS  8
#define GN_MAX_EXC_ROUTES 8

struct options_config_words;

struct gn_options {
	uint16_t udp_port;
	const char *hb_addrs[GN_MAX_HB_ADDRS];
	unsigned n_hb_addrs;
	const char *http_listen;   /* "ADDR:PORT", "[V6]:PORT" or "off" */
	const char *https_listen;  /* the same, default "off" */
	const char *tls_cert_file; /* PEM, needed with --https */
	const char *tls_key_file;
	struct {
		const char *file; /* where tls-cert and tls-key were given (NULL: the */
		unsigned line;    /* command line), for the messages of their reading */
	} tls_from[2];
	char *tls_cert_pem; /* the files' contents, read at start */
	char *tls_key_pem;  /* wiped and freed once the server has it */
	char *token;
	const char *token_file;      /* read at the end of parsing, into token */
	const char *token_file_from; /* its configuration file (NULL: the command line) */
	unsigned token_file_line;
	const char *ctl_socket;
	/* Who may use the control sockets (options_ctl.h): the main one's mode
	 * (0: 0660) and group (NULL: glournetd's), and a read-only one, off
	 * when NULL, with its own. */
	unsigned ctl_socket_mode;
	const char *ctl_socket_group;
	const char *ctl_socket_ro;
	unsigned ctl_socket_ro_mode;
	const char *ctl_socket_ro_group;
	const char *state_dir; /* the persisted policy lives here */
	const char *store;     /* --store URL (store_url.h); NULL: sqlite: in state_dir */
	char *store_copy;      /* what store points to: argv's is wiped when it has a password */
	const char *collector_name; /* --collector-name; NULL: the hostname */
	uint32_t lease;             /* --lease, seconds (several collectors) */
	bool allow_empty_store;     /* start on an empty store where one existed (state_dir.h) */
	/* Settings given at start (--set and shorthands), applied on top of the
	 * persisted policy through the same validation as the CLI. */
	const char *set_name[GN_MAX_SETS];
	const char *set_value[GN_MAX_SETS];
	unsigned n_sets;
	uint32_t window;
	uint32_t skew;
	uint32_t sweep_interval;
	uint32_t max_endpoints;
	int port_id; /* -1: the first port EAL probed */
	uint32_t rx_desc;
	uint32_t mbufs;                      /* 0: auto (eal_auto_mbufs) */
	const char *config_path;             /* --config: read at start, again on SIGHUP */
	struct options_config_words *config; /* its words, which options above point into */
	bool check;                          /* --check: check the options and exit */
	int eal_argc;                        /* EAL's argv: [0] the program, then the */
	char **eal_argv;                     /* words after `--`, or the file's eal: */
	char *tls_files_reloaded[2];         /* cert and key paths a SIGHUP took from the file */
	uint32_t idle_sleep_us;
	uint32_t http_max_conns;
	uint32_t http_timeout;
	uint32_t http_max_body;   /* bytes of a request body; over: 413 */
	uint32_t http_max_header; /* bytes of memory per connection (header block) */
	uint32_t register_rate;   /* registrations per second per source; 0: no limit */
	uint32_t register_burst;
	/* The exception path and next hops (docs/exception-path.md), checked
	 * here; applied by daemon_netpath.c. */
	bool exception_drop;                     /* --exception drop: no kernel interface */
	const char *exception_iface;             /* default "glournet0" */
	const char *exc_addrs[GN_MAX_EXC_ADDRS]; /* ADDR/LEN; none: from --hb-addr */
	unsigned n_exc_addrs;
	const char *exc_routes[GN_MAX_EXC_ROUTES]; /* "PREFIX via GW [metric N]" */
	unsigned n_exc_routes;
	uint32_t exception_ring; /* frames per worker ring, a power of two */
	uint32_t neigh_max;      /* neighbour table entries */
	/* What one client may hold of the HTTP API (issue #13): a source is an
	 * address cut to these prefixes, for the rate and the connections. */
	uint32_t http_max_conns_per_source; /* open connections, both listeners; 0: no limit */
	uint32_t http_replay_cache;         /* requests the replay cache holds (replay_cache.h) */
	uint32_t http_request_timeout; /* s for a request's header and body, whatever the pace */
	uint32_t source_v4_prefix;     /* 1..32 */
	uint32_t source_v6_prefix;     /* 1..128 */
	const char *metrics_listen;    /* --metrics: Prometheus endpoint, "off" (default) */
};

/*
 * Parses --config's file, then argv up to `--` (the command line wins; a
 * repeatable option given there replaces the file's list). Returns the
 * number of arguments consumed, with EAL's argv in eal_argc/eal_argv (the
 * words after `--`, or the file's eal: when there are none), or -1 after
 * saying what is wrong (every error of the file, each with its line), or
 * 0 after printing --help/--version (exit 0).
 */
int options_parse(struct gn_options *o, int argc, char **argv);
/* Frees what parsing allocated (the token, the configuration's words). */
void options_free(struct gn_options *o);

/* What SIGHUP reloads (options_reload). */
struct options_reloaded {
	char *cert_pem, *key_pem; /* the PEMs read again (caller frees); NULL without --https */
	char said[512];           /* what was reloaded, for the log */
};

/* SIGHUP: the log level (and the TLS file names) from --config,
 * when there is one, then the certificate and key from their files, with
 * the checks of the start. 0, or -1 with `said` naming what failed (the
 * running values are kept). */
int options_reload(struct gn_options *o, struct options_reloaded *r);

/* "1.2.3.4:80", "[::1]:80", "[::]:8080" (dual stack) -> a socket address;
 * 0 or -EINVAL. Shared by the option check and the HTTP server. */
int options_parse_listen(const char *text, struct sockaddr_storage *ss, socklen_t *len);

#endif
