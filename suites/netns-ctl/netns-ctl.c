// SPDX-License-Identifier: GPL-2.0
/*
 * net.newtcp.* and /proc/net/newtcp_stat, per network namespace.
 *
 * Every test runs in its own child (run_test), moves it into a fresh
 * namespace with unshare(CLONE_NEWNET) and keeps an fd on the init
 * namespace's newtcp_stat and sysctls, opened before: a proc/net or
 * proc/sys file stays bound to the namespace it was opened in, so the
 * test reads both sides without setns().
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "ntcp.h"
#include "tap.h"

#define SYS(name)	"/proc/sys/net/newtcp/" name
#define STAT_PATH	"/proc/net/newtcp_stat"

/* Value of counter @name in an open newtcp_stat; -1 when absent. */
static long stat_fd(int fd, const char *name)
{
	char buf[2048], *line;
	size_t len = strlen(name);
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	if (n <= 0)
		return -1;
	buf[n] = 0;
	for (line = buf; line && *line; line = strchr(line, '\n')) {
		if (*line == '\n')
			line++;
		if (!strncmp(line, name, len) && line[len] == ' ')
			return strtol(line + len + 1, NULL, 10);
	}
	return -1;
}

/* Counter @name of this namespace is @want; says what it was if not. */
#define CHECK_STAT(name, want)						\
	do {								\
		long got_ = stat_now(name);				\
		CHECK(got_ == (want), "%s: %ld, want %ld", name, got_,	\
		      (long)(want));					\
	} while (0)

static long stat_now(const char *name)
{
	int fd = open(STAT_PATH, O_RDONLY);
	long v;

	if (fd < 0)
		return -1;
	v = stat_fd(fd, name);
	close(fd);
	return v;
}

/* Write @val to sysctl @path: 0, or -1 with errno from write(). */
static int sysctl_write(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY), rc;

	if (fd < 0)
		return -1;
	rc = write(fd, val, strlen(val)) == (ssize_t)strlen(val) ? 0 : -1;
	close(fd);
	return rc;
}

static long sysctl_read(const char *path)
{
	char buf[64];

	if (read_small_file(path, buf, sizeof(buf)))
		return -1;
	return strtol(buf, NULL, 10);
}

/* All of an open newtcp_stat into @buf; 0 on success. */
static int stat_text(int fd, char *buf, size_t len)
{
	ssize_t n = pread(fd, buf, len - 1, 0);

	if (n <= 0)
		return -1;
	buf[n] = 0;
	return 0;
}

/*
 * No counter of the init namespace moved since @before: it saw none of
 * the test's connections (the guest runs nothing else meanwhile).
 */
/* The init netns's counters, kept open from before the unshare, and their text then. */
struct init_view {
	int fd;
	char text[2048];
};

#define CHECK_INIT_STILL(v)						\
	do {								\
		char now_[2048];					\
		CHECK(!stat_text((v)->fd, now_, sizeof(now_)), "reread init"); \
		CHECK(!strcmp(now_, (v)->text),				\
		      "init_net's counters moved:\n%s-> was\n%s", now_, (v)->text); \
	} while (0)

/* A fresh namespace with "lo" up; *init: the init netns's counters as they were. */
static int fresh_netns(struct init_view *init)
{
	init->fd = open(STAT_PATH, O_RDONLY);
	if (init->fd < 0 || stat_text(init->fd, init->text, sizeof(init->text)))
		return -1;
	if (unshare(CLONE_NEWNET) || ntcp_lo_up())
		return -1;
	return 0;
}

static int t_defaults(void)
{
	char buf[64];
	long param;

	CHECK(!read_small_file("/sys/module/newtcp/parameters/handshake_ms",
			       buf, sizeof(buf)), "handshake_ms parameter");
	param = strtol(buf, NULL, 10);
	CHECK(sysctl_read(SYS("handshake_ms")) == param,
	      "init_net's handshake_ms is the parameter's %ld", param);
	CHECK(sysctl_read(SYS("max_record")) == 65536, "max_record 64 KiB");
	CHECK(stat_now("PassiveHandshakeOk") >= 0, "newtcp_stat lists counters");
	return 0;
}

