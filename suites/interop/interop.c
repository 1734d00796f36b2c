// SPDX-License-Identifier: GPL-2.0
/*
 * interop: the module against lib/refpeer.c, a NEW_TCP peer written from
 * PROTOCOL.md alone over plain TCP, both ways: the module's client against
 * the reference server, the reference client against the module's
 * listener, each side's refusals as the document promises them.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include "ntcp.h"
#include "refpeer.h"
#include "tap.h"

static int type;

#define STREAM_BYTES	(256 * 1024)
#define STREAM_CHUNK	7000
/* Records each way: empty ones, small ones, multi-KiB ones, NEWTCP_MAXMSG's default. */
static const uint32_t record_len[] = { 0, 1, 5, 0, 4096, 20000, 65536, 3 };
#define RECORD_MAX	65536

static void bound_module_io(int fd)
{
	struct timeval tv = { .tv_sec = 5 };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* A module connect to 127.0.0.1:@port started without blocking: its fd. */
static int module_connect_start(uint16_t port)
{
	struct sockaddr_newtcp a = ntcp_addr(port);
	int c = socket(ntcp_family, type | SOCK_NONBLOCK, 0);

	if (c < 0)
		return -1;
	if (connect(c, (struct sockaddr *)&a, sizeof(a)) && errno != EINPROGRESS) {
		close(c);
		return -1;
	}
	return c;
}

/* Wait (5 s at most) for that connect to finish: 0, its error, or ETIME for no answer. */
static int module_connect_finish(int c)
{
	struct pollfd p = { .fd = c, .events = POLLOUT };
	socklen_t len = sizeof(int);
	int err = 0;

	if (poll(&p, 1, 5000) != 1)
		return ETIME;
	if (getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &len))
		return errno;
	if (!err) {
		fcntl(c, F_SETFL, fcntl(c, F_GETFL) & ~O_NONBLOCK);
		bound_module_io(c);
	}
	return err;
}

static void fill(unsigned char *buf, uint32_t len, uint64_t seed)
{
	ntcp_pattern(buf, len, seed, 0);
}

/* The sender's half of one direction: everything, then SHUT_WR. 0 on success. */
static int send_all(int fd, int is_module)
{
	static unsigned char buf[RECORD_MAX];
	size_t i;

	if (type == SOCK_STREAM) {
		uint64_t off;

		for (off = 0; off < STREAM_BYTES; off += STREAM_CHUNK) {
			size_t n = STREAM_BYTES - off < STREAM_CHUNK ?
				   STREAM_BYTES - off : STREAM_CHUNK;

			ntcp_pattern(buf, n, 7, off);
			if (write_full(fd, buf, n) != (ssize_t)n) {
				printf("# sender: write at %llu: %s\n",
				       (unsigned long long)off, ntcp_errname(errno));
				return 1;
			}
		}
	} else {
		for (i = 0; i < ARRAY_SIZE(record_len); i++) {
			uint32_t len = record_len[i];
			int bad;

			fill(buf, len, i);
			if (is_module)
				bad = send(fd, buf, len, MSG_EOR) != (ssize_t)len;
			else
				bad = refpeer_send_record(fd, buf, len) != 0;
			if (bad) {
				printf("# sender: record %zu (%u bytes): %s\n",
				       i, len, ntcp_errname(errno));
				return 1;
			}
		}
	}
	if (shutdown(fd, SHUT_WR)) {
		printf("# sender: shutdown: %s\n", ntcp_errname(errno));
		return 1;
	}
	return 0;
}

static int recv_stream(int fd)
{
	static unsigned char buf[STREAM_CHUNK];
	uint64_t off = 0;
	ssize_t r;

	while (off < STREAM_BYTES) {
		size_t bad;

		r = read(fd, buf, sizeof(buf));
		CHECK(r > 0, "read at %llu of %u: %zd", (unsigned long long)off,
		      STREAM_BYTES, r);
		bad = ntcp_pattern_check(buf, r, 7, off);
		CHECK(bad == (size_t)r, "byte %llu differs",
		      (unsigned long long)(off + bad));
		off += r;
	}
	r = read(fd, buf, sizeof(buf));
	CHECK(r == 0, "EOF after %u bytes: read says %zd", STREAM_BYTES, r);
	return 0;
}

