// SPDX-License-Identifier: GPL-2.0
/*
 * create: socket creation in the NEW_TCP family.
 *
 * Which (type, protocol) pairs the family accepts and with what errno
 * it refuses the rest (nonsense types and protocols included: the
 * core's EINVAL or the family's ESOCKTNOSUPPORT/EPROTONOSUPPORT), that
 * SOCK_NONBLOCK/SOCK_CLOEXEC are honoured, that SO_DOMAIN/SO_TYPE/
 * SO_PROTOCOL are right, and that the socket count in
 * /proc/net/protocols follows opens and closes exactly.
 *
 * /proc/net/protocols counts per network namespace, so nothing else in
 * this namespace may create NEW_TCP sockets while the suite runs.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <linux/newtcp.h>

#include "tap.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

_Static_assert(sizeof(struct sockaddr_newtcp) == sizeof(struct sockaddr_in),
	       "sockaddr_newtcp must match sockaddr_in");

struct named {
	int val;
	const char *name;
};

static const struct named types[] = {
	{ SOCK_STREAM, "STREAM" },
	{ SOCK_SEQPACKET, "SEQPACKET" },
	{ SOCK_DGRAM, "DGRAM" },
	{ SOCK_RAW, "RAW" },
	{ SOCK_RDM, "RDM" },
};

static const struct named protos[] = {
	{ 0, "0" },
	{ IPPROTO_TCP, "TCP" },
	{ IPPROTO_UDP, "UDP" },
	{ IPPROTO_SCTP, "SCTP" },
	{ 255, "255" },
	{ -1, "-1" },
};

/*
 * Types nobody should accept, with what socket(2) answers.  The core
 * refuses flag bits other than SOCK_NONBLOCK/SOCK_CLOEXEC and, in
 * __sock_create(), a type < 0 or >= SOCK_MAX with EINVAL before any
 * family is asked; a type in range the family does not support is its
 * ESOCKTNOSUPPORT.  (The core's SOCK_PACKET rewrite is for PF_INET only.)
 */
struct bad_type {
	int val, want;
	const char *name;
};

static const struct bad_type bad_types[] = {
	{ 0, ESOCKTNOSUPPORT, "0" },
	{ SOCK_DGRAM, ESOCKTNOSUPPORT, "SOCK_DGRAM" },
	{ SOCK_RAW, ESOCKTNOSUPPORT, "SOCK_RAW" },
	{ SOCK_RDM, ESOCKTNOSUPPORT, "SOCK_RDM" },
	{ SOCK_DCCP, ESOCKTNOSUPPORT, "SOCK_DCCP" },
	{ 7, ESOCKTNOSUPPORT, "7" },
	{ SOCK_PACKET, ESOCKTNOSUPPORT, "SOCK_PACKET" },
	{ SOCK_DGRAM | SOCK_NONBLOCK, ESOCKTNOSUPPORT, "SOCK_DGRAM|SOCK_NONBLOCK" },
	{ SOCK_NONBLOCK | SOCK_CLOEXEC, ESOCKTNOSUPPORT, "0|SOCK_NONBLOCK|SOCK_CLOEXEC" },
	{ 11, EINVAL, "11 (SOCK_MAX)" },
	{ 15, EINVAL, "15" },
	{ 16, EINVAL, "16" },
	{ SOCK_STREAM | 0x100, EINVAL, "SOCK_STREAM|0x100" },
	{ 1 << 30, EINVAL, "1 << 30" },
	{ INT_MAX, EINVAL, "INT_MAX" },
	{ -1, EINVAL, "-1" },
	{ INT_MIN | SOCK_STREAM, EINVAL, "INT_MIN|SOCK_STREAM" },
};

/*
 * Out-of-range protocols: the family's EPROTONOSUPPORT.  (-1 is in the
 * matrix above: a second test of it would share its name.)
 */
