/* SPDX-License-Identifier: GPL-2.0 */
/* What sockvm-trace's BPF side and its user side share: limits and events. */
#ifndef SOCKVM_TRACE_H
#define SOCKVM_TRACE_H

/* Functions the tool can watch at once (module, socket layer, TCP, e1000). */
#define TRACE_MAX_FUNCS		1024
/* Traced calls nested in one thread that the shadow stack keeps. */
#define TRACE_MAX_DEPTH		16
#define TRACE_NAME_LEN		96
/* In the funcs map's value: a helper, watched at entry only (no kretprobe, no stack entry). */
#define TRACE_ENTRY_ONLY	(1U << 31)

enum trace_event_kind {
	TRACE_ENTER = 1,
	TRACE_RETURN = 2,
	TRACE_TEST = 3,		/* sockvm_test_begin(name): a new test in this process */
	TRACE_TEST_END = 4,	/* sockvm_test_end(name): names what this process did */
	TRACE_SUITE = 5,	/* the suite's main(): its process is watched from now on */
};

/* Counters the BPF side keeps in the "stats" array. */
enum trace_stat {
	STAT_RINGBUF_DROPS,	/* bpf_ringbuf_reserve failed: event lost */
	STAT_DEPTH_OVERFLOW,	/* nested deeper than TRACE_MAX_DEPTH */
	STAT_UNMATCHED_RETURN,	/* a return with no entry on the stack */
	STAT_TRACKED_FULL,	/* a process could not be tracked (map full) */
	STAT_COUNT,
};

struct trace_event {
	__u32 kind;
	__u32 func;		/* index in the function list */
	__u32 tid;
	__u32 tgid;
	__u32 test;		/* tgid of the process that began the test */
	__u32 depth;		/* stack depth after the event */
	__u64 ns;		/* enter: timestamp; return: duration */
	char name[TRACE_NAME_LEN];	/* TRACE_TEST only */
};

#endif
