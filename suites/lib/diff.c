// SPDX-License-Identifier: GPL-2.0
/* Differential engine: see diff.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <linux/sockios.h>

#include "diff.h"
#include "ntcp.h"

uint16_t diff_blackhole_port, diff_dead_port;

const struct diff_opt diff_opts[] = {
	{ "SO_ERROR", SOL_SOCKET, SO_ERROR, 0 },
	{ "SO_TYPE", SOL_SOCKET, SO_TYPE, 0 },
	{ "SO_ACCEPTCONN", SOL_SOCKET, SO_ACCEPTCONN, 0 },
	{ "SO_DOMAIN", SOL_SOCKET, SO_DOMAIN, 0 },
	{ "SO_PROTOCOL", SOL_SOCKET, SO_PROTOCOL, 0 },
	{ "SO_RCVBUF", SOL_SOCKET, SO_RCVBUF, 8192 },
	{ "SO_SNDBUF", SOL_SOCKET, SO_SNDBUF, 8192 },
	{ "SO_KEEPALIVE", SOL_SOCKET, SO_KEEPALIVE, 1 },
	{ "SO_LINGER", SOL_SOCKET, SO_LINGER, 1 },
	{ "SO_REUSEADDR", SOL_SOCKET, SO_REUSEADDR, 1 },
	{ "SO_RCVLOWAT", SOL_SOCKET, SO_RCVLOWAT, 4 },
	{ "SO_OOBINLINE", SOL_SOCKET, SO_OOBINLINE, 1 },
	{ "TCP_NODELAY", SOL_TCP, TCP_NODELAY, 1 },
	{ "TCP_MAXSEG", SOL_TCP, TCP_MAXSEG, 1000 },
	{ "TCP_CORK", SOL_TCP, TCP_CORK, 1 },
	{ "TCP_KEEPIDLE", SOL_TCP, TCP_KEEPIDLE, 30 },
	{ "TCP_KEEPCNT", SOL_TCP, TCP_KEEPCNT, 3 },
	{ "TCP_USER_TIMEOUT", SOL_TCP, TCP_USER_TIMEOUT, 1000 },
	{ "TCP_QUICKACK", SOL_TCP, TCP_QUICKACK, 1 },
	{ "TCP_CONGESTION", SOL_TCP, TCP_CONGESTION, 0 },
	{ "TCP_INFO", SOL_TCP, TCP_INFO, 0 },
};
const int diff_nopts = ARRAY_SIZE(diff_opts);

const struct diff_ioctl diff_ioctls[] = {
	{ "FIONREAD", FIONREAD, 0 },
	{ "SIOCOUTQ", SIOCOUTQ, 0 },
	{ "SIOCOUTQNSD", SIOCOUTQNSD, 0 },
	{ "FIONBIO", FIONBIO, 1 },
	{ "SIOCATMARK", SIOCATMARK, 0 },
};
const int diff_nioctls = ARRAY_SIZE(diff_ioctls);

int diff_opt_idx(const char *name)
{
	int i;

	for (i = 0; i < diff_nopts; i++)
		if (!strcmp(diff_opts[i].name, name))
			return i;
	fprintf(stderr, "diff: no option %s\n", name);
	abort();
}

int diff_ioctl_idx(const char *name)
{
	int i;

	for (i = 0; i < diff_nioctls; i++)
		if (!strcmp(diff_ioctls[i].name, name))
			return i;
	fprintf(stderr, "diff: no ioctl %s\n", name);
	abort();
}

int diff_family(int kind)
{
	switch (kind) {
	case DIFF_TCP:
		return AF_INET;
	case DIFF_NTCP:
		return ntcp_family;
	default:
		return AF_UNIX;
	}
}

int diff_socket(int kind, int type)
{
	return socket(diff_family(kind), type, 0);
}

socklen_t diff_addr(int kind, uint16_t port, struct sockaddr_storage *ss)
{
	struct sockaddr_in *in = (struct sockaddr_in *)ss;

	memset(ss, 0, sizeof(*ss));
	/* sockaddr_newtcp has sockaddr_in's layout. */
	in->sin_family = diff_family(kind);
	in->sin_port = htons(port);
	in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return sizeof(*in);
}

