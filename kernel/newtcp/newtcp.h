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
#include <net/net_namespace.h>
#include <net/netns/generic.h>
#include <net/sock.h>

#include "compat.h"
/*
 * The uapi header (checkpatch: "filename in the file" is this path): by
 * its path, so the out-of-tree build needs no -I.
 */
#include "include/uapi/linux/newtcp.h"
#include "include/uapi/linux/newtcp_diag.h"

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
#define NEWTCP_F_INNER_CLOSED	4	/* the inner socket's close was seen */

	/* Listener: inner accept loop and finished handshakes. */
	struct work_struct	listen_work;
	struct list_head	accept_q;	/* of newtcp_pending, ready */
	int			hs_pending;	/* handshakes in flight */
	int			accept_len;

	/*
	 * Handshakes without a blocked worker (API.md, "Handshake
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
	u32			rx_len;		/* its length, for tracing */
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
	u8			end;		/* why dead: enum newtcp_hs_result */
	u8			got;
	u8			buf[8];
};

/*
 * Tracepoint values (newtcp_trace.h, API.md "Tracepoints"): what an
 * eBPF program compares the events' numeric fields with.  Append only.
 */
enum newtcp_hs_role {
	NEWTCP_ROLE_CLIENT,
	NEWTCP_ROLE_SERVER,
};

enum newtcp_hs_result {
	NEWTCP_HS_OK,
	NEWTCP_HS_REFUSED,	/* no NEW_TCP answer: RST, EOF, not a hello */
	NEWTCP_HS_TIMEDOUT,	/* handshake_ms passed */
	NEWTCP_HS_BADVERSION,	/* status 2, sent or received */
	NEWTCP_HS_BADTYPE,	/* status 1 */
	NEWTCP_HS_BUSY,		/* status 3 */
	NEWTCP_HS_EVICTED,	/* server: reset for max_handshakes */
	NEWTCP_HS_CLOSED,	/* our socket closed or shut down first */
};

enum newtcp_err_reason {
	NEWTCP_ERR_OVERSIZE,	/* record header over NEWTCP_MAXMSG_LIMIT */
	NEWTCP_ERR_TX_CUT,	/* a record could not be finished on send */
};

static inline struct newtcp_sock *newtcp_sk(const struct sock *sk)
{
	return container_of(sk, struct newtcp_sock, sk);
}

/* @sk's inner TCP socket; NULL before it has one. */
static inline struct sock *newtcp_inner_sk(const struct sock *sk)
{
	const struct socket *tcp = newtcp_sk(sk)->tcp;

	return tcp ? tcp->sk : NULL;
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
void newtcp_set_state(struct sock *sk, int state);

/* newtcp_trace.c: the tracepoints (newtcp_trace.h) */
u64 newtcp_trace_cookie(struct sock *sk);

/* newtcp_handshake.c: the hellos, driven by callbacks and a deadline */
extern unsigned int newtcp_max_handshakes;
int newtcp_handshake_init(void);
void newtcp_handshake_exit(void);
void newtcp_queue(struct sock *sk, struct work_struct *work);
void newtcp_connect_work(struct work_struct *work);
void newtcp_listen_work(struct work_struct *work);
void newtcp_hs_timeout(struct work_struct *work);
void newtcp_hs_kill(struct newtcp_sock *lnsk, struct newtcp_pending *p,
		    enum newtcp_hs_result why);
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
bool newtcp_stage_waits(struct newtcp_sock *nsk);
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

/* newtcp_sysctl.c and newtcp_stat.c: per-namespace settings, counters */
enum newtcp_mib {
	NEWTCP_MIB_ACTIVE_OK,		/* connect(): the server accepted us */
	NEWTCP_MIB_ACTIVE_REFUSED,	/* connect(): refused by the reply */
	NEWTCP_MIB_ACTIVE_TIMEDOUT,	/* connect(): no reply by handshake_ms */
	NEWTCP_MIB_PASSIVE_OK,		/* listener: a connection queued */
	NEWTCP_MIB_PASSIVE_REFUSED,	/* listener: any non-OK reply sent */
	NEWTCP_MIB_PASSIVE_BADVERSION,	/* ... of which version mismatches */
	NEWTCP_MIB_PASSIVE_BADTYPE,	/* ... socket type mismatches */
	NEWTCP_MIB_PASSIVE_BUSY,	/* ... accept queue full */
	NEWTCP_MIB_PASSIVE_EVICTED,	/* reset: max_handshakes in flight */
	NEWTCP_MIB_PASSIVE_TIMEDOUT,	/* reset: no hello by handshake_ms */
	NEWTCP_MIB_EPROTO,		/* SEQPACKET framing violations */
	NEWTCP_MIB_RECORDS_SENT,
	NEWTCP_MIB_RECORDS_RECEIVED,
	NEWTCP_MIB_MAX
};

#define NEWTCP_SYSCTL_N		3

/*
 * The setting pointers are init_net's module parameters, or the own_*
 * copies of any other namespace (newtcp_sysctl.c says why).  Counters
 * are atomics: a handful of cache lines per namespace, bumped once per
 * record at most, where per-cpu MIBs would cost a percpu allocation per
 * namespace for no measured gain.
 */
struct newtcp_net {
	unsigned int		*handshake_ms;
	unsigned int		*max_handshakes;
	unsigned int		*max_record;
	unsigned int		own_handshake_ms;
	unsigned int		own_max_handshakes;
	unsigned int		own_max_record;
	struct ctl_table_header	*sysctl_hdr;
	atomic_long_t		mib[NEWTCP_MIB_MAX];
};

extern unsigned int newtcp_net_id;

static inline struct newtcp_net *newtcp_net(const struct net *net)
{
	return net_generic(net, newtcp_net_id);
}

static inline unsigned int newtcp_handshake_jiffies(const struct net *net)
{
	return msecs_to_jiffies(READ_ONCE(*newtcp_net(net)->handshake_ms));
}

static inline void newtcp_mib_inc(const struct net *net, enum newtcp_mib m)
{
	atomic_long_inc(&newtcp_net(net)->mib[m]);
}

int newtcp_sysctl_init(void);
void newtcp_sysctl_exit(void);
int newtcp_stat_net_init(struct net *net);
void newtcp_stat_net_exit(struct net *net);

/*
 * newtcp_proc.c: /proc/net/newtcp, and struct proto's hash/unhash.  One
 * row per NEW_TCP socket and, after a listener's, one per connection it
 * holds (accept queue, then handshakes in flight): what /proc/net/newtcp
 * prints and sock_diag (newtcp_diag.c) sends.
 */
struct newtcp_row {
	struct sock	*sk;		/* the socket, or the holding listener */
	struct sock	*isk;		/* the inner TCP socket of this row */
	struct newtcp_pending *p;	/* a listener's connection, or NULL */
	u8		kind;		/* NEWTCP_DIAG_SOCKET, ... */
	int		state;		/* TCP_*, as the st column */
	u32		rxq;
	u32		txq;
	u64		ino;
};

typedef int (*newtcp_emit_t)(const struct newtcp_row *r, void *arg);
int newtcp_walk(struct net *net, unsigned long *pos, unsigned long *row,
		newtcp_emit_t emit, void *arg);
int newtcp_proc_init(void);
void newtcp_proc_exit(void);
int newtcp_hash(struct sock *sk);
void newtcp_unhash(struct sock *sk);

/* newtcp_diag.c: the family's sock_diag handler */
void newtcp_diag_init(void);
void newtcp_diag_exit(void);

#endif /* _NEWTCP_H */
