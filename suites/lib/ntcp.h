/* SPDX-License-Identifier: GPL-2.0 */
/* Helpers shared by the NEW_TCP suites: addresses, pairs, forked tests. */
#ifndef SOCKVM_NTCP_H
#define SOCKVM_NTCP_H

#include <stddef.h>
#include <stdint.h>
#include <unistd.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <linux/newtcp.h>

extern int ntcp_family;

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#endif

/* Loopback address of our family; port in host order. */
struct sockaddr_newtcp ntcp_addr(uint16_t port);
/* Listener on 127.0.0.1:0 of @type; *port gets the chosen port. */
int ntcp_listener(int type, uint16_t *port);
/* Blocking connect to 127.0.0.1:@port; -1 with errno on failure. */
int ntcp_connect(int type, uint16_t port);
/* Blocking connect to @a; -1 with errno on failure (nothing left open). */
int ntcp_connect_addr(int type, const struct sockaddr_newtcp *a);
/* Connected pair through a fresh listener; 0 on success. */
int ntcp_pair(int type, int *cli, int *srv);
/* ntcp_pair() that keeps the listener open: *lst, on *port. */
int ntcp_pair_at(int type, int *lst, uint16_t *port, int *cli, int *srv);
/* Plain TCP listener on 127.0.0.1:0. */
int tcp_listener(uint16_t *port);
/*
 * Plain TCP pair over loopback (what NEW_TCP is held to); a nonzero
 * @listener_rcvbuf is set on the listener first, so the accepted end
 * inherits it.  0 on success.
 */
int tcp_pair(int *c, int *s, int listener_rcvbuf);
/* Read/write exactly n bytes; returns n, or what read/write said. */
ssize_t read_full(int fd, void *buf, size_t n);
ssize_t write_full(int fd, const void *buf, size_t n);
/* A small file (procfs, sysfs, cgroupfs) into buf, NUL-terminated; 0, or -1 with errno. */
int read_small_file(const char *path, char *buf, size_t len);
/* Milliseconds since some fixed point. */
long long now_ms(void);
const char *ntcp_errname(int err);
/* Count of lines of /proc/net/newtcp mentioning :PORT (hex), -1 if none. */
int proc_newtcp_has_port(uint16_t port);

/* NEW_TCP's "sockets" column of /proc/net/protocols (this netns), -1 if absent. */
long proc_protocols_sockets(const char *name);
/* Its memory column: pages; -1 when the protocol is not listed. */
long proc_protocols_memory(const char *name);
/*
 * errno of setsockopt on a fresh AF_UNIX socket (0: it worked): what the
 * socket core answers, before any protocol code runs.
 */
int ntcp_unix_setsockopt_errno(int level, int name, const void *buf,
			       socklen_t len);
/* NEWTCP_INFO of @fd; 0 when the whole struct came back. */
int ntcp_info(int fd, struct newtcp_info *info);
/*
 * A plain-TCP client connected to loopback @port that says nothing (its
 * reads time out in 3 s): its fd, -1 on failure.
 */
int ntcp_silent_peer(uint16_t port);
/*
 * A plain-TCP client on loopback @port that sends the 8-byte @hello and
 * reads the 8-byte reply into @reply (3 s at most): its fd, -1 on failure.
 * refpeer_connect_raw() (refpeer.h) that prints why it failed.
 */
int ntcp_raw_hello(uint16_t port, const unsigned char hello[8],
		   unsigned char reply[8]);
/* Bring "lo" up (in a fresh network namespace); 0 on success. */
int ntcp_lo_up(void);

/*
 * Data pattern: byte i of a stream is a function of (seed, offset i), so
 * a receiver checks any chunk at any offset.  ntcp_pattern_check()
 * returns the index of the first wrong byte, n when all are right.
 * ntcp_checksum() folds bytes (FNV-1a); start from NTCP_CHECKSUM_INIT.
 */
void ntcp_pattern(void *buf, size_t n, uint64_t seed, uint64_t off);
size_t ntcp_pattern_check(const void *buf, size_t n, uint64_t seed,
			  uint64_t off);
