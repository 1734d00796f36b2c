// SPDX-License-Identifier: GPL-2.0
/*
 * AF_INET_NEW_TCP: socket layer glue for the NEW_TCP protocol family.
 *
 * Follows the classic recipe: a struct proto registered with
 * proto_register(), a struct net_proto_family registered with
 * sock_register(), and a create routine that picks a struct proto_ops.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/net.h>
#include <linux/in.h>
#include <net/sock.h>

#include "include/uapi/linux/newtcp.h"
#include "newtcp.h"

/* A patched kernel owns a real number; otherwise borrow a free slot. */
#ifdef AF_INET_NEW_TCP
#define NEWTCP_DEFAULT_FAMILY	AF_INET_NEW_TCP
#else
#define NEWTCP_DEFAULT_FAMILY	NEWTCP_FAMILY_DEFAULT
#endif

static int newtcp_family = NEWTCP_DEFAULT_FAMILY;
module_param_named(family, newtcp_family, int, 0444);
MODULE_PARM_DESC(family,
		 "Address family number to register (default "
		 __stringify(NEWTCP_DEFAULT_FAMILY) ", must be free)");

static int newtcp_release(struct socket *sock)
{
	struct sock *sk = sock->sk;
	long timeout = 0;

	if (!sk)
		return 0;

	/* Same SO_LINGER rule as inet_release(). */
	if (sock_flag(sk, SOCK_LINGER) && !(current->flags & PF_EXITING))
		timeout = sk->sk_lingertime;

	sock->sk = NULL;
	sk->sk_prot->close(sk, timeout);
	return 0;
}

/*
 * Only creation and release work so far; every other operation fails
 * with -EOPNOTSUPP through the generic sock_no_*() helpers.  ->poll is
 * left unset, which the socket layer reports as "no events"; see
 * compat.h for ->sendpage.
 *
 * The tables cannot be const: .family is the load-time "family"
 * parameter.  They are filled in by newtcp_init() and become read-only
 * once the module is live.
 */
static struct proto_ops newtcp_stream_ops __ro_after_init = {
	.owner		= THIS_MODULE,
	.release	= newtcp_release,
	.bind		= sock_no_bind,
	.connect	= sock_no_connect,
	.socketpair	= sock_no_socketpair,
	.accept		= sock_no_accept,
	.getname	= sock_no_getname,
	.ioctl		= sock_no_ioctl,
	.listen		= sock_no_listen,
	.shutdown	= sock_no_shutdown,
	.sendmsg	= sock_no_sendmsg,
	.recvmsg	= sock_no_recvmsg,
	.mmap		= sock_no_mmap,
};

/* Record boundaries over TCP will differ from STREAM; same stubs today. */
static struct proto_ops newtcp_seqpacket_ops __ro_after_init = {
	.owner		= THIS_MODULE,
	.release	= newtcp_release,
	.bind		= sock_no_bind,
	.connect	= sock_no_connect,
	.socketpair	= sock_no_socketpair,
	.accept		= sock_no_accept,
	.getname	= sock_no_getname,
	.ioctl		= sock_no_ioctl,
	.listen		= sock_no_listen,
	.shutdown	= sock_no_shutdown,
	.sendmsg	= sock_no_sendmsg,
	.recvmsg	= sock_no_recvmsg,
	.mmap		= sock_no_mmap,
};

static int newtcp_create(struct net *net, struct socket *sock, int protocol,
			 int kern)
{
	const struct proto_ops *ops;
	struct sock *sk;
	int rc;

	switch (sock->type) {
	case SOCK_STREAM:
		ops = &newtcp_stream_ops;
		break;
	case SOCK_SEQPACKET:
		ops = &newtcp_seqpacket_ops;
		break;
	default:
		return -ESOCKTNOSUPPORT;
	}

	if (protocol != 0 && protocol != IPPROTO_TCP)
		return -EPROTONOSUPPORT;

	/*
	 * Any netns is fine.  As in inet_create(), a kernel socket must
	 * not pin its netns, so pass kern through to sk_alloc().
	 */
	sk = sk_alloc(net, newtcp_family, GFP_KERNEL, &newtcp_prot, kern);
	if (!sk)
		return -ENOMEM;

	sock->state = SS_UNCONNECTED;
	sock->ops = ops;
	sock_init_data(sock, sk);	/* also sets sk_type from sock->type */

	/* Protocol 0 means the default, TCP; SO_PROTOCOL reports that. */
	sk->sk_protocol = IPPROTO_TCP;

	rc = sk->sk_prot->init(sk);
	if (rc) {
		/* ->destroy() must not run for a half set up socket. */
		sock_orphan(sk);
		sock->sk = NULL;
		sock_put(sk);
		return rc;
	}
	return 0;
}

static struct net_proto_family newtcp_family_ops __ro_after_init = {
	.create	= newtcp_create,
	.owner	= THIS_MODULE,
};

static int __init newtcp_init(void)
{
	int rc;

	/* The uapi promise: usable wherever a sockaddr_in is. */
	BUILD_BUG_ON(sizeof(struct sockaddr_newtcp) !=
		     sizeof(struct sockaddr_in));

	if (newtcp_family <= 0 || newtcp_family >= NPROTO) {
		pr_err("family=%d is out of range, must be 1..%d\n",
		       newtcp_family, NPROTO - 1);
		return -EINVAL;
	}

	newtcp_stream_ops.family = newtcp_family;
	newtcp_seqpacket_ops.family = newtcp_family;
	newtcp_family_ops.family = newtcp_family;

	rc = newtcp_proto_register();
	if (rc) {
		pr_err("proto_register failed: %d\n", rc);
		return rc;
	}

	rc = sock_register(&newtcp_family_ops);
	if (rc) {
		if (rc == -EEXIST)
			pr_err("address family %d is already registered; load with family=<free slot>\n",
			       newtcp_family);
		else
			pr_err("sock_register(family=%d) failed: %d\n",
			       newtcp_family, rc);
		newtcp_proto_unregister();
		return rc;
	}

	pr_info("NEW_TCP registered as address family %d\n", newtcp_family);
	return 0;
}

static void __exit newtcp_exit(void)
{
	/* Sockets pin the module, so none exist by now. */
	sock_unregister(newtcp_family);
	newtcp_proto_unregister();
}

module_init(newtcp_init);
module_exit(newtcp_exit);

MODULE_DESCRIPTION("AF_INET_NEW_TCP protocol family");
MODULE_LICENSE("GPL");
