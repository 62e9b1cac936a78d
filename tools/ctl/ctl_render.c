/*
 * Renders any command's result as text without knowing the command, so a
 * command added to the daemon's table is usable from glournetctl at once:
 * flat objects become key/value tables, arrays of objects become column
 * tables, nested objects get a heading and are rendered the same way.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

struct render_ctx {
	FILE *out;
	bool printed; /* something is on screen: separate sections */
	int err;
};

static char *dup_json(json_t *value)
{
	return json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
}

static bool is_object_array(json_t *value)
{
	size_t i;
	json_t *elem;

	if (!json_is_array(value) || json_array_size(value) == 0)
		return false;
	json_array_foreach(value, i, elem) if (!json_is_object(elem)) return false;
	return true;
}

/* Inline values fit in one table cell; the others get a section. */
bool ctl_is_inline(json_t *value)
{
	if (json_is_object(value))
		return json_object_size(value) == 0;
	return !is_object_array(value);
}

static char *join_array(json_t *array)
{
	char *joined = strdup("");
	size_t i;
	json_t *elem;

	json_array_foreach(array, i, elem)
	{
		char *part = json_is_array(elem) || json_is_object(elem) ? dup_json(elem)
									 : ctl_format_scalar(elem);
		char *next = NULL;

		if (joined && part && asprintf(&next, "%s%s%s", joined, i ? ", " : "", part) < 0)
			next = NULL;
		free(part);
		free(joined);
		joined = next;
	}
	return joined;
}

/* Any inline value as human text (malloc'd; NULL on allocation failure). */
char *ctl_format_scalar(json_t *value)
{
	char *s = NULL;

	switch (json_typeof(value)) {
	case JSON_STRING:
		return strdup(json_string_value(value));
	case JSON_INTEGER:
		return asprintf(&s, "%lld", (long long)json_integer_value(value)) < 0 ? NULL : s;
	case JSON_REAL:
		return asprintf(&s, "%g", json_real_value(value)) < 0 ? NULL : s;
	case JSON_TRUE:
		return strdup("yes");
	case JSON_FALSE:
		return strdup("no");
	case JSON_ARRAY:
		if (json_array_size(value) == 0)
			return strdup("-");
		return join_array(value);
	case JSON_OBJECT:
		if (json_object_size(value) == 0)
			return strdup("-");
		return dup_json(value);
	case JSON_NULL:
	default:
		return strdup("-");
	}
}

/* Fills one cell: integers stay numbers so their column right-aligns. */
static int add_value_cell(struct ctl_table *t, const char *key, json_t *value, ctl_format_fn format)
{
	char *text = format ? format(key, value) : NULL;
	int err;

	if (!text && json_is_integer(value))
		return ctl_table_add_num(t, json_integer_value(value));
	if (!text)
		text = ctl_format_scalar(value);
	if (!text)
		return -ENOMEM;
	err = ctl_table_add(t, text);
	free(text);
	return err;
}

static void print_table(struct render_ctx *ctx, struct ctl_table *t, int indent)
{
	int err = ctl_table_print(t, ctx->out, indent);

	if (err)
		ctx->err = err;
	else if (ctl_table_rows(t))
		ctx->printed = true;
	ctl_table_free(t);
}

static void heading(struct render_ctx *ctx, const char *path)
{
	char *safe = ctl_text_safe(path); /* keys may be names from outside */

	fprintf(ctx->out, "%s%s:\n", ctx->printed ? "\n" : "", safe ? safe : "?");
	free(safe);
	ctx->printed = true;
}

static void render_object_array(struct render_ctx *ctx, json_t *array, int indent)
{
	json_t *columns = json_object();
	struct ctl_table *t;
	const char *key;
	json_t *elem, *v;
	size_t i;

	json_array_foreach(array, i, elem) json_object_foreach(elem, key, v)
		json_object_set_new(columns, key, json_true());
	t = ctl_table_new(json_object_size(columns), true);
	json_object_foreach(columns, key, v) ctl_table_add(t, key);
	json_array_foreach(array, i, elem)
	{
		json_object_foreach(columns, key, v)
		{
			json_t *cell = json_object_get(elem, key);

			if (!cell)
				ctl_table_add_blank(t);
			else
				add_value_cell(t, key, cell, NULL);
		}
	}
	json_decref(columns);
	print_table(ctx, t, indent);
}

static bool is_first_key(const struct ctl_render_opts *opts, const char *key)
{
	for (size_t i = 0; opts && opts->first && opts->first[i]; i++)
		if (strcmp(opts->first[i], key) == 0)
			return true;
	return false;
}

static void render_object(struct render_ctx *ctx, json_t *obj, const char *path, int depth,
			  const struct ctl_render_opts *opts);

/* A value that does not fit in a cell: heading, then its own table(s).
 * A view's format goes down with it (its keys are then "path.key"). */
