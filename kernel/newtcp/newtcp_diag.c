// SPDX-License-Identifier: GPL-2.0
/*
 * sock_diag for NEW_TCP (API.md, "sock_diag"), as smc_diag.c and
 * vsock's diag.c do it for theirs: a dump of the rows /proc/net/newtcp
 * shows (newtcp_walk()), filtered by state and ports, each with the
 * inner socket's tcp_info and NEW_TCP's own counters on request.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/tcp.h>
#include <net/netlink.h>
#include <net/sock.h>
#include <net/tcp.h>

#include "newtcp.h"

struct newtcp_diag_dump {
	struct sk_buff		*skb;
	struct netlink_callback	*cb;
	const struct newtcp_diag_req *req;
};

static bool newtcp_diag_wants(const struct newtcp_diag_req *req, int attr)
{
	return req->ndiag_ext & (1 << (attr - 1));
}

/* Where the row's connection is in the handshake (API.md). */
static u8 newtcp_diag_hs_phase(const struct newtcp_row *r)
{
	if (r->kind == NEWTCP_DIAG_HANDSHAKE)
		return NEWTCP_DIAG_HS_HELLO;
	if (r->kind == NEWTCP_DIAG_UNACCEPTED)
		return NEWTCP_DIAG_HS_DONE;
	switch (READ_ONCE(r->sk->sk_state)) {
	case TCP_SYN_SENT:
		return READ_ONCE(r->isk->sk_state) == TCP_SYN_SENT ?
		       NEWTCP_DIAG_HS_TCP : NEWTCP_DIAG_HS_HELLO;
	case TCP_ESTABLISHED:
		return NEWTCP_DIAG_HS_DONE;
	default:
		return NEWTCP_DIAG_HS_NONE;
	}
}

/*
 * NEW_TCP's own view of the row.  Read without the socket's locks, as
 * smc_diag reads its connections: a snapshot, each field whole.
 */
static void newtcp_diag_info(const struct newtcp_row *r,
			     struct newtcp_diag_info *info)
{
	struct newtcp_sock *nsk = newtcp_sk(r->sk);

	memset(info, 0, sizeof(*info));
	info->ndi_hs_phase = newtcp_diag_hs_phase(r);
	info->ndi_maxmsg = READ_ONCE(nsk->maxmsg);
	if (r->p) {
		info->ndi_hs_got = READ_ONCE(r->p->got);
		return;
	}
	info->ndi_bytes_sent = atomic64_read(&nsk->bytes_sent);
	info->ndi_bytes_received = atomic64_read(&nsk->bytes_received);
	info->ndi_records_sent = atomic64_read(&nsk->msgs_sent);
	info->ndi_records_received = atomic64_read(&nsk->msgs_received);
	if (READ_ONCE(nsk->rx_stage))
		info->ndi_staged = READ_ONCE(nsk->rx_stage_len);
	info->ndi_hs_got = READ_ONCE(nsk->hs_got);
	info->ndi_accept_len = READ_ONCE(nsk->accept_len);
	info->ndi_hs_pending = READ_ONCE(nsk->hs_pending);
}

static int newtcp_diag_attrs(struct sk_buff *skb, const struct newtcp_row *r,
			     const struct newtcp_diag_req *req)
{
	struct nlattr *attr;

	if (newtcp_diag_wants(req, NEWTCP_DIAG_TCP_INFO)) {
		attr = nla_reserve_64bit(skb, NEWTCP_DIAG_TCP_INFO,
					 sizeof(struct tcp_info),
					 NEWTCP_DIAG_PAD);
		if (!attr)
			return -EMSGSIZE;
		/* Takes the inner socket's lock itself where it must. */
		tcp_get_info(r->isk, nla_data(attr));
	}
	if (newtcp_diag_wants(req, NEWTCP_DIAG_INFO)) {
		attr = nla_reserve_64bit(skb, NEWTCP_DIAG_INFO,
					 sizeof(struct newtcp_diag_info),
					 NEWTCP_DIAG_PAD);
		if (!attr)
			return -EMSGSIZE;
		newtcp_diag_info(r, nla_data(attr));
	}
	return 0;
}

