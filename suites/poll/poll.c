// SPDX-License-Identifier: GPL-2.0
/*
 * poll: readiness of NEW_TCP sockets through poll(2), select(2) and
 * epoll(7), level- and edge-triggered, for every transition a socket
 * goes through: an incoming connection, connect completion or failure,
 * data, write space, the peer's shutdown, close and reset, and wakeups
 * of waiters blocked in another thread or process.
 *
 * Most tests run for SOCK_STREAM and SOCK_SEQPACKET ("[stream]",
 * "[seqpacket]" in the name); each runs in its own child (run_test).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/select.h>
#include <sys/wait.h>

#include "hostile.h"
#include "ntcp.h"
#include "tap.h"

/* Socket type of the running test. */
static int ty;

/* Everything poll can say, so a test sees unexpected bits too. */
#define ALL	(POLLIN | POLLPRI | POLLOUT | POLLRDHUP | POLLRDNORM | POLLWRNORM)

static short revents(int fd, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = ALL };

	if (poll(&p, 1, timeout_ms) < 0)
		return -1;
	return p.revents;
}

/* Wait up to @ms for all of @bits, return the final revents. */
static short wait_for(int fd, short bits, int ms)
{
	long long end = now_ms() + ms;
	short r;

	do {
		r = revents(fd, 20);
		if (r >= 0 && (r & bits) == bits)
			return r;
	} while (now_ms() < end);
	return r;
}

static int epoll_add(int fd, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.fd = fd };
	int ep = epoll_create1(EPOLL_CLOEXEC);

	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev))
		return -1;
	return ep;
}

/* Events epoll reports within @ms, 0 if none; -1 on error. */
static int ep_events(int ep, int ms, uint32_t *events)
{
	struct epoll_event ev;
	int n = epoll_wait(ep, &ev, 1, ms);

	if (n == 1)
		*events = ev.events;
	return n;
}

static int wait_child(pid_t pid)
{
	int st;

	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* A record (SEQPACKET) or the same bytes (STREAM). */
static int put(int fd, const char *s)
{
	return send(fd, s, strlen(s), MSG_NOSIGNAL) == (ssize_t)strlen(s);
}

/* ---- listeners ---------------------------------------------------------- */

static int t_listener_pollin(void)
{
	uint16_t port;
	int l = ntcp_listener(ty, &port), c, s;
	short r;

	CHECK(l >= 0, "listener");
	r = revents(l, 0);
	CHECK(r == 0, "idle listener: no events, got %#x", r);
	c = ntcp_connect(ty, port);
	CHECK(c >= 0, "connect");
	r = wait_for(l, POLLIN, 3000);
	CHECK(r == (POLLIN | POLLRDNORM), "POLLIN|POLLRDNORM, got %#x", r);
	r = revents(l, 0);
	CHECK(r == (POLLIN | POLLRDNORM), "level-triggered: still %#x", r);
	s = accept(l, NULL, NULL);
	CHECK(s >= 0, "accept");
	r = revents(l, 0);
	CHECK(r == 0, "accept cleared POLLIN, got %#x", r);
	return 0;
}

static int t_listener_epoll_et(void)
{
	uint16_t port;
	int l = ntcp_listener(ty, &port), ep, c1, c2, n;
	uint32_t ev = 0;

	CHECK(l >= 0, "listener");
	ep = epoll_add(l, EPOLLIN | EPOLLET);
	CHECK(ep >= 0, "epoll");
	CHECK(ep_events(ep, 0, &ev) == 0, "nothing before a connection");
	c1 = ntcp_connect(ty, port);
	CHECK(c1 >= 0, "connect 1");
	CHECK(ep_events(ep, 3000, &ev) == 1 && ev == EPOLLIN, "EPOLLIN, %#x", ev);
	n = ep_events(ep, 200, &ev);
	CHECK(n == 0, "edge-triggered: no second report for one connection (%d)", n);
	c2 = ntcp_connect(ty, port);
	CHECK(c2 >= 0, "connect 2");
	CHECK(ep_events(ep, 3000, &ev) == 1 && ev == EPOLLIN,
	      "a new connection re-arms the edge");
	return 0;
}

/* Non-blocking accept loop driven by epoll drains every connection. */
static int t_listener_drain(void)
{
	uint16_t port;
	int l = ntcp_listener(ty, &port), ep, i, got = 0, c[8];
	uint32_t ev;
	long long end;

	CHECK(l >= 0, "listener");
	CHECK(!fcntl(l, F_SETFL, O_NONBLOCK), "nonblock");
	ep = epoll_add(l, EPOLLIN);
	for (i = 0; i < 8; i++)
		CHECK((c[i] = ntcp_connect(ty, port)) >= 0, "connect %d", i);
	end = now_ms() + 5000;
	while (got < 8 && now_ms() < end) {
		if (ep_events(ep, 1000, &ev) != 1)
			continue;
		while (accept(l, NULL, NULL) >= 0)
			got++;
		CHECK(errno == EAGAIN, "accept stops with EAGAIN");
	}
	CHECK(got == 8, "accepted %d of 8", got);
	CHECK(ep_events(ep, 100, &ev) == 0, "no event once drained");
	return 0;
}

/* ---- connecting ----------------------------------------------------------- */

static int t_unconnected(void)
{
	int fd = socket(ntcp_family, ty, 0);
	int tcp = socket(AF_INET, SOCK_STREAM, 0);
	short r, rt;

	CHECK(fd >= 0 && tcp >= 0, "sockets");
	r = revents(fd, 0);
	rt = revents(tcp, 0);
	CHECK(r == (POLLOUT | POLLWRNORM | POLLHUP), "fresh socket %#x", r);
	CHECK(r == rt, "same as a fresh TCP socket (%#x vs %#x)", r, rt);
	return 0;
}

static int t_nb_connect(void)
{
	uint16_t port;
	int l = ntcp_listener(ty, &port), c, ep, err = -1;
	struct sockaddr_newtcp a = ntcp_addr(port);
	socklen_t len = sizeof(err);
	uint32_t ev = 0;
	short r;

	CHECK(l >= 0, "listener");
	c = socket(ntcp_family, ty | SOCK_NONBLOCK, 0);
	ep = epoll_add(c, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET);
	CHECK(ep >= 0, "epoll");
	CHECK(connect(c, (struct sockaddr *)&a, sizeof(a)) && errno == EINPROGRESS,
	      "EINPROGRESS");
	CHECK(ep_events(ep, 5000, &ev) == 1, "completion reported");
	CHECK(ev == EPOLLOUT, "EPOLLOUT only, got %#x", ev);
	CHECK(ep_events(ep, 200, &ev) == 0, "reported once (ET), then %#x", ev);
	r = revents(c, 0);
	CHECK(r == (POLLOUT | POLLWRNORM), "poll: writable, %#x", r);
	CHECK(!getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &len) && err == 0,
	      "SO_ERROR 0, got %d", err);
	CHECK(!connect(c, (struct sockaddr *)&a, sizeof(a)) || errno == EISCONN,
	      "connect again: 0 or EISCONN");
	return 0;
}

