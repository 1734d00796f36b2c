// SPDX-License-Identifier: GPL-2.0
/*
 * /proc/net/newtcp: one line per NEW_TCP socket of the reading process's
 * network namespace, in the spirit of /proc/net/tcp, and after each
 * listener one per connection it holds, accepted or not; the same rows
 * feed sock_diag (newtcp_diag.c).
 */

#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <net/net_namespace.h>
#include <net/sock.h>
#include <net/tcp.h>

#include "newtcp.h"

static LIST_HEAD(newtcp_all);
static DEFINE_MUTEX(newtcp_all_lock);

/* struct proto's hash: every NEW_TCP socket is listed from its setup. */
int newtcp_hash(struct sock *sk)
{
	mutex_lock(&newtcp_all_lock);
	list_add_tail(&newtcp_sk(sk)->node, &newtcp_all);
	mutex_unlock(&newtcp_all_lock);
	return 0;
}

void newtcp_unhash(struct sock *sk)
{
	mutex_lock(&newtcp_all_lock);
	list_del_init(&newtcp_sk(sk)->node);
	mutex_unlock(&newtcp_all_lock);
}

static void *newtcp_seq_start(struct seq_file *seq, loff_t *pos)
{
	mutex_lock(&newtcp_all_lock);
	return seq_list_start_head(&newtcp_all, *pos);
}

static void *newtcp_seq_next(struct seq_file *seq, void *v, loff_t *pos)
{
	return seq_list_next(v, &newtcp_all, pos);
}

static void newtcp_seq_stop(struct seq_file *seq, void *v)
{
	mutex_unlock(&newtcp_all_lock);
}

/* State and queues of @isk as the st, rx_queue and tx_queue columns. */
static void newtcp_row_queues(struct newtcp_row *r, int backlog, int pending)
{
	const struct tcp_sock *tp = tcp_sk(r->isk);

	if (r->state == TCP_LISTEN) {
		r->rxq = pending;
		r->txq = backlog;
	} else {
		r->rxq = max_t(int, READ_ONCE(tp->rcv_nxt) -
				    READ_ONCE(tp->copied_seq), 0);
		r->txq = READ_ONCE(tp->write_seq) - READ_ONCE(tp->snd_una);
	}
}

/* The row of a NEW_TCP socket; false while it has no inner socket yet. */
static bool newtcp_row_socket(struct newtcp_sock *nsk, struct newtcp_row *r)
{
	struct socket *tcp = READ_ONCE(nsk->tcp);
	struct sock *sk = &nsk->sk;

	if (!tcp)
		return false;
	r->sk = sk;
	r->isk = tcp->sk;
	r->p = NULL;
	r->kind = NEWTCP_DIAG_SOCKET;
	r->state = READ_ONCE(sk->sk_state);
	if (r->state == TCP_ESTABLISHED)
		r->state = READ_ONCE(r->isk->sk_state);
	/* sock_i_ino() is unsigned long up to 6.12, u64 on 7.2. */
	r->ino = sock_i_ino(sk);
	newtcp_row_queues(r, READ_ONCE(sk->sk_max_ack_backlog),
			  READ_ONCE(nsk->accept_len));
	return true;
}

/*
 * A connection listener @lsk holds: TCP's SYN_RECV while its hello is
 * awaited (as a request socket in /proc/net/tcp), else the inner state.
 * It has no file, so no inode.
 */
static void newtcp_row_pending(struct sock *lsk, struct newtcp_pending *p,
			       u8 kind, struct newtcp_row *r)
{
	r->sk = lsk;
	r->isk = p->tcp->sk;
	r->p = p;
	r->kind = kind;
	r->state = kind == NEWTCP_DIAG_HANDSHAKE ? TCP_SYN_RECV :
						   READ_ONCE(r->isk->sk_state);
	r->ino = 0;
	newtcp_row_queues(r, 0, 0);
}

/*
 * Emit @nsk's rows from position *@row on (0 is the socket's own);
 * *@row follows each emitted one.  A listener's connections are read
 * under its lock: newtcp_hs_work() and accept() move them under it.
 */
