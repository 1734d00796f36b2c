// SPDX-License-Identifier: GPL-2.0
/* Helpers shared by the NEW_TCP suites; see ntcp.h. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>

#include "ntcp.h"
#include "refpeer.h"
#include "tap.h"

int ntcp_family = -1;

struct sockaddr_newtcp ntcp_addr(uint16_t port)
{
	struct sockaddr_newtcp a;

	memset(&a, 0, sizeof(a));
	a.snt_family = ntcp_family;
	a.snt_port = htons(port);
	a.snt_addr.s_addr = htonl(INADDR_LOOPBACK);
	return a;
}

int ntcp_listener(int type, uint16_t *port)
{
	struct sockaddr_newtcp a = ntcp_addr(0);
	socklen_t len = sizeof(a);
	int fd = socket(ntcp_family, type, 0);

	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 16) ||
	    getsockname(fd, (struct sockaddr *)&a, &len)) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	*port = ntohs(a.snt_port);
	return fd;
}

int ntcp_connect_addr(int type, const struct sockaddr_newtcp *a)
{
	int fd = socket(ntcp_family, type, 0);

	if (fd < 0)
		return -1;
	if (connect(fd, (const struct sockaddr *)a, sizeof(*a))) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

int ntcp_connect(int type, uint16_t port)
{
	struct sockaddr_newtcp a = ntcp_addr(port);

	return ntcp_connect_addr(type, &a);
}

int ntcp_pair_at(int type, int *lst, uint16_t *port, int *cli, int *srv)
{
	*lst = ntcp_listener(type, port);
	if (*lst < 0)
		return -1;
	*cli = ntcp_connect(type, *port);
	if (*cli < 0) {
		close(*lst);
		return -1;
	}
	*srv = accept(*lst, NULL, NULL);
	if (*srv < 0) {
		close(*cli);
		close(*lst);
		return -1;
	}
	return 0;
}

int ntcp_pair(int type, int *cli, int *srv)
{
	uint16_t port;
	int l;

	if (ntcp_pair_at(type, &l, &port, cli, srv))
		return -1;
	close(l);
	return 0;
}

int tcp_listener(uint16_t *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) ||
	    listen(fd, 16) || getsockname(fd, (struct sockaddr *)&a, &len))
		return -1;
	*port = ntohs(a.sin_port);
	return fd;
}

int tcp_pair(int *c, int *s, int listener_rcvbuf)
{
	struct sockaddr_in in = { .sin_family = AF_INET };
	uint16_t port;
	int l = tcp_listener(&port);

	*c = *s = -1;
	if (l < 0)
		return -1;
	if (listener_rcvbuf &&
	    setsockopt(l, SOL_SOCKET, SO_RCVBUF, &listener_rcvbuf,
		       sizeof(listener_rcvbuf))) {
		close(l);
		return -1;
	}
	in.sin_port = htons(port);
	in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	*c = socket(AF_INET, SOCK_STREAM, 0);
	if (*c >= 0 && !connect(*c, (struct sockaddr *)&in, sizeof(in)))
		*s = accept(l, NULL, NULL);
	close(l);
	return *s < 0 ? -1 : 0;
}

ssize_t read_full(int fd, void *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = read(fd, (char *)buf + got, n - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return got ? (ssize_t)got : r;
		got += r;
	}
	return got;
}

ssize_t write_full(int fd, const void *buf, size_t n)
{
	size_t put = 0;

	while (put < n) {
		ssize_t r = write(fd, (const char *)buf + put, n - put);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return put ? (ssize_t)put : r;
		put += r;
	}
	return put;
}

long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

const char *ntcp_errname(int err)
{
	const char *s = strerrorname_np(err);

	return s ? s : "?";
}

int proc_newtcp_has_port(uint16_t port)
{
	char line[256], pat[16];
	int n = 0;
	FILE *f = fopen("/proc/net/newtcp", "r");

	if (!f)
		return -1;
	snprintf(pat, sizeof(pat), ":%04X ", port);
	while (fgets(line, sizeof(line), f))
		if (strstr(line, pat))
			n++;
	fclose(f);
	return n;
}

/* Column 2 (sockets) or 3 (memory, pages) of a protocol's line. */
static long proc_protocols_field(const char *name, int memory)
{
	char line[512], n[64];
	long sockets = -1, pages = -1;
	unsigned int size;
	FILE *f = fopen("/proc/net/protocols", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%63s %u %ld %ld", n, &size, &sockets,
			   &pages) == 4 && !strcmp(n, name)) {
			fclose(f);
			return memory ? pages : sockets;
		}
	fclose(f);
	return -1;
}

