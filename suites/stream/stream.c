// SPDX-License-Identifier: GPL-2.0
/*
 * stream: SOCK_STREAM NEW_TCP sockets on loopback.
 *
 * Each test runs in its own child (run_test) with a timeout, so a hang
 * or crash fails that test only.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <linux/sockios.h>

#include "ntcp.h"
#include "tap.h"

#define BIG	(64u << 20)

static int t_bind_getname(void)
{
	struct sockaddr_newtcp a;
	socklen_t len = sizeof(a);
	uint16_t port;
	int l = ntcp_listener(SOCK_STREAM, &port);

	CHECK(l >= 0, "listener");
	CHECK(port != 0, "port 0 autobinds");
	CHECK(!getsockname(l, (struct sockaddr *)&a, &len), "getsockname");
	CHECK(len == sizeof(a) && a.snt_family == ntcp_family &&
	      a.snt_addr.s_addr == htonl(INADDR_LOOPBACK), "address");
	len = sizeof(a);
	CHECK(getpeername(l, (struct sockaddr *)&a, &len) && errno == ENOTCONN,
	      "getpeername on listener");
	return 0;
}

static int t_bind_errors(void)
{
	struct sockaddr_newtcp a = ntcp_addr(0);
	struct sockaddr_in in = { .sin_family = AF_INET };
	uint16_t port;
	int l, fd, one = 1;

	fd = socket(ntcp_family, SOCK_STREAM, 0);
	CHECK(bind(fd, (struct sockaddr *)&a, sizeof(a) - 1) && errno == EINVAL,
	      "short address");
	CHECK(bind(fd, (struct sockaddr *)&in, sizeof(in)) &&
	      errno == EAFNOSUPPORT, "AF_INET address");
	l = ntcp_listener(SOCK_STREAM, &port);
	a = ntcp_addr(port);
	CHECK(bind(fd, (struct sockaddr *)&a, sizeof(a)) && errno == EADDRINUSE,
	      "EADDRINUSE");
	close(fd);
	/* SO_REUSEADDR on both: a second socket may bind once the first
	 * is no longer listening (TCP's rule). */
	close(l);
	fd = socket(ntcp_family, SOCK_STREAM, 0);
	CHECK(!setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), "so");
	CHECK(!bind(fd, (struct sockaddr *)&a, sizeof(a)), "rebind after close");
	CHECK(bind(fd, (struct sockaddr *)&a, sizeof(a)) && errno == EINVAL,
	      "bind twice");
	close(fd);
	return 0;
}

static int t_connect_accept(void)
{
	struct sockaddr_newtcp a, b;
	socklen_t la = sizeof(a), lb = sizeof(b);
	int c, s;
	char buf[16];

	CHECK(!ntcp_pair(SOCK_STREAM, &c, &s), "pair");
	CHECK(!getsockname(c, (struct sockaddr *)&a, &la), "gsn");
	CHECK(!getpeername(s, (struct sockaddr *)&b, &lb), "gpn");
	CHECK(a.snt_family == ntcp_family && b.snt_family == ntcp_family &&
	      a.snt_port == b.snt_port && a.snt_addr.s_addr == b.snt_addr.s_addr,
	      "client name == server's peer name");
	CHECK(write(c, "hello", 5) == 5, "write");
	CHECK(read_full(s, buf, 5) == 5 && !memcmp(buf, "hello", 5), "read");
	CHECK(write(s, "world!", 6) == 6, "write back");
	CHECK(read_full(c, buf, 6) == 6 && !memcmp(buf, "world!", 6), "read back");
	a = ntcp_addr(1);
	CHECK(connect(c, (struct sockaddr *)&a, sizeof(a)) && errno == EISCONN,
	      "EISCONN");
	return 0;
}

static int t_accept_blocking(void)
{
	uint16_t port;
	int l = ntcp_listener(SOCK_STREAM, &port), s;
	pid_t pid;

	CHECK(l >= 0, "listener");
	pid = fork();
	if (!pid) {
		int c;

		usleep(200000);
		c = ntcp_connect(SOCK_STREAM, port);
		_exit(c < 0 || write(c, "x", 1) != 1);
	}
	s = accept(l, NULL, NULL);
	CHECK(s >= 0, "blocking accept");
	waitpid(pid, NULL, 0);
	return 0;
}

