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
#include <linux/ioctl.h>
#include <linux/termios.h>
#include <linux/sockios.h>
#include <net/sock.h>
#include <net/tcp_states.h>

#include "include/uapi/linux/newtcp.h"
#include "newtcp.h"

/* A patched kernel owns a real number; otherwise borrow a free slot. */
#ifdef AF_INET_NEW_TCP
#define NEWTCP_DEFAULT_FAMILY	AF_INET_NEW_TCP
#else
#define NEWTCP_DEFAULT_FAMILY	NEWTCP_FAMILY_DEFAULT
#endif

int newtcp_family = NEWTCP_DEFAULT_FAMILY;
module_param_named(family, newtcp_family, int, 0444);

/* The kernel's own AF_INET_NEW_TCP (0: none, family= borrows a slot). */
#ifdef AF_INET_NEW_TCP
static int newtcp_kernel_family = AF_INET_NEW_TCP;
#else
static int newtcp_kernel_family;
#endif
module_param_named(kernel_family, newtcp_kernel_family, int, 0444);
MODULE_PARM_DESC(kernel_family,
		 "AF_INET_NEW_TCP of the kernel built against (read-only; 0: none, so family= is used)");
MODULE_PARM_DESC(family,
		 "Address family number to register (default "
		 __stringify(NEWTCP_DEFAULT_FAMILY) ", must be free)");

unsigned int newtcp_handshake_ms = 2000;
module_param_named(handshake_ms, newtcp_handshake_ms, uint, 0644);
MODULE_PARM_DESC(handshake_ms,
		 "How long either side waits for the peer's hello (ms)");

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

static int newtcp_bind_impl(struct socket *sock, struct sockaddr *uaddr,
			    int addr_len)
{
	return sock->sk->sk_prot->bind(sock->sk, NEWTCP_PUA(uaddr), addr_len);
}

static int newtcp_ops_bind(struct socket *sock, newtcp_uaddr_t *uaddr,
			   int addr_len)
{
	return newtcp_bind_impl(sock, NEWTCP_SA(uaddr), addr_len);
}

/*
 * inet_stream_connect() disconnects a TCP socket whose connect failed
 * (tcp_disconnect(): source address and port released unless bound,
 * shutdown bits cleared, socket state SS_UNCONNECTED), so that it can
 * connect or listen again.  Do the same to the inner socket and to ours.
 */
static void newtcp_connect_failed(struct socket *sock)
{
	struct sock *sk = sock->sk;
	struct socket *tcp = newtcp_sk(sk)->tcp;

	sock->state = SS_UNCONNECTED;
	WRITE_ONCE(sk->sk_shutdown, 0);
	if (tcp->sk->sk_state == TCP_CLOSE)
		newtcp_inner_disconnect(tcp);
}

/* inet_stream_connect()'s state machine over newtcp_prot.connect. */
static int newtcp_connect_impl(struct socket *sock, struct sockaddr *uaddr,
			       int addr_len, int flags)
{
	struct sock *sk = sock->sk;
	long timeo;
	int err, rc;

	lock_sock(sk);
	if (addr_len >= (int)sizeof(uaddr->sa_family) &&
	    uaddr->sa_family == AF_UNSPEC) {
		err = sk->sk_prot->disconnect(sk, flags);
		if (err != -EOPNOTSUPP)
			sock->state = err ? SS_DISCONNECTING : SS_UNCONNECTED;
		goto out;
	}

	switch (sock->state) {
	case SS_CONNECTED:
		err = -EISCONN;
		goto out;
	case SS_CONNECTING:
		err = -EALREADY;
		if (sk->sk_state == TCP_SYN_SENT && (flags & O_NONBLOCK))
			goto out;
		break;
	case SS_UNCONNECTED:
		err = -EISCONN;
		if (sk->sk_state != TCP_CLOSE)
			goto out;
		err = sk->sk_prot->connect(sk, NEWTCP_PUA(uaddr), addr_len);
		if (err < 0)
			goto out;
		sock->state = SS_CONNECTING;
		err = -EINPROGRESS;
		break;
	default:
		err = -EINVAL;
		goto out;
	}

	/*
	 * As TCP: a wait that times out answers EINPROGRESS for the call
	 * that started the connect, EALREADY for a later one.
	 */
	timeo = sock_sndtimeo(sk, flags & O_NONBLOCK);
	if (sk->sk_state == TCP_SYN_SENT) {
		rc = newtcp_wait_handshake(sk, &timeo);
		if (rc) {
			if (rc != -EAGAIN)
				err = rc;
			goto out;
		}
	}
	if (sk->sk_state != TCP_ESTABLISHED) {
		err = sock_error(sk) ? : -ECONNABORTED;
		newtcp_connect_failed(sock);
		goto out;
	}
	sock->state = SS_CONNECTED;
	err = 0;
out:
	release_sock(sk);
	return err;
}

