/* SPDX-License-Identifier: GPL-2.0 */
/*
 * NEW_TCP internal definitions shared by the module's source files.
 */
#ifndef _NEWTCP_H
#define _NEWTCP_H

#include <linux/in.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/net.h>
#include <linux/workqueue.h>
#include <net/sock.h>

#include "compat.h"
/*
 * The uapi header (checkpatch: "filename in the file" is this path): by
 * its path, so the out-of-tree build needs no -I.
 */
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
#define NEWTCP_F_HS_QUEUED	0	/* connect() queued connect_work */
#define NEWTCP_F_TX_BROKEN	1	/* a record was cut, no more tx */
#define NEWTCP_F_HELLO_SENT	2	/* client: our hello is out */
#define NEWTCP_F_RX_BROKEN	3	/* framing violation, no more rx */

	/* Listener: inner accept loop and finished handshakes. */
	struct work_struct	listen_work;
	struct list_head	accept_q;	/* of newtcp_pending, ready */
	int			hs_pending;	/* handshakes in flight */
	int			accept_len;

	/*
	 * Handshakes without a blocked worker (PROTOCOL.md, "Handshake
	 * engine").  Listener: hs_list holds the handshakes in flight,
	 * oldest first.  Client: the reply gathers in hs_buf as the inner
	 * socket's callbacks say it arrives; hs_timeout ends the wait at
	 * hs_deadline.
	 */
	struct list_head	hs_list;
	struct delayed_work	hs_timeout;
	unsigned long		hs_deadline;
	u8			hs_buf[8];
	u8			hs_got;

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

/*
 * A connection accepted on the inner listener: on the listener's hs_list
 * while its hello comes in, on its accept_q once answered.  @work runs
 * whenever the inner socket has news and at @deadline; it never blocks.
 */
struct newtcp_pending {
	struct list_head	list;
	struct delayed_work	work;
	struct sock		*lsk;		/* listener, referenced */
	struct socket		*tcp;
	unsigned long		deadline;	/* jiffies */
	bool			dead;		/* evicted or listener closed */
	u8			got;
	u8			buf[8];
};

static inline struct newtcp_sock *newtcp_sk(const struct sock *sk)
{
	return container_of(sk, struct newtcp_sock, sk);
}

static inline u8 newtcp_wire_type(const struct sock *sk)
{
	return sk->sk_type == SOCK_SEQPACKET ? NEWTCP_WIRE_SEQPACKET :
					       NEWTCP_WIRE_STREAM;
}

/* af_newtcp.c: the family, its proto_ops and struct proto */
extern int newtcp_family;
extern unsigned int newtcp_handshake_ms;
void newtcp_destroy_sock(struct sock *sk);
void newtcp_restore_callbacks(struct newtcp_sock *nsk, struct sock *isk);
void newtcp_mem_sync(struct newtcp_sock *nsk, struct sock *isk);
void newtcp_mem_uncharge(struct newtcp_sock *nsk);
void newtcp_error_reported(struct sock *sk, int rc);
void newtcp_inner_err_reported(struct sock *sk, struct sock *isk);

/* newtcp_handshake.c: the hellos, driven by callbacks and a deadline */
extern unsigned int newtcp_max_handshakes;
int newtcp_handshake_init(void);
void newtcp_handshake_exit(void);
void newtcp_queue(struct sock *sk, struct work_struct *work);
void newtcp_connect_work(struct work_struct *work);
void newtcp_listen_work(struct work_struct *work);
void newtcp_hs_timeout(struct work_struct *work);
void newtcp_hs_kill(struct newtcp_sock *lnsk, struct newtcp_pending *p);
int newtcp_handshake_start(struct sock *sk, struct sockaddr_in *sin);
int newtcp_wait_connected(struct sock *sk, long *timeo);
int newtcp_wait_session(struct sock *sk, long timeo, bool stream_tx,
			int msg_flags);
int newtcp_wait_accept(struct sock *sk, long timeo);
void newtcp_abort_tcp(struct socket *tcp);
void newtcp_release_pending(struct list_head *q);

/* newtcp_tx.c: the send path */
int newtcp_sendmsg(struct socket *sock, struct msghdr *msg, size_t len);
void newtcp_break(struct newtcp_sock *nsk);

/* newtcp_rx.c: the receive path, SEQPACKET framing and staging */
int newtcp_recvmsg(struct socket *sock, struct msghdr *msg, size_t len,
		   int flags);
bool newtcp_stage_ready(struct newtcp_sock *nsk);
int newtcp_rx_next_len(struct newtcp_sock *nsk);

/* newtcp_close.c: release, shutdown and disconnect */
int newtcp_release(struct socket *sock);
int newtcp_shutdown(struct socket *sock, int how);
int newtcp_disconnect(struct sock *sk);
void newtcp_inner_disconnect(struct socket *tcp);

/* newtcp_sockopt.c: options, and what the inner socket inherits */
int newtcp_setsockopt(struct socket *sock, int level, int optname,
		      sockptr_t optval, unsigned int optlen);
int newtcp_getsockopt(struct socket *sock, int level, int optname,
		      char __user *optval, int __user *optlen);
int newtcp_set_rcvlowat(struct sock *sk, int val);
void newtcp_rehash(struct sock *sk);
void newtcp_keepalive(struct sock *sk, int val);
void newtcp_sync_sockopts(struct sock *sk);
void newtcp_inherit_owner(struct sock *sk);
int newtcp_apply_nodelay(struct newtcp_sock *nsk);

/*
 * Where the module allocates, each marked ALLOW_ERROR_INJECTION so that
 * a kprobe with bpf_override_return() (suites/errinj) or fail_function
 * can fail it: kept out of line and global so the mark holds.
 */
struct sock *newtcp_sk_alloc(struct net *net, int kern);
int newtcp_create_inner(struct sock *sk, struct socket **tcp);
struct newtcp_pending *newtcp_pending_alloc(void);
void *newtcp_stage_alloc(size_t len);

/* newtcp_proc.c: /proc/net/newtcp, and struct proto's hash/unhash */
int newtcp_proc_init(void);
void newtcp_proc_exit(void);
int newtcp_hash(struct sock *sk);
void newtcp_unhash(struct sock *sk);

#endif /* _NEWTCP_H */