static int recv_records(int fd, int is_module)
{
	static unsigned char buf[RECORD_MAX + 1], want[RECORD_MAX];
	uint32_t len = 0;
	size_t i;
	int r;

	for (i = 0; i <= ARRAY_SIZE(record_len); i++) {
		int eof = i == ARRAY_SIZE(record_len);

		if (is_module) {
			struct iovec iov = { buf, sizeof(buf) };
			struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
			ssize_t n = recvmsg(fd, &m, 0);

			CHECK(n >= 0, "record %zu: recvmsg", i);
			CHECK(!(m.msg_flags & MSG_TRUNC), "record %zu truncated", i);
			/* MSG_EOR tells an empty record from EOF */
			CHECK(!eof == !!(m.msg_flags & MSG_EOR),
			      "record %zu: msg_flags %#x, %zd bytes", i,
			      m.msg_flags, n);
			r = !eof || n;
			len = n;
		} else {
			len = 0;
			r = refpeer_recv_record(fd, buf, sizeof(buf), &len);
			CHECK(r >= 0, "record %zu (%u bytes sent): the reference receiver read a header of %u",
			      i, record_len[i], len);
		}
		if (eof) {
			CHECK(r == 0, "EOF after %zu records: got one more of %u bytes",
			      i, len);
			break;
		}
		CHECK(r == 1, "record %zu of %zu: EOF", i, ARRAY_SIZE(record_len));
		CHECK(len == record_len[i], "record %zu: %u bytes, sent %u", i,
		      len, record_len[i]);
		fill(want, len, i);
		CHECK(!memcmp(buf, want, len), "record %zu: payload differs", i);
	}
	return 0;
}

/* One direction, @from -> @to: a child sends, we receive and check. */
static int one_way(int from, int from_module, int to, int to_module,
		   const char *what)
{
	pid_t pid;
	int st, rc;

	fflush(stdout);
	pid = fork();
	CHECK(pid >= 0, "fork");
	if (!pid)
		_exit(send_all(from, from_module));
	rc = type == SOCK_STREAM ? recv_stream(to) : recv_records(to, to_module);
	if (rc)
		kill(pid, SIGKILL);
	CHECK(waitpid(pid, &st, 0) == pid, "wait for the sender");
	CHECK(!rc, "%s: receiver", what);
	CHECK(WIFEXITED(st) && !WEXITSTATUS(st), "%s: sender (status %#x)",
	      what, st);
	return 0;
}

static int both_ways(int mod, int ref)
{
	CHECK(!one_way(mod, 1, ref, 0, "module -> reference"), "module -> reference");
	CHECK(!one_way(ref, 0, mod, 1, "reference -> module"), "reference -> module");
	return 0;
}

static int hello_is(const struct refpeer_hello *h, int reply, uint8_t status)
{
	struct refpeer_hello want = refpeer_hello(type, reply, status);

	if (!memcmp(h, &want, sizeof(want)))
		return 1;
	printf("# hello %08x v%u type %u flags %#x status %u, expected %08x v%u type %u flags %#x status %u\n",
	       h->magic, h->version, h->type, h->flags, h->status, want.magic,
	       want.version, want.type, want.flags, want.status);
	return 0;
}

/* (1) the module's client against the reference server */
static int t_module_client(void)
{
	struct refpeer_hello h;
	uint16_t port;
	int l = tcp_listener(&port), c, s, err;

	CHECK(l >= 0, "tcp listener");
	c = module_connect_start(port);
	CHECK(c >= 0, "module connect");
	s = refpeer_accept(l, type, -1, 0, &h);
	CHECK(s >= 0, "reference server accepts the module's hello");
	CHECK(hello_is(&h, 0, 0), "the module's client hello is PROTOCOL.md's");
	err = module_connect_finish(c);
	CHECK(!err, "module connect after an accepting reply: %s", ntcp_errname(err));
	CHECK(!both_ways(c, s), "data both ways");
	close(c);
	close(s);
	close(l);
	return 0;
}

