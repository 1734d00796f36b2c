// SPDX-License-Identifier: GPL-2.0
/*
 * selftest: checks suites/lib's test runner on the build host; not a
 * guest suite (it lives below lib/, which the suite build skips).
 *
 *   make -C suites SRC=$PWD/suites/lib OUT=/tmp/libselftest
 *   /tmp/libselftest/selftest
 *
 * Runs itself with "inner" (a suite of deliberately passing, failing,
 * hanging, crashing, skipping tests) and checks the TAP it printed,
 * then with "inner-stuck" (a test SIGKILL cannot end: about 11 s).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "ntcp.h"
#include "tap.h"

static int t_pass(void) { printf("# from pass\n"); return 0; }
static int t_fail(void) { CHECK(1 == 2, "one is not two"); return 0; }
static int t_hang(void) { for (;;) pause(); return 0; }
static int t_segv(void) { raise(SIGSEGV); return 0; }
static int t_skip(void) { SKIP_TEST("no frobnicator"); }
static int t_exit3(void) { return 3; }
static int t_helper(void)
{
	/* A helper that outlives the test must die with it. */
	if (!fork()) {
		FILE *f = fopen("/tmp/libselftest.pid", "w");

		fprintf(f, "%d\n", getpid());
		fclose(f);
		for (;;)
			pause();
	}
	usleep(100000);
	return 0;
}
static int t_sub(void)
{
	tap_sub_ok(1, "first");
	tap_sub_ok(0, "second");
	return tap_sub_done();
}
static int t_ready(void) { printf("# ready\n"); sleep(1); return 0; }
static int t_now(void) { tap_diag_now("now line"); sleep(1); return 0; }

/*
 * A child SIGKILL cannot end: a helper outside the test's process group
 * splices from a pipe into a full TCP loopback socket, holding the pipe's
 * mutex while it waits for room (up to SO_SNDTIMEO, 20 s); the test
 * then writes to that pipe and sleeps in mutex_lock (state D).
 */
static int t_stuck(void)
{
	static char buf[4096];
	struct timeval tv = { .tv_sec = 20 };
	int sv[2], p[2];

	/* Not AF_UNIX: 6.1 appends a spliced page to the queue's tail skb
	 * without waiting for room. */
	if (tcp_pair(&sv[0], &sv[1], 0) || pipe(p))
		return 2;
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	while (write(sv[0], buf, sizeof(buf)) > 0)
		;
	fcntl(sv[0], F_SETFL, 0);
	setsockopt(sv[0], SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (write(p[1], buf, sizeof(buf)) != sizeof(buf))
		return 2;
	if (!fork()) {
		setpgid(0, 0);
		splice(p[0], NULL, sv[0], NULL, sizeof(buf), 0);
		_exit(0);
	}
	usleep(300000);
	if (write(p[1], buf, 1) < 0)
		return 2;
	return 0;
}

static int inner_stuck(void)
{
	tap_plan(2);
	run_test("stuck", t_stuck, 1);
	run_test("after stuck", t_pass, 5);
	return tap_done();
}

static int inner(void)
{
	tap_plan(11);
	tap_seed();
	run_test("pass", t_pass, 5);
	run_test("fail", t_fail, 5);
	run_test("hang", t_hang, 1);
	run_test("segv", t_segv, 5);
	run_test("skip", t_skip, 5);
	run_test("exit3", t_exit3, 5);
	run_test("helper", t_helper, 5);
	run_test("sub", t_sub, 5);
	run_test("ready", t_ready, 5);
	run_test("now", t_now, 5);
	run_test("after all that", t_pass, 5);
	return tap_done();
}

static char out[65536];

static void run_inner_mode(const char *self, const char *env, const char *mode)
{
	char cmd[512];
	size_t n;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "%s %s %s", env, self, mode);
	p = popen(cmd, "r");
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = 0;
	pclose(p);
}

static void run_inner(const char *self, const char *env)
{
	run_inner_mode(self, env, "inner");
}

/* The inner run's output, as diagnostics. */
static void diag_out(void)
{
	for (char *l = strtok(out, "\n"); l; l = strtok(NULL, "\n"))
		tap_diag("| %s", l);
}

static int has(const char *s)
{
	return strstr(out, s) != NULL;
}

/*
 * "@line # time=<ms>ms\n" then @next: a test line with its duration;
 * *ms gets the duration when @ms is not NULL.
 */
static int has_timed(const char *line, const char *next, double *ms)
{
	size_t n = strlen(line);
	const char *p;

	for (p = strstr(out, line); p; p = strstr(p + 1, line)) {
		char *end;
		double v;

		if (strncmp(p + n, " # time=", 8))
			continue;
		v = strtod(p + n + 8, &end);
		if (end == p + n + 8 || end[-4] != '.' || strncmp(end, "ms\n", 3) ||
		    strncmp(end + 3, next, strlen(next)))
			continue;
		if (ms)
			*ms = v;
		return 1;
	}
	return 0;
}

/* "# running N - name" came before the test's own line. */
static int ran_before(const char *running, const char *line)
{
	const char *r = strstr(out, running), *l = strstr(out, line);

	return r && l && r < l;
}

