// SPDX-License-Identifier: GPL-2.0
/*
 * /proc/net/newtcp: one line per NEW_TCP socket of the reading process's
 * network namespace, in the spirit of /proc/net/tcp.
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

static int newtcp_seq_show(struct seq_file *seq, void *v)
{
	struct newtcp_sock *nsk;
	struct sock *sk, *isk;
	struct inet_sock *inet;
	int state, rxq, txq;

	if (v == &newtcp_all) {
		seq_puts(seq,
			 "local_address rem_address   st tx_queue rx_queue   uid    inode type\n");
		return 0;
	}
	nsk = list_entry(v, struct newtcp_sock, node);
	sk = &nsk->sk;
	if (!net_eq(sock_net(sk), seq_file_net(seq)) || !nsk->tcp)
		return 0;
	isk = nsk->tcp->sk;
	inet = inet_sk(isk);
	state = READ_ONCE(sk->sk_state);
	if (state == TCP_ESTABLISHED)
		state = READ_ONCE(isk->sk_state);
	if (state == TCP_LISTEN) {
		rxq = nsk->accept_len;
		txq = READ_ONCE(sk->sk_max_ack_backlog);
	} else {
		rxq = max_t(int, READ_ONCE(tcp_sk(isk)->rcv_nxt) -
				 READ_ONCE(tcp_sk(isk)->copied_seq), 0);
		txq = READ_ONCE(tcp_sk(isk)->write_seq) -
		      READ_ONCE(tcp_sk(isk)->snd_una);
	}
	/* sock_i_ino() is unsigned long up to 6.12, u64 on 7.2. */
	seq_printf(seq, "%08X:%04X %08X:%04X %02X %08X:%08X %5u %8llu %s\n",
		   inet->inet_rcv_saddr, ntohs(inet->inet_sport),
		   inet->inet_daddr, ntohs(inet->inet_dport), state, txq, rxq,
		   from_kuid_munged(seq_user_ns(seq), newtcp_sk_uid(sk)),
		   (unsigned long long)sock_i_ino(sk),
		   sk->sk_type == SOCK_SEQPACKET ? "SEQPACKET" : "STREAM");
	return 0;
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
