/* SPDX-License-Identifier: GPL-2.0 */
/*
 * NEW_TCP internal definitions shared by the module's source files.
 */
#ifndef _NEWTCP_H
#define _NEWTCP_H

#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/net.h>
#include <linux/workqueue.h>
#include <net/sock.h>

#include "compat.h"
#include "include/uapi/linux/newtcp.h"

/* Wire format, see PROTOCOL.md. */
#define NEWTCP_MAGIC		0x4e544350	/* "NTCP" */
#define NEWTCP_VERSION		1
#define NEWTCP_HELLO_REPLY	0x80		/* flags: server to client */
#define NEWTCP_WIRE_STREAM	1
#define NEWTCP_WIRE_SEQPACKET	2

enum newtcp_status {
	NEWTCP_ST_OK		= 0,
	NEWTCP_ST_BADTYPE	= 1,
	NEWTCP_ST_BADVERSION	= 2,
	NEWTCP_ST_BUSY		= 3,
};

struct newtcp_hello {
	__be32	magic;
	u8	version;
	u8	type;
	u8	flags;
	u8	status;
} __packed;

/* SEQPACKET record header: payload length, network order. */
#define NEWTCP_FRAME_HDR	4
/* Largest record a receiver accepts at all, whatever MAXMSG says. */
#define NEWTCP_MAXMSG_LIMIT	(16U << 20)
#define NEWTCP_MAXMSG_DEFAULT	(64U << 10)

/* Per-socket state; struct sock first, sk_alloc() knows only that. */
struct newtcp_sock {
	struct sock		sk;
	struct socket		*tcp;		/* internal kernel TCP socket */
	struct list_head	node;		/* newtcp_all, for /proc */

	/* The inner socket's own callbacks, restored before release. */
	void			(*saved_data_ready)(struct sock *sk);
	void			(*saved_write_space)(struct sock *sk);
	void			(*saved_state_change)(struct sock *sk);
	void			(*saved_error_report)(struct sock *sk);

	/* Client side: handshake after the inner connect completes. */
	struct work_struct	connect_work;
	unsigned long		flags;
#define NEWTCP_F_HS_QUEUED	0	/* connect_work queued once */
#define NEWTCP_F_TX_BROKEN	1	/* a record was cut, no more tx */
#define NEWTCP_F_RX_BROKEN	2	/* framing violation, no more rx */

	/* Listener: inner accept loop and finished handshakes. */
	struct work_struct	listen_work;
	struct list_head	accept_q;	/* of newtcp_pending, ready */
	int			hs_pending;	/* handshakes in flight */
	int			accept_len;

	/* SEQPACKET */
	struct mutex		tx_lock;
	int			tx_need;	/* room the last EAGAIN record wanted */
	struct mutex		rx_lock;
	u32			rx_left;	/* of the current record */
	bool			rx_in_msg;
	bool			rx_discard;	/* dropping a truncated tail */
	u8			rx_hdr_got;
	u8			rx_hdr[NEWTCP_FRAME_HDR];
	u8			*rx_stage;	/* a record drained from TCP */
	u32			rx_stage_size;
	u32			rx_stage_len;
	u32			maxmsg;
	int			nodelay;

	/* Pages this socket counts in newtcp_prot's memory_allocated. */
	atomic_long_t		mem_pages;

	/* NEWTCP_INFO */
	atomic64_t		bytes_sent;
	atomic64_t		bytes_received;
	atomic64_t		msgs_sent;
	atomic64_t		msgs_received;
};

/* A connection accepted on the inner listener. */
struct newtcp_pending {
	struct list_head	list;
	struct work_struct	work;
	struct sock		*lsk;		/* listener, referenced */
	struct socket		*tcp;
};

static inline struct newtcp_sock *newtcp_sk(const struct sock *sk)
{
	return container_of(sk, struct newtcp_sock, sk);
}

extern int newtcp_family;
extern unsigned int newtcp_handshake_ms;

/* newtcp_proto.c */
extern struct proto newtcp_prot;
int newtcp_proto_register(void);
void newtcp_proto_unregister(void);
int newtcp_listen_sk(struct sock *sk, int backlog);
__poll_t newtcp_poll_mask(struct file *file, struct socket *sock);
int newtcp_getname_sk(struct sock *sk, struct sockaddr *uaddr, int peer);
void newtcp_sync_sockopts(struct sock *sk);
int newtcp_set_rcvlowat(struct sock *sk, int val);
int newtcp_wait_accept(struct sock *sk, long timeo);
int newtcp_wait_handshake(struct sock *sk, long *timeo);

/* newtcp_proc.c */
int newtcp_proc_init(void);
void newtcp_proc_exit(void);
void newtcp_proc_link(struct newtcp_sock *nsk);
void newtcp_proc_unlink(struct newtcp_sock *nsk);

#endif /* _NEWTCP_H */
