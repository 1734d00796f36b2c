// SPDX-License-Identifier: GPL-2.0
/*
 * lifecycle: the module and its sockets over time.  /proc/net/protocols
 * counts, /proc/net/newtcp rows (state, addresses, queues, inode), rmmod
 * refused while sockets live and allowed once they are closed, 50
 * load/unload cycles with traffic in between, load parameters, and
 * network namespaces.
 *
 * Loads and unloads newtcp itself (finit_module/delete_module on
 * /lib/modules/newtcp.ko) and leaves it loaded at the end.  Nothing else
 * may use NEW_TCP sockets while this suite runs.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "ntcp.h"
#include "tap.h"

#define KO	"/lib/modules/newtcp.ko"

static int mod_load(const char *params)
{
	int fd = open(KO, O_RDONLY | O_CLOEXEC), rc, e;

	if (fd < 0)
		return -1;
	rc = syscall(SYS_finit_module, fd, params, 0);
	e = errno;
	close(fd);
	errno = e;
	return rc;
}

static int mod_unload(void)
{
	return syscall(SYS_delete_module, "newtcp", O_NONBLOCK);
}

static int loaded(void)
{
	return access("/sys/module/newtcp", F_OK) == 0;
}

/* Load if needed and re-read the family; 0 on success. */
static int ensure_loaded(void)
{
	if (!loaded() && mod_load("") && errno != EEXIST)
		return -1;
	ntcp_family = tap_newtcp_family();
	return ntcp_family > 0 ? 0 : -1;
}

/* Unload, retrying briefly while work items drain; 0 on success. */
static int unload_soon(int ms)
{
	long long end = now_ms() + ms;

	while (mod_unload()) {
		if (errno != EAGAIN && errno != EBUSY)
			return -1;
		if (now_ms() > end)
			return -1;
		usleep(20000);
	}
	return 0;
}

static long count(void)
{
	return proc_protocols_sockets("NEW_TCP");
}

/* Data both ways over a fresh pair of @type. */
static int traffic(int type)
{
	char out[4096], in[4096];
	int c, s;

	if (ntcp_pair(type, &c, &s))
		return -1;
	ntcp_pattern(out, sizeof(out), type, 0);
	if (send(c, out, sizeof(out), 0) != sizeof(out))
		return -2;
	if ((type == SOCK_STREAM ? read_full(s, in, sizeof(in)) :
	     recv(s, in, sizeof(in), 0)) != sizeof(in) ||
	    ntcp_pattern_check(in, sizeof(in), type, 0) != sizeof(in))
		return -3;
	if (send(s, "ok", 2, 0) != 2 || recv(c, in, 2, 0) != 2)
		return -4;
	close(c);
	close(s);
	return 0;
}

/* ---- /proc/net/protocols ------------------------------------------------ */

static int t_protocols_count(void)
{
	long base = count(), now;
	int fds[10], i, c, s;
	uint16_t port;
	int l;

	CHECK(base == 0, "no NEW_TCP sockets at the start: %ld", base);
	for (i = 0; i < 10; i++)
		CHECK((fds[i] = socket(ntcp_family, i & 1 ? SOCK_SEQPACKET :
				       SOCK_STREAM, 0)) >= 0, "socket %d", i);
	CHECK((now = count()) == 10, "10 open: %ld", now);
	for (i = 0; i < 5; i++)
		close(fds[i]);
	CHECK((now = count()) == 5, "5 closed: %ld", now);
	for (i = 5; i < 10; i++)
		close(fds[i]);
	CHECK((now = count()) == 0, "all closed: %ld", now);
	l = ntcp_listener(SOCK_STREAM, &port);
	c = ntcp_connect(SOCK_STREAM, port);
	CHECK((now = count()) == 2, "listener + client, not yet accepted: %ld", now);
	s = accept(l, NULL, NULL);
	CHECK(s >= 0 && (now = count()) == 3, "accepted socket counts: %ld", now);
	close(l);
	close(c);
	close(s);
	CHECK((now = count()) == 0, "back to 0: %ld", now);
	return 0;
}