static int t_nb_connect_refused(void)
{
	uint16_t port;
	int l = ntcp_listener(ty, &port), c, err = -1;
	struct sockaddr_newtcp a = ntcp_addr(port);
	socklen_t len = sizeof(err);
	short r;

	close(l);
	c = socket(ntcp_family, ty | SOCK_NONBLOCK, 0);
	CHECK(connect(c, (struct sockaddr *)&a, sizeof(a)) && errno == EINPROGRESS,
	      "EINPROGRESS");
	r = wait_for(c, POLLERR, 5000);
	CHECK((r & (POLLERR | POLLHUP)) == (POLLERR | POLLHUP),
	      "POLLERR|POLLHUP, got %#x", r);
	CHECK(!getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &len) &&
	      err == ECONNREFUSED, "SO_ERROR %s", ntcp_errname(err));
	CHECK(!getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &len) && err == 0,
	      "SO_ERROR cleared by reading it");
	r = revents(c, 0);
	CHECK(!(r & POLLERR), "POLLERR gone with the error, %#x", r);
	return 0;
}

/* The peer speaks the wrong socket type: refused by status, not by TCP. */
static int t_nb_connect_badtype(void)
{
	int other = ty == SOCK_STREAM ? SOCK_SEQPACKET : SOCK_STREAM;
	uint16_t port;
	int l = ntcp_listener(other, &port), c, err = -1;
	struct sockaddr_newtcp a = ntcp_addr(port);
	socklen_t len = sizeof(err);
	short r;

	CHECK(l >= 0, "listener");
	c = socket(ntcp_family, ty | SOCK_NONBLOCK, 0);
	CHECK(connect(c, (struct sockaddr *)&a, sizeof(a)) && errno == EINPROGRESS,
	      "EINPROGRESS");
	r = wait_for(c, POLLERR, 5000);
	CHECK(r & POLLERR, "POLLERR, got %#x", r);
	CHECK(!(r & POLLIN) || (r & POLLHUP), "no data readiness, %#x", r);
	CHECK(!getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &len) &&
	      err == ECONNREFUSED, "SO_ERROR %s", ntcp_errname(err));
	fcntl(l, F_SETFL, O_NONBLOCK);
	CHECK(accept(l, NULL, NULL) < 0 && errno == EAGAIN, "nothing to accept");
	return 0;
}

/*
 * TCP is up but the peer never answers the hello: not writable while
 * the NEW_TCP handshake is pending, then POLLERR with ETIMEDOUT.
 */
