// SPDX-License-Identifier: GPL-2.0
/*
 * NEW_TCP socket options.  SOL_NEWTCP is ours; SOL_TCP passes an
 * allow-list to the inner TCP socket; SOL_IP and other levels are the
 * inner socket's.  SOL_SOCKET options are the socket core's on our
 * socket, and what they mean for the connection is copied onto the
 * inner socket: when they are set where the kernel lets us see that
 * (SOCK_CUSTOM_SOCKOPT, proto->keepalive, proto->rehash), else at the
 * next call on the socket (newtcp_sync_sockopts()).
 */

#include <linux/sockptr.h>
#include <linux/tcp.h>
#include <linux/uaccess.h>
#include <net/inet_connection_sock.h>
#include <net/sock.h>
#include <net/tcp.h>

#include "newtcp.h"

/*
 * The inner TCP socket is what the policy hooks see (netfilter's owner
 * and mark matches, cgroup BPF, routing by device and mark), so it
 * carries the NEW_TCP socket's identity, as an MPTCP subflow carries
 * its MPTCP socket's (net/mptcp/subflow.c):
 *
 * - the owner: xt_owner and nft "meta skuid/skgid" read
 *   sk->sk_socket->file->f_cred, and a kernel-made struct socket has no
 *   file; the inner one points at the outer socket's file (which
 *   outlives it: cleared again before sock_release(), see
 *   newtcp_release()).  sk_uid (uid routing, bpf_get_socket_uid)
 *   and the inode's uid/gid (sock_i_uid, /proc/net/tcp) are copied too;
 * - the bound device, now (proto->rehash runs inside SO_BINDTODEVICE)
 *   and at every sync point.
 *
 * The outer socket gets its file only after create (sock_map_fd()) or,
 * accepted, in accept() (sock_graft()): this runs from every sync point
 * and from accept().
 */
void newtcp_inherit_owner(struct sock *sk)
{
	struct socket *sock = sk->sk_socket, *tcp = newtcp_sk(sk)->tcp;

	if (!tcp || !sock || !sock->file || READ_ONCE(tcp->file) == sock->file)
		return;
	SOCK_INODE(tcp)->i_uid = SOCK_INODE(sock)->i_uid;
	SOCK_INODE(tcp)->i_gid = SOCK_INODE(sock)->i_gid;
	WRITE_ONCE(tcp->sk->sk_uid, sk->sk_uid);
	WRITE_ONCE(tcp->file, sock->file);
}

static void newtcp_sync_bound_dev(struct sock *sk)
{
	struct sock *isk = newtcp_sk(sk)->tcp->sk;
	int dev = READ_ONCE(sk->sk_bound_dev_if);

	if (READ_ONCE(isk->sk_bound_dev_if) == dev)
		return;
	lock_sock(isk);
	WRITE_ONCE(isk->sk_bound_dev_if, dev);
	sk_dst_reset(isk);
	release_sock(isk);
}

/* proto->rehash: sock_bindtoindex() calls it with our socket locked. */
void newtcp_rehash(struct sock *sk)
{
	if (newtcp_sk(sk)->tcp)
		newtcp_sync_bound_dev(sk);
}

/* proto->keepalive: SO_KEEPALIVE, our socket locked, before the flag. */
void newtcp_keepalive(struct sock *sk, int val)
{
	struct newtcp_sock *nsk = newtcp_sk(sk);
	struct sock *isk;

	if (!nsk->tcp)
		return;
	isk = nsk->tcp->sk;
	lock_sock(isk);
	if (isk->sk_prot->keepalive)
		isk->sk_prot->keepalive(isk, val);
	sock_valbool_flag(isk, SOCK_KEEPOPEN, val);
	release_sock(isk);
}

/* SO_RCVLOWAT reaches a STREAM socket's inner socket once connected. */
static bool newtcp_rcvlowat_due(const struct sock *sk, const struct sock *isk)
{
	return sk->sk_type == SOCK_STREAM &&
	       READ_ONCE(sk->sk_state) == TCP_ESTABLISHED &&
	       READ_ONCE(isk->sk_rcvlowat) != READ_ONCE(sk->sk_rcvlowat);
}