/*
 * The memory column follows what NEW_TCP sockets hold: unread data
 * queued on a pair shows as pages, closing gives them back.
 */
static int t_protocols_memory(void)
{
	static char buf[65536];
	long base = proc_protocols_memory("NEW_TCP"), held, now;
	long long queued = 0;
	int c, s;
	ssize_t r;

	CHECK(base == 0, "no NEW_TCP memory at the start: %ld pages", base);
	CHECK(!ntcp_pair(SOCK_STREAM, &c, &s), "pair");
	while ((r = send(c, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
		queued += r;
	usleep(200000);
	held = proc_protocols_memory("NEW_TCP");
	printf("# %lld bytes queued unread: %ld pages\n", queued, held);
	CHECK(held * 4096 >= queued / 2,
	      "memory column shows the queued data: %ld pages for %lld bytes",
	      held, queued);
	close(c);
	close(s);
	CHECK((now = proc_protocols_memory("NEW_TCP")) == 0,
	      "closed: back to 0, got %ld pages", now);
	return 0;
}

/* Unaccepted connections are no NEW_TCP sockets; closing drops them. */
static int t_protocols_unaccepted(void)
{
	uint16_t port;
	int l = ntcp_listener(SOCK_SEQPACKET, &port), c[4], i;
	long now;

	for (i = 0; i < 4; i++)
		CHECK((c[i] = ntcp_connect(SOCK_SEQPACKET, port)) >= 0, "connect");
	CHECK((now = count()) == 5, "listener + 4 clients: %ld", now);
	close(l);
	for (i = 0; i < 4; i++)
		close(c[i]);
	CHECK((now = count()) == 0, "0 after closing with a full accept queue: %ld", now);
	return 0;
}

/* ---- /proc/net/newtcp ------------------------------------------------------ */

struct row {
	unsigned int laddr, lport, raddr, rport, st;
	unsigned long tx, rx, ino;
	unsigned int uid;
	char type[16];
};

/* Rows whose local or remote port is @port; returns how many. */
static int rows(uint16_t port, struct row *r, int max)
{
	char line[256];
	int n = 0;
	FILE *f = fopen("/proc/net/newtcp", "r");

	if (!f)
		return -1;
	if (!fgets(line, sizeof(line), f)) {
		fclose(f);
		return -1;
	}
	while (fgets(line, sizeof(line), f) && n < max) {
		struct row x;

		if (sscanf(line, "%x:%x %x:%x %x %lx:%lx %u %lu %15s", &x.laddr,
			   &x.lport, &x.raddr, &x.rport, &x.st, &x.tx, &x.rx,
			   &x.uid, &x.ino, x.type) != 10)
			continue;
		if (x.lport == port || x.rport == port)
			r[n++] = x;
	}
	fclose(f);
	return n;
}

static unsigned long ino(int fd)
{
	struct stat st;

	return fstat(fd, &st) ? 0 : st.st_ino;
}

static int t_proc_header(void)
{
	char line[256];
	FILE *f = fopen("/proc/net/newtcp", "r");

	CHECK(f, "/proc/net/newtcp exists");
	CHECK(fgets(line, sizeof(line), f), "header");
	CHECK(!strcmp(line, "local_address rem_address   st tx_queue rx_queue   uid    inode type\n"),
	      "header line: %s", line);
	CHECK(!fgets(line, sizeof(line), f), "no rows without sockets");
	return 0;
}

static int t_proc_rows(void)
{
	struct row r[8];
	uint16_t port;
	int l = ntcp_listener(SOCK_STREAM, &port), c, s, n, i, sawc = 0, saws = 0;
	struct sockaddr_newtcp ca;
	socklen_t len = sizeof(ca);

	n = rows(port, r, 8);
	CHECK(n == 1, "listener row, %d", n);
	CHECK(r[0].laddr == htonl(INADDR_LOOPBACK) && r[0].lport == port &&
	      r[0].raddr == 0 && r[0].rport == 0 && r[0].st == 0x0A,
	      "listener: 0100007F:%04X 00000000:0000 0A, got %08X:%04X %08X:%04X %02X",
	      port, r[0].laddr, r[0].lport, r[0].raddr, r[0].rport, r[0].st);
	CHECK(r[0].ino == ino(l) && r[0].uid == 0 && !strcmp(r[0].type, "STREAM"),
	      "inode %lu (fd's %lu), uid %u, type %s", r[0].ino, ino(l), r[0].uid,
	      r[0].type);
	CHECK(r[0].tx == 16 && r[0].rx == 0, "listener tx = backlog 16, rx = 0: %lu %lu",
	      r[0].tx, r[0].rx);
	c = ntcp_connect(SOCK_STREAM, port);
	CHECK(c >= 0, "connect");
	usleep(100000);
	n = rows(port, r, 8);
	/* Listener, client, and the unaccepted connection after the listener. */
	CHECK(n == 3 && r[0].rx == 1, "one handshaken, unaccepted: listener rx 1, rows %d",
	      n);
	CHECK(r[1].st == 1 && r[1].ino == 0 && r[1].lport == port && r[1].uid == 0 &&
	      !strcmp(r[1].type, "STREAM"),
	      "unaccepted row: 01, no inode, local port %u: %02X %lu %04X", port, r[1].st,
	      r[1].ino, r[1].lport);
	s = accept(l, NULL, NULL);
	CHECK(s >= 0 && !getsockname(c, (struct sockaddr *)&ca, &len), "accept");
	n = rows(port, r, 8);
	CHECK(n == 3, "listener + both ends: %d", n);
	for (i = 0; i < n; i++) {
		if (r[i].ino == ino(c)) {
			sawc = r[i].st == 1 && r[i].rport == port &&
			       r[i].lport == ntohs(ca.snt_port);
		}
		if (r[i].ino == ino(s)) {
			saws = r[i].st == 1 && r[i].lport == port &&
			       r[i].rport == ntohs(ca.snt_port) &&
			       r[i].raddr == htonl(INADDR_LOOPBACK);
		}
	}
	CHECK(sawc && saws, "client and accepted rows: state 01, ports mirrored");
	CHECK(write(c, "12345", 5) == 5, "write");
	usleep(100000);
	n = rows(port, r, 8);
	for (i = 0; i < n && r[i].ino != ino(s); i++)
		;
	CHECK(i < n && r[i].rx == 5, "accepted row rx_queue 5, got %lu", i < n ? r[i].rx : 0);
	close(c);
	close(s);
	n = rows(port, r, 8);
	CHECK(n == 1, "closed ends gone, listener stays: %d", n);
	close(l);
	CHECK(rows(port, r, 8) == 0, "listener gone");
	return 0;
}

static int t_proc_unbound(void)
{
	struct row r[4];
	int fd = socket(ntcp_family, SOCK_SEQPACKET, 0), n;

	n = rows(0, r, 4);
	CHECK(n == 1, "one unbound row: %d", n);
	CHECK(r[0].st == 0x07 && r[0].laddr == 0 && !strcmp(r[0].type, "SEQPACKET") &&
	      r[0].ino == ino(fd), "state 07, 00000000:0000, SEQPACKET, inode");
	close(fd);
	CHECK(rows(0, r, 4) == 0, "gone after close");
	return 0;
}

/* ---- module load and unload ------------------------------------------------ */

static int t_rmmod_refused(void)
{
	int fd, c, s;
	uint16_t port;
	int l;

	CHECK(!ensure_loaded(), "loaded");
	fd = socket(ntcp_family, SOCK_STREAM, 0);
	CHECK(fd >= 0, "socket");
	CHECK(mod_unload() && (errno == EAGAIN || errno == EBUSY),
	      "refused with a socket open: %s", ntcp_errname(errno));
	CHECK(loaded(), "still loaded");
	close(fd);
	CHECK(!unload_soon(3000), "allowed after closing: %s", ntcp_errname(errno));
	CHECK(!loaded(), "gone from /sys/module");
	CHECK(socket(22, SOCK_STREAM, 0) < 0 && errno == EAFNOSUPPORT,
	      "family unregistered: EAFNOSUPPORT");
	CHECK(access("/proc/net/newtcp", F_OK) && errno == ENOENT, "/proc/net/newtcp gone");
	CHECK(count() == -1, "no NEW_TCP line in /proc/net/protocols");
	CHECK(!ensure_loaded(), "reload");
	/* A listener with unaccepted connections pins the module too. */
	l = ntcp_listener(SOCK_STREAM, &port);
	c = ntcp_connect(SOCK_STREAM, port);
	CHECK(l >= 0 && c >= 0, "listener with a pending connection");
	CHECK(mod_unload() && errno == EAGAIN, "refused: %s", ntcp_errname(errno));
	close(c);
	CHECK(mod_unload() && errno == EAGAIN, "the listener still pins it");
	close(l);
	CHECK(!unload_soon(3000), "allowed once all are closed");
	/* An accepted socket alone pins it. */
	CHECK(!ensure_loaded(), "reload");
	CHECK(!ntcp_pair(SOCK_SEQPACKET, &c, &s), "pair");
	close(c);
	CHECK(mod_unload() && errno == EAGAIN, "accepted socket alone pins it");
	close(s);
	CHECK(!unload_soon(3000), "allowed");
	CHECK(!ensure_loaded(), "reload");
	return 0;
}

/* A socket in another process pins it; that process's exit releases it. */
static int t_rmmod_other_process(void)
{
	int go[2];
	pid_t pid;
	char b;

	CHECK(!ensure_loaded(), "loaded");
	CHECK(!pipe(go), "pipe");
	pid = fork();
	if (!pid) {
		int c, s;

		if (ntcp_pair(SOCK_STREAM, &c, &s))
			_exit(1);
		if (write(go[1], "r", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(go[1]);
	CHECK(read(go[0], &b, 1) == 1, "child has a pair");
	CHECK(mod_unload() && errno == EAGAIN, "refused while the child holds sockets");
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	CHECK(!unload_soon(3000), "allowed after the child died: %s", ntcp_errname(errno));
	CHECK(!ensure_loaded(), "reload");
	return 0;
}

static int t_load_unload_50(void)
{
	long long t0 = now_ms();
	int i, rc;

	for (i = 0; i < 50; i++) {
		CHECK(!ensure_loaded(), "load %d: %s", i, ntcp_errname(errno));
		rc = traffic(i & 1 ? SOCK_SEQPACKET : SOCK_STREAM);
		CHECK(!rc, "traffic in cycle %d: %d", i, rc);
		CHECK(count() == 0, "no sockets left in cycle %d", i);
		CHECK(!unload_soon(3000), "unload %d: %s", i, ntcp_errname(errno));
	}
	CHECK(!ensure_loaded(), "loaded at the end");
	CHECK(!traffic(SOCK_STREAM), "works after 50 cycles");
	tap_diag("50 load/traffic/unload cycles in %lld ms", now_ms() - t0);
	return 0;
}

static int t_params(void)
{
	char buf[32];
	int fd, n;
	FILE *f;

	CHECK(!ensure_loaded() && !unload_soon(3000), "unloaded");
	/* EBUSY, not EEXIST: that one tells modprobe "already loaded". */
	CHECK(mod_load("family=2") && errno == EBUSY,
	      "family=2 (AF_INET, taken): EBUSY, got %s", ntcp_errname(errno));
	CHECK(!system("dmesg | tail -n 20 | grep -q 'address family 2 is already registered'"),
	      "family=2: the refusal says the slot is taken");
	CHECK(mod_load("family=0") && errno == EINVAL, "family=0: EINVAL");
	CHECK(mod_load("family=46") && errno == EINVAL, "family=46 (NPROTO): EINVAL");
	CHECK(!loaded(), "none of them stayed loaded");
	CHECK(!mod_load("family=13 handshake_ms=500"), "family=13");
	ntcp_family = tap_newtcp_family();
	CHECK(ntcp_family == 13, "sysfs says 13, got %d", ntcp_family);
	fd = socket(13, SOCK_STREAM, 0);
	CHECK(fd >= 0, "socket(13) works");
	close(fd);
	CHECK(socket(22, SOCK_STREAM, 0) < 0 && errno == EAFNOSUPPORT,
	      "22 is not registered now");
	CHECK(!traffic(SOCK_STREAM) && !traffic(SOCK_SEQPACKET), "traffic on family 13");
	f = fopen("/sys/module/newtcp/parameters/handshake_ms", "r");
	CHECK(f && fgets(buf, sizeof(buf), f) && atoi(buf) == 500, "handshake_ms 500");
	fclose(f);
	CHECK(!unload_soon(3000), "unload");
	CHECK(!ensure_loaded() && ntcp_family == tap_newtcp_default_family(),
	      "default family again: %d", ntcp_family);
	n = mod_load("");
	CHECK(n && errno == EEXIST, "loading twice: EEXIST");
	return 0;
}

/* ---- network namespaces ---------------------------------------------------- */

static int t_netns(void)
{
	uint16_t port, nport;
	int l, c, s, nl, p[2], q[2];
	struct row r[4];
	long base;
	pid_t pid;
	char b;

	CHECK(!ensure_loaded(), "loaded");
	l = ntcp_listener(SOCK_STREAM, &port);
	CHECK(l >= 0, "listener in the initial netns");
	base = count();
	CHECK(!pipe(p) && !pipe(q), "pipes");
	pid = fork();
	if (!pid) {
		uint16_t np;
		int nl2, c2, s2;

		close(p[0]);
		if (unshare(CLONE_NEWNET) || ntcp_lo_up())
			_exit(10);
		if (rows(port, r, 4) != 0)
			_exit(11);	/* initial netns socket visible */
		if (count() != 0)
			_exit(12);
		if (ntcp_connect(SOCK_STREAM, port) >= 0 || errno != ECONNREFUSED)
			_exit(13);
		nl2 = ntcp_listener(SOCK_STREAM, &np);
		if (nl2 < 0 || ntcp_pair(SOCK_SEQPACKET, &c2, &s2))
			_exit(14);
		if (count() != 3)
			_exit(15);
		if (write(p[1], &np, sizeof(np)) != sizeof(np))
			_exit(16);
		if (read(q[0], &b, 1) != 1)	/* parent looked */
			_exit(17);
		_exit(0);
	}
	close(p[1]);
	CHECK(read(p[0], &nport, sizeof(nport)) == sizeof(nport),
	      "the child set up its namespace (child status %d)",
	      (waitpid(pid, &s, WNOHANG) == pid) ? WEXITSTATUS(s) : -1);
	CHECK(rows(nport, r, 4) == 0, "its listener is not listed here");
	CHECK(count() == base, "nor counted here: %ld vs %ld", count(), base);
	c = ntcp_connect(SOCK_STREAM, nport);
	CHECK(c < 0 && errno == ECONNREFUSED, "nor reachable from here");
	CHECK(mod_unload() && errno == EAGAIN, "sockets in the other netns pin the module");
	CHECK(write(q[1], "x", 1) == 1, "release");
	CHECK(waitpid(pid, &s, 0) == pid && WIFEXITED(s) && WEXITSTATUS(s) == 0,
	      "child checks passed (status %d)", WEXITSTATUS(s));
	nl = ntcp_connect(SOCK_STREAM, port);
	CHECK(nl >= 0 && accept(l, NULL, NULL) >= 0, "the initial netns still works");
	return 0;
}

/* A namespace dies with sockets (listener, pending and open) inside. */
static int t_netns_teardown(void)
{
	int i, st;
	pid_t pid;

	CHECK(!ensure_loaded(), "loaded");
	for (i = 0; i < 5; i++) {
		pid = fork();
		if (!pid) {
			uint16_t port;
			int l, c, s, x;

			if (unshare(CLONE_NEWNET) || ntcp_lo_up())
				_exit(10);
			l = ntcp_listener(SOCK_STREAM, &port);
			if (l < 0 || ntcp_pair(SOCK_STREAM, &c, &s))
				_exit(11);
			x = ntcp_connect(SOCK_STREAM, port);	/* left pending */
			if (x < 0 || write(c, "unread", 6) != 6)
				_exit(12);
			_exit(0);	/* everything closes with the netns */
		}
		CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) &&
		      WEXITSTATUS(st) == 0, "round %d: child status %d", i,
		      WEXITSTATUS(st));
	}
	CHECK(count() == 0, "nothing left in the initial netns");
	CHECK(!unload_soon(5000), "module unloads after the namespaces died: %s",
	      ntcp_errname(errno));
	CHECK(!ensure_loaded(), "reload");
	CHECK(!traffic(SOCK_STREAM), "traffic");
	return 0;
}

static int t_loaded_at_end(void)
{
	CHECK(!ensure_loaded(), "loaded");
	CHECK(ntcp_family == tap_newtcp_default_family(), "default family %d", ntcp_family);
	CHECK(!traffic(SOCK_STREAM) && !traffic(SOCK_SEQPACKET), "works");
	CHECK(count() == 0, "no sockets left");
	return 0;
}

int main(void)
{
	static const struct ntcp_test tests[] = {
		{ "/proc/net/protocols counts opens, accepts and closes exactly", t_protocols_count, 10 },
		{ "/proc/net/protocols memory column follows queued data", t_protocols_memory, 10 },
		{ "/proc/net/protocols: unaccepted connections are no sockets, closing drops them", t_protocols_unaccepted, 10 },
		{ "/proc/net/newtcp header, empty without sockets", t_proc_header, 10 },
		{ "/proc/net/newtcp rows: listener, pending, both ends, addresses, inode, queues, removal", t_proc_rows, 10 },
		{ "/proc/net/newtcp row of an unbound SEQPACKET socket", t_proc_unbound, 10 },
		{ "rmmod refused with open sockets, allowed after closing; family, /proc gone", t_rmmod_refused, 30 },
		{ "rmmod refused while another process holds sockets, allowed after it dies", t_rmmod_other_process, 20 },
		{ "50 load/unload cycles with traffic in between", t_load_unload_50, 120 },
		{ "load parameters: taken and out-of-range families refused, family=13 works, handshake_ms", t_params, 30 },
		{ "network namespaces: separate sockets, listing, counts, reachability", t_netns, 20 },
		{ "network namespaces torn down with sockets inside, then rmmod", t_netns_teardown, 30 },
		{ "module loaded at the end with the default family", t_loaded_at_end, 20 },
	};
	size_t i;
	int kernel_family;

	tap_plan(ARRAY_SIZE(tests));
	if (ensure_loaded())
		tap_bail("newtcp module not loaded and cannot be loaded");
	kernel_family = tap_newtcp_kernel_family();
	for (i = 0; i < ARRAY_SIZE(tests); i++) {
		/* On a patched kernel the module takes AF_INET_NEW_TCP and ignores family=. */
		if (kernel_family > 0 && tests[i].fn == t_params) {
			tap_skip("the kernel defines AF_INET_NEW_TCP: family= is ignored", "%s", tests[i].name);
			continue;
		}
		run_test(tests[i].name, tests[i].fn, tests[i].timeout);
		/* A test may have reloaded it under another family. */
		if (ensure_loaded())
			tap_diag("module could not be reloaded after: %s", tests[i].name);
	}
	return tap_done();
}
