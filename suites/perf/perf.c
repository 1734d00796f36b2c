// SPDX-License-Identifier: GPL-2.0
/*
 * perf: NEW_TCP held against plain TCP, in the same guests and run.
 *
 * Each test measures one thing for both protocols with the same code,
 * on one connection per protocol held open, in short blocks that
 * alternate (TCP, NEW_TCP, TCP, ...): a TCG guest's speed drifts with
 * the host's load, and fine alternation lets the drift hit both alike.
 * The medians (and p99 of latencies) over the blocks are printed as
 * "metric" lines (JSON) that the harness records in results.json.  The
 * ratio NEW_TCP/TCP cancels the machine's speed; compare watches it.
 * A test fails only when a transfer goes wrong (short, an error, a bad
 * record): targets are reported, never asserted.
 *
 * Loopback tests run both ends in guest 1 (the service in a thread);
 * wire tests talk to the same service on guest 2 across the e1000 link.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "ntcp.h"
#include "peer.h"
#include "tap.h"

/* The perf service on guest 2's link address. */
#define PERF_PORT_TCP		7330
#define PERF_PORT_STREAM	7331
#define PERF_PORT_SEQ		7332

#define PERF_MAGIC	0x50455246	/* "PERF" */
#define BLOCKS		10	/* per protocol, alternating */
#define CHUNK		(64 << 10)
#define SINK_BUF	(256 << 10)

enum perf_op {
	OP_SINK = 1,	/* read count bytes; after each block of them, answer the bytes read */
	OP_ECHO = 2,	/* count times: read msg bytes, send them back */
	OP_HELLO = 3,	/* answer one byte, close */
	OP_RECORDS = 4,	/* read count records of msg bytes; after each block, answer the good ones */
};

/* The first thing on every connection: one record on SEQPACKET. */
struct perf_req {
	uint32_t magic, op, msg, block;
	uint64_t count;
};

/* Where one protocol's perf service listens. */
struct perf_end {
	const char *proto;	/* "TCP" or "NEW_TCP" */
	int family, type;
	struct in_addr ip;
	uint16_t port;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * Every thread of the suite on CPU 0, in both guests: a wakeup across
 * vCPUs costs milliseconds when the host has descheduled the other vCPU's
 * thread, so threads placed differently for TCP and NEW_TCP would make
 * the ratio measure the scheduler.  On one CPU both take the same path.
 */
static void pin_cpu0(void)
{
	cpu_set_t one;

	CPU_ZERO(&one);
	CPU_SET(0, &one);
	if (sched_setaffinity(0, sizeof(one), &one))
		printf("# perf: sched_setaffinity: %s\n", ntcp_errname(errno));
}

/* Both protocols without Nagle: a ping-pong must not wait for an ACK. */
static int nodelay(int fd)
{
	int one = 1;

	return setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static int sock_type(int fd)
{
	int type = 0;
	socklen_t len = sizeof(type);

	getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len);
	return type;
}

/* ---- the service: one connection at a time, as the tests measure ---- */

static int reply_count(int fd, uint64_t n)
{
	return send(fd, &n, sizeof(n), MSG_NOSIGNAL) == sizeof(n) ? 0 : -1;
}

static void serve_sink(int fd, char *buf, uint64_t count, uint64_t block)
{
	uint64_t got = 0, next = block;

	while (got < count) {
		ssize_t n = read(fd, buf, SINK_BUF);

		if (n <= 0)
			break;
		got += n;
		for (; next <= got && next <= count; next += block)
			if (reply_count(fd, next))
				return;
	}
	if (got < count)
		reply_count(fd, got);
}

static void serve_echo(int fd, char *buf, uint32_t msg, uint64_t count)
{
	while (count--)
		if (read_full(fd, buf, msg) != msg ||
		    write_full(fd, buf, msg) != msg)
			return;
}

/* SEQPACKET: each recv is a record.  TCP: [u32 length][payload] framing, parsed from big reads. */
static void serve_records(int fd, int type, char *buf, uint32_t msg,
			  uint64_t count, uint64_t block)
{
	uint64_t good = 0, seen = 0, next = block;
	size_t have = 0, at = 0;

	while (seen < count) {
		uint32_t len;
		ssize_t n;

		if (type == SOCK_SEQPACKET) {
			n = recv(fd, buf, msg + 1, 0);
			if (n <= 0)
				break;
			good += n == msg;
		} else if (have - at >= 4 + (size_t)msg) {
			memcpy(&len, buf + at, 4);
			if (len != msg)
				break;
			at += 4 + len;
			good++;
		} else {
			memmove(buf, buf + at, have - at);
			have -= at;
			at = 0;
			n = read(fd, buf + have, SINK_BUF - have);
			if (n <= 0)
				break;
			have += n;
			continue;
		}
		if (++seen == next) {
			if (reply_count(fd, good))
				return;
			next += block;
		}
	}
	if (seen < count)
		reply_count(fd, good);
}

static void serve_conn(int fd, char *buf)
{
	struct timeval tv = { .tv_sec = 60 };
	int type = sock_type(fd);
	struct perf_req rq;
	ssize_t n;

	nodelay(fd);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	n = type == SOCK_SEQPACKET ? recv(fd, &rq, sizeof(rq), 0) :
				     read_full(fd, &rq, sizeof(rq));
	if (n != sizeof(rq) || rq.magic != PERF_MAGIC ||
	    rq.msg > SINK_BUF - 4)
		return;
	if (!rq.block)
		rq.block = rq.count ? rq.count : 1;
	switch (rq.op) {
	case OP_SINK:
		serve_sink(fd, buf, rq.count, rq.block);
		break;
	case OP_ECHO:
		serve_echo(fd, buf, rq.msg, rq.count);
		break;
	case OP_HELLO:
		send(fd, "h", 1, MSG_NOSIGNAL);
		break;
	case OP_RECORDS:
		serve_records(fd, type, buf, rq.msg, rq.count, rq.block);
		break;
	}
}

static void *serve_thread(void *arg)
{
	int lfd = (int)(intptr_t)arg;
	char *buf = malloc(SINK_BUF);

	for (;;) {
		int fd = accept(lfd, NULL, NULL);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return NULL;
		}
		serve_conn(fd, buf);
		close(fd);
	}
}

