// SPDX-License-Identifier: GPL-2.0
/*
 * NEW_TCP transport: struct proto and its per-socket callbacks.
 *
 * Every NEW_TCP socket owns an internal kernel TCP socket (nsk->tcp),
 * as AF_SMC owns its clcsock.  The inner socket's wakeup callbacks are
 * forwarded to the NEW_TCP socket under sk_callback_lock, so that
 * poll/epoll and blocking calls on the outer socket wake exactly when
 * the TCP socket does.  A connection is usable once the versioned
 * handshake of PROTOCOL.md went through in both directions; the client
 * and server halves of that handshake run from a workqueue so neither
 * connect() nor accept() depend on the other side's application.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/error-injection.h>
#include <linux/module.h>
#include <linux/percpu_counter.h>
#include <linux/sched/signal.h>
#include <linux/security.h>
#include <linux/slab.h>
#include <linux/ioctl.h>
#include <linux/termios.h>
#include <linux/sockios.h>
#include <linux/swap.h>
#include <linux/tcp.h>
#include <linux/uio.h>
#include <net/inet_connection_sock.h>
#include <net/sock.h>
#include <net/tcp.h>
#include <net/tcp_states.h>

#include "newtcp.h"

static struct workqueue_struct *newtcp_wq;
static struct percpu_counter newtcp_sockets_allocated;
static atomic_long_t newtcp_memory_allocated;
static long newtcp_sysctl_mem[3];
static int newtcp_sysctl_wmem[3] = { 4096, 16384, 4194304 };
static int newtcp_sysctl_rmem[3] = { 4096, 131072, 6291456 };

static u8 newtcp_wire_type(const struct sock *sk)
{
	return sk->sk_type == SOCK_SEQPACKET ? NEWTCP_WIRE_SEQPACKET :
					       NEWTCP_WIRE_STREAM;
}

/* Take a reference for the work item; dropped by the work or canceller. */
static void newtcp_queue(struct sock *sk, struct work_struct *work)
{
	sock_hold(sk);
	if (!queue_work(newtcp_wq, work))
		sock_put(sk);
}

/* ---- memory accounting ------------------------------------------------ */

/*
 * A NEW_TCP socket's memory is its inner TCP socket's queues and a
 * staged record.  TCP charges the queues to TCP; our share is mirrored
 * into newtcp_prot's memory_allocated (pages, as every protocol counts)
 * whenever data is sent, received, arrives or is polled for, so the
 * NEW_TCP line of /proc/net/protocols shows what NEW_TCP holds.
 */
/*
 * Buffer sizes the user did not set are the inner TCP's, as TCP sets and
 * tunes them (tcp_init_sock, tcp_sndbuf_expand): SO_SNDBUF and SO_RCVBUF
 * are read from our socket by the core, so follow the inner one.
 */
static void newtcp_buf_sync(struct sock *sk, const struct sock *isk)
{
	if (!(sk->sk_userlocks & SOCK_SNDBUF_LOCK))
		WRITE_ONCE(sk->sk_sndbuf, READ_ONCE(isk->sk_sndbuf));
	if (!(sk->sk_userlocks & SOCK_RCVBUF_LOCK))
		WRITE_ONCE(sk->sk_rcvbuf, READ_ONCE(isk->sk_rcvbuf));
}

static void newtcp_mem_sync(struct newtcp_sock *nsk, struct sock *isk)
{
	long bytes = READ_ONCE(isk->sk_wmem_queued) +
		     atomic_read(&isk->sk_rmem_alloc);
	long pages, old;

	if (READ_ONCE(nsk->rx_stage))
		bytes += READ_ONCE(nsk->rx_stage_size);
	newtcp_buf_sync(&nsk->sk, isk);
	pages = DIV_ROUND_UP(max(bytes, 0L), PAGE_SIZE);
	old = atomic_long_xchg(&nsk->mem_pages, pages);
	if (pages != old)
		atomic_long_add(pages - old, &newtcp_memory_allocated);
}

static void newtcp_mem_uncharge(struct newtcp_sock *nsk)
{
	atomic_long_sub(atomic_long_xchg(&nsk->mem_pages, 0),
			&newtcp_memory_allocated);
}

/* ---- callback forwarding ---------------------------------------------- */

static struct newtcp_sock *newtcp_from_inner(const struct sock *isk)
{
	return (struct newtcp_sock *)((uintptr_t)isk->sk_user_data &
				      ~SK_USER_DATA_NOCOPY);
}

static void newtcp_inner_data_ready(struct sock *isk)
{
	struct newtcp_sock *nsk;

	read_lock_bh(&isk->sk_callback_lock);
	nsk = newtcp_from_inner(isk);
	if (nsk) {
		nsk->saved_data_ready(isk);
		newtcp_mem_sync(nsk, isk);
		switch (READ_ONCE(nsk->sk.sk_state)) {
		case TCP_LISTEN:
			newtcp_queue(&nsk->sk, &nsk->listen_work);
			break;
		case TCP_SYN_SENT:
			/*
			 * The server's reply hello (or part of it): the
			 * module's, not the reader's.  connect_work's state
			 * change announces the connection, with any data that
			 * came along; a wakeup here could land after it and
			 * give an edge-triggered waiter a second EPOLLOUT.
			 */
			newtcp_queue(&nsk->sk, &nsk->connect_work);
			break;
		default:
			nsk->sk.sk_data_ready(&nsk->sk);
		}
	}
	read_unlock_bh(&isk->sk_callback_lock);
}

static void newtcp_inner_write_space(struct sock *isk)
{
	struct newtcp_sock *nsk;

	read_lock_bh(&isk->sk_callback_lock);
	nsk = newtcp_from_inner(isk);
	if (nsk) {
		nsk->saved_write_space(isk);
		newtcp_mem_sync(nsk, isk);
		nsk->sk.sk_write_space(&nsk->sk);
	}
	read_unlock_bh(&isk->sk_callback_lock);
}

static void newtcp_inner_state_change(struct sock *isk)
{
	struct newtcp_sock *nsk;

	read_lock_bh(&isk->sk_callback_lock);
	nsk = newtcp_from_inner(isk);
	if (nsk) {
		nsk->saved_state_change(isk);
		/*
		 * TCP sets sk_err before tcp_done() closes the socket and
		 * reports the error after: copy it now, so that no poll sees
		 * the hang-up without the error (TCP's poll never does).
		 */
		if (isk->sk_state == TCP_CLOSE && READ_ONCE(isk->sk_err) &&
		    READ_ONCE(nsk->sk.sk_state) == TCP_ESTABLISHED)
			WRITE_ONCE(nsk->sk.sk_err, READ_ONCE(isk->sk_err));
		/* Connected, or the handshake's peer went away. */
		if (READ_ONCE(nsk->sk.sk_state) == TCP_SYN_SENT &&
		    isk->sk_state != TCP_SYN_SENT)
			newtcp_queue(&nsk->sk, &nsk->connect_work);
		nsk->sk.sk_state_change(&nsk->sk);
	}
	read_unlock_bh(&isk->sk_callback_lock);
}

static void newtcp_inner_error_report(struct sock *isk)
{
	struct newtcp_sock *nsk;

	read_lock_bh(&isk->sk_callback_lock);
	nsk = newtcp_from_inner(isk);
	if (nsk) {
		int err = READ_ONCE(isk->sk_err);

		/*
		 * SO_ERROR reads the outer socket; a data call clears both.
		 * Connect failures are connect_work's to report.
		 */
		if (err && READ_ONCE(nsk->sk.sk_state) == TCP_ESTABLISHED)
			WRITE_ONCE(nsk->sk.sk_err, err);
		nsk->saved_error_report(isk);
		nsk->sk.sk_error_report(&nsk->sk);
	}
	read_unlock_bh(&isk->sk_callback_lock);
}

static void newtcp_attach(struct newtcp_sock *nsk, struct socket *tcp)
{
	struct sock *isk = tcp->sk;

	nsk->tcp = tcp;
	write_lock_bh(&isk->sk_callback_lock);
	nsk->saved_data_ready = isk->sk_data_ready;
	nsk->saved_write_space = isk->sk_write_space;
	nsk->saved_state_change = isk->sk_state_change;
	nsk->saved_error_report = isk->sk_error_report;
	/* NOCOPY: TCP children cloned from a listener must not inherit it. */
	isk->sk_user_data = (void *)((uintptr_t)nsk | SK_USER_DATA_NOCOPY);
	isk->sk_data_ready = newtcp_inner_data_ready;
	isk->sk_write_space = newtcp_inner_write_space;
	isk->sk_state_change = newtcp_inner_state_change;
	isk->sk_error_report = newtcp_inner_error_report;
	write_unlock_bh(&isk->sk_callback_lock);
	newtcp_buf_sync(&nsk->sk, isk);
}

/* Give @isk the callbacks TCP gave it; @nsk saved them. */
static void newtcp_restore_callbacks(struct newtcp_sock *nsk, struct sock *isk)
{
	write_lock_bh(&isk->sk_callback_lock);
	isk->sk_user_data = NULL;
	isk->sk_data_ready = nsk->saved_data_ready;
	isk->sk_write_space = nsk->saved_write_space;
	isk->sk_state_change = nsk->saved_state_change;
	isk->sk_error_report = nsk->saved_error_report;
	write_unlock_bh(&isk->sk_callback_lock);
}

/* ---- owner and policy ----------------------------------------------- */

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
 *   newtcp_release_inner()).  sk_uid (uid routing, bpf_get_socket_uid)
 *   and the inode's uid/gid (sock_i_uid, /proc/net/tcp) are copied too;
 * - the bound device, now (proto->rehash runs inside SO_BINDTODEVICE)
 *   and at every sync point.
 *
 * The outer socket gets its file only after ->init (sock_map_fd()) or,
 * accepted, after ->accept (sock_graft()): this runs from every sync
 * point and from newtcp_adopt_owner().
 */
static void newtcp_inherit_owner(struct sock *sk)
{
	struct socket *sock = sk->sk_socket, *tcp = newtcp_sk(sk)->tcp;
	struct sock *isk = tcp->sk;

	if (!sock || !sock->file || READ_ONCE(tcp->file) == sock->file)
		return;
	SOCK_INODE(tcp)->i_uid = SOCK_INODE(sock)->i_uid;
	SOCK_INODE(tcp)->i_gid = SOCK_INODE(sock)->i_gid;
	WRITE_ONCE(isk->sk_uid, sk->sk_uid);
	WRITE_ONCE(tcp->file, sock->file);
}