static const struct named bad_protos[] = {
	{ -IPPROTO_TCP, "-IPPROTO_TCP" },
	{ INT_MIN, "INT_MIN" },
	{ IPPROTO_MAX, "IPPROTO_MAX" },
	{ IPPROTO_TCP | 0x10000, "IPPROTO_TCP|0x10000" },
};

/* Sockets held at once to watch the counter move. */
#define FEW	16
#define MANY	1000

static int family;

static int type_supported(int type)
{
	return type == SOCK_STREAM || type == SOCK_SEQPACKET;
}

static int proto_supported(int proto)
{
	return proto == 0 || proto == IPPROTO_TCP;
}

static const char *errname(int err)
{
	const char *s = strerrorname_np(err);

	return s ? s : "?";
}

static void test_matrix(void)
{
	size_t t, p;

	for (t = 0; t < ARRAY_SIZE(types); t++) {
		for (p = 0; p < ARRAY_SIZE(protos); p++) {
			int type = types[t].val, proto = protos[p].val;
			int want = 0, fd, err;

			if (!type_supported(type))
				want = ESOCKTNOSUPPORT;
			else if (!proto_supported(proto))
				want = EPROTONOSUPPORT;

			errno = 0;
			fd = socket(family, type, proto);
			err = fd < 0 ? errno : 0;
			if (fd >= 0)
				close(fd);

			if (!want) {
				tap_ok(fd >= 0, "socket(%s, %s) succeeds",
				       types[t].name, protos[p].name);
			} else {
				tap_ok(fd < 0 && err == want,
				       "socket(%s, %s) fails with %s",
				       types[t].name, protos[p].name,
				       errname(want));
			}
			if (err != want)
				tap_diag("got %s", fd >= 0 ? "success" :
					 errname(err));
		}
	}
}

static void expect_fail(int type, int proto, int want, const char *tname,
			const char *pname)
{
	int fd, err;

	errno = 0;
	fd = socket(family, type, proto);
	err = fd < 0 ? errno : 0;
	if (fd >= 0)
		close(fd);
	if (!tap_ok(fd < 0 && err == want, "socket(%s, %s) fails with %s",
		    tname, pname, errname(want)))
		tap_diag("got %s", fd >= 0 ? "success" : errname(err));
}

static void test_bad_types(void)
{
	size_t t;

	for (t = 0; t < ARRAY_SIZE(bad_types); t++)
		expect_fail(bad_types[t].val, 0, bad_types[t].want,
			    bad_types[t].name, "0");
}

/*
 * Bad protocols on good types; with a bad type too, the type decides
 * (the family checks it first, the core before the family).
 */
static void test_bad_protos(void)
{
	size_t t, p;

	for (t = 0; t < 2; t++)
		for (p = 0; p < ARRAY_SIZE(bad_protos); p++)
			expect_fail(types[t].val, bad_protos[p].val,
				    EPROTONOSUPPORT, types[t].name,
				    bad_protos[p].name);
	expect_fail(SOCK_DGRAM, -1, ESOCKTNOSUPPORT, "SOCK_DGRAM", "-1");
	expect_fail(0, INT_MIN, ESOCKTNOSUPPORT, "0", "INT_MIN");
	expect_fail(11, -1, EINVAL, "11 (SOCK_MAX)", "-1");
	expect_fail(-1, -1, EINVAL, "-1", "-1");
}

