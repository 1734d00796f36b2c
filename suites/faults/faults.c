// SPDX-License-Identifier: GPL-2.0
/*
 * faults: NEW_TCP between two guests on an impaired e1000 link.
 *
 * tc netem (loss, delay with jitter, reordering, duplication,
 * corruption) on the sender's link, or on both; the link taken down
 * and brought back mid-transfer; the peer process dying mid-transfer;
 * the peer's link going away for good (for the test's lifetime).
 * Transfers must complete intact, and a dead peer must surface as an
 * error within a bounded time, never as a hang.
 *
 * While a link is down, its /24 would otherwise fall back to the
 * default route over the management NIC (slirp, which would answer
 * with resets); an "unreachable" route with a high metric on both
 * guests keeps the traffic off it.  Every test leaves both links up
 * and without a qdisc; the runner cleans up after each test anyway.
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
#include <netinet/tcp.h>

#include "ntcp.h"
#include "peer.h"
#include "tap.h"

#define MiB		(1u << 20)

static char subnet[32];

static int ctl_peer(int c, const char *fmt, const char *arg)
{
	char r[512], cmd[400];

	snprintf(cmd, sizeof(cmd), fmt, arg);
	if (ctl_cmd(c, r, sizeof(r), "sh %s", cmd)) {
		printf("# peer: '%s': %s\n", cmd, r);
		return -1;
	}
	return 0;
}

static int netem_local(const char *args)
{
	return peer_sh("$TC qdisc replace dev %s root netem %s", peer_cfg.link,
		       args);
}

static int netem_peer(int c, const char *args)
{
	return ctl_peer(c, "$TC qdisc replace dev $LINK root netem %s", args);
}

static int netem_off(int c)
{
	int rc = 0;

	if (peer_sh("$TC qdisc del dev %s root 2>/dev/null; ! $TC qdisc show dev %s | grep -q netem",
		    peer_cfg.link, peer_cfg.link))
		rc = -1;
	if (c >= 0 && ctl_peer(c, "$TC qdisc del dev $LINK root 2>/dev/null; ! $TC qdisc show dev $LINK | grep -q netem%s", ""))
		rc = -1;
	return rc;
}

/* Wait until a control connection gets an answer again. */
static int peer_back(int wait_ms)
{
	long long end = now_ms() + wait_ms;
	char r[64];
	int c;

	while (now_ms() < end) {
		c = ctl_open(1000);
		if (c >= 0) {
			struct timeval tv = { .tv_sec = 2 };

			setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
			if (!ctl_cmd(c, r, sizeof(r), "ping")) {
				close(c);
				return 0;
			}
			close(c);
		}
		usleep(200000);
	}
	return -1;
}

static int link_set(const char *state)
{
	return peer_sh("ip link set %s %s", peer_cfg.link, state);
}

/* ---- tc ---- */

static int t_tc_local(void)
{
	CHECK(!netem_local("delay 1ms"), "tc qdisc add netem on %s", peer_cfg.link);
	CHECK(!peer_sh("$TC qdisc show dev %s | grep -q netem", peer_cfg.link),
	      "netem listed");
	CHECK(!netem_off(-1), "removed");
	return 0;
}

static int t_tc_peer(void)
{
	int c = ctl_open(5000);

	CHECK(c >= 0, "control");
	CHECK(!netem_peer(c, "delay 1ms"), "netem on the peer");
	CHECK(!ctl_peer(c, "$TC qdisc show dev $LINK | grep -q netem%s", ""),
	      "listed on the peer");
	CHECK(!netem_off(c), "removed on both");
	return 0;
}

/* ---- transfers under netem ---- */

enum dir { OUT, IN, ECHO };

struct impair {
	const char *local, *peer;	/* netem arguments, NULL: none */
	int type;
	enum dir dir;
	uint64_t size;
	uint32_t maxrec;
	int want_retrans;
};

