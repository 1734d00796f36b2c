// SPDX-License-Identifier: GPL-2.0
/*
 * A NETLINK_SOCK_DIAG dump of NEW_TCP sockets: newtcp_diag_req out,
 * newtcp_diag_msg and its attributes back (API.md, "sock_diag").
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>

#include "diag_nl.h"

const char *diag_state_name(int state)
{
	static const char *const names[] = {
		"UNKNOWN", "ESTAB", "SYN-SENT", "SYN-RECV", "FIN-WAIT-1",
		"FIN-WAIT-2", "TIME-WAIT", "UNCONN", "CLOSE-WAIT", "LAST-ACK",
		"LISTEN", "CLOSING", "NEW-SYN-RECV",
	};

	if (state < 0 || state >= (int)(sizeof(names) / sizeof(names[0])))
		return "?";
	return names[state];
}

int diag_module_family(void)
{
	FILE *f = fopen(NEWTCP_FAMILY_SYSFS, "r");
	int family = -1;

	if (!f)
		return -1;
	if (fscanf(f, "%d", &family) != 1)
		family = -1;
	fclose(f);
	return family;
}

/* The attributes after @m's header; @len: what the message holds. */
static void diag_attrs(struct diag_ent *e, const char *data, int len)
{
	int off = NLMSG_ALIGN(sizeof(struct newtcp_diag_msg));
	const struct rtattr *a = (const struct rtattr *)(data + off);
	int left = len - off;

	for (; left > 0 && RTA_OK(a, left); a = RTA_NEXT(a, left)) {
		size_t n = RTA_PAYLOAD(a);

		if (a->rta_type == NEWTCP_DIAG_TCP_INFO) {
			/* The kernel's tcp_info may be longer or shorter. */
			memcpy(&e->ti, RTA_DATA(a), n < sizeof(e->ti) ? n : sizeof(e->ti));
			e->has_tcp_info = true;
		} else if (a->rta_type == NEWTCP_DIAG_INFO) {
			memcpy(&e->ni, RTA_DATA(a), n < sizeof(e->ni) ? n : sizeof(e->ni));
			e->has_info = true;
		}
	}
}

/* One received datagram: 1 at NLMSG_DONE, 0 for more, -errno. */
static int diag_take(const char *buf, int len, struct diag_ent **out, int *n, int *cap)
{
	const struct nlmsghdr *h = (const struct nlmsghdr *)buf;

	for (; NLMSG_OK(h, (unsigned int)len); h = NLMSG_NEXT(h, len)) {
		if (h->nlmsg_type == NLMSG_DONE)
			return 1;
		if (h->nlmsg_type == NLMSG_ERROR) {
			const struct nlmsgerr *err = NLMSG_DATA(h);

			return err->error ? err->error : -EPROTO;
		}
		if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY ||
		    h->nlmsg_len < NLMSG_LENGTH(sizeof(struct newtcp_diag_msg)))
			return -EPROTO;
		if (*n == *cap) {
			struct diag_ent *more;

			*cap = *cap ? *cap * 2 : 16;
			more = realloc(*out, *cap * sizeof(**out));
			if (!more)
				return -ENOMEM;
			*out = more;
		}
		memset(&(*out)[*n], 0, sizeof(**out));
		memcpy(&(*out)[*n].m, NLMSG_DATA(h), sizeof(struct newtcp_diag_msg));
		diag_attrs(&(*out)[*n], NLMSG_DATA(h), h->nlmsg_len - NLMSG_LENGTH(0));
		(*n)++;
	}
	return 0;
}

int diag_dump(const struct diag_query *q, struct diag_ent **out)
{
	struct {
		struct nlmsghdr nlh;
		struct newtcp_diag_req r;
	} req;
	struct sockaddr_nl nl = { .nl_family = AF_NETLINK };
	struct timeval tv = { .tv_sec = 5 };
	static char buf[32768];
	int fd, n = 0, cap = 0, rc = 0;
	ssize_t len;

	*out = NULL;
	fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	memset(&req, 0, sizeof(req));
	req.nlh.nlmsg_len = sizeof(req);
	req.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	req.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	req.nlh.nlmsg_seq = 1;
	req.r.sdiag_family = q->family;
	req.r.ndiag_states = q->states;
	req.r.ndiag_sport = htons(q->sport);
	req.r.ndiag_dport = htons(q->dport);
	if (q->tcp_info)
		req.r.ndiag_ext |= 1 << (NEWTCP_DIAG_TCP_INFO - 1);
	if (q->info)
		req.r.ndiag_ext |= 1 << (NEWTCP_DIAG_INFO - 1);
	if (sendto(fd, &req, sizeof(req), 0, (struct sockaddr *)&nl, sizeof(nl)) < 0) {
		rc = -errno;
		goto out;
	}
	while (!rc) {
		len = recv(fd, buf, sizeof(buf), 0);
		if (len < 0) {
			rc = -errno;
			break;
		}
		rc = diag_take(buf, len, out, &n, &cap);
	}
out:
	close(fd);
	if (rc < 0) {
		free(*out);
		*out = NULL;
		return rc;
	}
	return n;
}