int main(int argc, char **argv)
{
	long long t0, t1;
	double ms = 0;
	int ok;
	int pid = 0;
	FILE *f;

	if (argc > 1 && !strcmp(argv[1], "inner"))
		return inner();
	if (argc > 1 && !strcmp(argv[1], "inner-stuck"))
		return inner_stuck();
	tap_plan(26);
	unlink("/tmp/libselftest.pid");
	t0 = now_ms();
	run_inner(argv[0], "SOCKVM_SEED=42");
	tap_ok(has("# seed 42 (SOCKVM_SEED)\n"), "SOCKVM_SEED printed");
	tap_ok(has_timed("\nok 1 - pass", "# from pass\n", NULL), "diagnostics follow their test");
	tap_ok(has_timed("\nnot ok 2 - fail", "# t_fail:", NULL), "failing CHECK after not ok");
	ok = has_timed("\nnot ok 3 - hang", "# timed out after 1 s, killed\n", &ms);
	tap_ok(ok && ms >= 1000 && ms < 2000, "hung test killed at its timeout (%.3f ms)", ms);
	tap_ok(has_timed("\nnot ok 4 - segv", "# crashed: killed by signal 11 (SIGSEGV)", NULL),
	       "crash names the signal");
	tap_ok(has("\nok 5 - skip # SKIP no frobnicator\n"), "SKIP_TEST reason, no time");
	tap_ok(has_timed("\nnot ok 6 - exit3", "# exited with status 3\n", NULL), "odd exit status");
	tap_ok(has_timed("\nok 7 - helper", "", NULL), "helper test passes");
	f = fopen("/tmp/libselftest.pid", "r");
	if (f) {
		if (fscanf(f, "%d", &pid) != 1)
			pid = 0;
		fclose(f);
	}
	for (int i = 0; pid > 0 && i < 50 && !kill(pid, 0); i++)
		usleep(20000);	/* until its new parent reaps it */
	tap_ok(pid > 0 && kill(pid, 0) && errno == ESRCH, "leftover helper killed");
	tap_ok(has("# running 8 - sub\n    # Subtest: sub\n    ok 1 - first\n    not ok 2 - second\n    1..2\nnot ok 8 - sub # time="),
	       "KTAP subtests before the parent line");
	tap_ok(has("# running 9 - ready\n# ready\nok 9 - ready # time="),
	       "ready line passes through before the test ends");
	tap_ok(has("# running 10 - now\n# now line\nok 10 - now # time=") &&
	       !has("\001") && !strstr(strstr(out, "ok 10 - now") ?: out, "now line"),
	       "tap_diag_now line passes through once, unmarked");
	tap_ok(has_timed("\nok 11 - after all that", "1..11", NULL) || has("1..11\n"),
	       "suite continues to the end");
	tap_ok(ran_before("# running 1 - pass\n", "\nok 1 - pass") &&
	       ran_before("# running 3 - hang\n", "\nnot ok 3 - hang") &&
	       ran_before("# running 5 - skip\n", "\nok 5 - skip") &&
	       ran_before("# running 11 - after all that\n", "\nok 11 - "),
	       "each test announced by a running line before its own");
	tap_ok(now_ms() - t0 < 9000, "whole inner run bounded (%lld ms)", now_ms() - t0);
	run_inner(argv[0], "SOCKVM_TEST='s*'");
	tap_ok(has("ok 1 - pass # SKIP filtered by SOCKVM_TEST\n"), "filter skips non-matching");
	tap_ok(!has("# running 1 - pass"), "no running line for a filtered test");
	tap_ok(has("# running 4 - segv\nnot ok 4 - segv # time="), "filter runs matching");
	run_inner(argv[0], "SOCKVM_SUITE=lib SOCKVM_TEST='lib/pass'");
	tap_ok(has_timed("ok 1 - pass", "# from pass", NULL), "filter on suite/name");
	/* Seeds are decimal, 32 bits, as the harness's --seed: 0x10 is no seed. */
	run_inner(argv[0], "SOCKVM_SEED=0x10");
	tap_ok(has("Bail out! SOCKVM_SEED=0x10: expected a decimal number"),
	       "a malformed SOCKVM_SEED bails out");

	/* A child that SIGKILL cannot end is left behind after ~10 s. */
	t0 = now_ms();
	run_inner_mode(argv[0], "", "inner-stuck");
	t1 = now_ms() - t0;
	ok = has_timed("\nnot ok 1 - stuck", "# timed out after 1 s; the child did not die after SIGKILL (uninterruptible in the kernel)\n", &ms);
	tap_ok(ok && ms > 10500 && ms < 12500, "unkillable child given up on about 10 s after SIGKILL (%.3f ms)", ms);
	tap_ok(has("# pid ") && has(": state D"), "its state named (D)");
	tap_ok(has(", wchan "), "its wchan named");
	tap_ok(has("/stack:\n#     ") || has("/stack: Permission denied") ||
	       has("/stack: Operation not permitted"), "its kernel stack printed (if readable)");
	tap_ok(has_timed("\nok 2 - after stuck", "1..2", NULL) || has_timed("\nok 2 - after stuck", "", NULL),
	       "the suite goes on after it");
	tap_ok(t1 < 16000, "the suite's output ends without waiting for the child (%lld ms)", t1);
	diag_out();
	return tap_done();
}