/* (2) the reference client against the module's listener */
static int t_reference_client(void)
{
	struct pollfd p = { .events = POLLIN };
	struct refpeer_hello r;
	uint16_t port;
	int l = ntcp_listener(type, &port), c, a;

	CHECK(l >= 0, "module listener");
	c = refpeer_connect(port, type, &r);
	CHECK(c >= 0, "reference client connects to the module's listener");
	CHECK(hello_is(&r, 1, 0), "the module's reply is PROTOCOL.md's");
	p.fd = l;
	CHECK(poll(&p, 1, 3000) == 1, "listener readable after the reply");
	a = accept(l, NULL, NULL);
	CHECK(a >= 0, "accept");
	bound_module_io(a);
	CHECK(!both_ways(a, c), "data both ways");
	close(a);
	close(c);
	close(l);
	return 0;
}

/* (3) refusals by the reference server fail the module's connect */
static int t_reference_refuses(void)
{
	static const struct {
		const char *what;
		int status, fin, other_type;
	} cases[] = {
		{ "status 1 (wrong type), then RST", REFPEER_BAD_TYPE, 0, 0 },
		{ "status 2 (unsupported version), then RST", REFPEER_BAD_VERSION, 0, 0 },
		{ "status 3 (busy), then RST", REFPEER_BUSY, 0, 0 },
		{ "status 9 (unknown), then RST", 9, 0, 0 },
		{ "status 2, then FIN", REFPEER_BAD_VERSION, 1, 0 },
		{ "a server of the other type (judged status 1)", -1, 0, 1 },
	};
	uint16_t port;
	int l = tcp_listener(&port);
	size_t i;

	CHECK(l >= 0, "tcp listener");
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		int srv_type = !cases[i].other_type ? type :
			       type == SOCK_STREAM ? SOCK_SEQPACKET : SOCK_STREAM;
		int c = module_connect_start(port), s, err;

		CHECK(c >= 0, "%s: module connect", cases[i].what);
		s = refpeer_accept(l, srv_type, cases[i].status, cases[i].fin, NULL);
		CHECK(s < 0 && errno == ECONNREFUSED, "%s: the reference server refused",
		      cases[i].what);
		err = module_connect_finish(c);
		CHECK(err == ECONNREFUSED, "%s: the module's connect says %s, PROTOCOL.md promises ECONNREFUSED",
		      cases[i].what, ntcp_errname(err));
		close(c);
	}
	close(l);
	return 0;
}

/* After a refusal the module resets: the reference client reads no data, only the end. */
static int refused_then_closed(int c)
{
	char b;
	ssize_t r = read(c, &b, 1);

	CHECK(r == 0, "after a refusal: read says %zd (%s), expected EOF: PROTOCOL.md's FIN after the reply",
	      r, r < 0 ? ntcp_errname(errno) : "data");
	return 0;
}

/*
 * The listener's SO_LINGER reaches the connections it takes (TCP's
 * children inherit it); a refusal still ends with a FIN, and at once:
 * linger 0 would make the close a RST, a long linger would hold the
 * module's worker until the peer ACKs.
 */