static int t_handshake_ms_own(void)
{
	int init_sys = open(SYS("handshake_ms"), O_RDONLY), c, l;
	struct init_view init;
	long init_before, to, ms, t0;
	uint16_t port;
	char buf[64];

	CHECK(init_sys >= 0, SYS("handshake_ms"));
	CHECK(pread(init_sys, buf, sizeof(buf), 0) > 0, "read init value");
	init_before = strtol(buf, NULL, 10);
	CHECK(!fresh_netns(&init), "fresh netns");
	to = stat_now("ActiveHandshakeTimedOut");
	CHECK(to == 0, "a new namespace starts at 0 (%ld)", to);
	CHECK(sysctl_read(SYS("handshake_ms")) == init_before,
	      "a new namespace starts from the parameter");
	CHECK(!sysctl_write(SYS("handshake_ms"), "300"), "set 300 here");

	/* Plain TCP never answers the hello: only handshake_ms ends it. */
	l = tcp_listener(&port);
	CHECK(l >= 0, "tcp listener");
	t0 = now_ms();
	c = ntcp_connect(SOCK_STREAM, port);
	ms = now_ms() - t0;
	CHECK(c < 0 && errno == ETIMEDOUT, "connect times out (%d)", c);
	printf("# timed out after %ld ms (handshake_ms 300 here, %ld in init_net)\n",
	       ms, init_before);
	CHECK(ms >= 150 && ms < 1500, "by this namespace's 300 ms: %ld", ms);
	CHECK_STAT("ActiveHandshakeTimedOut", 1);
	CHECK_INIT_STILL(&init);
	CHECK(pread(init_sys, buf, sizeof(buf), 0) > 0, "reread init value");
	CHECK(strtol(buf, NULL, 10) == init_before,
	      "init_net keeps %ld (%s)", init_before, buf);
	return 0;
}

static int t_range(void)
{
	static const struct { const char *name, *val; } bad[] = {
		{ "handshake_ms", "0" }, { "handshake_ms", "600001" },
		{ "max_handshakes", "0" }, { "max_handshakes", "65537" },
		{ "max_record", "0" }, { "max_record", "16777217" },
	};
	char path[128];
	long was;
	struct init_view init;
	size_t i;

	CHECK(!fresh_netns(&init), "fresh netns");
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		snprintf(path, sizeof(path), SYS("%s"), bad[i].name);
		was = sysctl_read(path);
		errno = 0;
		CHECK(sysctl_write(path, bad[i].val) && errno == EINVAL,
		      "%s = %s refused with EINVAL", bad[i].name, bad[i].val);
		CHECK(sysctl_read(path) == was, "%s unchanged", bad[i].name);
	}
	return 0;
}

static int t_max_record(void)
{
	struct init_view init;
	socklen_t len = sizeof(int);
	int l, c;
	uint16_t port;
	int v = 0;

	CHECK(!fresh_netns(&init), "fresh netns");
	CHECK(!sysctl_write(SYS("max_record"), "1000"), "max_record 1000");
	l = ntcp_listener(SOCK_SEQPACKET, &port);
	CHECK(l >= 0, "listener");
	c = socket(ntcp_family, SOCK_SEQPACKET, 0);
	CHECK(c >= 0, "socket");
	CHECK(!getsockopt(c, SOL_NEWTCP, NEWTCP_MAXMSG, &v, &len), "MAXMSG");
	CHECK(v == 1000, "a new socket's NEWTCP_MAXMSG is max_record: %d", v);
	return 0;
}

