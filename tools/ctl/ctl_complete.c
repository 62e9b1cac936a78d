/*
 * Completion of commands and their arguments from glournetd's own command
 * table (the answer to `help`: names, options with their values and
 * choices, what positional words are), so that the prompt and bash
 * complete exactly what the running daemon takes, a newer one's commands
 * included, and nothing here lists a command.
 *
 * For bash, `glournetctl completion bash` prints a small script whose
 * function calls back `glournetctl completion words CWORD WORDS...`; that
 * asks the daemon the socket named on the line (or $GLOURNET_SOCKET) for
 * its table, for at most a second. Without an answer only glournetctl's
 * own options complete, and bash falls back to file names.
 */
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

json_t *ctl_complete_table(const char *socket, int timeout_ms)
{
	static char help[] = "help";
	char *argv[] = {help};
	struct ctl_reply r;
	json_t *commands = NULL;

	ctl_call(socket, timeout_ms, 1, argv, &r);
	if (r.status == CTL_CALL_OK && r.ok)
		commands = json_incref(json_object_get(r.result, "commands"));
	ctl_reply_release(&r);
	if (commands && !json_is_array(commands)) {
		json_decref(commands);
		commands = NULL;
	}
	return commands;
}

static void add(json_t *out, const char *word, const char *cur)
{
	size_t i;
	json_t *w;

	if (strncmp(word, cur, strlen(cur)))
		return;
	json_array_foreach(out, i, w) if (!strcmp(json_string_value(w), word)) return;
	json_array_append_new(out, json_string(word));
}

/* How many words of `name` match words[0..n); -1 when one differs. */
static int name_match(const char *name, int n, char *const *words, int *name_words)
{
	int w = 0;
	size_t pos = 0;

	*name_words = 0;
	for (const char *p = name; *p; p += strcspn(p, " "), p += *p == ' ')
		(*name_words)++;
	while (name[pos] && w < n) {
		size_t len = strcspn(name + pos, " ");
		if (strlen(words[w]) != len || strncmp(words[w], name + pos, len))
			return -1;
		pos += len + (name[pos + len] == ' ');
		w++;
	}
	return w;
}

/* The next word of `name` after its first `skip` words. */
static void next_word(const char *name, int skip, char *buf, size_t len)
{
	const char *p = name;

	for (int i = 0; i < skip && *p; i++) {
		p += strcspn(p, " ");
		p += *p == ' ';
	}
	snprintf(buf, len, "%.*s", (int)strcspn(p, " "), p);
}

static json_t *find_option(json_t *cmd, const char *word)
{
	size_t i;
	json_t *o;

	json_array_foreach(json_object_get(cmd, "options"), i, o)
	{
		const char *name = json_string_value(json_object_get(o, "name"));
		if (name && !strcmp(name, word))
			return o;
	}
	return NULL;
}

/* A value of an option with choices; a comma list completes its last item. */
static void complete_choices(json_t *choices, const char *cur, json_t *out)
{
	const char *comma = strrchr(cur, ',');
	size_t keep = comma ? (size_t)(comma - cur) + 1 : 0;
	size_t i;
	json_t *c;

	json_array_foreach(choices, i, c)
	{
		char word[256];
		snprintf(word, sizeof(word), "%.*s%s", (int)keep, cur, json_string_value(c));
		add(out, word, cur);
	}
}

/* The arguments of a command that is whole: its options, an option's
 * value, its positional words' completions. */
static void complete_args(json_t *cmd, int nargs, char *const *args, const char *cur, json_t *out)
{
	json_t *prev = nargs ? find_option(cmd, args[nargs - 1]) : NULL;
	size_t i;
	json_t *o;

	if (prev && json_object_get(prev, "value")) {
		complete_choices(json_object_get(prev, "choices"), cur, out);
		return; /* a FILE, a number...: the shell's, or nothing */
	}
	json_array_foreach(json_object_get(cmd, "options"), i, o)
		add(out, json_string_value(json_object_get(o, "name")), cur);
	json_t *positional = json_object_get(cmd, "complete");
	const char *spec = json_string_value(json_object_get(cmd, "args"));
	int npos = 0;
	for (int k = 0; k < nargs; k++)
		npos += strncmp(args[k], "--", 2) != 0;
	/* "NAME VALUE [NAME VALUE ...]": names at even places only. */
	if (positional && (!spec || strncmp(spec, "NAME VALUE", 10) || npos % 2 == 0))
		complete_choices(positional, cur, out);
}