static int impaired(const struct impair *im)
{
	static uint32_t seed = 500;
	long long ms = 0;
	int c = ctl_open(5000), rc;

	CHECK(c >= 0, "control");
	if (im->local)
		CHECK(!netem_local(im->local), "netem %s here", im->local);
	if (im->peer)
		CHECK(!netem_peer(c, im->peer), "netem %s on the peer", im->peer);
	seed++;
	switch (im->dir) {
	case OUT:
		rc = ds_sink(im->type, im->size, seed, im->maxrec, &ms);
		break;
	case IN:
		rc = ds_source(im->type, im->size, seed, im->maxrec, &ms);
		break;
	default:
		rc = ds_duplex(im->type, im->size, seed, im->maxrec, &ms);
		break;
	}
	CHECK(!netem_off(c), "netem removed");
	CHECK(!rc, "the transfer");
	printf("# %s %llu KiB %s in %lld ms, rtt %u us, total_retrans %u\n",
	       im->type == SOCK_STREAM ? "stream" : "seqpacket",
	       (unsigned long long)im->size >> 10,
	       im->dir == OUT ? "out" : im->dir == IN ? "in" : "echoed",
	       ms, ds_last_info.nti_rtt_us, ds_last_info.nti_total_retrans);
	if (im->want_retrans)
		CHECK(ds_last_info.nti_total_retrans > 0,
		      "no retransmission: was the impairment applied?");
	return 0;
}

#define IMPAIR_TEST(fn, ...)						\
	static int fn(void)						\
	{								\
		static const struct impair im = { __VA_ARGS__ };	\
		return impaired(&im);					\
	}

IMPAIR_TEST(t_loss_stream, "loss 5%", NULL, SOCK_STREAM, OUT, 4 * MiB, 0, 1)
IMPAIR_TEST(t_loss_seq, "loss 5%", NULL, SOCK_SEQPACKET, OUT, 4 * MiB, 65536, 1)
IMPAIR_TEST(t_loss_both, "loss 5%", "loss 5%", SOCK_STREAM, ECHO, 2 * MiB, 0, 1)
IMPAIR_TEST(t_delay_stream, "delay 20ms 5ms", "delay 20ms 5ms", SOCK_STREAM, ECHO, 2 * MiB, 0, 0)
IMPAIR_TEST(t_delay_seq, "delay 20ms 5ms", "delay 20ms 5ms", SOCK_SEQPACKET, IN, 4 * MiB, 65536, 0)
IMPAIR_TEST(t_reorder_stream, "delay 10ms reorder 25% 50%", NULL, SOCK_STREAM, OUT, 4 * MiB, 0, 0)
IMPAIR_TEST(t_reorder_seq, NULL, "delay 10ms reorder 25% 50%", SOCK_SEQPACKET, IN, 4 * MiB, 65536, 0)
IMPAIR_TEST(t_dup_stream, "duplicate 10%", NULL, SOCK_STREAM, OUT, 4 * MiB, 0, 0)
IMPAIR_TEST(t_dup_seq, NULL, "duplicate 10%", SOCK_SEQPACKET, IN, 4 * MiB, 65536, 0)
/*
 * netem corrupts one bit within the linear part of an skb, headers only
 * when the payload is paged, and one segment per GSO skb: with e1000's TSO
 * a 4 MiB stream is only a few hundred skbs, and at 2% a run without a
 * single retransmission happened (6 or 7 was typical). At 5% the
 * impairment shows every time.
 */
IMPAIR_TEST(t_corrupt_stream, "corrupt 5%", NULL, SOCK_STREAM, OUT, 4 * MiB, 0, 1)
IMPAIR_TEST(t_corrupt_seq, NULL, "corrupt 2%", SOCK_SEQPACKET, IN, 4 * MiB, 65536, 0)
IMPAIR_TEST(t_all_seq, "loss 2% delay 5ms 2ms duplicate 2% corrupt 1% reorder 10%",
	    "loss 2% delay 5ms 2ms duplicate 2% corrupt 1% reorder 10%",
	    SOCK_SEQPACKET, ECHO, 2 * MiB, 16384, 1)

static int t_delay_rtt(void)
{
	int c = ctl_open(5000), fd, rc;
	struct newtcp_info in;
	socklen_t len = sizeof(in);
	char b[4];

	CHECK(c >= 0, "control");
	CHECK(!netem_local("delay 20ms") && !netem_peer(c, "delay 20ms"), "netem");
	fd = ds_open(SOCK_STREAM, DS_ECHO, 0, 1, 0);
	rc = fd >= 0;
	for (int i = 0; rc && i < 10; i++)
		rc = write(fd, "rtt", 3) == 3 && read_full(fd, b, 3) == 3;
	rc = rc && !getsockopt(fd, SOL_NEWTCP, NEWTCP_INFO, &in, &len);
	CHECK(!netem_off(c), "netem removed");
	CHECK(rc, "echo with 20 ms delay each way");
	printf("# rtt %u us\n", in.nti_rtt_us);
	CHECK(in.nti_rtt_us >= 35000 && in.nti_rtt_us < 1000000,
	      "NEWTCP_INFO RTT %u us reflects 2 x 20 ms", in.nti_rtt_us);
	return 0;
}

