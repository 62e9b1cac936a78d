/*
 * The one way every glournet program reads a duration (issue 14):
 * glournetd's options and settings (through control/duration.c),
 * glournetctl, glournet-agent and glournet-loadgen. Here, header-only,
 * because the tools share include/glournet and nothing else
 * (docs/structure.md).
 *
 *   NUMBER[UNIT]   NUMBER: digits, optionally a fraction (0.5, 1.25)
 *                  UNIT:   ms, s, m, h or d; none: seconds
 *
 * so 15 = 15s, 500ms, 1.5s, 5m, 1h, 2d. Nothing else: no sign, no blank,
 * no exponent, no second unit. A program takes what its option can hold
 * (whole seconds, or milliseconds) and says so with the same words.
 */
#ifndef GLOURNET_GN_DURATION_H
#define GLOURNET_GN_DURATION_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* What the messages say a duration is. */
#define GN_DURATION_FORMS \
	"a number and a unit: ms, s, m, h or d (500ms, 15s, 5m, 1h, 2d; no unit: seconds)"

/* Into whole milliseconds. 0; -EINVAL malformed; -EDOM finer than a
 * millisecond; -ERANGE over 2^53 ms (about 285,000 years). Nothing is
 * written unless 0. */
static inline int gn_duration_parse_ms(const char *text, uint64_t *ms)
{
	const uint64_t max = (uint64_t)1 << 53;
	const char *p = text;
	uint64_t whole = 0, frac = 0, scale = 1;
	int digits = 0;

	if (!p || *p < '0' || *p > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (whole > max) /* keeps reading: a malformed tail still says -EINVAL */
			continue;
		whole = whole * 10 + (uint64_t)(*p - '0');
	}
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return -EINVAL;
		for (; *p >= '0' && *p <= '9'; p++) {
			if (digits == 9) { /* beyond a nanosecond of a day: only zeros pass */
				if (*p != '0')
					return -EDOM;
				continue;
			}
			frac = frac * 10 + (uint64_t)(*p - '0');
			scale *= 10;
			digits++;
		}
	}
	uint64_t unit;
	if (!strcmp(p, "") || !strcmp(p, "s"))
		unit = 1000;
	else if (!strcmp(p, "ms"))
		unit = 1;
	else if (!strcmp(p, "m"))
		unit = 60 * 1000;
	else if (!strcmp(p, "h"))
		unit = 3600 * 1000;
	else if (!strcmp(p, "d"))
		unit = 86400 * 1000;
	else
		return -EINVAL;
	if (whole > max / unit)
		return -ERANGE;
	/* frac < 10^9 and unit <= 8.64e7: the product fits in 64 bits. */
	uint64_t part = frac * unit;
	if (part % scale)
		return -EDOM;
	uint64_t v = whole * unit + part / scale;
	if (v > max)
		return -ERANGE;
	*ms = v;
	return 0;
}

/* Into whole seconds (what glournetd's options and settings hold): as
 * above, and -EDOM for a part of a second, -ERANGE over UINT32_MAX s. */
static inline int gn_duration_parse_s(const char *text, uint32_t *seconds)
{
	uint64_t ms;
	int rc = gn_duration_parse_ms(text, &ms);
	if (rc < 0)
		return rc;
	if (ms % 1000)
		return -EDOM;
	if (ms / 1000 > UINT32_MAX)
		return -ERANGE;
	*seconds = (uint32_t)(ms / 1000);
	return 0;
}

/* A duration as the grammar writes it, exactly: whole days, hours or
 * minutes in that unit ("1d", "2h", "5m"), else seconds ("90s", "1.25s"),
 * under a second in ms ("500ms"). */
static inline void gn_duration_format(uint64_t ms, char *buf, size_t len)
{
	if (ms == 0)
		snprintf(buf, len, "0s");
	else if (ms % 86400000 == 0)
		snprintf(buf, len, "%llud", (unsigned long long)(ms / 86400000));
	else if (ms % 3600000 == 0)
		snprintf(buf, len, "%lluh", (unsigned long long)(ms / 3600000));
	else if (ms % 60000 == 0)
		snprintf(buf, len, "%llum", (unsigned long long)(ms / 60000));
	else if (ms % 1000 == 0)
		snprintf(buf, len, "%llus", (unsigned long long)(ms / 1000));
	else if (ms < 1000)
		snprintf(buf, len, "%llums", (unsigned long long)ms);
	else {
		char f[8];
		snprintf(f, sizeof(f), "%03u", (unsigned)(ms % 1000));
		for (int i = 2; i > 0 && f[i] == '0'; i--)
			f[i] = '\0';
		snprintf(buf, len, "%llu.%ss", (unsigned long long)(ms / 1000), f);
	}
}

/*
 * The one message for a duration a program refuses, into buf: "WHAT: 'TEXT'
 * is not a duration: write a number and a unit: ...", "... is finer than
 * WHAT takes (whole seconds)", "... is out of range: LO .. HI". `rc` is the
 * parser's (0: parsed but outside [lo_ms, hi_ms]); `whole_s` says the
 * option takes whole seconds. Returns buf.
 */
static inline const char *gn_duration_error(char *buf, size_t len, const char *what,
					    const char *text, int rc, uint64_t lo_ms,
					    uint64_t hi_ms, int whole_s)
{
	char lo[32], hi[32];
	gn_duration_format(lo_ms, lo, sizeof(lo));
	gn_duration_format(hi_ms, hi, sizeof(hi));
	if (rc == -EINVAL)
		snprintf(buf, len, "%s: '%s' is not a duration: write " GN_DURATION_FORMS, what,
			 text);
	else if (rc == -EDOM)
		snprintf(buf, len, "%s: '%s' is finer than it takes (%s), in %s .. %s", what, text,
			 whole_s ? "whole seconds" : "whole milliseconds", lo, hi);
	else
		snprintf(buf, len, "%s: '%s' is out of range: %s .. %s", what, text, lo, hi);
	return buf;
}

/* Parses into ms and checks [lo_ms, hi_ms] (and whole seconds when
 * whole_s): 0, or the message in buf and a negative errno (-ERANGE when
 * only the range is wrong). */
static inline int gn_duration_take(const char *what, const char *text, uint64_t lo_ms,
				   uint64_t hi_ms, int whole_s, uint64_t *ms, char *buf, size_t len)
{
	uint64_t v = 0;
	int rc = gn_duration_parse_ms(text, &v);
	if (rc == 0 && whole_s && v % 1000)
		rc = -EDOM;
	if (rc == 0 && (v < lo_ms || v > hi_ms))
		rc = -ERANGE;
	if (rc < 0) {
		gn_duration_error(buf, len, what, text, rc, lo_ms, hi_ms, whole_s);
		return rc;
	}
	*ms = v;
	return 0;
}

#endif