/* Whether a SOL_SOCKET value of @sk is not yet the inner socket's. */
static bool newtcp_sockopts_differ(const struct sock *sk,
				   const struct sock *isk)
{
	return READ_ONCE(isk->sk_rcvtimeo) != READ_ONCE(sk->sk_rcvtimeo) ||
	       READ_ONCE(isk->sk_sndtimeo) != READ_ONCE(sk->sk_sndtimeo) ||
	       isk->sk_reuse != sk->sk_reuse ||
	       isk->sk_reuseport != sk->sk_reuseport ||
	       READ_ONCE(isk->sk_priority) != READ_ONCE(sk->sk_priority) ||
	       READ_ONCE(isk->sk_mark) != READ_ONCE(sk->sk_mark) ||
	       READ_ONCE(isk->sk_lingertime) != READ_ONCE(sk->sk_lingertime) ||
	       sock_flag(isk, SOCK_LINGER) != sock_flag(sk, SOCK_LINGER) ||
	       sock_flag(isk, SOCK_KEEPOPEN) != sock_flag(sk, SOCK_KEEPOPEN) ||
	       sock_flag(isk, SOCK_URGINLINE) != sock_flag(sk, SOCK_URGINLINE) ||
	       ((sk->sk_userlocks & SOCK_SNDBUF_LOCK) &&
		READ_ONCE(isk->sk_sndbuf) != READ_ONCE(sk->sk_sndbuf)) ||
	       ((sk->sk_userlocks & SOCK_RCVBUF_LOCK) &&
		READ_ONCE(isk->sk_rcvbuf) != READ_ONCE(sk->sk_rcvbuf)) ||
	       newtcp_rcvlowat_due(sk, isk);
}

/*
 * Copy what the SOL_SOCKET options set on our socket mean for the
 * connection onto the inner TCP socket, under the inner socket's lock
 * as mptcp_setsockopt_sol_socket() writes its subflows.  Runs when an
 * option is set where the kernel hands it to us (SOCK_CUSTOM_SOCKOPT,
 * proto->keepalive, proto->rehash, ->set_rcvlowat) and whenever the
 * inner socket is about to be used (bind, listen, connect, accept,
 * send, receive, release), which covers a kernel that does not.  A
 * lockless look first: nothing changed is the common case.
 */
void newtcp_sync_sockopts(struct sock *sk)
{
	struct newtcp_sock *nsk = newtcp_sk(sk);
	struct sock *isk;
	bool ka;

	if (!nsk->tcp)
		return;
	isk = nsk->tcp->sk;

	newtcp_inherit_owner(sk);
	newtcp_sync_bound_dev(sk);
	if (!newtcp_sockopts_differ(sk, isk))
		return;

	lock_sock(isk);
	WRITE_ONCE(isk->sk_rcvtimeo, READ_ONCE(sk->sk_rcvtimeo));
	WRITE_ONCE(isk->sk_sndtimeo, READ_ONCE(sk->sk_sndtimeo));
	isk->sk_reuse = sk->sk_reuse;
	isk->sk_reuseport = sk->sk_reuseport;
	if (isk->sk_priority != sk->sk_priority)
		WRITE_ONCE(isk->sk_priority, sk->sk_priority);
	if (isk->sk_mark != sk->sk_mark) {
		WRITE_ONCE(isk->sk_mark, sk->sk_mark);
		sk_dst_reset(isk);
	}
	WRITE_ONCE(isk->sk_lingertime, READ_ONCE(sk->sk_lingertime));
	sock_valbool_flag(isk, SOCK_LINGER, sock_flag(sk, SOCK_LINGER));
	/* TCP takes the urgent byte out of the stream unless this is set. */
	sock_valbool_flag(isk, SOCK_URGINLINE, sock_flag(sk, SOCK_URGINLINE));

	ka = sock_flag(sk, SOCK_KEEPOPEN);
	if (ka != sock_flag(isk, SOCK_KEEPOPEN)) {
		if (isk->sk_prot->keepalive)
			isk->sk_prot->keepalive(isk, ka);
		sock_valbool_flag(isk, SOCK_KEEPOPEN, ka);
	}
	if ((sk->sk_userlocks & SOCK_SNDBUF_LOCK) &&
	    isk->sk_sndbuf != sk->sk_sndbuf) {
		isk->sk_userlocks |= SOCK_SNDBUF_LOCK;
		WRITE_ONCE(isk->sk_sndbuf, sk->sk_sndbuf);
		isk->sk_write_space(isk);
	}
	if (sk->sk_userlocks & SOCK_RCVBUF_LOCK) {
		isk->sk_userlocks |= SOCK_RCVBUF_LOCK;
		WRITE_ONCE(isk->sk_rcvbuf, sk->sk_rcvbuf);
	}

	/*
	 * SO_RCVLOWAT holds back the inner socket's reads, poll mask and
	 * wakeups, so a STREAM socket's reaches it once connected; before,
	 * it would stall the handshake's reads.
	 */
	if (newtcp_rcvlowat_due(sk, isk)) {
		if (nsk->tcp->ops->set_rcvlowat)
			nsk->tcp->ops->set_rcvlowat(isk,
						    READ_ONCE(sk->sk_rcvlowat));
		else
			WRITE_ONCE(isk->sk_rcvlowat, READ_ONCE(sk->sk_rcvlowat));
	}
	release_sock(isk);
}