static void render_section(struct render_ctx *ctx, const char *path, const char *key, json_t *value,
			   int depth, const struct ctl_render_opts *opts)
{
	const struct ctl_render_opts sub_opts = {.format = opts ? opts->format : NULL};
	char *sub = NULL;

	if (asprintf(&sub, "%s%s%s", path, *path ? "." : "", key) < 0) {
		ctx->err = -ENOMEM;
		return;
	}
	heading(ctx, sub);
	if (json_is_object(value))
		render_object(ctx, value, sub, depth + 1, &sub_opts);
	else
		render_object_array(ctx, value, 2);
	free(sub);
}

/* A value's cell; a view's format sees the key with its path. */
static void add_cell(struct ctl_table *t, const char *path, const char *key, json_t *value,
		     ctl_format_fn format)
{
	char *full = NULL;

	if (format && *path && asprintf(&full, "%s.%s", path, key) < 0)
		full = NULL;
	add_value_cell(t, full ? full : key, value, format);
	free(full);
}

static void render_object(struct render_ctx *ctx, json_t *obj, const char *path, int depth,
			  const struct ctl_render_opts *opts)
{
	struct ctl_table *t = ctl_table_new(2, false);
	ctl_format_fn format = opts ? opts->format : NULL;
	const char *key;
	json_t *value;

	for (size_t i = 0; opts && opts->first && opts->first[i]; i++) {
		value = json_object_get(obj, opts->first[i]);
		if (value && ctl_is_inline(value)) {
			ctl_table_add(t, opts->first[i]);
			add_cell(t, path, opts->first[i], value, format);
		}
	}
	json_object_foreach(obj, key, value)
	{
		if (!ctl_is_inline(value) || is_first_key(opts, key))
			continue;
		ctl_table_add(t, key);
		add_cell(t, path, key, value, format);
	}
	print_table(ctx, t, depth ? 2 : 0);
	json_object_foreach(obj, key, value) if (!ctl_is_inline(value))
		render_section(ctx, path, key, value, depth, opts);
}

static void render_scalar_lines(struct render_ctx *ctx, json_t *value)
{
	size_t i;
	json_t *elem;
	char *s;

	if (!json_is_array(value)) {
		s = ctl_format_scalar(value);
		fprintf(ctx->out, "%s\n", s ? s : "");
		free(s);
		return;
	}
	json_array_foreach(value, i, elem)
	{
		s = ctl_is_inline(elem) ? ctl_format_scalar(elem) : dup_json(elem);
		fprintf(ctx->out, "%s\n", s ? s : "");
		free(s);
	}
}

int ctl_render_value(FILE *out, json_t *value, const struct ctl_render_opts *opts)
{
	struct render_ctx ctx = {.out = out};

	if (json_is_object(value))
		render_object(&ctx, value, "", 0, opts);
	else if (is_object_array(value))
		render_object_array(&ctx, value, 0);
	else
		render_scalar_lines(&ctx, value);
	return ctx.err;
}

char *ctl_format_duration(long long secs)
{
	static const struct {
		long long len;
		char unit;
	} units[] = {
		{86400, 'd'},
		{3600, 'h'},
		{60, 'm'},
		{1, 's'},
	};
	const size_t nunits = sizeof(units) / sizeof(units[0]);
	size_t i = 0;
	long long big, small;
	char *s = NULL;

	if (secs < 0)
		secs = -secs;
	while (i + 1 < nunits && secs < units[i].len)
		i++;
	/* The largest unit and the next one are enough to read at a glance. */
	big = secs / units[i].len;
	small = i + 1 < nunits ? secs % units[i].len / units[i + 1].len : 0;
	if (small)
		return asprintf(&s, "%lld%c%lld%c", big, units[i].unit, small, units[i + 1].unit) <
				       0
			       ? NULL
			       : s;
	return asprintf(&s, "%lld%c", big, units[i].unit) < 0 ? NULL : s;
}

/* ISO-8601 UTC; relative adds how long ago that was by the local clock. */
char *ctl_format_time(long long t, bool relative)
{
	time_t tt = (time_t)t;
	struct tm tm;
	char iso[64];
	char *s = NULL, *ago;
	long long delta;

	if (t == 0)
		return strdup("never");
	if (!gmtime_r(&tt, &tm) || !strftime(iso, sizeof(iso), "%Y-%m-%dT%H:%M:%SZ", &tm))
		return asprintf(&s, "%lld", t) < 0 ? NULL : s;
	if (!relative)
		return strdup(iso);
	delta = (long long)time(NULL) - t;
	ago = ctl_format_duration(delta);
	if (ago && asprintf(&s, delta < 0 ? "%s (in %s)" : "%s (%s ago)", iso, ago) < 0)
		s = NULL;
	free(ago);
	return s;
}
