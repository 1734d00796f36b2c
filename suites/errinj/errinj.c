// SPDX-License-Identifier: GPL-2.0
/*
 * errinj: the module's error branches, reached by failing its
 * allocation and inner-socket creation points one at a time.
 *
 * Each point is an out-of-line function the module marks
 * ALLOW_ERROR_INJECTION (newtcp.h).  A kprobe BPF program (errinj.bpf.c,
 * loaded with libbpf linked statically) attached to one of them fails
 * the next call or calls with bpf_override_return(), for this test's
 * process only (or any process, for the listener's work item), and
 * counts the calls it saw and failed: a test whose failure was never
 * injected fails.  kmemleak (the debug kernel's, scanned by the harness
 * after the run) then shows nothing the failed paths left behind.
 *
 * A kernel without BPF kprobe programs or without bpf_override_return
 * (CONFIG_BPF_KPROBE_OVERRIDE, which needs CONFIG_FUNCTION_ERROR_INJECTION:
 * Debian's kernels have neither) skips every test, saying which.  A
 * module whose function is not marked fails: the kernel refuses the
 * attachment.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "errinj.h"
#include "errinj.skel.h"
#include "libbpf-tap.h"
#include "ntcp.h"
#include "tap.h"

#define EI_LIST "/sys/kernel/debug/error_injection/list"

static struct errinj_bpf *skel;
static int map_fd = -1;
static char skip_why[256];
static int bpf_broken;
static pid_t suite_pid;

#define OPT_SYSCTL "/proc/sys/debug/kprobes-optimization"

/*
 * A kprobe the kernel has optimized into a jump ignores the program's
 * new instruction pointer, so bpf_override_return() silently does
 * nothing.  Function-entry kprobes normally sit on ftrace and are never
 * optimized; a kernel without CONFIG_FUNCTION_TRACER (the debug target)
 * uses int3 probes, which the optimizer turns into jumps a moment after
 * they are armed (fail_function avoids it with a dummy post handler;
 * a BPF kprobe cannot).  So optimization is off while the suite runs.
 */
static char opt_saved[8];

static void opt_write(const char *val)
{
	FILE *f = fopen(OPT_SYSCTL, "w");

	if (f && (fputs(val, f) < 0 || fclose(f)))
		tap_diag("%s: %s", OPT_SYSCTL, ntcp_errname(errno));
}

/* Put back for the later suites of the boot (and a tracer). */
static void kprobes_restore(void)
{
	if (opt_saved[0] && getpid() == suite_pid)
		opt_write(opt_saved);
}

static void kprobes_unoptimized(void)
{
	FILE *f = fopen(OPT_SYSCTL, "r");

	if (!f)
		return;
	if (!fgets(opt_saved, sizeof(opt_saved), f))
		opt_saved[0] = 0;
	fclose(f);
	opt_write("0\n");
	if (opt_saved[0])
		atexit(kprobes_restore);
	tap_diag("kprobe optimization off (%s = 0) while the suite runs",
		 OPT_SYSCTL);
}

static void load(void)
{
	libbpf_set_print(libbpf_tap_print);
	if (libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_KPROBE, NULL) != 1) {
		snprintf(skip_why, sizeof(skip_why),
			 "this kernel loads no BPF kprobe programs (CONFIG_BPF_SYSCALL, CONFIG_KPROBE_EVENTS, CONFIG_BPF_EVENTS)");
		return;
	}
	if (libbpf_probe_bpf_helper(BPF_PROG_TYPE_KPROBE,
				    BPF_FUNC_override_return, NULL) != 1) {
		snprintf(skip_why, sizeof(skip_why),
			 "this kernel has no bpf_override_return (CONFIG_BPF_KPROBE_OVERRIDE, CONFIG_FUNCTION_ERROR_INJECTION)");
		return;
	}
	skel = errinj_bpf__open_and_load();
	if (!skel) {
		/* The kernel can; our program did not load: a failure. */
		snprintf(skip_why, sizeof(skip_why), "loading errinj.bpf.o: %s",
			 ntcp_errname(errno));
		bpf_broken = 1;
		return;
	}
	map_fd = bpf_map__fd(skel->maps.inj);
	kprobes_unoptimized();
	/* For the diagnostics: what the kernel lets a kprobe fail. */
	if (access(EI_LIST, R_OK))
		mount("debugfs", "/sys/kernel/debug", "debugfs", 0, NULL);
}

