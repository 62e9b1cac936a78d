/*
 * The configuration file as options (options_config.h). The file's keys
 * are looked up in getopt's own table, so there is no second list of
 * options to keep in step; the words made here go through the same
 * getopt_long and the same checks as the command line's.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/options_config.h"
#include "control/options_say.h"

const struct options_config_rule *options_config_rule(const struct options_config_rule *rules,
						      size_t nrules, int opt)
{
	for (size_t i = 0; i < nrules; i++)
		if (rules[i].opt == opt)
			return &rules[i];
	return NULL;
}

/* Edits from a to b, capped: enough to suggest a near name. */
static unsigned distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 40 || lb > 40)
		return 99;
	unsigned d[41][41];
	for (size_t i = 0; i <= la; i++)
		d[i][0] = (unsigned)i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = (unsigned)j;
	for (size_t i = 1; i <= la; i++)
		for (size_t j = 1; j <= lb; j++) {
			unsigned sub = d[i - 1][j - 1] + (a[i - 1] != b[j - 1] &&
							  !(a[i - 1] == '_' && b[j - 1] == '-'));
			unsigned del = d[i - 1][j] + 1, ins = d[i][j - 1] + 1;
			d[i][j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
		}
	return d[la][lb];
}

static const struct option *find_opt(const struct option *opts, const char *key)
{
	for (const struct option *p = opts; p->name; p++)
		if (!strcmp(p->name, key))
			return p;
	return NULL;
}

static int unknown(const struct config_file *cf, const struct config_entry *e,
		   const struct option *opts)
{
	const char *best = NULL;
	unsigned bd = 3;
	for (const struct option *p = opts; p->name; p++) {
		unsigned d = distance(e->key, p->name);
		if (d < bd)
			bd = d, best = p->name;
	}
	if (distance(e->key, OPTIONS_CONFIG_EAL) < bd)
		best = OPTIONS_CONFIG_EAL;
	options_say_from(NULL, 0);
	if (best)
		return options_say("%s:%u: unknown key '%s'; did you mean '%s'?", cf->path, e->line,
				   e->key, best);
	return options_say("%s:%u: unknown key '%s' (the keys are glournetd's long options "
			   "without '--': glournetd --help)",
			   cf->path, e->line, e->key);
}

static int push(struct options_config_words *w, char *word, unsigned line)
{
	char **a = realloc(w->argv, ((size_t)w->argc + 2) * sizeof(*a));
	if (a)
		w->argv = a;
	unsigned *l = realloc(w->line, ((size_t)w->argc + 2) * sizeof(*l));
	if (l)
		w->line = l;
	if (!a || !l || !word) {
		free(word);
		return options_say("out of memory");
	}
	w->argv[w->argc] = word;
	w->line[w->argc++] = line;
	w->argv[w->argc] = NULL;
	return 0;
}

/* `eal:` words, split on blanks in place (the values are ours). */
static int eal_words(struct options_config_words *w, struct config_entry *e)
{
	for (unsigned i = 0; i < e->n; i++) {
		char *save = NULL;
		for (char *t = strtok_r(e->vals[i].text, " \t", &save); t;
		     t = strtok_r(NULL, " \t", &save)) {
			char **a = realloc(w->eal_argv, ((size_t)w->eal_argc + 2) * sizeof(*a));
			if (!a)
				return options_say("out of memory");
			w->eal_argv = a;
			a[w->eal_argc++] = t;
			a[w->eal_argc] = NULL;
		}
	}
	return 0;
}

static int entry(struct options_config_words *w, struct config_entry *e, const struct option *opts,
		 const struct options_config_rule *rules, size_t nrules)
{
	const char *path = w->cf.path;
	if (!strcmp(e->key, OPTIONS_CONFIG_EAL))
		return eal_words(w, e);
	const struct option *o = find_opt(opts, e->key);
	if (!o)
		return unknown(&w->cf, e, opts);
	const struct options_config_rule *r = options_config_rule(rules, nrules, o->val);
	options_say_from(NULL, 0);
	if (r && r->refused)
		return options_say("%s:%u: %s: not in the configuration file: %s", path, e->line,
				   e->key, r->refused);
	if (o->has_arg == no_argument)
		return options_say("%s:%u: %s: not in the configuration file: a command-line flag",
				   path, e->line, e->key);
	if (e->is_list && !(r && r->list))
		return options_say("%s:%u: %s: bad type: a list, expected one value", path, e->line,
				   e->key);
	int rc = 0;
	for (unsigned i = 0; i < e->n && rc == 0; i++) {
		size_t len = strlen(e->key) + strlen(e->vals[i].text) + 4;
		char *word = malloc(len);
		if (word)
			snprintf(word, len, "--%s=%s", e->key, e->vals[i].text);
		rc = push(w, word, e->vals[i].line);
	}
	return rc;
}

int options_config_load(const char *path, const struct option *opts,
			const struct options_config_rule *rules, size_t nrules,
			struct options_config_words *w)
{
	memset(w, 0, sizeof(*w));
	char err[4096];
	int rc = config_file_read(path, &w->cf, err, sizeof(err));
	options_say_from(NULL, 0);
	for (char *save = NULL, *l = strtok_r(err, "\n", &save); rc != 0 && l;
	     l = strtok_r(NULL, "\n", &save))
		options_say("%s", l);
	if (rc < 0)
		return -1;
	/* Every key's error is said before giving up, so one --check shows all. */
	int bad = push(w, strdup("glournetd"), 0) < 0 || rc > 0;
	for (unsigned i = 0; i < w->cf.n; i++)
		bad |= entry(w, &w->cf.e[i], opts, rules, nrules) < 0;
	return bad ? 1 : 0;
}

void options_config_free(struct options_config_words *w)
{
	for (int i = 0; i < w->argc; i++)
		free(w->argv[i]);
	free(w->argv);
	free(w->line);
	free(w->eal_argv);
	config_file_free(&w->cf);
	memset(w, 0, sizeof(*w));
}
