/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the suite's eBPF program sees of newtcp:newtcp_handshake_end: the
 * event's record as TRACE_EVENT lays it out (kernel/newtcp/newtcp_trace.h),
 * after the 8 bytes of common fields.  trace.c checks these offsets
 * against the event's tracefs format file before it trusts the program.
 */
#ifndef SOCKVM_TRACE_EVENT_H
#define SOCKVM_TRACE_EVENT_H

#include <linux/types.h>

struct hs_end_event {
	__u64	common;		/* common_type, _flags, _preempt_count, _pid */
	__u64	cookie;
	__u32	netns;
	__u8	saddr[4];
	__u8	daddr[4];
	__u16	sport;
	__u16	dport;
	__u8	role;
	__u8	type;
	__u8	result;
	__s32	err;
};

/* newtcp.h's enum newtcp_hs_role and newtcp_hs_result (the format file names them). */
#define HS_ROLE_CLIENT	0
#define HS_ROLE_SERVER	1
#define HS_OK		0

/* One slot per role: the last event of the suite's namespace and a count. */
struct hs_seen {
	__u64	count;
	__u64	cookie;
	__u32	netns;
	__u32	saddr;
	__u32	daddr;
	__u16	sport;
	__u16	dport;
	__u8	type;
	__u8	result;
	__s32	err;
};

#endif