static int newtcp_ops_connect(struct socket *sock, newtcp_uaddr_t *uaddr,
			      int addr_len, int flags)
{
	return newtcp_connect_impl(sock, NEWTCP_SA(uaddr), addr_len, flags);
}

static int newtcp_listen(struct socket *sock, int backlog)
{
	if (sock->state != SS_UNCONNECTED)
		return -EINVAL;
	return newtcp_listen_sk(sock->sk, backlog);
}

/* inet_accept(): the protocol hands over a connected sock, we graft it. */
static int newtcp_accept_glue(struct socket *sock, struct socket *newsock,
			      int flags, bool kern)
{
	struct sock *newsk;
	int err;

	newsk = newtcp_call_prot_accept(sock->sk, flags, &err, kern);
	if (!newsk)
		return err;
	lock_sock(newsk);
	sock_graft(newsk, newsock);
	newsock->state = SS_CONNECTED;
	newtcp_custom_sol_socket(newsock);
	/* Now that it has a file: the inner socket's owner (proto.c). */
	newtcp_adopt_owner(newsk);
	release_sock(newsk);
	return 0;
}
NEWTCP_DEFINE_OPS_ACCEPT(newtcp_ops_accept, newtcp_accept_glue)

static int newtcp_getname(struct socket *sock, struct sockaddr *uaddr,
			  int peer)
{
	return newtcp_getname_sk(sock->sk, uaddr, peer);
}

static __poll_t newtcp_poll(struct file *file, struct socket *sock,
			    poll_table *wait)
{
	sock_poll_wait(file, sock, wait);
	return newtcp_poll_mask(file, sock);
}

static int newtcp_ioctl(struct socket *sock, unsigned int cmd,
			unsigned long arg)
{
	switch (cmd) {
	case SIOCATMARK:
		/* Urgent data exists on STREAM only (the inner TCP's). */
		if (sock->type != SOCK_STREAM)
			return -ENOIOCTLCMD;
		fallthrough;
	case SIOCINQ:
	case SIOCOUTQ:
	case SIOCOUTQNSD:
		return newtcp_call_prot_ioctl(sock->sk, cmd, arg);
	default:
		return -ENOIOCTLCMD;
	}
}

/*
 * inet_shutdown() over the outer state; on a session the inner TCP
 * socket's own inet_shutdown() answers (ENOTCONN once it was reset).
 */
static int newtcp_ops_shutdown(struct socket *sock, int how)
{
	struct sock *sk = sock->sk;
	int err = 0;

	how++;	/* SHUT_RD..SHUT_RDWR to RCV_SHUTDOWN..SHUTDOWN_MASK */
	if ((how & ~SHUTDOWN_MASK) || !how)
		return -EINVAL;

	lock_sock(sk);
	switch (sk->sk_state) {
	case TCP_LISTEN:
		/* TCP: SHUT_WR leaves a listener alone, SHUT_RD stops it. */
		if (!(how & RCV_SHUTDOWN))
			break;
		fallthrough;
	case TCP_SYN_SENT:
		/* TCP disconnects: no shutdown bits, socket reusable. */
		err = newtcp_shutdown_disconnect(sk);
		sock->state = err ? SS_DISCONNECTING : SS_UNCONNECTED;
		break;
	case TCP_ESTABLISHED:
		err = newtcp_shutdown_session(sk, how);
		break;
	default:
		/* ENOTCONN, and yet the bits are set, as inet_shutdown(). */
		err = -ENOTCONN;
		WRITE_ONCE(sk->sk_shutdown, sk->sk_shutdown | how);
		sk->sk_state_change(sk);
		break;
	}
	release_sock(sk);
	return err;
}