static int t_refusal_fin_despite_linger(void)
{
	static const struct linger lingers[] = { { 1, 0 }, { 1, 30 } };
	int other = type == SOCK_STREAM ? REFPEER_TYPE_SEQPACKET : REFPEER_TYPE_STREAM;
	struct refpeer_hello h, r;
	uint16_t port;
	int l, c;

	for (int i = 0; i < 2; i++) {
		l = ntcp_listener(type, &port);
		CHECK(l >= 0, "module listener");
		/* listen() again: where SOL_SOCKET never reaches the module (5.10, 6.1) it syncs then. */
		CHECK(!setsockopt(l, SOL_SOCKET, SO_LINGER, &lingers[i], sizeof(lingers[i])) &&
		      !listen(l, 16), "SO_LINGER");
		h = refpeer_hello(type, 0, 0);
		h.type = other;
		c = refpeer_connect_hello(port, &h, &r);
		CHECK(c >= 0 && r.status == REFPEER_BAD_TYPE, "SO_LINGER {1,%d}: refused with status 1",
		      lingers[i].l_linger);
		CHECK(!refused_then_closed(c), "SO_LINGER {1,%d}: FIN", lingers[i].l_linger);
		close(c);
		close(l);
	}
	return 0;
}

/* (4) the reference client's wrong hellos get the statuses PROTOCOL.md promises */
static int t_reference_wrong_hello(void)
{
	int other = type == SOCK_STREAM ? REFPEER_TYPE_SEQPACKET : REFPEER_TYPE_STREAM;
	struct pollfd p = { .events = POLLIN };
	struct refpeer_hello h, r;
	uint16_t port;
	int l = ntcp_listener(type, &port), c, a;

	CHECK(l >= 0, "module listener");

	h = refpeer_hello(type, 0, 0);
	h.type = other;
	c = refpeer_connect_hello(port, &h, &r);
	CHECK(c >= 0, "a hello of the other type is answered");
	CHECK(r.magic == REFPEER_MAGIC && r.version == REFPEER_VERSION &&
	      r.flags == REFPEER_FLAG_REPLY && r.status == REFPEER_BAD_TYPE,
	      "wrong type: reply %08x v%u flags %#x status %u, expected status 1",
	      r.magic, r.version, r.flags, r.status);
	CHECK(refpeer_judge_reply(&r, type) == ECONNREFUSED, "judged a refusal");
	CHECK(!refused_then_closed(c), "wrong type: connection ends");
	close(c);

	h = refpeer_hello(type, 0, 0);
	h.version = 2;
	c = refpeer_connect_hello(port, &h, &r);
	CHECK(c >= 0, "a hello of version 2 is answered");
	CHECK(r.magic == REFPEER_MAGIC && (r.flags & REFPEER_FLAG_REPLY) &&
	      r.status == REFPEER_BAD_VERSION,
	      "version 2: reply %08x v%u flags %#x status %u, expected status 2",
	      r.magic, r.version, r.flags, r.status);
	printf("# version 2 refused by a reply carrying version %u, type %u\n",
	       r.version, r.type);
	CHECK(!refused_then_closed(c), "version 2: connection ends");
	close(c);

	/* both wrong: PROTOCOL.md names no order; say what each side answers */
	h = refpeer_hello(type, 0, 0);
	h.version = 2;
	h.type = other;
	c = refpeer_connect_hello(port, &h, &r);
	CHECK(c >= 0, "a hello of version 2 and the other type is answered");
	printf("# version 2 and the other type: the module answers status %u, the reference server %d\n",
	       r.status, refpeer_judge_hello(&h, type));
	close(c);

	/* type bytes that name no type: PROTOCOL.md lists 1 and 2 only */
	for (int t = 0; t <= 3; t += 3) {
		h = refpeer_hello(type, 0, 0);
		h.type = t;
		c = refpeer_connect_hello(port, &h, &r);
		CHECK(c >= 0, "a hello of type %d is answered", t);
		printf("# type %d: the module answers status %u, the reference server %d\n",
		       t, r.status, refpeer_judge_hello(&h, type));
		close(c);
	}

	/* an echo of a reply (the reply bit set) is reset without an answer */
	h = refpeer_hello(type, 1, 0);
	c = refpeer_connect_hello(port, &h, &r);
	CHECK(c < 0 && errno == ECONNREFUSED, "an echoed reply got no answer but a reset or EOF");

	/* the listener goes on: the reference client's proper hello is accepted */
	c = refpeer_connect(port, type, &r);
	CHECK(c >= 0, "the reference client connects after the refusals");
	p.fd = l;
	CHECK(poll(&p, 1, 3000) == 1, "listener readable");
	a = accept(l, NULL, NULL);
	CHECK(a >= 0, "accept");
	close(a);
	close(c);
	close(l);
	return 0;
}

