/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * sock_diag for AF_INET_NEW_TCP (API.md, "sock_diag").
 *
 * A NETLINK_SOCK_DIAG dump request of type SOCK_DIAG_BY_FAMILY with a
 * struct newtcp_diag_req, sdiag_family the family in use (see
 * NEWTCP_FAMILY_SYSFS), answers one struct newtcp_diag_msg per socket of
 * the requester's network namespace, followed by the attributes asked
 * for in ndiag_ext.
 */
#ifndef _UAPI_LINUX_NEWTCP_DIAG_H
#define _UAPI_LINUX_NEWTCP_DIAG_H

#include <linux/types.h>

struct newtcp_diag_req {
	__u8	sdiag_family;		/* the family NEW_TCP registered */
	__u8	sdiag_protocol;		/* 0 */
	__u8	ndiag_ext;		/* 1 << (NEWTCP_DIAG_* - 1) */
	__u8	ndiag_pad;
	__u32	ndiag_states;		/* 1 << TCP_* of the listed entries */
	__be16	ndiag_sport;		/* local port, 0: any */
	__be16	ndiag_dport;		/* remote port, 0: any */
};

/* What an entry is: a socket, or a connection a listener holds. */
enum {
	NEWTCP_DIAG_SOCKET,		/* a NEW_TCP socket with a file */
	NEWTCP_DIAG_UNACCEPTED,		/* handshake done, not yet accepted */
	NEWTCP_DIAG_HANDSHAKE,		/* listener side, hello not yet in */
};

struct newtcp_diag_msg {
	__u8	ndiag_family;
	__u8	ndiag_state;		/* TCP_*, as /proc/net/newtcp's st */
	__u8	ndiag_type;		/* SOCK_STREAM or SOCK_SEQPACKET */
	__u8	ndiag_kind;		/* NEWTCP_DIAG_SOCKET, ... */
	__u8	ndiag_inner_state;	/* TCP_* of the inner TCP socket */
	__u8	ndiag_pad[3];
	__be16	ndiag_sport;
	__be16	ndiag_dport;
	__be32	ndiag_saddr;
	__be32	ndiag_daddr;
	__u32	ndiag_rqueue;		/* /proc/net/newtcp's rx_queue */
	__u32	ndiag_wqueue;		/* and tx_queue */
	__u32	ndiag_uid;
	__u32	ndiag_cookie[2];	/* the socket's, else the inner one's */
	__u64	ndiag_ino;		/* 0 for a connection not accepted */
};

/* Attributes after a newtcp_diag_msg. */
enum {
	NEWTCP_DIAG_NONE,
	NEWTCP_DIAG_TCP_INFO,		/* struct tcp_info, inner socket's */
	NEWTCP_DIAG_INFO,		/* struct newtcp_diag_info */
	NEWTCP_DIAG_PAD,		/* aligns the two above to 8 bytes */
	__NEWTCP_DIAG_MAX,
};

#define NEWTCP_DIAG_MAX (__NEWTCP_DIAG_MAX - 1)

/* Where a connection is in the NEW_TCP handshake. */
enum {
	NEWTCP_DIAG_HS_NONE,		/* not connecting, or a listener */
	NEWTCP_DIAG_HS_TCP,		/* client: inner TCP connect */
	NEWTCP_DIAG_HS_HELLO,		/* waiting for the peer's hello */
	NEWTCP_DIAG_HS_DONE,		/* hellos exchanged */
};

struct newtcp_diag_info {
	__u64	ndi_bytes_sent;		/* as struct newtcp_info */
	__u64	ndi_bytes_received;
	__u64	ndi_records_sent;	/* sendmsg calls / records */
	__u64	ndi_records_received;	/* records completed (SEQPACKET) */
	__u32	ndi_staged;		/* bytes of a record staged, unread */
	__u32	ndi_maxmsg;
	__u8	ndi_hs_phase;		/* NEWTCP_DIAG_HS_* */
	__u8	ndi_hs_got;		/* bytes of the peer's hello in */
	__u16	ndi_pad;
	__u32	ndi_accept_len;		/* listener: unaccepted connections */
	__u32	ndi_hs_pending;		/* listener: handshakes in flight */
	__u32	ndi_pad2;
};

#endif /* _UAPI_LINUX_NEWTCP_DIAG_H */