static int t_nb_connect_handshake(void)
{
	uint16_t port;
	int l = tcp_listener(&port), c, err = -1, ep, hs;
	struct sockaddr_newtcp a = ntcp_addr(port);
	socklen_t len = sizeof(err);
	long long t0;
	uint32_t ev = 0;
	short r;

	CHECK(l >= 0, "plain TCP listener");
	/* 800 ms, not 2 s, for a shorter wait; the runner puts it back. */
	hs = hostile_set_handshake_ms(800);
	CHECK(hs > 0, "handshake_ms writable");
	c = socket(ntcp_family, ty | SOCK_NONBLOCK, 0);
	ep = epoll_add(c, EPOLLIN | EPOLLOUT | EPOLLET);
	t0 = now_ms();
	CHECK(connect(c, (struct sockaddr *)&a, sizeof(a)) && errno == EINPROGRESS,
	      "EINPROGRESS");
	r = revents(c, 500);
	CHECK(r == 0, "nothing while the handshake is pending, got %#x", r);
	CHECK(ep_events(ep, 5000, &ev) == 1, "woken when it fails");
	CHECK(ev & EPOLLERR, "EPOLLERR, got %#x", ev);
	CHECK(now_ms() - t0 >= 650, "not before handshake_ms (%lld ms)",
	      now_ms() - t0);
	CHECK(!getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &len) && err == ETIMEDOUT,
	      "SO_ERROR %s", ntcp_errname(err));
	hostile_set_handshake_ms(hs);
	return 0;
}

/* ---- data ------------------------------------------------------------------ */

static int t_data_level(void)
{
	int c, s;
	char buf[16];
	short r;

	CHECK(!ntcp_pair(ty, &c, &s), "pair");
	r = revents(s, 0);
	CHECK(r == (POLLOUT | POLLWRNORM), "idle: writable only, %#x", r);
	CHECK(put(c, "abc"), "send");
	r = wait_for(s, POLLIN, 3000);
	CHECK(r == (POLLIN | POLLRDNORM | POLLOUT | POLLWRNORM), "readable, %#x", r);
	CHECK(recv(s, buf, 1, MSG_PEEK) == 1, "peek");
	r = revents(s, 0);
	CHECK(r & POLLIN, "MSG_PEEK leaves POLLIN, %#x", r);
	CHECK(recv(s, buf, 2, 0) == 2, "read part");
	if (ty == SOCK_STREAM) {
		r = revents(s, 0);
		CHECK(r & POLLIN, "a byte left: still POLLIN, %#x", r);
		CHECK(recv(s, buf, 16, 0) == 1, "read the rest");
	}
	r = revents(s, 0);
	CHECK(r == (POLLOUT | POLLWRNORM), "drained: POLLIN gone, %#x", r);
	return 0;
}

static int t_data_records(void)
{
	int c, s;
	char buf[16];
	short r;

	CHECK(!ntcp_pair(SOCK_SEQPACKET, &c, &s), "pair");
	CHECK(put(c, "one") && put(c, "two") && send(c, "", 0, 0) == 0, "3 records");
	r = wait_for(s, POLLIN, 3000);
	CHECK(r & POLLIN, "readable");
	CHECK(recv(s, buf, 16, 0) == 3, "record 1");
	CHECK(revents(s, 0) & POLLIN, "two records left: POLLIN");
	CHECK(recv(s, buf, 16, 0) == 3, "record 2");
	r = wait_for(s, POLLIN, 3000);
	CHECK(r & POLLIN, "an empty record is readable too, %#x", r);
	CHECK(recv(s, buf, 16, 0) == 0, "record 3 is empty");
	r = revents(s, 0);
	CHECK(!(r & POLLIN), "no records left, %#x", r);
	return 0;
}

static int t_select(void)
{
	int c, s;
	fd_set rd, wr, ex;
	struct timeval tv = { 0, 0 };
	char buf[8];

	CHECK(!ntcp_pair(ty, &c, &s), "pair");
	FD_ZERO(&rd); FD_ZERO(&wr); FD_ZERO(&ex);
	FD_SET(s, &rd); FD_SET(s, &wr); FD_SET(s, &ex);
	CHECK(select(s + 1, &rd, &wr, &ex, &tv) == 1 && FD_ISSET(s, &wr) &&
	      !FD_ISSET(s, &rd) && !FD_ISSET(s, &ex), "idle: writable only");
	CHECK(put(c, "x"), "send");
	FD_ZERO(&rd); FD_ZERO(&ex);
	FD_SET(s, &rd); FD_SET(s, &ex);
	tv = (struct timeval){ 3, 0 };
	CHECK(select(s + 1, &rd, NULL, &ex, &tv) == 1 && FD_ISSET(s, &rd) &&
	      !FD_ISSET(s, &ex), "readable, no exception");
	CHECK(recv(s, buf, 8, 0) == 1, "read");
	FD_ZERO(&rd);
	FD_SET(s, &rd);
	tv = (struct timeval){ 0, 100000 };
	CHECK(select(s + 1, &rd, NULL, NULL, &tv) == 0, "drained: times out");
	CHECK(!shutdown(c, SHUT_WR), "peer SHUT_WR");
	FD_ZERO(&rd);
	FD_SET(s, &rd);
	tv = (struct timeval){ 3, 0 };
	CHECK(select(s + 1, &rd, NULL, NULL, &tv) == 1 && FD_ISSET(s, &rd),
	      "EOF is readable");
	return 0;
}

