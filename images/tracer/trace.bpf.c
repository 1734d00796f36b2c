// SPDX-License-Identifier: GPL-2.0
/*
 * sockvm-trace, kernel side.  Reads no kernel structure, so it needs no
 * BTF: kprobes and kretprobes attached by function name, a uprobe on the
 * suites' sockvm_test_begin() marker and the sched_process_fork
 * tracepoint (child_pid at an offset the user side reads from tracefs).
 *
 * A process that began a test (and every process it forks) is tracked:
 * its calls go to the ring buffer with a per-thread shadow stack, so the
 * user side sees entry order, nesting and durations.  Calls from any
 * other context are only counted per function.
 */
#include <linux/bpf.h>
#include <linux/types.h>
#include <asm/ptrace.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "trace.h"

char LICENSE[] SEC("license") = "GPL";

/* Offset of child_pid in the sched_process_fork record (from its format file). */
const volatile __u32 fork_child_pid_offset = 44;

/* Kernel address of a probe point (symbol, or symbol + 4 after an endbr) -> function index. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 2 * TRACE_MAX_FUNCS);
	__type(key, __u64);
	__type(value, __u32);
} funcs SEC(".maps");

/* tgid -> the test it belongs to (the tgid that began the test). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, __u32);
} tracked SEC(".maps");

struct shadow_stack {
	__u32 depth;
	__u32 func[TRACE_MAX_DEPTH];
	__u64 ts[TRACE_MAX_DEPTH];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, __u32);
	__type(value, struct shadow_stack);
} stacks SEC(".maps");

/* Calls from untracked contexts (other processes, softirqs in them), per function. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TRACE_MAX_FUNCS);
	__type(key, __u32);
	__type(value, __u64);
} other_calls SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, STAT_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20);
} events SEC(".maps");

static __always_inline void stat_inc(__u32 which)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &which);

	if (v)
		(*v)++;
}

static __always_inline int func_index(__u64 addr, __u32 *idx)
{
	__u32 *v = bpf_map_lookup_elem(&funcs, &addr);

	if (!v)
		return -1;
	*idx = *v;
	return 0;
}

static __always_inline void emit(__u32 kind, __u32 func, __u64 id, __u32 test,
				 __u32 depth, __u64 ns)
{
	struct trace_event *e;

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		stat_inc(STAT_RINGBUF_DROPS);
		return;
	}
	e->kind = kind;
	e->func = func;
	e->tid = (__u32)id;
	e->tgid = id >> 32;
	e->test = test;
	e->depth = depth;
	e->ns = ns;
	e->name[0] = 0;
	bpf_ringbuf_submit(e, 0);
}

SEC("kprobe")
int BPF_KPROBE(on_enter)
{
	/* An int3 (or ftrace) kprobe reports the probed address + 1. */
	__u64 ip = PT_REGS_IP(ctx) - 1, id = bpf_get_current_pid_tgid();
	struct shadow_stack *st, zero = {};
	__u32 tgid = id >> 32, tid = (__u32)id, idx, d, *test, entry_only;

	if (func_index(ip, &idx))
		return 0;
	entry_only = idx & TRACE_ENTRY_ONLY;
	idx &= ~TRACE_ENTRY_ONLY;
	test = bpf_map_lookup_elem(&tracked, &tgid);
	if (!test) {
		__u64 *n = bpf_map_lookup_elem(&other_calls, &idx);

		if (n)
			(*n)++;
		return 0;
	}
	st = bpf_map_lookup_elem(&stacks, &tid);
	if (!st) {
		bpf_map_update_elem(&stacks, &tid, &zero, BPF_NOEXIST);
		st = bpf_map_lookup_elem(&stacks, &tid);
		if (!st)
			return 0;
	}
	d = st->depth;
	/* A helper is counted and placed in the chain; it opens no call of its own. */
	if (entry_only) {
		emit(TRACE_ENTER, idx, id, *test, d, bpf_ktime_get_ns());
		return 0;
	}
	if (d >= TRACE_MAX_DEPTH) {
		stat_inc(STAT_DEPTH_OVERFLOW);
		emit(TRACE_ENTER, idx, id, *test, d, bpf_ktime_get_ns());
		return 0;
	}
	d &= TRACE_MAX_DEPTH - 1;
	st->func[d] = idx;
	st->ts[d] = bpf_ktime_get_ns();
	st->depth = d + 1;
	emit(TRACE_ENTER, idx, id, *test, d + 1, st->ts[d]);
	return 0;
}