#define NTCP_CHECKSUM_INIT	0xcbf29ce484222325ULL
uint64_t ntcp_checksum(uint64_t sum, const void *buf, size_t n);

/*
 * Run fn in a child with a timeout and print one TAP line for @name.
 *
 * - SOCKVM_TEST (a glob, fnmatch(3)) selects tests by name or by
 *   "<suite>/<name>" (SOCKVM_SUITE); others print
 *   "ok N - name # SKIP filtered by SOCKVM_TEST" without running.
 * - A selected test is announced before it starts, flushed at once, by
 *   "# running N - name" (N: the number its TAP line will get), so a
 *   guest crash mid-test still names it.  Its line carries the time the
 *   parent measured (monotonic clock): "ok N - name # time=12.345ms"
 *   (not ok alike; a SKIP line keeps "# SKIP reason" and has no time).
 * - The child runs in its own process group.  At the timeout the whole
 *   group is SIGKILLed and the test is "not ok" with a "# timed out"
 *   diagnostic; a child killed by a signal is "not ok" with the signal
 *   named.  Helpers a test leaves behind are killed when it ends.  A
 *   child that is not dead 10 s after SIGKILL (asleep uninterruptibly in
 *   the kernel) is left there: "not ok", the kernel stack and wchan of
 *   each of its threads as diagnostics, and the suite goes on; it holds
 *   none of the suite's own output.
 * - The child's stdout/stderr are captured and printed after the test
 *   line, as "# ..." diagnostics, so they belong to this test.  Lines
 *   starting "# ready" pass through at once (a peer may wait on them);
 *   tap_diag_now() prints a diagnostic at once (from a test child, it
 *   goes through the capture pipe, marked, and the parent passes it on).  Lines indented by four
 *   spaces (tap_sub_ok()) are KTAP subtests, printed before the test
 *   line under "    # Subtest: name".
 * - fn returns 0 (pass), TEST_SKIP (after SKIP_TEST's reason) or
 *   anything else (fail).
 * Returns 1 if the test passed or was skipped.
 */
int run_test(const char *name, int (*fn)(void), int timeout_s);
int test_selected(const char *name);

/* One row of a suite's test table. */
struct ntcp_test {
	const char *name;
	int (*fn)(void);
	int timeout;
};

/* A row that runs with a socket type (the suite's *type while it runs). */
struct ntcp_typed_test {
	const char *name;
	int (*fn)(void);
	int type, timeout;
};

/* One test for each socket type, the type named after it. */
#define NTCP_BOTH(name, fn, t)						\
	{ name " [stream]", fn, SOCK_STREAM, t },			\
	{ name " [seqpacket]", fn, SOCK_SEQPACKET, t }

/*
 * Start a suite of @n tests: announce the plan and read ntcp_family;
 * bails out when the module is not loaded.
 */
void ntcp_suite_start(size_t n);
/* A whole single-guest suite: ntcp_suite_start(), every test in order, tap_done(). */
int ntcp_run_suite(const struct ntcp_test *tests, size_t n);
/* The same with a socket type per test, set in *type before it runs. */
int ntcp_run_typed_suite(const struct ntcp_typed_test *tests, size_t n,
			 int *type);

/*
 * Send from @fd without blocking (chunks of 512 bytes on SEQPACKET, 4 KiB
 * on STREAM) until EAGAIN has come @idle_rounds times running, @nap_us
 * apart (ACKs may still open room); bytes sent, -1 on another error.
 */
long ntcp_fill(int fd, int type, int idle_rounds, useconds_t nap_us);
void tap_diag_now(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define TEST_SKIP	77
#define SKIP_TEST(...)							\
	do {								\
		printf("# skip: ");					\
		printf(__VA_ARGS__);					\
		printf("\n");						\
		fflush(stdout);						\
		return TEST_SKIP;					\
	} while (0)

#define CHECK(cond, ...)						\
	do {								\
		if (!(cond)) {						\
			printf("# %s:%d: check failed: %s (errno %s): ",	\
			       __func__, __LINE__, #cond,		\
			       ntcp_errname(errno));			\
			printf(__VA_ARGS__);				\
			printf("\n");					\
			fflush(stdout);					\
			return 1;					\
		}							\
	} while (0)

#endif