static int newtcp_diag_fill(struct newtcp_diag_dump *d,
			    const struct newtcp_row *r)
{
	const struct inet_sock *inet = inet_sk(r->isk);
	struct newtcp_diag_msg *m;
	struct nlmsghdr *nlh;

	nlh = nlmsg_put(d->skb, NETLINK_CB(d->cb->skb).portid,
			d->cb->nlh->nlmsg_seq, SOCK_DIAG_BY_FAMILY, sizeof(*m),
			NLM_F_MULTI);
	if (!nlh)
		return -EMSGSIZE;
	m = nlmsg_data(nlh);
	memset(m, 0, sizeof(*m));
	m->ndiag_family = newtcp_family;
	m->ndiag_state = r->state;
	m->ndiag_type = r->sk->sk_type;
	m->ndiag_kind = r->kind;
	m->ndiag_inner_state = READ_ONCE(r->isk->sk_state);
	m->ndiag_sport = inet->inet_sport;
	m->ndiag_dport = inet->inet_dport;
	m->ndiag_saddr = inet->inet_rcv_saddr;
	m->ndiag_daddr = inet->inet_daddr;
	m->ndiag_rqueue = r->rxq;
	m->ndiag_wqueue = r->txq;
	m->ndiag_uid = from_kuid_munged(sk_user_ns(NETLINK_CB(d->cb->skb).sk),
					newtcp_sk_uid(r->sk));
	m->ndiag_ino = r->ino;
	/* A connection not accepted has no socket of its own yet. */
	sock_diag_save_cookie(r->p ? r->isk : r->sk, m->ndiag_cookie);
	if (newtcp_diag_attrs(d->skb, r, d->req)) {
		nlmsg_cancel(d->skb, nlh);
		return -EMSGSIZE;
	}
	nlmsg_end(d->skb, nlh);
	return 0;
}

static int newtcp_diag_row(const struct newtcp_row *r, void *arg)
{
	struct newtcp_diag_dump *d = arg;
	const struct newtcp_diag_req *req = d->req;
	const struct inet_sock *inet = inet_sk(r->isk);

	if (!(req->ndiag_states & (1U << r->state)))
		return 0;
	if (req->ndiag_sport && req->ndiag_sport != inet->inet_sport)
		return 0;
	if (req->ndiag_dport && req->ndiag_dport != inet->inet_dport)
		return 0;
	return newtcp_diag_fill(d, r);
}

/* cb->args[0] and [1]: the socket and row the next skb starts at. */
static int newtcp_diag_dump(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct newtcp_diag_dump d = {
		.skb = skb,
		.cb = cb,
		.req = nlmsg_data(cb->nlh),
	};

	newtcp_walk(sock_net(skb->sk), &cb->args[0], &cb->args[1],
		    newtcp_diag_row, &d);
	return skb->len;
}

static int newtcp_diag_handler_dump(struct sk_buff *skb, struct nlmsghdr *h)
{
	struct netlink_dump_control c = {
		.dump = newtcp_diag_dump,
	};

	if (nlmsg_len(h) < (int)sizeof(struct newtcp_diag_req))
		return -EINVAL;
	if (!(h->nlmsg_flags & NLM_F_DUMP))
		return -EOPNOTSUPP;
	return netlink_dump_start(sock_net(skb->sk)->diag_nlsk, skb, h, &c);
}

/* Not const: .family is the load-time "family" parameter. */
static struct sock_diag_handler newtcp_diag_handler __ro_after_init = {
	.dump	= newtcp_diag_handler_dump,
};

static bool newtcp_diag_registered;

/*
 * Diagnostics are not the protocol: when the family has no sock_diag
 * slot or another handler holds it, NEW_TCP loads without and says so.
 */
void newtcp_diag_init(void)
{
	int rc;

	if (newtcp_family >= AF_MAX) {
		pr_warn("family %d is not below AF_MAX (%d): no sock_diag\n",
			newtcp_family, AF_MAX);
		return;
	}
	newtcp_diag_handler.family = newtcp_family;
	newtcp_diag_set_owner(&newtcp_diag_handler);
	rc = sock_diag_register(&newtcp_diag_handler);
	if (rc) {
		pr_warn("sock_diag for family %d not registered (%d): no sock_diag\n",
			newtcp_family, rc);
		return;
	}
	newtcp_diag_registered = true;
}

void newtcp_diag_exit(void)
{
	if (newtcp_diag_registered)
		sock_diag_unregister(&newtcp_diag_handler);
	newtcp_diag_registered = false;
}
