// SPDX-License-Identifier: GPL-2.0
/*
 * NEW_TCP transport: struct proto and its per-socket callbacks.
 *
 * Socket creation only for now; the callbacks keep the accounting that
 * /proc/net/protocols reports honest so leaks show up in tests.
 */

#include <linux/module.h>
#include <linux/percpu_counter.h>
#include <net/sock.h>
#include <net/tcp_states.h>

#include "newtcp.h"

static struct percpu_counter newtcp_sockets_allocated;

static int newtcp_init_sock(struct sock *sk)
{
	/*
	 * /proc/net/protocols prints the per-netns in-use counter;
	 * sockets_allocated is the global one memory accounting uses.
	 */
	sk_sockets_allocated_inc(sk);
	newtcp_prot_inuse_add(sock_net(sk), sk->sk_prot, 1);
	return 0;
}

static void newtcp_destroy_sock(struct sock *sk)
{
	newtcp_prot_inuse_add(sock_net(sk), sk->sk_prot, -1);
	sk_sockets_allocated_dec(sk);
}

/* Called from ->release(); drops the reference sock_init_data() set up. */
static void newtcp_close(struct sock *sk, long timeout)
{
	lock_sock(sk);
	sk->sk_shutdown = SHUTDOWN_MASK;
	sk->sk_state = TCP_CLOSE;
	sk->sk_prot->destroy(sk);
	/* Detach from the struct socket, which is freed after release. */
	sock_orphan(sk);
	release_sock(sk);
	sock_put(sk);
}

struct proto newtcp_prot = {
	.name			= "NEW_TCP",
	.owner			= THIS_MODULE,
	.obj_size		= sizeof(struct newtcp_sock),
	.init			= newtcp_init_sock,
	.destroy		= newtcp_destroy_sock,
	.close			= newtcp_close,
	.sockets_allocated	= &newtcp_sockets_allocated,
};

int newtcp_proto_register(void)
{
	int rc;

	rc = percpu_counter_init(&newtcp_sockets_allocated, 0, GFP_KERNEL);
	if (rc)
		return rc;

	/* Own slab cache: obj_size differs from every other protocol. */
	rc = proto_register(&newtcp_prot, 1);
	if (rc)
		percpu_counter_destroy(&newtcp_sockets_allocated);
	return rc;
}

void newtcp_proto_unregister(void)
{
	proto_unregister(&newtcp_prot);
	percpu_counter_destroy(&newtcp_sockets_allocated);
}
