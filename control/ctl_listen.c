/*
 * Control sockets made and guarded (ctl_listen.h). The order of set-up is
 * the point (issue 13): bound under umask 0177, so the file is 0600 the
 * moment it exists; then its group; then its mode. Whatever the mode
 * becomes later, ctl_listen_allows checks each client's SO_PEERCRED
 * against root, glournetd's user and the file's group, and lets others in
 * only where the operator asked for it in the mode given at start.
 */
#include <errno.h>
#include <grp.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define LOG_TAG "ctl"
#include "control/ctl_listen.h"
#include "glournet/log.h"

/* A group name or number: 0, or -ENOENT. */
static int group_id(const char *group, gid_t *gid)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(group, &end, 10);
	if (!errno && end != group && !*end && v < (gid_t)-1) {
		*gid = (gid_t)v;
		return 0;
	}
	struct group gr, *res = NULL;
	char buf[4096];
	if (getgrnam_r(group, &gr, buf, sizeof(buf), &res) != 0 || !res)
		return -ENOENT;
	*gid = res->gr_gid;
	return 0;
}

int ctl_listen_open(struct ctl_listener *l, const char *path, unsigned mode, const char *group,
		    const char *what)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	l->path = path;
	l->mode = mode ? mode : CTL_SOCKET_MODE;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		LOG(ERR, "%s '%s': path too long (max %zu)", what, path, sizeof(sa.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	gid_t gid = (gid_t)-1;
	if (group && group_id(group, &gid) < 0) {
		LOG(ERR, "%s-group '%s': no such group", what, group);
		return -ENOENT;
	}
	strcpy(sa.sun_path, path);
	char dir[sizeof(sa.sun_path)];
	strcpy(dir, path);
	/* /run/glournet on first start (fine if present): its group must get
	 * through to the socket, whatever the umask. */
	char *parent = dirname(dir);
	if (mkdir(parent, 0750) == 0) {
		chmod(parent, 0750);
		if (group && chown(parent, (uid_t)-1, gid) < 0)
			LOG(WARN, "%s: cannot give %s to group %s: %s", what, parent, group,
			    strerror(errno));
	}

	/* A stale socket from a crashed run would block bind: probe, then unlink. */
	int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		LOG(ERR, "control socket %s is in use: is another glournetd running?", path);
		close(probe);
		return -EADDRINUSE;
	}
	if (probe >= 0)
		close(probe);
	unlink(path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* Born 0600: nobody but us can connect until it has its group and mode. */
	mode_t old = umask(0177);
	int rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	struct stat st;
	errno = 0;
	if (rc < 0 || listen(fd, 16) < 0 || lstat(path, &st) < 0 || !S_ISSOCK(st.st_mode) ||
	    (group && chown(path, (uid_t)-1, gid) < 0) || chmod(path, l->mode) < 0 ||
	    lstat(path, &st) < 0) {
		int e = errno ? errno : EEXIST;
		LOG(ERR, "control socket %s: %s", path, strerror(e));
		close(fd);
		unlink(path);
		return -e;
	}
	l->gid = st.st_gid;
	l->watch.fd = fd;
	if (l->mode & 0002)
		LOG(WARN, "control socket %s is mode %04o: every local user may connect%s", path,
		    l->mode, l->read_only ? " (to show and watch)" : " and change glournetd");
	LOG(INFO, "control socket%s on %s (mode %04o, group %u)",
	    l->read_only ? " (read-only)" : "", path, l->mode, (unsigned)st.st_gid);
	return 0;
}

void ctl_listen_close(struct ctl_listener *l, struct event_loop *loop)
{
	if (l->watch.fd <= 0)
		return;
	loop_del(loop, &l->watch);
	close(l->watch.fd);
	l->watch.fd = 0;
	unlink(l->path);
}

static bool in_group(int fd, const struct ucred *cr, gid_t gid)
{
	if (cr->gid == gid)
		return true;
	gid_t groups[256];
	socklen_t len = sizeof(groups);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) < 0)
		return false; /* more than 256 groups, or an old kernel: the primary only */
	for (size_t i = 0; i < len / sizeof(gid_t); i++)
		if (groups[i] == gid)
			return true;
	return false;
}

bool ctl_listen_allows(struct ctl_listener *l, int fd, const struct ucred *cr)
{
	struct stat st; /* the group as the operator set it since (chgrp) */
	if (lstat(l->path, &st) == 0 && S_ISSOCK(st.st_mode))
		l->gid = st.st_gid;
	return cr->uid == 0 || cr->uid == geteuid() || (l->mode & 0002) || in_group(fd, cr, l->gid);
}
