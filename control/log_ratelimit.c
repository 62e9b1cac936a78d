/*
 * Rate-limited log lines (glournet/log_ratelimit.h): a token bucket per
 * call site, in thousandths of a line so the refill is exact integer
 * arithmetic; suppressed lines counted and told.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define LOG_TAG "log"
#include "glournet/log_ratelimit.h"

#define MILLI 1000u
#define CAP   ((uint32_t)GN_LOG_RL_BURST * MILLI)

static struct gn_log_rl *pending; /* sites with suppressed lines */

uint64_t gn_log_rl_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void refill(struct gn_log_rl *s, uint64_t now_ms)
{
	if (!s->primed) {
		s->primed = true;
		s->credit = CAP;
		s->last_ms = now_ms;
		return;
	}
	if (now_ms <= s->last_ms)
		return;
	uint64_t add = (now_ms - s->last_ms) * GN_LOG_RL_PER_S; /* thousandths */
	s->credit = add >= CAP - s->credit ? CAP : s->credit + (uint32_t)add;
	s->last_ms = now_ms;
}

static void unlist(struct gn_log_rl *s)
{
	struct gn_log_rl **p = &pending;
	while (*p && *p != s)
		p = &(*p)->next;
	if (*p)
		*p = s->next;
	s->next = NULL;
	s->listed = false;
}

void gn_log_rl(struct gn_log_rl *site, uint64_t now_ms, enum gn_log_level level, const char *tag,
	       const char *fmt, ...)
{
	if (level > gn_log_max_level)
		return;
	refill(site, now_ms);
	site->level = level;
	site->tag = tag;
	if (site->credit < MILLI) {
		site->suppressed++;
		if (!site->listed) {
			site->listed = true;
			site->next = pending;
			pending = site;
		}
		return;
	}
	site->credit -= MILLI;
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	size_t n = strnlen(line, sizeof(site->like) - 1);
	memcpy(site->like, line, n);
	site->like[n] = '\0';
	if (site->suppressed) {
		gn_log(level, tag, "%s (%u similar messages suppressed)", line, site->suppressed);
		site->suppressed = 0;
		unlist(site);
	} else {
		gn_log(level, tag, "%s", line);
	}
}

void gn_log_rl_flush(uint64_t now_ms)
{
	struct gn_log_rl *s = pending, *next;
	for (; s; s = next) {
		next = s->next;
		refill(s, now_ms);
		if (s->credit < MILLI)
			continue;
		s->credit -= MILLI;
		gn_log(s->level, s->tag,
		       "%u similar messages suppressed (the last one let through: %s)",
		       s->suppressed, s->like);
		s->suppressed = 0;
		unlist(s);
	}
}