#define HS_PARAM "/sys/module/newtcp/parameters/handshake_ms"

/*
 * Both sides' handshake bound, for one test.  After a lost SYN, TCP's
 * first RTO is 3 s (RFC 6298), so a bound of 2 s (the default) fails on
 * one more lost segment; a lossy link wants handshake_ms above TCP's
 * own timers (PROTOCOL.md).
 */
static int handshake_bound(int c, const char *ms)
{
	return peer_sh("echo %s > " HS_PARAM, ms) ||
	       ctl_peer(c, "echo %s > " HS_PARAM, ms);
}

static int t_handshakes_loss(void)
{
	int c = ctl_open(5000), ok = 0, fds[20], i;
	char b[2], was[16] = "2000";
	FILE *f = fopen(HS_PARAM, "r");

	if (f) {
		if (!fgets(was, sizeof(was), f))
			strcpy(was, "2000");
		was[strcspn(was, "\n")] = 0;
		fclose(f);
	}
	CHECK(c >= 0, "control");
	CHECK(!handshake_bound(c, "10000"), "handshake_ms 10000 both sides");
	CHECK(!netem_local("loss 5%") && !netem_peer(c, "loss 5%"), "netem");
	for (i = 0; i < 20; i++) {
		fds[i] = ds_open(i & 1 ? SOCK_SEQPACKET : SOCK_STREAM, DS_ECHO,
				 0, 1, 65536);
		if (fds[i] >= 0 && send(fds[i], "h", 1, 0) == 1 &&
		    recv(fds[i], b, 1, MSG_WAITALL) == 1)
			ok++;
		else
			printf("# connection %d: %s\n", i, ntcp_errname(errno));
	}
	CHECK(!netem_off(c), "netem removed");
	CHECK(!handshake_bound(c, was), "handshake_ms %s again", was);
	CHECK(ok == 20, "%d of 20 handshakes and echoes under 5%% loss", ok);
	return 0;
}

/* ---- link down and up ---- */

struct bg {
	int type, dir;
	uint64_t size;
	uint32_t seed, maxrec;
	int rc;
	long long ms;
};

static void *bg_xfer(void *arg)
{
	struct bg *b = arg;

	b->rc = b->dir == OUT ?
		ds_sink(b->type, b->size, b->seed, b->maxrec, &b->ms) :
		ds_source(b->type, b->size, b->seed, b->maxrec, &b->ms);
	return NULL;
}

/* Wait until @which of the link counted @bytes more than at @base. */
static int wait_bytes(const char *which, long long base, long long bytes,
		      int ms)
{
	long long end = now_ms() + ms;

	while (now_ms() < end) {
		if (peer_link_stat(which) - base >= bytes)
			return 0;
		usleep(20000);
	}
	return -1;
}

static int local_outage(int type)
{
	struct bg b = { type, OUT, 8 * MiB, 600 + type, 65536, -1, 0 };
	long long tx0 = peer_link_stat("tx_bytes"), t0;
	pthread_t th;

	pthread_create(&th, NULL, bg_xfer, &b);
	CHECK(!wait_bytes("tx_bytes", tx0, MiB, 30000), "1 MiB went out");
	t0 = now_ms();
	CHECK(!link_set("down"), "ip link set %s down", peer_cfg.link);
	sleep(3);
	CHECK(!link_set("up"), "ip link set %s up", peer_cfg.link);
	pthread_join(th, NULL);
	printf("# 8 MiB with a 3 s outage: %lld ms, %lld ms after the link went down\n",
	       b.ms, now_ms() - t0);
	CHECK(!b.rc, "the transfer completed intact after the outage");
	return 0;
}

static int t_down_local_stream(void) { return local_outage(SOCK_STREAM); }
static int t_down_local_seq(void) { return local_outage(SOCK_SEQPACKET); }