static int t_epoll_level(void)
{
	int c, s, ep, i;
	uint32_t ev = 0;
	char buf[8];

	CHECK(!ntcp_pair(ty, &c, &s), "pair");
	ep = epoll_add(s, EPOLLIN);
	CHECK(ep_events(ep, 0, &ev) == 0, "nothing yet");
	CHECK(put(c, "ab"), "send");
	for (i = 0; i < 3; i++)
		CHECK(ep_events(ep, 3000, &ev) == 1 && ev == EPOLLIN,
		      "level-triggered: reported again (%d), %#x", i, ev);
	CHECK(recv(s, buf, 8, 0) == 2, "drain");
	CHECK(ep_events(ep, 100, &ev) == 0, "drained: nothing");
	return 0;
}

static int t_epoll_edge(void)
{
	int c, s, ep;
	uint32_t ev = 0;
	char buf[8];

	CHECK(!ntcp_pair(ty, &c, &s), "pair");
	ep = epoll_add(s, EPOLLIN | EPOLLOUT | EPOLLET);
	CHECK(ep_events(ep, 1000, &ev) == 1 && ev == EPOLLOUT,
	      "initial EPOLLOUT edge, %#x", ev);
	CHECK(ep_events(ep, 100, &ev) == 0, "then quiet");
	CHECK(put(c, "a"), "send 1");
	CHECK(ep_events(ep, 3000, &ev) == 1 && (ev & EPOLLIN), "EPOLLIN edge");
	CHECK(ep_events(ep, 200, &ev) == 0, "not reported again without new data");
	CHECK(put(c, "b"), "send 2");
	CHECK(ep_events(ep, 3000, &ev) == 1 && (ev & EPOLLIN),
	      "new data, new edge although the first is unread");
	CHECK(recv(s, buf, 1, 0) == 1, "read one");
	CHECK(ep_events(ep, 100, &ev) == 0, "reading makes no edge");
	return 0;
}

static int t_epoll_oneshot(void)
{
	struct epoll_event mod = { .events = EPOLLIN | EPOLLONESHOT };
	int c, s, ep;
	uint32_t ev = 0;

	CHECK(!ntcp_pair(ty, &c, &s), "pair");
	ep = epoll_add(s, EPOLLIN | EPOLLONESHOT);
	CHECK(put(c, "1"), "send");
	CHECK(ep_events(ep, 3000, &ev) == 1 && ev == EPOLLIN, "first event");
	CHECK(put(c, "2"), "send more");
	CHECK(ep_events(ep, 200, &ev) == 0, "disarmed after one event");
	mod.data.fd = s;
	CHECK(!epoll_ctl(ep, EPOLL_CTL_MOD, s, &mod), "re-arm");
	CHECK(ep_events(ep, 1000, &ev) == 1 && ev == EPOLLIN, "reported after re-arm");
	return 0;
}

/* Send 4 KiB records without blocking until EAGAIN came 6 times running. */
static long fill_records(int fd)
{
	static char buf[4096];
	long n = 0;
	int idle = 0;

	while (idle < 6) {
		ssize_t r = send(fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_NOSIGNAL);

		if (r == (ssize_t)sizeof(buf)) {
			n += r;
			idle = 0;
			continue;
		}
		if (r >= 0 || errno != EAGAIN)
			return -1;	/* a record is all or nothing */
		idle++;
		usleep(50000);
	}
	return n;
}

