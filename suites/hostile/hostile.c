// SPDX-License-Identifier: GPL-2.0
/*
 * hostile: a NEW_TCP socket against a hostile peer on loopback.
 *
 * The peer is suites/lib/hostile.c: plain TCP that speaks the NEW_TCP
 * wire protocol correctly up to a point and then misbehaves.  Each test
 * states what the NEW_TCP side must do (an error, no block beyond a
 * bound, nothing accepted) and, around it, that NEW_TCP's sockets and
 * pages in /proc/net/protocols come back to where they were and
 * SUnreclaim to within a stated bound once everything is closed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/tcp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "hostile.h"
#include "ntcp.h"
#include "tap.h"

#define MiB		(1u << 20)
#define LIMIT		(16u << 20)	/* NEWTCP_MAXMSG_LIMIT */
/* SUnreclaim may stay above its baseline by this much after a test. */
#define SLAB_SLACK_KB	1024

static struct in_addr lo;

/* ---- helpers ---- */

/*
 * A NEW_TCP listener of @type and a hand-made client connected to it;
 * *s is the NEW_TCP end accepted from it.  Accept is bounded.
 */
static int hostile_pair(int type, int *l, int *h, int *s)
{
	uint16_t port;

	*l = ntcp_listener(type, &port);
	if (*l < 0)
		return -1;
	hostile_rcvtimeo(*l, 3000);
	*h = hostile_client(lo, port, type);
	if (*h < 0)
		return -1;
	*s = accept(*l, NULL, NULL);
	return *s < 0 ? -1 : 0;
}

/*
 * The test child joins a memory cgroup of its own so that the deltas
 * printed around each test show its memory.current too.
 */
static void hostile_mem_enter(void)
{
	char why[256];

	if (hostile_cgroup_enter("sockvm-hostile", why, sizeof(why)))
		printf("# no memory cgroup: %s\n", why);
}

/* Kernel memory around a test: snapshot at the start, back at the end. */
#define MEM_START()							\
	struct hostile_mem mem_base;					\
	hostile_mem_enter();						\
	hostile_mem_snap(&mem_base)
#define MEM_END_WITHIN(kb)						\
	CHECK(!hostile_mem_back(&mem_base, (kb), 3000),			\
	      "kernel memory back to its baseline after close")
#define MEM_END()	MEM_END_WITHIN(SLAB_SLACK_KB)
/*
 * After a crowd of connections the slab caches keep some of their
 * partial slabs: 2 MiB at most for up to 1000 connections.
 */
#define CROWD_SLACK_KB	2048

/* ---- hellos: a hostile client at a NEW_TCP listener ---- */

struct bad_hello {
	const char *what;
	const char *bytes;
	size_t len;
	int fin;	/* shut down writing after the bytes */
	int status;	/* -1: no answer at all; else the reply's status */
};

static int t_client_bad_hellos(void)
{
	static const struct bad_hello v[] = {
		{ "HTTP request", "GET / HTTP/1.0\r\n\r\n", 18, 0, -1 },
		{ "zeros", "\0\0\0\0\0\0\0\0", 8, 0, -1 },
		{ "an echoed reply hello", "NTCP\x01\x01\x80\x00", 8, 0, -1 },
		{ "a short hello then FIN", "NTCP", 4, 1, -1 },
		{ "a short hello then nothing more than 7 bytes + FIN",
		  "NTCP\x01\x01\x00", 7, 1, -1 },
		{ "version 2", "NTCP\x02\x01\x00\x00", 8, 0, 2 },
		{ "a seqpacket hello at a stream listener",
		  "NTCP\x01\x02\x00\x00", 8, 0, 1 },
	};
	uint8_t r[8];
	uint16_t port;
	size_t i;
	int l, fd, s;
	MEM_START();

	l = ntcp_listener(SOCK_STREAM, &port);
	CHECK(l >= 0, "listener");
	for (i = 0; i < ARRAY_SIZE(v); i++) {
		long long t0 = now_ms();

		fd = hostile_tcp(lo, port);
		CHECK(fd >= 0, "connect for %s", v[i].what);
		CHECK(write_full(fd, v[i].bytes, v[i].len) == (ssize_t)v[i].len,
		      "send %s", v[i].what);
		if (v[i].fin)
			shutdown(fd, SHUT_WR);
		if (v[i].status >= 0) {
			CHECK(read_full(fd, r, 8) == 8, "%s: a reply", v[i].what);
			CHECK(!memcmp(r, "NTCP", 4) && r[6] == 0x80 &&
			      r[7] == v[i].status,
			      "%s: status %d, got %02x %02x %02x %02x", v[i].what,
			      v[i].status, r[4], r[5], r[6], r[7]);
		}
		CHECK(!hostile_wait_dropped(fd, 1000),
		      "%s: dropped without (another) answer within 1 s",
		      v[i].what);
		printf("# %s: dropped after %lld ms\n", v[i].what,
		       now_ms() - t0);
		close(fd);
	}
	fcntl(l, F_SETFL, O_NONBLOCK);
	s = accept(l, NULL, NULL);
	CHECK(s < 0 && errno == EAGAIN, "nothing reached accept()");
	close(l);
	MEM_END();
	return 0;
}

/*
 * Trickle @n bytes of @buf into @fd, one per @gap_ms, then wait for the
 * peer to drop the connection until @end_ms; the time of the drop from
 * the first byte, or -1 when it did not happen.
 */
