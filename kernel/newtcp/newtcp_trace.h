/* SPDX-License-Identifier: GPL-2.0 */
/*
 * NEW_TCP tracepoints: newtcp:<event> in tracefs, perf and eBPF
 * (API.md, "Tracepoints").
 *
 * Every event names its socket by the socket cookie (what SO_COOKIE and
 * bpf_get_socket_cookie() return for the NEW_TCP socket; a listener's
 * for a handshake it runs) and its network namespace by the inode of
 * /proc/<pid>/ns/net, and carries the connection's ports in host order.
 * Fields are numbers only, so that an eBPF program reads every one at a
 * fixed offset; the text output names them through __print_symbolic().
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM newtcp

#if !defined(_NEWTCP_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _NEWTCP_TRACE_H

#include <linux/tracepoint.h>
#include <net/inet_sock.h>
#include <net/sock.h>
#include <net/tcp_states.h>

#include "newtcp.h"

TRACE_DEFINE_ENUM(NEWTCP_ROLE_CLIENT);
TRACE_DEFINE_ENUM(NEWTCP_ROLE_SERVER);
TRACE_DEFINE_ENUM(NEWTCP_HS_OK);
TRACE_DEFINE_ENUM(NEWTCP_HS_REFUSED);
TRACE_DEFINE_ENUM(NEWTCP_HS_TIMEDOUT);
TRACE_DEFINE_ENUM(NEWTCP_HS_BADVERSION);
TRACE_DEFINE_ENUM(NEWTCP_HS_BADTYPE);
TRACE_DEFINE_ENUM(NEWTCP_HS_BUSY);
TRACE_DEFINE_ENUM(NEWTCP_HS_EVICTED);
TRACE_DEFINE_ENUM(NEWTCP_HS_CLOSED);
TRACE_DEFINE_ENUM(NEWTCP_ERR_OVERSIZE);
TRACE_DEFINE_ENUM(NEWTCP_ERR_TX_CUT);
TRACE_DEFINE_ENUM(SOCK_STREAM);
TRACE_DEFINE_ENUM(SOCK_SEQPACKET);
TRACE_DEFINE_ENUM(TCP_ESTABLISHED);
TRACE_DEFINE_ENUM(TCP_SYN_SENT);
TRACE_DEFINE_ENUM(TCP_CLOSE);
TRACE_DEFINE_ENUM(TCP_LISTEN);

/* checkpatch: a __print_symbolic() table, not a value to parenthesize. */
#define newtcp_show_role(r)						\
	__print_symbolic(r,						\
			 { NEWTCP_ROLE_CLIENT, "client" },		\
			 { NEWTCP_ROLE_SERVER, "server" })

/* checkpatch: as above. */
#define newtcp_show_result(r)						\
	__print_symbolic(r,						\
			 { NEWTCP_HS_OK, "ok" },			\
			 { NEWTCP_HS_REFUSED, "refused" },		\
			 { NEWTCP_HS_TIMEDOUT, "timedout" },		\
			 { NEWTCP_HS_BADVERSION, "badversion" },	\
			 { NEWTCP_HS_BADTYPE, "badtype" },		\
			 { NEWTCP_HS_BUSY, "busy" },			\
			 { NEWTCP_HS_EVICTED, "evicted" },		\
			 { NEWTCP_HS_CLOSED, "closed" })

/* checkpatch: as above. */
#define newtcp_show_reason(r)						\
	__print_symbolic(r,						\
			 { NEWTCP_ERR_OVERSIZE, "oversize" },		\
			 { NEWTCP_ERR_TX_CUT, "tx_cut" })

/* checkpatch: as above.  The outer socket's states only. */
#define newtcp_show_state(s)						\
	__print_symbolic(s,						\
			 { TCP_ESTABLISHED, "ESTABLISHED" },		\
			 { TCP_SYN_SENT, "SYN_SENT" },			\
			 { TCP_CLOSE, "CLOSE" },			\
			 { TCP_LISTEN, "LISTEN" })

/* checkpatch: as above. */
#define newtcp_show_type(t)						\
	__print_symbolic(t,						\
			 { SOCK_STREAM, "stream" },			\
			 { SOCK_SEQPACKET, "seqpacket" })

