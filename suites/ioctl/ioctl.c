// SPDX-License-Identifier: GPL-2.0
/*
 * ioctl: SIOCINQ/FIONREAD, SIOCOUTQ, SIOCOUTQNSD and FIONBIO on NEW_TCP
 * sockets, checked against what is really queued (the peer's inner TCP
 * receive queue as /proc/net/newtcp shows it), on listeners, unconnected
 * and connecting sockets, with data in flight and data not yet sent
 * (netem delay on a private loopback); unknown ioctls give what a TCP
 * socket gives.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <linux/sockios.h>

#include "ntcp.h"
#include "tap.h"

static int ty;

static int q(int fd, unsigned long cmd)
{
	int v = -12345;

	if (ioctl(fd, cmd, &v))
		return -1000 - errno;
	return v;
}

/* Wait until ioctl @cmd on @fd says @want; returns the last answer. */
static int wait_q(int fd, unsigned long cmd, int want, int ms)
{
	long long end = now_ms() + ms;
	int v;

	do {
		v = q(fd, cmd);
		if (v == want)
			return v;
		usleep(10000);
	} while (now_ms() < end);
	return v;
}

/* rx_queue of the /proc/net/newtcp row whose local port is @port. */
static long proc_rxq(int fd)
{
	struct sockaddr_newtcp a;
	socklen_t len = sizeof(a);
	char line[256], pat[16];
	unsigned long tx, rx;
	long r = -1;
	FILE *f;

	if (getsockname(fd, (struct sockaddr *)&a, &len))
		return -1;
	snprintf(pat, sizeof(pat), ":%04X ", ntohs(a.snt_port));
	f = fopen("/proc/net/newtcp", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char *p = strstr(line, pat);

		/* The local address comes first on the line. */
		if (!p || p > line + 14)
			continue;
		if (sscanf(line, "%*s %*s %*s %lx:%lx", &tx, &rx) == 2)
			r = rx;
	}
	fclose(f);
	return r;
}

static int small_rcvbuf_pair(int *c, int *s)
{
	struct sockaddr_newtcp a = ntcp_addr(0);
	socklen_t len = sizeof(a);
	int l = socket(ntcp_family, ty, 0), v = 4096;

	if (setsockopt(l, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v)) ||
	    bind(l, (struct sockaddr *)&a, sizeof(a)) || listen(l, 4) ||
	    getsockname(l, (struct sockaddr *)&a, &len))
		return -1;
	*c = ntcp_connect(ty, ntohs(a.snt_port));
	*s = accept(l, NULL, NULL);
	close(l);
	if (*c < 0 || *s < 0)
		return -1;
	return setsockopt(*c, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v));
}

/* ---- SIOCINQ ----------------------------------------------------------- */

static int t_inq_stream(void)
{
	static char buf[5000];
	int c, s, v;

	CHECK(!ntcp_pair(SOCK_STREAM, &c, &s), "pair");
	CHECK(q(s, SIOCINQ) == 0 && q(s, FIONREAD) == 0, "idle: 0");
	CHECK(write(c, buf, 1000) == 1000, "write 1000");
	v = wait_q(s, SIOCINQ, 1000, 3000);
	CHECK(v == 1000, "SIOCINQ 1000, got %d", v);
	CHECK(q(s, FIONREAD) == 1000, "FIONREAD agrees");
	CHECK(recv(s, buf, 10, MSG_PEEK) == 10, "peek");
	CHECK(q(s, SIOCINQ) == 1000, "MSG_PEEK consumes nothing: %d", q(s, SIOCINQ));
	CHECK(read(s, buf, 300) == 300, "read 300");
	CHECK(q(s, SIOCINQ) == 700, "700 left, got %d", q(s, SIOCINQ));
	CHECK(write(c, buf, 4000) == 4000, "write 4000 more");
	v = wait_q(s, SIOCINQ, 4700, 3000);
	CHECK(v == 4700, "4700, got %d", v);
	CHECK(q(c, SIOCINQ) == 0, "the sender has nothing to read");
	CHECK(!shutdown(c, SHUT_WR), "peer SHUT_WR");
	CHECK(read_full(s, buf, 4700) == 4700, "drain");
	v = wait_q(s, SIOCINQ, 0, 1000);
	CHECK(v == 0, "EOF is not a byte: %d", v);
	return 0;
}

