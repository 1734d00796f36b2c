/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel API differences for NEW_TCP.  Everything that changed between
 * the kernels we target (5.10 .. 7.x) goes through here so the protocol
 * code itself stays version free.
 *
 * Deliberately not used yet: proto_ops->sendpage (gone in 6.5) is left
 * unset, kernel_sendpage() then falls back to sock_no_sendpage() on the
 * kernels that still have it.  Known to come with the full protocol:
 * proto_ops->accept (struct proto_accept_arg, 6.10) and proto->ioctl
 * (int *karg, 6.4).
 */
#ifndef _NEWTCP_COMPAT_H
#define _NEWTCP_COMPAT_H

#include <linux/bottom_half.h>
#include <net/sock.h>

/*
 * Before 5.17 sock_prot_inuse_add() used __this_cpu_add() and relied on
 * its caller running with BHs off; harmless on later kernels.
 */
static inline void newtcp_prot_inuse_add(struct net *net, struct proto *prot,
					 int val)
{
	local_bh_disable();
	sock_prot_inuse_add(net, prot, val);
	local_bh_enable();
}

#endif /* _NEWTCP_COMPAT_H */
