// SPDX-License-Identifier: GPL-2.0
/*
 * wire: NEW_TCP between two guests across the e1000 link.
 *
 * Guest 2 runs "wire --role server" (the data service of peer.c),
 * guest 1 "wire --role client", whose TAP is the result.  Every test
 * runs in its own child with a timeout (run_test) and opens its own
 * connections, including control connections to ask the server for
 * its counters.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <linux/sockios.h>

#include "ntcp.h"
#include "peer.h"
#include "tap.h"

#define MiB		(1u << 20)
#define BIG		(16 * MiB)
#define NCONN		64

static int handshake_ms(void)
{
	FILE *f = fopen("/sys/module/newtcp/parameters/handshake_ms", "r");
	int v = 2000;

	if (f) {
		if (fscanf(f, "%d", &v) != 1)
			v = 2000;
		fclose(f);
	}
	return v;
}

static void rate(const char *what, uint64_t bytes, long long ms)
{
	if (ms <= 0)
		ms = 1;
	printf("# %s: %.1f MiB in %lld ms = %.2f MB/s\n", what,
	       bytes / (double)MiB, ms, bytes / 1e3 / ms);
}

/*
 * One whole transfer through @ds (ds_sink, ds_source or ds_duplex),
 * checked as @check, its rate printed as @what.
 */
static int timed(int (*ds)(int, uint64_t, uint32_t, uint32_t, long long *),
		 int type, uint64_t size, uint32_t seed, uint32_t maxrec,
		 const char *check, const char *what)
{
	long long ms;

	CHECK(!ds(type, size, seed, maxrec, &ms), "%s", check);
	rate(what, size, ms);
	return 0;
}

/* ---- link ---- */

static int t_link_addr(void)
{
	struct ifreq ifr;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, peer_cfg.link, IFNAMSIZ - 1);
	CHECK(!ioctl(fd, SIOCGIFADDR, &ifr), "SIOCGIFADDR %s", peer_cfg.link);
	CHECK(sin->sin_addr.s_addr == peer_cfg.local_ip.s_addr,
	      "%s has %s, expected %s", peer_cfg.link, inet_ntoa(sin->sin_addr),
	      peer_cfg.local);
	CHECK(!ioctl(fd, SIOCGIFFLAGS, &ifr) && (ifr.ifr_flags & IFF_UP) &&
	      (ifr.ifr_flags & IFF_RUNNING), "%s up and running, flags %x",
	      peer_cfg.link, ifr.ifr_flags);
	return 0;
}

static int t_link_driver(void)
{
	char drv[64];

	peer_link_driver(drv, sizeof(drv));
	CHECK(!strcmp(drv, "e1000"), "%s is driven by '%s'", peer_cfg.link, drv);
	return 0;
}

static int t_peer_driver(void)
{
	char r[512];
	int c = ctl_open(5000);

	CHECK(c >= 0, "control connection");
	CHECK(!ctl_cmd(c, r, sizeof(r), "hello"), "hello: %s", r);
	printf("# peer: %s\n", r);
	CHECK(strstr(r, " driver=e1000 "), "peer link driver: %s", r);
	CHECK(ctl_val(r, "family") == ntcp_family, "peer family %lld, ours %d",
	      ctl_val(r, "family"), ntcp_family);
	return 0;
}

/* ---- stream ---- */

static int t_stream_names(void)
{
	struct sockaddr_newtcp a, b;
	socklen_t la = sizeof(a), lb = sizeof(b);
	char r[512];
	int fd = ds_open(SOCK_STREAM, DS_ECHO, 0, 1, 0), c;

	CHECK(fd >= 0, "connect");
	CHECK(!getsockname(fd, (struct sockaddr *)&a, &la), "getsockname");
	CHECK(!getpeername(fd, (struct sockaddr *)&b, &lb), "getpeername");
	CHECK(a.snt_family == ntcp_family && b.snt_family == ntcp_family,
	      "families %d %d", a.snt_family, b.snt_family);
	CHECK(a.snt_addr.s_addr == peer_cfg.local_ip.s_addr,
	      "local address %s", inet_ntoa(a.snt_addr));
	CHECK(b.snt_addr.s_addr == peer_cfg.peer_ip.s_addr &&
	      ntohs(b.snt_port) == PEER_PORT_STREAM, "peer address %s:%u",
	      inet_ntoa(b.snt_addr), ntohs(b.snt_port));
	c = ctl_open(5000);
	CHECK(c >= 0, "control");
	CHECK(!ctl_cmd(c, r, sizeof(r), "proc %d", PEER_PORT_STREAM), "%s", r);
	CHECK(ctl_val(r, "rows") >= 2,
	      "the peer's /proc/net/newtcp lists listener and connection: %s", r);
	return 0;
}

