/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A hostile NEW_TCP peer: a plain AF_INET TCP program that speaks the
 * wire protocol of kernel/newtcp/PROTOCOL.md (hello, SEQPACKET 4-byte
 * length framing) correctly up to a point and then misbehaves on
 * purpose: bad or huge record lengths, headers split byte by byte,
 * records that stall, urgent data, resets in the middle of a record,
 * hellos that never end or are wrong, crowds of idle connections.
 *
 * Plus the kernel memory probes the hostile suites check around each
 * test: /proc/net/protocols, /proc/meminfo and a cgroup v2 memory
 * controller the test process is moved into.
 *
 * Every blocking call here has a bound (SO_RCVTIMEO/SO_SNDTIMEO of
 * HOSTILE_IO_MS on the sockets it makes, poll timeouts).
 */
#ifndef SOCKVM_HOSTILE_H
#define SOCKVM_HOSTILE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <netinet/in.h>

#define HOSTILE_IO_MS		5000
#define HOSTILE_HELLO_LEN	8

/* Hello bytes of PROTOCOL.md. */
void hostile_hello(uint8_t h[HOSTILE_HELLO_LEN], int version, int type,
		   int flags, int status);
/* Wire type (1 stream, 2 seqpacket) of a socket type. */
int hostile_wire_type(int sock_type);

/* Plain TCP connect to @ip:@port (host order), bounded; -1 with errno. */
int hostile_tcp(struct in_addr ip, uint16_t port);
/*
 * A NEW_TCP client made by hand: TCP connect, a correct client hello of
 * @sock_type, and the server's reply checked (status 0).  The fd then
 * carries raw NEW_TCP user data; -1 with errno (EPROTO: a bad reply).
 */
int hostile_client(struct in_addr ip, uint16_t port, int sock_type);
/* Plain TCP listener on @ip:0 with @backlog; *port gets the port. */
int hostile_listen(struct in_addr ip, int backlog, uint16_t *port);
/*
 * A NEW_TCP server made by hand: accept one connection on @lfd within
 * @timeout_ms, read a client hello and answer it with status 0.
 */
int hostile_serve(int lfd, int sock_type, int timeout_ms);
/*
 * Fork a hostile server: the child accepts one connection on @lfd
 * (within HOSTILE_IO_MS) and runs @fn on it, then exits.  The parent
 * keeps @lfd.  Returns the child's pid or -1.
 */
pid_t hostile_fork(int lfd, void (*fn)(int cfd, void *arg), void *arg);
/* Reap a hostile child within @timeout_ms (killed after); its status. */
int hostile_reap(pid_t pid, int timeout_ms);

/* A SEQPACKET record header announcing @len (any value, network order). */
int hostile_hdr(int fd, uint32_t len);
/* A whole record: header and @len bytes of @buf. */
int hostile_record(int fd, const void *buf, uint32_t len);
/* @n bytes one at a time, @gap_ms apart; 0 when all went. */
int hostile_trickle(int fd, const void *buf, size_t n, int gap_ms);
/* @n bytes of the pattern 'a'..'z'; 0 when all went. */
int hostile_fill(int fd, size_t n);
/* One byte of urgent data (MSG_OOB). */
int hostile_oob(int fd, char c);
/* Close with SO_LINGER {1, 0}: the peer gets a RST, not a FIN. */
void hostile_rst(int fd);
/*
 * Open @n plain TCP connections to @ip:@port that never send a byte
 * (non-blocking connects, waited for together within @timeout_ms).
 * fds go to @fds; returns how many completed (the rest are closed and
 * set to -1).  Raises RLIMIT_NOFILE as needed.
 */
int hostile_idle(struct in_addr ip, uint16_t port, int n, int *fds,
		 int timeout_ms);
/*
 * The same; *@reset counts the connections that were established and then
 * reset (let in, and dropped before the wait ended: at handshake_ms, say).
 */
int hostile_idle_let_in(struct in_addr ip, uint16_t port, int n, int *fds,
			int timeout_ms, int *reset);
