// SPDX-License-Identifier: GPL-2.0
/*
 * policy: a NEW_TCP connection obeys the owner, device, cgroup and mark
 * rules that a TCP connection obeys.  Each test sets a rule up in a
 * fresh network namespace (or cgroup), checks that it acts on plain TCP
 * first (the reference: if TCP is not stopped the setup is wrong and the
 * test fails saying so), then that it acts on NEW_TCP the same way:
 *
 * - nftables "meta skuid" (what iptables' -m owner looks at: the
 *   socket's file's credentials) on a connecting socket and on an
 *   accepted one;
 * - SO_BINDTODEVICE on a connecting socket and on a listener;
 * - cgroup v2 BPF programs at socket creation and at connect();
 * - nftables "meta mark" against SO_MARK;
 * - TCP_ULP, which would take the inner TCP socket over: refused.
 *
 * A kernel without nf_tables, dummy interfaces or cgroup BPF makes the
 * test that needs it SKIP with the reason (the harness leaves out the
 * suite.json modules a kernel lacks).  crc32c_generic is listed for
 * nf_tables' libcrc32c on 5.10-6.12: a soft dependency that modules.dep
 * does not name, without which libcrc32c fails to load.
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
#include <linux/bpf.h>
#include <linux/tls.h>
#include <netinet/tcp.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>

#include "ntcp.h"
#include "tap.h"

#ifndef TCP_ULP
#define TCP_ULP		31
#endif
#ifndef SOL_TLS
#define SOL_TLS		282
#endif

/* uids the owner tests run as: one the rule names, one it does not. */
#define UID_DENIED	4242
#define UID_OTHER	4243
#define POL_MARK	0x42

static int ty;

/* One side of a comparison: plain TCP or NEW_TCP of the test's type. */
struct ep {
	int family, type;
	const char *name;
};

static struct ep ep_tcp(void)
{
	return (struct ep){ AF_INET, SOCK_STREAM, "TCP" };
}

static struct ep ep_ntcp(void)
{
	return (struct ep){ ntcp_family, ty,
			    ty == SOCK_STREAM ? "NEW_TCP stream" :
						"NEW_TCP seqpacket" };
}

static struct sockaddr_in sin_of(const struct ep *e, const char *ip,
				 uint16_t port)
{
	struct sockaddr_in a;

	memset(&a, 0, sizeof(a));
	a.sin_family = e->family;
	a.sin_port = htons(port);
	inet_pton(AF_INET, ip, &a.sin_addr);
	return a;
}

/* Listener of @e on @ip (port chosen); @dev: SO_BINDTODEVICE first. */
static int ep_listen(const struct ep *e, const char *ip, const char *dev,
		     uint16_t *port)
{
	struct sockaddr_in a = sin_of(e, ip, 0);
	socklen_t len = sizeof(a);
	int fd = socket(e->family, e->type, 0);

	if (fd < 0)
		return -1;
	if ((dev && setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, dev,
			       strlen(dev) + 1)) ||
	    bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 8) ||
	    getsockname(fd, (struct sockaddr *)&a, &len)) {
		int err = errno;

		close(fd);
		errno = err;
		return -1;
	}
	*port = ntohs(a.sin_port);
	return fd;
}

/*
 * Connect @fd to @ip:@port within @ms: 0 once connected, else the errno
 * (ETIMEDOUT when nothing came back in time).
 */
static int ep_connect_fd(const struct ep *e, int fd, const char *ip,
			 uint16_t port, int ms)
{
	struct sockaddr_in a = sin_of(e, ip, port);
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	socklen_t len = sizeof(int);
	int err = 0, fl = fcntl(fd, F_GETFL);

	fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	if (!connect(fd, (struct sockaddr *)&a, sizeof(a)))
		goto out;
	if (errno != EINPROGRESS)
		return errno;
	if (poll(&p, 1, ms) != 1)
		return ETIMEDOUT;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len))
		return errno;
out:
	fcntl(fd, F_SETFL, fl);
	return err;
}

/* A fresh socket of @e connected as above; *fdp gets it (or -1). */
static int ep_connect(const struct ep *e, const char *ip, uint16_t port,
		      int ms, int *fdp)
{
	int fd = socket(e->family, e->type, 0), err;

	*fdp = -1;
	if (fd < 0)
		return errno;
	err = ep_connect_fd(e, fd, ip, port, ms);
	if (err)
		close(fd);
	else
		*fdp = fd;
	return err;
}

/* accept() on @l within @ms; -1 with errno ETIMEDOUT when none came. */
static int accept_within(int l, int ms)
{
	struct pollfd p = { .fd = l, .events = POLLIN };

	if (poll(&p, 1, ms) != 1) {
		errno = ETIMEDOUT;
		return -1;
	}
	return accept(l, NULL, NULL);
}