/*
 * Reserved flag bits (PROTOCOL.md: "other bits 0") set by the peer: the
 * document requires them of the sender and lists what a receiver checks
 * without them, so both receivers ignore them.
 */
static int t_reserved_bits(void)
{
	unsigned char out[REFPEER_HELLO_LEN], in[REFPEER_HELLO_LEN];
	struct refpeer_hello h, r;
	struct pollfd p = { .events = POLLIN };
	uint16_t port;
	int l, c, s, a, err;
	size_t got = 0;

	/* the reference client's hello with every reserved bit set */
	l = ntcp_listener(type, &port);
	CHECK(l >= 0, "module listener");
	h = refpeer_hello(type, 0, 0);
	h.flags = (uint8_t)~REFPEER_FLAG_REPLY;
	c = refpeer_connect_hello(port, &h, &r);
	CHECK(c >= 0, "a hello with flags %#x is answered", h.flags);
	CHECK(hello_is(&r, 1, 0), "accepted with a clean reply");
	p.fd = l;
	CHECK(poll(&p, 1, 3000) == 1, "listener readable");
	a = accept(l, NULL, NULL);
	CHECK(a >= 0, "accept");
	close(a);
	close(c);
	close(l);

	/* the reference server's reply with every reserved bit set */
	l = tcp_listener(&port);
	CHECK(l >= 0, "tcp listener");
	c = module_connect_start(port);
	CHECK(c >= 0, "module connect");
	s = accept(l, NULL, NULL);
	CHECK(s >= 0, "accept the module's TCP connect");
	while (got < sizeof(in)) {
		ssize_t n = read(s, in + got, sizeof(in) - got);

		CHECK(n > 0, "the module's hello");
		got += n;
	}
	r = refpeer_hello(type, 1, 0);
	r.flags = 0xff;
	refpeer_hello_pack(&r, out);
	CHECK(write_full(s, out, sizeof(out)) == sizeof(out), "reply");
	err = module_connect_finish(c);
	CHECK(!err, "a reply with flags 0xff: the module's connect says %s",
	      ntcp_errname(err));
	close(c);
	close(s);
	close(l);
	return 0;
}

/*
 * Data right behind the client's hello, before the reply: PROTOCOL.md's
 * server "reads exactly 8 bytes" and "neither hello is followed by
 * padding", so what follows is the user's.
 */
static int t_pipelined(void)
{
	unsigned char out[REFPEER_HELLO_LEN + 64], in[REFPEER_HELLO_LEN];
	struct refpeer_hello h = refpeer_hello(type, 0, 0), r;
	struct pollfd p = { .events = POLLIN };
	uint32_t hdr = htonl(5);
	size_t n = REFPEER_HELLO_LEN;
	uint16_t port;
	int l = ntcp_listener(type, &port), c, a;
	char buf[16];
	ssize_t got;

	CHECK(l >= 0, "module listener");
	c = ntcp_silent_peer(port);
	CHECK(c >= 0, "plain TCP connect");
	refpeer_hello_pack(&h, out);
	if (type == SOCK_SEQPACKET) {
		memcpy(out + n, &hdr, sizeof(hdr));
		n += sizeof(hdr);
	}
	memcpy(out + n, "early", 5);
	n += 5;
	/* one write: hello and data in one segment */
	CHECK(write_full(c, out, n) == (ssize_t)n, "hello and data");
	CHECK(read_full(c, in, sizeof(in)) == sizeof(in), "reply");
	refpeer_hello_unpack(in, &r);
	CHECK(hello_is(&r, 1, 0), "accepted");
	p.fd = l;
	CHECK(poll(&p, 1, 3000) == 1, "listener readable");
	a = accept(l, NULL, NULL);
	CHECK(a >= 0, "accept");
	bound_module_io(a);
	got = recv(a, buf, sizeof(buf), 0);
	CHECK(got == 5 && !memcmp(buf, "early", 5),
	      "the data behind the hello: recv says %zd", got);
	close(a);
	close(c);
	close(l);
	return 0;
}