/* STREAM fills with 4 KiB writes, SEQPACKET with 4 KiB records. */
static int t_write_space(void)
{
	int c, s, ep, sz = 8192, events = 0;
	static char buf[65536];
	uint32_t ev = 0;
	long sent, got = 0;
	short r;

	{
		/* Small receive window from the start: set on the listener. */
		struct sockaddr_newtcp a = ntcp_addr(0);
		socklen_t al = sizeof(a);
		int l = socket(ntcp_family, ty, 0);

		CHECK(!setsockopt(l, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz)) &&
		      !bind(l, (struct sockaddr *)&a, sizeof(a)) && !listen(l, 4) &&
		      !getsockname(l, (struct sockaddr *)&a, &al), "listener");
		c = ntcp_connect(ty, ntohs(a.snt_port));
		s = accept(l, NULL, NULL);
		CHECK(c >= 0 && s >= 0, "pair");
	}
	setsockopt(c, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	sent = ty == SOCK_SEQPACKET ? fill_records(c) : ntcp_fill(c, ty, 6, 50000);
	CHECK(sent > 0, "filled after %ld bytes", sent);
	r = revents(c, 0);
	CHECK(!(r & POLLOUT), "full: not writable, %#x", r);
	ep = epoll_add(c, EPOLLOUT | EPOLLET);
	CHECK(ep_events(ep, 200, &ev) == 0, "ET: no EPOLLOUT while full");
	while (got < sent) {
		ssize_t n = recv(s, buf, sizeof(buf), MSG_DONTWAIT);

		if (n > 0) {
			CHECK(ty != SOCK_SEQPACKET || n == 4096,
			      "a whole 4 KiB record, got %zd", n);
			got += n;
			continue;
		}
		CHECK(n < 0 && errno == EAGAIN, "drain");
		if (ep_events(ep, 100, &ev) == 1) {
			CHECK(ev & EPOLLOUT, "EPOLLOUT, %#x", ev);
			events++;
		}
	}
	while (ep_events(ep, 300, &ev) == 1)
		events++;
	CHECK(events >= 1, "EPOLLOUT edge when space came back");
	r = revents(c, 0);
	CHECK(r & POLLOUT, "writable again, %#x", r);
	if (ty == SOCK_SEQPACKET)
		CHECK(send(c, buf, 4096, MSG_DONTWAIT) == 4096,
		      "and a 4 KiB record goes without blocking");
	tap_diag("%ld bytes queued, %d EPOLLOUT edge(s) while draining",
		 sent, events);
	return 0;
}

/* ---- shutdown, close, reset ------------------------------------------------ */

static int t_peer_shut_wr(void)
{
	int c, s, ep;
	uint32_t ev = 0;
	char buf[8];
	short r;

	CHECK(!ntcp_pair(ty, &c, &s), "pair");
	ep = epoll_add(s, EPOLLIN | EPOLLRDHUP | EPOLLET);
	CHECK(put(c, "last"), "send");
	CHECK(!shutdown(c, SHUT_WR), "peer SHUT_WR");
	r = wait_for(s, POLLRDHUP, 3000);
	CHECK(r == (POLLIN | POLLRDNORM | POLLRDHUP | POLLOUT | POLLWRNORM),
	      "POLLIN|POLLRDHUP, still writable, no POLLHUP: %#x", r);
	CHECK(ep_events(ep, 1000, &ev) == 1 && (ev & (EPOLLIN | EPOLLRDHUP)) ==
	      (EPOLLIN | EPOLLRDHUP), "epoll EPOLLIN|EPOLLRDHUP, %#x", ev);
	CHECK(recv(s, buf, 8, 0) == 4, "data before EOF");
	CHECK(recv(s, buf, 8, 0) == 0, "EOF");
	r = revents(s, 0);
	CHECK(r & POLLRDHUP, "EOF stays readable, %#x", r);
	CHECK(put(s, "back"), "the other direction still works");
	r = wait_for(c, POLLIN, 3000);
	CHECK((r & (POLLIN | POLLOUT | POLLHUP | POLLRDHUP)) == (POLLIN | POLLOUT),
	      "the half-closer reads on, writable (TCP), %#x", r);
	return 0;
}

static int t_both_shut_wr(void)
{
	int c, s;
	short r;

	CHECK(!ntcp_pair(ty, &c, &s), "pair");
	CHECK(!shutdown(c, SHUT_WR) && !shutdown(s, SHUT_WR), "both SHUT_WR");
	r = wait_for(s, POLLHUP | POLLRDHUP, 3000);
	CHECK((r & (POLLHUP | POLLIN | POLLRDHUP)) == (POLLHUP | POLLIN | POLLRDHUP),
	      "server POLLHUP|POLLIN|POLLRDHUP, %#x", r);
	r = wait_for(c, POLLHUP | POLLRDHUP, 3000);
	CHECK((r & (POLLHUP | POLLIN | POLLRDHUP)) == (POLLHUP | POLLIN | POLLRDHUP),
	      "client POLLHUP|POLLIN|POLLRDHUP, %#x", r);
	CHECK(!(r & POLLERR), "no error, %#x", r);
	return 0;
}

static int t_own_shut_rd(void)
{
	int c, s;
	char b;
	short r;

	CHECK(!ntcp_pair(ty, &c, &s), "pair");
	CHECK(!shutdown(s, SHUT_RD), "SHUT_RD");
	r = revents(s, 0);
	CHECK((r & (POLLIN | POLLRDHUP)) == (POLLIN | POLLRDHUP),
	      "POLLIN|POLLRDHUP after own SHUT_RD, %#x", r);
	CHECK(recv(s, &b, 1, 0) == 0, "read returns 0");
	return 0;
}

