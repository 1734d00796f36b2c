// SPDX-License-Identifier: GPL-2.0
/*
 * NEW_TCP handshake (PROTOCOL.md): the hellos each side sends on the
 * inner TCP connection before it becomes a NEW_TCP session.
 *
 * Neither side ever sleeps on the peer: the inner socket's data_ready
 * and state_change callbacks queue the work that reads what has come of
 * a hello (without blocking), and a deadline handshake_ms after it began
 * ends the wait.  An idle or slow peer costs its TCP socket and a
 * newtcp_pending, not a worker.  See API.md, "Handshake engine".
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/error-injection.h>
#include <linux/moduleparam.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/workqueue.h>
#include <net/sock.h>
#include <net/tcp_states.h>

#include "newtcp.h"
#include "newtcp_trace.h"

static struct workqueue_struct *newtcp_wq;

unsigned int newtcp_max_handshakes = 1024;
module_param_named(max_handshakes, newtcp_max_handshakes, uint, 0644);
MODULE_PARM_DESC(max_handshakes,
		 "Handshakes one listener has in flight at most; a new connection beyond it resets the oldest (default 1024): init_net's net.newtcp.max_handshakes, and a new namespace's initial value");

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

/* Take a reference for the work item; dropped by the work or canceller. */
void newtcp_queue(struct sock *sk, struct work_struct *work)
{
	sock_hold(sk);
	if (!queue_work(newtcp_wq, work))
		sock_put(sk);
}

/* Drop a TCP connection that never became a NEW_TCP one, with a RST. */
void newtcp_abort_tcp(struct socket *tcp)
{
	sock_no_linger(tcp->sk);
	sock_release(tcp);
}

/*
 * Close a refused connection with a FIN after the reply: TCP retransmits
 * a lost reply, where a RST would turn the client's ECONNREFUSED into
 * ECONNRESET.  Bytes the client sent past its hello still make TCP
 * reset.  Never linger in our worker on the listener's SO_LINGER.
 */
static void newtcp_close_refused(struct socket *tcp)
{
	lock_sock(tcp->sk);
	sock_reset_flag(tcp->sk, SOCK_LINGER);
	release_sock(tcp->sk);
	sock_release(tcp);
}

/* Connections a closed listener never handed out: reset. */
void newtcp_release_pending(struct list_head *q)
{
	struct newtcp_pending *p, *tmp;

	list_for_each_entry_safe(p, tmp, q, list) {
		list_del(&p->list);
		newtcp_abort_tcp(p->tcp);
		kfree(p);
	}
}

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

void newtcp_hs_timeout(struct work_struct *work)
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

/* A refusal status as the result of the handshake it ends. */
static int newtcp_status_result(u8 status)
{
	switch (status) {
	case NEWTCP_ST_BADTYPE:
		return NEWTCP_HS_BADTYPE;
	case NEWTCP_ST_BADVERSION:
		return NEWTCP_HS_BADVERSION;
	case NEWTCP_ST_BUSY:
		return NEWTCP_HS_BUSY;
	}
	return NEWTCP_HS_REFUSED;
}

/*
 * One step of the client handshake, caller holding the socket lock:
 * 0 when the reply accepted us, -EAGAIN while it has not all come (the
 * callbacks or the deadline bring us back), else the connect() error.
 * *@result: how it ended, for the tracepoint.
 */