/* Is @fn in the kernel's error-injection list (the module's marks)? */
static int injectable(const char *fn)
{
	char line[256], name[128];
	FILE *f = fopen(EI_LIST, "r");
	int found = 0;

	if (!f)
		return -1;
	while (!found && fgets(line, sizeof(line), f))
		found = sscanf(line, "%127s", name) == 1 && !strcmp(name, fn);
	fclose(f);
	return found;
}

/* What the kernel says of @fn: where it is, and whether it may be failed. */
static void ei_list(const char *fn)
{
	char cmd[256];

	fflush(stdout);
	snprintf(cmd, sizeof(cmd), "grep -w %s " EI_LIST " /proc/kallsyms | sed 's/^/# /'", fn);
	if (system(cmd) < 0)
		printf("# system: %s\n", ntcp_errname(errno));
	fflush(stdout);
}

/*
 * Fail the next @fail calls of @fn with @rc (for @tgid, 0: anyone).
 * The link lives as long as the test's process.
 */
static int arm(const char *fn, __u32 tgid, __u32 fail, __s64 rc)
{
	struct errinj e = { .tgid = tgid, .fail = fail, .rc = rc };
	struct bpf_link *link;
	__u32 key = 0;

	CHECK(!bpf_map_update_elem(map_fd, &key, &e, BPF_ANY), "inj map");
	link = bpf_program__attach_kprobe(skel->progs.errinj, false, fn);
	if (!link)
		ei_list(fn);
	CHECK(link, "kprobe with bpf_override_return on %s refused (%s in %s: %d): is it marked ALLOW_ERROR_INJECTION?",
	      fn, fn, EI_LIST, injectable(fn));
	return 0;
}

static struct errinj injected(void)
{
	struct errinj e = { 0 };
	__u32 key = 0;

	if (bpf_map_lookup_elem(map_fd, &key, &e))
		printf("# reading the inj map: %s\n", ntcp_errname(errno));
	printf("# injection: %llu calls seen, %llu failed, %u failures left\n",
	       (unsigned long long)e.calls, (unsigned long long)e.failed,
	       e.fail);
	return e;
}

#define NEED_OVERRIDE() NEED_BPF(map_fd >= 0, bpf_broken, skip_why)

/* socket() with @fn failing once: ENOMEM, nothing left, then it works. */
static int socket_fails(const char *fn, __s64 rc, int type)
{
	long before = proc_protocols_sockets("NEW_TCP");
	struct errinj e;
	int fd, err;

	NEED_OVERRIDE();
	if (arm(fn, getpid(), 1, rc))
		return 1;
	fd = socket(ntcp_family, type, 0);
	err = errno;
	e = injected();
	errno = err;
	CHECK(fd < 0 && errno == ENOMEM, "socket() with %s failing: %d, %s, not -1 ENOMEM",
	      fn, fd, ntcp_errname(errno));
	CHECK(e.failed == 1, "the failure was injected %llu times, not once",
	      (unsigned long long)e.failed);
	CHECK(proc_protocols_sockets("NEW_TCP") == before,
	      "/proc/net/protocols counts %ld NEW_TCP sockets, %ld before",
	      proc_protocols_sockets("NEW_TCP"), before);
	fd = socket(ntcp_family, type, 0);
	CHECK(fd >= 0, "socket() once the failure is spent");
	close(fd);
	return 0;
}

static int t_sk_alloc_stream(void)
{
	return socket_fails("newtcp_sk_alloc", 0, SOCK_STREAM);
}

static int t_sk_alloc_seq(void)
{
	return socket_fails("newtcp_sk_alloc", 0, SOCK_SEQPACKET);
}