/*
 * The fields every event has, in TP_fast_assign(): who (cookie, netns)
 * and the connection's ports, read from the inner TCP socket @isk (NULL:
 * 0).
 */
#define NEWTCP_ASSIGN_ID(sk, isk)					\
	do {								\
		struct sock *sk_ = (sk);				\
		const struct sock *isk_ = (isk);			\
		const struct inet_sock *inet_ = isk_ ? inet_sk(isk_) : NULL; \
									\
		__entry->cookie = newtcp_trace_cookie(sk_);		\
		__entry->netns = sock_net(sk_)->ns.inum;		\
		__entry->sport = inet_ ? ntohs(inet_->inet_sport) : 0;	\
		__entry->dport = inet_ ? ntohs(inet_->inet_dport) : 0;	\
	} while (0)

#define NEWTCP_ASSIGN_ADDRS(isk)					\
	do {								\
		const struct inet_sock *inet_ = inet_sk(isk);		\
									\
		memcpy(__entry->saddr, &inet_->inet_saddr, 4);		\
		memcpy(__entry->daddr, &inet_->inet_daddr, 4);		\
	} while (0)

/*
 * A handshake began: a client's connect() started the inner TCP
 * connect, or a listener took a TCP connection whose hello it now
 * awaits.  @sk is the connecting socket or the listener.
 */
TRACE_EVENT(newtcp_handshake_start,
	    TP_PROTO(struct sock *sk, const struct sock *isk, int role),
	    TP_ARGS(sk, isk, role),
	    /* checkpatch: a line ends in "(": the trace header idiom */
	    TP_STRUCT__entry(
		__field(__u64, cookie)
		__field(__u32, netns)
		__array(__u8, saddr, 4)
		__array(__u8, daddr, 4)
		__field(__u16, sport)
		__field(__u16, dport)
		__field(__u8, role)
		__field(__u8, type)
	    ),
	    /* checkpatch: a line ends in "(": the trace header idiom */
	    TP_fast_assign(
		NEWTCP_ASSIGN_ID(sk, isk);
		NEWTCP_ASSIGN_ADDRS(isk);
		__entry->role = role;
		__entry->type = sk->sk_type;
	    ),
	    TP_printk("cookie=%llu netns=%u %s %s %pI4:%u -> %pI4:%u",
		      __entry->cookie, __entry->netns,
		      newtcp_show_role(__entry->role),
		      newtcp_show_type(__entry->type),
		      __entry->saddr, __entry->sport,
		      __entry->daddr, __entry->dport)
);

/*
 * A handshake ended: once for every start, with how (@result) and the
 * errno that connect() or the server's reset got from it (@err, 0 for
 * none).  A server's refusal is traced before its reply goes out.
 */
TRACE_EVENT(newtcp_handshake_end,
	    TP_PROTO(struct sock *sk, const struct sock *isk, int role, int result,
		     int err),
	    TP_ARGS(sk, isk, role, result, err),
	    /* checkpatch: a line ends in "(": the trace header idiom */
	    TP_STRUCT__entry(
		__field(__u64, cookie)
		__field(__u32, netns)
		__array(__u8, saddr, 4)
		__array(__u8, daddr, 4)
		__field(__u16, sport)
		__field(__u16, dport)
		__field(__u8, role)
		__field(__u8, type)
		__field(__u8, result)
		__field(int, err)
	    ),
	    /* checkpatch: a line ends in "(": the trace header idiom */
	    TP_fast_assign(
		NEWTCP_ASSIGN_ID(sk, isk);
		NEWTCP_ASSIGN_ADDRS(isk);
		__entry->role = role;
		__entry->type = sk->sk_type;
		__entry->result = result;
		__entry->err = err;
	    ),
	    TP_printk("cookie=%llu netns=%u %s %s %pI4:%u -> %pI4:%u result=%s err=%d",
		      __entry->cookie, __entry->netns,
		      newtcp_show_role(__entry->role),
		      newtcp_show_type(__entry->type),
		      __entry->saddr, __entry->sport,
		      __entry->daddr, __entry->dport,
		      newtcp_show_result(__entry->result), __entry->err)
);

