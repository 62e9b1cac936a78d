/*
 * `glournetctl help COMMAND`: the commands whose names start with the
 * words given, each with its arguments, its options (values and choices)
 * and what its flags mean for the operator: whether the read-only socket
 * runs it, whether it asks to confirm, whether its answer streams. All of
 * it from the daemon's table.
 */
#include <errno.h>
#include <string.h>

#include "ctl.h"

static bool has_flag(json_t *cmd, const char *flag)
{
	size_t i;
	json_t *f;

	json_array_foreach(json_object_get(cmd, "flags"), i,
			   f) if (!strcmp(json_string_value(f), flag)) return true;
	return false;
}

static void print_choices(FILE *out, json_t *choices)
{
	size_t i;
	json_t *c;

	if (!json_array_size(choices))
		return;
	fputs(" (", out);
	json_array_foreach(choices, i, c) fprintf(out, "%s%s", i ? ", " : "", json_string_value(c));
	fputc(')', out);
}

static void print_command(FILE *out, json_t *cmd)
{
	const char *args = json_string_value(json_object_get(cmd, "args"));
	json_t *opts = json_object_get(cmd, "options"), *o;
	size_t i;

	fprintf(out, "%s%s%s\n    %s\n", json_string_value(json_object_get(cmd, "name")),
		args && *args ? " " : "", args ? args : "",
		json_string_value(json_object_get(cmd, "help")));
	if (json_array_size(opts)) {
		struct ctl_table *t = ctl_table_new(2, false);

		json_array_foreach(opts, i, o)
		{
			const char *value = json_string_value(json_object_get(o, "value"));

			ctl_table_addf(t, "%s%s%s", json_string_value(json_object_get(o, "name")),
				       value ? " " : "", value ? value : "");
			ctl_table_add(t, json_string_value(json_object_get(o, "help")));
		}
		fputs("  options:\n", out);
		ctl_table_print(t, out, 4);
		ctl_table_free(t);
		json_array_foreach(opts, i, o)
		{
			json_t *choices = json_object_get(o, "choices");

			if (json_array_size(choices)) {
				fprintf(out,
					"    %s:", json_string_value(json_object_get(o, "name")));
				print_choices(out, choices);
				fputc('\n', out);
			}
		}
	}
	fprintf(out, "  %s%s%s\n",
		has_flag(cmd, "read") ? "allowed on the read-only socket"
				      : "changes glournetd: not on the read-only socket",
		has_flag(cmd, "confirm") ? "; asks to confirm (--force: does not)" : "",
		has_flag(cmd, "stream") ? "; its answer streams" : "");
}

int ctl_view_help_detail(FILE *out, json_t *result)
{
	json_t *commands = json_object_get(result, "commands"), *c;
	size_t i;

	if (!json_is_array(commands))
		return ctl_render_value(out, result, NULL);
	json_array_foreach(commands, i, c)
	{
		if (!json_is_string(json_object_get(c, "name")))
			return -EINVAL;
		if (i)
			fputc('\n', out);
		print_command(out, c);
	}
	return 0;
}
