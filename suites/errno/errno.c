// SPDX-License-Identifier: GPL-2.0
/*
 * errno: no kernel-internal errno (>= 512, e.g. ENOTSUPP 524) may
 * reach user space from a NEW_TCP socket.  Sweeps setsockopt/getsockopt
 * over SOL_SOCKET, SOL_IP, SOL_TCP, SOL_NEWTCP and other levels, a set of
 * ioctls, send/recv with every flag bit, sendfile and splice, on fresh,
 * listening and connected STREAM and SEQPACKET sockets.
 *
 * SOL_SOCKET is handled by the socket core (sock_setsockopt()) before
 * any NEW_TCP code runs; where an AF_UNIX socket gets the same internal
 * errno from the same call, it is the core's, reported and not counted
 * (SO_ZEROCOPY gives ENOTSUPP for every family but inet and RDS before
 * 869420a8be19, v5.18).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <linux/sockios.h>

#include "ntcp.h"
#include "tap.h"

#ifndef SO_ZEROCOPY
#define SO_ZEROCOPY	60
#endif

static int leaks, core_leaks;

static int unix_get_errno(int level, int name, socklen_t len)
{
	char buf[256] = { 0 };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0), e = 0;

	if (fd < 0)
		return 0;
	if (getsockopt(fd, level, name, buf, &len))
		e = errno;
	close(fd);
	return e;
}

static void leak(const char *what, const char *state, int level, int name,
		 int err, int core)
{
	if (core) {
		core_leaks++;
		printf("# core (AF_UNIX too): %s %s level %d name %d: errno %d\n",
		       state, what, level, name, err);
	} else {
		leaks++;
		printf("# LEAK: %s %s level %d name %d: errno %d\n", state, what,
		       level, name, err);
	}
}

static int skip_set(int level, int name)
{
	/* TCP repair, ULPs and zerocopy receive: core TCP business. */
	if (level == SOL_TCP)
		return (name >= 19 && name <= 22) || name == 29 || name == 31 ||
		       name == 35;
	return 0;
}

static void sweep_opts(int fd, const char *state)
{
	static const int levels[] = { SOL_SOCKET, SOL_IP, SOL_TCP, SOL_NEWTCP,
				      SOL_IPV6, 255, 263, 279, 282, 283, 284,
				      286, 12345 };
	static const int vals[] = { 0, 1, -1, 0x10000 };
	static const socklen_t lens[] = { 4, 64, 0, 2 };
	char buf[256];
	size_t l, v, k;

	for (l = 0; l < ARRAY_SIZE(levels); l++) {
		int lvl = levels[l], max = lvl <= SOL_TCP ? 100 : 20;

		for (int name = 0; name <= max; name++) {
			for (k = 0; k < ARRAY_SIZE(lens); k++) {
				socklen_t gl = lens[k];

				memset(buf, 0, sizeof(buf));
				if (getsockopt(fd, lvl, name, buf, &gl) &&
				    errno >= 512)
					leak("getsockopt", state, lvl, name, errno,
					     lvl == SOL_SOCKET &&
					     unix_get_errno(lvl, name, lens[k]) == errno);
			}
			if (skip_set(lvl, name))
				continue;
			for (v = 0; v < ARRAY_SIZE(vals); v++) {
				for (k = 0; k < ARRAY_SIZE(lens); k++) {
					memset(buf, 0, sizeof(buf));
					memcpy(buf, &vals[v], sizeof(int));
					if (!setsockopt(fd, lvl, name, buf, lens[k]) ||
					    errno < 512)
						continue;
					leak("setsockopt", state, lvl, name, errno,
					     lvl == SOL_SOCKET &&
					     ntcp_unix_setsockopt_errno(lvl, name, buf, lens[k]) ==
					     errno);
				}
			}
		}
	}
	/* Keep the socket usable and non-blocking for what follows. */
	fcntl(fd, F_SETFL, O_NONBLOCK);
}

static void sweep_ioctls(int fd, const char *state)
{
	static const unsigned long cmds[] = {
		SIOCINQ, SIOCOUTQ, SIOCOUTQNSD, FIONBIO, FIOASYNC, SIOCATMARK,
		SIOCGSTAMP, SIOCGSTAMPNS, 0x89b1 /* SIOCGSTAMP_NEW */,
		0x89b2 /* SIOCGSTAMPNS_NEW */, FIOSETOWN, FIOGETOWN, SIOCSPGRP,
		SIOCGPGRP, SIOCGIFNAME, SIOCGIFCONF, SIOCGIFFLAGS, SIOCGIFADDR,
		SIOCGIFINDEX, SIOCGIFMTU, SIOCETHTOOL, SIOCGMIIPHY, 0x89e0,
		0x89f0, 0x89ff, 0x5401, 0, 0x541b, 0x8000,
	};
	char buf[256];

	for (size_t i = 0; i < ARRAY_SIZE(cmds); i++) {
		memset(buf, 0, sizeof(buf));
		if (ioctl(fd, cmds[i], buf) && errno >= 512)
			leak("ioctl", state, 0, (int)cmds[i], errno, 0);
	}
	fcntl(fd, F_SETFL, O_NONBLOCK);
}

