/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Minimal TAP version 14 producer for the sockvm suites.
 *
 * The header line is printed before the first output.  Call tap_plan()
 * first when the count is known; otherwise tap_done() prints the plan
 * at the end.  Output is flushed line by line so a guest crash still
 * leaves every finished test on the console.
 */
#ifndef SOCKVM_TAP_H
#define SOCKVM_TAP_H

#define TAP_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* Announce "1..n" up front. */
void tap_plan(int n);

/* Report one test; returns cond (normalised to 0/1) for chaining. */
int tap_ok(int cond, const char *fmt, ...) TAP_PRINTF(2, 3);

/*
 * tap_ok() with the test's duration as a comment after the description:
 * "ok N - desc # time=12.345ms" (TAP ignores it; our harness reads it).
 */
int tap_ok_time(int cond, double ms, const char *fmt, ...) TAP_PRINTF(3, 4);

/* The number the next test point will get. */
int tap_next(void);

/*
 * "# running N - desc" for the test about to start (N = tap_next()),
 * flushed at once: if the guest dies before the test's own line, the
 * console still names the test that was running.
 */
void tap_running(const char *fmt, ...) TAP_PRINTF(1, 2);

/*
 * Marks the start of test `name` in the calling process for sockvm-trace,
 * which puts a uprobe on sockvm_trace_begin() (called with a copy): the process and everything it forks
 * from here on belong to that test.  Costs a call without the tracer.
 */
void sockvm_test_begin(const char *name);

/*
 * Marks the end of test `name` in the calling process (tap_ok() and its
 * kin call it with the description): the calls this process made since
 * its last mark belong to that test.  For suites whose checks run in the
 * suite's own process, where no test was begun.
 */
void sockvm_test_end(const char *name);
void sockvm_trace_begin(const char *name);
void sockvm_trace_end(const char *name);

/* "# ..." diagnostic line. */
void tap_diag(const char *fmt, ...) TAP_PRINTF(1, 2);

/* Report one test as skipped with a reason; counts as passed. */
void tap_skip(const char *reason, const char *fmt, ...) TAP_PRINTF(2, 3);

/* "Bail out! ..." and exit(1): the rest of the suite cannot run. */
void tap_bail(const char *fmt, ...) TAP_PRINTF(1, 2) __attribute__((noreturn));

/*
 * Finish: print a trailing plan if none was given and check the count.
 * Returns the exit status: 0 if every test passed (or was skipped) and
 * the plan matched, 1 otherwise.
 */
int tap_done(void);

/*
 * Address family number the newtcp module registered, read from
 * NEWTCP_FAMILY_SYSFS.  Returns -1 after a diagnostic when the file is
 * missing (module not loaded) or unreadable.
 */
int tap_newtcp_family(void);

/*
 * The family the module takes when not told otherwise: the kernel's own
 * AF_INET_NEW_TCP on a patched kernel (published by the module in
 * /sys/module/newtcp/parameters/kernel_family; it then ignores family=),
 * else NEWTCP_FAMILY_DEFAULT.  tap_newtcp_kernel_family() is that kernel
 * number, 0 when the kernel has none (or the module is not loaded).
 */
int tap_newtcp_kernel_family(void);
int tap_newtcp_default_family(void);

/*
 * Seed for randomised tests, 32 bits: SOCKVM_SEED if set (decimal only,
 * as the harness's --seed; anything else bails out), else derived from
 * the time and pid.  The first call prints
 * "# seed N" so any run can be replayed with SOCKVM_SEED=N (the
 * harness's --seed).  Call it in main() before forking tests so that
 * every test sees the same value.
 */
unsigned long long tap_seed(void);

/*
 * KTAP nested subtests, for use inside a run_test() child: each prints
 * an indented "    ok n - ..." line; tap_sub_done() prints the
 * indented plan and returns the number of failed subtests (use it as
 * the test's result).
 */
int tap_sub_ok(int cond, const char *fmt, ...) TAP_PRINTF(2, 3);
int tap_sub_done(void);

#endif /* SOCKVM_TAP_H */
