/*
 * glournetctl started on a terminal without a command: a prompt with line
 * editing, history (~/.glournetctl_history, or $GLOURNETCTL_HISTORY; an
 * empty one keeps none) and Tab completion of commands and arguments
 * from the daemon's table (ctl_complete.c), through libedit. Each line
 * runs as it would from the command line (ctl_run); a destructive command
 * asks at the prompt. Ctrl-C stops a streaming command (watch, show
 * clients) and returns here; Ctrl-D or quit leaves.
 */
#include <errno.h>
#include <histedit.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

#define PROMPT "glournet> "

static const struct ctl_opts *opts;
static json_t *table; /* the daemon's commands; fetched again while it has none */
static volatile sig_atomic_t interrupted;

static char *prompt(EditLine *el)
{
	(void)el;
	return PROMPT;
}

static void on_int(int sig)
{
	interrupted = sig;
}

/* The longest prefix every candidate shares. */
static size_t common_prefix(json_t *cands)
{
	const char *first = json_string_value(json_array_get(cands, 0));
	size_t n = strlen(first), i;
	json_t *c;

	json_array_foreach(cands, i, c)
	{
		const char *s = json_string_value(c);
		size_t k = 0;
		while (k < n && s[k] == first[k])
			k++;
		n = k;
	}
	return n;
}

static void list(json_t *cands)
{
	size_t i, width = 0;
	json_t *c;

	json_array_foreach(cands, i, c) if (strlen(json_string_value(c)) > width) width =
		strlen(json_string_value(c));
	size_t per_line = width + 2 < 80 ? 80 / (width + 2) : 1;
	fputc('\n', stdout);
	json_array_foreach(cands, i, c)
		fprintf(stdout, "%-*s%s", (int)width + 2, json_string_value(c),
			(i + 1) % per_line == 0 ? "\n" : "");
	if (json_array_size(cands) % per_line)
		fputc('\n', stdout);
}

static unsigned char complete(EditLine *el, int ch)
{
	static const char *const locals[] = {"quit", "exit", NULL};
	const LineInfo *li = el_line(el);
	size_t len = (size_t)(li->cursor - li->buffer);
	char *text = strndup(li->buffer, len), err[64], **words;
	int nwords;
	unsigned char rc = CC_ERROR;

	(void)ch;
	if (!text || ctl_words_split(text, &nwords, &words, err, sizeof(err)) < 0) {
		free(text);
		return CC_ERROR;
	}
	/* After a blank, a new word; else the last one is being typed. */
	bool fresh = !len || text[len - 1] == ' ' || text[len - 1] == '\t';
	const char *cur = fresh || !nwords ? "" : words[nwords - 1];
	int before = fresh ? nwords : nwords - 1;
	if (!table)
		table = ctl_complete_table(opts->socket, 1000);
	json_t *cands = json_array();
	ctl_complete(table, before, words, cur, locals, cands);
	size_t n = json_array_size(cands), have = strlen(cur);
	if (n == 1) {
		const char *w = json_string_value(json_array_get(cands, 0));
		char *add = NULL;
		if (asprintf(&add, "%s ", w + have) >= 0 && el_insertstr(el, add) == 0)
			rc = CC_REFRESH;
		free(add);
	} else if (n > 1) {
		size_t common = common_prefix(cands);
		if (common > have) {
			char *add = strndup(json_string_value(json_array_get(cands, 0)) + have,
					    common - have);
			if (add && el_insertstr(el, add) == 0)
				rc = CC_REFRESH;
			free(add);
		} else {
			list(cands);
			rc = CC_REDISPLAY;
		}
	}
	json_decref(cands);
	ctl_words_free(words);
	free(text);
	return rc;
}

static char *history_path(void)
{
	const char *env = getenv("GLOURNETCTL_HISTORY"), *home = getenv("HOME");
	char *path = NULL;

	if (env)
		return *env ? strdup(env) : NULL;
	if (home && *home && asprintf(&path, "%s/.glournetctl_history", home) < 0)
		path = NULL;
	return path;
}

int ctl_interactive(const struct ctl_opts *o)
{
	struct ctl_opts mine = *o;
	struct sigaction sa = {.sa_handler = on_int}, old;
	HistEvent ev;
	char *hist_path = history_path();

	mine.interactive = true;
	mine.can_ask = true;
	opts = &mine;
	EditLine *el = el_init("glournetctl", stdin, stdout, stderr);
	History *h = history_init();
	if (!el || !h) {
		fprintf(stderr, "glournetctl: cannot start the line editor\n");
		return CTL_EXIT_ERROR;
	}
	history(h, &ev, H_SETSIZE, 1000);
	history(h, &ev, H_SETUNIQUE, 1);
	if (hist_path)
		history(h, &ev, H_LOAD, hist_path);
	el_set(el, EL_PROMPT, prompt);
	el_set(el, EL_EDITOR, "emacs");
	el_set(el, EL_HIST, history, h);
	el_set(el, EL_ADDFN, "gn-complete", "complete a command or its argument", complete);
	el_set(el, EL_BIND, "^I", "gn-complete", NULL);
	el_source(el, NULL); /* ~/.editrc */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old);
	printf("glournetctl %s on %s: 'help' lists the commands, Tab completes, Ctrl-D "
	       "leaves\n",
	       GN_VERSION, o->socket);
	for (;;) {
		int count = 0;
		interrupted = 0;
		const char *line = el_gets(el, &count);
		if (!line && interrupted) { /* Ctrl-C at the prompt: a new line */
			fputc('\n', stdout);
			el_reset(el);
			continue;
		}
		if (!line)
			break;
		char err[128], **argv;
		int argc;
		if (ctl_words_split(line, &argc, &argv, err, sizeof(err)) < 0) {
			fprintf(stderr, "glournetctl: %s\n", err);
			continue;
		}
		if (argc) {
			history(h, &ev, H_ENTER, line);
			if (hist_path)
				history(h, &ev, H_SAVE, hist_path);
		}
		if (argc && (!strcmp(argv[0], "quit") || !strcmp(argv[0], "exit"))) {
			ctl_words_free(argv);
			break;
		}
		if (argc)
			ctl_run(&mine, argc, argv); /* its errors are said; the prompt goes on */
		ctl_words_free(argv);
		fflush(stdout);
	}
	sigaction(SIGINT, &old, NULL);
	history_end(h);
	el_end(el);
	json_decref(table);
	table = NULL;
	free(hist_path);
	return CTL_EXIT_OK;
}