static void sweep_io(int fd, const char *state)
{
	char buf[4096] = "x";
	int p[2], tmp;

	for (int b = 0; b < 32; b++) {
		int fl = MSG_DONTWAIT | MSG_NOSIGNAL | (1 << b);

		if (send(fd, buf, 1, fl) < 0 && errno >= 512)
			leak("send", state, 0, 1 << b, errno, 0);
		if (recv(fd, buf, sizeof(buf), MSG_DONTWAIT | (1 << b)) < 0 &&
		    errno >= 512)
			leak("recv", state, 0, 1 << b, errno, 0);
	}
	tmp = open("/proc/self/exe", O_RDONLY);
	if (tmp >= 0) {
		off_t off = 0;

		if (sendfile(fd, tmp, &off, 1000) < 0 && errno >= 512)
			leak("sendfile", state, 0, 0, errno, 0);
		close(tmp);
	}
	if (!pipe(p)) {
		fcntl(p[0], F_SETFL, O_NONBLOCK);
		fcntl(p[1], F_SETFL, O_NONBLOCK);
		if (splice(fd, NULL, p[1], NULL, 1000, SPLICE_F_NONBLOCK) < 0 &&
		    errno >= 512)
			leak("splice from", state, 0, 0, errno, 0);
		if (write(p[1], buf, 10) == 10 &&
		    splice(p[0], NULL, fd, NULL, 10, SPLICE_F_NONBLOCK) < 0 &&
		    errno >= 512)
			leak("splice to", state, 0, 0, errno, 0);
		close(p[0]);
		close(p[1]);
	}
}

static void sweep(int fd, const char *state)
{
	if (fd < 0) {
		printf("# %s: no socket (%s)\n", state, ntcp_errname(errno));
		leaks++;
		return;
	}
	fcntl(fd, F_SETFL, O_NONBLOCK);
	sweep_io(fd, state);
	sweep_ioctls(fd, state);
	sweep_opts(fd, state);
	sweep_io(fd, state);
	sweep_ioctls(fd, state);
}

static int t_sweep_type(int type)
{
	const char *tn = type == SOCK_STREAM ? "stream" : "seqpacket";
	char st[64];
	uint16_t port;
	int fd, l, c, s;

	leaks = core_leaks = 0;
	snprintf(st, sizeof(st), "fresh %s", tn);
	fd = socket(ntcp_family, type, 0);
	sweep(fd, st);
	close(fd);

	snprintf(st, sizeof(st), "listening %s", tn);
	l = ntcp_listener(type, &port);
	sweep(l, st);
	close(l);

	CHECK(!ntcp_pair(type, &c, &s), "pair");
	snprintf(st, sizeof(st), "connected client %s", tn);
	sweep(c, st);
	snprintf(st, sizeof(st), "connected server %s", tn);
	sweep(s, st);
	close(c);
	close(s);

	printf("# %d NEW_TCP leaks, %d the core's (AF_UNIX gives them too)\n",
	       leaks, core_leaks);
	CHECK(!leaks, "%d kernel-internal errnos leaked from NEW_TCP code", leaks);
	return 0;
}

static int t_stream(void) { return t_sweep_type(SOCK_STREAM); }
static int t_seqpacket(void) { return t_sweep_type(SOCK_SEQPACKET); }

/*
 * The fuzz failure itself: setsockopt(SOL_SOCKET, SO_ZEROCOPY) on a NEW_TCP
 * socket, next to AF_UNIX and AF_INET TCP.
 */
static int t_zerocopy(void)
{
	static const struct { int fam, type; const char *n; } s[] = {
		{ 0, SOCK_STREAM, "NEW_TCP stream" },
		{ 0, SOCK_SEQPACKET, "NEW_TCP seqpacket" },
		{ AF_UNIX, SOCK_STREAM, "AF_UNIX stream" },
		{ AF_INET, SOCK_STREAM, "AF_INET TCP" },
	};
	int v = 1, e[4];

	for (size_t i = 0; i < ARRAY_SIZE(s); i++) {
		int fd = socket(s[i].fam ? s[i].fam : ntcp_family, s[i].type, 0);

		e[i] = 0;
		if (setsockopt(fd, SOL_SOCKET, SO_ZEROCOPY, &v, sizeof(v)))
			e[i] = errno;
		printf("# %s: setsockopt(SOL_SOCKET, SO_ZEROCOPY, 1) = %s (%d)\n",
		       s[i].n, e[i] ? ntcp_errname(e[i]) : "0", e[i]);
		close(fd);
	}
	if ((e[0] == 524 || e[1] == 524) && e[2] == 524)
		SKIP_TEST("the core's sock_setsockopt() gives every non-inet family ENOTSUPP (fixed by 869420a8be19, v5.18)");
	CHECK(e[0] == EOPNOTSUPP && e[1] == EOPNOTSUPP,
	      "SO_ZEROCOPY: %s/%s, expected EOPNOTSUPP", ntcp_errname(e[0]),
	      ntcp_errname(e[1]));
	return 0;
}

int main(void)
{
	static const struct ntcp_test tests[] = {
		{ "SO_ZEROCOPY set gives EOPNOTSUPP, not ENOTSUPP", t_zerocopy, 10 },
		{ "no errno >= 512 from any sockopt, ioctl, send/recv flag, sendfile, splice [stream]", t_stream, 120 },
		{ "no errno >= 512 from any sockopt, ioctl, send/recv flag, sendfile, splice [seqpacket]", t_seqpacket, 120 },
	};

	return ntcp_run_suite(tests, ARRAY_SIZE(tests));
}
