/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared code for the two-guest suites (wire, faults): command line,
 * the link interface, a plain TCP control channel to the peer, and a
 * data service the server side offers on NEW_TCP listeners.
 *
 * The harness runs "<suite> --role server --local A --peer B" on guest 2
 * and "<suite> --role client --local B --peer A" on guest 1.  The server
 * prints "# ready" once it listens and exits 0 when the client's first
 * control connection closes (or says "quit").
 */
#ifndef SOCKVM_PEER_H
#define SOCKVM_PEER_H

#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <linux/newtcp.h>

/* Ports on the server's link address. */
#define PEER_PORT_CTL		7300	/* plain TCP, line protocol */
#define PEER_PORT_STREAM	7301	/* NEW_TCP SOCK_STREAM data service */
#define PEER_PORT_SEQ		7302	/* NEW_TCP SOCK_SEQPACKET data service */
#define PEER_PORT_HANGUP	7310	/* plain TCP: read 8 bytes, close */
#define PEER_PORT_ECHO		7311	/* plain TCP: echo, count bytes */
#define PEER_PORT_BANNER	7312	/* plain TCP: send a banner */
#define PEER_PORT_SILENT	7313	/* plain TCP: say nothing for 6 s */
#define PEER_PORT_CLOSED	7399	/* nothing listens here */

struct peer_args {
	const char *role;	/* "server" or "client" */
	const char *local;
	const char *peer;
	struct in_addr local_ip, peer_ip;
	char link[32];		/* from /run/sockvm-link */
};

/* Parse --role/--local/--peer, read the link name; bails out on error. */
void peer_parse(int argc, char **argv, struct peer_args *a);
extern struct peer_args peer_cfg;

/* NEW_TCP address @ip:@port (host order port). */
struct sockaddr_newtcp peer_addr(struct in_addr ip, uint16_t port);
/* Blocking NEW_TCP connect to the peer; -1 with errno. */
int peer_connect(int type, uint16_t port);
/* Plain TCP connect to the peer; -1 with errno. */
int peer_tcp_connect(uint16_t port);

/* /sys/class/net/<link>/statistics/<which>, -1 when unreadable. */
long long peer_link_stat(const char *which);
/* Driver bound to the link NIC ("e1000"), or "" */
const char *peer_link_driver(char *buf, size_t len);

/*
 * Control channel: one request line, one reply line starting "ok" or
 * "err".  ctl_open() connects (retrying for up to @wait_ms), ctl_cmd()
 * sends a printf-style command and returns the reply without the
 * newline in @reply (0 when it starts with "ok").
 */