static void test_flags(void)
{
	static const struct {
		int flags;
		const char *name;
	} fl[] = {
		{ 0, "no flags" },
		{ SOCK_NONBLOCK, "SOCK_NONBLOCK" },
		{ SOCK_CLOEXEC, "SOCK_CLOEXEC" },
		{ SOCK_NONBLOCK | SOCK_CLOEXEC, "SOCK_NONBLOCK|SOCK_CLOEXEC" },
	};
	size_t t, f;

	for (t = 0; t < 2; t++) {
		for (f = 0; f < ARRAY_SIZE(fl); f++) {
			int want_nb = !!(fl[f].flags & SOCK_NONBLOCK);
			int want_ce = !!(fl[f].flags & SOCK_CLOEXEC);
			int fd, fl_fl = -1, fd_fl = -1, nb = -1, ce = -1;

			fd = socket(family, types[t].val | fl[f].flags, 0);
			if (fd >= 0) {
				fl_fl = fcntl(fd, F_GETFL);
				fd_fl = fcntl(fd, F_GETFD);
				if (fl_fl >= 0)
					nb = !!(fl_fl & O_NONBLOCK);
				if (fd_fl >= 0)
					ce = !!(fd_fl & FD_CLOEXEC);
				close(fd);
			}
			if (!tap_ok(fd >= 0 && nb == want_nb && ce == want_ce,
				    "socket(%s, 0) with %s: O_NONBLOCK=%d FD_CLOEXEC=%d",
				    types[t].name, fl[f].name, want_nb, want_ce))
				tap_diag("fd=%d (%s) O_NONBLOCK=%d FD_CLOEXEC=%d",
					 fd, fd < 0 ? errname(errno) : "ok",
					 nb, ce);
		}
	}
}

static void check_sockopt(int fd, int opt, const char *optname, int want,
			  const char *what)
{
	int val = -1;
	socklen_t len = sizeof(val);
	int rc = -1;

	if (fd >= 0)
		rc = getsockopt(fd, SOL_SOCKET, opt, &val, &len);
	if (!tap_ok(rc == 0 && len == sizeof(val) && val == want,
		    "%s: %s is %d", what, optname, want))
		tap_diag("fd=%d rc=%d (%s) len=%u value=%d", fd, rc,
			 rc ? errname(errno) : "ok", (unsigned int)len, val);
}

static void test_sockopts(void)
{
	size_t t, p;
	char what[64];

	for (t = 0; t < 2; t++) {
		for (p = 0; p < 2; p++) {
			int fd = socket(family, types[t].val, protos[p].val);

			snprintf(what, sizeof(what), "socket(%s, %s)",
				 types[t].name, protos[p].name);
			check_sockopt(fd, SO_DOMAIN, "SO_DOMAIN", family, what);
			check_sockopt(fd, SO_TYPE, "SO_TYPE", types[t].val,
				      what);
			/* Protocol 0 selects TCP, so both report TCP. */
			check_sockopt(fd, SO_PROTOCOL, "SO_PROTOCOL",
				      IPPROTO_TCP, what);
			if (fd >= 0)
				close(fd);
		}
	}
}

/*
 * Fields of the NEW_TCP line of /proc/net/protocols.  Returns the
 * socket count or -1 when there is no such line.
 */
static long proto_sockets(char *module, size_t modlen)
{
	char line[512], name[64], mod[64];
	long sockets = -1, mem;
	unsigned int size, hdr;
	char press[8], slab[8];
	FILE *f;

	f = fopen("/proc/net/protocols", "r");
	if (!f) {
		tap_diag("/proc/net/protocols: %s", strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%63s %u %ld %ld %7s %u %7s %63s", name,
			   &size, &sockets, &mem, press, &hdr, slab,
			   mod) != 8 || strcmp(name, "NEW_TCP")) {
			sockets = -1;
			continue;
		}
		if (module)
			snprintf(module, modlen, "%s", mod);
		break;
	}
	fclose(f);
	return sockets;
}

static int open_n(int *fds, int n)
{
	int i, opened = 0;

	for (i = 0; i < n; i++) {
		/* Mix both types: each has to be counted. */
		fds[i] = socket(family, i & 1 ? SOCK_SEQPACKET : SOCK_STREAM,
				0);
		if (fds[i] >= 0)
			opened++;
	}
	return opened;
}

