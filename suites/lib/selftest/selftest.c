// SPDX-License-Identifier: GPL-2.0
/*
 * selftest: checks suites/lib's test runner on the build host; not a
 * guest suite (it lives below lib/, which the suite build skips).
 *
 *   make -C suites SRC=$PWD/suites/lib OUT=/tmp/libselftest
 *   /tmp/libselftest/selftest
 *
 * Runs itself with "inner" (a suite of deliberately passing, failing,
 * hanging, crashing, skipping tests) and checks the TAP it printed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

static int inner(void)
{
	tap_plan(10);
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
	run_test("after all that", t_pass, 5);
	return tap_done();
}

static char out[65536];

static void run_inner(const char *self, const char *env)
{
	char cmd[512];
	size_t n;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "%s %s inner", env, self);
	p = popen(cmd, "r");
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = 0;
	pclose(p);
}

static int has(const char *s)
{
	return strstr(out, s) != NULL;
}

int main(int argc, char **argv)
{
	long long t0;
	int pid = 0;
	FILE *f;

	if (argc > 1 && !strcmp(argv[1], "inner"))
		return inner();
	tap_plan(16);
	unlink("/tmp/libselftest.pid");
	t0 = now_ms();
	run_inner(argv[0], "SOCKVM_SEED=42");
	tap_ok(has("# seed 42 (SOCKVM_SEED)\n"), "SOCKVM_SEED printed");
	tap_ok(has("ok 1 - pass\n# from pass\n"), "diagnostics follow their test");
	tap_ok(has("not ok 2 - fail\n# t_fail:"), "failing CHECK after not ok");
	tap_ok(has("not ok 3 - hang\n# timed out after 1 s, killed\n"),
	       "hung test killed at its timeout");
	tap_ok(has("not ok 4 - segv\n# crashed: killed by signal 11 (SIGSEGV)"),
	       "crash names the signal");
	tap_ok(has("ok 5 - skip # SKIP no frobnicator\n"), "SKIP_TEST reason");
	tap_ok(has("not ok 6 - exit3\n# exited with status 3\n"), "odd exit status");
	tap_ok(has("ok 7 - helper\n"), "helper test passes");
	f = fopen("/tmp/libselftest.pid", "r");
	if (f) {
		if (fscanf(f, "%d", &pid) != 1)
			pid = 0;
		fclose(f);
	}
	for (int i = 0; pid > 0 && i < 50 && !kill(pid, 0); i++)
		usleep(20000);	/* until its new parent reaps it */
	tap_ok(pid > 0 && kill(pid, 0) && errno == ESRCH, "leftover helper killed");
	tap_ok(has("    # Subtest: sub\n    ok 1 - first\n    not ok 2 - second\n    1..2\nnot ok 8 - sub\n"),
	       "KTAP subtests before the parent line");
	tap_ok(has("# ready\nok 8") == 0 && has("# ready\n") && strstr(out, "# ready\n") < strstr(out, "ok 9 - ready"),
	       "ready line passes through before the test ends");
	tap_ok(has("ok 10 - after all that\n1..10") || has("1..10\n"), "suite continues to the end");
	tap_ok(now_ms() - t0 < 8000, "whole inner run bounded (%lld ms)", now_ms() - t0);
	run_inner(argv[0], "SOCKVM_TEST='s*'");
	tap_ok(has("ok 1 - pass # SKIP filtered by SOCKVM_TEST\n"), "filter skips non-matching");
	tap_ok(has("not ok 4 - segv\n"), "filter runs matching");
	run_inner(argv[0], "SOCKVM_SUITE=lib SOCKVM_TEST='lib/pass'");
	tap_ok(has("ok 1 - pass\n# from pass"), "filter on suite/name");
	return tap_done();
}