static int t_accept_nonblock(void)
{
	uint16_t port;
	int l = ntcp_listener(SOCK_STREAM, &port), c, s, fl;
	struct pollfd p;

	fcntl(l, F_SETFL, O_NONBLOCK);
	CHECK(accept(l, NULL, NULL) < 0 && errno == EAGAIN, "EAGAIN");
	c = ntcp_connect(SOCK_STREAM, port);
	CHECK(c >= 0, "connect");
	p = (struct pollfd){ .fd = l, .events = POLLIN };
	CHECK(poll(&p, 1, 5000) == 1 && (p.revents & POLLIN), "listener POLLIN");
	s = accept4(l, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	CHECK(s >= 0, "accept4");
	fl = fcntl(s, F_GETFL);
	CHECK(fl & O_NONBLOCK, "SOCK_NONBLOCK");
	CHECK(fcntl(s, F_GETFD) & FD_CLOEXEC, "SOCK_CLOEXEC");
	CHECK(read(s, &fl, 1) < 0 && errno == EAGAIN, "nonblocking read");
	return 0;
}

static int t_connect_nonblock(void)
{
	uint16_t port;
	int l = ntcp_listener(SOCK_STREAM, &port), c, err = -1, r;
	struct sockaddr_newtcp a = ntcp_addr(port);
	socklen_t len = sizeof(err);
	struct pollfd p;

	c = socket(ntcp_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
	CHECK(connect(c, (struct sockaddr *)&a, sizeof(a)) && errno == EINPROGRESS,
	      "EINPROGRESS");
	r = connect(c, (struct sockaddr *)&a, sizeof(a));
	CHECK(r == 0 || errno == EALREADY || errno == EISCONN,
	      "second connect");
	p = (struct pollfd){ .fd = c, .events = POLLOUT };
	CHECK(poll(&p, 1, 5000) == 1 && (p.revents & POLLOUT), "POLLOUT");
	CHECK(!getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &len) && err == 0,
	      "SO_ERROR 0, got %d", err);
	r = connect(c, (struct sockaddr *)&a, sizeof(a));
	if (r)
		CHECK(errno == EISCONN, "EISCONN");
	CHECK(connect(c, (struct sockaddr *)&a, sizeof(a)) && errno == EISCONN,
	      "EISCONN at last");
	CHECK(accept(l, NULL, NULL) >= 0, "accepted");
	return 0;
}

static int t_refused(void)
{
	uint16_t port;
	int l = ntcp_listener(SOCK_STREAM, &port), c, err = -1;
	struct sockaddr_newtcp a = ntcp_addr(port);
	socklen_t len = sizeof(err);
	struct pollfd p;

	close(l);	/* nothing listens there any more */
	CHECK(ntcp_connect(SOCK_STREAM, port) < 0 && errno == ECONNREFUSED,
	      "blocking ECONNREFUSED");
	c = socket(ntcp_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
	CHECK(connect(c, (struct sockaddr *)&a, sizeof(a)) && errno == EINPROGRESS,
	      "EINPROGRESS");
	p = (struct pollfd){ .fd = c, .events = POLLOUT };
	CHECK(poll(&p, 1, 5000) == 1 && (p.revents & (POLLERR | POLLHUP)),
	      "POLLERR, revents %x", p.revents);
	CHECK(!getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &len) &&
	      err == ECONNREFUSED, "SO_ERROR %d", err);
	return 0;
}

/* A plain TCP client talking to a NEW_TCP listener is refused. */
static int t_plain_client(void)
{
	struct sockaddr_in in = { .sin_family = AF_INET };
	uint16_t port;
	int l = ntcp_listener(SOCK_STREAM, &port), t, t2, c, s;
	char buf[64];
	long long t0;
	ssize_t r;

	CHECK(l >= 0, "listener");
	in.sin_port = htons(port);
	in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	/* Garbage right away: dropped at once. */
	t = socket(AF_INET, SOCK_STREAM, 0);
	CHECK(!connect(t, (struct sockaddr *)&in, sizeof(in)), "tcp connect");
	CHECK(write(t, "GET / HTTP/1.0\r\n\r\n", 18) == 18, "garbage");
	r = read(t, buf, sizeof(buf));
	CHECK(r == 0 || (r < 0 && errno == ECONNRESET),
	      "plain client dropped, read %zd", r);
	/* Silent: dropped after the handshake timeout ... */
	t2 = socket(AF_INET, SOCK_STREAM, 0);
	CHECK(!connect(t2, (struct sockaddr *)&in, sizeof(in)), "tcp connect");
	t0 = now_ms();
	/* ... while the listener keeps serving NEW_TCP clients. */
	c = ntcp_connect(SOCK_STREAM, port);
	CHECK(c >= 0, "NEW_TCP client after plain ones");
	s = accept(l, NULL, NULL);
	CHECK(s >= 0, "accept");
	CHECK(write(c, "ok", 2) == 2 && read_full(s, buf, 2) == 2, "data");
	r = read(t2, buf, sizeof(buf));
	CHECK(r == 0 || (r < 0 && errno == ECONNRESET),
	      "silent client dropped, read %zd", r);
	printf("# silent plain client dropped after %lld ms\n", now_ms() - t0);
	CHECK(now_ms() - t0 < 10000, "bounded");
	fcntl(l, F_SETFL, O_NONBLOCK);
	CHECK(accept(l, NULL, NULL) < 0 && errno == EAGAIN,
	      "no plain connection was ever accepted");
	return 0;
}

/* A NEW_TCP client talking to a plain TCP server is refused. */
static int plain_server(int mode, int expect)
{
	struct sockaddr_newtcp a;
	uint16_t port;
	int l = tcp_listener(&port), c;
	char buf[8];
	pid_t pid;

	CHECK(l >= 0, "tcp listener");
	pid = fork();
	if (!pid) {
		int s = accept(l, NULL, NULL);

		if (mode == 0) {		/* read the hello, hang up */
			read_full(s, buf, 8);
		} else if (mode == 1) {		/* echo */
			if (read_full(s, buf, 8) == 8)
				write_full(s, buf, 8);
			sleep(1);
		} else if (mode == 2) {		/* banner */
			write_full(s, "SSH-2.0-x\r\n", 11);
			sleep(1);
		} else {			/* silent */
			sleep(5);
		}
		_exit(0);
	}
	a = ntcp_addr(port);
	c = socket(ntcp_family, SOCK_STREAM, 0);
	CHECK(connect(c, (struct sockaddr *)&a, sizeof(a)) && errno == expect,
	      "connect fails with %s", ntcp_errname(expect));
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return 0;
}

static int t_plain_server_close(void) { return plain_server(0, ECONNREFUSED); }
static int t_plain_server_echo(void) { return plain_server(1, ECONNREFUSED); }
static int t_plain_server_banner(void) { return plain_server(2, ECONNREFUSED); }
static int t_plain_server_silent(void) { return plain_server(3, ETIMEDOUT); }

static uint32_t xs(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

struct xfer {
	int fd;
	uint32_t seed;
	uint64_t sum;
	int rc;
};

static void *sender(void *arg)
{
	struct xfer *x = arg;
	static __thread uint32_t buf[16384];
	uint32_t s = x->seed;
	uint64_t sum = 0;
	size_t done = 0, i;

	while (done < BIG) {
		for (i = 0; i < 16384; i++) {
			buf[i] = xs(&s);
			sum = sum * 31 + buf[i];
		}
		if (write_full(x->fd, buf, sizeof(buf)) != sizeof(buf)) {
			x->rc = -1;
			return NULL;
		}
		done += sizeof(buf);
	}
	x->sum = sum;
	return NULL;
}

static void *receiver(void *arg)
{
	struct xfer *x = arg;
	static __thread uint32_t buf[16384];
	uint64_t sum = 0;
	size_t done = 0, i;

	while (done < BIG) {
		if (read_full(x->fd, buf, sizeof(buf)) != sizeof(buf)) {
			x->rc = -1;
			return NULL;
		}
		for (i = 0; i < 16384; i++)
			sum = sum * 31 + buf[i];
		done += sizeof(buf);
	}
	x->sum = sum;
	return NULL;
}

static int t_big_transfer(void)
{
	struct xfer cs = { .seed = 1 }, sr = { 0 }, ss = { .seed = 7 }, cr = { 0 };
	pthread_t th[4];
	struct newtcp_info ci, si;
	socklen_t len = sizeof(ci);
	long long t0;
	int c, s, i;

	CHECK(!ntcp_pair(SOCK_STREAM, &c, &s), "pair");
	cs.fd = cr.fd = c;
	ss.fd = sr.fd = s;
	t0 = now_ms();
	pthread_create(&th[0], NULL, sender, &cs);
	pthread_create(&th[1], NULL, receiver, &sr);
	pthread_create(&th[2], NULL, sender, &ss);
	pthread_create(&th[3], NULL, receiver, &cr);
	for (i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	printf("# 64 MiB each way in %lld ms\n", now_ms() - t0);
	CHECK(!cs.rc && !sr.rc && !ss.rc && !cr.rc, "transfer ran");
	CHECK(cs.sum == sr.sum, "client->server checksum");
	CHECK(ss.sum == cr.sum, "server->client checksum");
	CHECK(!getsockopt(c, SOL_NEWTCP, NEWTCP_INFO, &ci, &len) &&
	      len == sizeof(ci), "INFO client");
	len = sizeof(si);
	CHECK(!getsockopt(s, SOL_NEWTCP, NEWTCP_INFO, &si, &len), "INFO server");
	CHECK(ci.nti_version == NEWTCP_INFO_VERSION && ci.nti_type == SOCK_STREAM &&
	      ci.nti_state == 1 /* TCP_ESTABLISHED */, "INFO header");
	CHECK(ci.nti_bytes_sent == BIG && ci.nti_bytes_received == BIG &&
	      si.nti_bytes_sent == BIG && si.nti_bytes_received == BIG,
	      "INFO counts %llu %llu %llu %llu",
	      (unsigned long long)ci.nti_bytes_sent,
	      (unsigned long long)ci.nti_bytes_received,
	      (unsigned long long)si.nti_bytes_sent,
	      (unsigned long long)si.nti_bytes_received);
	printf("# rtt %u us\n", ci.nti_rtt_us);
	return 0;
}

static int t_peek_ioctl(void)
{
	int c, s, n = -1;
	char buf[16];

	CHECK(!ntcp_pair(SOCK_STREAM, &c, &s), "pair");
	CHECK(write(c, "abcdef", 6) == 6, "write");
	usleep(100000);
	CHECK(!ioctl(s, FIONREAD, &n) && n == 6, "FIONREAD %d", n);
	CHECK(recv(s, buf, 3, MSG_PEEK) == 3 && !memcmp(buf, "abc", 3), "peek");
	CHECK(recv(s, buf, 6, MSG_WAITALL) == 6 && !memcmp(buf, "abcdef", 6),
	      "read after peek");
	CHECK(!ioctl(s, SIOCINQ, &n) && n == 0, "SIOCINQ 0");
	CHECK(!ioctl(c, SIOCOUTQ, &n) && n >= 0, "SIOCOUTQ");
	CHECK(!ioctl(c, SIOCOUTQNSD, &n) && n >= 0, "SIOCOUTQNSD");
	CHECK(recv(s, buf, 1, MSG_DONTWAIT) < 0 && errno == EAGAIN,
	      "MSG_DONTWAIT");
	return 0;
}

static int t_waitall(void)
{
	int c, s;
	char buf[8];
	pid_t pid;

	CHECK(!ntcp_pair(SOCK_STREAM, &c, &s), "pair");
	pid = fork();
	if (!pid) {
		for (int i = 0; i < 4; i++) {
			usleep(50000);
			if (write(c, "ab", 2) != 2)
				_exit(1);
		}
		_exit(0);
	}
	CHECK(recv(s, buf, 8, MSG_WAITALL) == 8 && !memcmp(buf, "abababab", 8),
	      "MSG_WAITALL");
	waitpid(pid, NULL, 0);
	return 0;
}

static int t_rcvtimeo(void)
{
	struct timeval tv = { .tv_sec = 0, .tv_usec = 300000 };
	int c, s;
	long long t0;
	char b;

	CHECK(!ntcp_pair(SOCK_STREAM, &c, &s), "pair");
	CHECK(!setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), "set");
	t0 = now_ms();
	CHECK(read(s, &b, 1) < 0 && errno == EAGAIN, "EAGAIN");
	CHECK(now_ms() - t0 >= 150 && now_ms() - t0 < 3000, "after %lld ms",
	      now_ms() - t0);
	return 0;
}

static int t_shutdown(void)
{
	int c, s;
	char buf[4];

	CHECK(!ntcp_pair(SOCK_STREAM, &c, &s), "pair");
	CHECK(write(c, "xy", 2) == 2, "write");
	CHECK(!shutdown(c, SHUT_WR), "SHUT_WR");
	CHECK(read_full(s, buf, 2) == 2, "data before EOF");
	CHECK(read(s, buf, 4) == 0, "EOF");
	CHECK(write(c, "z", 1) < 0 && errno == EPIPE, "EPIPE after SHUT_WR");
	CHECK(write(s, "back", 4) == 4, "other direction still open");
	CHECK(read_full(c, buf, 4) == 4, "read after own SHUT_WR");
	CHECK(shutdown(c, 7) && errno == EINVAL, "bad how");
	CHECK(!shutdown(s, SHUT_RDWR), "SHUT_RDWR");
	CHECK(read(c, buf, 4) == 0, "EOF at client");
	c = socket(ntcp_family, SOCK_STREAM, 0);
	CHECK(shutdown(c, SHUT_RDWR) && errno == ENOTCONN, "ENOTCONN");
	return 0;
}

static volatile sig_atomic_t got_pipe;
static void on_pipe(int sig) { (void)sig; got_pipe = 1; }

static int t_epipe(void)
{
	int c, s, i;
	ssize_t r = 0;

	CHECK(!ntcp_pair(SOCK_STREAM, &c, &s), "pair");
	close(s);
	signal(SIGPIPE, on_pipe);
	usleep(100000);
	for (i = 0; i < 20; i++) {
		r = write(c, "x", 1);
		if (r < 0)
			break;
		usleep(20000);
	}
	CHECK(r < 0 && (errno == EPIPE || errno == ECONNRESET), "write fails");
	for (i = 0; i < 5 && errno != EPIPE; i++)
		r = write(c, "x", 1);
	CHECK(r < 0 && errno == EPIPE, "EPIPE");
	CHECK(got_pipe, "SIGPIPE delivered");
	got_pipe = 0;
	CHECK(send(c, "x", 1, MSG_NOSIGNAL) < 0 && errno == EPIPE, "EPIPE");
	CHECK(!got_pipe, "no SIGPIPE with MSG_NOSIGNAL");
	c = socket(ntcp_family, SOCK_STREAM, 0);
	CHECK(send(c, "x", 1, MSG_NOSIGNAL) < 0 && errno == EPIPE,
	      "send on unconnected socket");
	return 0;
}

static int t_poll_events(void)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP | EPOLLET }, out;
	struct pollfd p;
	int c, s, ep;
	char buf[8];

	CHECK(!ntcp_pair(SOCK_STREAM, &c, &s), "pair");
	p = (struct pollfd){ .fd = s, .events = POLLIN | POLLOUT };
	CHECK(poll(&p, 1, 0) == 1 && p.revents == POLLOUT, "idle: POLLOUT only, %x",
	      p.revents);
	ep = epoll_create1(0);
	ev.data.fd = s;
	CHECK(!epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev), "epoll_ctl");
	CHECK(epoll_wait(ep, &out, 1, 0) == 0, "nothing yet");
	CHECK(write(c, "1", 1) == 1, "write");
	CHECK(epoll_wait(ep, &out, 1, 3000) == 1 && (out.events & EPOLLIN),
	      "EPOLLIN (ET)");
	CHECK(epoll_wait(ep, &out, 1, 100) == 0, "ET: not again");
	CHECK(write(c, "2", 1) == 1, "write");
	CHECK(epoll_wait(ep, &out, 1, 3000) == 1 && (out.events & EPOLLIN),
	      "EPOLLIN again on new data");
	CHECK(read(s, buf, 8) == 2, "drain");
	CHECK(!shutdown(c, SHUT_WR), "shutdown");
	CHECK(epoll_wait(ep, &out, 1, 3000) == 1 && (out.events & EPOLLRDHUP),
	      "EPOLLRDHUP, %x", out.events);
	/* A reset shows as EPOLLERR|EPOLLHUP. */
	{
		struct linger lg = { 1, 0 };

		setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(c);
	}
	p = (struct pollfd){ .fd = s, .events = POLLIN };
	CHECK(poll(&p, 1, 3000) == 1 && (p.revents & POLLHUP), "POLLHUP, %x",
	      p.revents);
	return 0;
}

