/*
 * The control sockets' access options (options_ctl.h). A mode is checked
 * here (octal, no bits beyond rw for owner, group, others: a socket is
 * connected to by writing); a group is looked up when the socket is made
 * (ctl_listen.c), where a missing one stops the start.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "control/options.h"
#include "control/options_ctl.h"
#include "control/options_say.h"

static int parse_mode(const char *opt, const char *v, unsigned *out)
{
	char *end;
	errno = 0;
	unsigned long m = strtoul(v, &end, 8);
	if (errno || end == v || *end || (m & ~0666ul) || !(m & 0600))
		return options_bad(opt, v,
				   "expected an octal mode such as 0660 (read and write bits only, "
				   "the owner's included)");
	*out = (unsigned)m;
	return 0;
}

static int nonempty(const char *opt, const char *v, const char **out)
{
	if (!*v)
		return options_bad(opt, v, "empty");
	*out = v;
	return 0;
}

int options_ctl_apply(struct gn_options *o, int opt, const char *v)
{
	switch (opt) {
	case OPT_CTL_SOCKET_MODE:
		return parse_mode("ctl-socket-mode", v, &o->ctl_socket_mode);
	case OPT_CTL_SOCKET_GROUP:
		return nonempty("ctl-socket-group", v, &o->ctl_socket_group);
	case OPT_CTL_SOCKET_RO:
		return nonempty("ctl-socket-ro", v, &o->ctl_socket_ro);
	case OPT_CTL_SOCKET_RO_MODE:
		return parse_mode("ctl-socket-ro-mode", v, &o->ctl_socket_ro_mode);
	case OPT_CTL_SOCKET_RO_GROUP:
		return nonempty("ctl-socket-ro-group", v, &o->ctl_socket_ro_group);
	}
	return options_say("internal error: option %d", opt);
}
