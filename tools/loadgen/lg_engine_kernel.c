/*
 * The kernel engine: one connected UDP socket, sendmmsg of up to 64
 * datagrams, IPv4 or IPv6. A full socket buffer (EAGAIN/ENOBUFS) is retried
 * a bounded number of times; what still does not go out is a tx drop.
 */
#include <errno.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lg_engine.h"

struct lg_kernel {
	int fd;
	unsigned tx_retries;
	struct iovec iov[LG_BATCH_MAX];
	struct mmsghdr msg[LG_BATCH_MAX];
};

static void lg_sockaddr(struct sockaddr_storage *ss, socklen_t *len, int family,
			const uint8_t ip[16], uint16_t port)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		memcpy(&s4->sin_addr, ip, 4);
		*len = sizeof(*s4);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		memcpy(&s6->sin6_addr, ip, 16);
		*len = sizeof(*s6);
	}
}

static int kernel_open(struct lg_engine *e, const struct lg_opts *o)
{
	struct lg_kernel *k = calloc(1, sizeof(*k));
	struct sockaddr_storage ss;
	socklen_t len;
	int sndbuf = 4 << 20, rc;

	if (!k)
		return -ENOMEM;
	k->tx_retries = o->tx_retries;
	k->fd = socket(o->family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (k->fd < 0) {
		rc = -errno;
		snprintf(e->err, sizeof(e->err), "socket: %s", strerror(errno));
		free(k);
		return rc;
	}
	/* A larger buffer absorbs bursts; the kernel caps it at wmem_max. */
	setsockopt(k->fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	if (o->have_src || o->src_port) {
		static const uint8_t any[16];
		lg_sockaddr(&ss, &len, o->family, o->have_src ? o->src_ip : any, o->src_port);
		if (bind(k->fd, (struct sockaddr *)&ss, len) < 0) {
			rc = -errno;
			snprintf(e->err, sizeof(e->err), "bind --src/--src-port: %s",
				 strerror(errno));
			goto fail;
		}
	}
	lg_sockaddr(&ss, &len, o->family, o->dst_ip, o->port);
	if (connect(k->fd, (struct sockaddr *)&ss, len) < 0) {
		rc = -errno;
		snprintf(e->err, sizeof(e->err), "connect %s port %u: %s", o->to, o->port,
			 strerror(errno));
		goto fail;
	}
	for (unsigned i = 0; i < LG_BATCH_MAX; i++) {
		k->iov[i].iov_len = HB_PAYLOAD_LEN;
		k->msg[i].msg_hdr.msg_iov = &k->iov[i];
		k->msg[i].msg_hdr.msg_iovlen = 1;
	}
	e->priv = k;
	return 0;
fail:
	close(k->fd);
	free(k);
	return rc;
}

static unsigned kernel_send(struct lg_engine *e, const uint8_t (*payloads)[HB_PAYLOAD_LEN],
			    unsigned n)
{
	struct lg_kernel *k = e->priv;
	unsigned sent = 0, tries = 0;

	for (unsigned i = 0; i < n; i++)
		k->iov[i].iov_base = (void *)payloads[i];
	while (sent < n) {
		int r = sendmmsg(k->fd, k->msg + sent, n - sent, 0);

		if (r > 0) {
			sent += (unsigned)r;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		/* ECONNREFUSED reports an ICMP answer to an earlier datagram and
		 * clears it; this one was not sent, so it is retried as well. */
		if (r < 0 && (errno == EAGAIN || errno == ENOBUFS || errno == ECONNREFUSED) &&
		    tries++ < k->tx_retries) {
			if (errno == ECONNREFUSED && !e->first_errno)
				e->first_errno = errno;
			e->retries++;
			sched_yield();
			continue;
		}
		/* A full queue after the retries, or a hard error: the rest of
		 * the batch is dropped. */
		if (r < 0 && !e->first_errno)
			e->first_errno = errno;
		break;
	}
	return sent;
}

static void kernel_close(struct lg_engine *e)
{
	struct lg_kernel *k = e->priv;

	if (!k)
		return;
	close(k->fd);
	free(k);
	e->priv = NULL;
}

const struct lg_engine_ops lg_engine_kernel_ops = {
	.name = "kernel",
	.open = kernel_open,
	.send = kernel_send,
	.report = NULL,
	.close = kernel_close,
};
