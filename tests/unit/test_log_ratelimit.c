/*
 * Rate-limited log lines (control/log_ratelimit.c), on an injected clock,
 * stderr captured. Proves: a call site lets its burst through, then one
 * line a second; what it holds back is counted and told with the next
 * line, or by the flush once the site may speak again (never before, and
 * never twice); call sites are independent; lines under the log level are
 * neither printed nor counted; 40,000 client errors in 2.9 s (what the
 * issue saw) make a dozen lines that still add up to 40,000.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#define LOG_TAG "test"
#include "glournet/log_ratelimit.h"

static FILE *cap;
static long off;
static int saved_err = -1;

/* stderr (fd 2) into a file for the test... */
static int capture(void **state)
{
	(void)state;
	gn_log_rl_flush(UINT64_MAX / 4);   /* nothing left pending by a test before */
	fflush(stderr);
	cap = tmpfile();
	if (!cap)
		return -1;
	off = 0;
	saved_err = dup(2);
	dup2(fileno(cap), 2);
	return 0;
}

/* ...and back, the file copied out: a failed assertion's message (cmocka
 * writes it to stderr too) is seen, with the lines around it. */
static int release(void **state)
{
	(void)state;
	fflush(stderr);
	dup2(saved_err, 2);
	close(saved_err);
	rewind(cap);
	char buf[4096];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), cap)) > 0)
		fwrite(buf, 1, n, stdout);
	fclose(cap);
	gn_log_max_level = GN_LOG_INFO;
	return 0;
}

/* The lines written since the last call, as one string (static). */
static const char *taken(unsigned *lines)
{
	static char buf[1 << 16];
	fflush(stderr);
	fseek(cap, off, SEEK_SET);
	size_t n = fread(buf, 1, sizeof(buf) - 1, cap);
	buf[n] = '\0';
	off += (long)n;
	unsigned c = 0;
	for (size_t i = 0; i < n; i++)
		c += buf[i] == '\n';
	*lines = c;
	return buf;
}

#define T0 5000000ull

static void test_burst_then_rate(void **state)
{
	(void)state;
	static struct gn_log_rl site;
	unsigned lines;
	for (int i = 0; i < 1000; i++)
		gn_log_rl(&site, T0, GN_LOG_WARN, "http", "bad request %d", i);
	const char *out = taken(&lines);
	assert_int_equal(lines, GN_LOG_RL_BURST);
	assert_non_null(strstr(out, "bad request 0\n"));
	assert_non_null(strstr(out, "bad request 9\n"));
	assert_null(strstr(out, "bad request 10\n"));
	assert_int_equal(site.suppressed, 1000 - GN_LOG_RL_BURST);
	/* 999 ms later: not a whole line earned yet. */
	gn_log_rl(&site, T0 + 999, GN_LOG_WARN, "http", "bad request late");
	taken(&lines);
	assert_int_equal(lines, 0);
	/* At 1 s: one line, carrying the count (the late one included). */
	gn_log_rl(&site, T0 + 1000, GN_LOG_WARN, "http", "bad request again");
	out = taken(&lines);
	assert_int_equal(lines, 1);
	assert_non_null(strstr(out, "warn  http   bad request again (991 similar messages suppressed)\n"));
	assert_int_equal(site.suppressed, 0);
	gn_log_rl(&site, T0 + 1000, GN_LOG_WARN, "http", "and again");
	taken(&lines);
	assert_int_equal(lines, 0);
}

static void test_flush(void **state)
{
	(void)state;
	static struct gn_log_rl site, quiet;
	unsigned lines;
	for (int i = 0; i < 25; i++)
		gn_log_rl(&site, T0, GN_LOG_WARN, "http", "refused %d", i);
	gn_log_rl(&quiet, T0, GN_LOG_INFO, "http", "nothing held back");
	taken(&lines);
	assert_int_equal(lines, GN_LOG_RL_BURST + 1);
	gn_log_rl_flush(T0 + 500);              /* not yet allowed a line */
	taken(&lines);
	assert_int_equal(lines, 0);
	gn_log_rl_flush(T0 + 1000);
	const char *out = taken(&lines);
	assert_int_equal(lines, 1);
	assert_non_null(strstr(out, "warn  http   15 similar messages suppressed (the last one "
				    "let through: refused 9)\n"));
	gn_log_rl_flush(T0 + 60000);           /* told once */
	taken(&lines);
	assert_int_equal(lines, 0);
	/* After the flush, the site speaks freely again (its bucket refilled). */
	gn_log_rl(&site, T0 + 60000, GN_LOG_WARN, "http", "fresh");
	out = taken(&lines);
	assert_int_equal(lines, 1);
	assert_null(strstr(out, "suppressed"));
}