uint16_t diff_port(int fd)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);

	if (getsockname(fd, (struct sockaddr *)&a, &len))
		return 0;
	return ntohs(a.sin_port);
}

int diff_init(void)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int l, c, d;

	/* Black hole: backlog 0 takes one connection, then drops SYNs. */
	l = socket(AF_INET, SOCK_STREAM, 0);
	len = diff_addr(DIFF_TCP, 0, &ss);
	if (l < 0 || bind(l, (struct sockaddr *)&ss, len) || listen(l, 0))
		return -1;
	diff_blackhole_port = diff_port(l);
	c = socket(AF_INET, SOCK_STREAM, 0);
	len = diff_addr(DIFF_TCP, diff_blackhole_port, &ss);
	if (c < 0 || connect(c, (struct sockaddr *)&ss, len))
		return -1;
	/* Both stay open for the life of the process. */

	d = socket(AF_INET, SOCK_STREAM, 0);
	len = diff_addr(DIFF_TCP, 0, &ss);
	if (d < 0 || bind(d, (struct sockaddr *)&ss, len))
		return -1;
	diff_dead_port = diff_port(d);
	/*
	 * Kept bound, never listening: a SYN to it is refused, and no
	 * ephemeral port of a later socket can be this one (a freed port
	 * was, once in a while, and the refused connect then succeeded).
	 */
	return diff_dead_port && diff_blackhole_port ? 0 : -1;
}

void diff_env_init(struct diff_env *e, int kind, int type)
{
	memset(e, 0, sizeof(*e));
	e->kind = kind;
	e->type = type;
	e->fd[0] = e->fd[1] = e->fd[2] = -1;
}

void diff_env_close(struct diff_env *e)
{
	int i;

	for (i = 0; i < DIFF_NSOCK; i++) {
		if (e->fd[i] >= 0)
			close(e->fd[i]);
		e->fd[i] = -1;
	}
}

int diff_env_listener(struct diff_env *e)
{
	struct sockaddr_storage ss;
	socklen_t len = diff_addr(e->kind, 0, &ss);
	int l = diff_socket(e->kind, e->type);

	if (l < 0 || bind(l, (struct sockaddr *)&ss, len) || listen(l, 8)) {
		if (l >= 0)
			close(l);
		return -1;
	}
	e->fd[DIFF_L] = l;
	e->lport = diff_port(l);
	return 0;
}

int diff_env_pair(struct diff_env *e)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int sv[2];

	if (e->kind == DIFF_UNIX) {
		if (socketpair(AF_UNIX, e->type, 0, sv))
			return -1;
		e->fd[DIFF_S] = sv[0];
		e->fd[DIFF_P] = sv[1];
		return 0;
	}
	if (e->fd[DIFF_L] < 0 && diff_env_listener(e))
		return -1;
	len = diff_addr(e->kind, e->lport, &ss);
	e->fd[DIFF_S] = diff_socket(e->kind, e->type);
	if (e->fd[DIFF_S] < 0 ||
	    connect(e->fd[DIFF_S], (struct sockaddr *)&ss, len))
		return -1;
	e->fd[DIFF_P] = accept(e->fd[DIFF_L], NULL, NULL);
	return e->fd[DIFF_P] < 0 ? -1 : 0;
}