static int t_peer_close(void)
{
	int c, s, err = -1;
	socklen_t len = sizeof(err);
	char b;
	short r;

	CHECK(!ntcp_pair(ty, &c, &s), "pair");
	close(c);
	r = wait_for(s, POLLRDHUP, 3000);
	CHECK((r & (POLLIN | POLLRDHUP)) == (POLLIN | POLLRDHUP) &&
	      !(r & (POLLERR | POLLHUP)), "FIN: POLLIN|POLLRDHUP, %#x", r);
	CHECK(recv(s, &b, 1, 0) == 0, "EOF");
	/* Writing to a closed peer draws a RST. */
	CHECK(send(s, "x", 1, MSG_NOSIGNAL) == 1, "one write to the closed peer");
	r = wait_for(s, POLLERR | POLLHUP, 3000);
	CHECK((r & (POLLERR | POLLHUP)) == (POLLERR | POLLHUP),
	      "after the RST: POLLERR|POLLHUP, %#x", r);
	/* TCP's word for a RST in CLOSE_WAIT is EPIPE. */
	CHECK(!getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &len) && err == EPIPE,
	      "SO_ERROR %s", ntcp_errname(err));
	return 0;
}

static int t_peer_reset(void)
{
	struct linger lg = { 1, 0 };
	int c, s, ep, err = -1;
	socklen_t len = sizeof(err);
	uint32_t ev = 0;
	char b;
	short r;

	CHECK(!ntcp_pair(ty, &c, &s), "pair");
	ep = epoll_add(s, EPOLLIN | EPOLLRDHUP | EPOLLET);
	CHECK(!setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), "linger 0");
	close(c);
	CHECK(ep_events(ep, 3000, &ev) == 1, "epoll woken by the reset");
	CHECK((ev & (EPOLLERR | EPOLLHUP)) == (EPOLLERR | EPOLLHUP),
	      "EPOLLERR|EPOLLHUP, %#x", ev);
	r = revents(s, 0);
	CHECK((r & (POLLERR | POLLHUP | POLLIN)) == (POLLERR | POLLHUP | POLLIN),
	      "POLLERR|POLLHUP|POLLIN, %#x", r);
	CHECK(!getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &len) && err == ECONNRESET,
	      "SO_ERROR %s", ntcp_errname(err));
	CHECK(recv(s, &b, 1, 0) <= 0, "read after reset");
	return 0;
}

/* ---- wakeups ------------------------------------------------------------- */

struct waiter {
	int fd, how;		/* 0 poll, 1 recv, 2 accept, 3 epoll */
	short revents;
	ssize_t rc;
	int err;
	volatile int done;
};

static void *wait_thread(void *arg)
{
	struct waiter *w = arg;
	struct pollfd p = { .fd = w->fd, .events = POLLIN };
	char b;

	switch (w->how) {
	case 0:
		w->rc = poll(&p, 1, 10000);
		w->revents = p.revents;
		break;
	case 1:
		w->rc = recv(w->fd, &b, 1, 0);
		break;
	case 2:
		w->rc = accept(w->fd, NULL, NULL);
		break;
	}
	w->err = errno;
	w->done = 1;
	return NULL;
}

static int start_waiter(struct waiter *w, pthread_t *th)
{
	if (pthread_create(th, NULL, wait_thread, w))
		return -1;
	usleep(200000);		/* let it block */
	return w->done ? -1 : 0;
}

static int t_wake_poll_shutdown(void)
{
	struct waiter w = { .how = 0 };
	pthread_t th;
	int c, s;

	CHECK(!ntcp_pair(ty, &c, &s), "pair");
	w.fd = s;
	CHECK(!start_waiter(&w, &th), "poll blocks");
	CHECK(!shutdown(s, SHUT_RDWR), "shutdown from another thread");
	pthread_join(th, NULL);
	CHECK(w.rc == 1 && (w.revents & POLLIN) && (w.revents & POLLHUP),
	      "poll woken: rc %zd revents %#x", w.rc, w.revents);
	return 0;
}

static int t_wake_recv_shutdown(void)
{
	struct waiter w = { .how = 1 };
	pthread_t th;
	long long t0;
	int c, s;

	CHECK(!ntcp_pair(ty, &c, &s), "pair");
	w.fd = s;
	CHECK(!start_waiter(&w, &th), "recv blocks");
	t0 = now_ms();
	CHECK(!shutdown(s, SHUT_RD), "SHUT_RD from another thread");
	pthread_join(th, NULL);
	CHECK(w.rc == 0, "recv woken with EOF: rc %zd (%s)", w.rc,
	      ntcp_errname(w.err));
	CHECK(now_ms() - t0 < 2000, "promptly (%lld ms)", now_ms() - t0);
	return 0;
}