static void test_sites_and_levels(void **state)
{
	(void)state;
	static struct gn_log_rl a, b, dbg;
	unsigned lines;
	for (int i = 0; i < 100; i++) {
		gn_log_rl(&a, T0, GN_LOG_WARN, "http", "a %d", i);
		gn_log_rl(&b, T0, GN_LOG_ERR, "ctl", "b %d", i);
		gn_log_rl(&dbg, T0, GN_LOG_DEBUG, "http", "debug %d", i);
	}
	const char *out = taken(&lines);
	assert_int_equal(lines, 2 * GN_LOG_RL_BURST);
	assert_non_null(strstr(out, "error ctl    b 9\n"));
	assert_null(strstr(out, "debug"));
	assert_int_equal(dbg.suppressed, 0);
	assert_false(dbg.primed);
	gn_log_max_level = GN_LOG_ERR;        /* warn is now under the level */
	gn_log_rl(&a, T0 + 5000, GN_LOG_WARN, "http", "hidden");
	gn_log_rl(&b, T0 + 5000, GN_LOG_ERR, "ctl", "shown");
	out = taken(&lines);
	assert_int_equal(lines, 1);
	assert_non_null(strstr(out, "shown (90 similar messages suppressed)"));
	gn_log_max_level = GN_LOG_INFO;
	gn_log_rl_flush(T0 + 5000);
	out = taken(&lines);
	assert_int_equal(lines, 1);
	assert_non_null(strstr(out, "90 similar messages suppressed (the last one let through: a 9)"));
}

/* How many messages one captured line stands for. */
static unsigned long stands_for(const char *line)
{
	const char *msg = strstr(line, "http   ");
	assert_non_null(msg);
	msg += 7;
	unsigned n = 0;
	if (sscanf(msg, "%u similar messages suppressed", &n) == 1)
		return n;                          /* a flush line */
	const char *paren = strstr(msg, " (");
	if (paren && sscanf(paren, " (%u similar messages suppressed)", &n) == 1)
		return 1ul + n;
	return 1;
}

static void test_issue_flood(void **state)
{
	(void)state;
	static struct gn_log_rl site;
	unsigned lines;
	/* 40,000 in 2.9 s, then quiet; the loop flushes every 100 ms. */
	uint64_t next_flush = T0;
	for (unsigned i = 0; i < 40000; i++) {
		uint64_t t = T0 + (uint64_t)i * 2900 / 40000;
		gn_log_rl(&site, t, GN_LOG_WARN, "http", "client error %u", i);
		if (t >= next_flush) {
			gn_log_rl_flush(t);
			next_flush = t + 100;
		}
	}
	for (uint64_t t = T0 + 2900; t <= T0 + 5000; t += 100)
		gn_log_rl_flush(t);
	char *out = strdup(taken(&lines));
	unsigned long told = 0;
	for (char *p = out, *nl; (nl = strchr(p, '\n')); p = nl + 1) {
		*nl = '\0';
		told += stands_for(p);
	}
	free(out);
	/* The burst, then one a second for the 2.9 s, then the last count. */
	assert_in_range(lines, GN_LOG_RL_BURST + 2, GN_LOG_RL_BURST + 4);
	assert_int_equal(told, 40000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_burst_then_rate, capture, release),
		cmocka_unit_test_setup_teardown(test_flush, capture, release),
		cmocka_unit_test_setup_teardown(test_sites_and_levels, capture, release),
		cmocka_unit_test_setup_teardown(test_issue_flood, capture, release),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