static long long trickle_until_dropped(int fd, const void *buf, size_t n,
				       int gap_ms, long long end_ms)
{
	long long t0 = now_ms();
	const char *p = buf;
	size_t i = 0;

	for (;;) {
		int left = (int)(end_ms - now_ms());

		if (left <= 0)
			return -1;
		if (hostile_readable(fd, i < n ? gap_ms : left)) {
			if (!hostile_wait_dropped(fd, 0))
				return now_ms() - t0;
			return -1;	/* an answer: not dropped */
		}
		if (i < n && send(fd, p + i++, 1, MSG_NOSIGNAL) != 1)
			return now_ms() - t0;
	}
}

static int client_hello_trickle(int old)
{
	static const char hello[] = "NTCP\x01\x01\x00\x00";
	int l, fd, s;
	long long dt;
	uint16_t port;
	uint8_t r[8];
	MEM_START();

	CHECK(old > 0, "handshake_ms writable");
	l = ntcp_listener(SOCK_STREAM, &port);
	CHECK(l >= 0, "listener");

	/* 7 bytes of a hello, one per 150 ms, then silence: never ends. */
	fd = hostile_tcp(lo, port);
	CHECK(fd >= 0, "connect");
	dt = trickle_until_dropped(fd, hello, 7, 150, now_ms() + 4000);
	printf("# hello trickled one byte per 150 ms: dropped after %lld ms "
	       "(handshake_ms 600)\n", dt);
	CHECK(dt >= 0, "dropped at all");
	CHECK(dt <= 600 + 700, "dropped within handshake_ms + 700 ms of the "
	      "first byte, however many bytes kept coming");
	close(fd);

	/* The same trickle, faster, completes in time: accepted. */
	fd = hostile_tcp(lo, port);
	CHECK(fd >= 0, "connect");
	CHECK(!hostile_trickle(fd, hello, 8, 40), "slow but whole hello");
	CHECK(read_full(fd, r, 8) == 8 && r[6] == 0x80 && r[7] == 0,
	      "a slow hello within handshake_ms is answered with status 0");
	hostile_rcvtimeo(l, 2000);
	s = accept(l, NULL, NULL);
	CHECK(s >= 0, "and accepted");
	close(s);
	close(fd);
	close(l);
	MEM_END();
	return 0;
}

/* handshake_ms 600 for the test, restored however it ends. */
static int t_client_hello_trickle(void)
{
	int old = hostile_set_handshake_ms(600), rc;

	rc = client_hello_trickle(old);
	if (old > 0)
		hostile_set_handshake_ms(old);
	return rc;
}

/* ---- hellos: a NEW_TCP client at a hostile server ---- */

struct reply_script {
	const char *bytes;	/* NULL: echo the client's hello */
	size_t len;
	int gap_ms;		/* trickle */
	int hold_ms;		/* then stay silent this long before closing */
};

static void serve_script(int fd, void *arg)
{
	const struct reply_script *sc = arg;
	uint8_t h[8];
	char c;

	if (read_full(fd, h, 8) != 8)
		_exit(3);
	if (!sc->bytes)
		write_full(fd, h, 8);
	else if (sc->gap_ms)
		hostile_trickle(fd, sc->bytes, sc->len, sc->gap_ms);
	else
		write_full(fd, sc->bytes, sc->len);
	if (sc->hold_ms) {
		hostile_rcvtimeo(fd, sc->hold_ms);
		/* Nothing must follow the hello: the client never sends data. */
		if (read(fd, &c, 1) > 0)
			_exit(4);
	}
	close(fd);
}

static int connect_to_script(const struct reply_script *sc, int type,
			     int *err, long long *ms)
{
	uint16_t port;
	int l = hostile_listen(lo, 4, &port), fd, st;
	long long t0;
	pid_t pid;

	if (l < 0)
		return -1;
	pid = hostile_fork(l, serve_script, (void *)sc);
	if (pid < 0)
		return -1;
	t0 = now_ms();
	fd = ntcp_connect(type, port);
	*err = fd < 0 ? errno : 0;
	*ms = now_ms() - t0;
	if (fd >= 0)
		close(fd);
	st = hostile_reap(pid, 5000);
	close(l);
	return st;
}

static int t_server_bad_hellos(void)
{
	static const struct {
		const char *what;
		struct reply_script sc;
	} v[] = {
		{ "an HTTP banner", { "HTTP/1.0 200 OK\r\n\r\n", 19, 0, 300 } },
		{ "its own hello echoed", { NULL, 0, 0, 300 } },
		{ "a short reply then close", { "NTCP\x01\x01\x80", 7, 0, 0 } },
		{ "status 3 (busy)", { "NTCP\x01\x01\x80\x03", 8, 0, 300 } },
		{ "a reply of the wrong type", { "NTCP\x01\x02\x80\x00", 8, 0, 300 } },
		{ "a version 2 reply", { "NTCP\x02\x01\x80\x00", 8, 0, 300 } },
		{ "a reply without the reply bit", { "NTCP\x01\x01\x00\x00", 8, 0, 300 } },
	};
	long long ms;
	size_t i;
	int err, st;
	MEM_START();

	for (i = 0; i < ARRAY_SIZE(v); i++) {
		st = connect_to_script(&v[i].sc, SOCK_STREAM, &err, &ms);
		printf("# %s: connect: %s after %lld ms\n", v[i].what,
		       err ? ntcp_errname(err) : "success", ms);
		CHECK(err == ECONNREFUSED, "%s: ECONNREFUSED", v[i].what);
		CHECK(ms < 1000, "%s: refused within 1 s", v[i].what);
		CHECK(st == 0, "%s: the hostile server saw no data after the "
		      "hello (exit %d)", v[i].what, st);
	}
	MEM_END();
	return 0;
}

