/*
 * Aligned text tables for glournetctl's human output. Cells are collected
 * first and printed once the widths are known; numeric columns are
 * right-aligned so counters line up by magnitude. Allocation failure is
 * remembered and reported once, at print time, to keep callers linear.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "glournet/text_safe.h"

#define CTL_TABLE_GAP 2

struct ctl_cell {
	char *text;
	enum { CELL_TEXT, CELL_NUM, CELL_BLANK } kind;
};

struct ctl_table {
	size_t ncols;
	bool has_header;
	size_t ncells, cap;
	struct ctl_cell *cells;
	int err;
};

struct ctl_table *ctl_table_new(size_t ncols, bool has_header)
{
	struct ctl_table *t = calloc(1, sizeof(*t));

	if (t) {
		t->ncols = ncols ? ncols : 1;
		t->has_header = has_header;
	}
	return t;
}

/* Takes ownership of text (NULL means the allocation upstream failed). */
static int add_cell(struct ctl_table *t, char *text, int kind)
{
	if (!t) {
		free(text);
		return -ENOMEM;
	}
	if (!text || t->err) {
		free(text);
		return t->err = -ENOMEM;
	}
	if (t->ncells == t->cap) {
		size_t ncap = t->cap ? t->cap * 2 : 32;
		struct ctl_cell *n = realloc(t->cells, ncap * sizeof(*n));

		if (!n) {
			free(text);
			return t->err = -ENOMEM;
		}
		t->cells = n;
		t->cap = ncap;
	}
	t->cells[t->ncells].text = text;
	t->cells[t->ncells].kind = kind;
	t->ncells++;
	return 0;
}

char *ctl_text_safe(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	char *out;

	if (!gn_text_needs_escape(s ? s : "", n))
		return strdup(s ? s : "");
	out = n < (SIZE_MAX - 1) / 4 ? malloc(GN_TEXT_ESCAPE_SIZE(n)) : NULL;
	if (out)
		gn_text_escape(s, n, out);
	return out;
}

/* Every cell goes through ctl_text_safe: a cell may hold a guid, a
 * hostname, a component's name, whatever the daemon was told by others. */
int ctl_table_add(struct ctl_table *t, const char *text)
{
	return add_cell(t, ctl_text_safe(text), CELL_TEXT);
}

int ctl_table_addf(struct ctl_table *t, const char *fmt, ...)
{
	va_list ap;
	char *text;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&text, fmt, ap);
	va_end(ap);
	if (n < 0)
		return add_cell(t, NULL, CELL_TEXT);
	char *safe = ctl_text_safe(text);
	free(text);
	return add_cell(t, safe, CELL_TEXT);
}

int ctl_table_add_num(struct ctl_table *t, long long n)
{
	char *text;

	return add_cell(t, asprintf(&text, "%lld", n) < 0 ? NULL : text, CELL_NUM);
}

int ctl_table_add_blank(struct ctl_table *t)
{
	return add_cell(t, strdup(""), CELL_BLANK);
}

size_t ctl_table_rows(const struct ctl_table *t)
{
	return t ? (t->ncells + t->ncols - 1) / t->ncols : 0;
}

/* Display width: code points, which is right for the ASCII and Latin text
 * a hostname or reason carries; continuation bytes take no column. */
static size_t text_width(const char *s)
{
	size_t w = 0;

	for (; *s; s++)
		w += ((unsigned char)*s & 0xC0) != 0x80;
	return w;
}

static bool column_is_numeric(const struct ctl_table *t, size_t col)
{
	size_t first = t->has_header ? t->ncols : 0;
	bool any = false;

	for (size_t i = first + col; i < t->ncells; i += t->ncols) {
		if (t->cells[i].kind == CELL_TEXT)
			return false;
		any |= t->cells[i].kind == CELL_NUM;
	}
	return any;
}

static void measure(const struct ctl_table *t, size_t *width, bool *right)
{
	for (size_t c = 0; c < t->ncols; c++) {
		width[c] = 0;
		right[c] = column_is_numeric(t, c);
	}
	for (size_t i = 0; i < t->ncells; i++) {
		size_t w = text_width(t->cells[i].text);

		if (w > width[i % t->ncols])
			width[i % t->ncols] = w;
	}
}

/* Blank cells at the end of a row print nothing and nothing is padded for
 * them: no trailing blanks, so the output diffs and greps cleanly. */
static void print_row(const struct ctl_table *t, size_t row, FILE *out, int indent,
		      const size_t *width, const bool *right)
{
	size_t first = row * t->ncols;
	size_t last = first + t->ncols;

	if (last > t->ncells)
		last = t->ncells;
	while (last > first && !*t->cells[last - 1].text)
		last--;
	fprintf(out, "%*s", indent, "");
	for (size_t i = first; i < last; i++) {
		size_t c = i - first;
		const char *s = t->cells[i].text;
		int pad = (int)(width[c] - text_width(s));
		bool is_last = i + 1 == last;

		if (right[c])
			fprintf(out, "%*s%s", pad, "", s);
		else
			fprintf(out, "%s%*s", s, is_last ? 0 : pad, "");
		if (!is_last)
			fprintf(out, "%*s", CTL_TABLE_GAP, "");
	}
	fputc('\n', out);
}

int ctl_table_print(const struct ctl_table *t, FILE *out, int indent)
{
	size_t *width;
	bool *right;

	if (!t || t->err)
		return -ENOMEM;
	width = calloc(t->ncols, sizeof(*width));
	right = calloc(t->ncols, sizeof(*right));
	if (!width || !right) {
		free(width);
		free(right);
		return -ENOMEM;
	}
	measure(t, width, right);
	for (size_t r = 0; r < ctl_table_rows(t); r++)
		print_row(t, r, out, indent, width, right);
	free(width);
	free(right);
	return 0;
}

void ctl_table_free(struct ctl_table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->ncells; i++)
		free(t->cells[i].text);
	free(t->cells);
	free(t);
}