/* SEQPACKET answers the size of the next record, as AF_UNIX does. */
static int t_inq_seqpacket(void)
{
	static char buf[3000];
	int c, s, v;

	CHECK(!ntcp_pair(SOCK_SEQPACKET, &c, &s), "pair");
	CHECK(q(s, SIOCINQ) == 0, "idle: 0");
	CHECK(send(c, buf, 10, 0) == 10 && send(c, buf, 2000, 0) == 2000 &&
	      send(c, buf, 0, 0) == 0 && send(c, buf, 7, 0) == 7, "4 records");
	v = wait_q(s, SIOCINQ, 10, 3000);
	CHECK(v == 10, "first record: 10, got %d", v);
	CHECK(q(s, FIONREAD) == 10, "FIONREAD agrees");
	CHECK(recv(s, buf, 5, MSG_PEEK) == 5 && q(s, SIOCINQ) == 10,
	      "a peek changes nothing");
	CHECK(recv(s, buf, sizeof(buf), 0) == 10, "read record 1");
	v = wait_q(s, SIOCINQ, 2000, 3000);
	CHECK(v == 2000, "next: 2000, got %d", v);
	CHECK(recv(s, buf, 100, 0) == 100, "truncating read of record 2");
	v = q(s, SIOCINQ);
	CHECK(v == 0, "the truncated tail is gone; the next record is empty: %d", v);
	CHECK(recv(s, buf, sizeof(buf), 0) == 0, "empty record 3");
	v = wait_q(s, SIOCINQ, 7, 3000);
	CHECK(v == 7, "record 4: 7, got %d", v);
	CHECK(recv(s, buf, sizeof(buf), 0) == 7, "read record 4");
	CHECK(q(s, SIOCINQ) == 0, "nothing left");
	return 0;
}

/* ---- SIOCOUTQ / SIOCOUTQNSD ----------------------------------------------- */

static long fill_records;

static long fill(int c)
{
	static char buf[4096];
	size_t chunk = ty == SOCK_SEQPACKET ? 512 : sizeof(buf);
	long n = 0;
	int idle = 0;

	while (idle < 6) {
		ssize_t r = send(c, buf, chunk, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (r > 0) {
			n += r + (ty == SOCK_SEQPACKET ? 4 : 0);
			fill_records++;
			idle = 0;
			continue;
		}
		if (errno != EAGAIN)
			return -1;
		idle++;
		usleep(50000);
	}
	return n;
}

/*
 * With the receiver not reading, every byte sent is either still in
 * the sender's queue (SIOCOUTQ) or in the receiver's (its rx_queue in
 * /proc/net/newtcp): the two add up to exactly what was sent, framing
 * included for SEQPACKET.
 */
static int t_outq_accounting(void)
{
	static char buf[65536];
	int c, s, outq, nsd, v;
	long sent, rxq;

	CHECK(!small_rcvbuf_pair(&c, &s), "pair");
	CHECK(q(c, SIOCOUTQ) == 0 && q(c, SIOCOUTQNSD) == 0, "idle: 0 and 0");
	sent = fill(c);
	CHECK(sent > 0, "filled");
	usleep(200000);
	outq = q(c, SIOCOUTQ);
	nsd = q(c, SIOCOUTQNSD);
	rxq = proc_rxq(s);
	tap_diag("sent %ld: SIOCOUTQ %d, SIOCOUTQNSD %d, peer rx_queue %ld",
		 sent, outq, nsd, rxq);
	CHECK(outq > 0, "something waits in the send queue: %d", outq);
	CHECK(outq + rxq == sent, "SIOCOUTQ %d + peer queue %ld == sent %ld",
	      outq, rxq, sent);
	CHECK(nsd >= 0 && nsd <= outq, "SIOCOUTQNSD %d within SIOCOUTQ %d", nsd, outq);
	if (ty == SOCK_STREAM)
		CHECK(q(s, SIOCINQ) == rxq, "receiver's SIOCINQ %d == rx_queue %ld",
		      q(s, SIOCINQ), rxq);
	/* Drain: everything gets acknowledged. */
	for (long got = 0; got < sent - (ty == SOCK_SEQPACKET ? fill_records * 4 : 0);) {
		ssize_t r = recv(s, buf, sizeof(buf), 0);

		CHECK(r > 0, "drain");
		got += r;
	}
	v = wait_q(c, SIOCOUTQ, 0, 3000);
	CHECK(v == 0, "all acknowledged: SIOCOUTQ 0, got %d", v);
	CHECK(q(c, SIOCOUTQNSD) == 0, "SIOCOUTQNSD 0");
	return 0;
}

/*
 * Fill @c (peer @s does not read) without blocking until EAGAIN, read
 * SIOCOUTQ and SIOCOUTQNSD at once (within the round trip: what was
 * sent is not acknowledged yet), then again once everything sent is.
 */
static int nsd_split(int c, int type, const char *who)
{
	int outq, nsd, v = 65536;
	long sent;

	CHECK(!setsockopt(c, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v)),
	      "%s: SO_SNDBUF 64 KiB", who);
	sent = ntcp_fill(c, type, 1, 0);
	outq = q(c, SIOCOUTQ);
	nsd = q(c, SIOCOUTQNSD);
	tap_diag("%s: queued %ld until EAGAIN: SIOCOUTQ %d, SIOCOUTQNSD %d",
		 who, sent, outq, nsd);
	CHECK(sent > 0 && outq > 0, "%s: something queued", who);
	CHECK(nsd > 0, "%s: part of it is not sent yet: SIOCOUTQNSD %d", who, nsd);
	CHECK(nsd < outq, "%s: part of it is sent, unacknowledged: SIOCOUTQNSD %d < SIOCOUTQ %d",
	      who, nsd, outq);
	/* Round trips later the window is closed and nothing is in flight. */
	for (int i = 0; i < 60; i++) {
		usleep(50000);
		outq = q(c, SIOCOUTQ);
		nsd = q(c, SIOCOUTQNSD);
		if (nsd == outq)
			break;
	}
	tap_diag("%s: settled: SIOCOUTQ %d, SIOCOUTQNSD %d", who, outq, nsd);
	CHECK(outq > 0 && nsd == outq,
	      "%s: zero window, all sent data acknowledged: SIOCOUTQNSD %d == SIOCOUTQ %d",
	      who, nsd, outq);
	return 0;
}