static int t_stream_echo_small(void)
{
	struct newtcp_info in;
	socklen_t len = sizeof(in);
	char buf[8];
	int fd = ds_open(SOCK_STREAM, DS_ECHO, 0, 1, 0);

	CHECK(fd >= 0, "connect");
	CHECK(write(fd, "hello", 5) == 5, "write");
	CHECK(read_full(fd, buf, 5) == 5 && !memcmp(buf, "hello", 5), "echo");
	CHECK(!getsockopt(fd, SOL_NEWTCP, NEWTCP_INFO, &in, &len), "INFO");
	printf("# rtt %u us, rttvar %u us\n", in.nti_rtt_us, in.nti_rttvar_us);
	CHECK(in.nti_rtt_us > 0, "RTT measured across the link");
	CHECK(in.nti_state == 1, "state ESTABLISHED, %u", in.nti_state);
	return 0;
}

static int t_stream_sizes(void)
{
	static const uint32_t sizes[] = {
		0, 1, 2, 1447, 1448, 1449, 4096, 65535, 65536, 65537,
		MiB + 3,
	};

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		if (ds_sink(SOCK_STREAM, sizes[i], 100 + i, 0, NULL)) {
			printf("# size %u failed\n", sizes[i]);
			return 1;
		}
	}
	return 0;
}

static int t_stream_out(void)
{
	return timed(ds_sink, SOCK_STREAM, BIG, 7, 0, "transfer",
		     "stream client->peer");
}

static int t_stream_in(void)
{
	return timed(ds_source, SOCK_STREAM, BIG, 8, 0, "transfer",
		     "stream peer->client");
}

static int t_stream_duplex(void)
{
	return timed(ds_duplex, SOCK_STREAM, 8 * MiB, 9, 0, "duplex",
		     "stream echo (each way)");
}

static int t_stream_info(void)
{
	struct newtcp_info in;
	socklen_t len = sizeof(in);
	struct ds_resp r;
	int fd = ds_open(SOCK_STREAM, DS_SINK, MiB, 11, 0);

	CHECK(fd >= 0, "connect");
	CHECK(!ds_stream_send(fd, 11, MiB), "send");
	CHECK(!ds_read_resp(fd, SOCK_STREAM, &r) && !r.status, "verdict");
	CHECK(!getsockopt(fd, SOL_NEWTCP, NEWTCP_INFO, &in, &len), "INFO");
	CHECK(in.nti_bytes_sent == MiB + sizeof(struct ds_req),
	      "bytes_sent %llu, expected %zu", (unsigned long long)in.nti_bytes_sent,
	      MiB + sizeof(struct ds_req));
	CHECK(in.nti_bytes_received == sizeof(struct ds_resp),
	      "bytes_received %llu, expected %zu",
	      (unsigned long long)in.nti_bytes_received, sizeof(struct ds_resp));
	CHECK(in.nti_type == SOCK_STREAM, "type %u", in.nti_type);
	return 0;
}

static int t_stream_halfclose(void)
{
	static char out[100000], in[100001];
	int fd = ds_open(SOCK_STREAM, DS_ECHO, 0, 12, 0);

	CHECK(fd >= 0, "connect");
	pat_fill(12, 0, out, sizeof(out));
	CHECK(write_full(fd, out, sizeof(out)) == sizeof(out), "write");
	CHECK(!shutdown(fd, SHUT_WR), "SHUT_WR");
	CHECK(read_full(fd, in, sizeof(out)) == sizeof(out) &&
	      !memcmp(in, out, sizeof(out)), "the echo after our FIN");
	CHECK(read(fd, in, 1) == 0, "EOF: the peer closed after our FIN");
	CHECK(write(fd, "x", 1) < 0 && errno == EPIPE, "EPIPE after SHUT_WR");
	return 0;
}

static int t_stream_waitall(void)
{
	char *buf = malloc(MiB);
	int fd = ds_open(SOCK_STREAM, DS_SOURCE, MiB, 13, 0);
	ssize_t r;

	CHECK(fd >= 0, "connect");
	r = recv(fd, buf, MiB, MSG_WAITALL);
	CHECK(r == MiB, "MSG_WAITALL returned %zd", r);
	CHECK(pat_check(13, 0, buf, MiB) < 0, "data");
	return 0;
}

