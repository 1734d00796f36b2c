/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one entry of tcfault.bpf.c's "fault" map: what the tc program on
 * the link NIC does to one NEW_TCP flow (set by the suite), and what it
 * did (counted by the program).  Shared by the BPF program and the suite.
 *
 * The flow is one direction of the TCP connection with daddr:dport:
 * what this guest sends to it (dir TCF_OUT, seen at egress) or what it
 * receives from it (TCF_IN, at ingress); a SYN in that direction starts
 * a new one.  Stream offsets count payload bytes from the first byte
 * after the SYN, so offset 0 is the first byte of that side's NEW_TCP
 * hello and offset 8 the first byte of what follows it (on SEQPACKET,
 * the first record's length header).
 *
 * Drop at egress is a local drop: the stack sees it (NET_XMIT_DROP)
 * and sends the segment again from its own timer, not as a loss on the
 * wire.  Drops that TCP must discover as losses (dupacks, SACK, RTO)
 * are made at ingress, on what the peer sent.  A "new" packet
 * carries bytes past everything sent before; a retransmission does not.
 * Packets are counted as the stack hands them to the NIC: a TSO/GSO
 * packet of many segments counts once.
 */
#ifndef TCFAULT_H
#define TCFAULT_H

#include <linux/types.h>

enum tcfault_mode {
	TCF_OFF = 0,
	/* Drop new data packet i (1-based) when (i + seed) % n == 0. */
	TCF_DROP_NTH = 1,
	/* Drop n new data packets from number first + seed % n on. */
	TCF_DROP_BURST = 2,
	/* Drop every packet (retransmissions too) holding offset 0..7. */
	TCF_DROP_HELLO = 3,
	/* XOR the byte at stream offset @offset with @xor, in every copy. */
	TCF_CORRUPT_AT = 4,
	/* Hold new data packet i back delay_us when (i + seed) % n == 0. */
	TCF_DELAY_NTH = 5,
};

enum tcfault_dir {
	TCF_OUT = 0,	/* egress: to daddr:dport */
	TCF_IN = 1,	/* ingress: from daddr:dport */
};

struct tcfault {
	/* set by the suite */
	__u32 mode, dir, seed, n, first;
	__u32 offset, xor, delay_us;
	__u32 daddr;		/* the peer, network order */
	__u16 dport;		/* the peer's port, network order */
	__u16 pad;
	/* the program's state for the current flow */
	__u32 isn, have_isn;
	__u32 sent;		/* stream offset past the highest byte sent */
	/* counters */
	__u64 syns, packets, retrans, hits;
};

#endif
