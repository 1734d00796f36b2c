/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel API differences for NEW_TCP, 5.10 .. 7.x.
 *
 * Everything that changed between the kernels we target goes through
 * here so that the protocol code stays version free.  Where a change can
 * be seen in the headers, Kbuild greps for it and passes NEWTCP_HAVE_*
 * (stable and distro backports make version numbers lie: Debian's
 * 6.1.192 has MSG_SPLICE_PAGES but still has ->sendpage).  COMPAT.md
 * explains each entry and what a 2.6.24 back end would need.
 *
 * The protocol code writes one implementation per operation with plain
 * arguments (flags, kern, noblock as needed) and lets the
 * NEWTCP_DEFINE_* macros below emit the entry point with the signature
 * the kernel at hand expects.
 */
#ifndef _NEWTCP_COMPAT_H
#define _NEWTCP_COMPAT_H

#include <linux/bottom_half.h>
#include <linux/net.h>
#include <linux/percpu.h>
#include <linux/percpu_counter.h>
#include <linux/slab.h>
#include <net/net_namespace.h>
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
#define NEWTCP_SA(p)		((struct sockaddr *)(p))
#define NEWTCP_UA(p)		((newtcp_uaddr_t *)(p))

/*
 * Address arguments of proto->bind/connect/pre_connect: struct
 * sockaddr_unsized * since 6.19 (449f68f8fffa "net: Convert proto
 * callbacks from sockaddr to sockaddr_unsized"), a separate commit from
 * the proto_ops one above, so probed separately.
 */
#ifdef NEWTCP_HAVE_PROTO_SOCKADDR_UNSIZED
#define newtcp_puaddr_t		struct sockaddr_unsized
#else
#define newtcp_puaddr_t		struct sockaddr
#endif
#define NEWTCP_PUA(p)		((newtcp_puaddr_t *)(p))

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
 * proto_ops->accept and proto->accept: (flags, bool kern) until 6.9,
 * struct proto_accept_arg from 6.10 (92ef0fd55ac8).  The 6.10 form also
 * carries the error back in arg->err; we set it for the proto variant.
 */
#ifdef NEWTCP_HAVE_ACCEPT_ARG
#define NEWTCP_DEFINE_OPS_ACCEPT(name, impl)				\
static int name(struct socket *sock, struct socket *newsock,		\
		struct proto_accept_arg *arg)				\
{									\
	return impl(sock, newsock, arg->flags, arg->kern);		\
}
#define NEWTCP_DEFINE_PROTO_ACCEPT(name, impl)				\
static struct sock *name(struct sock *sk, struct proto_accept_arg *arg)	\
{									\
	return impl(sk, arg->flags, &arg->err, arg->kern);		\
}
static inline struct sock *newtcp_call_prot_accept(struct sock *sk, int flags,
						   int *err, bool kern)
{
	struct proto_accept_arg arg = { .flags = flags, .kern = kern };
	struct sock *newsk = sk->sk_prot->accept(sk, &arg);

	*err = arg.err;
	return newsk;
}
#else
#define NEWTCP_DEFINE_OPS_ACCEPT(name, impl)				\
static int name(struct socket *sock, struct socket *newsock, int flags,	\
		bool kern)						\
{									\
	return impl(sock, newsock, flags, kern);			\
}
#define NEWTCP_DEFINE_PROTO_ACCEPT(name, impl)				\
static struct sock *name(struct sock *sk, int flags, int *err, bool kern) \
{									\
	return impl(sk, flags, err, kern);				\
}
static inline struct sock *newtcp_call_prot_accept(struct sock *sk, int flags,
						   int *err, bool kern)
{
	return sk->sk_prot->accept(sk, flags, err, kern);
}
#endif

/*
 * proto->recvmsg lost its noblock argument in 5.19 (ec095263a965);
 * MSG_DONTWAIT in flags says the same thing.  It lost its addr_len
 * argument in 7.x (8341c989ac77 "net: remove addr_len argument of
 * recvmsg() handlers", present in 7.2): ->getname reports the peer,
 * never recvmsg, for a connected protocol like ours.
 */
#if defined(NEWTCP_HAVE_RECVMSG_NOBLOCK)
#define NEWTCP_DEFINE_PROTO_RECVMSG(name, impl)				\
static int name(struct sock *sk, struct msghdr *msg, size_t len,	\
		int noblock, int flags, int *addr_len)			\
{									\
	return impl(sk, msg, len, flags | (noblock ? MSG_DONTWAIT : 0)); \
}
static inline int newtcp_call_prot_recvmsg(struct sock *sk,
					   struct msghdr *msg, size_t len,
					   int flags)
{
	int addr_len = 0;

	return sk->sk_prot->recvmsg(sk, msg, len, flags & MSG_DONTWAIT,
				    flags & ~MSG_DONTWAIT, &addr_len);
}
#elif defined(NEWTCP_HAVE_RECVMSG_ADDR_LEN)
#define NEWTCP_DEFINE_PROTO_RECVMSG(name, impl)				\
static int name(struct sock *sk, struct msghdr *msg, size_t len,	\
		int flags, int *addr_len)				\
{									\
	return impl(sk, msg, len, flags);				\
}
static inline int newtcp_call_prot_recvmsg(struct sock *sk,
					   struct msghdr *msg, size_t len,
					   int flags)
{
	int addr_len = 0;

	return sk->sk_prot->recvmsg(sk, msg, len, flags, &addr_len);
}
#else
#define NEWTCP_DEFINE_PROTO_RECVMSG(name, impl)				\
static int name(struct sock *sk, struct msghdr *msg, size_t len,	\
		int flags)						\
{									\
	return impl(sk, msg, len, flags);				\
}
static inline int newtcp_call_prot_recvmsg(struct sock *sk,
					   struct msghdr *msg, size_t len,
					   int flags)
{
	return sk->sk_prot->recvmsg(sk, msg, len, flags);
}
#endif