int ctl_open(int wait_ms);
int ctl_cmd(int fd, char *reply, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Value of "key=" in a reply line, -1 when absent. */
long long ctl_val(const char *reply, const char *key);
/* ctl_cmd(@cmd), then ctl_val(@key) of its reply; -1 when either fails. */
long long ctl_query(int fd, const char *cmd, const char *key);

/* ---- data service ---- */

#define DS_MAGIC	0x53564d44	/* request magic */

enum ds_op {
	DS_SINK = 1,	/* server reads size bytes / records, verifies, replies */
	DS_SOURCE = 2,	/* server sends size bytes / records, then closes */
	DS_ECHO = 3,	/* server echoes until EOF */
	DS_DIE_READ = 4,	/* server reads arg bytes then _exit()s (arg2: linger 0) */
	DS_DIE_WRITE = 5,	/* server sends arg bytes of size then _exit()s */
	DS_HOLD = 6,	/* server reads until EOF or error, reports nothing */
};

struct ds_req {
	uint32_t magic, op;
	uint64_t size;		/* bytes (stream) or payload bytes (seqpacket) */
	uint32_t seed, arg, arg2, maxrec;
};

struct ds_resp {
	uint32_t status;	/* 0 verified, 1 mismatch, 2 short, 3 bad record */
	uint32_t records;
	uint64_t bytes;
	uint64_t bad_off;	/* first mismatching offset or record index */
};

/* Deterministic data: byte @off of stream @seed. */
void pat_fill(uint32_t seed, uint64_t off, void *buf, size_t len);
/* Offset of the first byte of @buf that differs from the pattern, or -1. */
long long pat_check(uint32_t seed, uint64_t off, const void *buf, size_t len);
/* Length of record @i of a seqpacket stream with @seed, at most @max. */
uint32_t pat_rec_len(uint32_t seed, uint32_t i, uint32_t max);

/* Send a request (as one record on SEQPACKET) and read a response. */
int ds_send_req(int fd, int type, const struct ds_req *r);
int ds_read_resp(int fd, int type, struct ds_resp *r);

/*
 * Client halves of the data service.  Return 0 on success; on failure
 * print a diagnostic and return 1.  *bytes gets the payload moved.
 */
int ds_stream_send(int fd, uint32_t seed, uint64_t size);
int ds_stream_recv(int fd, uint32_t seed, uint64_t size);
int ds_seq_send(int fd, uint32_t seed, uint64_t size, uint32_t maxrec,
		uint32_t *records);
int ds_seq_recv(int fd, uint32_t seed, uint64_t size, uint32_t maxrec,
		uint32_t *records);

/*
 * Whole transfers against the data service: connect, request, move
 * @size bytes (SEQPACKET: records of up to @maxrec), verify.  0 on
 * success, 1 after a diagnostic.  *ms (if given) gets the duration.
 * ds_last_info holds the connection's NEWTCP_INFO taken before close.
 */
int ds_open(int type, uint32_t op, uint64_t size, uint32_t seed,
	    uint32_t maxrec);
int ds_sink(int type, uint64_t size, uint32_t seed, uint32_t maxrec,
	    long long *ms);
int ds_source(int type, uint64_t size, uint32_t seed, uint32_t maxrec,
	      long long *ms);
int ds_duplex(int type, uint64_t size, uint32_t seed, uint32_t maxrec,
	      long long *ms);
/* Echo through an open DS_ECHO connection; closes @fd. */
int ds_duplex_fd(int fd, int type, uint64_t size, uint32_t seed,
		 uint32_t maxrec, long long *ms);
extern __thread struct newtcp_info ds_last_info;

/* For threads running ds_duplex(). */
struct ds_dx {
	int fd, type;
	uint32_t seed;
	uint64_t size;
	uint32_t maxrec;
	int rc;
};

/*
 * Server: listen on the data-service ports and the plain TCP ports,
 * serve the control channel with @extra for suite-specific commands
 * (return 1 if handled, writing the reply into @reply), print "# ready",
 * and return the exit status once the first control connection ends.
 */
typedef int (*ctl_extra_fn)(const char *cmd, char *reply, size_t len);
int peer_server(ctl_extra_fn extra);
/* Called once before the server exits. */
extern void (*peer_server_atexit)(void);

/* Server-side counters, reported by "stats". */
struct peer_counters {
	long accepted_stream, accepted_seq;
	long plain_conns, plain_bytes;	/* bytes the echo port ever received */
	long verified, failed;
};
extern struct peer_counters *peer_ctr;

/*
 * Client side of a two-guest suite: announce the plan, bail out without
 * the module or a control connection to the server, then @setup (if
 * given), every test in order followed by @after_each (if given),
 * @teardown (if given), and "quit" to the server.  Returns tap_done().
 */
struct ntcp_test;
int peer_client_run(const struct ntcp_test *tests, size_t n,
		    void (*setup)(void), void (*after_each)(void),
		    void (*teardown)(void));

/*
 * Kill the peer guest outright (a kernel crash through sysrq) @delay_ms
 * from now; 0 once the server took the order.  From then on
 * peer_killed() is true in every process of this guest, and the client
 * no longer talks to the server.  The suite's manifest must say
 * "killsPeer": true, so the harness expects the death and reboots it.
 */
int peer_kill(int delay_ms);
int peer_killed(void);

/* Run a shell command, 0 if it exited 0; its output goes to stdout as "# ". */
int peer_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