/*
 * Data both in flight and not yet sent.  On plain loopback everything
 * sent is acknowledged at once, so a stalled sender has SIOCOUTQNSD ==
 * SIOCOUTQ; with 100 ms of netem delay on a private netns's lo, the
 * window the peer's small SO_RCVBUF offers goes out and stays
 * unacknowledged for the round trip while the rest waits behind it:
 * 0 < SIOCOUTQNSD < SIOCOUTQ, on a TCP pair set up the same way first.
 */
static int t_outq_nsd(void)
{
	int c, s;

	CHECK(!unshare(CLONE_NEWNET) && !ntcp_lo_up(), "private netns, lo up");
	/* iproute2's tc, which the harness copies; busybox sh has its own applet. */
	CHECK(!system(access("/usr/local/bin/tc", X_OK) ?
		      "tc qdisc add dev lo root netem delay 100ms" :
		      "/usr/local/bin/tc qdisc add dev lo root netem delay 100ms"),
	      "netem delay 100ms on lo");
	CHECK(!tcp_pair(&c, &s, 4096), "TCP pair");
	if (nsd_split(c, SOCK_STREAM, "TCP"))
		return 1;
	CHECK(!small_rcvbuf_pair(&c, &s), "pair");
	return nsd_split(c, ty, "NEW_TCP");
}

/* ---- states ---------------------------------------------------------------- */

static int t_listener(void)
{
	static const unsigned long cmds[] = { SIOCINQ, SIOCOUTQ, SIOCOUTQNSD };
	uint16_t port, tport;
	int l = ntcp_listener(ty, &port), t = tcp_listener(&tport), a, b;
	size_t i;

	CHECK(l >= 0 && t >= 0, "listeners");
	for (i = 0; i < ARRAY_SIZE(cmds); i++) {
		a = q(l, cmds[i]);
		b = q(t, cmds[i]);
		CHECK(a == -1000 - EINVAL, "ioctl %#lx on a listener: EINVAL, got %d",
		      cmds[i], a);
		CHECK(a == b, "same as a TCP listener (%d vs %d)", a, b);
	}
	return 0;
}

static int t_unconnected(void)
{
	static const unsigned long cmds[] = { SIOCINQ, SIOCOUTQ, SIOCOUTQNSD };
	int fd = socket(ntcp_family, ty, 0), t = socket(AF_INET, SOCK_STREAM, 0);
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cmds); i++)
		CHECK(q(fd, cmds[i]) == 0 && q(fd, cmds[i]) == q(t, cmds[i]),
		      "ioctl %#lx unconnected: %d, TCP %d", cmds[i], q(fd, cmds[i]),
		      q(t, cmds[i]));
	return 0;
}

