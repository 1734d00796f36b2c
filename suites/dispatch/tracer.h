/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The dispatch suite's window on sockvm-trace: start it in the
 * background (text output), take snapshots (SIGUSR1), and ask them which
 * functions a test called, through which chains.
 */
#ifndef SOCKVM_DISPATCH_TRACER_H
#define SOCKVM_DISPATCH_TRACER_H

#define TRACER_BIN	"/sbin/sockvm-trace"
#define TRACER_FUNCS	"/etc/sockvm/trace.funcs"

/*
 * Starts the tracer with uprobes on this binary, on the listed functions
 * of @kind (NULL: all); 0 once its probes are attached; -2 with *why set
 * when tracing cannot be had here (no tool in the image, a kernel without
 * BPF or kprobes), -1 with *why set when the tool failed (it exited, it
 * never attached): a failure of the thing under test.
 */
int tracer_start(const char *kind, const char **why);
void tracer_stop(void);

/* Takes a snapshot; 0 when it was written. */
int tracer_snapshot(void);

/* Calls of @func by test @test in the last snapshot ("" = outside tests). */
long long tracer_calls(const char *func, const char *test);
/* Calls of module functions (kind "module") by test @test. */
long long tracer_module_calls(const char *test, char *first, int len);
/* Calls of @func outside every test (other processes, interrupts). */
long long tracer_untracked(const char *func);
/* Prints what the last snapshot holds for test @test (and its global lines). */
void tracer_dump(const char *test);
/* Whether @func was attached; else *why says why not. */
int tracer_attached(const char *func, const char **why);

/*
 * Whether test @test has a chain that starts with @want[0] and holds
 * @want[1..n-1] in that order (not necessarily adjacent).  When none
 * does, prints the test's chains starting with @want[0] as diagnostics.
 */
int tracer_has_chain(const char *test, const char *const *want, int n);

/*
 * The module function filling @role ("proto_ops.connect"), from the
 * function list the harness derived from newtcp.ko; @fallback (with a
 * diagnostic) when the kernel had no BTF to name the slots.
 */
const char *tracer_role(const char *role, const char *fallback);

#endif
