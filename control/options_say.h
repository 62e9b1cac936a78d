/*
 * How glournetd's option checks say what is wrong (options_say.c), the
 * same for the command line and the configuration file: on the command
 * line "glournetd: --udp-port '0': WHY", from the file
 * "glournetd: FILE:LINE: udp-port '0': WHY", so an operator finds the
 * line. On the journal each line carries <3> (error), like the log's.
 */
#ifndef GLOURNET_OPTIONS_SAY_H
#define GLOURNET_OPTIONS_SAY_H

/* Where the option now being checked comes from: a file and its line, or
 * the command line (file NULL). */
void options_say_from(const char *file, unsigned line);
/* Where options_say_from last said (to say it again later). */
void options_say_where(const char **file, unsigned *line);

/* Says that option OPT (its name without "--") with value VAL is refused,
 * and why, from where options_say_from said; returns -1. */
int options_bad(const char *opt, const char *val, const char *why);

/* A message of its own ("glournetd: " and the journal's <3> added, a
 * newline too); returns -1. */
int options_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