/*
 * A connect stuck in SYN_SENT (the plain TCP listener's accept queue is
 * full, so its SYNs are dropped): TCP reports 0 queued, so must we.
 */
static int t_connecting(void)
{
	struct sockaddr_in in = { .sin_family = AF_INET };
	struct sockaddr_newtcp a;
	uint16_t port;
	int l = tcp_listener(&port), filler, c, t, n, tn;

	CHECK(l >= 0 && !listen(l, 0), "plain TCP listener, backlog 0");
	in.sin_port = htons(port);
	in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	filler = socket(AF_INET, SOCK_STREAM, 0);
	CHECK(!connect(filler, (struct sockaddr *)&in, sizeof(in)), "fill the queue");
	usleep(100000);
	t = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	CHECK(connect(t, (struct sockaddr *)&in, sizeof(in)) && errno == EINPROGRESS,
	      "TCP reference connect pending");
	a = ntcp_addr(port);
	c = socket(ntcp_family, ty | SOCK_NONBLOCK, 0);
	CHECK(connect(c, (struct sockaddr *)&a, sizeof(a)) && errno == EINPROGRESS,
	      "NEW_TCP connect pending");
	usleep(100000);
	{
		struct pollfd p = { .fd = c, .events = POLLIN | POLLOUT };

		CHECK(poll(&p, 1, 0) == 0, "still connecting, %#x", p.revents);
	}
	n = q(c, SIOCOUTQ);
	tn = q(t, SIOCOUTQ);
	CHECK(tn == 0, "TCP: SIOCOUTQ 0 while connecting, %d", tn);
	CHECK(n == 0, "SIOCOUTQ 0 while connecting, got %d", n);
	CHECK(q(c, SIOCOUTQNSD) == 0, "SIOCOUTQNSD 0, got %d", q(c, SIOCOUTQNSD));
	CHECK(q(c, SIOCINQ) == 0, "SIOCINQ 0, got %d", q(c, SIOCINQ));
	return 0;
}

/* ---- FIONBIO --------------------------------------------------------------- */

static int t_fionbio(void)
{
	struct timeval tv = { 0, 200000 };
	int c, s, on = 1, off = 0;
	long long t0;
	char b;

	CHECK(!ntcp_pair(ty, &c, &s), "pair");
	CHECK(!ioctl(s, FIONBIO, &on), "FIONBIO 1");
	CHECK(fcntl(s, F_GETFL) & O_NONBLOCK, "O_NONBLOCK set");
	t0 = now_ms();
	CHECK(recv(s, &b, 1, 0) < 0 && errno == EAGAIN, "recv EAGAIN");
	CHECK(now_ms() - t0 < 100, "at once");
	CHECK(!ioctl(s, FIONBIO, &off), "FIONBIO 0");
	CHECK(!(fcntl(s, F_GETFL) & O_NONBLOCK), "O_NONBLOCK clear");
	CHECK(!setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), "timeout");
	t0 = now_ms();
	CHECK(recv(s, &b, 1, 0) < 0 && errno == EAGAIN, "blocking again");
	CHECK(now_ms() - t0 >= 150, "it waited (%lld ms)", now_ms() - t0);
	return 0;
}

static int t_fionbio_connect_accept(void)
{
	uint16_t port;
	int l = ntcp_listener(ty, &port), c, on = 1;
	struct sockaddr_newtcp a = ntcp_addr(port);
	struct pollfd p;

	CHECK(!ioctl(l, FIONBIO, &on), "listener FIONBIO");
	CHECK(accept(l, NULL, NULL) < 0 && errno == EAGAIN, "accept EAGAIN");
	c = socket(ntcp_family, ty, 0);
	CHECK(!ioctl(c, FIONBIO, &on), "client FIONBIO");
	CHECK(connect(c, (struct sockaddr *)&a, sizeof(a)) && errno == EINPROGRESS,
	      "connect EINPROGRESS");
	p = (struct pollfd){ .fd = l, .events = POLLIN };
	CHECK(poll(&p, 1, 5000) == 1, "incoming");
	CHECK(accept(l, NULL, NULL) >= 0, "accept");
	return 0;
}

