// SPDX-License-Identifier: GPL-2.0
/*
 * tc (clsact, direct-action) program for the link NIC: drops, delays or
 * corrupts a seeded, deterministic pattern of one NEW_TCP flow's
 * packets as described by the "fault" map (tcfault.h), and counts what
 * it did there so a test can check the fault happened.
 *
 * One program for each direction: egress for what this guest sends,
 * ingress for what it receives (tcfault.h says why drops are made at
 * ingress).  Either tells a first transmission from a retransmission
 * by the sequence number.  Corruption rewrites the byte and fixes the
 * TCP checksum (bpf_l4_csum_replace() leaves a CHECKSUM_PARTIAL packet,
 * whose sum the NIC or GSO computes later, alone), so TCP delivers the
 * corrupted byte.  A delay sets the packet's departure time
 * (skb->tstamp); the fq qdisc on the device holds it until then.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <linux/tcp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "tcfault.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tcfault);
} fault SEC(".maps");

#define ETH_LEN		14
#define TCP_CSUM_OFF	16

/* Flip the byte at @off (in the TCP segment starting at @l4), checksum fixed. */
static __always_inline int corrupt(struct __sk_buff *skb, __u32 l4, __u32 off,
				   __u8 mask)
{
	__u32 word = l4 + ((off - l4) & ~1u);
	__u16 old, new;

	if (bpf_skb_load_bytes(skb, word, &old, 2))
		return -1;
	/* The second byte in memory is the high one of a little-endian u16. */
	new = old ^ (off == word ? mask : (__u16)mask << 8);
	if (bpf_skb_store_bytes(skb, word, &new, 2, 0))
		return -1;
	return bpf_l4_csum_replace(skb, l4 + TCP_CSUM_OFF, old, new, 2);
}

static __always_inline int tcfault(struct __sk_buff *skb, __u32 dir)
{
	__u32 key = 0, l4, data, plen, rel, end, seq, hdrs;
	struct tcfault *f = bpf_map_lookup_elem(&fault, &key);
	struct tcphdr th;
	struct iphdr ih;
	int is_new, hit = 0;

	if (!f || f->mode == TCF_OFF || f->dir != dir ||
	    skb->protocol != bpf_htons(ETH_P_IP))
		return TC_ACT_OK;
	if (bpf_skb_load_bytes(skb, ETH_LEN, &ih, sizeof(ih)) ||
	    ih.protocol != IPPROTO_TCP || ih.ihl < 5 ||
	    (dir == TCF_OUT ? ih.daddr : ih.saddr) != f->daddr)
		return TC_ACT_OK;
	l4 = ETH_LEN + ih.ihl * 4;
	if (bpf_skb_load_bytes(skb, l4, &th, sizeof(th)) || th.doff < 5 ||
	    (dir == TCF_OUT ? th.dest : th.source) != f->dport)
		return TC_ACT_OK;
	seq = bpf_ntohl(th.seq);
	if (th.syn) {
		f->isn = seq;
		f->have_isn = 1;
		f->sent = 0;
		__sync_fetch_and_add(&f->syns, 1);
		return TC_ACT_OK;
	}
	data = l4 + th.doff * 4;
	/* The IP length, not skb->len: a short frame received has padding. */
	hdrs = ih.ihl * 4 + th.doff * 4;
	if (!f->have_isn || bpf_ntohs(ih.tot_len) <= hdrs)
		return TC_ACT_OK;
	plen = bpf_ntohs(ih.tot_len) - hdrs;
	rel = seq - f->isn - 1;
	end = rel + plen;
	is_new = (__s32)(end - f->sent) > 0;
	if (is_new) {
		f->sent = end;
		__sync_fetch_and_add(&f->packets, 1);
	} else {
		__sync_fetch_and_add(&f->retrans, 1);
	}

	switch (f->mode) {
	case TCF_DROP_NTH:
	case TCF_DELAY_NTH:
		hit = is_new && f->n && (f->packets + f->seed) % f->n == 0;
		if (hit && f->mode == TCF_DELAY_NTH)
			skb->tstamp = bpf_ktime_get_ns() +
				      (__u64)f->delay_us * 1000;
		break;
	case TCF_DROP_BURST: {
		__u64 from = f->first + (f->n ? f->seed % f->n : 0);

		hit = is_new && f->packets >= from && f->packets < from + f->n;
		break;
	}
	case TCF_DROP_HELLO:
		hit = rel < 8;
		break;
	case TCF_CORRUPT_AT:
		if (f->offset - rel < plen) {
			if (corrupt(skb, l4, data + (f->offset - rel), f->xor))
				return TC_ACT_OK;
			hit = 1;
		}
		break;
	}
	if (!hit)
		return TC_ACT_OK;
	__sync_fetch_and_add(&f->hits, 1);
	if (f->mode == TCF_DROP_NTH || f->mode == TCF_DROP_BURST ||
	    f->mode == TCF_DROP_HELLO)
		return TC_ACT_SHOT;
	return TC_ACT_OK;
}

SEC("tc")
int tcfault_egress(struct __sk_buff *skb)
{
	return tcfault(skb, TCF_OUT);
}

SEC("tc")
int tcfault_ingress(struct __sk_buff *skb)
{
	return tcfault(skb, TCF_IN);
}

char LICENSE[] SEC("license") = "GPL";
