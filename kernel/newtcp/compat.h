/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel API differences for NEW_TCP, 5.10 .. 7.x.
 *
 * Only what a supported kernel (5.10, 6.1, 6.12, 7.2) needs.  Kbuild
 * greps the headers for each change and passes NEWTCP_HAVE_* (stable and
 * distro backports make version numbers lie); each entry names its
 * upstream commit.  COMPAT.md has the table.
 */
#ifndef _NEWTCP_COMPAT_H
#define _NEWTCP_COMPAT_H

#include <linux/bottom_half.h>
#include <linux/net.h>
#include <linux/percpu.h>
#include <net/net_namespace.h>
#include <linux/module.h>
#include <linux/sock_diag.h>
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

/*
 * Address arguments of proto_ops->bind/connect.  6.19 made them
 * struct sockaddr_unsized *; before, struct sockaddr *.
 */
#ifdef NEWTCP_HAVE_SOCKADDR_UNSIZED
#define newtcp_uaddr_t		struct sockaddr_unsized
#else
#define newtcp_uaddr_t		struct sockaddr
#endif

/*
 * kernel_bind()/kernel_connect() follow proto_ops in 6.19 (0e50474fa514,
 * 85cb0757d7e1 "net: Convert proto_ops bind()/connect() callbacks to use
 * sockaddr_unsized"); kernel_getsockname()/getpeername() keep struct
 * sockaddr *.
 */
#ifdef NEWTCP_HAVE_KERNEL_BIND_UNSIZED
#define newtcp_kuaddr_t		struct sockaddr_unsized
#else
#define newtcp_kuaddr_t		struct sockaddr
#endif

static inline int newtcp_kernel_bind(struct socket *sock, void *addr, int len)
{
	return kernel_bind(sock, (newtcp_kuaddr_t *)addr, len);
}

static inline int newtcp_kernel_connect(struct socket *sock, void *addr,
					int len, int flags)
{
	return kernel_connect(sock, (newtcp_kuaddr_t *)addr, len, flags);
}

/*
 * proto_ops->accept: (flags, bool kern) until 6.9, struct
 * proto_accept_arg from 6.10 (92ef0fd55ac8 "net: change proto and
 * proto_ops accept type").  newtcp_accept() is written once against
 * these.
 */
#ifdef NEWTCP_HAVE_ACCEPT_ARG
/* checkpatch: a parameter list, which parentheses would break. */
#define NEWTCP_ACCEPT_ARGS	struct proto_accept_arg *arg
#define NEWTCP_ACCEPT_FLAGS	(arg->flags)
#define NEWTCP_ACCEPT_KERN	(arg->kern)
#else
#define NEWTCP_ACCEPT_ARGS	int flags, bool kern
#define NEWTCP_ACCEPT_FLAGS	(flags)
#define NEWTCP_ACCEPT_KERN	(kern)
#endif

/*
 * Per-netns socket count ("sockets: used" in /proc/net/sockstat):
 * sk_alloc() adds one and __sk_free() removes one for every socket with
 * sk_net_refcnt set, so an upgraded kernel socket must add its one.
 * sock_inuse_add() was static in net/core/sock.c until 5.17 (d477eb900484
 * "net: make sock_inuse_add() available", in stable 5.15 but not 5.10);
 * before, the counter was net->core.sock_inuse and MPTCP's 5.10 subflow
 * code open-codes the same this_cpu_add().
 */
static inline void newtcp_sock_inuse_add(struct net *net, int val)
{
#if defined(NEWTCP_HAVE_SOCK_INUSE_ADD)
	sock_inuse_add(net, val);
#elif defined(CONFIG_PROC_FS)
	this_cpu_add(*net->core.sock_inuse, val);
#endif
}

/*
 * A kernel socket does not hold its netns.  Ours live as long as the
 * user socket that owns them and TCP timers may outlive close(), so the
 * reference is upgraded as AF_SMC does.  6.15 (and stable) wrapped the
 * dance into sk_net_refcnt_upgrade(); get_net_track() is 5.17+.
 */
