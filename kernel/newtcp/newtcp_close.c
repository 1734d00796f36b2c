// SPDX-License-Identifier: GPL-2.0
/*
 * NEW_TCP close, shutdown and disconnect, each as TCP behaves: the
 * inner TCP socket does the TCP part (FIN, RST, linger), this file
 * keeps the outer socket's state and wakeups in step with it.
 */

#include <linux/slab.h>
#include <net/sock.h>
#include <net/tcp_states.h>

#include "newtcp.h"
#include "newtcp_trace.h"

/* Before the inner socket is released: it no longer has our file. */
static void newtcp_release_inner(struct socket *tcp)
{
	WRITE_ONCE(tcp->file, NULL);
	sock_release(tcp);
}

/*
 * proto_ops->release: drops the reference sock_init_data() set up.
 * SO_LINGER reaches the inner socket (newtcp_sync_sockopts() below),
 * whose inet_release() applies it as for any TCP socket.
 */
int newtcp_release(struct socket *sock)
{
	struct sock *sk = sock->sk;
	struct newtcp_sock *nsk;
	struct socket *tcp;
	LIST_HEAD(q);
	int old;

	if (!sk)
		return 0;
	sock->sk = NULL;
	nsk = newtcp_sk(sk);
	tcp = nsk->tcp;

	lock_sock(sk);
	old = sk->sk_state;
	sk->sk_shutdown = SHUTDOWN_MASK;
	newtcp_set_state(sk, TCP_CLOSE);
	if (old == TCP_SYN_SENT)
		trace_newtcp_handshake_end(sk, tcp->sk, NEWTCP_ROLE_CLIENT,
					   NEWTCP_HS_CLOSED, 0);
	list_splice_init(&nsk->accept_q, &q);
	nsk->accept_len = 0;
	/* Handshakes in flight end in their own work, which frees them. */
	while (!list_empty(&nsk->hs_list))
		newtcp_hs_kill(nsk, list_first_entry(&nsk->hs_list,
						     struct newtcp_pending,
						     list), NEWTCP_HS_CLOSED);
	release_sock(sk);

	/* Off /proc before the inner socket goes. */
	newtcp_destroy_sock(sk);

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
	return 0;
}

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
static int newtcp_shutdown_disconnect(struct sock *sk)
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
	newtcp_set_state(sk, TCP_CLOSE);
	if (old == TCP_SYN_SENT) {
		trace_newtcp_handshake_end(sk, nsk->tcp->sk, NEWTCP_ROLE_CLIENT,
					   NEWTCP_HS_CLOSED, -ECONNRESET);
		WRITE_ONCE(sk->sk_err, ECONNRESET);
		sk->sk_error_report(sk);
	}
	sk->sk_state_change(sk);
	return 0;
}

/*
 * connect(AF_UNSPEC) on STREAM, as tcp_disconnect(): the inner socket is
 * disconnected (a RST where TCP sends one), its error (ECONNRESET) shows
 * in SO_ERROR, and the socket can bind, connect or listen again.
 * SEQPACKET keeps its framing state per connection: not supported.
 * Caller holds the socket lock.
 */
int newtcp_disconnect(struct sock *sk)
{
	struct newtcp_sock *nsk = newtcp_sk(sk);
	struct sock *isk = nsk->tcp->sk;
	int err;

	if (sk->sk_type != SOCK_STREAM)
		return -EOPNOTSUPP;
	if (sk->sk_state == TCP_LISTEN || sk->sk_state == TCP_SYN_SENT)
		return newtcp_shutdown_disconnect(sk);
	/*
	 * An error SO_ERROR already took stays taken: tcp_disconnect()
	 * keeps the inner copy and reports it again.
	 */
	newtcp_inner_err_reported(sk, isk);
	newtcp_inner_disconnect(nsk->tcp);
	err = READ_ONCE(isk->sk_err);
	if (err)
		WRITE_ONCE(sk->sk_err, err);
	WRITE_ONCE(sk->sk_shutdown, 0);
	newtcp_set_state(sk, TCP_CLOSE);
	sk->sk_state_change(sk);
	return 0;
}

/*
 * inet_shutdown() over the outer state; on a session the inner TCP
 * socket's own inet_shutdown() answers (ENOTCONN once it was reset).
 */
int newtcp_shutdown(struct socket *sock, int how)
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
		err = kernel_sock_shutdown(newtcp_sk(sk)->tcp, how - 1);
		WRITE_ONCE(sk->sk_shutdown, sk->sk_shutdown | how);
		sk->sk_state_change(sk);
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