static int t_down_peer_stream(void)
{
	struct bg b = { SOCK_STREAM, IN, 8 * MiB, 610, 0, -1, 0 };
	long long rx0 = peer_link_stat("rx_bytes");
	char r[128];
	int c = ctl_open(5000);
	pthread_t th;

	CHECK(c >= 0, "control");
	pthread_create(&th, NULL, bg_xfer, &b);
	CHECK(!wait_bytes("rx_bytes", rx0, MiB, 30000), "1 MiB came in");
	CHECK(!ctl_cmd(c, r, sizeof(r), "linkdown 0 3000"), "%s", r);
	pthread_join(th, NULL);
	printf("# 8 MiB with the peer's link down for 3 s: %lld ms\n", b.ms);
	CHECK(!b.rc, "the transfer completed intact after the peer's outage");
	return 0;
}

static int t_connect_down(void)
{
	long long t0;
	int fd;

	CHECK(!link_set("down"), "down");
	t0 = now_ms();
	fd = peer_connect(SOCK_STREAM, PEER_PORT_STREAM);
	CHECK(fd < 0 && (errno == EHOSTUNREACH || errno == ENETUNREACH),
	      "connect with the link down: fd %d", fd);
	printf("# connect failed with %s after %lld ms\n", ntcp_errname(errno),
	       now_ms() - t0);
	CHECK(now_ms() - t0 < 3000, "promptly");
	CHECK(!link_set("up"), "up");
	CHECK(!peer_back(15000), "the peer answers again");
	CHECK(!ds_sink(SOCK_STREAM, 64 << 10, 620, 0, NULL),
	      "a NEW_TCP transfer once the link is back");
	return 0;
}

/* ---- the peer dies ---- */

static int is_dead_err(int e)
{
	return e == ECONNRESET || e == EPIPE || e == ETIMEDOUT ||
	       e == EHOSTUNREACH;
}

static int t_peer_exit_writer(void)
{
	struct ds_req q = { DS_MAGIC, DS_DIE_READ, 64 * MiB, 1, MiB, 0, 0 };
	int fd = peer_connect(SOCK_STREAM, PEER_PORT_STREAM);
	static char buf[65536];
	long long t0 = now_ms(), sent = 0;
	ssize_t r = 0;

	CHECK(fd >= 0 && !ds_send_req(fd, SOCK_STREAM, &q), "request");
	while (sent < 64LL * MiB && now_ms() - t0 < 20000) {
		r = send(fd, buf, sizeof(buf), MSG_NOSIGNAL);
		if (r <= 0)
			break;
		sent += r;
	}
	printf("# sent %lld bytes, then %s after %lld ms\n", sent,
	       r < 0 ? ntcp_errname(errno) : "no error", now_ms() - t0);
	CHECK(r < 0 && is_dead_err(errno), "our writer sees the peer gone");
	CHECK(sent < 64LL * MiB, "not all was accepted");
	return 0;
}

static int peer_killed_reader(int type, int linger0, int want_reset)
{
	struct ds_req q = { DS_MAGIC, DS_DIE_WRITE, 16 * MiB, 630, 300,
			    linger0, 0 };
	uint32_t big = NEWTCP_MAXMSG_MAX;
	int fd = peer_connect(type, type == SOCK_STREAM ? PEER_PORT_STREAM :
						       PEER_PORT_SEQ);
	char *buf = malloc(16 * MiB);
	long long t0 = now_ms(), got = 0;
	int eof = 0, err = 0;
	ssize_t r;

	CHECK(fd >= 0, "connect");
	if (type == SOCK_SEQPACKET)
		CHECK(!setsockopt(fd, SOL_NEWTCP, NEWTCP_MAXMSG, &big, sizeof(big)),
		      "MAXMSG");
	CHECK(!ds_send_req(fd, type, &q), "request");
	/*
	 * Read only after the peer is dead: 16 MiB exceeds what the socket buffers hold, so the
	 * writer is blocked mid-transfer when it is killed, however fast the link is.
	 */
	usleep((q.arg + 700) * 1000);
	while (now_ms() - t0 < 20000) {
		struct iovec iov = { .iov_base = buf, .iov_len = 16 * MiB };
		struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };

		r = recvmsg(fd, &m, 0);
		if (r < 0) {
			err = errno;
			break;
		}
		if (r == 0) {
			eof = 1;
			break;
		}
		/* The one record was cut: no byte of it may come out. */
		if (type == SOCK_SEQPACKET)
			CHECK(0, "recv returned %zd bytes (flags %x) of a record the peer never finished",
			      r, m.msg_flags);
		got += r;
	}
	printf("# got %lld bytes, then %s after %lld ms\n", got,
	       eof ? "EOF" : err ? ntcp_errname(err) : "nothing",
	       now_ms() - t0);
	CHECK(got < 16LL * MiB, "the writer was killed before it finished");
	if (want_reset)
		CHECK(err == ECONNRESET, "ECONNRESET, not %s",
		      eof ? "EOF" : ntcp_errname(err));
	else
		CHECK(eof || is_dead_err(err), "EOF or an error");
	return 0;
}