/*
 * SO_RCVLOWAT on a STREAM socket (sock_setsockopt() already made a
 * negative value INT_MAX), capped as tcp_set_rcvlowat() caps it: at
 * half the receive buffer TCP may grow to, so the mark can be reached.
 * Called with the socket locked.
 */
int newtcp_set_rcvlowat(struct sock *sk, int val)
{
	int cap;

	if (sk->sk_userlocks & SOCK_RCVBUF_LOCK)
		cap = sk->sk_rcvbuf >> 1;
	else
		cap = READ_ONCE(sock_net(sk)->ipv4.sysctl_tcp_rmem[2]) >> 1;
	WRITE_ONCE(sk->sk_rcvlowat, min(val, cap) ? : 1);
	newtcp_sync_sockopts(sk);
	return 0;
}

int newtcp_apply_nodelay(struct newtcp_sock *nsk)
{
	int val = nsk->nodelay;

	return nsk->tcp->ops->setsockopt(nsk->tcp, SOL_TCP, TCP_NODELAY,
					 KERNEL_SOCKPTR(&val), sizeof(val));
}

/*
 * The inner TCP socket's option handlers answer SOL_TCP, SOL_IP and the
 * other levels for us, and their answer goes to user space as is --
 * except -ENOTSUPP, which is kernel-internal (524, not in <errno.h>) and
 * can come from option code that is not ours (a ULP on the inner
 * socket).  SOL_SOCKET never gets here: sock_setsockopt() answers it on
 * our own socket, so its ENOTSUPP for SO_ZEROCOPY on 5.10 (every family
 * but inet and RDS, AF_UNIX too, until 869420a8be19 in 5.18) is out of
 * any protocol's reach.  See COMPAT.md.
 */
static int newtcp_inner_err(int err)
{
	return err == -ENOTSUPP ? -EOPNOTSUPP : err;
}

/*
 * SOL_TCP options that may reach the inner socket: they tune the TCP
 * connection and leave its callbacks, its protocol and its byte stream
 * to us.  Refused with EOPNOTSUPP: TCP_ULP (a ULP such as kTLS replaces
 * the inner socket's sk_prot and, keyed, its data_ready and write_space
 * callbacks, and would cipher the bytes under our framing), TCP_REPAIR
 * and its companions (they rewrite sequence numbers and state under the
 * handshake), TCP_FASTOPEN* (connect and accept semantics change under
 * us), TCP_INQ (its cmsg counts inner bytes, not records) and
 * TCP_ZEROCOPY_RECEIVE (it maps or copies the inner receive queue past
 * the framing).  Any other name: ENOPROTOOPT, as TCP answers names it
 * does not know.
 */
static int newtcp_tcp_opt_allowed(int optname)
{
	switch (optname) {
	case TCP_NODELAY:
	case TCP_MAXSEG:
	case TCP_CORK:
	case TCP_KEEPIDLE:
	case TCP_KEEPINTVL:
	case TCP_KEEPCNT:
	case TCP_SYNCNT:
	case TCP_LINGER2:
	case TCP_DEFER_ACCEPT:
	case TCP_WINDOW_CLAMP:
	case TCP_INFO:
	case TCP_QUICKACK:
	case TCP_CONGESTION:
	case TCP_MD5SIG:
	case TCP_THIN_LINEAR_TIMEOUTS:
	case TCP_THIN_DUPACK:
	case TCP_USER_TIMEOUT:
	case TCP_NOTSENT_LOWAT:
	case TCP_CC_INFO:
	case TCP_SAVE_SYN:
	case TCP_SAVED_SYN:
	case TCP_MD5SIG_EXT:
	case TCP_TX_DELAY:
		return 0;
	case TCP_ULP:
	case TCP_REPAIR:
	case TCP_REPAIR_QUEUE:
	case TCP_QUEUE_SEQ:
	case TCP_REPAIR_OPTIONS:
	case TCP_REPAIR_WINDOW:
	case TCP_TIMESTAMP:
	case TCP_FASTOPEN:
	case TCP_FASTOPEN_CONNECT:
	case TCP_FASTOPEN_KEY:
	case TCP_FASTOPEN_NO_COOKIE:
	case TCP_INQ:
	case TCP_ZEROCOPY_RECEIVE:
		return -EOPNOTSUPP;
	default:
		return -ENOPROTOOPT;
	}
}

/*
 * SOL_SOCKET, where the socket core hands it to us (compat.h,
 * newtcp_custom_sol_socket()): the socket core's answer on our socket,
 * then straight on to the inner socket.
 */
static int newtcp_setsockopt_sol_socket(struct socket *sock, int optname,
					sockptr_t optval, unsigned int optlen)
{
	struct sock *sk = sock->sk;
	int rc;

	rc = sock_setsockopt(sock, SOL_SOCKET, optname, optval, optlen);
	if (rc)
		return rc;
	lock_sock(sk);
	newtcp_sync_sockopts(sk);
	release_sock(sk);
	return 0;
}

