/* SPDX-License-Identifier: GPL-2.0 */
/*
 * NEW_TCP's sock_diag from user space: one dump, its entries in an
 * array (diag_nl.c), shared by the diag suite and the newtcp-ss tool.
 */
#ifndef DIAG_NL_H
#define DIAG_NL_H

#include <stdbool.h>
#include <stdint.h>
#include <netinet/in.h>
#include <linux/tcp.h>
#include <linux/newtcp.h>
#include <linux/newtcp_diag.h>

/* What to ask for; ports in host order, 0 for any. */
struct diag_query {
	int family;
	uint32_t states;
	uint16_t sport, dport;
	bool tcp_info, info;
};

struct diag_ent {
	struct newtcp_diag_msg m;
	bool has_tcp_info, has_info;
	struct tcp_info ti;
	struct newtcp_diag_info ni;
};

#define DIAG_ALL_STATES	0xffffffffu

/*
 * Entries of the dump, malloc()ed into *@out; their count, or -errno
 * (ENOENT: the family has no sock_diag handler).  Bounded: 5 s.
 */
int diag_dump(const struct diag_query *q, struct diag_ent **out);

/* TCP_* as ss names them; "?" past the table. */
const char *diag_state_name(int state);

/* The family the newtcp module registered, from sysfs; -1 if none. */
int diag_module_family(void);

#endif
