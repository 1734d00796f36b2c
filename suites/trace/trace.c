// SPDX-License-Identifier: GPL-2.0
/*
 * The newtcp tracepoints (kernel/newtcp/newtcp_trace.h), read the two ways
 * a user reads them: as tracefs text, and from an eBPF program.
 *
 * Every test runs in its own child and network namespace and traces into
 * the suite's tracefs instance, emptied for it, with the newtcp events
 * filtered on that namespace's inode, so the trace holds its own events
 * and nothing else, and each expected line must be there exactly once, every field
 * as written (cookie: SO_COOKIE of the socket; ports: getsockname()).
 * The events are written before the wakeup that returns connect(),
 * accept(), send() or recv(), so the trace is complete when they return.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "hs_end.skel.h"
#include "libbpf-tap.h"
#include "ntcp.h"
#include "tap.h"
#include "trace_event.h"

#ifndef SO_COOKIE
#define SO_COOKIE	57
#endif

#define TRACE_MAX	(64 << 10)

/* tracefs: where it is mounted, or mounted here. */
static char tracefs[64];
/* Why main() has no tracefs, for every test to say. */
static char no_tracefs[128];

/* 0 with tracefs set; TEST_SKIP when the kernel has none (no_tracefs says). */
static int find_tracefs(void)
{
	static const char *const where[] = { "/sys/kernel/tracing",
					     "/sys/kernel/debug/tracing" };
	char path[128];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(where); i++) {
		snprintf(path, sizeof(path), "%s/events", where[i]);
		if (!access(path, F_OK)) {
			snprintf(tracefs, sizeof(tracefs), "%s", where[i]);
			return 0;
		}
	}
	if (mount("nodev", where[0], "tracefs", 0, NULL)) {
		snprintf(no_tracefs, sizeof(no_tracefs),
			 "no tracefs (mount: %s): a kernel without CONFIG_TRACING",
			 ntcp_errname(errno));
		return TEST_SKIP;
	}
	snprintf(tracefs, sizeof(tracefs), "%s", where[0]);
	return 0;
}

static int write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_TRUNC), rc;

	if (fd < 0)
		return -1;
	rc = write(fd, val, strlen(val)) == (ssize_t)strlen(val) ? 0 : -1;
	close(fd);
	return rc;
}

static unsigned int netns_inode(void)
{
	struct stat st;

	return stat("/proc/self/ns/net", &st) ? 0 : (unsigned int)st.st_ino;
}

static unsigned long long cookie_of(int fd)
{
	unsigned long long c = 0;
	socklen_t len = sizeof(c);

	if (getsockopt(fd, SOL_SOCKET, SO_COOKIE, &c, &len))
		printf("# SO_COOKIE: %s\n", ntcp_errname(errno));
	return c;
}

static unsigned int local_port(int fd)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);

	if (getsockname(fd, (struct sockaddr *)&a, &len))
		return 0;
	return ntohs(a.sin_port);
}

/*
 * The suite's tracefs instance, made once by main() (an instance costs
 * its own copy of every event's files): the tests, one after another,
 * each empty it, filter it on their namespace and switch newtcp on.
 */
static char inst[192];
static unsigned int netns;

/* The test's own namespace: 0, or TEST_SKIP / 1 after saying why. */
static int own_netns(void)
{
	if (!tracefs[0])
		SKIP_TEST("%s", no_tracefs);
	CHECK(!unshare(CLONE_NEWNET) && !ntcp_lo_up(), "fresh netns");
	netns = netns_inode();
	CHECK(netns, "netns inode");
	return 0;
}

/*
 * A fresh namespace with "lo" up, and the instance tracing its newtcp
 * events from now on: 0, TEST_SKIP without tracefs, 1 on failure.
 */
