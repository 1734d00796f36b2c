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
 * MSG_DONTWAIT in flags says the same thing.
 */
#ifdef NEWTCP_HAVE_RECVMSG_NOBLOCK
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
#else
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
	sock_inuse_add(sock_net(sk), 1);
#else
	sk->sk_net_refcnt = 1;
	get_net(sock_net(sk));
	sock_inuse_add(sock_net(sk), 1);
#endif
}

#endif /* _NEWTCP_COMPAT_H */