int diff_bound(int fd)
{
	struct timeval tv = { 0, DIFF_TIMEO_MS * 1000 };

	return setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	       setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

short diff_wait(int fd, short events, int ms)
{
	struct pollfd p = { .fd = fd, .events = events };

	if (poll(&p, 1, ms) <= 0)
		return 0;
	return p.revents;
}

/* ---- recording -------------------------------------------------------- */

struct rec {
	char *buf;
	size_t len;
};

static void __attribute__((format(printf, 2, 3))) put(struct rec *r,
						      const char *fmt, ...)
{
	size_t used = strlen(r->buf);
	va_list ap;

	if (used >= r->len - 1)
		return;
	va_start(ap, fmt);
	vsnprintf(r->buf + used, r->len - used, fmt, ap);
	va_end(ap);
}

static void put_ret(struct rec *r, long ret, int err)
{
	if (ret < 0)
		put(r, "-1 %s", ntcp_errname(err));
	else
		put(r, "%ld", ret);
}

static const struct {
	int bit;
	const char *name;
} msgflag_names[] = {
	{ MSG_OOB, "OOB" }, { MSG_PEEK, "PEEK" }, { MSG_DONTROUTE, "DONTROUTE" },
	{ MSG_CTRUNC, "CTRUNC" }, { MSG_TRUNC, "TRUNC" },
	{ MSG_DONTWAIT, "DONTWAIT" }, { MSG_EOR, "EOR" },
	{ MSG_WAITALL, "WAITALL" }, { MSG_ERRQUEUE, "ERRQUEUE" },
	{ MSG_NOSIGNAL, "NOSIGNAL" }, { MSG_MORE, "MORE" },
	{ MSG_CMSG_CLOEXEC, "CMSG_CLOEXEC" },
};

static void flags_str(int f, char *buf, size_t n)
{
	size_t i, used = 0;

	buf[0] = 0;
	for (i = 0; i < ARRAY_SIZE(msgflag_names); i++) {
		if (!(f & msgflag_names[i].bit))
			continue;
		f &= ~msgflag_names[i].bit;
		used += snprintf(buf + used, n - used, "%s%s", used ? "|" : "",
				 msgflag_names[i].name);
		if (used >= n)
			return;
	}
	if (f)
		snprintf(buf + used, n - used, "%s0x%x", used ? "|" : "", f);
	else if (!used)
		snprintf(buf, n, "0");
}

void diff_revents(short rev, char *buf, size_t n)
{
	static const struct {
		short bit;
		const char *name;
	} names[] = {
		{ POLLIN, "IN" }, { POLLPRI, "PRI" }, { POLLOUT, "OUT" },
		{ POLLERR, "ERR" }, { POLLHUP, "HUP" }, { POLLNVAL, "NVAL" },
		{ POLLRDNORM, "RDNORM" }, { POLLRDBAND, "RDBAND" },
		{ POLLWRNORM, "WRNORM" }, { POLLWRBAND, "WRBAND" },
		{ POLLRDHUP, "RDHUP" },
	};
	size_t i, used = 0;

	buf[0] = 0;
	for (i = 0; i < ARRAY_SIZE(names); i++)
		if ((rev & names[i].bit) && used < n)
			used += snprintf(buf + used, n - used, "%s%s",
					 used ? "|" : "", names[i].name);
	if (!used)
		snprintf(buf, n, "0");
}

/* Port number in words that do not depend on the run or the family. */
static const char *port_class(const struct diff_env *e, uint16_t port)
{
	if (!port)
		return "0";
	if (port == e->lport)
		return "L";
	if (port == diff_blackhole_port)
		return "BH";
	if (port == diff_dead_port)
		return "DEAD";
	return "eph";
}

static void put_addr(struct rec *r, const struct diff_env *e,
		     const struct sockaddr_storage *ss, socklen_t len)
{
	const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
	char ip[INET_ADDRSTRLEN];

	if (ss->ss_family == diff_family(e->kind))
		put(r, " AF");
	else
		put(r, " family=%d", ss->ss_family);
	if (e->kind == DIFF_UNIX) {
		put(r, " len=%u", (unsigned int)len);
		return;
	}
	inet_ntop(AF_INET, &in->sin_addr, ip, sizeof(ip));
	put(r, " %s:%s len=%u", ip, port_class(e, ntohs(in->sin_port)),
	    (unsigned int)len);
}

static void put_data(struct rec *r, const unsigned char *buf, long n)
{
	if (n > 0)
		put(r, " data=%ld:%08llx", n, (unsigned long long)
		    (ntcp_checksum(NTCP_CHECKSUM_INIT, buf, n) & 0xffffffffu));
}

static void fill(struct diff_env *e, int s, unsigned char *buf, size_t n)
{
	ntcp_pattern(buf, n, 0x5eed0000u + s, e->txoff[s]);
}

static void sent(struct diff_env *e, int s, long ret)
{
	if (ret > 0)
		e->txoff[s] += ret;
}

#define DIFF_BUF	65536

static void exec_getopt(struct rec *r, const struct diff_env *e, int fd,
			const struct diff_opt *o)
{
	union {
		int i;
		struct linger l;
		char s[32];
		struct tcp_info ti;
	} v;
	socklen_t len = sizeof(v);
	int rc;

	memset(&v, 0, sizeof(v));
	if (o->opt == TCP_INFO && o->level == SOL_TCP)
		len = sizeof(v.ti);
	rc = getsockopt(fd, o->level, o->opt, &v, &len);
	put_ret(r, rc, errno);
	if (rc)
		return;
	if (o->level == SOL_SOCKET && o->opt == SO_LINGER)
		put(r, " linger=%d,%d", v.l.l_onoff, v.l.l_linger);
	else if (o->level == SOL_TCP && o->opt == TCP_CONGESTION)
		put(r, " %.16s", v.s);
	else if (o->level == SOL_TCP && o->opt == TCP_INFO)
		put(r, " state=%u", v.ti.tcpi_state);
	else if (o->level == SOL_SOCKET && o->opt == SO_DOMAIN)
		put(r, " %s", v.i == diff_family(e->kind) ? "AF" : "other");
	else if (o->level == SOL_TCP && o->opt == TCP_QUICKACK)
		/* The value is TCP's delayed-ACK state of the moment. */
		put(r, " len=%u", (unsigned int)len);
	else
		put(r, " val=%d len=%u", v.i, (unsigned int)len);
}

static void exec_setopt(struct rec *r, const struct diff_env *e, int fd,
			const struct diff_opt *o)
{
	struct linger l = { 1, 0 };
	const void *p = &o->set;
	socklen_t len = sizeof(int);
	int rc;

	if (o->level == SOL_SOCKET && o->opt == SO_LINGER) {
		p = &l;
		len = sizeof(l);
	} else if (o->level == SOL_TCP && o->opt == TCP_CONGESTION) {
		p = "cubic";
		len = 5;
	}
	rc = setsockopt(fd, o->level, o->opt, p, len);
	put_ret(r, rc, errno);
	put(r, " then ");
	exec_getopt(r, e, fd, o);
}

static void exec_connect(struct rec *r, struct diff_env *e, int fd,
			 const struct diff_op *op)
{
	struct timeval tv = { 0, 0 }, tv2 = { 2, 0 };
	struct sockaddr_storage ss;
	socklen_t len, len2;
	int fl = fcntl(fd, F_GETFL), rc, long_wait;
	uint16_t port;

	switch (op->a) {
	case DIFF_TGT_LIVE:
		port = e->lport;
		break;
	case DIFF_TGT_REFUSED:
		port = diff_dead_port;
		break;
	case DIFF_TGT_BLACKHOLE:
		port = diff_blackhole_port;
		break;
	default:
		memset(&ss, 0, sizeof(ss));
		ss.ss_family = AF_UNSPEC;
		rc = connect(fd, (struct sockaddr *)&ss, sizeof(ss));
		put_ret(r, rc, errno);
		return;
	}
	len = diff_addr(e->kind, port, &ss);
	if (op->flags & O_NONBLOCK)
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	/*
	 * A blocking connect that can succeed gets 2 s: NEW_TCP's handshake
	 * takes longer than DIFF_TIMEO_MS under emulation.
	 */
	long_wait = !(op->flags & O_NONBLOCK) &&
		    op->a != DIFF_TGT_BLACKHOLE &&
		    diff_wait(fd, POLLOUT, 0);	/* not connecting already */
	if (long_wait) {
		len2 = sizeof(tv);
		getsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, &len2);
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv2, sizeof(tv2));
	}
	rc = connect(fd, (struct sockaddr *)&ss, len);
	put_ret(r, rc, errno);
	if (op->flags & O_NONBLOCK)
		fcntl(fd, F_SETFL, fl);
	if (long_wait)
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