static int newtcp_rows_of(struct newtcp_sock *nsk, unsigned long *row,
			  newtcp_emit_t emit, void *arg)
{
	struct sock *sk = &nsk->sk;
	struct newtcp_pending *p;
	struct newtcp_row r;
	unsigned long n = 0;
	int rc = 0;

	if (!newtcp_row_socket(nsk, &r))
		return 0;
	if (n++ >= *row) {
		rc = emit(&r, arg);
		if (rc)
			return rc;
		*row = n;
	}
	if (READ_ONCE(sk->sk_state) != TCP_LISTEN)
		return 0;
	lock_sock(sk);
	list_for_each_entry(p, &nsk->accept_q, list) {
		if (n++ < *row)
			continue;
		newtcp_row_pending(sk, p, NEWTCP_DIAG_UNACCEPTED, &r);
		rc = emit(&r, arg);
		if (rc)
			goto out;
		*row = n;
	}
	list_for_each_entry(p, &nsk->hs_list, list) {
		if (n++ < *row)
			continue;
		newtcp_row_pending(sk, p, NEWTCP_DIAG_HANDSHAKE, &r);
		rc = emit(&r, arg);
		if (rc)
			goto out;
		*row = n;
	}
out:
	release_sock(sk);
	return rc;
}

/*
 * Every row of @net from socket *@pos, row *@row on, for a sock_diag
 * dump that continues where the last skb filled up: both follow what
 * was emitted.  A socket opened or closed between two calls may shift
 * the rest by one, as in every sock_diag dump.
 */
int newtcp_walk(struct net *net, unsigned long *pos, unsigned long *row,
		newtcp_emit_t emit, void *arg)
{
	struct newtcp_sock *nsk;
	unsigned long i = 0;
	int rc = 0;

	mutex_lock(&newtcp_all_lock);
	list_for_each_entry(nsk, &newtcp_all, node) {
		if (!net_eq(sock_net(&nsk->sk), net) || i++ < *pos)
			continue;
		rc = newtcp_rows_of(nsk, row, emit, arg);
		if (rc)
			break;
		*row = 0;
		(*pos)++;
	}
	mutex_unlock(&newtcp_all_lock);
	return rc;
}

static int newtcp_seq_row(const struct newtcp_row *r, void *arg)
{
	struct seq_file *seq = arg;
	const struct inet_sock *inet = inet_sk(r->isk);

	seq_printf(seq, "%08X:%04X %08X:%04X %02X %08X:%08X %5u %8llu %s\n",
		   inet->inet_rcv_saddr, ntohs(inet->inet_sport),
		   inet->inet_daddr, ntohs(inet->inet_dport), r->state, r->txq,
		   r->rxq,
		   from_kuid_munged(seq_user_ns(seq), newtcp_sk_uid(r->sk)),
		   (unsigned long long)r->ino,
		   r->sk->sk_type == SOCK_SEQPACKET ? "SEQPACKET" : "STREAM");
	return 0;
}

static int newtcp_seq_show(struct seq_file *seq, void *v)
{
	struct newtcp_sock *nsk;
	unsigned long row = 0;

	if (v == &newtcp_all) {
		seq_puts(seq,
			 "local_address rem_address   st tx_queue rx_queue   uid    inode type\n");
		return 0;
	}
	nsk = list_entry(v, struct newtcp_sock, node);
	if (!net_eq(sock_net(&nsk->sk), seq_file_net(seq)))
		return 0;
	return newtcp_rows_of(nsk, &row, newtcp_seq_row, seq);
}

static const struct seq_operations newtcp_seq_ops = {
	.start	= newtcp_seq_start,
	.next	= newtcp_seq_next,
	.stop	= newtcp_seq_stop,
	.show	= newtcp_seq_show,
};

static int __net_init newtcp_net_init(struct net *net)
{
	if (!proc_create_net("newtcp", 0444, net->proc_net, &newtcp_seq_ops,
			     sizeof(struct seq_net_private)))
		return -ENOMEM;
	return 0;
}

static void __net_exit newtcp_net_exit(struct net *net)
{
	remove_proc_entry("newtcp", net->proc_net);
}

static struct pernet_operations newtcp_net_ops = {
	.init	= newtcp_net_init,
	.exit	= newtcp_net_exit,
};

int newtcp_proc_init(void)
{
	return register_pernet_subsys(&newtcp_net_ops);
}

void newtcp_proc_exit(void)
{
	unregister_pernet_subsys(&newtcp_net_ops);
}