/*
 * proto->ioctl: until 6.4 it took the user pointer and did its own
 * put_user(); from 6.5 (e1d001fa5b47) it fills an int in kernel memory
 * and sk_ioctl() copies it out.  impl() computes the int either way.
 */
#ifdef NEWTCP_HAVE_IOCTL_KARG
#define NEWTCP_DEFINE_PROTO_IOCTL(name, impl)				\
static int name(struct sock *sk, int cmd, int *karg)			\
{									\
	return impl(sk, cmd, karg);					\
}
static inline int newtcp_call_prot_ioctl(struct sock *sk, unsigned int cmd,
					 unsigned long arg)
{
	return sk_ioctl(sk, cmd, (void __user *)arg);
}
#else
#define NEWTCP_DEFINE_PROTO_IOCTL(name, impl)				\
static int name(struct sock *sk, int cmd, unsigned long arg)		\
{									\
	int karg = 0, rc = impl(sk, cmd, &karg);			\
									\
	return rc ? rc : put_user(karg, (int __user *)arg);		\
}
static inline int newtcp_call_prot_ioctl(struct sock *sk, unsigned int cmd,
					 unsigned long arg)
{
	return sk->sk_prot->ioctl(sk, cmd, arg);
}
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
 * Accounting counters of struct proto that changed shape.  They are
 * allocated at module load and hung on newtcp_prot before
 * proto_register().  Orphans are the inner TCP sockets' business, so
 * our orphan counter only ever reads 0.
 *
 * per_cpu_fw_alloc: 6.0, 0defbb0af775 "net: add per_cpu_fw_alloc field
 * to struct proto".
 * orphan_count: a percpu_counter until 5.16 (19757cebf0c5 "tcp: switch
 * orphan_count to bare per-cpu counters", in Debian's 5.10 too), a bare
 * per-CPU int after, and gone in 6.18 ("tcp: Remove
 * sk->sk_prot->orphan_count.": only TCP used it, through tcp_orphan_count).
 */
static inline int newtcp_proto_counters_init(struct proto *prot)
{
#ifdef NEWTCP_HAVE_FW_ALLOC
	prot->per_cpu_fw_alloc = alloc_percpu(int);
	if (!prot->per_cpu_fw_alloc)
		return -ENOMEM;
#endif
#if defined(NEWTCP_HAVE_PROTO_ORPHANS) && defined(NEWTCP_HAVE_PCPU_ORPHANS)
	prot->orphan_count = alloc_percpu(unsigned int);
	if (!prot->orphan_count)
		goto err;
#elif defined(NEWTCP_HAVE_PROTO_ORPHANS)
	prot->orphan_count = kzalloc(sizeof(*prot->orphan_count), GFP_KERNEL);
	if (!prot->orphan_count)
		goto err;
	if (percpu_counter_init(prot->orphan_count, 0, GFP_KERNEL)) {
		kfree(prot->orphan_count);
		prot->orphan_count = NULL;
		goto err;
	}
#endif
	return 0;
#ifdef NEWTCP_HAVE_PROTO_ORPHANS
err:
#ifdef NEWTCP_HAVE_FW_ALLOC
	free_percpu(prot->per_cpu_fw_alloc);
	prot->per_cpu_fw_alloc = NULL;
#endif
	return -ENOMEM;
#endif
}

static inline void newtcp_proto_counters_destroy(struct proto *prot)
{
#if defined(NEWTCP_HAVE_PROTO_ORPHANS) && defined(NEWTCP_HAVE_PCPU_ORPHANS)
	free_percpu(prot->orphan_count);
	prot->orphan_count = NULL;
#elif defined(NEWTCP_HAVE_PROTO_ORPHANS)
	percpu_counter_destroy(prot->orphan_count);
	kfree(prot->orphan_count);
	prot->orphan_count = NULL;
#endif
#ifdef NEWTCP_HAVE_FW_ALLOC
	free_percpu(prot->per_cpu_fw_alloc);
	prot->per_cpu_fw_alloc = NULL;
#endif
}

/*
 * SOL_SOCKET options through our ->setsockopt, as MPTCP has them
 * (mptcp_setsockopt_sol_socket()), so that they reach the inner TCP
 * socket when they are set.  Where the flag does not exist, the socket
 * core answers SOL_SOCKET alone and newtcp_sync_sockopts() copies the
 * options over at the next call on the socket (PROTOCOL.md, Policy).
 */
static inline void newtcp_custom_sol_socket(struct socket *sock)
{
#ifdef NEWTCP_HAVE_CUSTOM_SOCKOPT
	set_bit(SOCK_CUSTOM_SOCKOPT, &sock->flags);
#endif
}

#endif /* _NEWTCP_COMPAT_H */
