/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A user-space reference peer for the NEW_TCP wire protocol, over plain
 * AF_INET TCP sockets.  Written from kernel/newtcp/PROTOCOL.md alone (not
 * from the module), so that a test where it talks to the module shows a
 * second implementation built from the document interoperates.
 *
 * Every call that waits is bounded: the peer's sockets get
 * SO_RCVTIMEO/SO_SNDTIMEO of REFPEER_TIMEOUT_MS, and a read that times
 * out fails with ETIMEDOUT.
 */
#ifndef SOCKVM_REFPEER_H
#define SOCKVM_REFPEER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The hello, PROTOCOL.md "Hello (8 bytes, both directions)". */
#define REFPEER_HELLO_LEN	8
#define REFPEER_MAGIC		0x4e544350u	/* "NTCP" */
#define REFPEER_VERSION		1
#define REFPEER_TYPE_STREAM	1
#define REFPEER_TYPE_SEQPACKET	2
#define REFPEER_FLAG_REPLY	0x80	/* every other flag bit is reserved, sent 0 */

enum refpeer_status {
	REFPEER_ACCEPTED = 0,
	REFPEER_BAD_TYPE = 1,
	REFPEER_BAD_VERSION = 2,
	REFPEER_BUSY = 3,
};

/* SOCK_SEQPACKET framing: a receiver refuses lengths above this (EPROTO). */
#define REFPEER_RECORD_LIMIT	(16u << 20)
#define REFPEER_RECORD_HDR	4

/* The default handshake_ms of PROTOCOL.md; we wait no longer than that, plus slack. */
#define REFPEER_TIMEOUT_MS	3000

struct refpeer_hello {
	uint32_t magic;
	uint8_t version;
	uint8_t type;	/* REFPEER_TYPE_* on the wire */
	uint8_t flags;
	uint8_t status;
};

/* The wire type of SOCK_STREAM / SOCK_SEQPACKET; 0 for anything else. */
uint8_t refpeer_wire_type(int sock_type);
/* A well-formed hello of @sock_type: the client's (@reply 0) or a reply with @status. */
struct refpeer_hello refpeer_hello(int sock_type, int reply, uint8_t status);
void refpeer_hello_pack(const struct refpeer_hello *h, unsigned char out[REFPEER_HELLO_LEN]);
void refpeer_hello_unpack(const unsigned char in[REFPEER_HELLO_LEN], struct refpeer_hello *h);

/*
 * Client side.  refpeer_connect_raw() connects to 127.0.0.1:@port over
 * plain TCP, sends the 8 bytes of @hello as given (a test may make them
 * wrong) and reads the 8-byte answer into @reply without judging it: the
 * fd, or -1 with errno (ECONNREFUSED for a reset or EOF before 8 bytes,
 * ETIMEDOUT).  refpeer_connect_hello() is the same with the hello packed
 * from a struct and the answer unpacked into *reply (may be NULL).
 *
 * refpeer_connect() is a whole NEW_TCP client: a correct hello of
 * @sock_type, then the reply judged as PROTOCOL.md's "Sequence" step 3
 * requires (refpeer_judge_reply()).  The fd of the session, or -1 with
 * errno ECONNREFUSED (a refusal, an echo, garbage, EOF) or ETIMEDOUT;
 * *reply (may be NULL) gets what came.
 */
int refpeer_connect_raw(uint16_t port, const unsigned char hello[REFPEER_HELLO_LEN],
			unsigned char reply[REFPEER_HELLO_LEN]);
int refpeer_connect_hello(uint16_t port, const struct refpeer_hello *hello,
			  struct refpeer_hello *reply);
int refpeer_connect(uint16_t port, int sock_type, struct refpeer_hello *reply);
/* 0 when @reply accepts a client of @sock_type, else ECONNREFUSED. */
int refpeer_judge_reply(const struct refpeer_hello *reply, int sock_type);

/*
 * Server side.  refpeer_judge_hello() is the status a server of
 * @sock_type answers a client's hello with, or -1 when it must reset the
 * connection without an answer (wrong magic, the reply bit set).
 *
 * refpeer_accept() takes one TCP connection off the plain listener @lst,
 * reads the client's hello (within REFPEER_TIMEOUT_MS) into *hello (may
 * be NULL), and answers it with the judged status, or with @force_status
 * when that is >= 0 (a test's refusal).  Status 0: the fd of the
 * session.  Otherwise the connection is reset after the reply (PROTOCOL.md:
 * "Non-zero status: the connection is then reset"; with @fin_after_refusal
 * it is closed with a FIN instead) and -1 is returned with errno
 * ECONNREFUSED; a hello that is not one, EOF or a timeout: the connection
 * is reset without an answer, -1 with EPROTO, ECONNRESET or ETIMEDOUT.
 */
int refpeer_judge_hello(const struct refpeer_hello *hello, int sock_type);
int refpeer_accept(int lst, int sock_type, int force_status,
		   int fin_after_refusal, struct refpeer_hello *hello);

/*
 * SOCK_SEQPACKET records: a 4-byte big-endian length, then the payload.
 * refpeer_send_record(): 0, or -1 with errno (EMSGSIZE above the limit).
 * refpeer_recv_record(): 1 with *len set and the payload in @buf, 0 at a
 * clean EOF (between records), -1 with errno: ECONNRESET for EOF inside a
 * record, EPROTO for a length above REFPEER_RECORD_LIMIT, EMSGSIZE for a
 * record longer than @cap (its payload is not read), ETIMEDOUT.
 */
int refpeer_send_record(int fd, const void *buf, uint32_t len);
int refpeer_recv_record(int fd, void *buf, size_t cap, uint32_t *len);

#endif
