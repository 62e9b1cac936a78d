/*
 * LOG_RATELIMITED: LOG for lines a client can cause (one per request or per
 * connection), so that a flood of bad requests cannot flood the log too.
 * Each call site has its own token bucket: GN_LOG_RL_BURST lines at once,
 * then GN_LOG_RL_PER_S a second. What it holds back is counted and told:
 * with the next line it lets through ("... (N similar messages
 * suppressed)"), or by gn_log_rl_flush once the site is quiet, so the log
 * says how big a flood was even when it stops.
 *
 * The call sites' state is static and unsynchronised: control thread only.
 */
#ifndef GLOURNET_LOG_RATELIMIT_H
#define GLOURNET_LOG_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

#include "glournet/log.h"

#define GN_LOG_RL_BURST 10
#define GN_LOG_RL_PER_S 1

/* One call site (zero-initialised: static). */
struct gn_log_rl {
	uint64_t last_ms;        /* credit brought up to date at */
	uint32_t credit;         /* thousandths of a line */
	uint32_t suppressed;     /* held back since the last line let through */
	bool primed;             /* credit set: the site has been used */
	bool listed;             /* on the flush list */
	enum gn_log_level level;
	const char *tag;
	struct gn_log_rl *next;  /* sites holding suppressed lines */
	char like[120];          /* the start of the last line let through */
};

void gn_log_rl(struct gn_log_rl *site, uint64_t now_ms, enum gn_log_level level,
	       const char *tag, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* For every site holding suppressed lines whose bucket has a line again:
 * one line saying how many it held back. Call now and then (every loop
 * tick is fine: it walks only such sites). */
void gn_log_rl_flush(uint64_t now_ms);

/* Monotonic milliseconds: what the macro passes. */
uint64_t gn_log_rl_now_ms(void);

#define LOG_RATELIMITED(level, ...)                                                      \
	do {                                                                             \
		static struct gn_log_rl gn_log_rl_site_;                                 \
		gn_log_rl(&gn_log_rl_site_, gn_log_rl_now_ms(), GN_LOG_##level, LOG_TAG, \
			  __VA_ARGS__);                                                  \
	} while (0)

#endif