/* An accepted socket, just grafted onto its struct socket: its owner. */
void newtcp_adopt_owner(struct sock *sk)
{
	if (newtcp_sk(sk)->tcp)
		newtcp_inherit_owner(sk);
}

/* Before the inner socket is released: it no longer has our file. */
static void newtcp_release_inner(struct socket *tcp)
{
	WRITE_ONCE(tcp->file, NULL);
	sock_release(tcp);
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
static void newtcp_rehash(struct sock *sk)
{
	if (newtcp_sk(sk)->tcp)
		newtcp_sync_bound_dev(sk);
}

/* proto->keepalive: SO_KEEPALIVE, our socket locked, before the flag. */
static void newtcp_keepalive(struct sock *sk, int val)
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

/*
 * The inner socket is made as a user TCP socket (kern = 0) for a user
 * NEW_TCP socket, in the caller's context: the LSM's socket_create and
 * post_create hooks and cgroup BPF's INET_SOCK_CREATE program judge it
 * as they would the caller's own TCP socket (inet_create() runs that
 * program for user sockets only), it is charged to the caller's cgroup
 * and memcg, and it holds its netns as user sockets do.  A kernel
 * NEW_TCP socket gets a kernel TCP socket, upgraded to hold the netns
 * (its TCP timers outlive it; see compat.h).
 */
/* Every NEW_TCP sock, for socket() and accept(). */
noinline struct sock *newtcp_sk_alloc(struct net *net, int kern)
{
	return sk_alloc(net, newtcp_family, GFP_KERNEL, &newtcp_prot, kern);
}

ALLOW_ERROR_INJECTION(newtcp_sk_alloc, NULL);

noinline int newtcp_create_inner(struct sock *sk, struct socket **tcp)
{
	int kern = sk->sk_kern_sock, rc;

	rc = __sock_create(sock_net(sk), AF_INET, SOCK_STREAM, IPPROTO_TCP,
			   tcp, kern);
	if (rc)
		return rc;
	if (kern)
		newtcp_net_refcnt_upgrade((*tcp)->sk);
	return 0;
}

ALLOW_ERROR_INJECTION(newtcp_create_inner, ERRNO);

/* ---- SOL_SOCKET mirroring --------------------------------------------- */

/*
 * SOL_SOCKET options never reach ->setsockopt (the socket core handles
 * them on the outer socket), so they are copied onto the inner TCP
 * socket whenever it is about to be used: bind, listen, connect,
 * accept, send, receive, release.
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
	isk->sk_lingertime = sk->sk_lingertime;
	sock_valbool_flag(isk, SOCK_LINGER, sock_flag(sk, SOCK_LINGER));

	ka = sock_flag(sk, SOCK_KEEPOPEN);
	if (ka != sock_flag(isk, SOCK_KEEPOPEN) ||
	    ((sk->sk_userlocks & SOCK_SNDBUF_LOCK) &&
	     isk->sk_sndbuf != sk->sk_sndbuf) ||
	    ((sk->sk_userlocks & SOCK_RCVBUF_LOCK) &&
	     isk->sk_rcvbuf != sk->sk_rcvbuf)) {
		lock_sock(isk);
		if (ka != sock_flag(isk, SOCK_KEEPOPEN)) {
			if (isk->sk_prot->keepalive)
				isk->sk_prot->keepalive(isk, ka);
			sock_valbool_flag(isk, SOCK_KEEPOPEN, ka);
		}
		if (sk->sk_userlocks & SOCK_SNDBUF_LOCK) {
			isk->sk_userlocks |= SOCK_SNDBUF_LOCK;
			WRITE_ONCE(isk->sk_sndbuf, sk->sk_sndbuf);
			isk->sk_write_space(isk);
		}
		if (sk->sk_userlocks & SOCK_RCVBUF_LOCK) {
			isk->sk_userlocks |= SOCK_RCVBUF_LOCK;
			WRITE_ONCE(isk->sk_rcvbuf, sk->sk_rcvbuf);
		}
		release_sock(isk);
	}

	/*
	 * SO_RCVLOWAT holds back the inner socket's reads, poll mask and
	 * wakeups, so a STREAM socket's reaches it once connected; before,
	 * it would stall the handshake's reads.
	 */
	if (sk->sk_type == SOCK_STREAM &&
	    READ_ONCE(sk->sk_state) == TCP_ESTABLISHED &&
	    READ_ONCE(isk->sk_rcvlowat) != READ_ONCE(sk->sk_rcvlowat)) {
		lock_sock(isk);
		if (nsk->tcp->ops->set_rcvlowat)
			nsk->tcp->ops->set_rcvlowat(isk,
						    READ_ONCE(sk->sk_rcvlowat));
		else
			WRITE_ONCE(isk->sk_rcvlowat, READ_ONCE(sk->sk_rcvlowat));
		release_sock(isk);
	}
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

static int newtcp_apply_nodelay(struct newtcp_sock *nsk)
{
	int val = nsk->nodelay;

	return nsk->tcp->ops->setsockopt(nsk->tcp, SOL_TCP, TCP_NODELAY,
					 KERNEL_SOCKPTR(&val), sizeof(val));
}

/* ---- socket setup and teardown ---------------------------------------- */

static void newtcp_connect_work(struct work_struct *work);
static void newtcp_listen_work(struct work_struct *work);
static void newtcp_hs_timeout(struct work_struct *work);
static void newtcp_hs_kill(struct newtcp_sock *lnsk, struct newtcp_pending *p);

static void newtcp_sk_setup(struct sock *sk)
{
	struct newtcp_sock *nsk = newtcp_sk(sk);

	nsk->tcp = NULL;
	nsk->flags = 0;
	INIT_LIST_HEAD(&nsk->node);
	INIT_LIST_HEAD(&nsk->accept_q);
	INIT_LIST_HEAD(&nsk->hs_list);
	INIT_DELAYED_WORK(&nsk->hs_timeout, newtcp_hs_timeout);
	nsk->hs_got = 0;
	nsk->hs_pending = 0;
	nsk->accept_len = 0;
	mutex_init(&nsk->tx_lock);
	mutex_init(&nsk->rx_lock);
	nsk->rx_left = 0;
	nsk->rx_in_msg = false;
	nsk->rx_discard = false;
	nsk->rx_hdr_got = 0;
	nsk->rx_stage = NULL;
	nsk->rx_stage_size = 0;
	nsk->rx_stage_len = 0;
	nsk->maxmsg = NEWTCP_MAXMSG_DEFAULT;
	nsk->nodelay = 0;
	atomic_long_set(&nsk->mem_pages, 0);
	atomic64_set(&nsk->bytes_sent, 0);
	atomic64_set(&nsk->bytes_received, 0);
	atomic64_set(&nsk->msgs_sent, 0);
	atomic64_set(&nsk->msgs_received, 0);

	sk_sockets_allocated_inc(sk);
	newtcp_prot_inuse_add(sock_net(sk), sk->sk_prot, 1);
	sk->sk_prot->hash(sk);
}

static int newtcp_init_sock(struct sock *sk)
{
	struct newtcp_sock *nsk = newtcp_sk(sk);
	struct socket *tcp;
	int rc;

	INIT_WORK(&nsk->connect_work, newtcp_connect_work);
	INIT_WORK(&nsk->listen_work, newtcp_listen_work);
	rc = newtcp_create_inner(sk, &tcp);
	if (rc)
		return rc;
	newtcp_sk_setup(sk);
	newtcp_attach(nsk, tcp);
	/*
	 * A record end is a push point: without this every record's last
	 * segment waits for the previous ACK (Nagle vs. delayed ACK).
	 */
	if (sk->sk_type == SOCK_SEQPACKET) {
		nsk->nodelay = 1;
		newtcp_apply_nodelay(nsk);
	}
	return 0;
}

static void newtcp_destroy_sock(struct sock *sk)
{
	kvfree(newtcp_sk(sk)->rx_stage);
	newtcp_sk(sk)->rx_stage = NULL;
	sk->sk_prot->unhash(sk);
	newtcp_prot_inuse_add(sock_net(sk), sk->sk_prot, -1);
	sk_sockets_allocated_dec(sk);
}

/* Drop a TCP connection that never became a NEW_TCP one, with a RST. */
static void newtcp_abort_tcp(struct socket *tcp)
{
	sock_no_linger(tcp->sk);
	sock_release(tcp);
}

static void newtcp_release_pending(struct list_head *q)
{
	struct newtcp_pending *p, *tmp;

	list_for_each_entry_safe(p, tmp, q, list) {
		list_del(&p->list);
		newtcp_abort_tcp(p->tcp);
		kfree(p);
	}
}

/* Called from ->release(); drops the reference sock_init_data() set up. */
static void newtcp_close(struct sock *sk, long timeout)
{
	struct newtcp_sock *nsk = newtcp_sk(sk);
	struct socket *tcp = nsk->tcp;
	LIST_HEAD(q);
	int old;

	lock_sock(sk);
	old = sk->sk_state;
	sk->sk_shutdown = SHUTDOWN_MASK;
	sk->sk_state = TCP_CLOSE;
	list_splice_init(&nsk->accept_q, &q);
	nsk->accept_len = 0;
	/* Handshakes in flight end in their own work, which frees them. */
	while (!list_empty(&nsk->hs_list))
		newtcp_hs_kill(nsk, list_first_entry(&nsk->hs_list,
						     struct newtcp_pending,
						     list));
	release_sock(sk);

	/* Off /proc before the inner socket goes. */
	sk->sk_prot->destroy(sk);

	newtcp_restore_callbacks(nsk, tcp->sk);
	/* No callback can charge it now: the inner socket is not ours. */
	newtcp_mem_uncharge(nsk);
	/* Abort a handshake in flight so the work below finishes quickly. */
	if (old == TCP_SYN_SENT)
		kernel_sock_shutdown(tcp, SHUT_RDWR);
	if (cancel_delayed_work_sync(&nsk->hs_timeout))
		sock_put(sk);
	if (cancel_work_sync(&nsk->connect_work))
		sock_put(sk);
	if (cancel_work_sync(&nsk->listen_work))
		sock_put(sk);
	newtcp_release_pending(&q);

	/* SO_LINGER and friends apply to the TCP close; we are its user. */
	newtcp_sync_sockopts(sk);
	nsk->tcp = NULL;
	newtcp_release_inner(tcp);

	/* Detach from the struct socket, which is freed after release. */
	sock_orphan(sk);
	sock_put(sk);
}

/* ---- handshake ---------------------------------------------------------- */

/*
 * Neither side of the handshake ever sleeps on the peer: the inner
 * socket's data_ready and state_change callbacks queue the work that
 * reads what has come of a hello (without blocking), and a deadline
 * handshake_ms after it began ends the wait.  An idle or slow peer costs
 * its TCP socket and a newtcp_pending, not a worker.  See PROTOCOL.md,
 * "Handshake engine".
 */

static unsigned int newtcp_max_handshakes = 1024;
module_param_named(max_handshakes, newtcp_max_handshakes, uint, 0644);
MODULE_PARM_DESC(max_handshakes,
		 "Handshakes one listener has in flight at most; a new connection beyond it resets the oldest (default 1024)");

static atomic_long_t newtcp_hs_refused;

static int newtcp_refused_get(char *buf, const struct kernel_param *kp)
{
	return scnprintf(buf, PAGE_SIZE, "%ld\n",
			 atomic_long_read(&newtcp_hs_refused));
}

static const struct kernel_param_ops newtcp_refused_ops = {
	.get	= newtcp_refused_get,
};

module_param_cb(handshakes_refused, &newtcp_refused_ops, NULL, 0444);
MODULE_PARM_DESC(handshakes_refused,
		 "Handshakes reset because their listener had max_handshakes in flight");

static int newtcp_send_hello(struct socket *tcp, u8 type, u8 flags, u8 status)
{
	struct newtcp_hello h = {
		.magic = htonl(NEWTCP_MAGIC),
		.version = NEWTCP_VERSION,
		.type = type,
		.flags = flags,
		.status = status,
	};
	struct kvec iov = { .iov_base = &h, .iov_len = sizeof(h) };
	/* A fresh connection's send buffer always has room for 8 bytes. */
	struct msghdr msg = { .msg_flags = MSG_NOSIGNAL | MSG_DONTWAIT };
	int rc;

	rc = kernel_sendmsg(tcp, &msg, &iov, 1, sizeof(h));
	if (rc == sizeof(h))
		return 0;
	return rc < 0 ? rc : -EIO;
}

/*
 * Take what has arrived of a hello into @buf without waiting: 0 once
 * all 8 bytes are there, -EAGAIN while some are missing, -ECONNREFUSED
 * at EOF before a whole hello, or the inner socket's error.
 */
static int newtcp_recv_hello(struct socket *tcp, u8 *buf, u8 *got)
{
	const u8 len = sizeof(struct newtcp_hello);
	struct kvec iov;
	struct msghdr msg;
	int rc;

	while (*got < len) {
		iov.iov_base = buf + *got;
		iov.iov_len = len - *got;
		memset(&msg, 0, sizeof(msg));
		rc = kernel_recvmsg(tcp, &msg, &iov, 1, iov.iov_len,
				    MSG_DONTWAIT);
		if (!rc)
			return -ECONNREFUSED;
		if (rc < 0)
			return rc;
		*got += rc;
	}
	return 0;
}

static void newtcp_hs_timeout(struct work_struct *work)
{
	struct newtcp_sock *nsk = container_of(to_delayed_work(work),
					       struct newtcp_sock, hs_timeout);

	newtcp_queue(&nsk->sk, &nsk->connect_work);
	sock_put(&nsk->sk);
}

static void newtcp_hs_cancel_timeout(struct newtcp_sock *nsk)
{
	if (cancel_delayed_work(&nsk->hs_timeout))
		sock_put(&nsk->sk);
}

/*
 * One step of the client handshake, caller holding the socket lock:
 * 0 when the reply accepted us, -EAGAIN while it has not all come (the
 * callbacks or the deadline bring us back), else the connect() error.
 */
static int newtcp_client_handshake(struct newtcp_sock *nsk)
{
	struct socket *tcp = nsk->tcp;
	struct sock *isk = tcp->sk;
	struct newtcp_hello h;
	long t;
	int rc;

	if (!test_bit(NEWTCP_F_HELLO_SENT, &nsk->flags)) {
		if (!((1 << isk->sk_state) & (TCPF_ESTABLISHED | TCPF_CLOSE_WAIT)))
			return sock_error(isk) ? : -ECONNREFUSED;
		rc = newtcp_send_hello(tcp, newtcp_wire_type(&nsk->sk), 0, 0);
		if (rc)
			return rc == -EPIPE ? -ECONNREFUSED : rc;
		set_bit(NEWTCP_F_HELLO_SENT, &nsk->flags);
		t = msecs_to_jiffies(READ_ONCE(newtcp_handshake_ms));
		nsk->hs_deadline = jiffies + t;
		sock_hold(&nsk->sk);
		if (!queue_delayed_work(newtcp_wq, &nsk->hs_timeout, t))
			sock_put(&nsk->sk);
	}
	rc = newtcp_recv_hello(tcp, nsk->hs_buf, &nsk->hs_got);
	if (rc == -EAGAIN)
		return time_after_eq(jiffies, nsk->hs_deadline) ? -ETIMEDOUT :
								   -EAGAIN;
	if (rc)
		return rc;
	memcpy(&h, nsk->hs_buf, sizeof(h));
	if (h.magic != htonl(NEWTCP_MAGIC) || h.version != NEWTCP_VERSION ||
	    !(h.flags & NEWTCP_HELLO_REPLY) ||
	    h.type != newtcp_wire_type(&nsk->sk) || h.status != NEWTCP_ST_OK)
		return -ECONNREFUSED;
	return 0;
}

static void newtcp_connect_work(struct work_struct *work)
{
	struct newtcp_sock *nsk = container_of(work, struct newtcp_sock,
					       connect_work);
	struct sock *sk = &nsk->sk;
	struct sock *isk = nsk->tcp->sk;
	int err;

	lock_sock(sk);
	if (sk->sk_state != TCP_SYN_SENT || isk->sk_state == TCP_SYN_SENT)
		goto out;
	err = newtcp_client_handshake(nsk);
	if (err == -EAGAIN)
		goto out;
	newtcp_hs_cancel_timeout(nsk);
	if (err) {
		/* Never let a foreign peer see our data. */
		if (isk->sk_state != TCP_CLOSE)
			kernel_sock_shutdown(nsk->tcp, SHUT_RDWR);
		/*
		 * As tcp_done(): poll says IN|RDHUP|HUP. Closed before the
		 * error is set, so a lockless poll that sees POLLERR sees
		 * the hang-up too.
		 */
		sk->sk_state = TCP_CLOSE;
		WRITE_ONCE(sk->sk_shutdown, SHUTDOWN_MASK);
		smp_wmb();	/* state and shutdown before sk_err: see above */
		WRITE_ONCE(sk->sk_err, -err);
		sk->sk_error_report(sk);
	} else {
		sk->sk_state = TCP_ESTABLISHED;
		/* An error after the hellos is ours to report now. */
		if (READ_ONCE(isk->sk_err))
			WRITE_ONCE(sk->sk_err, READ_ONCE(isk->sk_err));
		newtcp_sync_sockopts(sk);
		if (nsk->nodelay)
			newtcp_apply_nodelay(nsk);
	}
	sk->sk_state_change(sk);
out:
	release_sock(sk);
	sock_put(sk);
}

/* Server side: the inner socket of a pending handshake has news. */
static void newtcp_hs_wake(struct sock *isk)
{
	struct newtcp_pending *p;

	read_lock_bh(&isk->sk_callback_lock);
	p = isk->sk_user_data;
	if (p)
		mod_delayed_work(newtcp_wq, &p->work, 0);
	read_unlock_bh(&isk->sk_callback_lock);
}

static void newtcp_hs_attach(struct newtcp_pending *p)
{
	struct sock *isk = p->tcp->sk;

	write_lock_bh(&isk->sk_callback_lock);
	isk->sk_user_data = p;
	isk->sk_data_ready = newtcp_hs_wake;
	isk->sk_state_change = newtcp_hs_wake;
	write_unlock_bh(&isk->sk_callback_lock);
}

/* Caller holds the listener's lock; @p's work then frees it. */
static void newtcp_hs_kill(struct newtcp_sock *lnsk, struct newtcp_pending *p)
{
	list_del_init(&p->list);
	lnsk->hs_pending--;
	WRITE_ONCE(p->dead, true);
	mod_delayed_work(newtcp_wq, &p->work, 0);
}

/*
 * Off the listener's hs_list and out of reach of callbacks and of
 * newtcp_hs_kill(): nothing can queue @p's work again afterwards.
 * Returns false when the listener no longer takes it (closed, or @p was
 * evicted).
 */
static bool newtcp_hs_unlink(struct newtcp_pending *p)
{
	struct newtcp_sock *lnsk = newtcp_sk(p->lsk);
	bool ours;

	newtcp_restore_callbacks(lnsk, p->tcp->sk);
	lock_sock(p->lsk);
	ours = !list_empty(&p->list);
	if (ours) {
		list_del_init(&p->list);
		lnsk->hs_pending--;
	}
	cancel_delayed_work(&p->work);
	return ours && p->lsk->sk_state == TCP_LISTEN && !READ_ONCE(p->dead);
}

static void newtcp_hs_work(struct work_struct *work)
{
	struct newtcp_pending *p = container_of(to_delayed_work(work),
						struct newtcp_pending, work);
	struct sock *lsk = p->lsk;
	struct newtcp_sock *lnsk = newtcp_sk(lsk);
	u8 type = newtcp_wire_type(lsk);
	u8 status = NEWTCP_ST_OK;
	struct newtcp_hello h;
	long left;
	int rc;

	if (READ_ONCE(p->dead))
		goto drop;
	rc = newtcp_recv_hello(p->tcp, p->buf, &p->got);
	if (rc == -EAGAIN) {
		left = (long)(p->deadline - jiffies);
		if (left <= 0)
			goto drop;
		/* A no-op when a callback queued us meanwhile. */
		queue_delayed_work(newtcp_wq, &p->work, left);
		return;
	}
	memcpy(&h, p->buf, sizeof(h));
	/* Plain TCP, garbage or another client's reply: no answer at all. */
	if (rc || h.magic != htonl(NEWTCP_MAGIC) ||
	    (h.flags & NEWTCP_HELLO_REPLY))
		goto drop;
	if (h.version != NEWTCP_VERSION)
		status = NEWTCP_ST_BADVERSION;
	else if (h.type != type)
		status = NEWTCP_ST_BADTYPE;

	lock_sock(lsk);
	if (status == NEWTCP_ST_OK &&
	    lnsk->accept_len >= max_t(int, READ_ONCE(lsk->sk_max_ack_backlog), 1))
		status = NEWTCP_ST_BUSY;
	release_sock(lsk);

	rc = newtcp_send_hello(p->tcp, type, NEWTCP_HELLO_REPLY, status);
	if (rc || status != NEWTCP_ST_OK)
		goto drop;

	if (!newtcp_hs_unlink(p)) {
		release_sock(lsk);
		goto free;
	}
	list_add_tail(&p->list, &lnsk->accept_q);
	lnsk->accept_len++;
	lsk->sk_data_ready(lsk);
	release_sock(lsk);
	sock_put(lsk);
	return;

drop:
	newtcp_hs_unlink(p);
	release_sock(lsk);
free:
	newtcp_abort_tcp(p->tcp);
	kfree(p);
	sock_put(lsk);
}

/*
 * Take every connection the inner listener has and start its handshake;
 * past max_handshakes in flight, the oldest one makes room.
 */
/* A connection's place in a listener's handshake and accept queues. */
noinline struct newtcp_pending *newtcp_pending_alloc(void)
{
	return kzalloc(sizeof(struct newtcp_pending), GFP_KERNEL);
}

ALLOW_ERROR_INJECTION(newtcp_pending_alloc, NULL);

static void newtcp_listen_work(struct work_struct *work)
{
	struct newtcp_sock *nsk = container_of(work, struct newtcp_sock,
					       listen_work);
	struct sock *sk = &nsk->sk;
	struct newtcp_pending *p;
	struct socket *ntcp;
	int rc;

	for (;;) {
		p = newtcp_pending_alloc();
		lock_sock(sk);
		if (sk->sk_state != TCP_LISTEN) {
			release_sock(sk);
			kfree(p);
			break;
		}
		rc = kernel_accept(nsk->tcp, &ntcp, O_NONBLOCK);
		if (rc) {
			release_sock(sk);
			kfree(p);
			break;
		}
		/* The clone inherited our listener callbacks. */
		newtcp_restore_callbacks(nsk, ntcp->sk);
		if (!p) {
			release_sock(sk);
			newtcp_abort_tcp(ntcp);
			continue;
		}
		while (nsk->hs_pending > 0 &&
		       nsk->hs_pending >= READ_ONCE(newtcp_max_handshakes)) {
			newtcp_hs_kill(nsk, list_first_entry(&nsk->hs_list,
							     struct newtcp_pending,
							     list));
			atomic_long_inc(&newtcp_hs_refused);
		}
		p->tcp = ntcp;
		p->lsk = sk;
		sock_hold(sk);
		INIT_DELAYED_WORK(&p->work, newtcp_hs_work);
		p->deadline = jiffies +
			      msecs_to_jiffies(READ_ONCE(newtcp_handshake_ms));
		list_add_tail(&p->list, &nsk->hs_list);
		nsk->hs_pending++;
		newtcp_hs_attach(p);
		/* Whatever came before the callbacks were ours. */
		queue_delayed_work(newtcp_wq, &p->work, 0);
		release_sock(sk);
	}
	sock_put(sk);
}

/* ---- proto callbacks ---------------------------------------------------- */

static int newtcp_to_sin(const struct sockaddr *uaddr, int addr_len,
			 struct sockaddr_in *sin)
{
	const struct sockaddr_newtcp *a = (const struct sockaddr_newtcp *)uaddr;

	if (addr_len < (int)sizeof(*a))
		return -EINVAL;
	if (a->snt_family != newtcp_family)
		return -EAFNOSUPPORT;
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = a->snt_port;
	sin->sin_addr = a->snt_addr;
	return 0;
}

static int newtcp_bind(struct sock *sk, newtcp_puaddr_t *uaddr, int addr_len)
{
	struct newtcp_sock *nsk = newtcp_sk(sk);
	struct sockaddr_in sin;
	int rc;

	rc = newtcp_to_sin(NEWTCP_SA(uaddr), addr_len, &sin);
	if (rc)
		return rc;
	lock_sock(sk);
	/*
	 * A session whose TCP was reset is closed for bind(), as on TCP
	 * (tcp_done() released its port); the inner bind decides.
	 */
	if (sk->sk_state != TCP_CLOSE &&
	    (sk->sk_state != TCP_ESTABLISHED ||
	     READ_ONCE(nsk->tcp->sk->sk_state) != TCP_CLOSE)) {
		rc = -EINVAL;
	} else {
		newtcp_sync_sockopts(sk);
		rc = newtcp_kernel_bind(nsk->tcp, &sin, sizeof(sin));
	}
	release_sock(sk);
	return rc;
}

int newtcp_listen_sk(struct sock *sk, int backlog)
{
	struct newtcp_sock *nsk = newtcp_sk(sk);
	int rc;

	lock_sock(sk);
	if (sk->sk_state != TCP_CLOSE && sk->sk_state != TCP_LISTEN) {
		rc = -EINVAL;
		goto out;
	}
	newtcp_sync_sockopts(sk);
	/*
	 * The inner queue only waits for listen_work to start handshakes,
	 * which costs it no worker now: let a burst of up to
	 * max_handshakes connections in without dropping SYNs.  The
	 * application's backlog bounds accept_q (status 3, busy).
	 */
	rc = kernel_listen(nsk->tcp,
			   min_t(int, max_t(int, backlog,
					    READ_ONCE(newtcp_max_handshakes)),
				 READ_ONCE(sock_net(sk)->core.sysctl_somaxconn)));
	if (rc)
		goto out;
	WRITE_ONCE(sk->sk_max_ack_backlog, backlog);
	sk->sk_state = TCP_LISTEN;
out:
	release_sock(sk);
	return rc;
}

/* Caller holds the socket lock and set sk_state to TCP_SYN_SENT. */
static int newtcp_connect(struct sock *sk, newtcp_puaddr_t *uaddr,
			  int addr_len)
{
	struct newtcp_sock *nsk = newtcp_sk(sk);
	struct sockaddr_in sin;
	int rc;

	rc = newtcp_to_sin(NEWTCP_SA(uaddr), addr_len, &sin);
	if (rc)
		return rc;
	if (nsk->tcp->sk->sk_state != TCP_CLOSE)
		return -EISCONN;
	newtcp_sync_sockopts(sk);
	clear_bit(NEWTCP_F_HS_QUEUED, &nsk->flags);
	clear_bit(NEWTCP_F_HELLO_SENT, &nsk->flags);
	nsk->hs_got = 0;
	sk->sk_err = 0;
	sk->sk_state = TCP_SYN_SENT;
	rc = newtcp_kernel_connect(nsk->tcp, &sin, sizeof(sin), O_NONBLOCK);
	if (rc && rc != -EINPROGRESS) {
		sk->sk_state = TCP_CLOSE;
		return rc;
	}
	/* It may have finished before the callback could see SYN_SENT. */
	if (nsk->tcp->sk->sk_state != TCP_SYN_SENT &&
	    !test_and_set_bit(NEWTCP_F_HS_QUEUED, &nsk->flags))
		newtcp_queue(sk, &nsk->connect_work);
	return 0;
}

/*
 * connect(AF_UNSPEC) on STREAM, as tcp_disconnect(): the inner socket is
 * disconnected (a RST where TCP sends one), its error (ECONNRESET) shows
 * in SO_ERROR, and the socket can bind, connect or listen again.
 * SEQPACKET keeps its framing state per connection: not supported.
 * Caller holds the socket lock.
 */
static int newtcp_disconnect(struct sock *sk, int flags)
{
	struct newtcp_sock *nsk = newtcp_sk(sk);
	struct sock *isk = nsk->tcp->sk;
	int err;

	if (sk->sk_type != SOCK_STREAM)
		return -EOPNOTSUPP;
	if (sk->sk_state == TCP_LISTEN || sk->sk_state == TCP_SYN_SENT)
		return newtcp_shutdown_disconnect(sk);
	newtcp_inner_disconnect(nsk->tcp);
	err = READ_ONCE(isk->sk_err);
	if (err)
		WRITE_ONCE(sk->sk_err, err);
	WRITE_ONCE(sk->sk_shutdown, 0);
	sk->sk_state = TCP_CLOSE;
	sk->sk_state_change(sk);
	return 0;
}

int newtcp_wait_accept(struct sock *sk, long timeo)
{
	struct newtcp_sock *nsk = newtcp_sk(sk);
	DEFINE_WAIT_FUNC(wait, woken_wake_function);
	int err = 0;

	add_wait_queue_exclusive(sk_sleep(sk), &wait);
	for (;;) {
		if (!list_empty(&nsk->accept_q))
			break;
		err = -EINVAL;
		if (sk->sk_state != TCP_LISTEN)
			break;
		err = -EAGAIN;
		if (!timeo)
			break;
		err = sock_intr_errno(timeo);
		if (signal_pending(current))
			break;
		release_sock(sk);
		timeo = wait_woken(&wait, TASK_INTERRUPTIBLE, timeo);
		lock_sock(sk);
		err = 0;
	}
	remove_wait_queue(sk_sleep(sk), &wait);
	return err;
}

static struct sock *newtcp_accept_impl(struct sock *sk, int flags, int *err,
				       bool kern)
{
	struct newtcp_sock *nsk = newtcp_sk(sk), *cnsk;
	struct newtcp_pending *p;
	struct sock *newsk;

	/*
	 * Allocated before a connection is taken off the queue: when it
	 * fails, accept() fails and the connection stays queued for the
	 * next call, where dropping it would lose an established peer.
	 */
	newsk = newtcp_sk_alloc(sock_net(sk), kern);
	if (!newsk) {
		*err = -ENOMEM;
		return NULL;
	}
	lock_sock(sk);
	*err = -EINVAL;
	if (sk->sk_state != TCP_LISTEN)
		goto out_unlock;
	*err = newtcp_wait_accept(sk, sock_rcvtimeo(sk, flags & O_NONBLOCK));
	if (*err)
		goto out_unlock;
	p = list_first_entry(&nsk->accept_q, struct newtcp_pending, list);
	list_del(&p->list);
	nsk->accept_len--;
	release_sock(sk);

	sock_init_data(NULL, newsk);
	/* The listener's LSM label, as sk_clone_lock() gives TCP's child. */
	security_sk_clone(sk, newsk);
	newsk->sk_type = sk->sk_type;
	newsk->sk_protocol = IPPROTO_TCP;
	/* What SOL_SOCKET set on the listener holds for its children. */
	newsk->sk_sndbuf = sk->sk_sndbuf;
	newsk->sk_rcvbuf = sk->sk_rcvbuf;
	newsk->sk_userlocks = sk->sk_userlocks & ~SOCK_BINDPORT_LOCK;
	newsk->sk_reuse = sk->sk_reuse;
	newsk->sk_rcvtimeo = sk->sk_rcvtimeo;
	newsk->sk_sndtimeo = sk->sk_sndtimeo;
	newsk->sk_rcvlowat = sk->sk_rcvlowat;
	newsk->sk_priority = sk->sk_priority;
	/*
	 * Device and mark as TCP gave the inner child (the listener's, or
	 * the SYN's with tcp_fwmark_accept or a VRF), so that
	 * newtcp_sync_sockopts() keeps rather than undoes them.
	 */
	newsk->sk_bound_dev_if = p->tcp->sk->sk_bound_dev_if;
	newsk->sk_mark = p->tcp->sk->sk_mark;
	newsk->sk_lingertime = sk->sk_lingertime;
	sock_valbool_flag(newsk, SOCK_LINGER, sock_flag(sk, SOCK_LINGER));
	sock_valbool_flag(newsk, SOCK_KEEPOPEN, sock_flag(sk, SOCK_KEEPOPEN));

	cnsk = newtcp_sk(newsk);
	INIT_WORK(&cnsk->connect_work, newtcp_connect_work);
	INIT_WORK(&cnsk->listen_work, newtcp_listen_work);
	newtcp_sk_setup(newsk);
	cnsk->maxmsg = nsk->maxmsg;
	cnsk->nodelay = nsk->nodelay;
	newtcp_attach(cnsk, p->tcp);
	/* An error the connection got while queued is ours to report. */
	if (READ_ONCE(p->tcp->sk->sk_err))
		WRITE_ONCE(newsk->sk_err, READ_ONCE(p->tcp->sk->sk_err));
	kfree(p);
	newsk->sk_state = TCP_ESTABLISHED;
	newtcp_sync_sockopts(newsk);
	if (cnsk->nodelay)
		newtcp_apply_nodelay(cnsk);
	*err = 0;
	return newsk;

out_unlock:
	release_sock(sk);
	/* Never set up (no sock_init_data()): freed as sk_alloc() made it. */
	sk_free(newsk);
	return NULL;
}
NEWTCP_DEFINE_PROTO_ACCEPT(newtcp_accept, newtcp_accept_impl)

/* Wait out a handshake in flight; caller holds the socket lock. */
static int newtcp_wait_connected(struct sock *sk, long *timeo)
{
	DEFINE_WAIT_FUNC(wait, woken_wake_function);
	int err = 0;

	add_wait_queue(sk_sleep(sk), &wait);
	while (sk->sk_state == TCP_SYN_SENT) {
		err = -EAGAIN;
		if (!*timeo)
			break;
		err = sock_intr_errno(*timeo);
		if (signal_pending(current))
			break;
		release_sock(sk);
		*timeo = wait_woken(&wait, TASK_INTERRUPTIBLE, *timeo);
		lock_sock(sk);
		err = 0;
	}
	remove_wait_queue(sk_sleep(sk), &wait);
	return err;
}

/* For the ops glue's connect(). */
int newtcp_wait_handshake(struct sock *sk, long *timeo)
{
	return newtcp_wait_connected(sk, timeo);
}

/* 0 when the NEW_TCP session is up, else the error for this call. */
static int newtcp_check_conn(struct sock *sk, long timeo, bool stream_tx,
			     int msg_flags)
{
	int err;

	if (READ_ONCE(sk->sk_state) == TCP_ESTABLISHED)
		return 0;
	lock_sock(sk);
	err = newtcp_wait_connected(sk, &timeo);
	if (!err && sk->sk_state != TCP_ESTABLISHED) {
		err = sock_error(sk);
		if (!err)
			err = stream_tx ? -EPIPE : -ENOTCONN;
	}
	release_sock(sk);
	if (err == -EPIPE && !(msg_flags & MSG_NOSIGNAL))
		send_sig(SIGPIPE, current, 0);
	return err;
}

/* ---- SEQPACKET framing -------------------------------------------------- */

static void newtcp_break(struct newtcp_sock *nsk)
{
	set_bit(NEWTCP_F_TX_BROKEN, &nsk->flags);
	kernel_sock_shutdown(nsk->tcp, SHUT_RDWR);
}

/* A framing violation: no record is read on this connection again. */
static int newtcp_rx_violation(struct newtcp_sock *nsk)
{
	set_bit(NEWTCP_F_RX_BROKEN, &nsk->flags);
	newtcp_break(nsk);
	return -EPROTO;
}

/*
 * A committed sender sleeps killable; socket wakeups are "interruptible"
 * ones (sock_def_write_space() and friends), so wake it whatever the mode.
 */
static int newtcp_tx_wake(struct wait_queue_entry *wq, unsigned int mode,
			  int sync, void *key)
{
	return woken_wake_function(wq, TASK_NORMAL, sync, key);
}

/*
 * Push what is left of a record whose first byte went out: from @kv (the
 * header) when given, else from @m's iterator.  A record on the wire is
 * finished whatever happens to the caller meanwhile: a non-fatal signal
 * or SO_SNDTIMEO does not stop it (the signal is reported once the record
 * is out), only a fatal signal or a dead connection does.  The sleep is
 * killable and wakes every second, so the hung-task watchdog sees a
 * sleeper that makes progress.  0, or the error that cut the record.
 */
static int newtcp_seq_push(struct newtcp_sock *nsk, struct msghdr *m,
			   struct kvec *kv)
{
	DEFINE_WAIT_FUNC(wait, newtcp_tx_wake);
	struct socket *tcp = nsk->tcp;
	struct sock *isk = tcp->sk;
	int rc = 0;

	add_wait_queue(sk_sleep(&nsk->sk), &wait);
	for (;;) {
		size_t left = kv ? kv->iov_len : msg_data_left(m);

		if (!left) {
			rc = 0;
			break;
		}
		m->msg_flags |= MSG_DONTWAIT;
		if (kv)
			rc = kernel_sendmsg(tcp, m, kv, 1, left);
		else
			rc = tcp->ops->sendmsg(tcp, m, left);
		if (rc > 0) {
			if (kv) {
				kv->iov_base += rc;
				kv->iov_len -= rc;
			}
			continue;
		}
		if (rc != -EAGAIN) {
			if (!rc)
				rc = -EPIPE;
			break;
		}
		if (fatal_signal_pending(current)) {
			rc = -EINTR;
			break;
		}
		set_bit(SOCK_NOSPACE, &tcp->flags);
		/* Room but no memory (TCP under pressure): do not spin. */
		wait_woken(&wait, TASK_KILLABLE,
			   sk_stream_memory_free(isk) ? 1 : HZ);
	}
	remove_wait_queue(sk_sleep(&nsk->sk), &wait);
	return rc;
}

/*
 * Before a record's first byte: wait, as interruptibly as any TCP send,
 * until the record would go as a non-blocking writer's would (twice its
 * size free), so a signal or SO_SNDTIMEO in this wait finds nothing sent
 * and the record rarely has to wait once committed.  An error or a
 * shutdown ends the wait; the send that follows reports it.
 */
static int newtcp_seq_wait_room(struct newtcp_sock *nsk, size_t total)
{
	DEFINE_WAIT_FUNC(wait, woken_wake_function);
	struct socket *tcp = nsk->tcp;
	struct sock *isk = tcp->sk;
	long timeo = sock_sndtimeo(&nsk->sk, false);
	int rc = 0;

	if (total >= (size_t)READ_ONCE(isk->sk_sndbuf) / 2)
		return 0;
	add_wait_queue(sk_sleep(&nsk->sk), &wait);
	for (;;) {
		set_bit(SOCK_NOSPACE, &tcp->flags);
		if (sk_stream_wspace(isk) >= (int)(2 * total) ||
		    READ_ONCE(isk->sk_err) ||
		    (READ_ONCE(isk->sk_shutdown) & SEND_SHUTDOWN) ||
		    ((1 << READ_ONCE(isk->sk_state)) &
		     ~(TCPF_ESTABLISHED | TCPF_CLOSE_WAIT)))
			break;
		if (!timeo) {
			rc = -EAGAIN;
			break;
		}
		if (signal_pending(current)) {
			rc = sock_intr_errno(timeo);
			break;
		}
		WRITE_ONCE(nsk->tx_need, 2 * total);
		timeo = wait_woken(&wait, TASK_INTERRUPTIBLE, timeo);
	}
	remove_wait_queue(sk_sleep(&nsk->sk), &wait);
	return rc;
}

static int newtcp_seq_sendmsg(struct newtcp_sock *nsk, struct msghdr *msg,
			      size_t len)
{
	struct socket *tcp = nsk->tcp;
	struct sock *isk = tcp->sk;
	bool nb = msg->msg_flags & MSG_DONTWAIT;
	__be32 hdr = htonl(len);
	struct kvec kv = { .iov_base = &hdr, .iov_len = sizeof(hdr) };
	struct msghdr hmsg = { };
	size_t total = len + NEWTCP_FRAME_HDR;
	int rc;

	if (msg->msg_flags & MSG_OOB)
		return -EOPNOTSUPP;
	if (len > nsk->maxmsg)
		return -EMSGSIZE;
	if (nb) {
		if (!mutex_trylock(&nsk->tx_lock))
			return -EAGAIN;
	} else if (mutex_lock_interruptible(&nsk->tx_lock)) {
		return -ERESTARTSYS;
	}
	rc = -EPIPE;
	if (test_bit(NEWTCP_F_TX_BROKEN, &nsk->flags)) {
		if (!(msg->msg_flags & MSG_NOSIGNAL))
			send_sig(SIGPIPE, current, 0);
		goto out;
	}
	/*
	 * A record is all or nothing: without blocking it is only started
	 * when it fits (records too big to ever fit go out blocking).
	 */
	rc = -EAGAIN;
	if (nb && total < (size_t)READ_ONCE(isk->sk_sndbuf) / 2 &&
	    sk_stream_wspace(isk) < (int)(2 * total)) {
		/* poll() stays unwritable until this record would go. */
		WRITE_ONCE(nsk->tx_need, 2 * total);
		set_bit(SOCK_NOSPACE, &tcp->flags);
		goto out;
	}
	/* A blocking writer waits for the same room before it commits. */
	if (!nb) {
		rc = newtcp_seq_wait_room(nsk, total);
		if (rc)
			goto out;
	}
	WRITE_ONCE(nsk->tx_need, 0);

	/*
	 * Until the header's first byte is queued the call may end like a
	 * TCP send that sent nothing: EAGAIN, EINTR/restart, or an error.
	 */
	hmsg.msg_flags = (msg->msg_flags & (MSG_NOSIGNAL | MSG_DONTWAIT)) |
			 (len ? MSG_MORE : 0);
	rc = kernel_sendmsg(tcp, &hmsg, &kv, 1, sizeof(hdr));
	if (rc <= 0) {
		if (!rc) {
			newtcp_break(nsk);
			rc = -EPIPE;
		}
		goto out;
	}
	/* Committed: the rest goes out even if it has to wait. */
	kv.iov_base += rc;
	kv.iov_len -= rc;
	rc = newtcp_seq_push(nsk, &hmsg, &kv);
	if (!rc)
		rc = newtcp_seq_push(nsk, msg, NULL);
	if (rc) {
		newtcp_break(nsk);
		goto out;
	}
	atomic64_add(len, &nsk->bytes_sent);
	atomic64_inc(&nsk->msgs_sent);
	rc = len;
out:
	mutex_unlock(&nsk->tx_lock);
	return rc;
}

static int newtcp_read_kern(struct socket *tcp, void *buf, size_t len,
			    int flags)
{
	struct kvec kv = { .iov_base = buf, .iov_len = len };
	struct msghdr m = { };

	return kernel_recvmsg(tcp, &m, &kv, 1, len, flags);
}

/* Drop the rest of a truncated record. */
static int newtcp_discard(struct newtcp_sock *nsk, int flags)
{
	size_t chunk = min_t(size_t, nsk->rx_left, PAGE_SIZE);
	void *buf;
	int rc = 0;

	buf = kmalloc(chunk ? chunk : 1, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	while (nsk->rx_left) {
		rc = newtcp_read_kern(nsk->tcp, buf,
				      min_t(size_t, nsk->rx_left, PAGE_SIZE),
				      flags & MSG_DONTWAIT);
		if (rc <= 0) {
			if (!rc)
				rc = -ECONNRESET;
			break;
		}
		nsk->rx_left -= rc;
		rc = 0;
	}
	kfree(buf);
	if (!nsk->rx_left) {
		nsk->rx_discard = false;
		nsk->rx_in_msg = false;
		atomic64_inc(&nsk->msgs_received);
	}
	return rc;
}

/* Peek a whole record into the user buffer without consuming it. */
static int newtcp_seq_peek(struct newtcp_sock *nsk, struct msghdr *msg,
			   size_t len, int flags)
{
	int pflags = MSG_PEEK | MSG_WAITALL | (flags & MSG_DONTWAIT);
	__be32 hdr;
	size_t mlen, want;
	char *buf;
	int rc;

	if (nsk->rx_in_msg) {
		want = min_t(size_t, len, nsk->rx_left);
		return nsk->tcp->ops->recvmsg(nsk->tcp, msg, want,
					      flags | MSG_WAITALL);
	}
	rc = newtcp_read_kern(nsk->tcp, &hdr, sizeof(hdr), pflags);
	if (rc <= 0)
		return rc;
	if (rc < (int)sizeof(hdr))
		return -EAGAIN;
	mlen = ntohl(hdr);
	if (mlen > NEWTCP_MAXMSG_LIMIT)
		return newtcp_rx_violation(nsk);
	want = min(len, mlen);
	buf = kvmalloc(sizeof(hdr) + want, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	rc = newtcp_read_kern(nsk->tcp, buf, sizeof(hdr) + want, pflags);
	if (rc == (int)(sizeof(hdr) + want)) {
		rc = want;
		if (copy_to_iter(buf + sizeof(hdr), want, &msg->msg_iter) !=
		    want)
			rc = -EFAULT;
	} else if (rc >= 0) {
		rc = -EAGAIN;
	}
	kvfree(buf);
	if (rc >= 0) {
		if (want < mlen) {
			msg->msg_flags |= MSG_TRUNC;
			if (flags & MSG_TRUNC)
				rc = mlen;
		} else {
			msg->msg_flags |= MSG_EOR;
		}
	}
	return rc;
}

/*
 * Staging.  A reader that must not block gets whole records only, and a
 * peeker must not consume; but TCP need not ever hold a whole record
 * unread: its window closes first (it stays shut while less than an MSS
 * is free), so waiting for the record to gather in TCP can wait forever.
 * Such a record is drained into rx_stage as it arrives instead, up to the
 * receive buffer (or NEWTCP_MAXMSG) in size, the memory TCP would have
 * held for it anyway.
 */
static size_t newtcp_stage_max(struct newtcp_sock *nsk)
{
	return max_t(size_t, READ_ONCE(nsk->tcp->sk->sk_rcvbuf),
		     READ_ONCE(nsk->maxmsg));
}

static bool newtcp_stage_ready(struct newtcp_sock *nsk)
{
	return READ_ONCE(nsk->rx_stage) &&
	       READ_ONCE(nsk->rx_stage_len) == READ_ONCE(nsk->rx_stage_size);
}

static void newtcp_stage_free(struct newtcp_sock *nsk)
{
	kvfree(nsk->rx_stage);
	WRITE_ONCE(nsk->rx_stage, NULL);
	nsk->rx_stage_size = 0;
	nsk->rx_stage_len = 0;
}

/*
 * Decide how the next record is read: 1 when it was moved to the stage,
 * 0 when TCP serves it (it is all there, or EOF, or too big to stage),
 * or an error.
 */
/* Charged to the reader's memory cgroup: the peer chose its size. */
noinline void *newtcp_stage_alloc(size_t len)
{
	return kvmalloc(max_t(size_t, len, 1), GFP_KERNEL_ACCOUNT);
}

ALLOW_ERROR_INJECTION(newtcp_stage_alloc, NULL);

static int newtcp_stage_start(struct newtcp_sock *nsk, size_t len, int flags)
{
	struct sock *isk = nsk->tcp->sk;
	__be32 hdr;
	size_t mlen, need;
	u8 *stage;
	int rc;

	rc = newtcp_read_kern(nsk->tcp, &hdr, sizeof(hdr),
			      MSG_PEEK | MSG_WAITALL | (flags & MSG_DONTWAIT));
	if (rc <= 0)
		return rc;
	if (rc < (int)sizeof(hdr)) {
		/* EOF or a reset inside the header: the caller reports it. */
		if ((READ_ONCE(isk->sk_shutdown) & RCV_SHUTDOWN) ||
		    READ_ONCE(isk->sk_err))
			return 0;
		if (!(flags & MSG_DONTWAIT) && signal_pending(current))
			return sock_intr_errno(sock_rcvtimeo(&nsk->sk, false));
		return -EAGAIN;
	}
	mlen = ntohl(hdr);
	need = sizeof(hdr) + (flags & MSG_PEEK ? min(len, mlen) : mlen);
	if (tcp_inq(isk) >= (int)need || mlen > NEWTCP_MAXMSG_LIMIT ||
	    mlen > newtcp_stage_max(nsk))
		return 0;

	stage = newtcp_stage_alloc(mlen);
	if (!stage)
		return -ENOMEM;
	rc = newtcp_read_kern(nsk->tcp, &hdr, sizeof(hdr), MSG_DONTWAIT);
	if (rc != sizeof(hdr)) {
		/* Peeked under rx_lock, so it cannot be gone. */
		kvfree(stage);
		return rc < 0 ? rc : -EAGAIN;
	}
	nsk->rx_stage_size = mlen;
	nsk->rx_stage_len = 0;
	WRITE_ONCE(nsk->rx_stage, stage);
	return 1;
}

/* Move what has arrived of the staged record out of TCP. */
static int newtcp_stage_fill(struct newtcp_sock *nsk, int flags)
{
	struct sock *isk = nsk->tcp->sk;
	u32 want = nsk->rx_stage_size - nsk->rx_stage_len;
	int rc;

	if (!want)
		return 0;
	rc = newtcp_read_kern(nsk->tcp, nsk->rx_stage + nsk->rx_stage_len,
			      want, (flags & MSG_DONTWAIT) | MSG_WAITALL);
	if (rc < 0)
		return rc;
	WRITE_ONCE(nsk->rx_stage_len, nsk->rx_stage_len + rc);
	if ((u32)rc == want)
		return 0;
	/* EOF or a reset cut the record. */
	if (!rc || (READ_ONCE(isk->sk_shutdown) & RCV_SHUTDOWN))
		return -ECONNRESET;
	if (flags & MSG_DONTWAIT || !signal_pending(current))
		return -EAGAIN;
	return sock_intr_errno(sock_rcvtimeo(&nsk->sk, false));
}

/* Hand out the staged record once it is whole; a peek leaves it staged. */
static int newtcp_stage_recv(struct newtcp_sock *nsk, struct msghdr *msg,
			     size_t len, int flags)
{
	size_t size = nsk->rx_stage_size;
	size_t n = min(len, size);
	int rc;

	rc = newtcp_stage_fill(nsk, flags);
	if (rc)
		return rc;
	if (copy_to_iter(nsk->rx_stage, n, &msg->msg_iter) != n)
		return -EFAULT;
	msg->msg_flags |= n < size ? MSG_TRUNC : MSG_EOR;
	rc = flags & MSG_TRUNC ? size : n;
	if (!(flags & MSG_PEEK)) {
		atomic64_add(n, &nsk->bytes_received);
		atomic64_inc(&nsk->msgs_received);
		newtcp_stage_free(nsk);
	}
	return rc;
}

static int newtcp_seq_recvmsg(struct newtcp_sock *nsk, struct msghdr *msg,
			      size_t len, int flags)
{
	struct socket *tcp = nsk->tcp;
	struct sock *isk = tcp->sk;
	bool nb = flags & MSG_DONTWAIT;
	size_t want, mlen;
	int rc, copied = 0;

	if (flags & MSG_OOB)
		return -EOPNOTSUPP;
	if (nb) {
		if (!mutex_trylock(&nsk->rx_lock))
			return -EAGAIN;
	} else if (mutex_lock_interruptible(&nsk->rx_lock)) {
		return -ERESTARTSYS;
	}

	rc = -EPROTO;
	if (test_bit(NEWTCP_F_RX_BROKEN, &nsk->flags))
		goto out;
	if (nsk->rx_discard) {
		rc = newtcp_discard(nsk, flags);
		if (rc)
			goto out;
	}
	/*
	 * Every record that fits the stage is handed out whole: one that is
	 * still arriving is gathered there, so a reader whose wait ends
	 * (signal, SO_RCVTIMEO) before the end gets EINTR or EAGAIN, and
	 * the part that came stays staged for the next call.
	 */
	if (!nsk->rx_stage && !nsk->rx_in_msg && !nsk->rx_hdr_got) {
		rc = newtcp_stage_start(nsk, len, flags);
		if (rc < 0)
			goto out;
	}
	if (nsk->rx_stage) {
		rc = newtcp_stage_recv(nsk, msg, len, flags);
		goto out;
	}
	if (flags & MSG_PEEK) {
		rc = newtcp_seq_peek(nsk, msg, len, flags);
		goto out;
	}

	if (!nsk->rx_in_msg) {
		while (nsk->rx_hdr_got < NEWTCP_FRAME_HDR) {
			rc = newtcp_read_kern(tcp, nsk->rx_hdr + nsk->rx_hdr_got,
					      NEWTCP_FRAME_HDR - nsk->rx_hdr_got,
					      (flags & MSG_DONTWAIT) |
					      MSG_WAITALL);
			if (rc < 0)
				goto out;
			if (!rc) {
				/* EOF: clean between records only. */
				rc = nsk->rx_hdr_got ? -ECONNRESET : 0;
				goto out;
			}
			nsk->rx_hdr_got += rc;
		}
		nsk->rx_hdr_got = 0;
		mlen = get_unaligned_be32(nsk->rx_hdr);
		if (mlen > NEWTCP_MAXMSG_LIMIT) {
			rc = newtcp_rx_violation(nsk);
			goto out;
		}
		nsk->rx_in_msg = true;
		nsk->rx_left = mlen;
	}

	want = min_t(size_t, len, nsk->rx_left);
	if (want) {
		rc = tcp->ops->recvmsg(tcp, msg, want,
				       (flags & MSG_DONTWAIT) | MSG_WAITALL);
		if (rc <= 0) {
			if (!rc)
				rc = -ECONNRESET;
			goto out;
		}
		copied = rc;
		nsk->rx_left -= rc;
		atomic64_add(rc, &nsk->bytes_received);
		if ((size_t)rc < want) {
			/*
			 * EOF or a reset cut the record: never hand out a
			 * piece of a record that cannot complete.
			 */
			if (READ_ONCE(isk->sk_shutdown) & RCV_SHUTDOWN) {
				rc = -ECONNRESET;
				goto out;
			}
			/* Interrupted: the rest of the record comes next. */
			rc = copied;
			goto out;
		}
	}
	rc = copied;
	if (nsk->rx_left) {
		size_t full = copied + nsk->rx_left;

		msg->msg_flags |= MSG_TRUNC;
		nsk->rx_discard = true;
		/*
		 * Drop the rest as far as it is there; without blocking, the
		 * next calls drop what is still to come.  The rest never
		 * came: the record was cut, not truncated.
		 */
		if (newtcp_discard(nsk, flags) &&
		    (READ_ONCE(isk->sk_shutdown) & RCV_SHUTDOWN)) {
			msg->msg_flags &= ~MSG_TRUNC;
			rc = -ECONNRESET;
			goto out;
		}
		if (flags & MSG_TRUNC)
			rc = full;
	} else {
		nsk->rx_in_msg = false;
		msg->msg_flags |= MSG_EOR;
		atomic64_inc(&nsk->msgs_received);
	}
out:
	mutex_unlock(&nsk->rx_lock);
	return rc;
}

/* ---- data path ---------------------------------------------------------- */

/* A data call returned the inner socket's error: it is reported now. */
static void newtcp_error_reported(struct sock *sk, int rc)
{
	if (rc < 0 && READ_ONCE(sk->sk_err) == -rc)
		cmpxchg(&sk->sk_err, -rc, 0);
}

/*
 * SO_ERROR reads and clears our sk_err only; newtcp_inner_error_report()
 * copied the inner socket's error there when it was set, so an inner
 * error with ours clear was reported already and must not come back
 * from the next call (TCP: EPIPE after SO_ERROR said ECONNRESET).  Under
 * the inner lock no softirq or timer is between setting an inner error
 * and reporting it.
 */
static void newtcp_inner_err_reported(struct sock *sk, struct sock *isk)
{
	if (!READ_ONCE(isk->sk_err) || READ_ONCE(sk->sk_err))
		return;
	lock_sock(isk);
	if (!READ_ONCE(sk->sk_err))
		WRITE_ONCE(isk->sk_err, 0);
	release_sock(isk);
}

static int newtcp_sendmsg(struct sock *sk, struct msghdr *msg, size_t len)
{
	struct newtcp_sock *nsk = newtcp_sk(sk);
	bool stream = sk->sk_type == SOCK_STREAM;
	int rc;

	rc = newtcp_check_conn(sk, sock_sndtimeo(sk, msg->msg_flags &
						 MSG_DONTWAIT),
			       stream, msg->msg_flags);
	if (rc)
		return rc;
	newtcp_sync_sockopts(sk);
	if (!stream) {
		rc = newtcp_seq_sendmsg(nsk, msg, len);
	} else {
		newtcp_inner_err_reported(sk, nsk->tcp->sk);
		rc = nsk->tcp->ops->sendmsg(nsk->tcp, msg, len);
		if (rc > 0) {
			atomic64_add(rc, &nsk->bytes_sent);
			atomic64_inc(&nsk->msgs_sent);
		}
	}
	newtcp_mem_sync(nsk, nsk->tcp->sk);
	newtcp_error_reported(sk, rc);
	return rc;
}

static int newtcp_recvmsg_impl(struct sock *sk, struct msghdr *msg, size_t len,
			       int flags)
{
	struct newtcp_sock *nsk = newtcp_sk(sk);
	int rc;

	/*
	 * Urgent data and the error queue are the inner TCP socket's: TCP
	 * answers them in every state (EINVAL: no urgent data, EAGAIN: no
	 * error queued) without waiting for a connection.  Neither reads
	 * from the byte stream, so no hello can be consumed.
	 */
	if (sk->sk_type == SOCK_STREAM && (flags & (MSG_OOB | MSG_ERRQUEUE)) &&
	    READ_ONCE(sk->sk_state) != TCP_ESTABLISHED)
		return nsk->tcp->ops->recvmsg(nsk->tcp, msg, len, flags);

	rc = newtcp_check_conn(sk, sock_rcvtimeo(sk, flags & MSG_DONTWAIT),
			       false, MSG_NOSIGNAL);
	if (rc)
		return rc;
	newtcp_sync_sockopts(sk);
	if (sk->sk_type == SOCK_SEQPACKET) {
		rc = newtcp_seq_recvmsg(nsk, msg, len, flags);
	} else {
		newtcp_inner_err_reported(sk, nsk->tcp->sk);
		rc = nsk->tcp->ops->recvmsg(nsk->tcp, msg, len, flags);
		if (rc > 0 && !(flags & MSG_PEEK))
			atomic64_add(rc, &nsk->bytes_received);
	}
	newtcp_mem_sync(nsk, nsk->tcp->sk);
	newtcp_error_reported(sk, rc);
	return rc;
}
NEWTCP_DEFINE_PROTO_RECVMSG(newtcp_recvmsg, newtcp_recvmsg_impl)

/* tcp_disconnect() on the inner socket, whatever its state. */
void newtcp_inner_disconnect(struct socket *tcp)
{
	struct sockaddr unspec = { .sa_family = AF_UNSPEC };

	newtcp_kernel_connect(tcp, &unspec, sizeof(unspec), 0);
}

/*
 * shutdown() of a listener (SHUT_RD) or a connect in flight: TCP
 * disconnects the socket, sets no shutdown bits, and a connect in flight
 * fails with ECONNRESET.  Caller holds the socket lock.
 */
int newtcp_shutdown_disconnect(struct sock *sk)
{
	struct newtcp_sock *nsk = newtcp_sk(sk);
	int old = sk->sk_state;

	/*
	 * Past TCP's handshake, connect_work may be reading the server's
	 * hello from the inner socket: shut it down under that reader
	 * rather than disconnect it.
	 */
	if (old == TCP_SYN_SENT &&
	    !((1 << READ_ONCE(nsk->tcp->sk->sk_state)) &
	      (TCPF_SYN_SENT | TCPF_CLOSE)))
		kernel_sock_shutdown(nsk->tcp, SHUT_RDWR);
	else
		newtcp_inner_disconnect(nsk->tcp);
	sk->sk_state = TCP_CLOSE;
	if (old == TCP_SYN_SENT) {
		WRITE_ONCE(sk->sk_err, ECONNRESET);
		sk->sk_error_report(sk);
	}
	sk->sk_state_change(sk);
	return 0;
}

/* shutdown() of a session; the inner socket's inet_shutdown() answers. */
int newtcp_shutdown_session(struct sock *sk, int how)
{
	int err = kernel_sock_shutdown(newtcp_sk(sk)->tcp, how - 1);

	WRITE_ONCE(sk->sk_shutdown, sk->sk_shutdown | how);
	sk->sk_state_change(sk);
	return err;
}

static int newtcp_ioctl_impl(struct sock *sk, int cmd, int *karg)
{
	struct newtcp_sock *nsk = newtcp_sk(sk);
	struct sock *isk = nsk->tcp->sk;
	struct tcp_sock *tp = tcp_sk(isk);
	__be32 hdr;
	int rc = 0;

	if (sk->sk_state == TCP_LISTEN && cmd != SIOCATMARK)
		return -EINVAL;
	switch (cmd) {
	case SIOCATMARK:
		/* As tcp_ioctl(), in any state. */
		*karg = READ_ONCE(tp->urg_data) &&
			READ_ONCE(tp->urg_seq) == READ_ONCE(tp->copied_seq);
		break;
	case SIOCINQ:
		if (sk->sk_type == SOCK_SEQPACKET) {
			/*
			 * Size of the next record, as AF_UNIX answers.  A
			 * reader holding rx_lock is still waiting for that
			 * record: none is there for anybody else.
			 */
			*karg = 0;
			if (test_bit(NEWTCP_F_RX_BROKEN, &nsk->flags) ||
			    !mutex_trylock(&nsk->rx_lock))
				break;
			if (nsk->rx_stage)
				*karg = nsk->rx_stage_size;
			else if (nsk->rx_in_msg)
				*karg = nsk->rx_left;
			else if (sk->sk_state == TCP_ESTABLISHED &&
				 !nsk->rx_hdr_got &&
				 newtcp_read_kern(nsk->tcp, &hdr, sizeof(hdr),
						  MSG_PEEK | MSG_DONTWAIT) ==
				 sizeof(hdr))
				*karg = ntohl(hdr);
			else
				*karg = 0;
			mutex_unlock(&nsk->rx_lock);
			break;
		}
		lock_sock(isk);
		*karg = isk->sk_state == TCP_LISTEN ? 0 : tcp_inq(isk);
		release_sock(isk);
		break;
	case SIOCOUTQ:
	case SIOCOUTQNSD:
		/* As tcp_ioctl(): nothing queued while connecting. */
		if (sk->sk_state == TCP_SYN_SENT ||
		    ((1 << isk->sk_state) & (TCPF_SYN_SENT | TCPF_SYN_RECV)))
			*karg = 0;
		else if (cmd == SIOCOUTQ)
			*karg = READ_ONCE(tp->write_seq) - tp->snd_una;
		else
			*karg = READ_ONCE(tp->write_seq) -
				READ_ONCE(tp->snd_nxt);
		break;
	default:
		rc = -ENOIOCTLCMD;
	}
	return rc;
}
NEWTCP_DEFINE_PROTO_IOCTL(newtcp_ioctl, newtcp_ioctl_impl)

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
static int newtcp_setsockopt_sol_socket(struct sock *sk, int optname,
					sockptr_t optval, unsigned int optlen)
{
	int rc;

	rc = sock_setsockopt(sk->sk_socket, SOL_SOCKET, optname, optval,
			     optlen);
	if (rc)
		return rc;
	lock_sock(sk);
	newtcp_sync_sockopts(sk);
	release_sock(sk);
	return 0;
}

static int newtcp_setsockopt(struct sock *sk, int level, int optname,
			     sockptr_t optval, unsigned int optlen)
{
	struct newtcp_sock *nsk = newtcp_sk(sk);
	u32 val;
	int rc;

	if (level == SOL_SOCKET)
		return newtcp_setsockopt_sol_socket(sk, optname, optval,
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

static int newtcp_getsockopt(struct sock *sk, int level, int optname,
			     char __user *optval, int __user *optlen)
{
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

int newtcp_getname_sk(struct sock *sk, struct sockaddr *uaddr, int peer)
{
	struct sockaddr_newtcp *a = (struct sockaddr_newtcp *)uaddr;
	struct newtcp_sock *nsk = newtcp_sk(sk);
	struct sockaddr_in sin;
	int rc;

	if (peer) {
		if (READ_ONCE(sk->sk_state) != TCP_ESTABLISHED)
			return -ENOTCONN;
		rc = kernel_getpeername(nsk->tcp, (struct sockaddr *)&sin);
	} else {
		rc = kernel_getsockname(nsk->tcp, (struct sockaddr *)&sin);
	}
	if (rc < 0)
		return rc;
	memset(a, 0, sizeof(*a));
	a->snt_family = newtcp_family;
	a->snt_port = sin.sin_port;
	a->snt_addr = sin.sin_addr;
	return sizeof(*a);
}

/*
 * The caller waits on the outer socket; the inner one is only asked for
 * its mask (a NULL poll_table registers nothing), and its callbacks wake
 * the outer wait queue.
 */
__poll_t newtcp_poll_mask(struct file *file, struct socket *sock)
{
	struct sock *sk = sock->sk;
	struct newtcp_sock *nsk = newtcp_sk(sk);
	__poll_t mask;
	int need;

	switch (READ_ONCE(sk->sk_state)) {
	case TCP_LISTEN:
		mask = list_empty_careful(&nsk->accept_q) ? 0 :
			EPOLLIN | EPOLLRDNORM;
		break;
	case TCP_SYN_SENT:
		mask = 0;
		break;
	case TCP_ESTABLISHED:
		newtcp_mem_sync(nsk, nsk->tcp->sk);
		/*
		 * EPOLLERR is our sk_err's (below): SO_ERROR reads and clears
		 * ours, the inner socket's stays set.
		 */
		mask = nsk->tcp->ops->poll(file, nsk->tcp, NULL) & ~EPOLLERR;
		if (newtcp_stage_ready(nsk))
			mask |= EPOLLIN | EPOLLRDNORM;
		/*
		 * TCP's idea of writable is a third of the buffer free; a
		 * SEQPACKET record that got EAGAIN needs its own room.  Keep
		 * SOCK_NOSPACE set so each ACK that frees space wakes us.
		 */
		need = READ_ONCE(nsk->tx_need);
		if (need && (mask & EPOLLOUT) &&
		    sk_stream_wspace(nsk->tcp->sk) < need) {
			set_bit(SOCK_NOSPACE, &nsk->tcp->flags);
			mask &= ~(EPOLLOUT | EPOLLWRNORM);
		}
		break;
	default:
		/* As tcp_poll() says for a closed socket. */
		mask = EPOLLOUT | EPOLLWRNORM | EPOLLHUP;
		if (sk->sk_shutdown & RCV_SHUTDOWN)
			mask |= EPOLLIN | EPOLLRDNORM | EPOLLRDHUP;
		break;
	}
	if (READ_ONCE(sk->sk_err))
		mask |= EPOLLERR;
	return mask;
}

static int newtcp_hash(struct sock *sk)
{
	newtcp_proc_link(newtcp_sk(sk));
	return 0;
}

static void newtcp_unhash(struct sock *sk)
{
	newtcp_proc_unlink(newtcp_sk(sk));
}

struct proto newtcp_prot = {
	.name			= "NEW_TCP",
	.owner			= THIS_MODULE,
	.obj_size		= sizeof(struct newtcp_sock),
	.init			= newtcp_init_sock,
	.destroy		= newtcp_destroy_sock,
	.close			= newtcp_close,
	.bind			= newtcp_bind,
	.connect		= newtcp_connect,
	.disconnect		= newtcp_disconnect,
	.accept			= newtcp_accept,
	.ioctl			= newtcp_ioctl,
	.setsockopt		= newtcp_setsockopt,
	.getsockopt		= newtcp_getsockopt,
	.sendmsg		= newtcp_sendmsg,
	.recvmsg		= newtcp_recvmsg,
	.hash			= newtcp_hash,
	.unhash			= newtcp_unhash,
	.rehash			= newtcp_rehash,
	.keepalive		= newtcp_keepalive,
	.sockets_allocated	= &newtcp_sockets_allocated,
	.memory_allocated	= &newtcp_memory_allocated,
	/* orphan_count and per_cpu_fw_alloc: newtcp_proto_counters_init() */
	.sysctl_mem		= newtcp_sysctl_mem,
	.sysctl_wmem		= newtcp_sysctl_wmem,
	.sysctl_rmem		= newtcp_sysctl_rmem,
};

int newtcp_proto_register(void)
{
	unsigned long limit;
	int rc;

	/* Same shape as tcp_init_mem(). */
	limit = nr_free_buffer_pages() / 16;
	limit = max(limit, 128UL);
	newtcp_sysctl_mem[0] = limit / 4 * 3;
	newtcp_sysctl_mem[1] = limit;
	newtcp_sysctl_mem[2] = newtcp_sysctl_mem[0] * 2;

	newtcp_wq = alloc_workqueue("newtcp", WQ_UNBOUND, 0);
	if (!newtcp_wq)
		return -ENOMEM;
	rc = percpu_counter_init(&newtcp_sockets_allocated, 0, GFP_KERNEL);
	if (rc)
		goto out_wq;
	rc = newtcp_proto_counters_init(&newtcp_prot);
	if (rc)
		goto out_sockets;

	/* Own slab cache: obj_size differs from every other protocol. */
	rc = proto_register(&newtcp_prot, 1);
	if (rc)
		goto out_counters;
	return 0;

out_counters:
	newtcp_proto_counters_destroy(&newtcp_prot);
out_sockets:
	percpu_counter_destroy(&newtcp_sockets_allocated);
out_wq:
	destroy_workqueue(newtcp_wq);
	return rc;
}

void newtcp_proto_unregister(void)
{
	/* Handshakes still running hold module references; wait for them. */
	destroy_workqueue(newtcp_wq);
	proto_unregister(&newtcp_prot);
	newtcp_proto_counters_destroy(&newtcp_prot);
	percpu_counter_destroy(&newtcp_sockets_allocated);
}