static int t_wake_accept_shutdown(void)
{
	struct waiter w = { .how = 2 };
	pthread_t th;
	uint16_t port;
	int l = ntcp_listener(ty, &port);

	CHECK(l >= 0, "listener");
	w.fd = l;
	CHECK(!start_waiter(&w, &th), "accept blocks");
	CHECK(!shutdown(l, SHUT_RDWR), "shutdown the listener from another thread");
	pthread_join(th, NULL);
	CHECK(w.rc < 0 && w.err == EINVAL, "accept returns EINVAL: rc %zd %s",
	      w.rc, ntcp_errname(w.err));
	return 0;
}

/* The peer lives in another process and closes; our poll wakes. */
static int t_wake_peer_process_close(void)
{
	int c, s, go[2];
	pid_t pid;
	short r;
	long long t0;

	CHECK(!ntcp_pair(ty, &c, &s), "pair");
	CHECK(!pipe(go), "pipe");
	pid = fork();
	if (!pid) {
		char b;

		close(s);
		if (read(go[0], &b, 1) != 1)
			_exit(1);
		usleep(200000);
		close(c);
		_exit(0);
	}
	close(c);	/* the child holds the only reference now */
	CHECK(write(go[1], "g", 1) == 1, "go");
	t0 = now_ms();
	{
		struct pollfd p = { .fd = s, .events = POLLIN | POLLRDHUP };

		CHECK(poll(&p, 1, 5000) == 1, "poll returns");
		r = p.revents;
	}
	CHECK((r & (POLLIN | POLLRDHUP)) == (POLLIN | POLLRDHUP),
	      "woken by the peer's close: %#x", r);
	CHECK(now_ms() - t0 < 3000, "promptly (%lld ms)", now_ms() - t0);
	CHECK(wait_child(pid) == 0, "child");
	return 0;
}

/* epoll_wait in another process sees data sent while it sleeps. */
static int t_wake_epoll_process(void)
{
	int c, s, ep;
	uint32_t ev = 0;
	pid_t pid;
	long long t0;

	CHECK(!ntcp_pair(ty, &c, &s), "pair");
	ep = epoll_add(s, EPOLLIN | EPOLLET);
	pid = fork();
	if (!pid) {
		usleep(300000);
		_exit(!put(c, "wake"));
	}
	t0 = now_ms();
	CHECK(ep_events(ep, 5000, &ev) == 1 && (ev & EPOLLIN), "woken");
	CHECK(now_ms() - t0 >= 200 && now_ms() - t0 < 3000,
	      "by the data, not at once (%lld ms)", now_ms() - t0);
	CHECK(wait_child(pid) == 0, "child");
	return 0;
}

/*
 * Exactly one waiter per event: several threads blocked in accept(),
 * one connection wakes and satisfies exactly one of them.
 */
static int t_one_accept_per_connection(void)
{
	struct waiter w[4];
	pthread_t th[4];
	uint16_t port;
	int l = ntcp_listener(ty, &port), i, done, c;

	CHECK(l >= 0, "listener");
	for (i = 0; i < 4; i++) {
		w[i] = (struct waiter){ .fd = l, .how = 2 };
		CHECK(!pthread_create(&th[i], NULL, wait_thread, &w[i]), "thread");
	}
	usleep(300000);
	c = ntcp_connect(ty, port);
	CHECK(c >= 0, "connect");
	usleep(500000);
	for (i = done = 0; i < 4; i++)
		done += w[i].done;
	CHECK(done == 1, "%d of 4 blocked accepts returned for one connection", done);
	for (i = 0; i < 4 && !w[i].done; i++)
		;
	CHECK(i < 4 && w[i].rc >= 0, "and it got the connection");
	return 0;
}

/*
 * EPOLLEXCLUSIVE: four processes wait on the same listener through
 * their own epoll instances; one connection wakes exactly one.
 */
static int t_epoll_exclusive(void)
{
	uint16_t port;
	int l = ntcp_listener(ty, &port), i, c, woken;
	int *shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
			   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pid_t pid[4];

	CHECK(l >= 0 && shared != MAP_FAILED, "setup");
	for (i = 0; i < 4; i++) {
		pid[i] = fork();
		if (!pid[i]) {
			int ep = epoll_add(l, EPOLLIN | EPOLLEXCLUSIVE);
			uint32_t ev;

			if (ep < 0)
				_exit(1);
			__atomic_add_fetch(&shared[1], 1, __ATOMIC_SEQ_CST);
			if (ep_events(ep, 2000, &ev) == 1)
				__atomic_add_fetch(&shared[0], 1, __ATOMIC_SEQ_CST);
			_exit(0);
		}
	}
	while (__atomic_load_n(&shared[1], __ATOMIC_SEQ_CST) < 4)
		usleep(10000);
	usleep(300000);
	c = ntcp_connect(ty, port);
	CHECK(c >= 0, "connect");
	for (i = 0; i < 4; i++)
		CHECK(wait_child(pid[i]) == 0, "waiter %d", i);
	woken = shared[0];
	CHECK(woken == 1, "%d of 4 exclusive waiters woken by one connection", woken);
	return 0;
}