static int t_inner_stream(void)
{
	return socket_fails("newtcp_create_inner", -ENOMEM, SOCK_STREAM);
}

static int t_inner_seq(void)
{
	return socket_fails("newtcp_create_inner", -ENOMEM, SOCK_SEQPACKET);
}

static int timeouts(int fd, int ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = ms % 1000 * 1000 };

	return setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	       setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

#define NCONN 3

static int t_accept(void)
{
	int l, cli[NCONN], acc[NCONN], i, fd;
	uint16_t port;
	struct errinj e;
	char b;

	NEED_OVERRIDE();
	l = ntcp_listener(SOCK_STREAM, &port);
	CHECK(l >= 0 && !timeouts(l, 5000), "listener");
	for (i = 0; i < NCONN; i++) {
		cli[i] = ntcp_connect(SOCK_STREAM, port);
		CHECK(cli[i] >= 0 && !timeouts(cli[i], 5000), "connect %d", i);
	}
	if (arm("newtcp_sk_alloc", getpid(), 1, 0))
		return 1;
	fd = accept(l, NULL, NULL);
	CHECK(fd < 0 && errno == ENOMEM, "accept() with newtcp_sk_alloc failing: %d, %s, not -1 ENOMEM",
	      fd, ntcp_errname(errno));
	e = injected();
	CHECK(e.failed == 1, "the failure was injected %llu times, not once",
	      (unsigned long long)e.failed);
	/* Every established connection is still there, in order. */
	for (i = 0; i < NCONN; i++) {
		acc[i] = accept(l, NULL, NULL);
		CHECK(acc[i] >= 0, "accept %d of %d connections after the failed one",
		      i + 1, NCONN);
		CHECK(!timeouts(acc[i], 5000), "timeouts");
	}
	for (i = 0; i < NCONN; i++) {
		b = 'a' + i;
		CHECK(send(cli[i], &b, 1, 0) == 1, "client %d sends", i);
		CHECK(recv(acc[i], &b, 1, 0) == 1 && b == 'a' + i,
		      "accepted %d gets its client's byte", i);
	}
	fd = accept4(l, NULL, NULL, SOCK_NONBLOCK);
	CHECK(fd < 0 && errno == EAGAIN, "nothing else queued");
	return 0;
}

static int t_pending(void)
{
	int l, c, a, fd, err;
	uint16_t port;
	struct errinj e;

	NEED_OVERRIDE();
	l = ntcp_listener(SOCK_SEQPACKET, &port);
	CHECK(l >= 0 && !timeouts(l, 5000), "listener");
	/* The listener's work item allocates: any process. */
	if (arm("newtcp_pending_alloc", 0, 1, 0))
		return 1;
	c = ntcp_connect(SOCK_SEQPACKET, port);
	err = errno;
	printf("# connect with the handshake's allocation failing: %s\n",
	       c >= 0 ? "success" : ntcp_errname(err));
	e = injected();
	errno = err;
	CHECK(c < 0 && (err == ECONNRESET || err == ECONNREFUSED),
	      "connect: not ECONNRESET or ECONNREFUSED");
	CHECK(e.failed == 1, "the failure was injected %llu times, not once",
	      (unsigned long long)e.failed);
	c = ntcp_connect(SOCK_SEQPACKET, port);
	CHECK(c >= 0, "the next connect");
	a = accept(l, NULL, NULL);
	CHECK(a >= 0, "and its accept");
	CHECK(send(c, "r", 1, 0) == 1 && recv(a, &e, 1, 0) == 1, "a record");
	fd = accept4(l, NULL, NULL, SOCK_NONBLOCK);
	CHECK(fd < 0 && errno == EAGAIN, "nothing else queued");
	return 0;
}

#define BIG	60000	/* larger than the receive buffer, within NEWTCP_MAXMSG */
#define SMALL	1000