static int t_good_handshake(void)
{
	int c, srv, i;
	char rec[16] = "record";
	struct init_view init;

	CHECK(!fresh_netns(&init), "fresh netns");
	CHECK(!ntcp_pair(SOCK_SEQPACKET, &c, &srv), "pair");
	CHECK_STAT("PassiveHandshakeOk", 1);
	CHECK_STAT("ActiveHandshakeOk", 1);
	CHECK_STAT("PassiveHandshakeRefused", 0);
	for (i = 0; i < 3; i++) {
		CHECK(send(c, rec, sizeof(rec), 0) == sizeof(rec), "send");
		CHECK(recv(srv, rec, sizeof(rec), 0) == sizeof(rec), "recv");
	}
	CHECK_STAT("RecordsSent", 3);
	CHECK_STAT("RecordsReceived", 3);
	CHECK_INIT_STILL(&init);
	return 0;
}

static int t_bad_version(void)
{
	unsigned char hello[8] = { 'N', 'T', 'C', 'P', 2, 1, 0, 0 };
	unsigned char reply[8];
	struct init_view init;
	int l, c;
	uint16_t port;

	CHECK(!fresh_netns(&init), "fresh netns");
	l = ntcp_listener(SOCK_STREAM, &port);
	CHECK(l >= 0, "listener");
	c = ntcp_raw_hello(port, hello, reply);
	CHECK(c >= 0, "hello v2 and its reply");
	CHECK(reply[7] == 2, "status 2 (bad version): %u", reply[7]);
	CHECK_STAT("PassiveHandshakeBadVersion", 1);
	CHECK_STAT("PassiveHandshakeRefused", 1);
	CHECK_STAT("PassiveHandshakeOk", 0);
	CHECK_INIT_STILL(&init);
	return 0;
}

static int t_refused(void)
{
	struct init_view init;
	int l, c;
	uint16_t port;

	CHECK(!fresh_netns(&init), "fresh netns");
	l = ntcp_listener(SOCK_SEQPACKET, &port);
	CHECK(l >= 0, "listener");
	c = ntcp_connect(SOCK_STREAM, port);
	CHECK(c < 0 && errno == ECONNREFUSED, "type mismatch refused (%d)", c);
	CHECK_STAT("ActiveHandshakeRefused", 1);
	CHECK_STAT("PassiveHandshakeBadType", 1);
	CHECK_STAT("PassiveHandshakeRefused", 1);
	CHECK_INIT_STILL(&init);
	return 0;
}

/* A plain-TCP peer says hello, then announces a record over 16 MiB. */
static int t_framing_error(void)
{
	unsigned char hello[8] = { 'N', 'T', 'C', 'P', 1, 2, 0, 0 };
	unsigned char reply[8], huge[4] = { 0xff, 0xff, 0xff, 0xff }, buf[16];
	struct timeval tv = { .tv_sec = 3 };
	struct init_view init;
	int l, c, s;
	uint16_t port;

	CHECK(!fresh_netns(&init), "fresh netns");
	l = ntcp_listener(SOCK_SEQPACKET, &port);
	CHECK(l >= 0, "listener");
	c = ntcp_raw_hello(port, hello, reply);
	CHECK(c >= 0, "hello and its reply");
	CHECK(reply[7] == 0, "accepted: status %u", reply[7]);
	s = accept(l, NULL, NULL);
	CHECK(s >= 0, "accept");
	CHECK(!setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), "timeo");
	CHECK(write_full(c, huge, sizeof(huge)) == sizeof(huge), "header");
	errno = 0;
	CHECK(recv(s, buf, sizeof(buf), 0) < 0 && errno == EPROTO, "EPROTO");
	CHECK_STAT("FramingErrors", 1);
	CHECK_INIT_STILL(&init);
	return 0;
}

/* A queued connection fills a backlog of 1: the next is refused busy. */
static int t_busy(void)
{
	struct init_view init;
	int l, c1, c2;
	uint16_t port;

	CHECK(!fresh_netns(&init), "fresh netns");
	l = ntcp_listener(SOCK_STREAM, &port);
	CHECK(l >= 0 && !listen(l, 1), "listener, backlog 1");
	c1 = ntcp_connect(SOCK_STREAM, port);
	CHECK(c1 >= 0, "first connect, left in the accept queue");
	c2 = ntcp_connect(SOCK_STREAM, port);
	CHECK(c2 < 0 && errno == ECONNREFUSED, "second refused (%d)", c2);
	CHECK_STAT("PassiveHandshakeBusy", 1);
	CHECK_STAT("PassiveHandshakeRefused", 1);
	CHECK_STAT("PassiveHandshakeOk", 1);
	CHECK_STAT("ActiveHandshakeRefused", 1);
	CHECK_INIT_STILL(&init);
	return 0;
}