static int t_server_hello_trickle(void)
{
	/* 7 bytes of a good reply, one per 150 ms, then silence for 3 s. */
	struct reply_script sc = { "NTCP\x01\x01\x80\x00", 7, 150, 3000 };
	int old = hostile_set_handshake_ms(600), err;
	long long ms;
	MEM_START();

	CHECK(old > 0, "handshake_ms writable");
	connect_to_script(&sc, SOCK_STREAM, &err, &ms);
	hostile_set_handshake_ms(old);
	printf("# reply trickled one byte per 150 ms: connect %s after %lld ms "
	       "(handshake_ms 600)\n", err ? ntcp_errname(err) : "succeeded", ms);
	CHECK(err == ETIMEDOUT, "ETIMEDOUT");
	CHECK(ms <= 600 + 700, "within handshake_ms + 700 ms, however many "
	      "bytes kept coming");
	MEM_END();
	return 0;
}

/* ---- crowds ---- */

/*
 * IDLE plain TCP connections that never send a byte, held open at a
 * NEW_TCP listener whose backlog is 128, and a genuine client that must
 * still get through within 1 s.  1000 idle connections: well above any
 * backlog or worker pool (the baseline let 2 x backlog handshakes wait,
 * each blocking a worker of a 256-wide workqueue), within what the
 * suite's 30 s can open on loopback under TCG (about 1.5 s).
 */
#define IDLE		1000
/*
 * Where opening IDLE would take longer than CROWD_BUDGET_MS (a KASAN
 * kernel under TCG), the crowd is smaller, never below CROWD_FLOOR:
 * still more than the listener's backlog.
 */
#define CROWD_FLOOR	130
#define CROWD_BUDGET_MS	8000
/*
 * The crowd is held for the whole test, not dropped at handshake_ms
 * while it is still being opened; the suite runner puts the parameter
 * back after the test, however it ends.
 */
#define CROWD_HANDSHAKE_MS	60000

static int genuine_connect(int type, uint16_t port, int l, long long *ms)
{
	long long t0 = now_ms();
	int fd = ntcp_connect(type, port), s;

	*ms = now_ms() - t0;
	if (fd < 0) {
		printf("# genuine %s client: %s after %lld ms\n",
		       type == SOCK_STREAM ? "stream" : "seqpacket",
		       ntcp_errname(errno), *ms);
		return -1;
	}
	s = accept(l, NULL, NULL);
	if (s < 0 || send(fd, "x", 1, 0) != 1 || recv(s, &t0, 1, 0) != 1) {
		printf("# genuine client: accepted and talking failed\n");
		return -1;
	}
	close(s);
	close(fd);
	return 0;
}

static int crowd(int type, int idle, long long max_hs)
{
	static int fds[IDLE];
	struct hostile_mem m0, m1;
	long long ms, t0, ref0, ref1, bound;
	uint16_t port;
	int l, n, hs;
	MEM_START();

	l = ntcp_listener(type, &port);
	CHECK(l >= 0, "listener");
	CHECK(!listen(l, 128), "backlog 128");
	hostile_rcvtimeo(l, 2000);

	CHECK(!genuine_connect(type, port, l, &ms), "genuine client alone");
	printf("# genuine client alone: %lld ms\n", ms);
	bound = hostile_crowd_bound_ms(ms);

	hs = hostile_set_handshake_ms(CROWD_HANDSHAKE_MS);
	CHECK(hs > 0, "handshake_ms writable");
	ref0 = hostile_module_param("handshakes_refused");
	hostile_mem_snap(&m0);
	t0 = now_ms();
	n = hostile_crowd(lo, port, idle, max_hs > 0 ? max_hs + 100 :
			  CROWD_FLOOR, CROWD_BUDGET_MS, fds, &idle, NULL);
	printf("# %d of %d idle plain TCP connections open in %lld ms\n", n,
	       idle, now_ms() - t0);
	/* Until the listener has taken them all from its inner queue. */
	t0 = now_ms();
	while (hostile_listen_queue(port) > 0 && now_ms() - t0 < 5000)
		usleep(10000);
	printf("# the listener took them in from its TCP queue in %lld ms "
	       "(%d left)\n", now_ms() - t0, hostile_listen_queue(port));
	hostile_mem_snap(&m1);
	hostile_mem_diag("with the idle crowd", &m0, &m1);
	printf("# SUnreclaim per idle connection (both ends): %ld bytes\n",
	       n ? (m1.sunreclaim_kb - m0.sunreclaim_kb) * 1024 / n : 0);

	CHECK(!genuine_connect(type, port, l, &ms),
	      "genuine client with %d idle connections at the listener", n);
	printf("# genuine client with %d idle connections held: %lld ms\n", n,
	       ms);
	CHECK(ms < bound, "connected within %lld ms (%lld ms)", bound, ms);
	ref1 = hostile_module_param("handshakes_refused");
	if (max_hs > 0) {
		printf("# handshakes_refused +%lld (max_handshakes %lld)\n",
		       ref1 - ref0, max_hs);
		CHECK(ref1 - ref0 >= idle - max_hs,
		      "the handshakes beyond max_handshakes counted as refused");
	}
	CHECK(n == idle || max_hs > 0, "every idle connection opened");
	hostile_set_handshake_ms(hs);
	hostile_close_all(fds, idle);
	close(l);
	MEM_END_WITHIN(CROWD_SLACK_KB);
	return 0;
}