static int newtcp_client_handshake(struct newtcp_sock *nsk, int *result)
{
	struct socket *tcp = nsk->tcp;
	struct sock *isk = tcp->sk;
	struct newtcp_hello h;
	long t;
	int rc;

	*result = NEWTCP_HS_REFUSED;
	if (!test_bit(NEWTCP_F_HELLO_SENT, &nsk->flags)) {
		if (!((1 << isk->sk_state) & (TCPF_ESTABLISHED | TCPF_CLOSE_WAIT)))
			return sock_error(isk) ? : -ECONNREFUSED;
		rc = newtcp_send_hello(tcp, newtcp_wire_type(&nsk->sk), 0, 0);
		if (rc)
			return rc == -EPIPE ? -ECONNREFUSED : rc;
		set_bit(NEWTCP_F_HELLO_SENT, &nsk->flags);
		t = newtcp_handshake_jiffies(sock_net(&nsk->sk));
		nsk->hs_deadline = jiffies + t;
		sock_hold(&nsk->sk);
		if (!queue_delayed_work(newtcp_wq, &nsk->hs_timeout, t))
			sock_put(&nsk->sk);
	}
	rc = newtcp_recv_hello(tcp, nsk->hs_buf, &nsk->hs_got);
	if (rc == -EAGAIN && time_after_eq(jiffies, nsk->hs_deadline)) {
		newtcp_mib_inc(sock_net(&nsk->sk), NEWTCP_MIB_ACTIVE_TIMEDOUT);
		*result = NEWTCP_HS_TIMEDOUT;
		return -ETIMEDOUT;
	}
	if (rc)
		return rc;
	memcpy(&h, nsk->hs_buf, sizeof(h));
	if (h.magic != htonl(NEWTCP_MAGIC) || h.version != NEWTCP_VERSION ||
	    !(h.flags & NEWTCP_HELLO_REPLY) ||
	    h.type != newtcp_wire_type(&nsk->sk) || h.status != NEWTCP_ST_OK) {
		newtcp_mib_inc(sock_net(&nsk->sk), NEWTCP_MIB_ACTIVE_REFUSED);
		if (h.magic == htonl(NEWTCP_MAGIC) &&
		    (h.flags & NEWTCP_HELLO_REPLY))
			*result = newtcp_status_result(h.status);
		return -ECONNREFUSED;
	}
	newtcp_mib_inc(sock_net(&nsk->sk), NEWTCP_MIB_ACTIVE_OK);
	*result = NEWTCP_HS_OK;
	return 0;
}

