/*
 * The exposition format's writer (metrics_text.h). Label values are
 * escaped as the format says (backslash, double quote, newline), so a
 * range's text or a future label taken from an operator cannot break a
 * line; names and label names are the families' own constants.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/metrics_text.h"

int mt_init(struct mtext *t, size_t cap)
{
	*t = (struct mtext){.buf = malloc(cap ? cap : 1), .cap = cap ? cap : 1};
	if (!t->buf)
		return -ENOMEM;
	t->buf[0] = '\0';
	return 0;
}

void mt_free(struct mtext *t)
{
	free(t->buf);
	*t = (struct mtext){0};
}

static bool room(struct mtext *t, size_t n)
{
	if (t->oom)
		return false;
	if (t->len + n + 1 <= t->cap)
		return true;
	size_t cap = t->cap * 2;
	while (cap < t->len + n + 1)
		cap *= 2;
	char *b = realloc(t->buf, cap);
	if (!b) {
		t->oom = true;
		return false;
	}
	t->buf = b;
	t->cap = cap;
	return true;
}

static void put(struct mtext *t, const char *s, size_t n)
{
	if (!room(t, n))
		return;
	memcpy(t->buf + t->len, s, n);
	t->len += n;
	t->buf[t->len] = '\0';
}

void mt_append(struct mtext *t, const char *s, size_t n)
{
	put(t, s, n);
}

static void put_str(struct mtext *t, const char *s)
{
	put(t, s, strlen(s));
}

/* HELP text escapes backslash and newline; a label value also the quote. */
static void put_escaped(struct mtext *t, const char *s, bool quote)
{
	for (const char *p = s; *p; p++) {
		if (*p == '\\')
			put_str(t, "\\\\");
		else if (*p == '\n')
			put_str(t, "\\n");
		else if (quote && *p == '"')
			put_str(t, "\\\"");
		else
			put(t, p, 1);
	}
}

void mt_family(struct mtext *t, const char *name, const char *type, const char *help)
{
	put_str(t, "# HELP ");
	put_str(t, name);
	put_str(t, " ");
	put_escaped(t, help, false);
	put_str(t, "\n# TYPE ");
	put_str(t, name);
	put_str(t, " ");
	put_str(t, type);
	put_str(t, "\n");
}

static void labels(struct mtext *t, const char *name, va_list ap)
{
	put_str(t, name);
	const char *k = va_arg(ap, const char *);
	if (!k)
		return;
	put_str(t, "{");
	for (bool first = true; k; k = va_arg(ap, const char *), first = false) {
		const char *v = va_arg(ap, const char *);
		if (!first)
			put_str(t, ",");
		put_str(t, k);
		put_str(t, "=\"");
		put_escaped(t, v ? v : "", true);
		put_str(t, "\"");
	}
	put_str(t, "}");
}

void mt_u64(struct mtext *t, const char *name, uint64_t v, ...)
{
	va_list ap;
	va_start(ap, v);
	labels(t, name, ap);
	va_end(ap);
	char num[32];
	int n = snprintf(num, sizeof(num), " %llu\n", (unsigned long long)v);
	put(t, num, (size_t)n);
}

void mt_f64(struct mtext *t, const char *name, double v, ...)
{
	va_list ap;
	va_start(ap, v);
	labels(t, name, ap);
	va_end(ap);
	char num[40];
	int n;
	if (isnan(v))
		n = snprintf(num, sizeof(num), " NaN\n");
	else if (isinf(v))
		n = snprintf(num, sizeof(num), " %cInf\n", v > 0 ? '+' : '-');
	else if (fabs(v) < 9e18 && v == (double)(long long)v) /* a count or a whole second */
		n = snprintf(num, sizeof(num), " %lld\n", (long long)v);
	else
		n = snprintf(num, sizeof(num), " %.9g\n", v);
	put(t, num, (size_t)n);
}