void diff_exec(struct diff_env *e, const struct diff_op *op, char *out)
{
	static unsigned char buf[DIFF_BUF];
	struct rec r = { out, DIFF_OUT_MAX };
	int fd = e->fd[op->s], n = op->a, rc, fl, v;
	struct sockaddr_storage ss;
	struct iovec iov[2];
	struct msghdr m;
	socklen_t len;
	char f[96];
	long ret;

	out[0] = 0;
	if (n > DIFF_BUF)
		n = DIFF_BUF;
	errno = 0;
	switch (op->call) {
	case DC_SEND:
	case DC_WRITE:
		fill(e, op->s, buf, n);
		ret = op->call == DC_SEND ? send(fd, buf, n, op->flags) :
			write(fd, buf, n);
		put_ret(&r, ret, errno);
		sent(e, op->s, ret);
		break;
	case DC_SENDMSG:
		fill(e, op->s, buf, n);
		iov[0] = (struct iovec){ buf, n / 2 };
		iov[1] = (struct iovec){ buf + n / 2, n - n / 2 };
		memset(&m, 0, sizeof(m));
		m.msg_iov = iov;
		m.msg_iovlen = 2;
		ret = sendmsg(fd, &m, op->flags);
		put_ret(&r, ret, errno);
		sent(e, op->s, ret);
		break;
	case DC_RECV:
	case DC_READ:
		memset(buf, 0xaa, n);
		ret = op->call == DC_RECV ? recv(fd, buf, n, op->flags) :
			read(fd, buf, n);
		put_ret(&r, ret, errno);
		put_data(&r, buf, ret < n ? ret : n);
		break;
	case DC_RECVMSG:
		memset(buf, 0xaa, n);
		iov[0] = (struct iovec){ buf, n / 2 };
		iov[1] = (struct iovec){ buf + n / 2, n - n / 2 };
		memset(&m, 0, sizeof(m));
		m.msg_iov = iov;
		m.msg_iovlen = 2;
		m.msg_flags = 0x7fff0000;	/* must be overwritten */
		ret = recvmsg(fd, &m, op->flags);
		put_ret(&r, ret, errno);
		put_data(&r, buf, ret < n ? ret : n);
		if (ret >= 0) {
			flags_str(m.msg_flags, f, sizeof(f));
			put(&r, " msg_flags=%s", f);
		}
		break;
	case DC_SHUTDOWN:
		rc = shutdown(fd, n);
		put_ret(&r, rc, errno);
		break;
	case DC_CLOSE:
		rc = close(fd);
		put_ret(&r, rc, errno);
		e->fd[op->s] = -1;
		fd = e->fd[op->s == DIFF_S ? DIFF_P : DIFF_S];
		if (fd >= 0) {
			diff_revents(diff_wait(fd, POLLIN | POLLRDHUP, 300),
				     f, sizeof(f));
			put(&r, " peer=%s", f);
		}
		break;
	case DC_POLL:
	case DC_WAITIN:
		if (op->call == DC_POLL)
			v = diff_wait(fd, POLLIN | POLLPRI | POLLOUT | POLLRDHUP,
				      0);
		else
			v = diff_wait(fd, POLLIN | POLLRDHUP, n);
		diff_revents(v, f, sizeof(f));
		put(&r, "%s", f);
		break;
	case DC_IOCTL:
		v = diff_ioctls[n].set;
		rc = ioctl(fd, diff_ioctls[n].cmd, &v);
		put_ret(&r, rc, errno);
		if (!rc && diff_ioctls[n].cmd != FIONBIO)
			put(&r, " val=%d", v);
		if (diff_ioctls[n].cmd == FIONBIO) {
			fl = fcntl(fd, F_GETFL);
			put(&r, " nonblock=%d", !!(fl & O_NONBLOCK));
		}
		break;
	case DC_GETOPT:
		exec_getopt(&r, e, fd, &diff_opts[n]);
		break;
	case DC_SETOPT:
		exec_setopt(&r, e, fd, &diff_opts[n]);
		break;
	case DC_BIND:
		len = diff_addr(e->kind, 0, &ss);
		if (n == 1)
			len -= 2;
		if (n == 2)
			ss.ss_family = e->kind == DIFF_TCP ? AF_UNIX : AF_INET;
		rc = bind(fd, (struct sockaddr *)&ss, len);
		put_ret(&r, rc, errno);
		if (!rc)
			put(&r, " port=%s", diff_port(fd) ? "eph" : "0");
		break;
	case DC_LISTEN:
		rc = listen(fd, n);
		put_ret(&r, rc, errno);
		break;
	case DC_ACCEPT:
		len = sizeof(ss);
		memset(&ss, 0, sizeof(ss));
		rc = accept4(fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK);
		put_ret(&r, rc < 0 ? -1 : 0, errno);
		if (rc >= 0) {
			put_addr(&r, e, &ss, len);
			close(rc);
		}
		break;
	case DC_CONNECT:
		exec_connect(&r, e, fd, op);
		break;
	case DC_GETNAME:
		len = sizeof(ss);
		memset(&ss, 0, sizeof(ss));
		rc = n ? getpeername(fd, (struct sockaddr *)&ss, &len) :
			getsockname(fd, (struct sockaddr *)&ss, &len);
		put_ret(&r, rc, errno);
		if (!rc)
			put_addr(&r, e, &ss, len);
		break;
	default:
		put(&r, "nop");
		break;
	}
}