static int t_peer_kill_stream(void) { return peer_killed_reader(SOCK_STREAM, 0, 0); }
static int t_peer_kill_linger(void) { return peer_killed_reader(SOCK_STREAM, 1, 1); }
static int t_peer_kill_seq(void) { return peer_killed_reader(SOCK_SEQPACKET, 0, 1); }

struct waiter {
	int fd, kind;	/* 0 writer, 1 keepalive reader, 2 SO_RCVTIMEO reader */
	int err;
	long long ms;
};

static void *wait_dead(void *arg)
{
	struct waiter *w = arg;
	static char buf[65536];
	long long t0 = now_ms();
	ssize_t r;

	w->err = 0;
	for (;;) {
		if (w->kind == 0)
			r = send(w->fd, buf, sizeof(buf), MSG_NOSIGNAL);
		else
			r = recv(w->fd, buf, sizeof(buf), 0);
		if (r < 0 && w->kind == 2 && errno == EAGAIN) {
			w->err = EAGAIN;
			break;
		}
		if (r <= 0) {
			w->err = r ? errno : -1;
			break;
		}
		if (now_ms() - t0 > 30000)
			break;
	}
	w->ms = now_ms() - t0;
	return NULL;
}

/*
 * Three idle connections to the peer, then the peer goes silent: its link
 * down (@kill_guest 0) or the whole guest crashed (1).  No RST ever
 * comes; TCP_USER_TIMEOUT and keepalive must end the waits.
 */
static int peer_silenced(int kill_guest)
{
	struct waiter w[3];
	unsigned int uto = 2000;
	int one = 1, idle = 1, cnt = 2, c = ctl_open(5000), i;
	struct timeval tv = { .tv_sec = 1 };
	pthread_t th[3];
	struct pollfd p;
	char r[128];

	CHECK(c >= 0, "control");
	for (i = 0; i < 3; i++) {
		w[i].kind = i;
		w[i].fd = ds_open(SOCK_STREAM, DS_HOLD, 0, 1, 0);
		CHECK(w[i].fd >= 0, "connection %d", i);
	}
	CHECK(!setsockopt(w[0].fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &uto, sizeof(uto)),
	      "TCP_USER_TIMEOUT through the NEW_TCP socket");
	CHECK(!setsockopt(w[1].fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one)) &&
	      !setsockopt(w[1].fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle)) &&
	      !setsockopt(w[1].fd, IPPROTO_TCP, TCP_KEEPINTVL, &idle, sizeof(idle)) &&
	      !setsockopt(w[1].fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt)),
	      "keepalive");
	CHECK(!setsockopt(w[2].fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)),
	      "SO_RCVTIMEO");
	/* Backstops far beyond the expected 2-3 s: a miss shows as EAGAIN. */
	tv.tv_sec = 15;
	CHECK(!setsockopt(w[0].fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) &&
	      !setsockopt(w[1].fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)),
	      "backstop timeouts");
	tv.tv_sec = 1;
	if (kill_guest) {
		close(c);
		CHECK(!peer_kill(300), "the peer guest takes the order to crash");
	} else {
		/* The peer's link goes away 300 ms from now for 9 s. */
		CHECK(!ctl_cmd(c, r, sizeof(r), "linkdown 300 9000"), "%s", r);
		close(c);
	}
	usleep(300000);
	for (i = 0; i < 3; i++)
		pthread_create(&th[i], NULL, wait_dead, &w[i]);
	for (i = 0; i < 3; i++)
		pthread_join(th[i], NULL);
	printf("# writer: %s after %lld ms; keepalive reader: %s after %lld ms; SO_RCVTIMEO reader: %s after %lld ms\n",
	       ntcp_errname(w[0].err), w[0].ms, ntcp_errname(w[1].err), w[1].ms,
	       ntcp_errname(w[2].err), w[2].ms);
	CHECK(w[0].err > 0 && (w[0].err == ETIMEDOUT || w[0].err == EHOSTUNREACH),
	      "writer with TCP_USER_TIMEOUT 2 s: ETIMEDOUT");
	CHECK(w[0].ms < 8000, "writer error within 8 s");
	CHECK(w[1].err > 0 && (w[1].err == ETIMEDOUT || w[1].err == EHOSTUNREACH),
	      "idle reader with keepalive 1 s x 2: ETIMEDOUT");
	CHECK(w[1].ms < 8000, "reader error within 8 s");
	CHECK(w[2].err == EAGAIN && w[2].ms < 3000, "SO_RCVTIMEO reader: EAGAIN");
	p = (struct pollfd){ .fd = w[0].fd, .events = POLLIN | POLLOUT };
	CHECK(poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR)),
	      "the dead connection polls HUP/ERR, revents %x", p.revents);
	CHECK(send(w[0].fd, "x", 1, MSG_NOSIGNAL) < 0 && errno == EPIPE,
	      "later sends: EPIPE");
	return 0;
}

