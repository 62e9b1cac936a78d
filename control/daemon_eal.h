/*
 * EAL owned by glournetd (daemon_eal.c, linked into glournetd only): the
 * EAL arguments the operator gave after `--` are read before EAL sees
 * them, completed where glournetd knows what it needs (the memory of its
 * mbuf pools under --no-huge, --huge-unlink on hugepages) and, when EAL or
 * the port refuses them, explained with the fix.
 */
#ifndef GLOURNET_DAEMON_EAL_H
#define GLOURNET_DAEMON_EAL_H

#include <stdbool.h>
#include <stdint.h>

struct gn_options;

#define EAL_MAX_ARGS  128
#define EAL_MAX_VDEVS 8

/* The mbufs of the other pool beside the RX pool: the exception path's
 * (daemon_netpath.c creates it with this size), counted in the memory
 * asked for --no-huge. */
#define EAL_OTHER_MBUFS 4095

struct eal_plan {
	int argc;
	char *argv[EAL_MAX_ARGS + 4];
	char added[160];  /* what glournetd appended, for the log */
	char mem_arg[16]; /* the -m value it appended */
	bool no_huge, mem_given, in_memory, huge_unlink, no_shconf, no_telemetry;
	unsigned lcores;         /* from -l / --lcores / -c; 0: EAL's default (every CPU) */
	const char *file_prefix; /* "rte" when not given */
	const char *vdevs[EAL_MAX_VDEVS];
	unsigned nvdevs;
	char runtime_dir[256]; /* /var/run/dpdk/PREFIX, once EAL runs */
};

/* The mbufs glournetd's RX pool gets when --mbufs is auto (0): every RX
 * descriptor of every queue, a burst in flight per worker, every lcore's
 * mempool cache full (1.5x its size, as DPDK lets it grow), and 1024 to
 * spare; rounded up to 2^k - 1 (DPDK's advice for a ring-backed pool). */
uint32_t eal_auto_mbufs(unsigned workers, uint32_t rx_desc);

/* MB of DPDK memory a pktmbuf pool of n mbufs takes: under --no-huge each
 * mbuf fills a 4 KiB page (DPDK keeps an object inside one page), on
 * hugepages they are packed; its ring and caches included. */
uint32_t eal_pool_mb(uint32_t mbufs, bool no_huge);

/* Reads `argc`/`argv` (EAL's, argv[0] the program) and adds what glournetd
 * needs: with --no-huge and no -m, -m for its pools (logged); on
 * hugepages without --in-memory or --huge-unlink, --huge-unlink, so that no
 * hugepage file outlives the daemon. 0, or -1 after printing why (too
 * many arguments). */
int eal_plan_make(struct eal_plan *p, const struct gn_options *o, int argc, char **argv);

/* rte_eal_init with the plan; on failure, logs EAL's reason and the fix
 * (a misspelt vdev driver, with the nearest one; an argument EAL does
 * not know; no hugepages reserved). 0 or -1. */
int eal_plan_start(struct eal_plan *p);

/* After rte_eal_cleanup: removes what EAL leaves in its runtime directory
 * (/var/run/dpdk/PREFIX: the shared config, memseg lists, the empty
 * directory itself). glournetd is the only process of its prefix (it
 * starts no secondary), so nothing there outlives it usefully. */
void eal_plan_cleanup(const struct eal_plan *p);

/* No DPDK port came up: says which of the given devices did not, and why
 * it likely did not (a missing interface, a misspelt option). */
void eal_explain_no_port(const struct eal_plan *p);

/* The RX pool of `mbufs` could not be made: says how much memory it needs
 * and what to pass. */
void eal_explain_pool(const struct eal_plan *p, uint32_t mbufs);

#endif
