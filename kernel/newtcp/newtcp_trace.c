// SPDX-License-Identifier: GPL-2.0
/*
 * NEW_TCP tracepoints: their one definition (newtcp_trace.h has them and
 * API.md, "Tracepoints", says when each fires).
 */

#include <linux/sock_diag.h>
#include <net/sock.h>

#include "newtcp.h"

#define CREATE_TRACE_POINTS
#include "newtcp_trace.h"

/*
 * @sk's socket cookie, made on first use as SO_COOKIE makes it, so that
 * an event matches getsockopt(SO_COOKIE) and bpf_get_socket_cookie().
 * sock_diag_save_cookie() is the exported way to it (sock_gen_cookie()
 * needs the unexported __sock_gen_cookie()).
 */
u64 newtcp_trace_cookie(struct sock *sk)
{
	u32 cookie[2];

	sock_diag_save_cookie(sk, cookie);
	return (u64)cookie[1] << 32 | cookie[0];
}