static int t_stream_peek(void)
{
	char buf[128];
	int fd = ds_open(SOCK_STREAM, DS_ECHO, 0, 14, 0), n = 0, i;

	CHECK(fd >= 0, "connect");
	pat_fill(14, 0, buf, 100);
	CHECK(write(fd, buf, 100) == 100, "write");
	for (i = 0; i < 500 && n < 100; i++) {
		CHECK(!ioctl(fd, SIOCINQ, &n), "SIOCINQ");
		if (n < 100)
			usleep(10000);
	}
	CHECK(n == 100, "SIOCINQ %d after the echo", n);
	CHECK(recv(fd, buf, 10, MSG_PEEK) == 10 && pat_check(14, 0, buf, 10) < 0,
	      "MSG_PEEK");
	CHECK(recv(fd, buf, 128, MSG_DONTWAIT) == 100 &&
	      pat_check(14, 0, buf, 100) < 0, "read after peek");
	CHECK(recv(fd, buf, 1, MSG_DONTWAIT) < 0 && errno == EAGAIN, "EAGAIN");
	return 0;
}

static int t_nonblock_connect(void)
{
	struct sockaddr_newtcp a = peer_addr(peer_cfg.peer_ip, PEER_PORT_STREAM);
	struct ds_req q = { DS_MAGIC, DS_ECHO, 0, 1, 0, 0, 0 };
	int fd = socket(ntcp_family, SOCK_STREAM | SOCK_NONBLOCK, 0), err = -1;
	socklen_t len = sizeof(err);
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	char buf[4];

	CHECK(connect(fd, (struct sockaddr *)&a, sizeof(a)) && errno == EINPROGRESS,
	      "EINPROGRESS");
	CHECK(poll(&p, 1, 10000) == 1 && (p.revents & POLLOUT) &&
	      !(p.revents & POLLERR), "POLLOUT, revents %x", p.revents);
	CHECK(!getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) && !err,
	      "SO_ERROR %d", err);
	fcntl(fd, F_SETFL, 0);
	CHECK(!ds_send_req(fd, SOCK_STREAM, &q), "request");
	CHECK(write(fd, "nbc", 3) == 3 && read_full(fd, buf, 3) == 3 &&
	      !memcmp(buf, "nbc", 3), "echo");
	return 0;
}

/* ---- seqpacket ---- */

static int t_seq_boundaries(void)
{
	static const uint32_t sizes[] = { 1, 0, 100, 1000, 0, 1448, 65536, 7 };
	static char out[65536], in[65537];
	int fd = ds_open(SOCK_SEQPACKET, DS_ECHO, 0, 15, 65536);
	size_t i;

	CHECK(fd >= 0, "connect");
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		pat_fill(15 + i, 0, out, sizes[i]);
		CHECK(send(fd, out, sizes[i], 0) == (ssize_t)sizes[i], "send %u",
		      sizes[i]);
	}
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct iovec iov = { .iov_base = in, .iov_len = sizeof(in) };
		struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
		ssize_t r = recvmsg(fd, &m, 0);

		CHECK(r == (ssize_t)sizes[i], "record %zu: %zd bytes, expected %u",
		      i, r, sizes[i]);
		CHECK(m.msg_flags & MSG_EOR, "record %zu: MSG_EOR", i);
		CHECK(pat_check(15 + i, 0, in, r) < 0, "record %zu content", i);
	}
	return 0;
}

static int t_seq_out(void)
{
	return timed(ds_sink, SOCK_SEQPACKET, BIG, 16, 65536, "transfer",
		     "seqpacket client->peer");
}

static int t_seq_in(void)
{
	return timed(ds_source, SOCK_SEQPACKET, BIG, 17, 65536, "transfer",
		     "seqpacket peer->client");
}

static int t_seq_big_records(void)
{
	return timed(ds_sink, SOCK_SEQPACKET, 8 * MiB, 18, MiB, "transfer",
		     "seqpacket 1 MiB records client->peer");
}

static int t_seq_emsgsize(void)
{
	static char buf[65537];
	int fd = ds_open(SOCK_SEQPACKET, DS_ECHO, 0, 19, 65536);

	CHECK(fd >= 0, "connect");
	CHECK(send(fd, buf, sizeof(buf), 0) < 0 && errno == EMSGSIZE,
	      "65537 bytes > NEWTCP_MAXMSG: EMSGSIZE");
	CHECK(send(fd, "still", 5, 0) == 5, "send after EMSGSIZE");
	CHECK(recv(fd, buf, sizeof(buf), 0) == 5 && !memcmp(buf, "still", 5),
	      "the echo: nothing of the refused record went out");
	return 0;
}

