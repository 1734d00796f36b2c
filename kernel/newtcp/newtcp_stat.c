// SPDX-License-Identifier: GPL-2.0
/*
 * /proc/net/newtcp_stat: the namespace's NEW_TCP counters, one
 * "Name value" line each (API.md, "Per-namespace settings and
 * counters").
 */

#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <net/net_namespace.h>

#include "newtcp.h"

static const char *const newtcp_mib_names[NEWTCP_MIB_MAX] = {
	[NEWTCP_MIB_ACTIVE_OK]		= "ActiveHandshakeOk",
	[NEWTCP_MIB_ACTIVE_REFUSED]	= "ActiveHandshakeRefused",
	[NEWTCP_MIB_ACTIVE_TIMEDOUT]	= "ActiveHandshakeTimedOut",
	[NEWTCP_MIB_PASSIVE_OK]		= "PassiveHandshakeOk",
	[NEWTCP_MIB_PASSIVE_REFUSED]	= "PassiveHandshakeRefused",
	[NEWTCP_MIB_PASSIVE_BADVERSION]	= "PassiveHandshakeBadVersion",
	[NEWTCP_MIB_PASSIVE_BADTYPE]	= "PassiveHandshakeBadType",
	[NEWTCP_MIB_PASSIVE_BUSY]	= "PassiveHandshakeBusy",
	[NEWTCP_MIB_PASSIVE_EVICTED]	= "PassiveHandshakeEvicted",
	[NEWTCP_MIB_PASSIVE_TIMEDOUT]	= "PassiveHandshakeTimedOut",
	[NEWTCP_MIB_EPROTO]		= "FramingErrors",
	[NEWTCP_MIB_RECORDS_SENT]	= "RecordsSent",
	[NEWTCP_MIB_RECORDS_RECEIVED]	= "RecordsReceived",
};

static int newtcp_stat_show(struct seq_file *seq, void *v)
{
	struct newtcp_net *nn = newtcp_net(seq_file_single_net(seq));
	int i;

	for (i = 0; i < NEWTCP_MIB_MAX; i++)
		seq_printf(seq, "%s %lu\n", newtcp_mib_names[i],
			   atomic_long_read(&nn->mib[i]));
	return 0;
}

int newtcp_stat_net_init(struct net *net)
{
	if (!proc_create_net_single("newtcp_stat", 0444, net->proc_net,
				    newtcp_stat_show, NULL))
		return -ENOMEM;
	return 0;
}

void newtcp_stat_net_exit(struct net *net)
{
	remove_proc_entry("newtcp_stat", net->proc_net);
}