int newtcp_setsockopt(struct socket *sock, int level, int optname,
		      sockptr_t optval, unsigned int optlen)
{
	struct sock *sk = sock->sk;
	struct newtcp_sock *nsk = newtcp_sk(sk);
	u32 val;
	int rc;

	if (level == SOL_SOCKET)
		return newtcp_setsockopt_sol_socket(sock, optname, optval,
						    optlen);

	/* SOL_TCP, SOL_IP, ...: the inner TCP socket owns those. */
	if (level != SOL_NEWTCP) {
		if (level == SOL_TCP) {
			rc = newtcp_tcp_opt_allowed(optname);
			if (rc)
				return rc;
		}
		rc = nsk->tcp->ops->setsockopt(nsk->tcp, level, optname,
					       optval, optlen);
		return newtcp_inner_err(rc);
	}
	switch (optname) {
	case NEWTCP_NODELAY:
	case NEWTCP_MAXMSG:
		break;
	default:
		return -ENOPROTOOPT;
	}
	if (optname == NEWTCP_MAXMSG && sk->sk_type != SOCK_SEQPACKET)
		return -ENOPROTOOPT;
	if (optlen < sizeof(val))
		return -EINVAL;
	if (copy_from_sockptr(&val, optval, sizeof(val)))
		return -EFAULT;

	lock_sock(sk);
	rc = 0;
	if (optname == NEWTCP_NODELAY) {
		nsk->nodelay = !!val;
		rc = newtcp_apply_nodelay(nsk);
	} else if (!val || val > NEWTCP_MAXMSG_MAX) {
		rc = -EINVAL;
	} else {
		WRITE_ONCE(nsk->maxmsg, val);
	}
	release_sock(sk);
	return rc;
}

static void newtcp_fill_info(struct sock *sk, struct newtcp_info *info)
{
	struct newtcp_sock *nsk = newtcp_sk(sk);
	struct sock *isk = nsk->tcp->sk;
	struct tcp_sock *tp = tcp_sk(isk);

	memset(info, 0, sizeof(*info));
	info->nti_version = NEWTCP_INFO_VERSION;
	info->nti_state = sk->sk_state == TCP_ESTABLISHED ? isk->sk_state :
							    sk->sk_state;
	info->nti_type = sk->sk_type;
	info->nti_bytes_sent = atomic64_read(&nsk->bytes_sent);
	info->nti_bytes_received = atomic64_read(&nsk->bytes_received);
	info->nti_msgs_sent = atomic64_read(&nsk->msgs_sent);
	info->nti_msgs_received = atomic64_read(&nsk->msgs_received);
	lock_sock(isk);
	info->nti_rtt_us = tp->srtt_us >> 3;
	info->nti_rttvar_us = tp->mdev_us >> 2;
	info->nti_retransmits = inet_csk(isk)->icsk_retransmits;
	info->nti_total_retrans = tp->total_retrans;
	release_sock(isk);
}

int newtcp_getsockopt(struct socket *sock, int level, int optname,
		      char __user *optval, int __user *optlen)
{
	struct sock *sk = sock->sk;
	struct newtcp_sock *nsk = newtcp_sk(sk);
	struct newtcp_info info;
	int len, val;

	if (level != SOL_NEWTCP) {
		/* Reading is harmless but for this one; see above. */
		if (level == SOL_TCP && optname == TCP_ZEROCOPY_RECEIVE)
			return -EOPNOTSUPP;
		val = nsk->tcp->ops->getsockopt(nsk->tcp, level, optname,
						optval, optlen);
		return newtcp_inner_err(val);
	}
	if (get_user(len, optlen))
		return -EFAULT;
	if (len < 0)
		return -EINVAL;

	switch (optname) {
	case NEWTCP_NODELAY:
	case NEWTCP_MAXMSG:
		if (optname == NEWTCP_MAXMSG && sk->sk_type != SOCK_SEQPACKET)
			return -ENOPROTOOPT;
		if (len < (int)sizeof(val))
			return -EINVAL;
		val = optname == NEWTCP_NODELAY ? nsk->nodelay :
						  READ_ONCE(nsk->maxmsg);
		len = sizeof(val);
		if (put_user(len, optlen) || copy_to_user(optval, &val, len))
			return -EFAULT;
		return 0;
	case NEWTCP_INFO:
		if (len < (int)sizeof(info.nti_version))
			return -EINVAL;
		newtcp_fill_info(sk, &info);
		len = min_t(int, len, sizeof(info));
		if (put_user(len, optlen) || copy_to_user(optval, &info, len))
			return -EFAULT;
		return 0;
	default:
		return -ENOPROTOOPT;
	}
}