long proc_protocols_sockets(const char *name)
{
	return proc_protocols_field(name, 0);
}

long proc_protocols_memory(const char *name)
{
	return proc_protocols_field(name, 1);
}

int ntcp_unix_setsockopt_errno(int level, int name, const void *buf,
			       socklen_t len)
{
	int fd = socket(AF_UNIX, SOCK_STREAM, 0), e = 0;

	if (fd < 0)
		return 0;
	if (setsockopt(fd, level, name, buf, len))
		e = errno;
	close(fd);
	return e;
}

int ntcp_info(int fd, struct newtcp_info *info)
{
	socklen_t len = sizeof(*info);

	memset(info, 0, sizeof(*info));
	if (getsockopt(fd, SOL_NEWTCP, NEWTCP_INFO, info, &len))
		return -1;
	return len == sizeof(*info) ? 0 : -1;
}

int ntcp_lo_up(void)
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM, 0), rc;

	if (fd < 0)
		return -1;
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "lo");
	rc = ioctl(fd, SIOCGIFFLAGS, &ifr);
	if (!rc) {
		ifr.ifr_flags |= IFF_UP;
		rc = ioctl(fd, SIOCSIFFLAGS, &ifr);
	}
	close(fd);
	return rc;
}

/* splitmix64: a pattern byte depends on (seed, offset) only. */
static uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static unsigned char pattern_byte(uint64_t seed, uint64_t off)
{
	return (unsigned char)(mix64(seed ^ (off >> 3) * 0x100000001b3ULL) >>
			       ((off & 7) * 8));
}

void ntcp_pattern(void *buf, size_t n, uint64_t seed, uint64_t off)
{
	unsigned char *p = buf;
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = pattern_byte(seed, off + i);
}

size_t ntcp_pattern_check(const void *buf, size_t n, uint64_t seed,
			  uint64_t off)
{
	const unsigned char *p = buf;
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != pattern_byte(seed, off + i))
			return i;
	return n;
}

uint64_t ntcp_checksum(uint64_t sum, const void *buf, size_t n)
{
	const unsigned char *p = buf;
	size_t i;

	/* FNV-1a, 64 bit; start with NTCP_CHECKSUM_INIT. */
	for (i = 0; i < n; i++)
		sum = (sum ^ p[i]) * 0x100000001b3ULL;
	return sum;
}

/* ---- running one test ------------------------------------------------- */

/* The suite's real stdout while a test child's output is captured. */
static int real_stdout = -1;

/*
 * In a run_test() child this marks a line for the parent to pass on at
 * once (without the mark), as it does "# ready".
 */
#define NOW_MARK	'\001'
static int in_test_child;

void tap_diag_now(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf + 3, sizeof(buf) - 4, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n > (int)sizeof(buf) - 5)
		n = sizeof(buf) - 5;
	buf[0] = NOW_MARK;
	buf[1] = '#';
	buf[2] = ' ';
	buf[n + 3] = '\n';
	fflush(stdout);
	if (in_test_child) {
		if (write(1, buf, n + 4) < 0)
			return;
	} else if (write(real_stdout >= 0 ? real_stdout : 1, buf + 1, n + 3) < 0) {
		return;
	}
}

int test_selected(const char *name)
{
	const char *pat = getenv("SOCKVM_TEST");
	const char *suite = getenv("SOCKVM_SUITE");
	char full[600];

	if (!pat || !*pat)
		return 1;
	if (!fnmatch(pat, name, 0))
		return 1;
	if (suite) {
		snprintf(full, sizeof(full), "%s/%s", suite, name);
		if (!fnmatch(pat, full, 0))
			return 1;
	}
	return 0;
}

struct capture {
	char *buf;
	size_t len, cap;
};

static void cap_add(struct capture *c, const char *p, size_t n)
{
	/* Keep at most 1 MiB of a test's output; the start matters most. */
	if (c->len + n > (1u << 20))
		n = c->len < (1u << 20) ? (1u << 20) - c->len : 0;
	if (!n)
		return;
	if (c->len + n + 1 > c->cap) {
		size_t cap = (c->len + n + 1) * 2;
		char *b = realloc(c->buf, cap);

		if (!b)
			return;
		c->buf = b;
		c->cap = cap;
	}
	memcpy(c->buf + c->len, p, n);
	c->len += n;
	c->buf[c->len] = 0;
}

/*
 * Lines a child asked to show at once ("# ready" for a peer waiting on
 * it) go out as they arrive; everything else is held for after the
 * test's own line.
 */
