// SPDX-License-Identifier: GPL-2.0
/*
 * AF_INET_NEW_TCP: the NEW_TCP protocol family.
 *
 * Every NEW_TCP socket owns an inner kernel TCP socket (nsk->tcp), as
 * AF_SMC owns its clcsock.  This file registers the family and holds its
 * proto_ops, which do the work themselves as af_smc.c's do; struct proto
 * is what the socket core needs from a protocol (slab, accounting,
 * /proc/net/protocols, the rehash and keepalive hooks).  The inner
 * socket's wakeup callbacks are forwarded here to the NEW_TCP socket
 * under sk_callback_lock, so that poll/epoll and blocking calls on the
 * outer socket wake exactly when the TCP socket does.
 *
 * The other concerns have a file each: the handshake
 * (newtcp_handshake.c), send (newtcp_tx.c) and receive (newtcp_rx.c)
 * paths, close and shutdown (newtcp_close.c), options
 * (newtcp_sockopt.c), /proc/net/newtcp (newtcp_proc.c) and sock_diag
 * (newtcp_diag.c).
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/error-injection.h>
#include <linux/in.h>
#include <linux/ioctl.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/net.h>
#include <linux/percpu_counter.h>
#include <linux/security.h>
#include <linux/sockios.h>
#include <linux/swap.h>
#include <linux/tcp.h>
#include <linux/termios.h>
#include <net/inet_connection_sock.h>
#include <net/sock.h>
#include <net/tcp.h>
#include <net/tcp_states.h>

#include "newtcp.h"
#include "newtcp_trace.h"

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
		 "How long either side waits for the peer's hello (ms): init_net's net.newtcp.handshake_ms, and a new namespace's initial value");

static struct proto newtcp_prot;
static struct percpu_counter newtcp_sockets_allocated;
static atomic_long_t newtcp_memory_allocated;
static long newtcp_sysctl_mem[3];
static int newtcp_sysctl_wmem[3] = { 4096, 16384, 4194304 };
static int newtcp_sysctl_rmem[3] = { 4096, 131072, 6291456 };

/* ---- memory accounting ------------------------------------------------ */

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

/*
 * A NEW_TCP socket's memory is its inner TCP socket's queues and a
 * staged record.  TCP charges the queues to TCP; our share is mirrored
 * into newtcp_prot's memory_allocated (pages, as every protocol counts)
 * whenever data is sent, received, arrives or is polled for, so the
 * NEW_TCP line of /proc/net/protocols shows what NEW_TCP holds.
 */
void newtcp_mem_sync(struct newtcp_sock *nsk, struct sock *isk)
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