static int t_crowd_stream(void)
{
	return crowd(SOCK_STREAM, IDLE, 0);
}

static int t_crowd_seqpacket(void)
{
	return crowd(SOCK_SEQPACKET, IDLE / 2, 0);
}

/*
 * A genuine NEW_TCP connect to @addr:@port from the network namespace
 * that process @holder keeps; its time in *ms, 0 on success.
 */
static int ns_connect(pid_t holder, struct in_addr addr, uint16_t port,
		      long long *ms)
{
	long long res[2] = { -1, 0 };
	char path[64];
	int p[2], fd, st;
	pid_t pid;

	if (pipe(p))
		return -1;
	pid = fork();
	if (!pid) {
		struct sockaddr_newtcp a = ntcp_addr(port);
		long long t0;

		snprintf(path, sizeof(path), "/proc/%d/ns/net", holder);
		fd = open(path, O_RDONLY);
		if (fd < 0 || setns(fd, CLONE_NEWNET))
			_exit(1);
		a.snt_addr = addr;
		t0 = now_ms();
		fd = ntcp_connect_addr(SOCK_STREAM, &a);
		res[0] = fd < 0 ? errno : 0;
		res[1] = now_ms() - t0;
		_exit(write(p[1], res, sizeof(res)) != sizeof(res));
	}
	close(p[1]);
	if (read(p[0], res, sizeof(res)) != sizeof(res))
		res[0] = -1;
	close(p[0]);
	hostile_reap(pid, 5000);
	(void)st;
	*ms = res[1];
	if (res[0])
		printf("# genuine client from the other namespace: %s after "
		       "%lld ms\n", res[0] > 0 ? ntcp_errname(res[0]) :
		       "no answer", res[1]);
	return res[0] ? -1 : 0;
}

/*
 * The same crowd of IDLE connections on loopback, and the genuine client
 * in another network namespace, joined to this one by a veth pair
 * (10.98.0.2 -> 10.98.0.1): it must connect within 1 s too.
 */
static int t_crowd_netns(void)
{
	static int fds[IDLE];
	struct sockaddr_newtcp a = ntcp_addr(0);
	struct in_addr here = { htonl(0x0a620001) }, there = { htonl(0x0a620002) };
	socklen_t alen = sizeof(a);
	long long ms, t0, bound;
	char why[256];
	pid_t holder;
	int l, s, n, idle, hs;

	holder = hostile_netns_veth(here, there, why, sizeof(why));
	if (holder < 0)
		SKIP_TEST("no second network namespace: %s", why);
	/* From here: the namespace and its veth pair stay till the end. */
	MEM_START();
	l = socket(ntcp_family, SOCK_STREAM, 0);
	a.snt_addr.s_addr = htonl(INADDR_ANY);
	CHECK(l >= 0 && !bind(l, (struct sockaddr *)&a, sizeof(a)) &&
	      !listen(l, 128) && !getsockname(l, (struct sockaddr *)&a, &alen),
	      "listener on 0.0.0.0");
	hostile_rcvtimeo(l, 2000);
	CHECK(!ns_connect(holder, here, ntohs(a.snt_port), &ms),
	      "genuine client from the other namespace, alone");
	printf("# genuine client from the other namespace alone: %lld ms\n", ms);
	bound = hostile_crowd_bound_ms(ms);
	s = accept(l, NULL, NULL);
	CHECK(s >= 0, "accepted");
	close(s);

	hs = hostile_set_handshake_ms(CROWD_HANDSHAKE_MS);
	CHECK(hs > 0, "handshake_ms writable");
	t0 = now_ms();
	n = hostile_crowd(lo, ntohs(a.snt_port), IDLE, CROWD_FLOOR,
			  CROWD_BUDGET_MS, fds, &idle, NULL);
	printf("# %d of %d idle plain TCP connections open in %lld ms\n", n,
	       idle, now_ms() - t0);
	t0 = now_ms();
	while (hostile_listen_queue(ntohs(a.snt_port)) > 0 &&
	       now_ms() - t0 < 5000)
		usleep(10000);
	CHECK(!ns_connect(holder, here, ntohs(a.snt_port), &ms),
	      "genuine client from the other namespace with %d idle "
	      "connections held", n);
	printf("# genuine client from the other namespace with %d idle "
	       "connections held: %lld ms\n", n, ms);
	CHECK(ms < bound, "connected within %lld ms (%lld ms)", bound, ms);
	s = accept(l, NULL, NULL);
	CHECK(s >= 0, "accepted");
	close(s);
	CHECK(n == idle, "every idle connection opened (%d of %d)", n, idle);
	hostile_set_handshake_ms(hs);
	hostile_close_all(fds, IDLE);
	close(l);
	MEM_END_WITHIN(CROWD_SLACK_KB);
	return 0;
}