static int t_stage(void)
{
	static unsigned char buf[BIG + 1];
	int l, c, a, rcvbuf = 4096, status, err;
	struct msghdr m = { 0 };
	struct iovec iov;
	uint16_t port;
	struct errinj e;
	ssize_t r;
	pid_t pid;

	NEED_OVERRIDE();
	l = ntcp_listener(SOCK_SEQPACKET, &port);
	CHECK(l >= 0, "listener");
	/* A small receive buffer: the big record cannot be whole in TCP. */
	c = socket(ntcp_family, SOCK_SEQPACKET, 0);
	CHECK(c >= 0 && !setsockopt(c, SOL_SOCKET, SO_RCVBUF, &rcvbuf,
				    sizeof(rcvbuf)) && !timeouts(c, 10000),
	      "receiver");
	{
		struct sockaddr_newtcp to = ntcp_addr(port);

		CHECK(!connect(c, (struct sockaddr *)&to, sizeof(to)),
		      "connect");
	}
	a = accept(l, NULL, NULL);
	CHECK(a >= 0 && !timeouts(a, 20000), "accept");
	pid = fork();
	CHECK(pid >= 0, "fork");
	if (!pid) {
		ntcp_pattern(buf, BIG, 7, 0);
		_exit(send(a, buf, BIG, 0) != BIG ||
		      send(a, buf, SMALL, 0) != SMALL);
	}
	if (arm("newtcp_stage_alloc", getpid(), 1, 0))
		return 1;
	r = recv(c, buf, sizeof(buf), 0);
	err = errno;
	e = injected();
	errno = err;
	CHECK(r < 0 && errno == ENOMEM, "recv with the stage's allocation failing: %zd, %s, not -1 ENOMEM",
	      r, ntcp_errname(errno));
	CHECK(e.failed == 1, "the failure was injected %llu times, not once",
	      (unsigned long long)e.failed);
	/* Nothing was consumed: the record comes whole, then the next. */
	iov = (struct iovec){ buf, sizeof(buf) };
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	r = recvmsg(c, &m, 0);
	CHECK(r == BIG && (m.msg_flags & MSG_EOR), "the big record whole: %zd bytes, flags %#x",
	      r, m.msg_flags);
	CHECK(ntcp_pattern_check(buf, BIG, 7, 0) == BIG, "its bytes intact");
	r = recv(c, buf, sizeof(buf), 0);
	CHECK(r == SMALL && ntcp_pattern_check(buf, SMALL, 7, 0) == SMALL,
	      "the next record intact: %zd bytes", r);
	CHECK(waitpid(pid, &status, 0) == pid && status == 0, "the sender");
	return 0;
}

int main(void)
{
	static const struct ntcp_test tests[] = {
		{ "socket(STREAM) with newtcp_sk_alloc failing: ENOMEM, nothing left, then works", t_sk_alloc_stream, 60 },
		{ "socket(SEQPACKET) with newtcp_sk_alloc failing: ENOMEM, nothing left, then works", t_sk_alloc_seq, 60 },
		{ "socket(STREAM) with the inner TCP socket's creation failing: ENOMEM, nothing left, then works", t_inner_stream, 60 },
		{ "socket(SEQPACKET) with the inner TCP socket's creation failing: ENOMEM, nothing left, then works", t_inner_seq, 60 },
		{ "accept() with newtcp_sk_alloc failing: ENOMEM, and every established connection is accepted after", t_accept, 60 },
		{ "a handshake whose pending allocation fails: that connect fails cleanly, the next is accepted, nothing else queued", t_pending, 60 },
		{ "a record stage whose allocation fails: recv ENOMEM, then the record whole and intact, and the next", t_stage, 60 },
	};

	suite_pid = getpid();
	ntcp_suite_start(ARRAY_SIZE(tests));
	load();
	if (map_fd < 0)
		tap_diag("%s: %s", bpf_broken ? "failing" : "skipping", skip_why);
	for (size_t i = 0; i < ARRAY_SIZE(tests); i++)
		run_test(tests[i].name, tests[i].fn, tests[i].timeout);
	errinj_bpf__destroy(skel);
	return tap_done();
}
