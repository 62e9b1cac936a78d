/*
 * The options of control-socket commands, declared in their row of the
 * command table (ctl_commands.c) and read here, once, by the dispatcher
 * (which refuses an unknown option or a missing value as a usage error
 * before the command runs) and by the command itself. Its own room, below
 * the table and the handlers, so that both use it without a circle.
 */
#ifndef GLOURNET_CTL_ARGS_H
#define GLOURNET_CTL_ARGS_H

#include <stdbool.h>
#include <stddef.h>

struct ctl_opt {
	const char *name;    /* "--status"; NULL ends a list */
	const char *value;   /* what it takes, for help ("STATUS"); NULL: a flag */
	const char *choices; /* "a|b|c": the values it accepts, each or a comma list of
			      * them; "@reasons" etc.: ctl_args_choices; NULL: any */
	const char *help;
};

/* One word of a command's arguments, as ctl_args_next found it. */
struct ctl_arg {
	const struct ctl_opt *opt; /* NULL: a positional word */
	const char *value;         /* the option's value, or the positional word */
};

/* A walk over a command's argument words. */
struct ctl_args {
	const struct ctl_opt *opts; /* NULL: every word is positional */
	int argc;
	const char **argv;
	int i;
	bool rest; /* past "--": every word is positional */
};

static inline struct ctl_args ctl_args_start(const struct ctl_opt *opts, int argc,
					     const char **argv)
{
	return (struct ctl_args){.opts = opts, .argc = argc, .argv = argv};
}

/* The next option or positional word: 1 with *a filled, 0 at the end,
 * -EINVAL with a usage message ("usage: ...") in err: an option the list
 * does not declare, a missing value, a value not among its choices.
 * "--NAME VALUE" and "--NAME=VALUE" are the same; after "--" every word is
 * positional. */
int ctl_args_next(struct ctl_args *it, struct ctl_arg *a, char *err, size_t errlen);

/* The words a choice list stands for: itself, or for "@statuses",
 * "@reasons" the names of ep_names.h and for "@settings" those of
 * settings_table.h, '|'-separated (static text). */
const char *ctl_args_choices(const char *choices);

/* Whether `word` is one of choices' words (exactly). */
bool ctl_args_is_choice(const char *choices, const char *word, size_t len);

#endif