/* ms until the server drops silent peer @c (a reset or EOF), -1 if not in 3 s. */
static long dropped_after(int c)
{
	long long t0 = now_ms();
	char b;
	ssize_t n = read(c, &b, 1);

	if (n == 0 || (n < 0 && errno == ECONNRESET))
		return now_ms() - t0;
	printf("# read: %zd, %s\n", n, ntcp_errname(errno));
	return -1;
}

static int t_evicted(void)
{
	struct init_view init;
	long ms;
	int l, a, b;
	uint16_t port;

	CHECK(!fresh_netns(&init), "fresh netns");
	CHECK(!sysctl_write(SYS("max_handshakes"), "1"), "max_handshakes 1");
	l = ntcp_listener(SOCK_STREAM, &port);
	CHECK(l >= 0, "listener");
	a = ntcp_silent_peer(port);
	CHECK(a >= 0, "first silent peer");
	b = ntcp_silent_peer(port);
	CHECK(b >= 0, "second silent peer");
	ms = dropped_after(a);
	printf("# the first peer was dropped after %ld ms\n", ms);
	/* handshake_ms is 2 s or more here: not the deadline. */
	CHECK(ms >= 0 && ms < 1000, "the second evicted the first at once");
	CHECK_STAT("PassiveHandshakeEvicted", 1);
	CHECK_STAT("PassiveHandshakeTimedOut", 0);
	CHECK_INIT_STILL(&init);
	return 0;
}

static int t_passive_timedout(void)
{
	struct init_view init;
	long ms;
	int l, a;
	uint16_t port;

	CHECK(!fresh_netns(&init), "fresh netns");
	CHECK(!sysctl_write(SYS("handshake_ms"), "200"), "handshake_ms 200");
	l = ntcp_listener(SOCK_STREAM, &port);
	CHECK(l >= 0, "listener");
	a = ntcp_silent_peer(port);
	CHECK(a >= 0, "silent peer");
	ms = dropped_after(a);
	printf("# the silent peer was dropped after %ld ms\n", ms);
	CHECK(ms >= 100 && ms < 1500, "by the 200 ms deadline: %ld", ms);
	CHECK_STAT("PassiveHandshakeTimedOut", 1);
	CHECK_STAT("PassiveHandshakeEvicted", 0);
	CHECK_STAT("PassiveHandshakeRefused", 0);
	CHECK_INIT_STILL(&init);
	return 0;
}

static const struct ntcp_test tests[] = {
	{ "init_net's sysctls are the module parameters", t_defaults, 10 },
	{ "handshake_ms is the namespace's own", t_handshake_ms_own, 10 },
	{ "out-of-range writes are EINVAL", t_range, 10 },
	{ "max_record is a new socket's NEWTCP_MAXMSG", t_max_record, 10 },
	{ "a good handshake and 3 records count once, here only", t_good_handshake, 10 },
	{ "a bad-version hello counts as BadVersion and Refused", t_bad_version, 10 },
	{ "a refused connect counts on both sides", t_refused, 10 },
	{ "an oversized record header counts as a framing error", t_framing_error, 10 },
	{ "a full accept queue refuses busy: Busy and Refused count", t_busy, 10 },
	{ "max_handshakes 1: a second silent peer evicts the first, Evicted counts", t_evicted, 10 },
	{ "a silent peer past handshake_ms is reset: PassiveHandshakeTimedOut counts", t_passive_timedout, 10 },
};

int main(void)
{
	return ntcp_run_suite(tests, ARRAY_SIZE(tests));
}
