/*
 * glournetd's options for who may use the control sockets (issue 14): the
 * main socket's mode and group, and a second, read-only socket with its
 * own. One block for options.c: its getopt rows, its help lines and the
 * function that takes them.
 */
#ifndef GLOURNET_OPTIONS_CTL_H
#define GLOURNET_OPTIONS_CTL_H

struct gn_options;

/* getopt values of these options, above every other of options.c. */
enum {
	OPT_CTL_SOCKET_MODE = 0x1400,
	OPT_CTL_SOCKET_GROUP,
	OPT_CTL_SOCKET_RO,
	OPT_CTL_SOCKET_RO_MODE,
	OPT_CTL_SOCKET_RO_GROUP,
	OPT_CTL_LAST = OPT_CTL_SOCKET_RO_GROUP,
};

/* clang-format off */
#define OPTIONS_CTL_LONG                                                       \
	{"ctl-socket-mode", required_argument, 0, OPT_CTL_SOCKET_MODE},        \
	{"ctl-socket-group", required_argument, 0, OPT_CTL_SOCKET_GROUP},      \
	{"ctl-socket-ro", required_argument, 0, OPT_CTL_SOCKET_RO},            \
	{"ctl-socket-ro-mode", required_argument, 0, OPT_CTL_SOCKET_RO_MODE},  \
	{"ctl-socket-ro-group", required_argument, 0, OPT_CTL_SOCKET_RO_GROUP}

#define OPTIONS_CTL_HELP                                                                  \
	"  --ctl-socket-mode MODE  its mode, octal (default 0660; o+w lets every user in)\n" \
	"  --ctl-socket-group GRP  its group, a name or number (default glournetd's)\n"     \
	"  --ctl-socket-ro PATH    a read-only control socket too: show and watch only\n"   \
	"  --ctl-socket-ro-mode MODE, --ctl-socket-ro-group GRP  the same for it\n"
/* clang-format on */

/* Takes one of them: 0, or -1 after saying why on stderr. */
int options_ctl_apply(struct gn_options *o, int opt, const char *value);

#endif
