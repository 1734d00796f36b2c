/* SPDX-License-Identifier: GPL-2.0 */
/*
 * NEW_TCP internal definitions shared by the module's source files.
 */
#ifndef _NEWTCP_H
#define _NEWTCP_H

#include <net/sock.h>

#include "compat.h"

/*
 * Per-socket state.  struct sock comes first because sk_alloc() hands
 * out newtcp_prot.obj_size bytes and the core only knows struct sock.
 * The internal kernel TCP socket that will carry the data is added here
 * when the protocol grows beyond socket creation.
 */
struct newtcp_sock {
	struct sock	sk;
};

static inline struct newtcp_sock *newtcp_sk(struct sock *sk)
{
	return container_of(sk, struct newtcp_sock, sk);
}

/* newtcp_proto.c */
extern struct proto newtcp_prot;
int newtcp_proto_register(void);
void newtcp_proto_unregister(void);

#endif /* _NEWTCP_H */