/* One arrival, one edge: count ET wakeups over a quiet half second. */
static int t_et_exactly_once(void)
{
	int c, s, ep, n = 0;
	uint32_t ev;

	CHECK(!ntcp_pair(ty, &c, &s), "pair");
	ep = epoll_add(s, EPOLLIN | EPOLLET);
	CHECK(put(c, "once"), "send");
	while (ep_events(ep, n ? 500 : 3000, &ev) == 1)
		n++;
	CHECK(n == 1, "one message, %d EPOLLIN edges", n);
	return 0;
}

int main(void)
{
	static const struct ntcp_typed_test tests[] = {
		NTCP_BOTH("listener: POLLIN on an incoming connection, cleared by accept", t_listener_pollin, 10),
		NTCP_BOTH("listener: epoll ET reports each new connection once", t_listener_epoll_et, 10),
		{ "listener: epoll-driven non-blocking accept drains 8 connections [stream]", t_listener_drain, SOCK_STREAM, 15 },
		NTCP_BOTH("unconnected socket: POLLOUT|POLLHUP, as TCP", t_unconnected, 10),
		NTCP_BOTH("non-blocking connect: one EPOLLOUT edge on completion, SO_ERROR 0", t_nb_connect, 10),
		NTCP_BOTH("non-blocking connect refused: POLLERR|POLLHUP, SO_ERROR ECONNREFUSED once", t_nb_connect_refused, 10),
		NTCP_BOTH("non-blocking connect to the other socket type: POLLERR, ECONNREFUSED", t_nb_connect_badtype, 10),
		NTCP_BOTH("non-blocking connect, silent peer: no events during the handshake, then EPOLLERR ETIMEDOUT", t_nb_connect_handshake, 15),
		NTCP_BOTH("data: POLLIN level-triggered until drained, MSG_PEEK keeps it", t_data_level, 10),
		{ "data: POLLIN per SEQPACKET record, empty records included [seqpacket]", t_data_records, SOCK_SEQPACKET, 10 },
		NTCP_BOTH("select: writable when idle, readable on data and EOF, no exceptions", t_select, 10),
		NTCP_BOTH("epoll level-triggered: reported until drained", t_epoll_level, 10),
		NTCP_BOTH("epoll edge-triggered: one EPOLLIN per arrival", t_epoll_edge, 10),
		NTCP_BOTH("epoll EPOLLONESHOT: one event until EPOLL_CTL_MOD", t_epoll_oneshot, 10),
		NTCP_BOTH("write space: not writable when full, EPOLLOUT edge as the peer drains", t_write_space, 20),
		NTCP_BOTH("peer SHUT_WR: POLLIN|POLLRDHUP without POLLHUP, EOF after data", t_peer_shut_wr, 10),
		NTCP_BOTH("both sides SHUT_WR: POLLHUP on both", t_both_shut_wr, 10),
		NTCP_BOTH("own SHUT_RD: POLLIN|POLLRDHUP, read 0", t_own_shut_rd, 10),
		NTCP_BOTH("peer close: POLLRDHUP, then POLLERR|POLLHUP and EPIPE after the RST a write draws", t_peer_close, 10),
		NTCP_BOTH("peer reset: EPOLLERR|EPOLLHUP, SO_ERROR ECONNRESET", t_peer_reset, 10),
		NTCP_BOTH("poll in another thread woken by shutdown(SHUT_RDWR)", t_wake_poll_shutdown, 10),
		NTCP_BOTH("recv in another thread woken by shutdown(SHUT_RD) with EOF", t_wake_recv_shutdown, 10),
		NTCP_BOTH("accept in another thread woken by shutdown of the listener: EINVAL", t_wake_accept_shutdown, 10),
		{ "poll woken when the peer process closes [stream]", t_wake_peer_process_close, SOCK_STREAM, 10 },
		NTCP_BOTH("epoll_wait woken by data from another process", t_wake_epoll_process, 10),
		NTCP_BOTH("4 threads in accept, one connection: exactly one returns", t_one_accept_per_connection, 10),
		NTCP_BOTH("EPOLLEXCLUSIVE: 4 waiters, one connection wakes exactly one", t_epoll_exclusive, 10),
		NTCP_BOTH("edge-triggered: one message wakes exactly once", t_et_exactly_once, 10),
	};

	return ntcp_run_typed_suite(tests, ARRAY_SIZE(tests), &ty);
}