static inline void newtcp_net_refcnt_upgrade(struct sock *sk)
{
#if defined(NEWTCP_HAVE_REFCNT_UPGRADE)
	sk_net_refcnt_upgrade(sk);
#elif defined(NEWTCP_HAVE_NET_TRACK)
	sk->sk_net_refcnt = 1;
	get_net_track(sock_net(sk), &sk->ns_tracker, GFP_KERNEL);
	newtcp_sock_inuse_add(sock_net(sk), 1);
#else
	sk->sk_net_refcnt = 1;
	get_net(sock_net(sk));
	newtcp_sock_inuse_add(sock_net(sk), 1);
#endif
}

/*
 * The socket owner's uid for /proc/net/newtcp.  6.17 added the lockless
 * sk_uid() (e84a4927a404 "net: annotate races around sk->sk_uid") and
 * removed sock_i_uid() (c51da3f7a161 "net: remove sock_i_uid()").
 */
static inline kuid_t newtcp_sk_uid(struct sock *sk)
{
#ifdef NEWTCP_HAVE_SK_UID
	return sk_uid(sk);
#else
	return sock_i_uid(sk);
#endif
}

/*
 * proto_register() refuses a protocol with memory_allocated and no
 * per_cpu_fw_alloc since 6.0 (0defbb0af775 "net: add per_cpu_fw_alloc
 * field to struct proto"); it is allocated at module load.  (Our
 * orphans are the inner TCP sockets': proto->orphan_count, read by inet
 * code only, stays NULL.)
 */
static inline int newtcp_proto_counters_init(struct proto *prot)
{
#ifdef NEWTCP_HAVE_FW_ALLOC
	prot->per_cpu_fw_alloc = alloc_percpu(int);
	if (!prot->per_cpu_fw_alloc)
		return -ENOMEM;
#endif
	return 0;
}

static inline void newtcp_proto_counters_destroy(struct proto *prot)
{
#ifdef NEWTCP_HAVE_FW_ALLOC
	free_percpu(prot->per_cpu_fw_alloc);
	prot->per_cpu_fw_alloc = NULL;
#endif
}

/*
 * SOL_SOCKET options through our ->setsockopt, as MPTCP has them
 * (mptcp_setsockopt_sol_socket()), so that they reach the inner TCP
 * socket when they are set: the SOCK_CUSTOM_SOCKOPT socket flag, which
 * replaced 6.1's sock_use_custom_sol_socket() test for MPTCP alone (in
 * 6.12 and 7.2, not in 6.1).  Where the flag does not exist, the socket
 * core answers SOL_SOCKET alone and newtcp_sync_sockopts() copies the
 * options over at the next call on the socket (API.md, Policy).
 */
static inline void newtcp_custom_sol_socket(struct socket *sock)
{
#ifdef NEWTCP_HAVE_CUSTOM_SOCKOPT
	set_bit(SOCK_CUSTOM_SOCKOPT, &sock->flags);
#endif
}

/*
 * register_net_sysctl() takes a sentinel-terminated table up to 6.5;
 * 6.6 made it a macro over register_net_sysctl_sz(), which takes the
 * entry count (53f3811dfd5e "sysctl: Use ctl_table_size as stopping
 * criteria for list macro" and "sysctl: Add size to register_net_sysctl
 * function" in the same series), and 6.11 dropped the sentinels.  Our
 * table keeps a sentinel after @n entries and registers @n where the
 * count is taken, so it is right either way.
 */
static inline struct ctl_table_header *
newtcp_register_net_sysctl(struct net *net, const char *path,
			   struct ctl_table *table, size_t n)
{
#ifdef NEWTCP_HAVE_NET_SYSCTL_SZ
	return register_net_sysctl_sz(net, path, table, n);
#else
	return register_net_sysctl(net, path, table);
#endif
}

/*
 * sock_diag pins the module of a handler it calls through ->owner since
 * 6.9 (114b4bb1cc19 "sock_diag: add module pointer to "struct
 * sock_diag_handler"", in stable 6.1 too); before, sock_diag_unregister()
 * waited on the table mutex the call held.
 */
static inline void newtcp_diag_set_owner(struct sock_diag_handler *h)
{
#ifdef NEWTCP_HAVE_DIAG_OWNER
	h->owner = THIS_MODULE;
#endif
}

#endif /* _NEWTCP_COMPAT_H */