void diff_describe(const struct diff_op *op, char *buf, size_t n)
{
	static const char *const names[] = {
		[DC_SEND] = "send", [DC_RECV] = "recv",
		[DC_SENDMSG] = "sendmsg", [DC_RECVMSG] = "recvmsg",
		[DC_READ] = "read", [DC_WRITE] = "write",
		[DC_SHUTDOWN] = "shutdown", [DC_CLOSE] = "close",
		[DC_POLL] = "poll", [DC_WAITIN] = "waitin",
		[DC_IOCTL] = "ioctl", [DC_GETOPT] = "getsockopt",
		[DC_SETOPT] = "setsockopt", [DC_BIND] = "bind",
		[DC_LISTEN] = "listen", [DC_ACCEPT] = "accept",
		[DC_CONNECT] = "connect", [DC_GETNAME] = "getname",
		[DC_NOP] = "nop",
	};
	static const char *const who[] = { "S", "P", "L" };
	static const char *const tgt[] = { "live", "refused", "blackhole",
					   "AF_UNSPEC" };
	static const char *const how[] = { "RD", "WR", "RDWR", "3" };
	char f[96];

	switch (op->call) {
	case DC_SEND:
	case DC_RECV:
	case DC_SENDMSG:
	case DC_RECVMSG:
		flags_str(op->flags, f, sizeof(f));
		snprintf(buf, n, "%s(%s,%d,%s)", names[op->call], who[op->s],
			 op->a, f);
		break;
	case DC_IOCTL:
		snprintf(buf, n, "ioctl(%s,%s)", who[op->s],
			 diff_ioctls[op->a].name);
		break;
	case DC_GETOPT:
	case DC_SETOPT:
		snprintf(buf, n, "%s(%s,%s)", names[op->call], who[op->s],
			 diff_opts[op->a].name);
		break;
	case DC_SHUTDOWN:
		snprintf(buf, n, "shutdown(%s,%s)", who[op->s], how[op->a & 3]);
		break;
	case DC_CONNECT:
		snprintf(buf, n, "connect(%s,%s,%s)", who[op->s], tgt[op->a & 3],
			 op->flags & O_NONBLOCK ? "nonblock" : "blocking");
		break;
	case DC_GETNAME:
		snprintf(buf, n, "%s(%s)", op->a ? "getpeername" :
			 "getsockname", who[op->s]);
		break;
	case DC_BIND:
		snprintf(buf, n, "bind(%s,%s)", who[op->s],
			 op->a == 0 ? "lo:0" : op->a == 1 ? "short" :
			 "wrong-family");
		break;
	default:
		snprintf(buf, n, "%s(%s,%d)", names[op->call], who[op->s],
			 op->a);
		break;
	}
}