static void cap_read(int fd, struct capture *c, size_t *passed)
{
	char tmp[4096];
	ssize_t r;

	while ((r = read(fd, tmp, sizeof(tmp))) > 0)
		cap_add(c, tmp, r);
	while (c->buf) {
		char *start = c->buf + *passed, *nl = strchr(start, '\n');

		if (!nl)
			break;
		if (!strncmp(start, "# ready", 7) || *start == NOW_MARK) {
			fflush(stdout);
			if (*start == NOW_MARK)
				start++;
			if (write(1, start, nl + 1 - start) < 0)
				break;
		}
		*passed = nl + 1 - c->buf;
	}
}

/* Subtest lines (indented) first, then the verdict, then diagnostics. */
static void emit_captured(struct capture *c, int subtests)
{
	char *line, *save = NULL;

	if (!c->buf)
		return;
	if (subtests == 1) {
		for (line = c->buf; line && *line; ) {
			char *nl = strchr(line, '\n');

			if (nl)
				*nl = 0;
			if (!strncmp(line, "    ", 4))
				printf("%s\n", line);
			if (nl)
				*nl = '\n';
			line = nl ? nl + 1 : NULL;
		}
		return;
	}
	for (line = strtok_r(c->buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(line, "    ", 4) || !strncmp(line, "# ready", 7) ||
		    !strncmp(line, "# skip: ", 8) || line[0] == NOW_MARK)
			continue;
		if (line[0] == '#')
			printf("%s\n", line);
		else
			printf("# %s\n", line);
	}
}

static int has_subtests(const struct capture *c)
{
	return c->buf && (!strncmp(c->buf, "    ", 4) ||
			  strstr(c->buf, "\n    "));
}

static const char *skip_reason(const struct capture *c, char *out, size_t n)
{
	const char *p = c->buf, *last = NULL;

	while (p && (p = strstr(p, "# skip: "))) {
		if (p == c->buf || p[-1] == '\n')
			last = p + 8;
		p += 8;
	}
	if (!last)
		return "skipped by the test";
	snprintf(out, n, "%.*s", (int)strcspn(last, "\n"), last);
	return out;
}

static double ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1e3 + (t.tv_nsec - t0->tv_nsec) / 1e6;
}

/* One line of a /proc file (wchan, the State: line of status), or "?". */
static const char *proc_line(const char *path, const char *prefix,
			     char *out, size_t n)
{
	FILE *f = fopen(path, "r");
	char line[256];

	snprintf(out, n, "?");
	if (!f)
		return out;
	while (fgets(line, sizeof(line), f)) {
		if (prefix && strncmp(line, prefix, strlen(prefix)))
			continue;
		line[strcspn(line, "\n")] = 0;
		snprintf(out, n, "%s", line + (prefix ? strlen(prefix) : 0) +
			 strspn(line + (prefix ? strlen(prefix) : 0), " \t"));
		break;
	}
	fclose(f);
	return out;
}

/* Where in the kernel one task of a child that would not die sleeps. */
static void diag_task_stack(const char *dir, const char *who)
{
	char path[450], line[256], state[64], wchan[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/status", dir);
	proc_line(path, "State:", state, sizeof(state));
	snprintf(path, sizeof(path), "%s/wchan", dir);
	proc_line(path, NULL, wchan, sizeof(wchan));
	tap_diag("%s: state %s, wchan %s", who, state, wchan);
	snprintf(path, sizeof(path), "%s/stack", dir);
	f = fopen(path, "r");
	if (!f) {
		tap_diag("  %s: %s", path, strerror(errno));
		return;
	}
	tap_diag("  %s:", path);
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		tap_diag("    %s", line);
	}
	fclose(f);
}

static void diag_stuck(pid_t pid)
{
	char dir[64], tdir[400], who[300];
	struct dirent *e;
	DIR *d;

	snprintf(dir, sizeof(dir), "/proc/%d", (int)pid);
	snprintf(who, sizeof(who), "pid %d", (int)pid);
	diag_task_stack(dir, who);
	snprintf(tdir, sizeof(tdir), "%s/task", dir);
	d = opendir(tdir);
	if (!d)
		return;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' || atoi(e->d_name) == pid)
			continue;
		snprintf(tdir, sizeof(tdir), "%s/task/%s", dir, e->d_name);
		snprintf(who, sizeof(who), "thread %s", e->d_name);
		diag_task_stack(tdir, who);
	}
	closedir(d);
}