void newtcp_mem_uncharge(struct newtcp_sock *nsk)
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
		 * Once: a shutdown() of the closed inner socket calls this
		 * again, after SO_ERROR may have read and cleared our copy.
		 */
		if (isk->sk_state != TCP_CLOSE)
			clear_bit(NEWTCP_F_INNER_CLOSED, &nsk->flags);
		else if (!test_and_set_bit(NEWTCP_F_INNER_CLOSED, &nsk->flags) &&
			 READ_ONCE(isk->sk_err) &&
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
void newtcp_restore_callbacks(struct newtcp_sock *nsk, struct sock *isk)
{
	write_lock_bh(&isk->sk_callback_lock);
	isk->sk_user_data = NULL;
	isk->sk_data_ready = nsk->saved_data_ready;
	isk->sk_write_space = nsk->saved_write_space;
	isk->sk_state_change = nsk->saved_state_change;
	isk->sk_error_report = nsk->saved_error_report;
	write_unlock_bh(&isk->sk_callback_lock);
}

/* A data call returned the inner socket's error: it is reported now. */
void newtcp_error_reported(struct sock *sk, int rc)
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
void newtcp_inner_err_reported(struct sock *sk, struct sock *isk)
{
	if (!READ_ONCE(isk->sk_err) || READ_ONCE(sk->sk_err))
		return;
	lock_sock(isk);
	if (!READ_ONCE(sk->sk_err))
		WRITE_ONCE(isk->sk_err, 0);
	release_sock(isk);
}

/*
 * Every change of the NEW_TCP socket's own state goes through here, for
 * the newtcp_state tracepoint, as TCP's go through tcp_set_state().
 */
void newtcp_set_state(struct sock *sk, int state)
{
	int old = sk->sk_state;

	if (old == state)
		return;
	trace_newtcp_state(sk, old, state);
	WRITE_ONCE(sk->sk_state, state);
}

/* ---- socket setup and teardown ---------------------------------------- */

/* Every NEW_TCP sock, for socket() and accept(). */
noinline struct sock *newtcp_sk_alloc(struct net *net, int kern)
{
	return sk_alloc(net, newtcp_family, GFP_KERNEL, &newtcp_prot, kern);
}

ALLOW_ERROR_INJECTION(newtcp_sk_alloc, NULL);

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

/* What a new socket and an accepted one start with. */
static void newtcp_sk_setup(struct sock *sk)
{
	struct newtcp_sock *nsk = newtcp_sk(sk);

	INIT_WORK(&nsk->connect_work, newtcp_connect_work);
	INIT_WORK(&nsk->listen_work, newtcp_listen_work);
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
	nsk->rx_len = 0;
	nsk->rx_in_msg = false;
	nsk->rx_discard = false;
	nsk->rx_hdr_got = 0;
	nsk->rx_stage = NULL;
	nsk->rx_stage_size = 0;
	nsk->rx_stage_len = 0;
	nsk->maxmsg = READ_ONCE(*newtcp_net(sock_net(sk))->max_record);
	nsk->nodelay = 0;
	atomic_long_set(&nsk->mem_pages, 0);
	atomic64_set(&nsk->bytes_sent, 0);
	atomic64_set(&nsk->bytes_received, 0);
	atomic64_set(&nsk->msgs_sent, 0);
	atomic64_set(&nsk->msgs_received, 0);

	sk_sockets_allocated_inc(sk);
	newtcp_prot_inuse_add(sock_net(sk), sk->sk_prot, 1);
	newtcp_hash(sk);
}

/* socket(): the inner TCP socket, attached. */
static int newtcp_init_sock(struct sock *sk)
{
	struct newtcp_sock *nsk = newtcp_sk(sk);
	struct socket *tcp;
	int rc;

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

/* Off /proc/net/newtcp and out of the counts; the release path calls it. */
void newtcp_destroy_sock(struct sock *sk)
{
	kvfree(newtcp_sk(sk)->rx_stage);
	newtcp_sk(sk)->rx_stage = NULL;
	newtcp_unhash(sk);
	newtcp_prot_inuse_add(sock_net(sk), sk->sk_prot, -1);
	sk_sockets_allocated_dec(sk);
}

/* ---- proto_ops --------------------------------------------------------- */

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

static int newtcp_bind(struct socket *sock, newtcp_uaddr_t *uaddr,
		       int addr_len)
{
	struct sock *sk = sock->sk;
	struct newtcp_sock *nsk = newtcp_sk(sk);
	struct sockaddr_in sin;
	int rc;

	rc = newtcp_to_sin((struct sockaddr *)uaddr, addr_len, &sin);
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

/* inet_stream_connect()'s state machine over the NEW_TCP handshake. */
static int newtcp_connect(struct socket *sock, newtcp_uaddr_t *addr,
			  int addr_len, int flags)
{
	struct sockaddr *uaddr = (struct sockaddr *)addr;
	struct sock *sk = sock->sk;
	struct sockaddr_in sin;
	long timeo;
	int err, rc;

	lock_sock(sk);
	if (addr_len >= (int)sizeof(uaddr->sa_family) &&
	    uaddr->sa_family == AF_UNSPEC) {
		err = newtcp_disconnect(sk);
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
		err = newtcp_to_sin(uaddr, addr_len, &sin);
		if (err)
			goto out;
		err = newtcp_handshake_start(sk, &sin);
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
		rc = newtcp_wait_connected(sk, &timeo);
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

static int newtcp_listen(struct socket *sock, int backlog)
{
	struct sock *sk = sock->sk;
	struct newtcp_sock *nsk = newtcp_sk(sk);
	int rc;

	if (sock->state != SS_UNCONNECTED)
		return -EINVAL;
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
					    READ_ONCE(*newtcp_net(sock_net(sk))->max_handshakes)),
				 READ_ONCE(sock_net(sk)->core.sysctl_somaxconn)));
	if (rc)
		goto out;
	WRITE_ONCE(sk->sk_max_ack_backlog, backlog);
	newtcp_set_state(sk, TCP_LISTEN);
out:
	release_sock(sk);
	return rc;
}

/*
 * The first connection whose handshake went through becomes a NEW_TCP
 * socket here, set up as TCP sets up a child from its listener, and is
 * grafted onto @newsock.
 */
static int newtcp_accept(struct socket *sock, struct socket *newsock,
			 NEWTCP_ACCEPT_ARGS)
{
	struct sock *sk = sock->sk, *newsk, *isk;
	struct newtcp_sock *nsk = newtcp_sk(sk), *cnsk;
	struct newtcp_pending *p;
	long timeo;
	int err;

	/*
	 * Allocated before a connection is taken off the queue: when it
	 * fails, accept() fails and the connection stays queued for the
	 * next call, where dropping it would lose an established peer.
	 */
	newsk = newtcp_sk_alloc(sock_net(sk), NEWTCP_ACCEPT_KERN);
	if (!newsk)
		return -ENOMEM;
	lock_sock(sk);
	err = -EINVAL;
	if (sk->sk_state != TCP_LISTEN)
		goto out_unlock;
	timeo = sock_rcvtimeo(sk, NEWTCP_ACCEPT_FLAGS & O_NONBLOCK);
	err = newtcp_wait_accept(sk, timeo);
	if (err)
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
	newtcp_sk_setup(newsk);
	cnsk->maxmsg = nsk->maxmsg;
	cnsk->nodelay = nsk->nodelay;
	isk = p->tcp->sk;
	newtcp_attach(cnsk, p->tcp);
	kfree(p);
	newtcp_set_state(newsk, TCP_ESTABLISHED);
	/*
	 * An error the connection got while queued is ours to report, one
	 * that came before the callbacks saw us ESTABLISHED too: they copy
	 * it or we do (the barrier pairs with the test_and_set_bit() in
	 * newtcp_inner_state_change()).
	 */
	smp_mb();
	if (READ_ONCE(isk->sk_state) == TCP_CLOSE)
		set_bit(NEWTCP_F_INNER_CLOSED, &cnsk->flags);
	if (READ_ONCE(isk->sk_err))
		WRITE_ONCE(newsk->sk_err, READ_ONCE(isk->sk_err));
	newtcp_sync_sockopts(newsk);
	if (cnsk->nodelay)
		newtcp_apply_nodelay(cnsk);

	lock_sock(newsk);
	sock_graft(newsk, newsock);
	newsock->state = SS_CONNECTED;
	newtcp_custom_sol_socket(newsock);
	/* Now that it has a file: the inner socket's owner. */
	newtcp_inherit_owner(newsk);
	release_sock(newsk);
	return 0;

out_unlock:
	release_sock(sk);
	/* Never set up (no sock_init_data()): freed as sk_alloc() made it. */
	sk_free(newsk);
	return err;
}

static int newtcp_getname(struct socket *sock, struct sockaddr *uaddr,
			  int peer)
{
	struct sockaddr_newtcp *a = (struct sockaddr_newtcp *)uaddr;
	struct sock *sk = sock->sk;
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
static __poll_t newtcp_poll(struct file *file, struct socket *sock,
			    poll_table *wait)
{
	struct sock *sk = sock->sk;
	struct newtcp_sock *nsk = newtcp_sk(sk);
	__poll_t mask;
	int need;

	sock_poll_wait(file, sock, wait);
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
		else if (newtcp_stage_waits(nsk))
			mask &= ~(EPOLLIN | EPOLLRDNORM);
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
	/* The state before the error: see newtcp_connect_work(). */
	smp_rmb();
	if (READ_ONCE(sk->sk_err))
		mask |= EPOLLERR;
	return mask;
}

/* tcp_ioctl()'s answers, in records for SEQPACKET's SIOCINQ. */
static int newtcp_ioctl(struct socket *sock, unsigned int cmd,
			unsigned long arg)
{
	struct sock *sk = sock->sk;
	struct newtcp_sock *nsk = newtcp_sk(sk);
	struct sock *isk = nsk->tcp->sk;
	struct tcp_sock *tp = tcp_sk(isk);
	int karg;

	switch (cmd) {
	case SIOCATMARK:
		/* Urgent data exists on STREAM only (the inner TCP's). */
		if (sock->type != SOCK_STREAM)
			return -ENOIOCTLCMD;
		/* As tcp_ioctl(), in any state. */
		karg = READ_ONCE(tp->urg_data) &&
		       READ_ONCE(tp->urg_seq) == READ_ONCE(tp->copied_seq);
		break;
	case SIOCINQ:
		if (sk->sk_state == TCP_LISTEN)
			return -EINVAL;
		if (sk->sk_type == SOCK_SEQPACKET) {
			karg = newtcp_rx_next_len(nsk);
			break;
		}
		lock_sock(isk);
		karg = isk->sk_state == TCP_LISTEN ? 0 : tcp_inq(isk);
		release_sock(isk);
		break;
	case SIOCOUTQ:
	case SIOCOUTQNSD:
		if (sk->sk_state == TCP_LISTEN)
			return -EINVAL;
		/* As tcp_ioctl(): nothing queued while connecting. */
		if (sk->sk_state == TCP_SYN_SENT ||
		    ((1 << isk->sk_state) & (TCPF_SYN_SENT | TCPF_SYN_RECV)))
			karg = 0;
		else if (cmd == SIOCOUTQ)
			karg = READ_ONCE(tp->write_seq) - tp->snd_una;
		else
			karg = READ_ONCE(tp->write_seq) -
			       READ_ONCE(tp->snd_nxt);
		break;
	default:
		return -ENOIOCTLCMD;
	}
	return put_user(karg, (int __user *)arg);
}

/*
 * The tables cannot be const: .family is the load-time "family"
 * parameter.  They are filled in by newtcp_init() and become read-only
 * once the module is live.  STREAM and SEQPACKET share the handlers;
 * they tell the types apart by sk_type.
 */
#define NEWTCP_OPS							\
	.owner		= THIS_MODULE,					\
	.release	= newtcp_release,				\
	.bind		= newtcp_bind,					\
	.connect	= newtcp_connect,				\
	.socketpair	= sock_no_socketpair,				\
	.accept		= newtcp_accept,				\
	.getname	= newtcp_getname,				\
	.poll		= newtcp_poll,					\
	.ioctl		= newtcp_ioctl,					\
	.gettstamp	= sock_gettstamp,				\
	.listen		= newtcp_listen,				\
	.shutdown	= newtcp_shutdown,				\
	.setsockopt	= newtcp_setsockopt,				\
	.getsockopt	= newtcp_getsockopt,				\
	.sendmsg	= newtcp_sendmsg,				\
	.recvmsg	= newtcp_recvmsg,				\
	.mmap		= sock_no_mmap

/*
 * SEQPACKET reads whole records: SO_RCVLOWAT is only stored, as on
 * AF_UNIX.  checkpatch asks for const here and below: .family is the
 * load-time parameter (see NEWTCP_OPS), __ro_after_init instead.
 */
static struct proto_ops newtcp_stream_ops __ro_after_init = {
	NEWTCP_OPS,
	.set_rcvlowat	= newtcp_set_rcvlowat,
};

/* Not const either: .family, as above. */
static struct proto_ops newtcp_seqpacket_ops __ro_after_init = {
	NEWTCP_OPS,
};

/*
 * What the socket core asks of a protocol: the slab (obj_size), the
 * NEW_TCP line of /proc/net/protocols (sockets and memory), and the two
 * hooks sock_setsockopt() calls on the socket it changes.
 */
static struct proto newtcp_prot = {
	.name			= "NEW_TCP",
	.owner			= THIS_MODULE,
	.obj_size		= sizeof(struct newtcp_sock),
	.rehash			= newtcp_rehash,
	.keepalive		= newtcp_keepalive,
	.sockets_allocated	= &newtcp_sockets_allocated,
	.memory_allocated	= &newtcp_memory_allocated,
	/* per_cpu_fw_alloc: newtcp_proto_counters_init() */
	.sysctl_mem		= newtcp_sysctl_mem,
	.sysctl_wmem		= newtcp_sysctl_wmem,
	.sysctl_rmem		= newtcp_sysctl_rmem,
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

	rc = newtcp_init_sock(sk);
	if (rc) {
		/* Nothing to tear down for a half set up socket. */
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

static int newtcp_proto_register(void)
{
	unsigned long limit;
	int rc;

	/* Same shape as tcp_init_mem(). */
	limit = nr_free_buffer_pages() / 16;
	limit = max(limit, 128UL);
	newtcp_sysctl_mem[0] = limit / 4 * 3;
	newtcp_sysctl_mem[1] = limit;
	newtcp_sysctl_mem[2] = newtcp_sysctl_mem[0] * 2;

	rc = percpu_counter_init(&newtcp_sockets_allocated, 0, GFP_KERNEL);
	if (rc)
		return rc;
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
	return rc;
}

static void newtcp_proto_unregister(void)
{
	proto_unregister(&newtcp_prot);
	newtcp_proto_counters_destroy(&newtcp_prot);
	percpu_counter_destroy(&newtcp_sockets_allocated);
}

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

	rc = newtcp_handshake_init();
	if (rc)
		return rc;
	rc = newtcp_proto_register();
	if (rc) {
		pr_err("proto_register failed: %d\n", rc);
		goto out_handshake;
	}
	rc = newtcp_proc_init();
	if (rc)
		goto out_proto;
	rc = newtcp_sysctl_init();
	if (rc)
		goto out_proc;

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
		goto out_sysctl;
	}

	newtcp_diag_init();
	pr_info("NEW_TCP registered as address family %d\n", newtcp_family);
	return 0;

out_sysctl:
	newtcp_sysctl_exit();
out_proc:
	newtcp_proc_exit();
out_proto:
	newtcp_proto_unregister();
out_handshake:
	newtcp_handshake_exit();
	return rc;
}

static void __exit newtcp_exit(void)
{
	/* Sockets pin the module, so none exist by now. */
	newtcp_diag_exit();
	sock_unregister(newtcp_family);
	newtcp_sysctl_exit();
	newtcp_proc_exit();
	/* Handshakes still running hold module references: first. */
	newtcp_handshake_exit();
	newtcp_proto_unregister();
}

module_init(newtcp_init);
module_exit(newtcp_exit);

MODULE_DESCRIPTION("AF_INET_NEW_TCP protocol family");
MODULE_LICENSE("GPL");
#ifdef AF_INET_NEW_TCP
/* socket(AF_INET_NEW_TCP, ...) asks for "net-pf-46": this module. */
MODULE_ALIAS_NETPROTO(AF_INET_NEW_TCP);
#endif
