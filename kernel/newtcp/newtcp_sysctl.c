// SPDX-License-Identifier: GPL-2.0
/*
 * Per-namespace settings of NEW_TCP: net.newtcp.handshake_ms,
 * net.newtcp.max_handshakes and net.newtcp.max_record (API.md,
 * "Per-namespace settings and counters"), as net/smc/smc_sysctl.c.
 *
 * init_net's entries point at the module parameters themselves, so the
 * parameters and init_net's sysctls are one setting; a new namespace
 * starts from their values at its creation and decides on its own after.
 */

#include <linux/slab.h>
#include <linux/sysctl.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>

#include "newtcp.h"

unsigned int newtcp_net_id __read_mostly;

static unsigned int newtcp_hs_ms_min = 1;
static unsigned int newtcp_hs_ms_max = 600000;
static unsigned int newtcp_max_hs_min = 1;
static unsigned int newtcp_max_hs_max = 65536;
static unsigned int newtcp_record_min = 1;
static unsigned int newtcp_record_max = NEWTCP_MAXMSG_MAX;

/* The initial max_record of init_net and of every new namespace. */
static unsigned int newtcp_max_record = NEWTCP_MAXMSG_DEFAULT;

/* One entry more than registered: the sentinel kernels before 6.6 need. */
static struct ctl_table newtcp_sysctl_table[NEWTCP_SYSCTL_N + 1] = {
	{
		.procname	= "handshake_ms",
		.maxlen		= sizeof(unsigned int),
		.mode		= 0644,
		.proc_handler	= proc_douintvec_minmax,
		.extra1		= &newtcp_hs_ms_min,
		.extra2		= &newtcp_hs_ms_max,
	},
	{
		.procname	= "max_handshakes",
		.maxlen		= sizeof(unsigned int),
		.mode		= 0644,
		.proc_handler	= proc_douintvec_minmax,
		.extra1		= &newtcp_max_hs_min,
		.extra2		= &newtcp_max_hs_max,
	},
	{
		.procname	= "max_record",
		.maxlen		= sizeof(unsigned int),
		.mode		= 0644,
		.proc_handler	= proc_douintvec_minmax,
		.extra1		= &newtcp_record_min,
		.extra2		= &newtcp_record_max,
	},
	{ }
};

static int __net_init newtcp_sysctl_net_init(struct net *net)
{
	struct newtcp_net *nn = newtcp_net(net);
	struct ctl_table *table = newtcp_sysctl_table;

	if (net_eq(net, &init_net)) {
		nn->handshake_ms = &newtcp_handshake_ms;
		nn->max_handshakes = &newtcp_max_handshakes;
		nn->max_record = &newtcp_max_record;
	} else {
		nn->own_handshake_ms = READ_ONCE(newtcp_handshake_ms);
		nn->own_max_handshakes = READ_ONCE(newtcp_max_handshakes);
		nn->own_max_record = READ_ONCE(newtcp_max_record);
		nn->handshake_ms = &nn->own_handshake_ms;
		nn->max_handshakes = &nn->own_max_handshakes;
		nn->max_record = &nn->own_max_record;
		table = kmemdup(table, sizeof(newtcp_sysctl_table), GFP_KERNEL);
		if (!table)
			return -ENOMEM;
	}
	table[0].data = nn->handshake_ms;
	table[1].data = nn->max_handshakes;
	table[2].data = nn->max_record;

	nn->sysctl_hdr = newtcp_register_net_sysctl(net, "net/newtcp", table,
						    NEWTCP_SYSCTL_N);
	if (!nn->sysctl_hdr)
		goto err;
	if (newtcp_stat_net_init(net))
		goto err_stat;
	return 0;

err_stat:
	unregister_net_sysctl_table(nn->sysctl_hdr);
err:
	if (!net_eq(net, &init_net))
		kfree(table);
	return -ENOMEM;
}

static void __net_exit newtcp_sysctl_net_exit(struct net *net)
{
	struct newtcp_net *nn = newtcp_net(net);
	const struct ctl_table *table = nn->sysctl_hdr->ctl_table_arg;

	newtcp_stat_net_exit(net);
	unregister_net_sysctl_table(nn->sysctl_hdr);
	if (!net_eq(net, &init_net))
		kfree(table);
}

static struct pernet_operations newtcp_sysctl_ops = {
	.init	= newtcp_sysctl_net_init,
	.exit	= newtcp_sysctl_net_exit,
	.id	= &newtcp_net_id,
	.size	= sizeof(struct newtcp_net),
};

int newtcp_sysctl_init(void)
{
	return register_pernet_subsys(&newtcp_sysctl_ops);
}

void newtcp_sysctl_exit(void)
{
	unregister_pernet_subsys(&newtcp_sysctl_ops);
}