static int trace_start(void)
{
	char path[256], filter[64];
	int rc;

	rc = own_netns();
	if (rc)
		return rc;
	snprintf(path, sizeof(path), "%s/events/newtcp", tracefs);
	CHECK(!access(path, F_OK), "%s: the module defines no newtcp events",
	      path);
	CHECK(inst[0], "no tracefs instance (main said why)");
	snprintf(path, sizeof(path), "%s/trace", inst);
	CHECK(!write_file(path, ""), "empty %s", path);
	snprintf(path, sizeof(path), "%s/events/newtcp/filter", inst);
	snprintf(filter, sizeof(filter), "netns == %u", netns);
	CHECK(!write_file(path, filter), "%s: %s", path, filter);
	snprintf(path, sizeof(path), "%s/events/newtcp/enable", inst);
	CHECK(!write_file(path, "1"), "enable %s", path);
	return 0;
}

/* The instance's trace so far, into a static buffer; NULL on failure. */
static const char *trace_text(void)
{
	static char buf[TRACE_MAX];
	char path[256];
	ssize_t n, got = 0;
	int fd;

	snprintf(path, sizeof(path), "%s/trace", inst);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return NULL;
	while (got < (ssize_t)sizeof(buf) - 1 &&
	       (n = read(fd, buf + got, sizeof(buf) - 1 - got)) > 0)
		got += n;
	close(fd);
	buf[got] = 0;
	return buf;
}

static void trace_stop(void)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/events/newtcp/enable", inst);
	write_file(path, "0");
}

/* Lines of @trace for @event whose payload is @payload (NULL: any). */
static int count_lines(const char *trace, const char *event,
		       const char *payload)
{
	char tag[64];
	const char *line, *p, *end;
	size_t tlen, plen = payload ? strlen(payload) : 0;
	int n = 0;

	tlen = snprintf(tag, sizeof(tag), " %s: ", event);
	for (line = trace; *line; line = *end ? end + 1 : end) {
		end = strchrnul(line, '\n');
		if (*line == '#')
			continue;
		p = memmem(line, end - line, tag, tlen);
		if (!p)
			continue;
		p += tlen;
		if (!payload || ((size_t)(end - p) == plen && !memcmp(p, payload, plen)))
			n++;
	}
	return n;
}

/* Lines of @trace for @event whose payload starts with @head and ends with @tail. */
static int count_between(const char *trace, const char *event,
			 const char *head, const char *tail)
{
	char tag[64];
	const char *line, *p, *end;
	size_t tlen, hlen = strlen(head), taillen = strlen(tail);
	int n = 0;

	tlen = snprintf(tag, sizeof(tag), " %s: ", event);
	for (line = trace; *line; line = *end ? end + 1 : end) {
		end = strchrnul(line, '\n');
		p = *line == '#' ? NULL : memmem(line, end - line, tag, tlen);
		if (!p)
			continue;
		p += tlen;
		if ((size_t)(end - p) >= hlen + taillen && !memcmp(p, head, hlen) &&
		    !memcmp(end - taillen, tail, taillen))
			n++;
	}
	return n;
}

/* Every newtcp line of @trace, as diagnostics. */
static void show_trace(const char *trace)
{
	const char *line, *end, *p;

	for (line = trace; *line; line = *end ? end + 1 : end) {
		end = strchrnul(line, '\n');
		p = memmem(line, end - line, " newtcp_", 8);
		if (*line != '#' && p)
			printf("#   %.*s\n", (int)(end - p - 1), p + 1);
	}
}

