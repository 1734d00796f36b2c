// SPDX-License-Identifier: GPL-2.0
/*
 * NEW_TCP receive path.  STREAM reads the inner TCP socket's bytes;
 * SEQPACKET takes records apart by their 4-byte length header
 * (PROTOCOL.md), truncates and discards as SOCK_SEQPACKET does, and
 * stages a record that TCP cannot hold whole (see "Staging" below).
 */

#include <linux/error-injection.h>
#include <linux/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uio.h>
#include <net/sock.h>
#include <net/tcp.h>

#include "newtcp.h"
#include "newtcp_trace.h"

static int newtcp_read_kern(struct socket *tcp, void *buf, size_t len,
			    int flags)
{
	struct kvec kv = { .iov_base = buf, .iov_len = len };
	struct msghdr m = { };

	return kernel_recvmsg(tcp, &m, &kv, 1, len, flags);
}

/*
 * A framing violation, a header announcing @len bytes: no record is read
 * on this connection again.
 */
static int newtcp_rx_violation(struct newtcp_sock *nsk, u32 len)
{
	set_bit(NEWTCP_F_RX_BROKEN, &nsk->flags);
	newtcp_break(nsk);
	newtcp_mib_inc(sock_net(&nsk->sk), NEWTCP_MIB_EPROTO);
	trace_newtcp_error(&nsk->sk, NEWTCP_ERR_OVERSIZE, -EPROTO, len);
	return -EPROTO;
}

/* A whole record of @len bytes was taken off the connection. */
static void newtcp_record_received(struct newtcp_sock *nsk, u32 len)
{
	atomic64_inc(&nsk->msgs_received);
	newtcp_mib_inc(sock_net(&nsk->sk), NEWTCP_MIB_RECORDS_RECEIVED);
	trace_newtcp_record_in(&nsk->sk, len);
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
		newtcp_record_received(nsk, nsk->rx_len);
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
		return newtcp_rx_violation(nsk, mlen);
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

/* For poll: a staged record is whole and can be read at once. */
bool newtcp_stage_ready(struct newtcp_sock *nsk)
{
	return READ_ONCE(nsk->rx_stage) &&
	       READ_ONCE(nsk->rx_stage_len) == READ_ONCE(nsk->rx_stage_size);
}

/*
 * For poll: a staged record still short, and TCP holds too little to
 * finish it, so a read now says EAGAIN.  TCP's poll calls those bytes
 * readable; a reader woken for them would only spin.
 */
bool newtcp_stage_waits(struct newtcp_sock *nsk)
{
	struct sock *isk = nsk->tcp->sk;
	u32 left = READ_ONCE(nsk->rx_stage_size) - READ_ONCE(nsk->rx_stage_len);

	if (!READ_ONCE(nsk->rx_stage) || !left ||
	    (READ_ONCE(isk->sk_shutdown) & RCV_SHUTDOWN) ||
	    READ_ONCE(isk->sk_err))
		return false;
	return tcp_inq(isk) < (int)left;
}

static void newtcp_stage_free(struct newtcp_sock *nsk)
{
	kvfree(nsk->rx_stage);
	WRITE_ONCE(nsk->rx_stage, NULL);
	nsk->rx_stage_size = 0;
	nsk->rx_stage_len = 0;
}

/* Charged to the reader's memory cgroup: the peer chose its size. */
noinline void *newtcp_stage_alloc(size_t len)
{
	return kvmalloc(max_t(size_t, len, 1), GFP_KERNEL_ACCOUNT);
}

ALLOW_ERROR_INJECTION(newtcp_stage_alloc, NULL);

/*
 * Decide how the next record is read: 1 when it was moved to the stage,
 * 0 when TCP serves it (it is all there, or EOF, or too big to stage),
 * or an error.
 */
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
		newtcp_record_received(nsk, size);
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
			rc = newtcp_rx_violation(nsk, mlen);
			goto out;
		}
		nsk->rx_in_msg = true;
		nsk->rx_left = mlen;
		nsk->rx_len = mlen;
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
		newtcp_record_received(nsk, nsk->rx_len);
	}
out:
	mutex_unlock(&nsk->rx_lock);
	return rc;
}

int newtcp_recvmsg(struct socket *sock, struct msghdr *msg, size_t len,
		   int flags)
{
	struct sock *sk = sock->sk;
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

	rc = newtcp_wait_session(sk, sock_rcvtimeo(sk, flags & MSG_DONTWAIT),
				 false, MSG_NOSIGNAL);
	if (rc)
		return rc;
	newtcp_sync_sockopts(sk);
	if (sk->sk_type == SOCK_SEQPACKET) {
		rc = newtcp_seq_recvmsg(nsk, msg, len, flags);
	} else {
		newtcp_inner_err_reported(sk, nsk->tcp->sk);
		rc = nsk->tcp->ops->recvmsg(nsk->tcp, msg, len, flags);
		if (rc > 0 && !(flags & MSG_PEEK)) {
			atomic64_add(rc, &nsk->bytes_received);
			trace_newtcp_record_in(sk, rc);
		}
	}
	newtcp_mem_sync(nsk, nsk->tcp->sk);
	newtcp_error_reported(sk, rc);
	return rc;
}

/*
 * SIOCINQ on SEQPACKET: the size of the next record, as AF_UNIX answers.
 * A reader holding rx_lock is still waiting for that record: none is
 * there for anybody else.
 */
int newtcp_rx_next_len(struct newtcp_sock *nsk)
{
	__be32 hdr;
	int len = 0;

	if (test_bit(NEWTCP_F_RX_BROKEN, &nsk->flags) ||
	    !mutex_trylock(&nsk->rx_lock))
		return 0;
	if (nsk->rx_stage)
		len = nsk->rx_stage_size;
	else if (nsk->rx_in_msg)
		len = nsk->rx_left;
	else if (READ_ONCE(nsk->sk.sk_state) == TCP_ESTABLISHED &&
		 !nsk->rx_hdr_got &&
		 newtcp_read_kern(nsk->tcp, &hdr, sizeof(hdr),
				  MSG_PEEK | MSG_DONTWAIT) == sizeof(hdr))
		len = ntohl(hdr);
	mutex_unlock(&nsk->rx_lock);
	return len;
}