/* The NEW_TCP socket's own state (not its inner TCP's) changed. */
TRACE_EVENT(newtcp_state,
	    TP_PROTO(struct sock *sk, int oldstate, int newstate),
	    TP_ARGS(sk, oldstate, newstate),
	    /* checkpatch: a line ends in "(": the trace header idiom */
	    TP_STRUCT__entry(
		__field(__u64, cookie)
		__field(__u32, netns)
		__field(__u16, sport)
		__field(__u16, dport)
		__field(__u8, oldstate)
		__field(__u8, newstate)
		__field(__u8, type)
	    ),
	    /* checkpatch: a line ends in "(": the trace header idiom */
	    TP_fast_assign(
		const struct sock *isk = newtcp_inner_sk(sk);

		NEWTCP_ASSIGN_ID(sk, isk);
		__entry->oldstate = oldstate;
		__entry->newstate = newstate;
		__entry->type = sk->sk_type;
	    ),
	    TP_printk("cookie=%llu netns=%u %s sport=%u dport=%u %s -> %s",
		      __entry->cookie, __entry->netns,
		      newtcp_show_type(__entry->type),
		      __entry->sport, __entry->dport,
		      newtcp_show_state(__entry->oldstate),
		      newtcp_show_state(__entry->newstate))
);

/*
 * Data through the NEW_TCP socket: @len is a SEQPACKET record's length
 * (of the whole record, also when the reader truncated it), or the
 * bytes of one STREAM send or receive.  Peeks are not traced.
 */
DECLARE_EVENT_CLASS(newtcp_record,
		    TP_PROTO(struct sock *sk, u32 len),
		    TP_ARGS(sk, len),
		    /* checkpatch: a line ends in "(": the trace header idiom */
		    TP_STRUCT__entry(
			__field(__u64, cookie)
			__field(__u32, netns)
			__field(__u32, len)
			__field(__u16, sport)
			__field(__u16, dport)
			__field(__u8, type)
		    ),
		    /* checkpatch: a line ends in "(": the trace header idiom */
		    TP_fast_assign(
			const struct sock *isk = newtcp_inner_sk(sk);

			NEWTCP_ASSIGN_ID(sk, isk);
			__entry->len = len;
			__entry->type = sk->sk_type;
		    ),
		    TP_printk("cookie=%llu netns=%u %s sport=%u dport=%u len=%u",
			      __entry->cookie, __entry->netns,
			      newtcp_show_type(__entry->type),
			      __entry->sport, __entry->dport, __entry->len)
);

DEFINE_EVENT(newtcp_record, newtcp_record_in,
	     TP_PROTO(struct sock *sk, u32 len),
	     TP_ARGS(sk, len)
);

DEFINE_EVENT(newtcp_record, newtcp_record_out,
	     TP_PROTO(struct sock *sk, u32 len),
	     TP_ARGS(sk, len)
);

/*
 * The SEQPACKET framing broke, for @reason: no record passes in that
 * direction again.  @len is the header's length for "oversize", @err
 * what the call that found it returns.
 */
TRACE_EVENT(newtcp_error,
	    TP_PROTO(struct sock *sk, int reason, int err, u32 len),
	    TP_ARGS(sk, reason, err, len),
	    /* checkpatch: a line ends in "(": the trace header idiom */
	    TP_STRUCT__entry(
		__field(__u64, cookie)
		__field(__u32, netns)
		__field(__u32, len)
		__field(int, err)
		__field(__u16, sport)
		__field(__u16, dport)
		__field(__u8, reason)
	    ),
	    /* checkpatch: a line ends in "(": the trace header idiom */
	    TP_fast_assign(
		const struct sock *isk = newtcp_inner_sk(sk);

		NEWTCP_ASSIGN_ID(sk, isk);
		__entry->reason = reason;
		__entry->err = err;
		__entry->len = len;
	    ),
	    TP_printk("cookie=%llu netns=%u sport=%u dport=%u reason=%s err=%d len=%u",
		      __entry->cookie, __entry->netns,
		      __entry->sport, __entry->dport,
		      newtcp_show_reason(__entry->reason), __entry->err,
		      __entry->len)
);

#endif /* _NEWTCP_TRACE_H */

/* Out of tree: define_trace.h finds this file next to the sources. */
#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE newtcp_trace
#include <trace/define_trace.h>