/* More idle connections than a listener may have handshakes in flight. */
static int t_crowd_bounded(void)
{
	long long old = hostile_module_param("max_handshakes");
	char buf[32];
	int rc;

	CHECK(old > 0, "max_handshakes parameter present");
	CHECK(!hostile_set_param("max_handshakes", "100"), "max_handshakes 100");
	rc = crowd(SOCK_STREAM, 600, 100);
	snprintf(buf, sizeof(buf), "%lld", old);
	hostile_set_param("max_handshakes", buf);
	return rc;
}

/*
 * SILENT NEW_TCP connects to a plain TCP server that accepts (in the
 * kernel) and never answers: each is a client handshake waiting for
 * handshake_ms.  300 of them (above the 256 workers a shared workqueue
 * runs at once) must not hold up a genuine connect to a NEW_TCP
 * listener.
 */
#define SILENT		300

static int t_client_crowd(void)
{
	static int fds[SILENT];
	struct sockaddr_newtcp a;
	uint16_t sport, port;
	long long ms, t0, bound;
	int sl, l, i, n = 0;
	MEM_START();

	sl = hostile_listen(lo, 1024, &sport);
	CHECK(sl >= 0, "silent plain TCP server");
	l = ntcp_listener(SOCK_STREAM, &port);
	CHECK(l >= 0, "NEW_TCP listener");
	hostile_rcvtimeo(l, 2000);
	CHECK(!genuine_connect(SOCK_STREAM, port, l, &ms),
	      "genuine client alone");
	bound = hostile_crowd_bound_ms(ms);
	a = ntcp_addr(sport);
	t0 = now_ms();
	for (i = 0; i < SILENT; i++) {
		fds[i] = socket(ntcp_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
		CHECK(fds[i] >= 0, "socket %d", i);
		if (!connect(fds[i], (struct sockaddr *)&a, sizeof(a)) ||
		    errno == EINPROGRESS)
			n++;
	}
	printf("# %d non-blocking connects to a silent server started in "
	       "%lld ms\n", n, now_ms() - t0);
	CHECK(n == SILENT, "all started");
	CHECK(!genuine_connect(SOCK_STREAM, port, l, &ms),
	      "genuine client while %d handshakes wait for a silent server", n);
	printf("# genuine client while %d client handshakes wait: %lld ms\n",
	       n, ms);
	CHECK(ms < bound, "connected within %lld ms (%lld ms)", bound, ms);
	hostile_close_all(fds, SILENT);
	close(l);
	close(sl);
	MEM_END_WITHIN(CROWD_SLACK_KB);
	return 0;
}

/* ---- records: a hostile sender at a NEW_TCP SEQPACKET receiver ---- */

static int t_len_ffffffff(void)
{
	char buf[64];
	int l, h, s, fl;
	ssize_t r;
	MEM_START();

	CHECK(!hostile_pair(SOCK_SEQPACKET, &l, &h, &s), "pair");
	hostile_rcvtimeo(s, 1000);
	CHECK(!hostile_hdr(h, 0xffffffff), "length 0xffffffff");
	CHECK(!hostile_record(h, "valid", 5), "then a valid record");
	r = hostile_rmsg(s, buf, sizeof(buf), 0, &fl);
	CHECK(r < 0 && errno == EPROTO, "EPROTO for 0xffffffff, got %zd", r);
	r = hostile_rmsg(s, buf, sizeof(buf), 0, &fl);
	printf("# the recv after EPROTO: %zd (%s)\n", r,
	       r < 0 ? ntcp_errname(errno) : "data");
	CHECK(r <= 0, "the connection is broken: the record after the bad "
	      "header is not handed out as good (got %zd bytes '%.*s')", r,
	      r > 0 ? (int)r : 0, buf);
	close(s);
	close(h);
	close(l);
	MEM_END();
	return 0;
}

static int t_len_limits(void)
{
	static const uint32_t bad[] = { LIMIT + 1, 0x7fffffff, 0x80000000 };
	char buf[64];
	int l, h, s, fl;
	size_t i;
	ssize_t r;
	long long t0;
	MEM_START();

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		CHECK(!hostile_pair(SOCK_SEQPACKET, &l, &h, &s), "pair");
		hostile_rcvtimeo(s, 1000);
		CHECK(!hostile_hdr(h, bad[i]) && !hostile_fill(h, 16), "header");
		r = hostile_rmsg(s, buf, sizeof(buf), 0, &fl);
		CHECK(r < 0 && errno == EPROTO, "length %#x: EPROTO, got %zd",
		      bad[i], r);
		close(s);
		close(h);
		close(l);
	}
	/* Exactly the limit (0x00ffffff + 1): a record, incomplete. */
	CHECK(!hostile_pair(SOCK_SEQPACKET, &l, &h, &s), "pair");
	hostile_rcvtimeo(s, 300);
	CHECK(!hostile_hdr(h, LIMIT) && !hostile_fill(h, 100), "16 MiB header");
	t0 = now_ms();
	r = hostile_rmsg(s, buf, sizeof(buf), MSG_DONTWAIT, &fl);
	CHECK((r < 0 && errno == EAGAIN) || (r > 0 && !(fl & MSG_EOR)),
	      "length 16 MiB is a record, not a violation: non-blocking "
	      "recv %zd (%s)", r, r < 0 ? ntcp_errname(errno) : "data");
	r = hostile_rmsg(s, buf, sizeof(buf), 0, &fl);
	CHECK((r < 0 && errno == EAGAIN) || (r > 0 && !(fl & MSG_EOR)),
	      "blocking recv of it: %zd (%s)", r,
	      r < 0 ? ntcp_errname(errno) : "data");
	CHECK(now_ms() - t0 < 1500, "bounded by SO_RCVTIMEO");
	close(s);
	close(h);
	close(l);
	MEM_END();
	return 0;
}