static int t_poll_wakes(void)
{
	int c, s;
	struct pollfd p;
	pid_t pid;
	long long t0;

	CHECK(!ntcp_pair(SOCK_STREAM, &c, &s), "pair");
	pid = fork();
	if (!pid) {
		usleep(300000);
		_exit(write(c, "w", 1) != 1);
	}
	p = (struct pollfd){ .fd = s, .events = POLLIN };
	t0 = now_ms();
	CHECK(poll(&p, 1, 5000) == 1 && (p.revents & POLLIN), "woken");
	CHECK(now_ms() - t0 < 3000, "promptly (%lld ms)", now_ms() - t0);
	waitpid(pid, NULL, 0);
	return 0;
}

/* Fill the send buffer, then poll for POLLOUT while the peer drains. */
static int t_poll_writable(void)
{
	int c, s, n = 0, sz = 16384;
	static char buf[65536];
	struct pollfd p;
	pid_t pid;

	CHECK(!ntcp_pair(SOCK_STREAM, &c, &s), "pair");
	setsockopt(c, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	setsockopt(s, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	while (send(c, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		n++;
	CHECK(errno == EAGAIN, "send buffer full after %d", n);
	p = (struct pollfd){ .fd = c, .events = POLLOUT };
	CHECK(poll(&p, 1, 0) == 0, "not writable");
	pid = fork();
	if (!pid) {
		usleep(200000);
		while (recv(s, buf, sizeof(buf), MSG_DONTWAIT) > 0)
			;
		_exit(0);
	}
	CHECK(poll(&p, 1, 5000) == 1 && (p.revents & POLLOUT), "POLLOUT woken");
	waitpid(pid, NULL, 0);
	return 0;
}

static int t_close_unread(void)
{
	int c, s;
	char buf[4];

	CHECK(!ntcp_pair(SOCK_STREAM, &c, &s), "pair");
	CHECK(write(c, "unread", 6) == 6, "write");
	usleep(100000);
	close(s);
	CHECK(read(c, buf, 4) < 0 && errno == ECONNRESET, "ECONNRESET");
	return 0;
}

static int t_linger(void)
{
	struct linger lg = { 1, 0 }, got;
	socklen_t len = sizeof(got);
	int c, s;
	char buf[4];

	CHECK(!ntcp_pair(SOCK_STREAM, &c, &s), "pair");
	CHECK(!setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), "set");
	CHECK(!getsockopt(s, SOL_SOCKET, SO_LINGER, &got, &len) && got.l_onoff,
	      "get");
	close(s);
	CHECK(read(c, buf, 4) < 0 && errno == ECONNRESET, "linger 0 resets");
	return 0;
}

static int t_sockopts(void)
{
	int c, s, v = 1, big = 1 << 20;
	socklen_t len = sizeof(v);
	struct newtcp_info info;

	CHECK(!ntcp_pair(SOCK_STREAM, &c, &s), "pair");
	CHECK(!setsockopt(c, SOL_NEWTCP, NEWTCP_NODELAY, &v, sizeof(v)), "set");
	v = -1;
	CHECK(!getsockopt(c, SOL_NEWTCP, NEWTCP_NODELAY, &v, &len) && v == 1,
	      "get NODELAY %d", v);
	len = sizeof(v);
	CHECK(!getsockopt(c, IPPROTO_TCP, TCP_NODELAY, &v, &len) && v,
	      "inner TCP_NODELAY on");
	CHECK(setsockopt(c, SOL_NEWTCP, NEWTCP_NODELAY, &v, 2) && errno == EINVAL,
	      "short optlen");
	CHECK(setsockopt(c, SOL_NEWTCP, 99, &v, sizeof(v)) && errno == ENOPROTOOPT,
	      "unknown option");
	len = sizeof(v);
	CHECK(getsockopt(c, SOL_NEWTCP, 99, &v, &len) && errno == ENOPROTOOPT,
	      "unknown get");
	CHECK(setsockopt(c, SOL_NEWTCP, NEWTCP_MAXMSG, &v, sizeof(v)) &&
	      errno == ENOPROTOOPT, "MAXMSG is SEQPACKET only");
	len = 2;
	CHECK(getsockopt(c, SOL_NEWTCP, NEWTCP_INFO, &info, &len) && errno == EINVAL,
	      "INFO short");
	len = 8;
	CHECK(!getsockopt(c, SOL_NEWTCP, NEWTCP_INFO, &info, &len) && len == 8,
	      "INFO truncated to optlen");
	/* SOL_SOCKET mirrored onto the inner socket: the keepalive timer and
	 * a large SO_RCVBUF must take effect (visible through SOL_TCP). */
	CHECK(!setsockopt(c, SOL_SOCKET, SO_KEEPALIVE, &v, sizeof(v)), "ka");
	CHECK(!setsockopt(c, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big)), "rcvbuf");
	CHECK(write(c, "k", 1) == 1, "a call syncs options");
	v = 0;
	len = sizeof(v);
	CHECK(!getsockopt(c, SOL_SOCKET, SO_KEEPALIVE, &v, &len) && v, "ka get");
	return 0;
}

static int t_proc(void)
{
	uint16_t port;
	int l = ntcp_listener(SOCK_STREAM, &port), c, s, n;

	CHECK(l >= 0, "listener");
	CHECK(proc_newtcp_has_port(port) == 1, "listener listed");
	c = ntcp_connect(SOCK_STREAM, port);
	s = accept(l, NULL, NULL);
	CHECK(c >= 0 && s >= 0, "pair");
	n = proc_newtcp_has_port(port);
	CHECK(n == 3, "listener + both ends listed, %d", n);
	close(c);
	close(s);
	close(l);
	CHECK(proc_newtcp_has_port(port) == 0, "gone after close");
	return 0;
}

static int t_netns(void)
{
	uint16_t port;
	int l, c, s, fd;
	struct ifreq ifr;

	l = ntcp_listener(SOCK_STREAM, &port);
	CHECK(l >= 0, "listener in init netns");
	CHECK(!unshare(CLONE_NEWNET), "unshare");
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "lo");
	CHECK(!ioctl(fd, SIOCGIFFLAGS, &ifr), "lo");
	ifr.ifr_flags |= IFF_UP;
	CHECK(!ioctl(fd, SIOCSIFFLAGS, &ifr), "lo up");
	CHECK(proc_newtcp_has_port(port) == 0, "init netns socket not listed");
	CHECK(ntcp_connect(SOCK_STREAM, port) < 0 && errno == ECONNREFUSED,
	      "init netns listener unreachable");
	CHECK(!ntcp_pair(SOCK_STREAM, &c, &s), "pair inside the new netns");
	CHECK(write(c, "n", 1) == 1 && read_full(s, &port, 1) == 1, "data");
	{
		struct sockaddr_newtcp a;
		socklen_t len = sizeof(a);

		getsockname(s, (struct sockaddr *)&a, &len);
		CHECK(proc_newtcp_has_port(ntohs(a.snt_port)) == 2,
		      "new netns lists its own");
	}
	return 0;
}

/* ---- many connections at once ---------------------------------------- */

#define NCONN	256

/* One end of one of the NCONN connections: what it sends and expects. */
struct conn_end {
	int fd;
	uint64_t tx_seed, rx_seed;
	size_t tx_len, tx_off, rx_len, rx_off;
	int eof;
	uint32_t events;	/* what epoll waits for on it now */
};

static int raise_nofile(rlim_t want)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return -1;
	if (rl.rlim_cur >= want)
		return 0;
	rl.rlim_cur = want;
	if (rl.rlim_max < want)
		rl.rlim_max = want;
	return setrlimit(RLIMIT_NOFILE, &rl);
}