/* Send one byte each way on a connected pair: 0 when both arrived. */
static int ping(int a, int b)
{
	struct timeval tv = { .tv_sec = 2 };
	char c = 'p';

	setsockopt(a, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(b, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (send(a, "x", 1, 0) != 1 || recv(b, &c, 1, 0) != 1 || c != 'x' ||
	    send(b, "y", 1, 0) != 1 || recv(a, &c, 1, 0) != 1 || c != 'y')
		return -1;
	return 0;
}

/*
 * Run a program, stdout and stderr into @out (NUL-terminated, may be
 * cut); its exit status, 127 when it could not be run.
 */
static int run(char *const argv[], char *out, size_t outlen)
{
	int pfd[2], st;
	size_t got = 0;
	ssize_t n;
	pid_t pid;

	if (pipe(pfd))
		return 127;
	pid = fork();
	if (pid < 0)
		return 127;
	if (!pid) {
		dup2(pfd[1], 1);
		dup2(pfd[1], 2);
		close(pfd[0]);
		setenv("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", 1);
		execvp(argv[0], argv);
		printf("cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(pfd[1]);
	while (got + 1 < outlen &&
	       (n = read(pfd[0], out + got, outlen - 1 - got)) > 0)
		got += n;
	out[got] = 0;
	while (got && out[got - 1] == '\n')
		out[--got] = 0;
	close(pfd[0]);
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return 127;
	return WEXITSTATUS(st);
}

/* A private network namespace with lo up: rules made here die with it. */
static int own_netns(void)
{
	if (unshare(CLONE_NEWNET))
		return -1;
	return ntcp_lo_up();
}

/* One line of @s: newlines and runs of blanks become one space. */
static void one_line(char *s)
{
	char *d = s, *p;

	for (p = s; *p; p++) {
		char c = *p == '\n' || *p == '\t' ? ' ' : *p;

		if (c == ' ' && (d == s || d[-1] == ' '))
			continue;
		*d++ = c;
	}
	*d = 0;
}

/*
 * An nft ruleset of one output chain with @rule in the current netns.
 * 0 on success; TEST_SKIP with the reason in @why when nftables cannot
 * express it here (no nft, or the kernel lacks nf_tables or a module the
 * rule needs); 1 with the reason when nft refused it otherwise (a
 * mistake in the rule: the test fails rather than skip).
 */
static int nft_output_rule(const char *rule, char *why, size_t whylen)
{
	char cmd[512], out[512];
	char *argv[] = { "nft", cmd, NULL };
	int rc;

	snprintf(cmd, sizeof(cmd),
		 "add table ip sockvm_pol; "
		 "add chain ip sockvm_pol out { type filter hook output priority 0; }; "
		 "add rule ip sockvm_pol out %s", rule);
	rc = run(argv, out, sizeof(out));
	if (!rc)
		return 0;
	one_line(out);
	snprintf(why, whylen, "nft '%s' failed (exit %d): %s", rule, rc, out);
	if (rc == 127 || strstr(out, "Could not process rule") ||
	    strstr(out, "not supported"))
		return TEST_SKIP;
	return 1;
}

/* nft_output_rule() for a test: SKIP or fail with the reason. */
#define NFT_RULE(rule)							\
	do {								\
		char why_[600];						\
		int rc_ = nft_output_rule(rule, why_, sizeof(why_));	\
									\
		if (rc_ == TEST_SKIP)					\
			SKIP_TEST("%s", why_);				\
		CHECK(!rc_, "%s", why_);				\
	} while (0)

/*
 * Run the `ip` commands of @batch (one a line) in one `ip -batch`, from
 * iproute2 (the tool the suite ships) else whatever is on PATH.
 */
static int ip_batch(const char *batch, char *out, size_t outlen)
{
	char cmd[512];
	char *argv[] = { "/bin/sh", "-c", cmd, NULL };

	snprintf(cmd, sizeof(cmd),
		 "IP=/usr/local/bin/ip; [ -x $IP ] || IP=ip; printf '%s' | $IP -batch -",
		 batch);
	return run(argv, out, outlen);
}

/* ---- owner ------------------------------------------------------------ */

/*
 * In a child running as @uid (real, effective and saved, so the file's
 * fsuid is @uid too): connect a fresh socket of @e to 127.0.0.1:@port;
 * its result as an errno (0: connected).
 */
static int connect_as(const struct ep *e, uint16_t port, uid_t uid)
{
	pid_t pid = fork();
	int st, fd, err;

	if (pid < 0)
		return errno;
	if (!pid) {
		if (setresgid(uid, uid, uid) || setresuid(uid, uid, uid))
			_exit(250);
		err = ep_connect(e, "127.0.0.1", port, 1500, &fd);
		_exit(err > 249 ? 249 : err);
	}
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return EINTR;
	return WEXITSTATUS(st);
}

/*
 * One side of the owner-connect test: uid UID_DENIED must be stopped,
 * UID_OTHER must pass (the connection then shows up on the listener).
 * 0 when so; 1 after saying what happened.
 */
static int owner_connect_one(const struct ep *e)
{
	uint16_t port;
	int l = ep_listen(e, "127.0.0.1", NULL, &port), a, err;

	CHECK(l >= 0, "%s listener", e->name);
	err = connect_as(e, port, UID_DENIED);
	if (!err) {
		printf("# %s: uid %d connected despite 'meta skuid %d reject'\n",
		       e->name, UID_DENIED, UID_DENIED);
		return 1;
	}
	printf("# %s: uid %d refused: %s\n", e->name, UID_DENIED,
	       ntcp_errname(err));
	err = connect_as(e, port, UID_OTHER);
	CHECK(!err, "%s: uid %d (not in the rule) must connect: %s", e->name,
	      UID_OTHER, ntcp_errname(err));
	/* What uid UID_DENIED got through must not be queued either. */
	a = accept_within(l, 1000);
	CHECK(a >= 0, "%s: uid %d's connection accepted", e->name, UID_OTHER);
	close(a);
	a = accept_within(l, 0);
	CHECK(a < 0, "%s: a second connection was queued (uid %d's)",
	      e->name, UID_DENIED);
	close(l);
	return 0;
}

/*
 * A policy must first be seen acting on plain TCP (else the test's setup
 * is wrong, and the test fails saying so), then on NEW_TCP.  @one gives
 * 0 when the policy acted.
 */
static int tcp_then_ntcp(int (*one)(const struct ep *), const char *what)
{
	struct ep t = ep_tcp(), n = ep_ntcp();

	if (one(&t)) {
		printf("# reference failed: %s, the setup is wrong\n", what);
		return 1;
	}
	return one(&n);
}

static int t_owner_connect(void)
{
	CHECK(!own_netns(), "netns");
	NFT_RULE("meta skuid 4242 reject with tcp reset");
	return tcp_then_ntcp(owner_connect_one, "the rule does not act on TCP");
}

/*
 * Accepted socket: the listener and the accepted socket belong to a
 * process running as UID_DENIED, and the rule drops what that uid sends
 * but SYNs and SYN-ACKs.  The connection comes up (a NEW_TCP handshake
 * is sent by the inner socket before accept() gives it an owner, a TCP
 * child has no socket yet either), then the server's first data must
 * not arrive.  0 when it does not, 1 when it does.
 */
static int owner_accepted_one(const struct ep *e)
{
	int go[2], rdy[2], c, st, err, n;
	struct pollfd p;
	uint16_t port = 0;
	pid_t pid;
	char ch;

	CHECK(!pipe(go) && !pipe(rdy), "pipes");
	pid = fork();
	CHECK(pid >= 0, "fork");
	if (!pid) {
		int l, s;

		close(go[1]);
		close(rdy[0]);
		if (setresgid(UID_DENIED, UID_DENIED, UID_DENIED) ||
		    setresuid(UID_DENIED, UID_DENIED, UID_DENIED))
			_exit(2);
		l = ep_listen(e, "127.0.0.1", NULL, &port);
		if (l < 0 || write(rdy[1], &port, sizeof(port)) != sizeof(port))
			_exit(3);
		s = accept_within(l, 3000);
		if (s < 0)
			_exit(4);
		if (send(s, "d", 1, 0) != 1)
			_exit(6);
		/* Hold the socket until the parent has looked. */
		if (read(go[0], &ch, 1) < 0)
			_exit(7);
		_exit(0);
	}
	close(go[0]);
	close(rdy[1]);
	CHECK(read(rdy[0], &port, sizeof(port)) == sizeof(port), "server listening");
	close(rdy[0]);
	err = ep_connect(e, "127.0.0.1", port, 2000, &c);
	CHECK(!err, "%s connect: %s", e->name, ntcp_errname(err));
	p = (struct pollfd){ .fd = c, .events = POLLIN };
	n = poll(&p, 1, 600);
	close(go[1]);
	waitpid(pid, &st, 0);
	close(c);
	CHECK(WIFEXITED(st) && !WEXITSTATUS(st), "server child exit %d",
	      WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	if (n) {
		printf("# %s: the accepted socket's data (uid %d) arrived despite 'meta skuid %d drop'\n",
		       e->name, UID_DENIED, UID_DENIED);
		return 1;
	}
	printf("# %s: accepted socket's data dropped by its owner rule\n", e->name);
	return 0;
}

static int t_owner_accepted(void)
{
	CHECK(!own_netns(), "netns");
	NFT_RULE("meta skuid 4242 tcp flags & syn == 0 drop");
	return tcp_then_ntcp(owner_accepted_one, "the rule does not act on TCP");
}

/* ---- SO_BINDTODEVICE ---------------------------------------------------- */

/* Two dummy interfaces: pd1 10.77.1.1/24, pd2 10.77.2.1/24. */
static int two_dummies(char *why, size_t whylen)
{
	static const char batch[] =
		"link add pd1 type dummy\\n" "link add pd2 type dummy\\n"
		"addr add 10.77.1.1/24 dev pd1\\n" "addr add 10.77.2.1/24 dev pd2\\n"
		"link set pd1 up\\n" "link set pd2 up\\n";
	char out[256];
	int rc;

	rc = ip_batch(batch, out, sizeof(out));
	if (!rc)
		return 0;
	one_line(out);
	snprintf(why, whylen, "ip -batch (two dummy interfaces): exit %d: %s",
		 rc, out);
	if (rc == 127 || strstr(out, "not supported") ||
	    strstr(out, "Unknown device type"))
		return TEST_SKIP;
	return 1;
}

/* The connection @fd made to listener @l is accepted and carries data. */
static int accepted_and_talking(const struct ep *e, int l, int fd)
{
	int s = accept_within(l, 1000);

	CHECK(s >= 0, "%s: accept", e->name);
	CHECK(!ping(fd, s), "%s: data both ways", e->name);
	close(s);
	close(fd);
	close(l);
	return 0;
}

/*
 * Client bound to pd2 connects to 10.77.1.1 (pd1's): the route through
 * pd2 leads nowhere, so no connection; bound to pd1 it connects.
 */
static int bind_client_one(const struct ep *e)
{
	uint16_t port;
	int l = ep_listen(e, "10.77.1.1", NULL, &port), fd, s, err;

	CHECK(l >= 0, "%s listener", e->name);
	fd = socket(e->family, e->type, 0);
	CHECK(fd >= 0, "socket");
	CHECK(!setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, "pd2", 4),
	      "%s SO_BINDTODEVICE pd2", e->name);
	err = ep_connect_fd(e, fd, "10.77.1.1", port, 700);
	close(fd);
	if (!err) {
		printf("# %s bound to pd2 reached 10.77.1.1 (on pd1)\n", e->name);
		return 1;
	}
	printf("# %s bound to pd2: %s\n", e->name, ntcp_errname(err));
	s = accept_within(l, 0);
	CHECK(s < 0, "%s: the pd2-bound connection reached the listener", e->name);

	fd = socket(e->family, e->type, 0);
	CHECK(fd >= 0, "socket");
	CHECK(!setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, "pd1", 4),
	      "%s SO_BINDTODEVICE pd1", e->name);
	err = ep_connect_fd(e, fd, "10.77.1.1", port, 2000);
	CHECK(!err, "%s bound to pd1 must connect: %s", e->name, ntcp_errname(err));
	return accepted_and_talking(e, l, fd);
}

/* A SO_BINDTODEVICE check in a netns of its own with two dummy links. */
static int with_two_dummies(int (*one)(const struct ep *), const char *what)
{
	char why[400];
	int rc;

	CHECK(!own_netns(), "netns");
	rc = two_dummies(why, sizeof(why));
	if (rc == TEST_SKIP)
		SKIP_TEST("%s", why);
	CHECK(!rc, "%s", why);
	return tcp_then_ntcp(one, what);
}

static int t_bind_client(void)
{
	return with_two_dummies(bind_client_one, "SO_BINDTODEVICE does not act on TCP here");
}

/*
 * Listener bound to pd2 on 0.0.0.0: a connection to 127.0.0.1 comes in
 * on lo and must not find it; bound to lo, it does.
 */
static int bind_listener_one(const struct ep *e)
{
	uint16_t port;
	int l = ep_listen(e, "0.0.0.0", "pd2", &port), fd, err;

	CHECK(l >= 0, "%s listener on pd2", e->name);
	err = ep_connect(e, "127.0.0.1", port, 1500, &fd);
	if (!err) {
		printf("# %s: a listener bound to pd2 took a connection on lo\n",
		       e->name);
		return 1;
	}
	printf("# %s: listener bound to pd2, connect over lo: %s\n", e->name,
	       ntcp_errname(err));
	close(l);

	l = ep_listen(e, "0.0.0.0", "lo", &port);
	CHECK(l >= 0, "%s listener on lo", e->name);
	err = ep_connect(e, "127.0.0.1", port, 2000, &fd);
	CHECK(!err, "%s: listener bound to lo must take it: %s", e->name,
	      ntcp_errname(err));
	return accepted_and_talking(e, l, fd);
}

static int t_bind_listener(void)
{
	return with_two_dummies(bind_listener_one, "SO_BINDTODEVICE does not act on a TCP listener here");
}

/* ---- cgroup BPF --------------------------------------------------------- */

static long sys_bpf(int cmd, union bpf_attr *attr)
{
	return syscall(__NR_bpf, cmd, attr, sizeof(*attr));
}

/* "return 0": deny, whatever the hook. */
static int bpf_deny_prog(int prog_type, int attach_type, char *log,
			 size_t loglen)
{
	static const struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.prog_type = prog_type;
	attr.expected_attach_type = attach_type;
	attr.insns = (uintptr_t)insns;
	attr.insn_cnt = ARRAY_SIZE(insns);
	attr.license = (uintptr_t)"GPL";
	attr.log_buf = (uintptr_t)log;
	attr.log_size = loglen;
	attr.log_level = 1;
	log[0] = 0;
	return sys_bpf(BPF_PROG_LOAD, &attr);
}

struct cg {
	char mnt[64], dir[96];
	int dfd;
};

/*
 * A cgroup v2 directory of our own, with a "return 0" program of
 * @prog_type attached at @attach_type.  0 on success; 1 with the reason
 * in @why when this kernel cannot (no cgroup2, no cgroup BPF).
 */
static int cg_setup(struct cg *cg, int prog_type, int attach_type,
		    char *why, size_t whylen)
{
	union bpf_attr attr;
	char log[512];
	int prog;

	snprintf(cg->mnt, sizeof(cg->mnt), "/tmp/policy-cg.%d", getpid());
	snprintf(cg->dir, sizeof(cg->dir), "%s/t", cg->mnt);
	if (mkdir(cg->mnt, 0755) && errno != EEXIST)
		return snprintf(why, whylen, "mkdir %s: %s", cg->mnt,
				strerror(errno)), 1;
	if (mount("none", cg->mnt, "cgroup2", 0, NULL)) {
		snprintf(why, whylen, "mount cgroup2: %s", strerror(errno));
		rmdir(cg->mnt);
		return 1;
	}
	if (mkdir(cg->dir, 0755)) {
		snprintf(why, whylen, "mkdir %s: %s", cg->dir, strerror(errno));
		goto fail;
	}
	cg->dfd = open(cg->dir, O_RDONLY | O_DIRECTORY);
	if (cg->dfd < 0) {
		snprintf(why, whylen, "open %s: %s", cg->dir, strerror(errno));
		goto fail;
	}
	prog = bpf_deny_prog(prog_type, attach_type, log, sizeof(log));
	if (prog < 0) {
		snprintf(why, whylen, "BPF_PROG_LOAD type %d: %s %s", prog_type,
			 strerror(errno), log);
		goto fail;
	}
	memset(&attr, 0, sizeof(attr));
	attr.target_fd = cg->dfd;
	attr.attach_bpf_fd = prog;
	attr.attach_type = attach_type;
	if (sys_bpf(BPF_PROG_ATTACH, &attr)) {
		snprintf(why, whylen, "BPF_PROG_ATTACH type %d: %s",
			 attach_type, strerror(errno));
		close(prog);
		goto fail;
	}
	close(prog);
	return 0;
fail:
	rmdir(cg->dir);
	umount(cg->mnt);
	rmdir(cg->mnt);
	return 1;
}

static void cg_teardown(struct cg *cg)
{
	close(cg->dfd);
	rmdir(cg->dir);
	umount2(cg->mnt, MNT_DETACH);
	rmdir(cg->mnt);
}

/*
 * Run @fn(@arg) in a child that moved itself into @cg; its exit status
 * (an errno, or 250+ for setup failures).
 */
static int in_cgroup(struct cg *cg, int (*fn)(const struct ep *, uint16_t),
		     const struct ep *e, uint16_t port)
{
	char path[128], pid[16];
	pid_t child = fork();
	int st, fd, n;

	if (child < 0)
		return 251;
	if (!child) {
		snprintf(path, sizeof(path), "%s/cgroup.procs", cg->dir);
		n = snprintf(pid, sizeof(pid), "%d", getpid());
		fd = open(path, O_WRONLY);
		if (fd < 0 || write(fd, pid, n) != n)
			_exit(250);
		close(fd);
		_exit(fn(e, port));
	}
	if (waitpid(child, &st, 0) != child || !WIFEXITED(st))
		return 252;
	return WEXITSTATUS(st);
}

static int try_socket(const struct ep *e, uint16_t port)
{
	int fd = socket(e->family, e->type, 0);

	(void)port;
	if (fd < 0)
		return errno > 249 ? 249 : errno;
	close(fd);
	return 0;
}

static int try_connect(const struct ep *e, uint16_t port)
{
	int fd, err = ep_connect(e, "127.0.0.1", port, 1500, &fd);

	if (!err)
		close(fd);
	return err > 249 ? 249 : err;
}

static int cg_check(struct cg *cg, int (*fn)(const struct ep *, uint16_t),
		    const struct ep *e, uint16_t port, const char *what)
{
	int err = in_cgroup(cg, fn, e, port);

	if (err >= 250) {
		printf("# %s: the child could not join the cgroup (%d)\n",
		       e->name, err);
		return 1;
	}
	if (err != EPERM) {
		printf("# %s: %s in a cgroup whose program denies it: %s, want EPERM\n",
		       e->name, what, err ? ntcp_errname(err) : "allowed");
		return 1;
	}
	printf("# %s: %s denied with EPERM\n", e->name, what);
	return 0;
}

static int t_cg_create(void)
{
	struct ep t = ep_tcp(), n = ep_ntcp();
	char why[700];
	struct cg cg;
	int rc;

	if (cg_setup(&cg, BPF_PROG_TYPE_CGROUP_SOCK,
		     BPF_CGROUP_INET_SOCK_CREATE, why, sizeof(why)))
		SKIP_TEST("%s", why);
	rc = cg_check(&cg, try_socket, &t, 0, "socket()");
	if (rc)
		printf("# reference failed: the program does not act on TCP, the setup is wrong\n");
	else
		rc = cg_check(&cg, try_socket, &n, 0, "socket()");
	cg_teardown(&cg);
	return rc;
}

static int t_cg_connect(void)
{
	struct ep t = ep_tcp(), n = ep_ntcp();
	int lt, ln, rc, a;
	uint16_t pt, pn;
	char why[700];
	struct cg cg;

	lt = ep_listen(&t, "127.0.0.1", NULL, &pt);
	ln = ep_listen(&n, "127.0.0.1", NULL, &pn);
	CHECK(lt >= 0 && ln >= 0, "listeners");
	if (cg_setup(&cg, BPF_PROG_TYPE_CGROUP_SOCK_ADDR,
		     BPF_CGROUP_INET4_CONNECT, why, sizeof(why)))
		SKIP_TEST("%s", why);
	rc = cg_check(&cg, try_connect, &t, pt, "connect()");
	if (rc)
		printf("# reference failed: the program does not act on TCP, the setup is wrong\n");
	else
		rc = cg_check(&cg, try_connect, &n, pn, "connect()");
	cg_teardown(&cg);
	if (!rc) {
		a = accept_within(ln, 0);
		CHECK(a < 0, "a connection reached the NEW_TCP listener");
	}
	return rc;
}

/* ---- SO_MARK ------------------------------------------------------------ */

static int mark_one(const struct ep *e)
{
	uint16_t port;
	int l = ep_listen(e, "127.0.0.1", NULL, &port), fd, s, err, m = POL_MARK;

	CHECK(l >= 0, "%s listener", e->name);
	fd = socket(e->family, e->type, 0);
	CHECK(fd >= 0, "socket");
	CHECK(!setsockopt(fd, SOL_SOCKET, SO_MARK, &m, sizeof(m)), "SO_MARK");
	err = ep_connect_fd(e, fd, "127.0.0.1", port, 1500);
	close(fd);
	if (!err) {
		printf("# %s with SO_MARK %#x connected despite 'meta mark %#x reject'\n",
		       e->name, m, m);
		return 1;
	}
	printf("# %s with SO_MARK %#x: %s\n", e->name, m, ntcp_errname(err));
	err = ep_connect(e, "127.0.0.1", port, 2000, &fd);
	CHECK(!err, "%s without the mark must connect: %s", e->name,
	      ntcp_errname(err));
	s = accept_within(l, 1000);
	CHECK(s >= 0, "%s: accept", e->name);
	close(s);
	close(fd);
	close(l);
	return 0;
}

static int t_mark(void)
{
	CHECK(!own_netns(), "netns");
	NFT_RULE("meta mark 0x42 reject with tcp reset");
	return tcp_then_ntcp(mark_one, "the rule does not act on TCP");
}

/*
 * SO_MARK set on a connected socket: its next data carries the mark and
 * is dropped (the rule drops marked packets; what was sent before the
 * mark went through).
 */
static int mark_late_one(const struct ep *e)
{
	int l, c, s, err, n, m = POL_MARK;
	struct pollfd p;
	uint16_t port;

	l = ep_listen(e, "127.0.0.1", NULL, &port);
	CHECK(l >= 0, "%s listener", e->name);
	err = ep_connect(e, "127.0.0.1", port, 2000, &c);
	CHECK(!err, "%s connect: %s", e->name, ntcp_errname(err));
	s = accept_within(l, 1000);
	CHECK(s >= 0, "%s accept", e->name);
	CHECK(!ping(c, s), "%s: data both ways before the mark", e->name);
	CHECK(!setsockopt(c, SOL_SOCKET, SO_MARK, &m, sizeof(m)), "SO_MARK");
	CHECK(send(c, "m", 1, 0) == 1, "%s send", e->name);
	p = (struct pollfd){ .fd = s, .events = POLLIN };
	n = poll(&p, 1, 600);
	close(c);
	close(s);
	close(l);
	if (n) {
		printf("# %s: data sent after SO_MARK %#x arrived despite 'meta mark %#x drop'\n",
		       e->name, m, m);
		return 1;
	}
	printf("# %s: data sent after SO_MARK %#x dropped\n", e->name, m);
	return 0;
}

static int t_mark_late(void)
{
	CHECK(!own_netns(), "netns");
	NFT_RULE("meta mark 0x42 drop");
	return tcp_then_ntcp(mark_late_one, "the rule does not act on TCP");
}

/*
 * RTO retransmissions of the segment @fd's connection waits an ACK for
 * (icsk_retransmits: 0 once anything is ACKed; a tail loss probe or a
 * retransmission that got its ACK leaves no trace here).
 */
static long unacked_retrans(const struct ep *e, int fd)
{
	struct newtcp_info ni;
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	if (e->family != AF_INET)
		return ntcp_info(fd, &ni) ? -1 : (long)ni.nti_retransmits;
	if (getsockopt(fd, SOL_TCP, TCP_INFO, &ti, &len))
		return -1;
	return ti.tcpi_retransmits;
}

/*
 * SO_MARK set on an idle connection reaches the segments the inner TCP
 * socket sends by itself, with no other call on the socket: the peer's
 * data is ACKed with the mark, the rule drops those ACKs, the peer
 * retransmits.
 */
static int set_mark(int fd)
{
	int m = POL_MARK;

	return setsockopt(fd, SOL_SOCKET, SO_MARK, &m, sizeof(m));
}

/*
 * @set (an option) on one end of an idle connection to @ip (local), then
 * the other end sends: 0 when that end's data stays unACKed (the option
 * reached the ACKs), 1 when it was ACKed.
 */
static int idle_option_one(const struct ep *e, const char *ip,
			   int (*set)(int), const char *what)
{
	int l, c, s, err;
	uint16_t port;
	long before, after;

	l = ep_listen(e, ip, NULL, &port);
	CHECK(l >= 0, "%s listener", e->name);
	err = ep_connect(e, ip, port, 2000, &c);
	CHECK(!err, "%s connect: %s", e->name, ntcp_errname(err));
	s = accept_within(l, 1000);
	CHECK(s >= 0, "%s accept", e->name);
	CHECK(!ping(c, s), "%s: data both ways before the mark", e->name);
	before = unacked_retrans(e, s);
	CHECK(before == 0, "%s: nothing unacknowledged before, %ld", e->name,
	      before);
	/* No call on c after this: only the option itself can act. */
	CHECK(!set(c), "%s", what);
	CHECK(send(s, "a", 1, 0) == 1, "%s send", e->name);
	usleep(900000);
	after = unacked_retrans(e, s);
	close(c);
	close(s);
	close(l);
	if (after < 1) {
		printf("# %s: the peer's data was ACKed (retransmits %ld): %s did not reach the ACKs\n",
		       e->name, after, what);
		return 1;
	}
	printf("# %s: after %s the ACKs were lost, the peer's data unACKed after %ld retransmission(s)\n",
	       e->name, what, after);
	return 0;
}

static int t_mark_idle(void)
{
	struct ep t = ep_tcp(), n = ep_ntcp();
	struct utsname u;
	int maj = 0, min = 0;

	if (!uname(&u) && sscanf(u.release, "%d.%d", &maj, &min) == 2 &&
	    (maj < 6 || (maj == 6 && min < 5)))
		SKIP_TEST("%s: SOL_SOCKET never reaches a protocol before the SOCK_CUSTOM_SOCKOPT flag; SO_MARK reaches the inner TCP at the next call (API.md, Policy)",
			  u.release);
	CHECK(!own_netns(), "netns");
	NFT_RULE("meta mark 0x42 drop");
	if (idle_option_one(&t, "127.0.0.1", set_mark, "SO_MARK 0x42")) {
		printf("# reference failed: the rule does not act on TCP, the setup is wrong\n");
		return 1;
	}
	return idle_option_one(&n, "127.0.0.1", set_mark, "SO_MARK 0x42");
}

/* ---- TCP_ULP ------------------------------------------------------------ */

/* Baseline reproduction: what a kTLS transmit key on the inner socket does. */
static void ulp_aftermath(int c, int s)
{
	struct tls12_crypto_info_aes_gcm_128 ci;
	struct timeval tv = { .tv_usec = 500000 };
	char buf[64];
	ssize_t n;
	int r;

	memset(&ci, 0, sizeof(ci));
	ci.info.version = TLS_1_2_VERSION;
	ci.info.cipher_type = TLS_CIPHER_AES_GCM_128;
	r = setsockopt(c, SOL_TLS, TLS_TX, &ci, sizeof(ci));
	printf("# then SOL_TLS TLS_TX: %s\n", r ? ntcp_errname(errno) : "accepted");
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	n = send(c, "hello", 5, MSG_DONTWAIT);
	printf("# send(\"hello\"): %zd %s\n", n, n < 0 ? ntcp_errname(errno) : "");
	n = recv(s, buf, sizeof(buf), 0);
	if (n < 0)
		printf("# peer recv: %s\n", ntcp_errname(errno));
	else
		printf("# peer recv: %zd bytes, first %02x %02x%s\n", n,
		       (unsigned char)buf[0], (unsigned char)buf[1],
		       n == 5 && !memcmp(buf, "hello", 5) ? " (plain)" : " (not what was sent)");
}

static int t_ulp(void)
{
	int c, s, r, err;

	/* Reference: TCP takes the ULP once connected (needs kTLS here). */
	CHECK(!tcp_pair(&c, &s, 0), "tcp pair");
	r = setsockopt(c, SOL_TCP, TCP_ULP, "tls", 3);
	err = errno;
	close(c);
	close(s);
	/* Without kTLS TCP says ENOENT; the refusal below holds all the same. */
	if (r && err == ENOENT)
		printf("# no kernel TLS here (TCP's TCP_ULP \"tls\": ENOENT)\n");
	else
		CHECK(!r, "reference: TCP_ULP \"tls\" on a TCP socket");

	CHECK(!ntcp_pair(ty, &c, &s), "pair");
	r = setsockopt(c, SOL_TCP, TCP_ULP, "tls", 3);
	if (!r) {
		printf("# TCP_ULP \"tls\" accepted by the NEW_TCP socket (want EOPNOTSUPP)\n");
		ulp_aftermath(c, s);
		close(c);
		close(s);
		return 1;
	}
	CHECK(errno == EOPNOTSUPP, "TCP_ULP \"tls\": want EOPNOTSUPP");
	r = setsockopt(s, SOL_TCP, TCP_ULP, "tls", 3);
	CHECK(r && errno == EOPNOTSUPP, "accepted side: TCP_ULP refused");
	CHECK(!ping(c, s), "the connection still carries data");
	close(c);
	close(s);
	return 0;
}

/*
 * The other SOL_TCP options that would take the inner socket over are
 * refused too (TCP takes them: the reference), tuning ones still pass.
 */
static int t_tcp_takeovers(void)
{
	static const struct { int name; const char *what; } no[] = {
		{ TCP_REPAIR, "TCP_REPAIR" },
		{ TCP_FASTOPEN_CONNECT, "TCP_FASTOPEN_CONNECT" },
		{ TCP_FASTOPEN, "TCP_FASTOPEN" },
		{ TCP_INQ, "TCP_INQ" },
	};
	int tcp = socket(AF_INET, SOCK_STREAM, 0), fd, v, bad = 0;
	socklen_t len = sizeof(v);
	size_t i;

	fd = socket(ntcp_family, ty, 0);
	CHECK(tcp >= 0 && fd >= 0, "sockets");
	for (i = 0; i < ARRAY_SIZE(no); i++) {
		v = 1;
		CHECK(!setsockopt(tcp, SOL_TCP, no[i].name, &v, sizeof(v)),
		      "reference: TCP takes %s", no[i].what);
		if (!setsockopt(fd, SOL_TCP, no[i].name, &v, sizeof(v))) {
			printf("# %s accepted, want EOPNOTSUPP\n", no[i].what);
			bad++;
		} else if (errno != EOPNOTSUPP) {
			printf("# %s: %s, want EOPNOTSUPP\n", no[i].what,
			       ntcp_errname(errno));
			bad++;
		}
	}
	v = 0;
	setsockopt(tcp, SOL_TCP, TCP_REPAIR, &v, sizeof(v));
	v = 30;
	CHECK(!setsockopt(fd, SOL_TCP, TCP_KEEPIDLE, &v, sizeof(v)) &&
	      !getsockopt(fd, SOL_TCP, TCP_KEEPIDLE, &v, &len) && v == 30,
	      "TCP_KEEPIDLE still reaches the inner TCP");
	v = 5000;
	CHECK(!setsockopt(fd, SOL_TCP, TCP_USER_TIMEOUT, &v, sizeof(v)),
	      "TCP_USER_TIMEOUT still reaches the inner TCP");
	close(tcp);
	close(fd);
	return bad;
}

int main(void)
{
	static const struct ntcp_typed_test tests[] = {
		NTCP_BOTH("owner: nft 'meta skuid' rejects a connecting socket of that uid, passes another", t_owner_connect, 15),
		NTCP_BOTH("owner: nft 'meta skuid' drops what an accepted socket of that uid sends", t_owner_accepted, 15),
		NTCP_BOTH("SO_BINDTODEVICE on the connecting socket: wrong device no connection, right one connects", t_bind_client, 15),
		{ "SO_BINDTODEVICE on the listener: bound elsewhere it takes nothing over lo, bound to lo it does [stream]", t_bind_listener, SOCK_STREAM, 15 },
		NTCP_BOTH("cgroup BPF INET_SOCK_CREATE returning 0 denies socket() with EPERM", t_cg_create, 10),
		{ "cgroup BPF INET4_CONNECT returning 0 denies connect() with EPERM [stream]", t_cg_connect, SOCK_STREAM, 10 },
		NTCP_BOTH("SO_MARK reaches the packets: nft 'meta mark' rejects the marked connect", t_mark, 15),
		NTCP_BOTH("SO_MARK set on a connected socket reaches its next data", t_mark_late, 15),
		NTCP_BOTH("SO_MARK set on an idle connection reaches the inner TCP's own segments (ACKs) at once", t_mark_idle, 15),
		NTCP_BOTH("TCP_ULP \"tls\" is refused with EOPNOTSUPP and the connection still works", t_ulp, 10),
		{ "TCP_REPAIR, TCP_FASTOPEN(_CONNECT), TCP_INQ refused with EOPNOTSUPP; TCP_KEEPIDLE, TCP_USER_TIMEOUT pass [stream]", t_tcp_takeovers, SOCK_STREAM, 10 },
	};

	return ntcp_run_typed_suite(tests, ARRAY_SIZE(tests), &ty);
}