/*
 * The module's writable parameters as they were before a test.  A test
 * may change one (handshake_ms for a crowd, say) and be killed before it
 * puts it back; the runner, not the test, restores them.
 */
#define PARAMS_DIR	"/sys/module/newtcp/parameters"
#define MAX_PARAMS	16

struct param_snap {
	int n;
	char name[MAX_PARAMS][64];
	char val[MAX_PARAMS][64];
};

int read_small_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t r;

	if (fd < 0)
		return -1;
	r = read(fd, buf, len - 1);
	close(fd);
	if (r < 0)
		return -1;
	buf[r] = 0;
	return 0;
}

static int param_read(const char *name, char *val, size_t n)
{
	char path[160];

	snprintf(path, sizeof(path), PARAMS_DIR "/%s", name);
	if (read_small_file(path, val, n))
		return -1;
	val[strcspn(val, "\n")] = 0;
	return 0;
}

static void params_snap(struct param_snap *p)
{
	char path[160];
	struct dirent *e;
	struct stat st;
	DIR *d = opendir(PARAMS_DIR);

	p->n = 0;
	while (d && (e = readdir(d)) && p->n < MAX_PARAMS) {
		if (e->d_name[0] == '.' ||
		    strlen(e->d_name) >= sizeof(p->name[0]))
			continue;
		snprintf(path, sizeof(path), PARAMS_DIR "/%s", e->d_name);
		/* Mode, not access(): root may "write" a 0444 one. */
		if (stat(path, &st) || !(st.st_mode & S_IWUSR) ||
		    param_read(e->d_name, p->val[p->n], sizeof(p->val[0])))
			continue;
		snprintf(p->name[p->n], sizeof(p->name[0]), "%s", e->d_name);
		p->n++;
	}
	if (d)
		closedir(d);
}

static void params_restore(const struct param_snap *p)
{
	char now[64], path[160];
	int i, fd;

	for (i = 0; i < p->n; i++) {
		if (param_read(p->name[i], now, sizeof(now)) ||
		    !strcmp(now, p->val[i]))
			continue;
		snprintf(path, sizeof(path), PARAMS_DIR "/%s", p->name[i]);
		fd = open(path, O_WRONLY | O_CLOEXEC);
		if (fd < 0 || write(fd, p->val[i], strlen(p->val[i])) < 0)
			tap_diag("module parameter %s left at %s: %s",
				 p->name[i], now, strerror(errno));
		else
			tap_diag("module parameter %s put back to %s (the test left %s)",
				 p->name[i], p->val[i], now);
		if (fd >= 0)
			close(fd);
	}
}

/* How long a SIGKILLed child may take to die before we leave it. */
#define REAP_GRACE_MS	10000