/* @event with exactly this payload is in @trace once; else says what is. */
static int expect(const char *trace, const char *event, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int expect(const char *trace, const char *event, const char *fmt, ...)
{
	char payload[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	vsnprintf(payload, sizeof(payload), fmt, ap);
	va_end(ap);
	n = count_lines(trace, event, payload);
	if (n == 1)
		return 0;
	printf("# want one %s: %s\n# found %d; the instance's trace:\n", event,
	       payload, n);
	show_trace(trace);
	return 1;
}

#define EXPECT(trace, event, ...)					\
	CHECK(!expect(trace, event, __VA_ARGS__), "%s as above", event)

/* A connected SEQPACKET pair on loopback, and what its events must name. */
struct pair {
	int l, c, s;		/* listener, client, accepted */
	uint16_t port;		/* the listener's */
	unsigned int cport;	/* the client's */
	unsigned long long cl, cc, cs;
};

static int open_pair(struct pair *p)
{
	CHECK(!ntcp_pair_at(SOCK_SEQPACKET, &p->l, &p->port, &p->c, &p->s),
	      "listener, connect, accept");
	p->cl = cookie_of(p->l);
	p->cc = cookie_of(p->c);
	p->cs = cookie_of(p->s);
	p->cport = local_port(p->c);
	CHECK(p->cl && p->cc && p->cs && p->cport, "cookies and the client's port");
	return 0;
}

static int t_connection(void)
{
	struct pair p;
	const char *tr;
	int rc;

	rc = trace_start();
	if (rc)
		return rc;
	if (open_pair(&p))
		return 1;
	close(p.c);
	tr = trace_text();
	CHECK(tr, "read the trace");
	EXPECT(tr, "newtcp_handshake_start",
	       "cookie=%llu netns=%u client seqpacket 127.0.0.1:%u -> 127.0.0.1:%u",
	       p.cc, netns, p.cport, p.port);
	EXPECT(tr, "newtcp_handshake_end",
	       "cookie=%llu netns=%u client seqpacket 127.0.0.1:%u -> 127.0.0.1:%u result=ok err=0",
	       p.cc, netns, p.cport, p.port);
	EXPECT(tr, "newtcp_handshake_start",
	       "cookie=%llu netns=%u server seqpacket 127.0.0.1:%u -> 127.0.0.1:%u",
	       p.cl, netns, p.port, p.cport);
	EXPECT(tr, "newtcp_handshake_end",
	       "cookie=%llu netns=%u server seqpacket 127.0.0.1:%u -> 127.0.0.1:%u result=ok err=0",
	       p.cl, netns, p.port, p.cport);
	EXPECT(tr, "newtcp_state",
	       "cookie=%llu netns=%u seqpacket sport=%u dport=0 CLOSE -> LISTEN",
	       p.cl, netns, p.port);
	/* Set before the inner connect, which picks the port. */
	EXPECT(tr, "newtcp_state",
	       "cookie=%llu netns=%u seqpacket sport=0 dport=0 CLOSE -> SYN_SENT",
	       p.cc, netns);
	EXPECT(tr, "newtcp_state",
	       "cookie=%llu netns=%u seqpacket sport=%u dport=%u SYN_SENT -> ESTABLISHED",
	       p.cc, netns, p.cport, p.port);
	EXPECT(tr, "newtcp_state",
	       "cookie=%llu netns=%u seqpacket sport=%u dport=%u CLOSE -> ESTABLISHED",
	       p.cs, netns, p.port, p.cport);
	EXPECT(tr, "newtcp_state",
	       "cookie=%llu netns=%u seqpacket sport=%u dport=%u ESTABLISHED -> CLOSE",
	       p.cc, netns, p.cport, p.port);
	CHECK(count_lines(tr, "newtcp_handshake_end", NULL) == 2,
	      "two handshake ends, one per side");
	trace_stop();
	return 0;
}

static int t_bad_version(void)
{
	unsigned char hello[8] = { 'N', 'T', 'C', 'P', 2, 1, 0, 0 };
	unsigned char reply[8];
	unsigned long long cl;
	unsigned int rport;
	const char *tr;
	int l, c, rc;
	uint16_t port;

	rc = trace_start();
	if (rc)
		return rc;
	l = ntcp_listener(SOCK_STREAM, &port);
	CHECK(l >= 0, "listener");
	c = ntcp_raw_hello(port, hello, reply);
	CHECK(c >= 0, "hello v2 and its reply");
	CHECK(reply[7] == 2, "status 2 (bad version): %u", reply[7]);
	cl = cookie_of(l);
	rport = local_port(c);
	tr = trace_text();
	CHECK(tr, "read the trace");
	EXPECT(tr, "newtcp_handshake_start",
	       "cookie=%llu netns=%u server stream 127.0.0.1:%u -> 127.0.0.1:%u",
	       cl, netns, port, rport);
	EXPECT(tr, "newtcp_handshake_end",
	       "cookie=%llu netns=%u server stream 127.0.0.1:%u -> 127.0.0.1:%u result=badversion err=0",
	       cl, netns, port, rport);
	CHECK(count_lines(tr, "newtcp_handshake_end", NULL) == 1,
	      "one handshake end");
	trace_stop();
	return 0;
}

static int t_records(void)
{
	char out[100] = "a record of 100 bytes", small[10], in[64];
	struct pair p;
	const char *tr;
	int rc;

	rc = trace_start();
	if (rc)
		return rc;
	if (open_pair(&p))
		return 1;
	CHECK(send(p.c, out, sizeof(out), 0) == sizeof(out), "send 100");
	/* Truncated by the reader: the event has the record's length. */
	CHECK(recv(p.s, small, sizeof(small), 0) == sizeof(small), "recv 10 of it");
	CHECK(send(p.s, out, 33, 0) == 33, "send 33 back");
	CHECK(recv(p.c, in, sizeof(in), 0) == 33, "recv 33");
	tr = trace_text();
	CHECK(tr, "read the trace");
	EXPECT(tr, "newtcp_record_out",
	       "cookie=%llu netns=%u seqpacket sport=%u dport=%u len=100",
	       p.cc, netns, p.cport, p.port);
	EXPECT(tr, "newtcp_record_in",
	       "cookie=%llu netns=%u seqpacket sport=%u dport=%u len=100",
	       p.cs, netns, p.port, p.cport);
	EXPECT(tr, "newtcp_record_out",
	       "cookie=%llu netns=%u seqpacket sport=%u dport=%u len=33",
	       p.cs, netns, p.port, p.cport);
	EXPECT(tr, "newtcp_record_in",
	       "cookie=%llu netns=%u seqpacket sport=%u dport=%u len=33",
	       p.cc, netns, p.cport, p.port);
	CHECK(count_lines(tr, "newtcp_record_in", NULL) == 2 &&
	      count_lines(tr, "newtcp_record_out", NULL) == 2,
	      "two records each way, no more");
	trace_stop();
	return 0;
}

/* A plain-TCP peer says hello, then announces a record over 16 MiB. */
static int t_framing_error(void)
{
	unsigned char hello[8] = { 'N', 'T', 'C', 'P', 1, 2, 0, 0 };
	unsigned char reply[8], huge[4] = { 0xff, 0xff, 0xff, 0xff }, buf[16];
	struct timeval tv = { .tv_sec = 3 };
	unsigned long long cs;
	unsigned int rport;
	const char *tr;
	int l, c, s, rc;
	uint16_t port;

	rc = trace_start();
	if (rc)
		return rc;
	l = ntcp_listener(SOCK_SEQPACKET, &port);
	CHECK(l >= 0, "listener");
	c = ntcp_raw_hello(port, hello, reply);
	CHECK(c >= 0 && reply[7] == 0, "hello accepted");
	s = accept(l, NULL, NULL);
	CHECK(s >= 0, "accept");
	CHECK(!setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), "timeo");
	CHECK(write_full(c, huge, sizeof(huge)) == sizeof(huge), "header");
	errno = 0;
	CHECK(recv(s, buf, sizeof(buf), 0) < 0 && errno == EPROTO, "EPROTO");
	cs = cookie_of(s);
	rport = local_port(c);
	tr = trace_text();
	CHECK(tr, "read the trace");
	EXPECT(tr, "newtcp_error",
	       "cookie=%llu netns=%u sport=%u dport=%u reason=oversize err=-%d len=4294967295",
	       cs, netns, port, rport, EPROTO);
	CHECK(count_lines(tr, "newtcp_record_in", NULL) == 0, "no record in");
	trace_stop();
	return 0;
}

static int sysctl_set(const char *name, const char *val)
{
	char path[128];

	snprintf(path, sizeof(path), "/proc/sys/net/newtcp/%s", name);
	return write_file(path, val);
}

/* The server reset silent peer @c (or closed it) within 3 s. */
static int dropped(int c)
{
	char b;
	ssize_t n = read(c, &b, 1);

	return n == 0 || (n < 0 && errno == ECONNRESET);
}

/*
 * The other ends: a client refused busy (its connect's ECONNREFUSED in
 * err), a silent peer evicted by the next under max_handshakes 1, and
 * that one reset at handshake_ms.
 */
static int t_refusals(void)
{
	struct sockaddr_newtcp addr;
	unsigned long long cl, cb;
	unsigned int pa, pb;
	char head[160];
	const char *tr;
	int l, c1, busy, a, b, rc;
	uint16_t port;

	rc = trace_start();
	if (rc)
		return rc;
	CHECK(!sysctl_set("handshake_ms", "300") &&
	      !sysctl_set("max_handshakes", "1"), "handshake_ms 300, max_handshakes 1");
	l = ntcp_listener(SOCK_STREAM, &port);
	CHECK(l >= 0 && !listen(l, 1), "listener, backlog 1");
	c1 = ntcp_connect(SOCK_STREAM, port);
	CHECK(c1 >= 0, "first connect fills the accept queue");
	busy = socket(ntcp_family, SOCK_STREAM, 0);
	CHECK(busy >= 0, "socket");
	addr = ntcp_addr(port);
	errno = 0;
	CHECK(connect(busy, (struct sockaddr *)&addr, sizeof(addr)) < 0 &&
	      errno == ECONNREFUSED, "second connect refused");
	cb = cookie_of(busy);
	a = ntcp_silent_peer(port);
	CHECK(a >= 0, "first silent peer");
	pa = local_port(a);
	b = ntcp_silent_peer(port);
	CHECK(b >= 0, "second silent peer");
	pb = local_port(b);
	CHECK(dropped(a), "the first was evicted");
	CHECK(dropped(b), "the second was reset at the deadline");
	cl = cookie_of(l);
	tr = trace_text();
	CHECK(tr, "read the trace");
	/* Its port was given back when connect() failed: matched by cookie. */
	snprintf(head, sizeof(head), "cookie=%llu netns=%u client stream 127.0.0.1:", cb, netns);
	if (count_between(tr, "newtcp_handshake_end", head, " result=busy err=-111") != 1) {
		printf("# want one newtcp_handshake_end: %s... result=busy err=-111\n", head);
		show_trace(tr);
		CHECK(0, "the busy client's end");
	}
	EXPECT(tr, "newtcp_handshake_end",
	       "cookie=%llu netns=%u server stream 127.0.0.1:%u -> 127.0.0.1:%u result=evicted err=0",
	       cl, netns, port, pa);
	EXPECT(tr, "newtcp_handshake_end",
	       "cookie=%llu netns=%u server stream 127.0.0.1:%u -> 127.0.0.1:%u result=timedout err=-110",
	       cl, netns, port, pb);
	trace_stop();
	return 0;
}

/*
 * The layout hs_end.bpf.c reads (trace_event.h) is the event's, by its
 * tracefs format file: "field:<decl>;\toffset:N;\tsize:M;" per field.
 */
static int check_layout(void)
{
	static const struct { const char *name; size_t off, size; } f[] = {
#define F(x) { #x, offsetof(struct hs_end_event, x), sizeof(((struct hs_end_event *)0)->x) }
		F(cookie), F(netns), F(saddr), F(daddr), F(sport), F(dport),
		F(role), F(type), F(result), F(err),
#undef F
	};
	char path[256], fmt[4096], want[64], *p;
	size_t i;
	unsigned int off, size;

	snprintf(path, sizeof(path),
		 "%s/events/newtcp/newtcp_handshake_end/format", tracefs);
	CHECK(!read_small_file(path, fmt, sizeof(fmt)), "%s", path);
	for (i = 0; i < ARRAY_SIZE(f); i++) {
		/* "u8 role;" or "u8 saddr[4];": the name ends the declaration. */
		snprintf(want, sizeof(want), " %s;", f[i].name);
		p = strstr(fmt, want);
		if (!p) {
			snprintf(want, sizeof(want), " %s[", f[i].name);
			p = strstr(fmt, want);
		}
		CHECK(p, "field %s in %s:\n%s", f[i].name, path, fmt);
		p = strstr(p, "offset:");
		CHECK(p && sscanf(p, "offset:%u;\tsize:%u;", &off, &size) == 2,
		      "offset and size of %s", f[i].name);
		CHECK(off == f[i].off && size == f[i].size,
		      "%s at %u size %u in the format file, %zu size %zu in trace_event.h",
		      f[i].name, off, size, f[i].off, f[i].size);
	}
	return 0;
}

static int t_bpf(void)
{
	struct hs_seen seen[2];
	struct hs_end_bpf *skel;
	unsigned int r;
	uint32_t lo = htonl(INADDR_LOOPBACK);
	struct pair p;
	int rc;

	rc = own_netns();
	if (rc)
		return rc;
	libbpf_set_print(libbpf_tap_print);
	if (libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_TRACEPOINT, NULL) != 1)
		SKIP_TEST("this kernel runs no BPF tracepoint programs (CONFIG_BPF_EVENTS)");
	if (check_layout())
		return 1;
	skel = hs_end_bpf__open_and_load();
	CHECK(skel, "load hs_end.bpf.o");
	skel->bss->target_netns = netns;
	CHECK(!hs_end_bpf__attach(skel), "attach to newtcp:newtcp_handshake_end");

	if (open_pair(&p))
		return 1;
	for (r = 0; r < 2; r++) {
		CHECK(!bpf_map_lookup_elem(bpf_map__fd(skel->maps.seen), &r, &seen[r]),
		      "read the map");
		printf("# %s: %llu events, cookie %llu netns %u %u -> %u type %u result %u err %d\n",
		       r == HS_ROLE_CLIENT ? "client" : "server",
		       (unsigned long long)seen[r].count,
		       (unsigned long long)seen[r].cookie, seen[r].netns,
		       seen[r].sport, seen[r].dport, seen[r].type, seen[r].result,
		       seen[r].err);
		CHECK(seen[r].count == 1, "one event for this side");
		CHECK(seen[r].netns == netns, "netns %u", netns);
		CHECK(seen[r].saddr == lo && seen[r].daddr == lo, "127.0.0.1 both");
		CHECK(seen[r].type == SOCK_SEQPACKET, "type SOCK_SEQPACKET");
		CHECK(seen[r].result == HS_OK && !seen[r].err, "result ok, err 0");
	}
	CHECK(seen[HS_ROLE_CLIENT].cookie == p.cc, "client cookie %llu: SO_COOKIE of the connecting socket", p.cc);
	CHECK(seen[HS_ROLE_CLIENT].sport == p.cport && seen[HS_ROLE_CLIENT].dport == p.port,
	      "client ports %u -> %u", p.cport, p.port);
	CHECK(seen[HS_ROLE_SERVER].cookie == p.cl, "server cookie %llu: SO_COOKIE of the listener", p.cl);
	CHECK(seen[HS_ROLE_SERVER].sport == p.port && seen[HS_ROLE_SERVER].dport == p.cport,
	      "server ports %u -> %u", p.port, p.cport);
	hs_end_bpf__destroy(skel);
	return 0;
}

static const struct ntcp_test tests[] = {
	{ "a connection: handshake start and end on both sides, every state change", t_connection, 10 },
	{ "a bad-version hello: the server's handshake ends badversion", t_bad_version, 10 },
	{ "busy, evicted and timed-out handshakes end with their results and errnos", t_refusals, 10 },
	{ "SEQPACKET records each way: record_out and record_in with the record's length", t_records, 10 },
	{ "an oversized record header: newtcp_error oversize, EPROTO", t_framing_error, 10 },
	{ "an eBPF tracepoint program sees both handshake ends with the sockets' cookies and ports", t_bpf, 15 },
};

int main(void)
{
	int rc;

	if (!find_tracefs()) {
		snprintf(inst, sizeof(inst), "%s/instances/sockvm-trace", tracefs);
		if (mkdir(inst, 0755) && errno != EEXIST) {
			tap_diag("mkdir %s: %s", inst, ntcp_errname(errno));
			inst[0] = 0;
		}
	}
	rc = ntcp_run_suite(tests, ARRAY_SIZE(tests));
	if (inst[0])
		rmdir(inst);
	return rc;
}