void newtcp_connect_work(struct work_struct *work)
{
	struct newtcp_sock *nsk = container_of(work, struct newtcp_sock,
					       connect_work);
	struct sock *sk = &nsk->sk;
	struct sock *isk = nsk->tcp->sk;
	int err, result;

	lock_sock(sk);
	if (sk->sk_state != TCP_SYN_SENT || isk->sk_state == TCP_SYN_SENT)
		goto out;
	err = newtcp_client_handshake(nsk, &result);
	if (err == -EAGAIN)
		goto out;
	newtcp_hs_cancel_timeout(nsk);
	/* Before the wakeup: connect() returns after the event. */
	trace_newtcp_handshake_end(sk, isk, NEWTCP_ROLE_CLIENT, result, err);
	if (err) {
		/* Never let a foreign peer see our data. */
		if (isk->sk_state != TCP_CLOSE)
			kernel_sock_shutdown(nsk->tcp, SHUT_RDWR);
		/*
		 * As tcp_reset() then tcp_done(): the error before the
		 * close, so that a lockless poll() that sees the hang-up
		 * sees POLLERR too, and the SO_ERROR read after it gets the
		 * error rather than 0, "connected".
		 */
		WRITE_ONCE(sk->sk_err, -err);
		smp_wmb();	/* pairs with smp_rmb() in newtcp_poll() */
		newtcp_set_state(sk, TCP_CLOSE);
		WRITE_ONCE(sk->sk_shutdown, SHUTDOWN_MASK);
		sk->sk_error_report(sk);
	} else {
		newtcp_set_state(sk, TCP_ESTABLISHED);
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

/*
 * Start the inner TCP connect to @sin; the handshake follows from the
 * inner socket's callbacks.  Caller holds the socket lock.
 */
int newtcp_handshake_start(struct sock *sk, struct sockaddr_in *sin)
{
	struct newtcp_sock *nsk = newtcp_sk(sk);
	int rc;

	if (nsk->tcp->sk->sk_state != TCP_CLOSE)
		return -EISCONN;
	newtcp_sync_sockopts(sk);
	clear_bit(NEWTCP_F_HS_QUEUED, &nsk->flags);
	clear_bit(NEWTCP_F_HELLO_SENT, &nsk->flags);
	nsk->hs_got = 0;
	sk->sk_err = 0;
	newtcp_set_state(sk, TCP_SYN_SENT);
	rc = newtcp_kernel_connect(nsk->tcp, sin, sizeof(*sin), O_NONBLOCK);
	if (rc && rc != -EINPROGRESS) {
		newtcp_set_state(sk, TCP_CLOSE);
		return rc;
	}
	/* The inner connect chose the source address and port. */
	trace_newtcp_handshake_start(sk, nsk->tcp->sk, NEWTCP_ROLE_CLIENT);
	/* It may have finished before the callback could see SYN_SENT. */
	if (nsk->tcp->sk->sk_state != TCP_SYN_SENT &&
	    !test_and_set_bit(NEWTCP_F_HS_QUEUED, &nsk->flags))
		newtcp_queue(sk, &nsk->connect_work);
	return 0;
}

/* Wait out a handshake in flight; caller holds the socket lock. */
int newtcp_wait_connected(struct sock *sk, long *timeo)
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

/* 0 when the NEW_TCP session is up, else the error for this call. */
int newtcp_wait_session(struct sock *sk, long timeo, bool stream_tx,
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

/*
 * Caller holds the listener's lock; @p's work then frees it, and traces
 * the end of its handshake as @why.
 */
void newtcp_hs_kill(struct newtcp_sock *lnsk, struct newtcp_pending *p,
		    enum newtcp_hs_result why)
{
	list_del_init(&p->list);
	lnsk->hs_pending--;
	p->end = why;
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

/* A refusal the listener sent: in all and by its reason. */
static void newtcp_count_refusal(struct net *net, u8 status)
{
	newtcp_mib_inc(net, NEWTCP_MIB_PASSIVE_REFUSED);
	if (status == NEWTCP_ST_BADVERSION)
		newtcp_mib_inc(net, NEWTCP_MIB_PASSIVE_BADVERSION);
	else if (status == NEWTCP_ST_BADTYPE)
		newtcp_mib_inc(net, NEWTCP_MIB_PASSIVE_BADTYPE);
	else if (status == NEWTCP_ST_BUSY)
		newtcp_mib_inc(net, NEWTCP_MIB_PASSIVE_BUSY);
}

static void newtcp_hs_work(struct work_struct *work)
{
	struct newtcp_pending *p = container_of(to_delayed_work(work),
						struct newtcp_pending, work);
	struct sock *lsk = p->lsk;
	struct newtcp_sock *lnsk = newtcp_sk(lsk);
	struct net *net = sock_net(lsk);
	u8 type = newtcp_wire_type(lsk);
	u8 status = NEWTCP_ST_OK;
	int result = NEWTCP_HS_REFUSED, err = 0;
	bool traced = false, refused = false;
	struct newtcp_hello h;
	long left;
	int rc;

	if (READ_ONCE(p->dead))
		goto drop;
	rc = newtcp_recv_hello(p->tcp, p->buf, &p->got);
	if (rc == -EAGAIN) {
		left = (long)(p->deadline - jiffies);
		if (left <= 0) {
			newtcp_mib_inc(net, NEWTCP_MIB_PASSIVE_TIMEDOUT);
			result = NEWTCP_HS_TIMEDOUT;
			err = -ETIMEDOUT;
			goto drop;
		}
		/* A no-op when a callback queued us meanwhile. */
		queue_delayed_work(newtcp_wq, &p->work, left);
		return;
	}
	memcpy(&h, p->buf, sizeof(h));
	/* Plain TCP, garbage or another client's reply: no answer at all. */
	if (rc || h.magic != htonl(NEWTCP_MAGIC) ||
	    (h.flags & NEWTCP_HELLO_REPLY)) {
		err = rc ? : -EPROTO;
		goto drop;
	}
	if (h.version != NEWTCP_VERSION)
		status = NEWTCP_ST_BADVERSION;
	else if (h.type != type)
		status = NEWTCP_ST_BADTYPE;

	lock_sock(lsk);
	if (status == NEWTCP_ST_OK &&
	    lnsk->accept_len >= max_t(int, READ_ONCE(lsk->sk_max_ack_backlog), 1))
		status = NEWTCP_ST_BUSY;
	release_sock(lsk);

	/* Counted first: a peer that has the reply sees the count. */
	if (status != NEWTCP_ST_OK) {
		newtcp_count_refusal(net, status);
		trace_newtcp_handshake_end(lsk, p->tcp->sk, NEWTCP_ROLE_SERVER,
					   newtcp_status_result(status), 0);
		traced = true;
	}
	rc = newtcp_send_hello(p->tcp, type, NEWTCP_HELLO_REPLY, status);
	if (rc || status != NEWTCP_ST_OK) {
		refused = !rc;
		err = rc;
		goto drop;
	}

	if (!newtcp_hs_unlink(p)) {
		trace_newtcp_handshake_end(lsk, p->tcp->sk, NEWTCP_ROLE_SERVER,
					   READ_ONCE(p->dead) ? p->end :
					   NEWTCP_HS_CLOSED, 0);
		release_sock(lsk);
		goto free;
	}
	list_add_tail(&p->list, &lnsk->accept_q);
	lnsk->accept_len++;
	newtcp_mib_inc(net, NEWTCP_MIB_PASSIVE_OK);
	/* Before the wakeup: accept() returns after the event. */
	trace_newtcp_handshake_end(lsk, p->tcp->sk, NEWTCP_ROLE_SERVER,
				   NEWTCP_HS_OK, 0);
	lsk->sk_data_ready(lsk);
	release_sock(lsk);
	sock_put(lsk);
	return;

drop:
	newtcp_hs_unlink(p);
	/* Under the listener's lock, which newtcp_hs_kill() set end in. */
	if (READ_ONCE(p->dead)) {
		result = p->end;
		err = 0;
	}
	/* Before the reset: a peer that has it finds the event. */
	if (!traced)
		trace_newtcp_handshake_end(lsk, p->tcp->sk, NEWTCP_ROLE_SERVER,
					   result, err);
	release_sock(lsk);
free:
	if (refused)
		newtcp_close_refused(p->tcp);
	else
		newtcp_abort_tcp(p->tcp);
	kfree(p);
	sock_put(lsk);
}

/* A connection's place in a listener's handshake and accept queues. */
noinline struct newtcp_pending *newtcp_pending_alloc(void)
{
	return kzalloc(sizeof(struct newtcp_pending), GFP_KERNEL);
}

ALLOW_ERROR_INJECTION(newtcp_pending_alloc, NULL);

/*
 * Take every connection the inner listener has and start its handshake;
 * past max_handshakes in flight, the oldest one makes room.
 */
void newtcp_listen_work(struct work_struct *work)
{
	struct newtcp_sock *nsk = container_of(work, struct newtcp_sock,
					       listen_work);
	struct sock *sk = &nsk->sk;
	struct newtcp_net *nn = newtcp_net(sock_net(sk));
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
		       nsk->hs_pending >= READ_ONCE(*nn->max_handshakes)) {
			newtcp_hs_kill(nsk, list_first_entry(&nsk->hs_list,
							     struct newtcp_pending,
							     list),
				       NEWTCP_HS_EVICTED);
			atomic_long_inc(&newtcp_hs_refused);
			newtcp_mib_inc(sock_net(sk), NEWTCP_MIB_PASSIVE_EVICTED);
		}
		p->tcp = ntcp;
		p->lsk = sk;
		sock_hold(sk);
		INIT_DELAYED_WORK(&p->work, newtcp_hs_work);
		p->deadline = jiffies + newtcp_handshake_jiffies(sock_net(sk));
		list_add_tail(&p->list, &nsk->hs_list);
		nsk->hs_pending++;
		/* Before anything can queue the work that ends it. */
		trace_newtcp_handshake_start(sk, ntcp->sk, NEWTCP_ROLE_SERVER);
		newtcp_hs_attach(p);
		/* Whatever came before the callbacks were ours. */
		queue_delayed_work(newtcp_wq, &p->work, 0);
		release_sock(sk);
	}
	sock_put(sk);
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

int newtcp_handshake_init(void)
{
	newtcp_wq = alloc_workqueue("newtcp", WQ_UNBOUND, 0);
	return newtcp_wq ? 0 : -ENOMEM;
}

/* Handshakes still running hold module references; wait for them. */
void newtcp_handshake_exit(void)
{
	destroy_workqueue(newtcp_wq);
}