static int t_header_split(void)
{
	uint8_t rec[9] = { 0, 0, 0, 5, 'h', 'e', 'l', 'l', 'o' };
	char buf[64];
	int l, h, s, fl, i, spurious = 0;
	ssize_t r;
	pid_t pid;
	MEM_START();

	CHECK(!hostile_pair(SOCK_SEQPACKET, &l, &h, &s), "pair");
	hostile_rcvtimeo(s, 3000);
	for (i = 0; i < 9; i++) {
		/*
		 * Not checked: poll reports a part of a header that TCP holds
		 * as readable (TCP's answer); recv then says EAGAIN.
		 */
		if (hostile_readable(s, 30))
			spurious++;
		r = hostile_rmsg(s, buf, sizeof(buf), MSG_DONTWAIT, &fl);
		CHECK(r < 0 && errno == EAGAIN,
		      "byte %d: non-blocking recv EAGAIN, got %zd", i, r);
		CHECK(send(h, rec + i, 1, 0) == 1, "byte %d", i);
	}
	printf("# poll said readable %d times of 9 while recv said EAGAIN\n",
	       spurious);
	CHECK(hostile_readable(s, 1000) & POLLIN, "readable once whole");
	r = hostile_rmsg(s, buf, sizeof(buf), MSG_DONTWAIT, &fl);
	CHECK(r == 5 && !memcmp(buf, "hello", 5) && (fl & MSG_EOR),
	      "the record whole: %zd", r);

	/* A blocking reader while a child trickles the next record. */
	pid = fork();
	if (!pid)
		_exit(hostile_trickle(h, rec, 9, 40) ? 1 : 0);
	r = hostile_rmsg(s, buf, sizeof(buf), 0, &fl);
	CHECK(r == 5 && !memcmp(buf, "hello", 5) && (fl & MSG_EOR),
	      "blocking reader gets the trickled record whole: %zd", r);
	CHECK(hostile_reap(pid, 3000) == 0, "trickler");
	close(s);
	close(h);
	close(l);
	MEM_END();
	return 0;
}

static int t_stall(void)
{
	char buf[2000];
	int l, h, s, fl;
	long long t0;
	ssize_t r;
	MEM_START();

	CHECK(!hostile_pair(SOCK_SEQPACKET, &l, &h, &s), "pair");
	CHECK(!hostile_hdr(h, 1000) && !hostile_fill(h, 500),
	      "half a record, then nothing ever");
	usleep(100000);	/* nothing to wait for: the rest never comes */
	r = hostile_rmsg(s, buf, sizeof(buf), MSG_DONTWAIT, &fl);
	CHECK(r < 0 && errno == EAGAIN, "non-blocking recv: EAGAIN, got %zd", r);
	CHECK(!hostile_readable(s, 200), "poll: not readable");
	hostile_rcvtimeo(s, 300);
	t0 = now_ms();
	r = hostile_rmsg(s, buf, sizeof(buf), 0, &fl);
	printf("# blocking recv with SO_RCVTIMEO 300 ms: %zd (%s) after %lld ms\n",
	       r, r < 0 ? ntcp_errname(errno) : "data", now_ms() - t0);
	CHECK(now_ms() - t0 < 1300, "bounded by SO_RCVTIMEO");
	CHECK((r < 0 && errno == EAGAIN) || (r > 0 && !(fl & MSG_EOR)),
	      "no whole record claimed");
	close(s);
	close(h);
	close(l);
	MEM_END();
	return 0;
}

/* Payload bytes the inner TCP socket has taken in (TCP_INFO passes through). */
static long long bytes_in(int s)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	memset(&ti, 0, sizeof(ti));
	if (getsockopt(s, IPPROTO_TCP, TCP_INFO, &ti, &len))
		return -1;
	return (long long)ti.tcpi_bytes_received;
}

static int t_staged_short_not_readable(void)
{
	char buf[2000];
	int l, h, s, fl, i;
	long long before;
	ssize_t r;
	MEM_START();

	CHECK(!hostile_pair(SOCK_SEQPACKET, &l, &h, &s), "pair");
	CHECK(!hostile_hdr(h, 1000) && !hostile_fill(h, 300),
	      "300 of 1000 bytes");
	CHECK(hostile_readable(s, 2000), "the first bytes arrive");
	r = hostile_rmsg(s, buf, sizeof(buf), MSG_DONTWAIT, &fl);
	CHECK(r < 0 && errno == EAGAIN, "staged: EAGAIN, got %zd", r);
	before = bytes_in(s);
	CHECK(before > 0 && !hostile_fill(h, 100), "100 more bytes");
	/* Until TCP holds them: the event this test is about. */
	for (i = 0; i < 2000 && bytes_in(s) < before + 100; i++)
		usleep(1000);
	CHECK(bytes_in(s) >= before + 100, "the 100 bytes reached TCP");
	CHECK(!hostile_readable(s, 0),
	      "poll says readable while 600 bytes of the record are missing");
	r = hostile_rmsg(s, buf, sizeof(buf), MSG_DONTWAIT, &fl);
	CHECK(r < 0 && errno == EAGAIN, "still EAGAIN, got %zd", r);
	CHECK(!hostile_fill(h, 600), "the rest");
	CHECK(hostile_readable(s, 2000), "the whole record is readable");
	r = hostile_rmsg(s, buf, sizeof(buf), MSG_DONTWAIT, &fl);
	CHECK(r == 1000 && (fl & MSG_EOR), "the record, got %zd", r);
	close(s);
	close(h);
	close(l);
	MEM_END();
	return 0;
}

