// SPDX-License-Identifier: GPL-2.0
/*
 * Fails the next "fail" calls of whichever function the suite attached
 * this kprobe to, by bpf_override_return(): the function does not run
 * and returns "rc".  The kernel allows that only at the entry of a
 * function marked ALLOW_ERROR_INJECTION, on a kernel with
 * CONFIG_BPF_KPROBE_OVERRIDE.  Every call and every failure is counted,
 * so a test can tell that its failure was really injected.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "errinj.h"

struct pt_regs;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct errinj);
} inj SEC(".maps");

SEC("kprobe")
int errinj(struct pt_regs *ctx)
{
	__u32 key = 0, tgid = bpf_get_current_pid_tgid() >> 32;
	struct errinj *e = bpf_map_lookup_elem(&inj, &key);

	if (!e || (e->tgid && e->tgid != tgid))
		return 0;
	__sync_fetch_and_add(&e->calls, 1);
	if (!e->fail)
		return 0;
	e->fail--;
	__sync_fetch_and_add(&e->failed, 1);
	bpf_override_return(ctx, e->rc);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
