/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Differential engine: the same socket calls run on two socket families
 * (an oracle and NEW_TCP), each call's observable outcome recorded as a
 * string (return value, errno, msg_flags, poll revents, data length and
 * checksum, ioctl and option values) and the two strings compared.
 *
 * An environment holds up to three sockets of one kind: DIFF_S (the
 * subject, or a connected pair's client), DIFF_P (its peer) and DIFF_L
 * (a listener: the connect target).  What must differ between families
 * is normalised when recorded: the address family ("AF" = the env's own
 * family), port numbers ("L" the env's listener, "BH" the black hole,
 * "0", or "eph" for any other ephemeral port).
 */
#ifndef SOCKVM_DIFF_H
#define SOCKVM_DIFF_H

#include <stdint.h>
#include <sys/socket.h>

enum diff_kind { DIFF_TCP, DIFF_NTCP, DIFF_UNIX };

#define DIFF_S		0
#define DIFF_P		1
#define DIFF_L		2
#define DIFF_NSOCK	3

/* Timeout every blocking call of a subject has (SO_RCVTIMEO/SO_SNDTIMEO). */
#define DIFF_TIMEO_MS	10

struct diff_env {
	int kind, type;
	int fd[DIFF_NSOCK];
	uint16_t lport;			/* DIFF_L's port */
	uint64_t txoff[DIFF_NSOCK];	/* pattern offset of what fd[i] sent */
};

enum diff_call {
	DC_SEND,	/* a: length, flags */
	DC_RECV,	/* a: length, flags */
	DC_SENDMSG,	/* a: length in two iovecs, flags */
	DC_RECVMSG,	/* a: buffer in two iovecs, flags; msg_flags recorded */
	DC_READ,	/* a: length */
	DC_WRITE,	/* a: length */
	DC_SHUTDOWN,	/* a: how */
	DC_CLOSE,	/* then the peer's poll, waited up to 300 ms */
	DC_POLL,	/* 0 timeout */
	DC_WAITIN,	/* poll for POLLIN|POLLRDHUP, a: timeout ms */
	DC_IOCTL,	/* a: index into diff_ioctls */
	DC_GETOPT,	/* a: index into diff_opts */
	DC_SETOPT,	/* a: index into diff_opts; then the value read back */
	DC_BIND,	/* a: 0 loopback:0, 1 short length, 2 wrong family */
	DC_LISTEN,	/* a: backlog */
	DC_ACCEPT,	/* non-blocking; the new socket's getpeername recorded */
	DC_CONNECT,	/* a: DIFF_TGT_*, flags: O_NONBLOCK or 0 */
	DC_GETNAME,	/* a: 0 sockname, 1 peername */
	DC_NOP,
};

enum { DIFF_TGT_LIVE, DIFF_TGT_REFUSED, DIFF_TGT_BLACKHOLE, DIFF_TGT_UNSPEC };

struct diff_op {
	int call;
	int s;		/* DIFF_S, DIFF_P or DIFF_L */
	int a;
	int flags;
};

struct diff_opt {
	const char *name;
	int level, opt;
	int set;		/* value DC_SETOPT sets (ints) */
};
extern const struct diff_opt diff_opts[];
extern const int diff_nopts;
struct diff_ioctl {
	const char *name;
	unsigned long cmd;
	int set;		/* value passed in (FIONBIO) */
};
extern const struct diff_ioctl diff_ioctls[];
extern const int diff_nioctls;

/* Index of a named entry; aborts the process when there is none. */
int diff_opt_idx(const char *name);
int diff_ioctl_idx(const char *name);

#define DIFF_OUT_MAX	256
/* Run @op on @e; the outcome goes to @out (NUL-terminated). */
void diff_exec(struct diff_env *e, const struct diff_op *op, char *out);
/* "recv(S,16,PEEK|DONTWAIT)": @op in words. */
void diff_describe(const struct diff_op *op, char *buf, size_t n);
/* "IN|OUT|RDHUP" */
void diff_revents(short rev, char *buf, size_t n);

/* Family number, socket(2) of @kind, and a loopback address on @port. */
int diff_family(int kind);
int diff_socket(int kind, int type);
socklen_t diff_addr(int kind, uint16_t port, struct sockaddr_storage *ss);
/* Port @fd is bound to (getsockname), 0 on error. */
uint16_t diff_port(int fd);

/*
 * Process-wide connect targets, made by diff_init(): a TCP listener
 * whose accept queue is full (SYNs to it are dropped, so a connect to it
 * stays in SYN_SENT for seconds on both families: both are TCP on the
 * wire), and a port nobody listens on (connects get a RST).
 */
extern uint16_t diff_blackhole_port, diff_dead_port;
int diff_init(void);

/* An empty env; diff_env_close() closes what is open. */
void diff_env_init(struct diff_env *e, int kind, int type);
void diff_env_close(struct diff_env *e);
/* Give e->fd[DIFF_L] a listener (backlog 8) and e->lport its port. */
int diff_env_listener(struct diff_env *e);
/* Connected pair S (client) / P (accepted) through DIFF_L. */
int diff_env_pair(struct diff_env *e);
/* SO_RCVTIMEO and SO_SNDTIMEO of DIFF_TIMEO_MS on @fd. */
int diff_bound(int fd);
/* poll @fd for @events up to @ms; revents (0 on timeout). */
short diff_wait(int fd, short events, int ms);

#endif /* SOCKVM_DIFF_H */