static int t_rst_mid_record(void)
{
	char buf[2000];
	int l, h, s, fl, staged;
	ssize_t r;
	MEM_START();

	for (staged = 0; staged < 2; staged++) {
		CHECK(!hostile_pair(SOCK_SEQPACKET, &l, &h, &s), "pair");
		hostile_rcvtimeo(s, 2000);
		CHECK(!hostile_hdr(h, 1000) && !hostile_fill(h, 300),
		      "300 of 1000 bytes");
		if (staged) {
			r = hostile_rmsg(s, buf, sizeof(buf), MSG_DONTWAIT, &fl);
			CHECK(r < 0 && errno == EAGAIN, "EAGAIN, got %zd", r);
			CHECK(!hostile_readable(s, 100), "not readable");
		}
		hostile_rst(h);
		CHECK(hostile_readable(s, 2000), "the RST wakes poll");
		r = hostile_rmsg(s, buf, sizeof(buf), 0, &fl);
		CHECK(r < 0 && errno == ECONNRESET,
		      "%s reader: ECONNRESET, got %zd",
		      staged ? "staged non-blocking" : "blocking", r);
		close(s);
		close(l);
	}
	MEM_END();
	return 0;
}

static int t_oob_seqpacket(void)
{
	char buf[2000];
	int l, h, s, fl, i;
	long long t0;
	ssize_t r;
	MEM_START();

	CHECK(!hostile_pair(SOCK_SEQPACKET, &l, &h, &s), "pair");
	CHECK(!hostile_hdr(h, 4) && write(h, "ab", 2) == 2 &&
	      !hostile_oob(h, 'c') && write(h, "d", 1) == 1 &&
	      !hostile_record(h, "z", 1), "a record with an urgent byte in it");
	r = recv(s, buf, sizeof(buf), MSG_OOB | MSG_DONTWAIT);
	CHECK(r < 0 && errno == EOPNOTSUPP, "recv(MSG_OOB): EOPNOTSUPP, got %zd",
	      r);
	hostile_rcvtimeo(s, 300);
	for (i = 0; i < 4; i++) {
		t0 = now_ms();
		r = hostile_rmsg(s, buf, sizeof(buf), 0, &fl);
		printf("# recv %d: %zd (%s) flags %#x after %lld ms\n", i, r,
		       r < 0 ? ntcp_errname(errno) : "data", fl, now_ms() - t0);
		CHECK(now_ms() - t0 < 1300, "every recv bounded");
		if (r <= 0)
			break;
	}
	close(s);
	close(h);
	close(l);
	MEM_END();
	return 0;
}

static int t_oob_stream(void)
{
	char buf[64], got[64];
	int l, h, s;
	size_t n = 0;
	long long end;
	ssize_t r;
	MEM_START();

	CHECK(!hostile_pair(SOCK_STREAM, &l, &h, &s), "pair");
	CHECK(write(h, "abc", 3) == 3 && !hostile_oob(h, 'X') &&
	      write(h, "def", 3) == 3, "abc, urgent X, def");
	hostile_rcvtimeo(s, 300);
	end = now_ms() + 2000;
	while (n < 6 && now_ms() < end) {
		r = recv(s, got + n, sizeof(got) - n, 0);
		if (r <= 0 && errno != EAGAIN)
			break;
		if (r > 0)
			n += r;
	}
	CHECK(n == 6 && !memcmp(got, "abcdef", 6),
	      "in-band bytes as TCP keeps them (urgent byte out of band): "
	      "'%.*s'", (int)n, got);
	r = recv(s, buf, 1, MSG_OOB | MSG_DONTWAIT);
	printf("# recv(MSG_OOB): %zd (%s)\n", r, r < 0 ? ntcp_errname(errno) :
	       "data");
	CHECK((r == 1 && buf[0] == 'X') || (r < 0 && errno == EINVAL),
	      "MSG_OOB as TCP answers it");
	close(s);
	close(h);
	close(l);
	MEM_END();
	return 0;
}

/*
 * A peer announcing LIMIT (16 MiB) to RECEIVERS sockets that allow such
 * records (NEWTCP_MAXMSG 16 MiB) and sending 100 bytes of each: the
 * receivers' kernel memory (Slab + vmalloc) may grow beyond what the
 * test's memory cgroup is charged by at most UNCHARGED_KB in all.
 */
#define RECEIVERS	4
#define UNCHARGED_KB	4096