static void close_n(int *fds, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

static void test_count(void)
{
	static int fds[MANY];
	char module[64] = "";
	long base, now;
	int i, opened, churned;

	base = proto_sockets(module, sizeof(module));
	tap_ok(base >= 0, "/proc/net/protocols has a NEW_TCP line");
	if (!tap_ok(!strcmp(module, "newtcp"),
		    "NEW_TCP line names module newtcp"))
		tap_diag("module column: '%s'", module);
	tap_diag("baseline NEW_TCP sockets: %ld", base);

	opened = open_n(fds, FEW);
	now = proto_sockets(NULL, 0);
	if (!tap_ok(opened == FEW && base >= 0 && now == base + FEW,
		    "sockets count rises by %d after opening %d sockets",
		    FEW, FEW))
		tap_diag("opened %d, count %ld -> %ld", opened, base, now);
	close_n(fds, FEW);
	now = proto_sockets(NULL, 0);
	if (!tap_ok(base >= 0 && now == base,
		    "sockets count back to baseline after closing %d", FEW))
		tap_diag("count %ld, baseline %ld", now, base);

	opened = open_n(fds, MANY);
	now = proto_sockets(NULL, 0);
	if (!tap_ok(opened == MANY && base >= 0 && now == base + MANY,
		    "%d sockets open at once are all counted", MANY))
		tap_diag("opened %d, count %ld -> %ld", opened, base, now);
	close_n(fds, MANY);
	now = proto_sockets(NULL, 0);
	if (!tap_ok(base >= 0 && now == base,
		    "sockets count back to baseline after closing %d in a loop",
		    MANY))
		tap_diag("count %ld, baseline %ld", now, base);

	churned = 0;
	for (i = 0; i < MANY; i++) {
		int fd = socket(family, i & 1 ? SOCK_SEQPACKET : SOCK_STREAM,
				0);

		if (fd >= 0) {
			churned++;
			close(fd);
		}
	}
	now = proto_sockets(NULL, 0);
	if (!tap_ok(churned == MANY && base >= 0 && now == base,
		    "%d open/close cycles leave the count at baseline", MANY))
		tap_diag("%d cycles succeeded, count %ld, baseline %ld",
			 churned, now, base);
}

/*
 * A NEW_TCP socket pins the module: delete_module() must refuse while
 * one is open (the module stays loaded for the other suites).
 */
static void test_pinning(void)
{
	int fd = socket(family, SOCK_STREAM, 0);
	long rc;
	int err;

	errno = 0;
	rc = syscall(SYS_delete_module, "newtcp", O_NONBLOCK);
	err = errno;
	if (!tap_ok(fd >= 0 && rc < 0 && (err == EWOULDBLOCK || err == EBUSY),
		    "delete_module(newtcp) fails while a socket is open"))
		tap_diag("rc=%ld errno=%s", rc, errname(err));
	if (fd >= 0)
		close(fd);
	tap_ok(access("/proc/net/newtcp", R_OK) == 0, "/proc/net/newtcp exists");
	tap_ok(family == tap_newtcp_default_family(),
	       "module registered the default family %d (%s)", tap_newtcp_default_family(),
	       tap_newtcp_kernel_family() > 0 ? "the kernel's AF_INET_NEW_TCP" : "borrowed slot");
}

/* MANY descriptors plus stdio must fit under RLIMIT_NOFILE. */
static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return;
	if (rl.rlim_cur < MANY + 64 && rl.rlim_max > rl.rlim_cur) {
		rl.rlim_cur = rl.rlim_max < MANY + 64 ? rl.rlim_max : MANY + 64;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int main(void)
{
	/* matrix + bad types + bad protocols + flags + sockopts + counters */
	tap_plan(ARRAY_SIZE(types) * ARRAY_SIZE(protos) +
		 ARRAY_SIZE(bad_types) + 2 * ARRAY_SIZE(bad_protos) + 4 +
		 2 * 4 + 2 * 2 * 3 + 7 + 3);

	family = tap_newtcp_family();
	if (family < 0)
		tap_bail("newtcp module not loaded (%s missing)",
			 NEWTCP_FAMILY_SYSFS);
	tap_diag("NEW_TCP family: %d", family);

	raise_nofile();
	test_matrix();
	test_bad_types();
	test_bad_protos();
	test_flags();
	test_sockopts();
	test_count();
	test_pinning();
	return tap_done();
}