static uint64_t end_seed(int k) { return 0x5eed000000ULL + k; }
static size_t end_len(int k) { return 2048 + (size_t)k * 29; }

/* Send or receive once on end @k; 0, or 1 after printing why not. */
static int conn_end_step(struct conn_end *e, int k, uint32_t ev, char *buf)
{
	size_t n;
	ssize_t r;

	if ((ev & EPOLLOUT) && e->tx_off < e->tx_len) {
		n = 1 + (e->tx_off * 7 + k) % 3001;
		if (n > e->tx_len - e->tx_off)
			n = e->tx_len - e->tx_off;
		ntcp_pattern(buf, n, e->tx_seed, e->tx_off);
		r = send(e->fd, buf, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		CHECK(r > 0 || (r < 0 && errno == EAGAIN), "end %d send", k);
		if (r > 0)
			e->tx_off += r;
		if (e->tx_off == e->tx_len)
			CHECK(!shutdown(e->fd, SHUT_WR), "end %d SHUT_WR", k);
	}
	if ((ev & (EPOLLIN | EPOLLHUP | EPOLLERR)) && !e->eof) {
		n = 1 + (e->rx_off * 13 + k) % 2999;
		r = recv(e->fd, buf, n, MSG_DONTWAIT);
		CHECK(r >= 0 || errno == EAGAIN, "end %d recv at %zu", k,
		      e->rx_off);
		if (r == 0) {
			CHECK(e->rx_off == e->rx_len, "end %d: EOF at %zu of %zu",
			      k, e->rx_off, e->rx_len);
			e->eof = 1;
		} else if (r > 0) {
			CHECK(e->rx_off + r <= e->rx_len,
			      "end %d: %zu bytes, %zu expected", k,
			      e->rx_off + r, e->rx_len);
			n = ntcp_pattern_check(buf, r, e->rx_seed, e->rx_off);
			CHECK(n == (size_t)r, "end %d: wrong byte at %zu", k,
			      e->rx_off + n);
			e->rx_off += r;
		}
	}
	return 0;
}

/*
 * NCONN connections made at once (non-blocking connects, one listener),
 * then every end sends its own pattern to its peer and reads the peer's
 * to EOF, all through one epoll set; none is closed before all are done.
 */
static int t_many_conns(void)
{
	static struct conn_end e[2 * NCONN];
	static int by_port[65536], acc[NCONN];
	static char buf[4096];
	struct epoll_event ev, out[64];
	struct sockaddr_newtcp a;
	socklen_t len;
	uint16_t port;
	int l, ep, i, k, n, err, live = 2 * NCONN;
	long long t0 = now_ms(), t1;
	long socks;

	CHECK(!raise_nofile(2 * NCONN + 64), "RLIMIT_NOFILE");
	l = ntcp_listener(SOCK_STREAM, &port);
	CHECK(l >= 0 && !listen(l, 2 * NCONN), "listener, backlog %d",
	      2 * NCONN);
	a = ntcp_addr(port);
	for (i = 0; i < NCONN; i++) {
		k = socket(ntcp_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
		CHECK(k >= 0, "socket %d", i);
		CHECK(!connect(k, (struct sockaddr *)&a, sizeof(a)) ||
		      errno == EINPROGRESS, "connect %d", i);
		e[2 * i].fd = k;
	}
	/* Accept them all, in whatever order the handshakes finish. */
	fcntl(l, F_SETFL, O_NONBLOCK);
	for (i = 0; i < NCONN; ) {
		struct pollfd p = { .fd = l, .events = POLLIN };

		k = accept4(l, NULL, NULL, SOCK_NONBLOCK);
		if (k >= 0) {
			acc[i++] = k;
			continue;
		}
		CHECK(errno == EAGAIN, "accept %d", i);
		CHECK(poll(&p, 1, 10000) == 1, "only %d of %d accepted", i,
		      NCONN);
	}
	/* Pair each accepted end with its client by the client's port. */
	memset(by_port, 0xff, sizeof(by_port));
	for (i = 0; i < NCONN; i++) {
		struct pollfd p = { .fd = e[2 * i].fd, .events = POLLOUT };

		CHECK(poll(&p, 1, 10000) == 1 && (p.revents & POLLOUT),
		      "client %d connected, revents %x", i, p.revents);
		len = sizeof(err);
		CHECK(!getsockopt(p.fd, SOL_SOCKET, SO_ERROR, &err, &len) &&
		      !err, "client %d SO_ERROR %d", i, err);
		len = sizeof(a);
		CHECK(!getsockname(p.fd, (struct sockaddr *)&a, &len), "gsn");
		by_port[ntohs(a.snt_port)] = i;
	}
	for (i = 0; i < NCONN; i++) {
		len = sizeof(a);
		CHECK(!getpeername(acc[i], (struct sockaddr *)&a, &len), "gpn");
		k = by_port[ntohs(a.snt_port)];
		CHECK(k >= 0, "accepted end %d: no client on port %u", i,
		      ntohs(a.snt_port));
		by_port[ntohs(a.snt_port)] = -1;	/* taken */
		e[2 * k + 1].fd = acc[i];
	}
	t1 = now_ms();
	socks = proc_protocols_sockets("NEW_TCP");
	printf("# %d connections up in %lld ms, %ld NEW_TCP sockets\n", NCONN,
	       t1 - t0, socks);
	CHECK(socks >= 2 * NCONN, "/proc/net/protocols counts %ld sockets",
	      socks);

	ep = epoll_create1(0);
	CHECK(ep >= 0, "epoll");
	for (k = 0; k < 2 * NCONN; k++) {
		e[k].tx_seed = end_seed(k);
		e[k].tx_len = end_len(k);
		e[k].rx_seed = end_seed(k ^ 1);
		e[k].rx_len = end_len(k ^ 1);
		e[k].events = EPOLLIN | EPOLLOUT;
		ev = (struct epoll_event){ .events = e[k].events, .data.u32 = k };
		CHECK(!epoll_ctl(ep, EPOLL_CTL_ADD, e[k].fd, &ev), "add %d", k);
	}
	while (live) {
		n = epoll_wait(ep, out, ARRAY_SIZE(out), 10000);
		CHECK(n > 0, "no progress, %d ends not done", live);
		for (i = 0; i < n; i++) {
			struct conn_end *c = &e[out[i].data.u32];
			uint32_t want;

			if (conn_end_step(c, out[i].data.u32, out[i].events, buf))
				return 1;
			want = (c->tx_off < c->tx_len ? EPOLLOUT : 0) |
			       (c->eof ? 0 : EPOLLIN);
			if (want == c->events)
				continue;
			c->events = want;
			ev = (struct epoll_event){ .events = want,
						   .data.u32 = out[i].data.u32 };
			CHECK(!epoll_ctl(ep, want ? EPOLL_CTL_MOD : EPOLL_CTL_DEL,
					 c->fd, &ev), "epoll_ctl");
			if (!want)
				live--;
		}
	}
	printf("# patterns both ways on all %d in %lld ms\n", NCONN,
	       now_ms() - t1);
	for (k = 0; k < 2 * NCONN; k++)
		close(e[k].fd);
	return 0;
}

/* ---- transfer sizes ---------------------------------------------------- */

struct sized {
	int fd;
	size_t n;
	uint64_t seed;
	int rc;
};

/* Sends z->n pattern bytes in odd-sized writes, then SHUT_WR. */
static void *sized_sender(void *arg)
{
	static const size_t chunk[] = { 1, 4093, 65537, 3, 262147, 1021 };
	struct sized *z = arg;
	char *buf = malloc(262147);
	size_t off = 0, n;
	int i = 0;

	z->rc = -1;
	if (!buf)
		return NULL;
	while (off < z->n) {
		n = chunk[i++ % ARRAY_SIZE(chunk)];
		if (n > z->n - off)
			n = z->n - off;
		ntcp_pattern(buf, n, z->seed, off);
		if (write_full(z->fd, buf, n) != (ssize_t)n)
			goto out;
		off += n;
	}
	z->rc = shutdown(z->fd, SHUT_WR);
out:
	free(buf);
	return NULL;
}

/* @n bytes over a fresh pair, every byte checked, then EOF. */
static int sized_xfer(size_t n, uint64_t seed, char *buf)
{
	static const size_t chunk[] = { 4099, 1, 131071, 17, 65521, 7, 200003 };
	struct sized z = { .n = n, .seed = seed };
	struct newtcp_info ci, si;
	size_t off = 0, want, bad;
	pthread_t th;
	long long t0 = now_ms();
	int c, s, i = 0;
	ssize_t r;

	CHECK(!ntcp_pair(SOCK_STREAM, &c, &s), "pair");
	z.fd = c;
	CHECK(!pthread_create(&th, NULL, sized_sender, &z), "thread");
	for (;;) {
		want = chunk[i++ % ARRAY_SIZE(chunk)];
		r = read(s, buf, want);
		CHECK(r >= 0, "%zu bytes: read at %zu", n, off);
		if (!r)
			break;
		CHECK(off + r <= n, "%zu bytes: %zu arrived", n, off + r);
		bad = ntcp_pattern_check(buf, r, seed, off);
		CHECK(bad == (size_t)r, "%zu bytes: wrong byte at offset %zu",
		      n, off + bad);
		off += r;
	}
	pthread_join(th, NULL);
	CHECK(!z.rc, "%zu bytes: sender failed", n);
	CHECK(off == n, "%zu bytes: EOF after %zu", n, off);
	CHECK(!ntcp_info(c, &ci) && !ntcp_info(s, &si), "INFO");
	CHECK(ci.nti_bytes_sent == n && si.nti_bytes_received == n,
	      "%zu bytes: INFO sent %llu received %llu", n,
	      (unsigned long long)ci.nti_bytes_sent,
	      (unsigned long long)si.nti_bytes_received);
	printf("# %zu bytes in %lld ms\n", n, now_ms() - t0);
	close(c);
	close(s);
	return 0;
}

/*
 * Urgent data as TCP delivers it, TCP run alongside as the oracle: with
 * SO_OOBINLINE the urgent byte stays in the stream, without it
 * MSG_OOB reads it and the stream goes on without it.
 */
static int urgent_reads(int c, int s, int inline_, char *got, size_t n)
{
	struct pollfd p = { s, POLLIN, 0 };
	char oob = 0;
	size_t have = 0;
	ssize_t r;

	setsockopt(s, SOL_SOCKET, SO_OOBINLINE, &inline_, sizeof(inline_));
	if (send(c, "ab", 2, 0) != 2 || send(c, "c", 1, MSG_OOB) != 1 ||
	    send(c, "de", 2, 0) != 2)
		return -1;
	shutdown(c, SHUT_WR);
	/* Until EOF: every byte the stream hands out, in order. */
	while (have < n - 1 && poll(&p, 1, 5000) == 1) {
		r = recv(s, got + have, n - 1 - have, 0);
		if (r <= 0)
			break;
		have += r;
	}
	if (!inline_ && recv(s, &oob, 1, MSG_OOB) == 1)
		got[have++] = '|', got[have++] = oob;
	got[have] = 0;
	return 0;
}

static int t_urgent(void)
{
	char tcp[32], ntcp[32];
	int inl, c, s;

	for (inl = 0; inl < 2; inl++) {
		CHECK(!tcp_pair(&c, &s, 0), "tcp pair");
		CHECK(!urgent_reads(c, s, inl, tcp, sizeof(tcp)), "tcp sends");
		close(c);
		close(s);
		CHECK(!ntcp_pair(SOCK_STREAM, &c, &s), "NEW_TCP pair");
		CHECK(!urgent_reads(c, s, inl, ntcp, sizeof(ntcp)),
		      "NEW_TCP sends");
		close(c);
		close(s);
		CHECK(!strcmp(tcp, ntcp),
		      "SO_OOBINLINE %d: TCP reads \"%s\", NEW_TCP \"%s\"",
		      inl, tcp, ntcp);
	}
	return 0;
}

static int t_sizes(void)
{
	static const size_t sizes[] = {
		1, 2, 1023, 4096, 65483, 65536, 65537, (1 << 20) + 3,
		8 << 20, BIG,
	};
	static char buf[200003];
	struct pollfd p;
	unsigned int i;
	int c, s;

	/* 0 bytes: the call says 0 and the peer sees nothing but EOF. */
	CHECK(!ntcp_pair(SOCK_STREAM, &c, &s), "pair");
	CHECK(send(c, buf, 0, 0) == 0, "0-byte send returns 0");
	CHECK(write(c, buf, 0) == 0, "0-byte write returns 0");
	p = (struct pollfd){ .fd = s, .events = POLLIN };
	CHECK(poll(&p, 1, 300) == 0, "peer readable after 0 bytes, %x",
	      p.revents);
	CHECK(recv(s, buf, sizeof(buf), MSG_DONTWAIT) < 0 && errno == EAGAIN,
	      "nothing to read");
	CHECK(!shutdown(c, SHUT_WR), "SHUT_WR");
	CHECK(read(s, buf, sizeof(buf)) == 0, "EOF, no bytes");
	close(c);
	close(s);
	for (i = 0; i < ARRAY_SIZE(sizes); i++)
		if (sized_xfer(sizes[i], 0x512e0000ULL + i, buf))
			return 1;
	return 0;
}

int main(void)
{
	static const struct ntcp_test tests[] = {
		{ "bind port 0 autobinds, getsockname/getpeername", t_bind_getname, 10 },
		{ "bind errors: EINVAL, EAFNOSUPPORT, EADDRINUSE, SO_REUSEADDR", t_bind_errors, 10 },
		{ "connect/accept, names match, data both ways, EISCONN", t_connect_accept, 10 },
		{ "blocking accept wakes on a connect", t_accept_blocking, 10 },
		{ "accept O_NONBLOCK EAGAIN, POLLIN, accept4 flags", t_accept_nonblock, 10 },
		{ "non-blocking connect: EINPROGRESS, POLLOUT, SO_ERROR, EISCONN", t_connect_nonblock, 10 },
		{ "connect to a closed port: ECONNREFUSED blocking and non-blocking", t_refused, 10 },
		{ "plain TCP client refused, listener keeps serving", t_plain_client, 20 },
		{ "NEW_TCP client vs plain TCP server that hangs up: ECONNREFUSED", t_plain_server_close, 10 },
		{ "NEW_TCP client vs plain TCP echo server: ECONNREFUSED", t_plain_server_echo, 10 },
		{ "NEW_TCP client vs plain TCP banner server: ECONNREFUSED", t_plain_server_banner, 10 },
		{ "NEW_TCP client vs silent plain TCP server: ETIMEDOUT", t_plain_server_silent, 15 },
		{ "64 MiB each way, checksums and NEWTCP_INFO byte counts", t_big_transfer, 120 },
		{ "MSG_PEEK, FIONREAD/SIOCINQ, SIOCOUTQ, SIOCOUTQNSD, MSG_DONTWAIT", t_peek_ioctl, 10 },
		{ "MSG_WAITALL", t_waitall, 10 },
		{ "SO_RCVTIMEO gives EAGAIN", t_rcvtimeo, 10 },
		{ "shutdown SHUT_WR/SHUT_RDWR, EOF, EPIPE, ENOTCONN", t_shutdown, 10 },
		{ "EPIPE with SIGPIPE, MSG_NOSIGNAL", t_epipe, 10 },
		{ "poll/epoll: POLLOUT, EPOLLIN edge-triggered, EPOLLRDHUP, POLLHUP", t_poll_events, 15 },
		{ "poll wakes on data from another process", t_poll_wakes, 10 },
		{ "poll wakes POLLOUT when the send buffer drains", t_poll_writable, 15 },
		{ "close with unread data resets the peer", t_close_unread, 10 },
		{ "SO_LINGER 0 resets the peer", t_linger, 10 },
		{ "SOL_NEWTCP options, optlen and unknown options, SOL_SOCKET mirroring", t_sockopts, 10 },
		{ "/proc/net/newtcp lists sockets", t_proc, 10 },
		{ "network namespaces are separate", t_netns, 10 },
		{ "256 connections open at once, each moves its own pattern both ways", t_many_conns, 60 },
		{ "urgent data and SO_OOBINLINE as on TCP", t_urgent, 20 },
		{ "sizes 0 B .. 64 MiB, pattern-verified", t_sizes, 90 },
	};

	return ntcp_run_suite(tests, ARRAY_SIZE(tests));
}