static int t_announce_16m(void)
{
	int l, h[RECEIVERS], s[RECEIVERS], fl, i, maxmsg = LIMIT;
	struct hostile_mem m0, m1;
	long kern_kb, cg_kb;
	uint16_t port;
	char buf[64], why[256];
	ssize_t r;

	if (hostile_cgroup_enter("sockvm-hostile", why, sizeof(why)))
		SKIP_TEST("memory cgroup: %s", why);
	{
		MEM_START();

		l = ntcp_listener(SOCK_SEQPACKET, &port);
		CHECK(l >= 0, "listener");
		CHECK(!setsockopt(l, SOL_NEWTCP, NEWTCP_MAXMSG, &maxmsg,
				  sizeof(maxmsg)), "NEWTCP_MAXMSG 16 MiB");
		hostile_rcvtimeo(l, 2000);
		for (i = 0; i < RECEIVERS; i++) {
			h[i] = hostile_client(lo, port, SOCK_SEQPACKET);
			CHECK(h[i] >= 0, "hostile client %d", i);
			s[i] = accept(l, NULL, NULL);
			CHECK(s[i] >= 0, "accept %d", i);
		}
		hostile_mem_snap(&m0);
		for (i = 0; i < RECEIVERS; i++) {
			CHECK(!hostile_hdr(h[i], LIMIT) && !hostile_fill(h[i], 100),
			      "16 MiB announced, 100 bytes sent");
			r = hostile_rmsg(s[i], buf, sizeof(buf), MSG_DONTWAIT, &fl);
			CHECK((r < 0 && errno == EAGAIN) || (r > 0 && !(fl & MSG_EOR)),
			      "non-blocking recv: %zd", r);
		}
		hostile_mem_snap(&m1);
		hostile_mem_diag("4 receivers after 16 MiB announced", &m0, &m1);
		kern_kb = (m1.slab_kb - m0.slab_kb) + (m1.vmalloc_kb - m0.vmalloc_kb);
		cg_kb = (m1.cg - m0.cg) / 1024;
		printf("# kernel +%ld kB, cgroup charged +%ld kB, uncharged %ld kB "
		       "(bound %d kB); NEW_TCP pages +%ld\n", kern_kb, cg_kb,
		       kern_kb - cg_kb, UNCHARGED_KB, m1.pages - m0.pages);
		CHECK(kern_kb - cg_kb <= UNCHARGED_KB,
		      "a peer's 16 MiB headers made the receivers allocate %ld kB "
		      "charged to no cgroup", kern_kb - cg_kb);
		for (i = 0; i < RECEIVERS; i++) {
			close(s[i]);
			close(h[i]);
		}
		close(l);
		MEM_END();
	}
	return 0;
}

int main(void)
{
	static const struct ntcp_test tests[] = {
		{ "hello: garbage, echoed, short, v2, wrong-type client hellos: never accepted, dropped at once", t_client_bad_hellos, 15 },
		{ "hello: a client hello trickled one byte per 150 ms is dropped at handshake_ms; a slow whole one is accepted", t_client_hello_trickle, 15 },
		{ "hello: garbage, echoed, short, busy, wrong-type, v2 replies: connect ECONNREFUSED within 1 s", t_server_bad_hellos, 20 },
		{ "hello: a reply trickled one byte per 150 ms: connect ETIMEDOUT at handshake_ms", t_server_hello_trickle, 15 },
		{ "crowd: 1000 idle plain TCP connections at a stream listener, a genuine client connects within 1 s (5x alone on a slow kernel)", t_crowd_stream, 30 },
		{ "crowd: 1000 idle plain TCP connections, a genuine client from another network namespace (veth) connects within 1 s (5x alone on a slow kernel)", t_crowd_netns, 30 },
		{ "crowd: 500 idle plain TCP connections at a seqpacket listener, a genuine client connects within 1 s (5x alone on a slow kernel)", t_crowd_seqpacket, 30 },
		{ "crowd: 600 idle connections over max_handshakes 100: refusals counted, a genuine client still connects", t_crowd_bounded, 30 },
		{ "crowd: 300 client handshakes waiting on a silent server do not delay a genuine connect", t_client_crowd, 30 },
		{ "record: length 0xffffffff then a valid record: EPROTO, and the next record is not handed out", t_len_ffffffff, 10 },
		{ "record: lengths 16 MiB+1, 0x7fffffff, 0x80000000 are EPROTO; 16 MiB exactly is a record", t_len_limits, 15 },
		{ "record: header split byte by byte: EAGAIN until whole, then intact, also to a blocking reader", t_header_split, 15 },
		{ "record: stalls half way forever: EAGAIN, not readable, bounded blocking read, close frees it", t_stall, 10 },
		{ "record: a staged record still short is not readable while TCP holds only part of the rest", t_staged_short_not_readable, 10 },
		{ "record: RST in the middle of a record: ECONNRESET for blocking and staged readers", t_rst_mid_record, 10 },
		{ "record: MSG_OOB inside a SEQPACKET record: EOPNOTSUPP for MSG_OOB, every recv bounded", t_oob_seqpacket, 10 },
		{ "stream: MSG_OOB into a STREAM connection: in-band bytes as TCP keeps them", t_oob_stream, 10 },
		{ "memory: 16 MiB announced to 4 receivers: no more than 4 MiB of kernel memory uncharged to their cgroup", t_announce_16m, 20 },
	};

	lo.s_addr = htonl(INADDR_LOOPBACK);
	return ntcp_run_suite(tests, ARRAY_SIZE(tests));
}