static int t_peer_gone(void)
{
	return peer_silenced(0);
}

static int t_peer_dies(void)
{
	return peer_silenced(1);
}

static int t_peer_back(void)
{
	long long t0 = now_ms();

	CHECK(!peer_back(30000), "the peer answers again");
	printf("# the peer answered again after %lld ms\n", now_ms() - t0);
	CHECK(!ds_sink(SOCK_STREAM, MiB, 640, 0, NULL) &&
	      !ds_source(SOCK_SEQPACKET, MiB, 641, 65536, NULL),
	      "new NEW_TCP transfers both ways");
	return 0;
}

static int t_local_gone(void)
{
	struct waiter w = { .kind = 0 };
	unsigned int uto = 2000;
	long long t0;
	int rc;

	w.fd = ds_open(SOCK_SEQPACKET, DS_HOLD, 0, 1, 65536);
	CHECK(w.fd >= 0, "connect");
	CHECK(!setsockopt(w.fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &uto, sizeof(uto)),
	      "TCP_USER_TIMEOUT");
	CHECK(!link_set("down"), "down");
	t0 = now_ms();
	wait_dead(&w);
	rc = link_set("up");
	printf("# seqpacket writer: %s after %lld ms\n", ntcp_errname(w.err),
	       now_ms() - t0);
	CHECK(!rc, "up again");
	CHECK(w.err == ETIMEDOUT || w.err == EHOSTUNREACH,
	      "ETIMEDOUT while our own link is down");
	CHECK(w.ms < 8000, "within 8 s");
	CHECK(!peer_back(15000), "the peer answers again");
	return 0;
}

static int t_clean(void)
{
	int c = ctl_open(5000);

	CHECK(c >= 0, "control");
	CHECK(!peer_sh("! $TC qdisc show dev %s | grep -q netem", peer_cfg.link),
	      "no netem here");
	CHECK(!ctl_peer(c, "! $TC qdisc show dev $LINK | grep -q netem%s", ""),
	      "no netem on the peer");
	CHECK(!peer_sh("for i in 1 2 3 4 5 6 7 8 9 10; do grep -q up /sys/class/net/%s/operstate && exit 0; sleep 1; done; exit 1",
		       peer_cfg.link), "link up here");
	CHECK(!ctl_peer(c, "grep -q up /sys/class/net/$LINK/operstate%s", ""),
	      "link up on the peer");
	return 0;
}

/* After every test, whatever it did: no qdisc, links up. */
static void cleanup(void)
{
	peer_sh("$TC qdisc del dev %s root 2>/dev/null; ip link set %s up",
		peer_cfg.link, peer_cfg.link);
	if (peer_killed()) {
		printf("# cleanup: the peer guest was crashed on purpose\n");
	} else if (peer_back(20000) == 0) {
		int c = ctl_open(2000);

		if (c >= 0) {
			ctl_peer(c, "$TC qdisc del dev $LINK root 2>/dev/null; true%s", "");
			close(c);
		}
	} else {
		printf("# cleanup: the peer does not answer\n");
	}
}

static void routes(const char *op)
{
	peer_sh("ip route %s unreachable %s metric 1000", op, subnet);
}

static void routes_add(void)
{
	routes("add");
}

static void routes_del(void)
{
	routes("del");
}

static void server_exit(void)
{
	peer_sh("$TC qdisc del dev %s root 2>/dev/null; true", peer_cfg.link);
	routes("del");
}