int run_test(const char *name, int (*fn)(void), int timeout_s)
{
	struct capture cap = { 0 };
	struct param_snap params;
	struct timespec t0;
	char reason[256];
	long long deadline;
	size_t passed = 0;
	int status = 0, pfd[2], timed_out = 0, stuck = 0, rc;
	double ms;
	pid_t pid;

	if (!test_selected(name)) {
		tap_skip("filtered by SOCKVM_TEST", "%s", name);
		return 1;
	}
	tap_running("%s", name);
	params_snap(&params);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (pipe2(pfd, O_CLOEXEC))
		return tap_ok_time(0, ms_since(&t0), "%s (pipe: %s)", name,
				   strerror(errno));
	if (real_stdout < 0)
		real_stdout = fcntl(1, F_DUPFD_CLOEXEC, 10);
	pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return tap_ok_time(0, ms_since(&t0), "%s (fork: %s)", name,
				   strerror(errno));
	}
	if (!pid) {
		/* Own process group: a timeout kills its helpers too. */
		setpgid(0, 0);
		signal(SIGPIPE, SIG_IGN);
		dup2(pfd[1], 1);
		dup2(pfd[1], 2);
		/*
		 * Hold nothing of the suite's own output (the SSH channel):
		 * a child that never dies must not keep it open.
		 * tap_diag_now() goes through the pipe, marked.
		 */
		if (real_stdout >= 0)
			close(real_stdout);
		real_stdout = -1;
		in_test_child = 1;
		sockvm_test_begin(name);
		setvbuf(stdout, NULL, _IOLBF, 0);
		fflush(stdout);
		exit(fn());
	}
	setpgid(pid, pid);
	close(pfd[1]);
	fcntl(pfd[0], F_SETFL, O_NONBLOCK);
	deadline = now_ms() + timeout_s * 1000LL;
	for (;;) {
		struct pollfd p = { .fd = pfd[0], .events = POLLIN };
		long long left = deadline - now_ms();

		rc = waitpid(pid, &status, WNOHANG);
		if (rc == pid)
			break;
		if (left <= 0 && !timed_out) {
			timed_out = 1;
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			/*
			 * It dies at once unless it sleeps uninterruptibly
			 * in the kernel; then give it a while, not forever.
			 */
			deadline = now_ms() + REAP_GRACE_MS;
			continue;
		}
		if (left <= 0) {
			stuck = 1;
			break;
		}
		/* Short naps: waitpid is the end, not EOF (helpers may
		 * still hold the pipe). */
		poll(&p, 1, left < 50 ? (int)left : 50);
		cap_read(pfd[0], &cap, &passed);
	}
	ms = ms_since(&t0);
	/* Whatever the test left behind (helpers, their sockets) dies now. */
	kill(-pid, SIGKILL);
	cap_read(pfd[0], &cap, &passed);
	close(pfd[0]);

	if (has_subtests(&cap)) {
		printf("    # Subtest: %s\n", name);
		emit_captured(&cap, 1);
	}
	if (!timed_out && WIFEXITED(status) && WEXITSTATUS(status) == TEST_SKIP) {
		tap_skip(skip_reason(&cap, reason, sizeof(reason)), "%s", name);
		rc = 1;
	} else {
		rc = tap_ok_time(!timed_out && WIFEXITED(status) &&
				 WEXITSTATUS(status) == 0, ms, "%s", name);
	}
	emit_captured(&cap, 0);
	if (stuck) {
		/* Left as it is: never waited for again, not even at exit. */
		tap_diag("timed out after %d s; the child did not die after SIGKILL (uninterruptible in the kernel)",
			 timeout_s);
		diag_stuck(pid);
	} else if (timed_out)
		tap_diag("timed out after %d s, killed", timeout_s);
	else if (WIFSIGNALED(status))
		tap_diag("crashed: killed by signal %d (SIG%s)%s",
			 WTERMSIG(status), sigabbrev_np(WTERMSIG(status)) ?: "?",
			 WCOREDUMP(status) ? ", core dumped" : "");
	else if (WIFEXITED(status) && WEXITSTATUS(status) &&
		 WEXITSTATUS(status) != 1 && WEXITSTATUS(status) != TEST_SKIP)
		tap_diag("exited with status %d", WEXITSTATUS(status));
	params_restore(&params);
	fflush(stdout);
	free(cap.buf);
	return rc;
}

void ntcp_suite_start(size_t n)
{
	tap_plan(n);
	ntcp_family = tap_newtcp_family();
	if (ntcp_family < 0)
		tap_bail("newtcp module not loaded");
}

int ntcp_run_suite(const struct ntcp_test *tests, size_t n)
{
	size_t i;

	ntcp_suite_start(n);
	for (i = 0; i < n; i++)
		run_test(tests[i].name, tests[i].fn, tests[i].timeout);
	return tap_done();
}

int ntcp_run_typed_suite(const struct ntcp_typed_test *tests, size_t n,
			 int *type)
{
	size_t i;

	ntcp_suite_start(n);
	for (i = 0; i < n; i++) {
		*type = tests[i].type;
		run_test(tests[i].name, tests[i].fn, tests[i].timeout);
	}
	return tap_done();
}

long ntcp_fill(int fd, int type, int idle_rounds, useconds_t nap_us)
{
	static char buf[4096];
	size_t chunk = type == SOCK_SEQPACKET ? 512 : sizeof(buf);
	long n = 0;
	int idle = 0;

	while (idle < idle_rounds) {
		ssize_t r = send(fd, buf, chunk, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (r > 0) {
			n += r;
			idle = 0;
			continue;
		}
		if (errno != EAGAIN)
			return -1;
		idle++;
		usleep(nap_us);
	}
	return n;
}

int ntcp_silent_peer(uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	struct timeval tv = { .tv_sec = 3 };
	int c = socket(AF_INET, SOCK_STREAM, 0);

	a.sin_port = htons(port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (c < 0)
		return -1;
	if (setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	    connect(c, (struct sockaddr *)&a, sizeof(a))) {
		close(c);
		return -1;
	}
	return c;
}

int ntcp_raw_hello(uint16_t port, const unsigned char hello[8],
		   unsigned char reply[8])
{
	int c = refpeer_connect_raw(port, hello, reply);

	if (c < 0)
		printf("# raw hello to port %u: %s\n", port, ntcp_errname(errno));
	return c;
}