/*
 * A reference client's session with a module listener: the listener,
 * the client's fd and the accepted module socket, its calls bounded.
 */
static int reference_session(int *l, int *c, int *a)
{
	uint16_t port;

	*c = *a = -1;
	*l = ntcp_listener(type, &port);
	if (*l < 0)
		return -1;
	*c = refpeer_connect(port, type, NULL);
	if (*c < 0)
		return -1;
	*a = accept(*l, NULL, NULL);
	if (*a < 0)
		return -1;
	bound_module_io(*a);
	return 0;
}

/* A record header above 16 MiB from the reference peer: the module says EPROTO. */
static int t_oversize_header(void)
{
	uint32_t hdr = htonl(REFPEER_RECORD_LIMIT + 1);
	int l, c, a;
	char buf[16];
	ssize_t r;

	CHECK(!reference_session(&l, &c, &a), "reference client, module listener");
	CHECK(write_full(c, &hdr, sizeof(hdr)) == sizeof(hdr), "header");
	r = recv(a, buf, sizeof(buf), 0);
	CHECK(r < 0 && errno == EPROTO, "recv of a 16 MiB + 1 header: %zd", r);
	CHECK(refpeer_send_record(c, buf, REFPEER_RECORD_LIMIT + 1) < 0 &&
	      errno == EMSGSIZE, "the reference sender refuses it too");
	close(a);
	close(c);
	close(l);
	return 0;
}

/* A record cut short by the reference peer's EOF: the module says ECONNRESET. */
static int t_cut_record(void)
{
	uint32_t hdr = htonl(10);
	int l, c, a;
	char buf[16];
	ssize_t r;

	CHECK(!reference_session(&l, &c, &a), "reference client, module listener");
	CHECK(write_full(c, &hdr, sizeof(hdr)) == sizeof(hdr) &&
	      write_full(c, "abc", 3) == 3 && !shutdown(c, SHUT_WR),
	      "3 bytes of a 10-byte record, then FIN");
	r = recv(a, buf, sizeof(buf), 0);
	CHECK(r < 0 && errno == ECONNRESET, "recv of the cut record: %zd", r);
	close(a);
	close(c);
	close(l);
	return 0;
}

int main(void)
{
	static const struct ntcp_typed_test tests[] = {
		NTCP_BOTH("module client, reference server: hellos, data both ways byte-exact, EOF",
			  t_module_client, 15),
		NTCP_BOTH("reference client, module listener: accept, data both ways byte-exact, EOF",
			  t_reference_client, 15),
		NTCP_BOTH("reference server refusals fail the module's connect with ECONNREFUSED",
			  t_reference_refuses, 15),
		NTCP_BOTH("reference client's wrong type, version and echo get PROTOCOL.md's answers",
			  t_reference_wrong_hello, 15),
		NTCP_BOTH("a refusal ends with a FIN whatever the listener's SO_LINGER",
			  t_refusal_fin_despite_linger, 15),
		NTCP_BOTH("reserved flag bits set by the peer are ignored both ways",
			  t_reserved_bits, 15),
		NTCP_BOTH("data right behind the client's hello reaches the accepted socket",
			  t_pipelined, 15),
		{ "a record header above 16 MiB from the reference peer: EPROTO",
		  t_oversize_header, SOCK_SEQPACKET, 10 },
		{ "a record cut by the reference peer's EOF: ECONNRESET",
		  t_cut_record, SOCK_SEQPACKET, 10 },
	};

	return ntcp_run_typed_suite(tests, ARRAY_SIZE(tests), &type);
}