/* ---- unknown ioctls ---------------------------------------------------------- */

static int t_unknown(void)
{
	static const struct { unsigned long cmd; const char *name; int want; } u[] = {
		{ _IO('x', 1), "_IO('x', 1)", ENOTTY },
		{ 0x5401 /* TCGETS */, "TCGETS", ENOTTY },
		{ SIOCGSTAMP_OLD, "SIOCGSTAMP", ENOENT },
		{ 0x89ef, "socket-range 0x89ef", ENOTTY },
	};
	char arg[64];
	int c, s, t, tc, ts, r1, r2, e1, e2;
	uint16_t port;
	int l;
	size_t i;

	CHECK(!ntcp_pair(ty, &c, &s), "pair");
	l = tcp_listener(&port);
	t = socket(AF_INET, SOCK_STREAM, 0);
	{
		struct sockaddr_in in = { .sin_family = AF_INET,
					  .sin_port = htons(port) };

		in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		CHECK(!connect(t, (struct sockaddr *)&in, sizeof(in)), "tcp");
	}
	tc = t;
	ts = accept(l, NULL, NULL);
	(void)ts;
	for (i = 0; i < ARRAY_SIZE(u); i++) {
		memset(arg, 0, sizeof(arg));
		errno = 0;
		r1 = ioctl(c, u[i].cmd, arg);
		e1 = errno;
		memset(arg, 0, sizeof(arg));
		errno = 0;
		r2 = ioctl(tc, u[i].cmd, arg);
		e2 = errno;
		CHECK(r1 == -1 && e1 == u[i].want, "%s: %d %s, want %s", u[i].name,
		      r1, ntcp_errname(e1), ntcp_errname(u[i].want));
		CHECK(r1 == r2 && e1 == e2, "%s: TCP says %d %s", u[i].name, r2,
		      ntcp_errname(e2));
	}
	/* Device ioctls still reach the device layer. */
	{
		struct ifreq ifr;

		memset(&ifr, 0, sizeof(ifr));
		strcpy(ifr.ifr_name, "lo");
		CHECK(!ioctl(c, SIOCGIFFLAGS, &ifr) && (ifr.ifr_flags & IFF_LOOPBACK),
		      "SIOCGIFFLAGS on lo through a NEW_TCP socket");
		strcpy(ifr.ifr_name, "nosuchdev0");
		CHECK(ioctl(c, SIOCGIFFLAGS, &ifr) && errno == ENODEV,
		      "unknown device: ENODEV");
	}
	CHECK(ioctl(c, SIOCINQ, NULL) && errno == EFAULT, "SIOCINQ NULL: EFAULT");
	return 0;
}

int main(void)
{
	static const struct ntcp_typed_test tests[] = {
		{ "SIOCINQ/FIONREAD track the stream's unread bytes exactly [stream]", t_inq_stream, SOCK_STREAM, 10 },
		{ "SIOCINQ is the next record's size; truncation and empty records [seqpacket]", t_inq_seqpacket, SOCK_SEQPACKET, 10 },
		NTCP_BOTH("SIOCOUTQ + the peer's queue == bytes sent; SIOCOUTQNSD <= SIOCOUTQ; 0 once drained", t_outq_accounting, 20),
		NTCP_BOTH("SIOCOUTQNSD with data in flight and unsent: 0 < SIOCOUTQNSD < SIOCOUTQ as TCP, == once acknowledged", t_outq_nsd, 30),
		NTCP_BOTH("SIOCINQ/SIOCOUTQ/SIOCOUTQNSD on a listener: EINVAL as TCP", t_listener, 10),
		NTCP_BOTH("SIOCINQ/SIOCOUTQ/SIOCOUTQNSD unconnected: 0 as TCP", t_unconnected, 10),
		NTCP_BOTH("SIOCOUTQ/SIOCOUTQNSD/SIOCINQ 0 while the connect is in SYN_SENT, as TCP", t_connecting, 10),
		NTCP_BOTH("FIONBIO on and off: EAGAIN at once, then blocking again", t_fionbio, 10),
		NTCP_BOTH("FIONBIO on a listener and a connecting socket", t_fionbio_connect_accept, 10),
		NTCP_BOTH("unknown ioctls: exact errno, same as TCP; device ioctls pass; EFAULT", t_unknown, 10),
	};

	return ntcp_run_typed_suite(tests, ARRAY_SIZE(tests), &ty);
}