/* Listen on @ip:@port (0: any) and serve in a thread; the port, 0 on failure. */
static uint16_t serve(int family, int type, struct in_addr ip, uint16_t port)
{
	struct sockaddr_newtcp a = { .snt_family = family };
	socklen_t len = sizeof(a);
	int fd = socket(family, type, 0), one = 1;
	pthread_t t;

	a.snt_port = htons(port);
	a.snt_addr = ip;
	if (fd < 0)
		return 0;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 128) ||
	    getsockname(fd, (struct sockaddr *)&a, &len) ||
	    pthread_create(&t, NULL, serve_thread, (void *)(intptr_t)fd)) {
		printf("# perf service: family %d type %d port %u: %s\n",
		       family, type, port, ntcp_errname(errno));
		close(fd);
		return 0;
	}
	pthread_detach(t);
	return ntohs(a.snt_port);
}

/* ---- the client: blocks of each measurement ---- */

static int end_connect(const struct perf_end *e)
{
	struct sockaddr_newtcp a = { .snt_family = e->family };
	int fd = socket(e->family, e->type, 0);

	a.snt_port = htons(e->port);
	a.snt_addr = e->ip;
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) || nodelay(fd)) {
		int err = errno;

		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

static int send_req(int fd, uint32_t op, uint32_t msg, uint32_t block,
		    uint64_t count)
{
	struct perf_req rq = { PERF_MAGIC, op, msg, block, count };

	return send(fd, &rq, sizeof(rq), MSG_NOSIGNAL) == sizeof(rq) ? 0 : -1;
}

static int read_count(int fd, uint64_t *n)
{
	return recv(fd, n, sizeof(*n), MSG_WAITALL) == sizeof(*n) ? 0 : -1;
}

/* Samples of one protocol: one per block, or one per round trip. */
struct samples {
	double *v;
	int n;
};

/*
 * One kind of measurement.  A block moves @per_block units (bytes,
 * round trips, connections, records) on the connection open() made
 * (conn_rate opens its own) and adds its samples; @pct are the
 * percentiles reported (50: the median).
 */
struct perf_kind {
	const char *what;	/* "stream throughput", "1 B latency", ... */
	const char *unit;
	int higher_better;
	int npct, pct[2];
	uint32_t msg;
	uint64_t per_block, wire_per_block;	/* 0: per_block */
	int seqpacket;	/* NEW_TCP's side is SOCK_SEQPACKET (records) */
	int (*open)(const struct perf_end *e, const struct perf_kind *k);
	int (*block)(const struct perf_end *e, int fd,
		     const struct perf_kind *k, struct samples *s);
	double target;	/* loopback ratio target, 0: none */
};

static int open_sink(const struct perf_end *e, const struct perf_kind *k)
{
	int fd = end_connect(e);

	if (fd >= 0 && send_req(fd, OP_SINK, 0, k->per_block,
				k->per_block * BLOCKS)) {
		close(fd);
		return -1;
	}
	return fd;
}

static int block_stream(const struct perf_end *e, int fd,
			const struct perf_kind *k, struct samples *s)
{
	static char buf[CHUNK];
	uint64_t sent = 0, acked = 0;
	double t0 = now_s();

	while (sent < k->per_block) {
		size_t n = k->per_block - sent < CHUNK ? k->per_block - sent : CHUNK;

		CHECK(write_full(fd, buf, n) == (ssize_t)n, "%s write at %llu",
		      e->proto, (unsigned long long)sent);
		sent += n;
	}
	CHECK(!read_count(fd, &acked), "%s sink's answer", e->proto);
	CHECK(acked % k->per_block == 0 && acked,
	      "%s: the sink has read %llu bytes, not a whole block", e->proto,
	      (unsigned long long)acked);
	s->v[s->n++] = k->per_block / 1048576.0 / (now_s() - t0);
	return 0;
}

static int open_echo(const struct perf_end *e, const struct perf_kind *k)
{
	int fd = end_connect(e);

	if (fd >= 0 && send_req(fd, OP_ECHO, k->msg, 0,
				k->per_block * BLOCKS)) {
		close(fd);
		return -1;
	}
	return fd;
}

static int block_latency(const struct perf_end *e, int fd,
			 const struct perf_kind *k, struct samples *s)
{
	static char buf[SINK_BUF];
	uint64_t i;

	for (i = 0; i < k->per_block; i++) {
		double t0 = now_s();

		CHECK(write_full(fd, buf, k->msg) == k->msg &&
		      read_full(fd, buf, k->msg) == k->msg,
		      "%s round trip %llu", e->proto, (unsigned long long)i);
		s->v[s->n++] = (now_s() - t0) * 1e6;
	}
	return 0;
}

static int block_connect(const struct perf_end *e,
			 int fd __attribute__((unused)),
			 const struct perf_kind *k, struct samples *s)
{
	double t0 = now_s();
	uint64_t i;

	for (i = 0; i < k->per_block; i++) {
		int c_fd = end_connect(e);
		char c = 0;

		CHECK(c_fd >= 0, "%s connection %llu", e->proto,
		      (unsigned long long)i);
		CHECK(!send_req(c_fd, OP_HELLO, 0, 0, 0) &&
		      read(c_fd, &c, 1) == 1 && c == 'h', "%s hello %llu",
		      e->proto, (unsigned long long)i);
		close(c_fd);
	}
	s->v[s->n++] = k->per_block / (now_s() - t0);
	return 0;
}

/* NEW_TCP: SEQPACKET records.  TCP: the same records framed by a 4-byte length, one write each. */
static int open_records(const struct perf_end *e, const struct perf_kind *k)
{
	int fd = end_connect(e);

	if (fd >= 0 && send_req(fd, OP_RECORDS, k->msg, k->per_block,
				k->per_block * BLOCKS)) {
		close(fd);
		return -1;
	}
	return fd;
}

static int block_records(const struct perf_end *e, int fd,
			 const struct perf_kind *k, struct samples *s)
{
	static char buf[SINK_BUF];
	int seq = e->type == SOCK_SEQPACKET;
	uint32_t len = k->msg;
	uint64_t i, good = 0;
	double t0 = now_s();

	memcpy(buf, &len, 4);
	for (i = 0; i < k->per_block; i++) {
		ssize_t n = seq ? send(fd, buf + 4, len, MSG_NOSIGNAL) :
				  write_full(fd, buf, len + 4);

		CHECK(n == (seq ? len : len + 4), "%s record %llu", e->proto,
		      (unsigned long long)i);
	}
	CHECK(!read_count(fd, &good), "%s receiver's answer", e->proto);
	CHECK(good == (uint64_t)(s->n + 1) * k->per_block,
	      "%s: %llu records arrived whole after %d blocks of %llu",
	      e->proto, (unsigned long long)good, s->n + 1,
	      (unsigned long long)k->per_block);
	s->v[s->n++] = k->per_block / (now_s() - t0);
	return 0;
}

/* ---- one measurement: both protocols, alternating blocks, metrics ---- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The @pct-th percentile (nearest rank) of sorted @s. */
static double percentile(const struct samples *s, int pct)
{
	int i = (s->n * pct + 99) / 100 - 1;

	return s->v[i < 0 ? 0 : i];
}

/* NEW_TCP's metric carries its ratio to TCP; TCP's (ratio 0) is the reference. */
static void print_metric(const char *name, double value, const char *unit,
			 int higher, double ratio)
{
	printf("metric {\"name\":\"%s\",\"value\":%.6g,\"unit\":\"%s\",\"better\":\"%s\"",
	       name, value, unit, higher ? "higher" : "lower");
	if (ratio > 0)
		printf(",\"ratioToTcp\":%.4f}\n", ratio);
	else
		printf(",\"reference\":true}\n");
}

static void report(const char *path, const struct perf_kind *k,
		   struct samples s[2])
{
	int j;

	for (j = 0; j < 2; j++)
		qsort(s[j].v, s[j].n, sizeof(double), cmp_double);
	for (j = 0; j < k->npct; j++) {
		double v_tcp = percentile(&s[0], k->pct[j]);
		double v_new = percentile(&s[1], k->pct[j]);
		double ratio = v_tcp > 0 ? v_new / v_tcp : 0;
		int met = k->higher_better ? ratio >= k->target :
					     ratio <= k->target;
		char name[128];

		snprintf(name, sizeof(name), "%s %s%s", path, k->what,
			 k->npct > 1 ? (k->pct[j] == 50 ? " p50" : " p99") : "");
		printf("# %s: NEW_TCP %.4g %s, TCP %.4g %s, ratio %.3f",
		       name, v_new, k->unit, v_tcp, k->unit, ratio);
		if (k->target > 0 && !strcmp(path, "loopback"))
			printf(" (target %s %.2f: %s)",
			       k->higher_better ? ">=" : "<=", k->target,
			       met ? "met" : "MISSED");
		printf("\n");
		print_metric(name, v_new, k->unit, k->higher_better, ratio);
		snprintf(name + strlen(name), sizeof(name) - strlen(name),
			 " (TCP)");
		print_metric(name, v_tcp, k->unit, k->higher_better, 0);
	}
}

/* ends[0] is TCP, ends[1] NEW_TCP: BLOCKS blocks each, alternating. */
static int measure(const char *path, const struct perf_kind *k,
		   const struct perf_end ends[2])
{
	int per_sample = k->open == open_echo ? k->per_block : 1;
	struct samples s[2];
	int fd[2] = { -1, -1 }, b, p;

	for (p = 0; p < 2; p++) {
		s[p].n = 0;
		s[p].v = calloc(BLOCKS * per_sample, sizeof(double));
		CHECK(s[p].v, "samples");
		if (k->open) {
			fd[p] = k->open(&ends[p], k);
			CHECK(fd[p] >= 0, "%s connect", ends[p].proto);
		}
	}
	for (b = 0; b < BLOCKS; b++)
		for (p = 0; p < 2; p++)
			if (k->block(&ends[p], fd[p], k, &s[p]))
				return 1;
	for (p = 0; p < 2; p++)
		if (fd[p] >= 0)
			close(fd[p]);
	report(path, k, s);
	return 0;
}

/* The measurements, each run on loopback and across the wire. */
static const struct perf_kind stream = {
	.what = "stream throughput", .unit = "MiB/s", .higher_better = 1,
	.npct = 1, .pct = { 50 }, .per_block = 8 << 20,
	/* The emulated e1000 moves a few MiB/s under TCG: 8 MiB blocks took 40 s. */
	.wire_per_block = 2 << 20,
	.open = open_sink, .block = block_stream, .target = 0.95,
};

static const struct perf_kind latency_1b = {
	.what = "1 B latency", .unit = "us", .npct = 2, .pct = { 50, 99 },
	.msg = 1, .per_block = 100, .wire_per_block = 50,
	.open = open_echo, .block = block_latency, .target = 1.10,
};

static const struct perf_kind latency_4k = {
	.what = "4 KiB latency", .unit = "us", .npct = 2, .pct = { 50, 99 },
	.msg = 4096, .per_block = 50, .wire_per_block = 30,
	.open = open_echo, .block = block_latency, .target = 1.10,
};

static const struct perf_kind conn_rate = {
	.what = "connection rate", .unit = "conn/s", .higher_better = 1,
	.npct = 1, .pct = { 50 }, .per_block = 20, .wire_per_block = 10,
	.block = block_connect,
};

static const struct perf_kind record_rate = {
	.what = "1 KiB record rate", .unit = "rec/s", .higher_better = 1,
	.npct = 1, .pct = { 50 }, .msg = 1024, .per_block = 1000,
	.seqpacket = 1, .open = open_records, .block = block_records,
};

static int on_loopback(const struct perf_kind *k)
{
	struct in_addr lo = { htonl(INADDR_LOOPBACK) };
	int type = k->seqpacket ? SOCK_SEQPACKET : SOCK_STREAM;
	struct perf_end ends[2] = {
		{ "TCP", AF_INET, SOCK_STREAM, lo, 0 },
		{ "NEW_TCP", ntcp_family, type, lo, 0 },
	};

	ends[0].port = serve(AF_INET, SOCK_STREAM, lo, 0);
	ends[1].port = serve(ntcp_family, type, lo, 0);
	CHECK(ends[0].port && ends[1].port, "loopback perf service");
	return measure("loopback", k, ends);
}

static int on_wire(const struct perf_kind *loopback_kind)
{
	struct perf_kind k = *loopback_kind;
	struct perf_end ends[2] = {
		{ "TCP", AF_INET, SOCK_STREAM, peer_cfg.peer_ip, PERF_PORT_TCP },
		{ "NEW_TCP", ntcp_family, k.seqpacket ? SOCK_SEQPACKET : SOCK_STREAM,
		  peer_cfg.peer_ip, k.seqpacket ? PERF_PORT_SEQ : PERF_PORT_STREAM },
	};

	if (k.wire_per_block)
		k.per_block = k.wire_per_block;
	return measure("wire", &k, ends);
}

/* The suite's tests, in order: each kind on loopback, then across the link. */
static const struct perf_case {
	const char *name;
	const struct perf_kind *kind;
	int wire, timeout;
} cases[] = {
	{ "loopback: stream throughput, 80 MiB one way in 8 MiB blocks", &stream, 0, 180 },
	{ "loopback: 1 B request/response latency p50/p99", &latency_1b, 0, 120 },
	{ "loopback: 4 KiB request/response latency p50/p99", &latency_4k, 0, 120 },
	{ "loopback: connection rate (connect, hello, close)", &conn_rate, 0, 120 },
	{ "loopback: 1 KiB record rate (SEQPACKET; TCP length-prefixed)", &record_rate, 0, 120 },
	{ "wire: stream throughput, 20 MiB one way in 2 MiB blocks", &stream, 1, 240 },
	{ "wire: 1 B request/response latency p50/p99", &latency_1b, 1, 120 },
	{ "wire: 4 KiB request/response latency p50/p99", &latency_4k, 1, 120 },
	{ "wire: connection rate (connect, hello, close)", &conn_rate, 1, 120 },
	{ "wire: 1 KiB record rate (SEQPACKET; TCP length-prefixed)", &record_rate, 1, 120 },
};

/* The running test's case: its number, which run_test's child inherits, indexes cases[]. */
static int run_case(void)
{
	const struct perf_case *c = &cases[tap_next() - 1];

	return c->wire ? on_wire(c->kind) : on_loopback(c->kind);
}

int main(int argc, char **argv)
{
	struct ntcp_test tests[ARRAY_SIZE(cases)];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++)
		tests[i] = (struct ntcp_test){ cases[i].name, run_case,
					       cases[i].timeout };
	ntcp_family = tap_newtcp_family();
	peer_parse(argc, argv, &peer_cfg);
	pin_cpu0();
	if (!strcmp(peer_cfg.role, "server")) {
		if (ntcp_family < 0 ||
		    !serve(AF_INET, SOCK_STREAM, peer_cfg.local_ip, PERF_PORT_TCP) ||
		    !serve(ntcp_family, SOCK_STREAM, peer_cfg.local_ip, PERF_PORT_STREAM) ||
		    !serve(ntcp_family, SOCK_SEQPACKET, peer_cfg.local_ip, PERF_PORT_SEQ))
			return 1;
		return peer_server(NULL);
	}
	return peer_client_run(tests, ARRAY_SIZE(tests), NULL, NULL, NULL);
}