int main(int argc, char **argv)
{
	static const struct ntcp_test tests[] = {
		{ "tc: netem can be added and removed on this guest's link", t_tc_local, 15 },
		{ "tc: netem can be added and removed on the peer's link", t_tc_peer, 15 },
		{ "loss 5%: 4 MiB stream out intact, retransmissions seen", t_loss_stream, 90 },
		{ "loss 5%: 4 MiB seqpacket records out intact", t_loss_seq, 90 },
		{ "loss 5% both ways: 2 MiB stream echo intact", t_loss_both, 90 },
		{ "delay 20ms: NEWTCP_INFO RTT reflects the delay", t_delay_rtt, 30 },
		{ "delay 20ms jitter 5ms both ways: 2 MiB stream echo intact", t_delay_stream, 90 },
		{ "delay 20ms jitter 5ms both ways: 4 MiB seqpacket records in intact", t_delay_seq, 90 },
		{ "reordering 25%: 4 MiB stream out intact", t_reorder_stream, 90 },
		{ "reordering 25%: 4 MiB seqpacket records in intact", t_reorder_seq, 90 },
		{ "duplication 10%: 4 MiB stream out intact", t_dup_stream, 90 },
		{ "duplication 10%: 4 MiB seqpacket records in intact", t_dup_seq, 90 },
		{ "corruption 5%: 4 MiB stream out intact, retransmissions seen", t_corrupt_stream, 90 },
		{ "corruption 2%: 4 MiB seqpacket records in intact", t_corrupt_seq, 90 },
		{ "all impairments both ways: 2 MiB seqpacket echo intact", t_all_seq, 120 },
		{ "loss 5% both ways: 20 handshakes and echoes all succeed", t_handshakes_loss, 90 },
		{ "our link down 3 s mid-transfer: 8 MiB stream resumes and completes intact", t_down_local_stream, 90 },
		{ "our link down 3 s mid-transfer: 8 MiB seqpacket resumes and completes intact", t_down_local_seq, 90 },
		{ "peer's link down 3 s mid-transfer: 8 MiB stream in resumes and completes intact", t_down_peer_stream, 90 },
		{ "connect with our link down: EHOSTUNREACH at once, works when it is back", t_connect_down, 40 },
		{ "peer process exits mid-transfer with unread data: our writer gets ECONNRESET/EPIPE", t_peer_exit_writer, 40 },
		{ "peer process killed mid-stream: our reader gets EOF or an error, no hang", t_peer_kill_stream, 40 },
		{ "peer process with SO_LINGER 0 killed mid-stream: our reader gets ECONNRESET", t_peer_kill_linger, 40 },
		{ "peer process killed mid-record: our seqpacket reader gets ECONNRESET, no partial record", t_peer_kill_seq, 40 },
		{ "peer's link gone: TCP_USER_TIMEOUT writer and keepalive reader get ETIMEDOUT, SO_RCVTIMEO reader EAGAIN", t_peer_gone, 40 },
		{ "after the peer's link is back: new transfers both ways", t_peer_back, 60 },
		{ "our link gone: seqpacket writer with TCP_USER_TIMEOUT gets ETIMEDOUT", t_local_gone, 40 },
		{ "no netem left and both links up at the end", t_clean, 20 },
		/* Last: the peer guest is gone for good (suite.json "killsPeer"). */
		{ "peer guest crashes: TCP_USER_TIMEOUT writer and keepalive reader get ETIMEDOUT, SO_RCVTIMEO reader EAGAIN", t_peer_dies, 40 },
	};

	ntcp_family = tap_newtcp_family();
	peer_parse(argc, argv, &peer_cfg);
	/*
	 * The harness copies iproute2's tc to /usr/local/bin; busybox's sh
	 * may prefer its own (incomplete) tc applet, so name it in full.
	 */
	setenv("TC", access("/usr/local/bin/tc", X_OK) ? "tc" :
		     "/usr/local/bin/tc", 1);
	{
		struct in_addr net = { peer_cfg.local_ip.s_addr & htonl(0xffffff00) };

		snprintf(subnet, sizeof(subnet), "%s/24", inet_ntoa(net));
	}
	if (!strcmp(peer_cfg.role, "server")) {
		if (ntcp_family < 0)
			return 1;
		routes_add();
		peer_server_atexit = server_exit;
		return peer_server(NULL);
	}
	return peer_client_run(tests, ARRAY_SIZE(tests), routes_add, cleanup,
			       routes_del);
}