static int newtcp_ops_sendmsg(struct socket *sock, struct msghdr *msg,
			      size_t len)
{
	return sock->sk->sk_prot->sendmsg(sock->sk, msg, len);
}

static int newtcp_ops_recvmsg(struct socket *sock, struct msghdr *msg,
			      size_t len, int flags)
{
	return newtcp_call_prot_recvmsg(sock->sk, msg, len, flags);
}

/*
 * The tables cannot be const: .family is the load-time "family"
 * parameter.  They are filled in by newtcp_init() and become read-only
 * once the module is live.  STREAM and SEQPACKET share the glue; the
 * protocol tells them apart by sk_type.
 */
#define NEWTCP_OPS							\
	.owner		= THIS_MODULE,					\
	.release	= newtcp_release,				\
	.bind		= newtcp_ops_bind,				\
	.connect	= newtcp_ops_connect,				\
	.socketpair	= sock_no_socketpair,				\
	.accept		= newtcp_ops_accept,				\
	.getname	= newtcp_getname,				\
	.poll		= newtcp_poll,					\
	.ioctl		= newtcp_ioctl,					\
	.gettstamp	= sock_gettstamp,				\
	.listen		= newtcp_listen,				\
	.shutdown	= newtcp_ops_shutdown,				\
	.setsockopt	= sock_common_setsockopt,			\
	.getsockopt	= sock_common_getsockopt,			\
	.sendmsg	= newtcp_ops_sendmsg,				\
	.recvmsg	= newtcp_ops_recvmsg,				\
	.mmap		= sock_no_mmap

/* SEQPACKET reads whole records: SO_RCVLOWAT is only stored, as on AF_UNIX. */
static struct proto_ops newtcp_stream_ops __ro_after_init = {
	NEWTCP_OPS,
	.set_rcvlowat	= newtcp_set_rcvlowat,
};

static struct proto_ops newtcp_seqpacket_ops __ro_after_init = {
	NEWTCP_OPS,
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
	sk = newtcp_sk_alloc(net, kern);
	if (!sk)
		return -ENOMEM;

	sock->state = SS_UNCONNECTED;
	sock->ops = ops;
	sock_init_data(sock, sk);	/* also sets sk_type from sock->type */
	newtcp_custom_sol_socket(sock);

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

#ifdef AF_INET_NEW_TCP
	if (newtcp_family != AF_INET_NEW_TCP)
		pr_info("kernel defines AF_INET_NEW_TCP=%d, ignoring family=%d\n",
			AF_INET_NEW_TCP, newtcp_family);
	newtcp_family = AF_INET_NEW_TCP;
#endif
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

	rc = newtcp_proc_init();
	if (rc) {
		newtcp_proto_unregister();
		return rc;
	}

	rc = sock_register(&newtcp_family_ops);
	if (rc) {
		/*
		 * A taken slot is EBUSY: EEXIST from finit_module() means
		 * "already loaded", which modprobe reports as success, and
		 * since 743f8cae549a the loader rewrites it to EBUSY anyway.
		 */
		if (rc == -EEXIST) {
			pr_err("address family %d is already registered; load with family=<free slot>\n",
			       newtcp_family);
			rc = -EBUSY;
		} else {
			pr_err("sock_register(family=%d) failed: %d\n",
			       newtcp_family, rc);
		}
		newtcp_proc_exit();
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
	newtcp_proc_exit();
	newtcp_proto_unregister();
}

module_init(newtcp_init);
module_exit(newtcp_exit);

MODULE_DESCRIPTION("AF_INET_NEW_TCP protocol family");
MODULE_LICENSE("GPL");