/*
 * @want idle connections, fewer (*@target, at least @floor) where the
 * first 20 show that @want would take more than @budget_ms to open.
 * Returns how many completed; @fds holds @want slots, unused ones -1;
 * *@reset (if not NULL) as for hostile_idle_let_in().
 */
int hostile_crowd(struct in_addr ip, uint16_t port, int want, int floor,
		  int budget_ms, int *fds, int *target, int *reset);
/*
 * How long a genuine connect may take beside a crowd: 1 s, or five times
 * the same connect alone where this kernel is that slow (KASAN, TCG).
 */
long long hostile_crowd_bound_ms(long long alone_ms);
/* Of the @n fds, how many the peer closed or reset (readable at EOF/error). */
int hostile_count_dropped(const int *fds, int n);
/* Close them all with a RST (no TIME_WAIT). */
void hostile_close_all(int *fds, int n);
/* 0 when @fd gets EOF or ECONNRESET within @timeout_ms. */
int hostile_wait_dropped(int fd, int timeout_ms);

/*
 * Accept queue length of the TCP listener on local @port (NEW_TCP's inner
 * listener shows in /proc/net/tcp too), -1 when none.
 */
int hostile_listen_queue(uint16_t port);

/*
 * A second network namespace reachable from this one: a veth pair
 * hst0 (@here/24, this namespace) -- hst1 (@there/24, in a new namespace
 * held by a child process).  Returns the holder's pid (enter its
 * namespace with setns() on /proc/PID/ns/net), or -1 with a reason.
 */
int hostile_netns_veth(struct in_addr here, struct in_addr there, char *why,
		       size_t len);

/* ---- kernel memory ---- */

/* A /proc/meminfo field in kB, -1 when absent. */
long hostile_meminfo_kb(const char *key);

/*
 * Put the calling process into a fresh cgroup v2 group "@name" with the
 * memory controller (mounting cgroup2 on /sys/fs/cgroup if nothing is
 * mounted there, enabling +memory in the root's subtree_control).
 * 0 on success, else -1 with a reason in @why.
 */
int hostile_cgroup_enter(const char *name, char *why, size_t len);
/* memory.current of the group entered, -1 when unknown. */
long long hostile_cgroup_current(void);
/* memory.stat field (e.g. "sock", "kernel", "vmalloc") of that group, -1. */
long long hostile_cgroup_stat(const char *key);

struct hostile_mem {
	long sockets;		/* NEW_TCP sockets, /proc/net/protocols */
	long pages;		/* NEW_TCP memory (pages), same */
	long slab_kb, sunreclaim_kb, vmalloc_kb;
	long long cg;		/* memory.current, -1 without a group */
};

void hostile_mem_snap(struct hostile_mem *m);
/* Print "# <what>: ..." with the deltas from @base. */
void hostile_mem_diag(const char *what, const struct hostile_mem *base,
		      const struct hostile_mem *now);
/*
 * Wait up to @wait_ms for NEW_TCP sockets and pages to be back to
 * @base and SUnreclaim within @slab_kb of it; 0 when they are, else a
 * diagnostic and -1.
 */
int hostile_mem_back(const struct hostile_mem *base, long slab_kb,
		     int wait_ms);

/* handshake_ms module parameter; set it (returns the old value, -1). */
int hostile_handshake_ms(void);
int hostile_set_handshake_ms(int ms);
/* A module parameter /sys/module/newtcp/parameters/@name, -1. */
long long hostile_module_param(const char *name);
/* Write one; 0 on success. */
int hostile_set_param(const char *name, const char *val);

/* SO_RCVTIMEO of @ms. */
void hostile_rcvtimeo(int fd, int ms);
/* recvmsg into one buffer, its msg_flags in *@oflags. */
ssize_t hostile_rmsg(int fd, void *buf, size_t len, int flags, int *oflags);
/* poll's revents for POLLIN within @ms, 0 on timeout. */
int hostile_readable(int fd, int ms);

#endif