void ctl_complete(json_t *commands, int nwords, char *const *words, const char *cur,
		  const char *const *extra, json_t *out)
{
	json_t *best = NULL, *c;
	int best_words = 0;
	size_t i;

	json_array_foreach(commands, i, c)
	{
		const char *name = json_string_value(json_object_get(c, "name"));
		int total, matched = name ? name_match(name, nwords, words, &total) : -1;
		char next[128];

		if (matched < 0)
			continue;
		if (matched == nwords && nwords < total) { /* the next word of its name */
			next_word(name, nwords, next, sizeof(next));
			add(out, next, cur);
		} else if (matched == total && total > best_words) {
			best = c;
			best_words = total;
		}
	}
	if (nwords == 0)
		for (const char *const *e = extra; e && *e; e++)
			add(out, *e, cur);
	if (best && !json_array_size(out))
		complete_args(best, nwords - best_words, words + best_words, cur, out);
}

void ctl_complete_bash(FILE *out)
{
	fputs("# bash completion for glournetctl (printed by `glournetctl completion bash`).\n"
	      "# The words come from the running glournetd's command table: its options\n"
	      "# and their values; without a daemon, glournetctl's own and file names.\n"
	      "_glournetctl()\n"
	      "{\n"
	      "\tlocal IFS=$'\\n'\n"
	      "\tCOMPREPLY=($(\"${COMP_WORDS[0]}\" completion words \"$COMP_CWORD\" "
	      "\"${COMP_WORDS[@]}\" 2>/dev/null))\n"
	      "}\n"
	      "complete -o default -F _glournetctl glournetctl\n",
	      out);
}

/* glournetctl's options before the command: those that take a value. */
static bool takes_value(const char *w)
{
	return !strcmp(w, "-s") || !strcmp(w, "--socket") || !strcmp(w, "--timeout") ||
	       !strcmp(w, "-f") || !strcmp(w, "--file");
}

int ctl_complete_words(int argc, char **argv)
{
	static const char *const globals[] = {
		"--socket", "--json",    "--timeout", "--force", "--wait",
		"--file",   "--errexit", "--version", "--help",  NULL,
	};
	static const char *const locals[] = {"completion", NULL};
	if (argc < 2)
		return CTL_EXIT_USAGE;
	int cword = atoi(argv[0]);
	char **words = argv + 1; /* words[0] is the program */
	int nwords = argc - 1;
	const char *cur = cword < nwords ? words[cword] : "";
	const char *socket = getenv("GLOURNET_SOCKET");
	int first = 1;

	if (!socket || !*socket)
		socket = CTL_DEFAULT_SOCKET;
	/* glournetctl's own options, up to the command. */
	while (first < cword && words[first][0] == '-') {
		if (takes_value(words[first]) && first + 1 < cword) {
			if (!strcmp(words[first], "-s") || !strcmp(words[first], "--socket"))
				socket = words[first + 1];
			first++;
		}
		first++;
	}
	json_t *out = json_array();
	if (first == cword && cur[0] == '-') {
		for (const char *const *g = globals; *g; g++)
			add(out, *g, cur);
	} else if (first <= cword &&
		   !(cword > 1 && takes_value(words[cword - 1]) && first == cword)) {
		json_t *commands = ctl_complete_table(socket, 1000);
		ctl_complete(commands, cword - first, words + first, cur, locals, out);
		json_decref(commands);
	}
	size_t i;
	json_t *w;
	json_array_foreach(out, i, w) printf("%s\n", json_string_value(w));
	json_decref(out);
	return CTL_EXIT_OK;
}
