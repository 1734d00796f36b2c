// SPDX-License-Identifier: GPL-2.0
/*
 * NEW_TCP send path.  STREAM hands the bytes to the inner TCP socket;
 * SEQPACKET frames each record with its 4-byte length (PROTOCOL.md) and
 * sends it all or nothing: once a record's first byte is queued the
 * rest follows, whatever happens to the caller meanwhile.
 */

#include <linux/sched/signal.h>
#include <linux/uio.h>
#include <net/sock.h>
#include <net/tcp.h>

#include "newtcp.h"
#include "newtcp_trace.h"

/* The byte stream cannot be framed any more: no record goes out again. */
void newtcp_break(struct newtcp_sock *nsk)
{
	set_bit(NEWTCP_F_TX_BROKEN, &nsk->flags);
	kernel_sock_shutdown(nsk->tcp, SHUT_RDWR);
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
		trace_newtcp_error(&nsk->sk, NEWTCP_ERR_TX_CUT, rc, len);
		newtcp_break(nsk);
		goto out;
	}
	atomic64_add(len, &nsk->bytes_sent);
	atomic64_inc(&nsk->msgs_sent);
	newtcp_mib_inc(sock_net(&nsk->sk), NEWTCP_MIB_RECORDS_SENT);
	trace_newtcp_record_out(&nsk->sk, len);
	rc = len;
out:
	mutex_unlock(&nsk->tx_lock);
	return rc;
}

int newtcp_sendmsg(struct socket *sock, struct msghdr *msg, size_t len)
{
	struct sock *sk = sock->sk;
	struct newtcp_sock *nsk = newtcp_sk(sk);
	bool stream = sk->sk_type == SOCK_STREAM;
	int rc;

	rc = newtcp_wait_session(sk, sock_sndtimeo(sk, msg->msg_flags &
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
			trace_newtcp_record_out(sk, rc);
		}
	}
	newtcp_mem_sync(nsk, nsk->tcp->sk);
	newtcp_error_reported(sk, rc);
	return rc;
}