/*
 * Pops the shadow stack down to the entry of func (or, with func ==
 * ~0, the top entry) and reports that call's duration.
 */
static __always_inline int on_return(__u32 func)
{
	__u64 id = bpf_get_current_pid_tgid(), now = bpf_ktime_get_ns();
	__u32 tgid = id >> 32, tid = (__u32)id, *test, d, i;
	struct shadow_stack *st;

	test = bpf_map_lookup_elem(&tracked, &tgid);
	if (!test)
		return 0;
	st = bpf_map_lookup_elem(&stacks, &tid);
	if (!st || !st->depth) {
		stat_inc(STAT_UNMATCHED_RETURN);
		return 0;
	}
	d = st->depth;
	/* A missed return (kretprobe out of instances) leaves entries above ours. */
	for (i = 0; i < TRACE_MAX_DEPTH; i++) {
		__u32 top;

		if (i >= d)
			break;
		/* depth never exceeds TRACE_MAX_DEPTH; the mask tells the verifier. */
		top = (d - 1 - i) & (TRACE_MAX_DEPTH - 1);
		if (func == ~0U || st->func[top] == func) {
			st->depth = top;
			emit(TRACE_RETURN, st->func[top], id, *test, top,
			     now - st->ts[top]);
			return 0;
		}
	}
	stat_inc(STAT_UNMATCHED_RETURN);
	return 0;
}

/* Kernels with bpf_get_func_ip() (5.15+): the return names its function. */
SEC("kretprobe")
int BPF_KRETPROBE(on_return_ip)
{
	__u32 idx;

	/* Not every kernel gives a kretprobe its probe address: then the top. */
	if (func_index(bpf_get_func_ip(ctx), &idx))
		return on_return(~0U);
	return on_return(idx & ~TRACE_ENTRY_ONLY);
}

/* Older kernels: the innermost open call is the one returning. */
SEC("kretprobe")
int BPF_KRETPROBE(on_return_top)
{
	return on_return(~0U);
}

static __always_inline int mark(__u32 kind, const char *name)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32;
	struct trace_event *e;

	/*
	 * A test is known by the tgid of the process that began it (a fresh
	 * child per test, or the suite's own process); its descendants carry
	 * that number.
	 */
	if (kind != TRACE_TEST_END && bpf_map_update_elem(&tracked, &tgid, &tgid, BPF_ANY))
		stat_inc(STAT_TRACKED_FULL);
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		stat_inc(STAT_RINGBUF_DROPS);
		return 0;
	}
	e->kind = kind;
	e->func = 0;
	e->tid = (__u32)id;
	e->tgid = tgid;
	e->test = tgid;
	e->depth = 0;
	e->ns = bpf_ktime_get_ns();
	e->name[0] = 0;
	if (name)
		bpf_probe_read_user_str(e->name, sizeof(e->name), name);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(on_test_begin, const char *name)
{
	return mark(TRACE_TEST, name);
}

SEC("uprobe")
int BPF_KPROBE(on_test_end, const char *name)
{
	return mark(TRACE_TEST_END, name);
}

SEC("uprobe")
int BPF_KPROBE(on_suite_main)
{
	return mark(TRACE_SUITE, NULL);
}

/* A tracked process's children belong to its test (helpers, oracles, peers). */
SEC("tracepoint/sched/sched_process_fork")
int on_fork(void *ctx)
{
	__u32 parent = bpf_get_current_pid_tgid() >> 32, child, *test;

	test = bpf_map_lookup_elem(&tracked, &parent);
	if (!test)
		return 0;
	if (bpf_probe_read_kernel(&child, sizeof(child),
				  (char *)ctx + fork_child_pid_offset))
		return 0;
	if (bpf_map_update_elem(&tracked, &child, test, BPF_ANY))
		stat_inc(STAT_TRACKED_FULL);
	return 0;
}
