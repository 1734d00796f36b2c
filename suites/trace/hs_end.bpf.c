// SPDX-License-Identifier: GPL-2.0
/*
 * Attached to newtcp:newtcp_handshake_end (BPF_PROG_TYPE_TRACEPOINT): keeps
 * what the last event of one network namespace said, per role, and how
 * many there were, for trace.c to compare with the sockets it made.
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "trace_event.h"

/* The suite's namespace (inode of /proc/self/ns/net), set before it connects. */
__u32 target_netns;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct hs_seen);
} seen SEC(".maps");

SEC("tracepoint/newtcp/newtcp_handshake_end")
int on_handshake_end(struct hs_end_event *e)
{
	__u32 role = e->role;
	struct hs_seen *s;

	if (e->netns != target_netns)
		return 0;
	s = bpf_map_lookup_elem(&seen, &role);
	if (!s)
		return 0;
	__sync_fetch_and_add(&s->count, 1);
	s->cookie = e->cookie;
	s->netns = e->netns;
	__builtin_memcpy(&s->saddr, e->saddr, 4);
	__builtin_memcpy(&s->daddr, e->daddr, 4);
	s->sport = e->sport;
	s->dport = e->dport;
	s->type = e->type;
	s->result = e->result;
	s->err = e->err;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