static int t_seq_trunc(void)
{
	static char out[1000], in[1000];
	struct iovec iov = { .iov_base = in, .iov_len = 10 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	int fd = ds_open(SOCK_SEQPACKET, DS_ECHO, 0, 20, 65536);
	ssize_t r;

	CHECK(fd >= 0, "connect");
	pat_fill(20, 0, out, sizeof(out));
	CHECK(send(fd, out, 1000, 0) == 1000 && send(fd, "tail!", 5, 0) == 5 &&
	      send(fd, out, 1000, 0) == 1000, "send");
	r = recvmsg(fd, &m, 0);
	CHECK(r == 10 && (m.msg_flags & MSG_TRUNC) && !memcmp(in, out, 10),
	      "truncated to 10, flags %x, got %zd", m.msg_flags, r);
	r = recv(fd, in, sizeof(in), 0);
	CHECK(r == 5 && !memcmp(in, "tail!", 5),
	      "the next record is whole: %zd", r);
	r = recv(fd, in, 10, MSG_TRUNC);
	CHECK(r == 1000, "MSG_TRUNC returns the real length, %zd", r);
	return 0;
}

static int t_seq_duplex(void)
{
	return timed(ds_duplex, SOCK_SEQPACKET, 8 * MiB, 21, 65536, "duplex",
		     "seqpacket echo (each way)");
}

static int t_seq_info(void)
{
	struct newtcp_info in;
	socklen_t len = sizeof(in);
	struct ds_resp r;
	uint32_t n;
	int fd = ds_open(SOCK_SEQPACKET, DS_SINK, 2 * MiB, 22, 65536);

	CHECK(fd >= 0, "connect");
	CHECK(!ds_seq_send(fd, 22, 2 * MiB, 65536, &n), "send");
	CHECK(!ds_read_resp(fd, SOCK_SEQPACKET, &r) && !r.status, "verdict %u",
	      r.status);
	CHECK(r.records == n, "the peer counted %u records, we sent %u",
	      r.records, n);
	CHECK(!getsockopt(fd, SOL_NEWTCP, NEWTCP_INFO, &in, &len), "INFO");
	CHECK(in.nti_msgs_sent == n + 1ULL && in.nti_msgs_received == 1,
	      "msgs_sent %llu (expected %u), msgs_received %llu",
	      (unsigned long long)in.nti_msgs_sent, n + 1,
	      (unsigned long long)in.nti_msgs_received);
	CHECK(in.nti_bytes_sent == 2 * MiB + sizeof(struct ds_req),
	      "payload bytes_sent %llu excludes headers",
	      (unsigned long long)in.nti_bytes_sent);
	return 0;
}

/* ---- many connections ---- */

static int t_many_open(void)
{
	int fds[NCONN], i, c;
	char r[512];
	long long rows;

	for (i = 0; i < NCONN; i++) {
		fds[i] = ds_open(SOCK_STREAM, DS_ECHO, 0, 1, 0);
		CHECK(fds[i] >= 0, "connection %d", i);
	}
	c = ctl_open(5000);
	CHECK(c >= 0, "control");
	/* Its application accepts them at its own pace. */
	for (i = 0; i < 100; i++) {
		CHECK(!ctl_cmd(c, r, sizeof(r), "proc %d", PEER_PORT_STREAM), "%s", r);
		rows = ctl_val(r, "rows");
		if (rows >= NCONN + 1)
			break;
		usleep(100000);
	}
	CHECK(rows >= NCONN + 1, "the peer lists %lld rows for port %d after 10 s",
	      rows, PEER_PORT_STREAM);
	for (i = 0; i < NCONN; i++) {
		char b[2];

		CHECK(write(fds[i], "m", 1) == 1 && read_full(fds[i], b, 1) == 1 &&
		      b[0] == 'm', "echo on connection %d", i);
	}
	return 0;
}

static pthread_barrier_t many_bar;

static void *many_one(void *arg)
{
	struct ds_dx *d = arg;
	int fd = ds_open(d->type, DS_ECHO, 0, d->seed, d->maxrec);

	/* All connect first, then all move data at once. */
	pthread_barrier_wait(&many_bar);
	d->rc = fd < 0 ? 1 :
		ds_duplex_fd(fd, d->type, d->size, d->seed, d->maxrec, NULL);
	return NULL;
}

static int many(int type)
{
	static struct ds_dx d[NCONN];
	pthread_t th[NCONN];
	long long t0 = now_ms();
	int i, bad = 0;

	pthread_barrier_init(&many_bar, NULL, NCONN);
	for (i = 0; i < NCONN; i++) {
		d[i] = (struct ds_dx){ .type = type, .seed = 1000 + i,
				       .size = 256 << 10,
				       .maxrec = type == SOCK_SEQPACKET ? 4096 : 0 };
		CHECK(!pthread_create(&th[i], NULL, many_one, &d[i]), "thread");
	}
	for (i = 0; i < NCONN; i++) {
		pthread_join(th[i], NULL);
		if (d[i].rc) {
			printf("# connection %d failed\n", i);
			bad++;
		}
	}
	rate("64 connections, total each way", NCONN * (256ULL << 10),
	     now_ms() - t0);
	CHECK(!bad, "%d of %d connections failed", bad, NCONN);
	return 0;
}

static int t_many_stream(void) { return many(SOCK_STREAM); }
static int t_many_seq(void) { return many(SOCK_SEQPACKET); }

static int t_many_nonblock(void)
{
	struct sockaddr_newtcp a = peer_addr(peer_cfg.peer_ip, PEER_PORT_SEQ);
	struct pollfd p[NCONN];
	int i, left = NCONN, err;
	socklen_t len;
	long long end = now_ms() + 20000;

	for (i = 0; i < NCONN; i++) {
		p[i].fd = socket(ntcp_family, SOCK_SEQPACKET | SOCK_NONBLOCK, 0);
		p[i].events = POLLOUT;
		CHECK(connect(p[i].fd, (struct sockaddr *)&a, sizeof(a)) &&
		      errno == EINPROGRESS, "connect %d", i);
	}
	while (left && now_ms() < end) {
		CHECK(poll(p, NCONN, 1000) >= 0, "poll");
		for (i = 0; i < NCONN; i++) {
			if (p[i].fd < 0 || !p[i].revents)
				continue;
			err = -1;
			len = sizeof(err);
			CHECK(!getsockopt(p[i].fd, SOL_SOCKET, SO_ERROR, &err, &len) &&
			      !err, "connection %d: revents %x SO_ERROR %d", i,
			      p[i].revents, err);
			close(p[i].fd);
			p[i].fd = -1;
			left--;
		}
	}
	CHECK(!left, "%d connections still pending after 20 s", left);
	return 0;
}

/* ---- the e1000 counters ---- */

static int t_counters_local(void)
{
	long long tx0 = peer_link_stat("tx_bytes"), rx0 = peer_link_stat("rx_bytes");
	long long tx, rx;

	CHECK(tx0 >= 0 && rx0 >= 0, "counters of %s", peer_cfg.link);
	CHECK(!ds_sink(SOCK_STREAM, 4 * MiB, 23, 0, NULL), "4 MiB out");
	CHECK(!ds_source(SOCK_SEQPACKET, 4 * MiB, 24, 65536, NULL), "4 MiB in");
	tx = peer_link_stat("tx_bytes") - tx0;
	rx = peer_link_stat("rx_bytes") - rx0;
	printf("# %s: tx +%lld, rx +%lld bytes for 4 MiB each way\n",
	       peer_cfg.link, tx, rx);
	CHECK(tx >= 4 * MiB, "tx_bytes grew by %lld < 4 MiB", tx);
	CHECK(rx >= 4 * MiB, "rx_bytes grew by %lld < 4 MiB", rx);
	return 0;
}

static int t_counters_peer(void)
{
	char r0[512], r1[512];
	long long tx, rx;
	int c = ctl_open(5000);

	CHECK(c >= 0, "control");
	CHECK(!ctl_cmd(c, r0, sizeof(r0), "stats"), "%s", r0);
	CHECK(!ds_source(SOCK_STREAM, 4 * MiB, 25, 0, NULL), "4 MiB in");
	CHECK(!ds_sink(SOCK_SEQPACKET, 4 * MiB, 26, 65536, NULL), "4 MiB out");
	CHECK(!ctl_cmd(c, r1, sizeof(r1), "stats"), "%s", r1);
	tx = ctl_val(r1, "tx") - ctl_val(r0, "tx");
	rx = ctl_val(r1, "rx") - ctl_val(r0, "rx");
	printf("# peer link: tx +%lld, rx +%lld bytes for 4 MiB each way\n",
	       tx, rx);
	CHECK(ctl_val(r0, "tx") >= 0, "the peer reads its counters");
	CHECK(tx >= 4 * MiB, "the peer's tx_bytes grew by %lld < 4 MiB", tx);
	CHECK(rx >= 4 * MiB, "the peer's rx_bytes grew by %lld < 4 MiB", rx);
	return 0;
}

/* ---- NEW_TCP vs plain TCP ---- */

static int refused_by_plain(uint16_t port, int expect, int max_ms)
{
	int fd = socket(ntcp_family, SOCK_STREAM, 0);
	struct sockaddr_newtcp a = peer_addr(peer_cfg.peer_ip, port);
	long long t0 = now_ms(), dt;
	int rc;

	rc = connect(fd, (struct sockaddr *)&a, sizeof(a));
	dt = now_ms() - t0;
	CHECK(rc < 0 && errno == expect, "connect returned %d, expected %s", rc,
	      ntcp_errname(expect));
	printf("# refused with %s after %lld ms\n", ntcp_errname(errno), dt);
	CHECK(dt <= max_ms, "took %lld ms > %d", dt, max_ms);
	CHECK(send(fd, "leak", 4, MSG_NOSIGNAL) < 0, "send on the refused socket");
	return 0;
}

static int t_plain_hangup(void)
{
	return refused_by_plain(PEER_PORT_HANGUP, ECONNREFUSED, 10000);
}

static int t_plain_echo(void)
{
	char r0[512], r1[512];
	int c = ctl_open(5000);
	long long got;

	CHECK(c >= 0, "control");
	CHECK(!ctl_cmd(c, r0, sizeof(r0), "stats"), "%s", r0);
	CHECK(!refused_by_plain(PEER_PORT_ECHO, ECONNREFUSED, 10000), "refused");
	usleep(300000);
	CHECK(!ctl_cmd(c, r1, sizeof(r1), "stats"), "%s", r1);
	got = ctl_val(r1, "plain_bytes") - ctl_val(r0, "plain_bytes");
	CHECK(ctl_val(r1, "plain_conns") > ctl_val(r0, "plain_conns"),
	      "the plain server saw the connection");
	CHECK(got == 8, "the plain peer received %lld bytes, only the 8-byte hello allowed",
	      got);
	return 0;
}

static int t_plain_banner(void)
{
	return refused_by_plain(PEER_PORT_BANNER, ECONNREFUSED, 10000);
}

static int t_plain_silent(void)
{
	return refused_by_plain(PEER_PORT_SILENT, ETIMEDOUT,
				handshake_ms() + 3000);
}

static int t_closed_port(void)
{
	return refused_by_plain(PEER_PORT_CLOSED, ECONNREFUSED, 5000);
}

static int t_type_mismatch(void)
{
	long long t0 = now_ms();

	CHECK(peer_connect(SOCK_STREAM, PEER_PORT_SEQ) < 0 &&
	      errno == ECONNREFUSED, "stream client vs seqpacket listener");
	CHECK(peer_connect(SOCK_SEQPACKET, PEER_PORT_STREAM) < 0 &&
	      errno == ECONNREFUSED, "seqpacket client vs stream listener");
	CHECK(now_ms() - t0 < 5000, "refused promptly (%lld ms)", now_ms() - t0);
	return 0;
}

/* A raw TCP connection to the peer's NEW_TCP stream listener. */
static int raw_to_listener(void)
{
	int fd = peer_tcp_connect(PEER_PORT_STREAM);
	struct timeval tv = { .tv_sec = 10 };

	if (fd >= 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

static int dropped(int fd, const char *what)
{
	char buf[64];
	ssize_t r = read(fd, buf, sizeof(buf));

	CHECK(r == 0 || (r < 0 && errno == ECONNRESET),
	      "%s: read %zd, expected EOF or ECONNRESET", what, r);
	return 0;
}

static int t_raw_garbage(void)
{
	int c = ctl_open(5000), fd;
	long long a0, a1;

	CHECK(c >= 0, "control");
	a0 = ctl_query(c, "stats", "acc_stream");
	fd = raw_to_listener();
	CHECK(fd >= 0, "TCP connect to the NEW_TCP listener");
	CHECK(write(fd, "GET / HTTP/1.0\r\n\r\n", 18) == 18, "garbage");
	CHECK(!dropped(fd, "HTTP request"), "dropped");
	usleep(300000);
	a1 = ctl_query(c, "stats", "acc_stream");
	CHECK(a1 == a0, "the peer's application accepted %lld connection(s)",
	      a1 - a0);
	return 0;
}

static int t_raw_silent(void)
{
	int fd = raw_to_listener();
	long long t0 = now_ms();

	CHECK(fd >= 0, "TCP connect");
	CHECK(!dropped(fd, "silent client"), "dropped");
	printf("# dropped after %lld ms\n", now_ms() - t0);
	CHECK(now_ms() - t0 <= handshake_ms() + 3000, "within handshake_ms");
	return 0;
}

static void hello(unsigned char *h, int version, int type, int flags)
{
	h[0] = 'N';
	h[1] = 'T';
	h[2] = 'C';
	h[3] = 'P';
	h[4] = version;
	h[5] = type;
	h[6] = flags;
	h[7] = 0;
}

static int t_raw_reply_bit(void)
{
	unsigned char h[8];
	int fd = raw_to_listener();

	CHECK(fd >= 0, "TCP connect");
	hello(h, 1, 1, 0x80);
	CHECK(write(fd, h, 8) == 8, "a reply hello as a client hello");
	CHECK(!dropped(fd, "echoed hello"), "dropped without an answer");
	return 0;
}

static int t_raw_bad_version(void)
{
	unsigned char h[8], r[8];
	int fd = raw_to_listener();
	ssize_t n;

	CHECK(fd >= 0, "TCP connect");
	hello(h, 2, 1, 0);
	CHECK(write(fd, h, 8) == 8, "hello v2");
	n = read_full(fd, r, 8);
	CHECK(n == 8, "a reply, read %zd", n);
	CHECK(!memcmp(r, "NTCP", 4) && r[4] == 1 && r[6] == 0x80 && r[7] == 2,
	      "status 2 (unsupported version): %02x %02x %02x %02x", r[4], r[5],
	      r[6], r[7]);
	CHECK(!dropped(fd, "after the refusal"), "reset after the refusal");
	return 0;
}

static int t_raw_hello_ok(void)
{
	unsigned char h[8], r[8];
	struct ds_req q = { htonl(DS_MAGIC), htonl(DS_ECHO), 0, 0, 0, 0, 0 };
	char buf[8];
	int fd = raw_to_listener(), c = ctl_open(5000);
	long long a0 = ctl_query(c, "stats", "acc_stream");

	CHECK(fd >= 0 && c >= 0, "TCP connect");
	hello(h, 1, 1, 0);
	CHECK(write(fd, h, 8) == 8, "hello");
	CHECK(read_full(fd, r, 8) == 8, "reply");
	CHECK(!memcmp(r, "NTCP", 4) && r[4] == 1 && r[5] == 1 && r[6] == 0x80 &&
	      r[7] == 0, "reply hello per PROTOCOL.md: %02x %02x %02x %02x",
	      r[4], r[5], r[6], r[7]);
	CHECK(write_full(fd, &q, sizeof(q)) == sizeof(q), "request");
	CHECK(write(fd, "raw", 3) == 3 && read_full(fd, buf, 3) == 3 &&
	      !memcmp(buf, "raw", 3), "echo through a hand-made NEW_TCP client");
	CHECK(ctl_query(c, "stats", "acc_stream") == a0 + 1, "accepted once");
	return 0;
}

static int t_listener_serves(void)
{
	int c = ctl_open(5000), fd, i;
	long long a0 = ctl_query(c, "stats", "acc_stream");

	CHECK(c >= 0, "control");
	/* A burst of plain clients first. */
	for (i = 0; i < 8; i++) {
		fd = raw_to_listener();
		CHECK(fd >= 0, "raw %d", i);
		if (i & 1)
			CHECK(write(fd, "\0\0\0\0\0\0\0\0\0\0", 10) == 10, "zeros");
		close(fd);
	}
	CHECK(!ds_sink(SOCK_STREAM, 64 << 10, 27, 0, NULL),
	      "a NEW_TCP transfer right after plain clients");
	usleep(300000);
	CHECK(ctl_query(c, "stats", "acc_stream") == a0 + 1, "only the NEW_TCP connection was accepted: %lld",
	      ctl_query(c, "stats", "acc_stream") - a0);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct ntcp_test tests[] = {
		{ "link: the link interface is up with the local link address", t_link_addr, 10 },
		{ "link: this guest's link NIC is driven by e1000", t_link_driver, 10 },
		{ "link: the peer's link NIC is e1000 and its newtcp family matches", t_peer_driver, 15 },
		{ "stream: connect across the link, names are the link addresses, peer lists it", t_stream_names, 20 },
		{ "stream: small echo round trip, RTT measured", t_stream_echo_small, 20 },
		{ "stream: sizes 0..1 MiB+3 (MSS edges) client->peer verified", t_stream_sizes, 60 },
		{ "stream: 16 MiB client->peer verified by the peer", t_stream_out, 120 },
		{ "stream: 16 MiB peer->client verified", t_stream_in, 120 },
		{ "stream: 8 MiB full-duplex echo intact", t_stream_duplex, 120 },
		{ "stream: NEWTCP_INFO byte counts match the bytes moved", t_stream_info, 30 },
		{ "stream: half-close across the link (SHUT_WR, echo, EOF, EPIPE)", t_stream_halfclose, 30 },
		{ "stream: MSG_WAITALL gets 1 MiB from the peer at once", t_stream_waitall, 30 },
		{ "stream: SIOCINQ, MSG_PEEK, MSG_DONTWAIT on data from the peer", t_stream_peek, 20 },
		{ "stream: non-blocking connect across the link (EINPROGRESS, POLLOUT, SO_ERROR 0)", t_nonblock_connect, 20 },
		{ "seqpacket: record boundaries and empty records survive the link", t_seq_boundaries, 20 },
		{ "seqpacket: 16 MiB in 0..64 KiB records client->peer verified", t_seq_out, 120 },
		{ "seqpacket: 16 MiB in records peer->client verified", t_seq_in, 120 },
		{ "seqpacket: 1 MiB records with NEWTCP_MAXMSG raised on both ends", t_seq_big_records, 120 },
		{ "seqpacket: EMSGSIZE above NEWTCP_MAXMSG, nothing of it reaches the peer", t_seq_emsgsize, 20 },
		{ "seqpacket: truncation across the link (MSG_TRUNC, rest discarded)", t_seq_trunc, 20 },
		{ "seqpacket: 8 MiB full-duplex echo in records intact", t_seq_duplex, 120 },
		{ "seqpacket: NEWTCP_INFO record counts match the peer's", t_seq_info, 60 },
		{ "64 stream connections open at once, all listed by the peer", t_many_open, 60 },
		{ "64 concurrent stream connections each echo 256 KiB intact", t_many_stream, 180 },
		{ "64 concurrent seqpacket connections each echo 256 KiB intact", t_many_seq, 180 },
		{ "64 non-blocking seqpacket connects complete", t_many_nonblock, 60 },
		{ "e1000 counters on this guest grew by at least the bytes moved", t_counters_local, 120 },
		{ "e1000 counters on the peer grew by at least the bytes moved", t_counters_peer, 120 },
		{ "NEW_TCP client vs plain TCP server that hangs up: ECONNREFUSED", t_plain_hangup, 20 },
		{ "NEW_TCP client vs plain TCP echo server: ECONNREFUSED, only the hello reached it", t_plain_echo, 20 },
		{ "NEW_TCP client vs plain TCP banner server: ECONNREFUSED", t_plain_banner, 20 },
		{ "NEW_TCP client vs silent plain TCP server: ETIMEDOUT within handshake_ms", t_plain_silent, 20 },
		{ "NEW_TCP client vs a closed port on the peer: ECONNREFUSED", t_closed_port, 20 },
		{ "socket type mismatch across the link: ECONNREFUSED both ways", t_type_mismatch, 20 },
		{ "plain TCP client with garbage at the peer's listener: dropped, never accepted", t_raw_garbage, 20 },
		{ "silent plain TCP client at the peer's listener: dropped within handshake_ms", t_raw_silent, 20 },
		{ "plain TCP client echoing a reply hello: dropped without an answer", t_raw_reply_bit, 20 },
		{ "hand-made hello with version 2: reply status 2, then reset", t_raw_bad_version, 20 },
		{ "hand-made NEW_TCP client: reply hello per PROTOCOL.md, data flows", t_raw_hello_ok, 20 },
		{ "the peer's listener keeps serving NEW_TCP after plain clients", t_listener_serves, 30 },
	};

	ntcp_family = tap_newtcp_family();
	peer_parse(argc, argv, &peer_cfg);
	if (!strcmp(peer_cfg.role, "server"))
		return ntcp_family < 0 ? 1 : peer_server(NULL);
	return peer_client_run(tests, ARRAY_SIZE(tests), NULL, NULL, NULL);
}
