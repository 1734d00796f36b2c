// SPDX-License-Identifier: GPL-2.0
/*
 * Interruption and concurrency engine; see interrupt.h.
 *
 * A scenario runs in one process: the call under test on the main
 * thread, a helper thread that waits until the call sleeps in the kernel
 * (/proc/self/task/TID/stat says S or D), moves the peer to the position,
 * interrupts, watches how the call ends, then completes the unit from the
 * peer's side.  SIGSTOP/SIGCONT come from a small stopper process (a stop
 * stops every thread of ours).  The main thread then checks the
 * invariants.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <linux/sockios.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "interrupt.h"
#include "ntcp.h"

#define UNIT		1000		/* recv, poll, send before */
#define BIG		(1u << 20)	/* send mid and end */
#define BIG_END_LEFT	(512u << 10)	/* send end: this much unsent */
/*
 * Locked buffers (no autotuning moves the positions), not too small: lo's
 * MTU is 64 KiB, and a receive buffer under a segment's truesize drops
 * segments (retransmits, 200 ms stalls).
 */
#define SNDBUF		65536
#define PEER_RCVBUF	131072
#define TIMEO_MS	100
#define SEND_TIMEO_MS	300		/* the peer drains to the position */
#define IO_TIMEO_S	3		/* every other blocking call */
#define SETTLE_MS	30		/* asleep this long: still blocked */
#define SEED_A		0xa1
#define SEED_B		0xb2
#define SEED_C		0xc3
#define SEED_FILL	0xf0

static const char *const call_names[] = {
	"connect", "accept", "send", "recv", "poll", "close-linger"
};
static const char *const kind_names[] = { "signal", "timeout", "stop-cont" };
static const char *const pos_names[] = { "before", "mid", "end" };
static const char *const op_names[] = {
	"FIONREAD", "close", "shutdown", "recv", "send", "setsockopt"
};

/* ---- one run ---------------------------------------------------------- */

struct outcome {
	int blocked;		/* the call slept before the interruption */
	int resumed;		/* ... and slept on after it */
	long ret;
	int err;
	int ok;			/* the invariants held */
	int early;		/* the timeout ran out before the position */
	char why[480];
};

struct buf {
	unsigned char *p;
	size_t len, cap;
};

static struct {
	const struct intr_case *c;
	int ntcp, type;
	int s, p, l;
	uint16_t port;
	pid_t tid;
	pthread_t main;
	volatile int returned;
	volatile int sig_seen;
	struct outcome o;
	size_t pre;		/* wire bytes of A the peer sent first */
	size_t alen;		/* A's payload */
	struct buf exp, got;	/* what the peer must read, what it read */
	int got_err;
	int stop_req, stop_ack;	/* pipes to the stopper */
} R;

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail(const char *fmt, ...)
{
	size_t n = strlen(R.o.why);
	va_list ap;

	if (!R.o.ok || n + 4 >= sizeof(R.o.why))
		return;
	R.o.ok = 0;
	va_start(ap, fmt);
	vsnprintf(R.o.why + n, sizeof(R.o.why) - n, fmt, ap);
	va_end(ap);
}

static void buf_add(struct buf *b, const void *d, size_t n)
{
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2 + 4096;
		b->p = realloc(b->p, b->cap);
		if (!b->p)
			abort();
	}
	memcpy(b->p + b->len, d, n);
	b->len += n;
}

/* The wire bytes of a unit: header and payload, or the payload alone. */
static unsigned char *wire(int type, size_t len, uint64_t seed, size_t *wlen)
{
	size_t h = type == SOCK_SEQPACKET ? 4 : 0;
	unsigned char *w = malloc(len + h + 1);

	if (!w)
		abort();
	if (h) {
		w[0] = len >> 24;
		w[1] = len >> 16;
		w[2] = len >> 8;
		w[3] = len;
	}
	ntcp_pattern(w + h, len, seed, 0);
	*wlen = len + h;
	return w;
}

static void set_timeo(int fd, int opt, int ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = ms % 1000 * 1000 };

	setsockopt(fd, SOL_SOCKET, opt, &tv, sizeof(tv));
}

static void io_timeouts(int fd)
{
	set_timeo(fd, SO_RCVTIMEO, IO_TIMEO_S * 1000);
	set_timeo(fd, SO_SNDTIMEO, IO_TIMEO_S * 1000);
}

/* State letter of a thread of ours, '?' when unreadable. */
static char task_state(pid_t tid)
{
	char path[64], line[512], *p;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)tid);
	f = fopen(path, "r");
	if (!f)
		return '?';
	p = fgets(line, sizeof(line), f);
	fclose(f);
	if (!p || !(p = strrchr(line, ')')) || p[1] != ' ')
		return '?';
	return p[2];
}

static int asleep(char st)
{
	return st == 'S' || st == 'D';
}

/*
 * 1 once the call sleeps in the kernel (twice in a row, 1 ms apart), 0
 * when it returned, -1 after @bound_ms of neither.
 */
static int wait_asleep(int bound_ms)
{
	long long end = now_ms() + bound_ms;
	int seen = 0;

	while (now_ms() < end) {
		if (R.returned)
			return 0;
		if (asleep(task_state(R.tid))) {
			if (++seen >= 2 && !R.returned)
				return 1;
		} else {
			seen = 0;
		}
		usleep(3000);
	}
	return R.returned ? 0 : -1;
}

/*
 * After an interruption: 0 when the call returned, 1 when it sleeps on
 * for SETTLE_MS (it waits past the interruption), -1 after @bound_ms.
 */
static int wait_settled(int bound_ms)
{
	long long end = now_ms() + bound_ms, since = -1;

	while (now_ms() < end) {
		if (R.returned)
			return 0;
		if (asleep(task_state(R.tid))) {
			if (since < 0)
				since = now_ms();
			else if (now_ms() - since >= SETTLE_MS && !R.returned)
				return 1;
		} else {
			since = -1;
		}
		usleep(4000);
	}
	return R.returned ? 0 : -1;
}

static void on_usr1(int sig)
{
	(void)sig;
	R.sig_seen = 1;
}

static void on_usr2(int sig)
{
	(void)sig;
}

static void handlers(void)
{
	struct sigaction sa = { .sa_handler = on_usr1 };

	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0;		/* no SA_RESTART */
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_handler = on_usr2;
	sigaction(SIGUSR2, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/*
 * The stopper: on each request (a tid), SIGSTOP us, wait until that
 * thread is stopped (at most 150 ms: a thread asleep killable does not
 * stop before its call ends), SIGCONT, answer.
 */
static void stopper_start(void)
{
	int req[2], ack[2];
	pid_t target = getpid(), pid;

	if (pipe(req) || pipe(ack))
		abort();
	pid = fork();
	if (pid < 0)
		abort();
	if (!pid) {
		int tid;

		close(req[1]);
		close(ack[0]);
		while (read(req[0], &tid, sizeof(tid)) == sizeof(tid)) {
			char path[64], line[512], *p, st = '?', ok;
			long long end;
			FILE *f;

			kill(target, SIGSTOP);
			snprintf(path, sizeof(path), "/proc/%d/task/%d/stat",
				 (int)target, tid);
			for (end = now_ms() + 150; now_ms() < end; usleep(1000)) {
				f = fopen(path, "r");
				if (!f)
					break;
				p = fgets(line, sizeof(line), f);
				fclose(f);
				if (p && (p = strrchr(line, ')')))
					st = p[2];
				if (st == 'T' || st == 't')
					break;
			}
			kill(target, SIGCONT);
			ok = st;
			if (write(ack[1], &ok, 1) != 1)
				break;
		}
		_exit(0);
	}
	close(req[0]);
	close(ack[1]);
	R.stop_req = req[1];
	R.stop_ack = ack[0];
}

static char stop_cont(void)
{
	int tid = R.tid;
	char st = '?';

	if (write(R.stop_req, &tid, sizeof(tid)) != sizeof(tid) ||
	    read(R.stop_ack, &st, 1) != 1)
		fail("stopper gone; ");
	return st;
}

/* ---- sockets ---------------------------------------------------------- */

static int raw_connect(uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	io_timeouts(fd);
	return fd;
}

static void hello(unsigned char *h, int type, int reply)
{
	memcpy(h, "NTCP", 4);
	h[4] = 1;
	h[5] = type == SOCK_SEQPACKET ? 2 : 1;
	h[6] = reply ? 0x80 : 0;
	h[7] = 0;
}

/* NEW_TCP accepted end @s, raw TCP client @p after a hello by hand. */
int intr_raw_pair(int type, int *s, int *p)
{
	unsigned char h[8], rep[8];
	uint16_t port;
	int l = ntcp_listener(type, &port);

	*s = *p = -1;
	if (l < 0)
		return -1;
	*p = raw_connect(port);
	hello(h, type, 0);
	if (*p < 0 || write(*p, h, 8) != 8 || read_full(*p, rep, 8) != 8 ||
	    rep[7] != 0) {
		close(l);
		return -1;
	}
	io_timeouts(l);
	*s = accept(l, NULL, NULL);
	close(l);
	return *s < 0 ? -1 : 0;
}

static void small_bufs(void)
{
	int v = SNDBUF, r = PEER_RCVBUF, big = 2 * BIG;

	setsockopt(R.s, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v));
	setsockopt(R.p, SOL_SOCKET, SO_RCVBUF, &r, sizeof(r));
	if (R.ntcp && R.type == SOCK_SEQPACKET)
		setsockopt(R.s, SOL_NEWTCP, NEWTCP_MAXMSG, &big, sizeof(big));
}

/*
 * Fill the pipe from the subject without blocking (the peer reads none)
 * until it is stuck: nothing more goes, nothing is in flight (the peer's
 * window is shut), so no ACK can open room later.  Smaller pieces last,
 * so the tail segment is full too.
 */
static void fill(void)
{
	/* STREAM's EAGAIN comes only once the tail segment is full. */
	static const size_t seq_sizes[] = { 512, 64 }, st_sizes[] = { 4096 };
	const size_t *sizes = R.type == SOCK_SEQPACKET ? seq_sizes : st_sizes;
	size_t nsizes = R.type == SOCK_SEQPACKET ? 2 : 1, i;
	int h = R.type == SOCK_SEQPACKET ? 4 : 0;
	long long end = now_ms() + 3000;
	int sent = 0, outq = -1, nsd = -2, last_outq = -3, last_nsd = -4;
	long long stable_since = now_ms();

	while (now_ms() < end) {
		last_outq = outq;
		last_nsd = nsd;
		sent = 0;
		outq = -1;
		nsd = -2;

		for (i = 0; i < nsizes; i++) {
			size_t wl;
			unsigned char *w = wire(R.type, sizes[i], SEED_FILL, &wl);

			for (;;) {
				ssize_t r = send(R.s, w + h, sizes[i],
						 MSG_DONTWAIT);

				if (r < 0) {
					if (errno != EAGAIN)
						fail("fill: %s; ",
						     ntcp_errname(errno));
					break;
				}
				if (h)
					buf_add(&R.exp, w, h);
				buf_add(&R.exp, w + h, r);
				sent = 1;
			}
			free(w);
		}
		/*
		 * Nothing in flight; or (7.2 probes a shut window with data)
		 * what is in flight stayed put for 300 ms: no ACK comes.
		 */
		if (sent || ioctl(R.s, SIOCOUTQ, &outq) ||
		    ioctl(R.s, SIOCOUTQNSD, &nsd) || outq != last_outq ||
		    nsd != last_nsd)
			stable_since = now_ms();
		if (!sent && outq >= 0 && nsd >= 0 &&
		    (outq == nsd || now_ms() - stable_since >= 300))
			return;
		usleep(5000);
	}
	fail("fill: the pipe never got stuck (last pass: sent %d, SIOCOUTQ %d, SIOCOUTQNSD %d); ",
	     sent, outq, nsd);
}

/* Everything the peer gets until EOF (or an error: got_err). */
static void drain_peer(void)
{
	static unsigned char tmp[65536];

	for (;;) {
		ssize_t r = read(R.p, tmp, sizeof(tmp));

		if (r > 0) {
			buf_add(&R.got, tmp, r);
			continue;
		}
		R.got_err = r < 0 ? errno : 0;
		return;
	}
}

static void peer_read(size_t n)
{
	unsigned char *t = malloc(n + 1);
	ssize_t r = read_full(R.p, t, n);

	if (r > 0)
		buf_add(&R.got, t, r);
	if ((size_t)r != n)
		fail("peer read %zd of %zu (%s); ", r, n, ntcp_errname(errno));
	free(t);
}

/* One unit read by the subject: whole, in order, marked as a record end. */
static int read_unit(int fd, int type, size_t len, uint64_t seed,
		     const char *what)
{
	unsigned char *b = malloc(len + 64);
	size_t bad;
	ssize_t r;

	if (type == SOCK_SEQPACKET) {
		struct iovec iov = { b, len + 64 };
		struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };

		r = recvmsg(fd, &m, 0);
		if (r >= 0 && (size_t)r == len &&
		    (m.msg_flags & (MSG_EOR | MSG_TRUNC)) != MSG_EOR) {
			fail("%s: flags %#x, not MSG_EOR alone; ", what,
			     m.msg_flags);
			free(b);
			return -1;
		}
	} else {
		r = read_full(fd, b, len);
	}
	if (r < 0 || (size_t)r != len) {
		fail("%s: got %zd (%s), a %zu-byte unit expected; ", what, r,
		     r < 0 ? ntcp_errname(errno) : "bytes", len);
		free(b);
		return -1;
	}
	bad = ntcp_pattern_check(b, len, seed, 0);
	free(b);
	if (bad != len) {
		fail("%s: wrong byte at %zu (another unit's data?); ", what,
		     bad);
		return -1;
	}
	return 0;
}

static int peer_write(const void *w, size_t n)
{
	if (write_full(R.p, w, n) != (ssize_t)n) {
		fail("peer write: %s; ", ntcp_errname(errno));
		return -1;
	}
	return 0;
}

/*
 * The connection still works: a unit each way, then the peer's EOF is a
 * clean end after them.  @s_shut: the subject already shut its side.
 */
static void still_works(int s_shut)
{
	unsigned char *w, x;
	size_t wl;

	if (!s_shut) {
		w = wire(R.type, 800, SEED_C, &wl);
		if (send(R.s, w + (wl - 800), 800, 0) != 800)
			fail("send after: %s; ", ntcp_errname(errno));
		R.got.len = 0;
		peer_read(wl);
		if (R.got.len == wl && memcmp(R.got.p, w, wl))
			fail("the peer got a broken unit after; ");
		free(w);
	}
	w = wire(R.type, 900, SEED_C + 1, &wl);
	if (!peer_write(w, wl))
		read_unit(R.s, R.type, 900, SEED_C + 1, "unit after");
	free(w);
	shutdown(R.p, SHUT_WR);
	if (recv(R.s, &x, 1, 0) != 0)
		fail("no clean EOF after the last unit (%s); ",
		     ntcp_errname(errno));
}

/* ---- the call under test ------------------------------------------------ */

static struct sockaddr_newtcp conn_addr;
static struct sockaddr_in conn_sin;

static long do_call(void)
{
	const struct intr_case *c = R.c;
	struct pollfd pfd = { .fd = R.s, .events = POLLIN };
	unsigned char *a;
	long r = -1;

	switch (c->call) {
	case INTR_CONNECT:
		if (R.ntcp)
			r = connect(R.s, (struct sockaddr *)&conn_addr,
				    sizeof(conn_addr));
		else
			r = connect(R.s, (struct sockaddr *)&conn_sin,
				    sizeof(conn_sin));
		break;
	case INTR_ACCEPT:
		r = accept(R.l, NULL, NULL);
		break;
	case INTR_SEND:
		a = malloc(R.alen);
		ntcp_pattern(a, R.alen, SEED_A, 0);
		r = send(R.s, a, R.alen, 0);
		free(a);
		break;
	case INTR_RECV:
		a = malloc(R.alen + 64);
		r = recv(R.s, a, R.type == SOCK_SEQPACKET ? R.alen + 64 :
			 R.alen, R.type == SOCK_STREAM ? MSG_WAITALL : 0);
		if (r > 0 && ntcp_pattern_check(a, r, SEED_A, 0) != (size_t)r)
			fail("recv: the bytes are not the unit's; ");
		free(a);
		break;
	case INTR_POLL:
		r = poll(&pfd, 1, c->kind == INTR_TIMEOUT ? TIMEO_MS : -1);
		break;
	case INTR_CLOSE:
		r = close(R.s);
		break;
	}
	return r;
}

/* ---- helper thread ------------------------------------------------------ */

static void interrupt(void)
{
	const struct intr_case *c = R.c;
	int bound = 2000, w;

	switch (c->kind) {
	case INTR_SIGNAL:
		pthread_kill(R.main, SIGUSR1);
		break;
	case INTR_TIMEOUT:
		/* The time was set before the call; wait past it. */
		bound = (c->call == INTR_CLOSE ? 1000 :
			 c->call == INTR_SEND && c->pos != INTR_BEFORE ?
			 SEND_TIMEO_MS : TIMEO_MS) + 300;
		break;
	case INTR_STOPCONT:
		stop_cont();
		break;
	}
	if (c->kind == INTR_TIMEOUT) {
		long long end = now_ms() + bound;

		while (!R.returned && now_ms() < end)
			usleep(5000);
		w = R.returned ? 0 : asleep(task_state(R.tid)) ? 1 : -1;
	} else {
		w = wait_settled(bound);
	}
	if (w < 0)
		fail("after the interruption the call neither returned nor slept (state %c); ",
		     task_state(R.tid));
	R.o.resumed = w > 0;
}

/* The connect scenario's server: the raw TCP end of a NEW_TCP connect. */
static unsigned char conn_reply[8];

static void *helper(void *arg)
{
	const struct intr_case *c = R.c;
	size_t wl, wa = 0;
	unsigned char *w = NULL, h[8];
	int b;

	(void)arg;
	if (c->call == INTR_CONNECT && R.ntcp) {
		struct pollfd pfd = { .fd = R.l, .events = POLLIN };

		if (poll(&pfd, 1, IO_TIMEO_S * 1000) != 1 ||
		    (R.p = accept(R.l, NULL, NULL)) < 0) {
			fail("raw server: no connection; ");
			return NULL;
		}
		io_timeouts(R.p);
		if (read_full(R.p, h, 8) != 8) {
			fail("raw server: no hello; ");
			return NULL;
		}
		hello(conn_reply, R.type, 1);
		if (R.pre)
			peer_write(conn_reply, R.pre);
	}
	b = wait_asleep(IO_TIMEO_S * 1000);
	if (b < 0)
		fail("the call neither blocked nor returned (state %c); ",
		     task_state(R.tid));
	R.o.blocked = b > 0;

	if (b > 0 && c->call == INTR_SEND && c->pos == INTR_END) {
		w = wire(R.type, R.alen, SEED_A, &wa);
		peer_read(wa - BIG_END_LEFT);
		if (wait_asleep(IO_TIMEO_S * 1000) > 0)
			;
		else if (c->kind == INTR_TIMEOUT && R.returned)
			/* SO_SNDTIMEO spans the whole send: a slow drain used it up */
			R.o.early = 1;
		else
			fail("send did not block again at its position; ");
		free(w);
	}
	if (b > 0)
		interrupt();

	/* Complete the unit from the peer's side. */
	switch (c->call) {
	case INTR_CONNECT:
		if (!R.ntcp) {
			if (!R.returned)
				pthread_kill(R.main, SIGUSR2);
			break;
		}
		peer_write(conn_reply + R.pre, 8 - R.pre);
		break;
	case INTR_ACCEPT:
		if (R.ntcp) {
			hello(h, R.type, 0);
			if (R.p < 0)
				R.p = raw_connect(R.port);
			if (R.p < 0 || peer_write(h + R.pre, 8 - R.pre) ||
			    read_full(R.p, conn_reply, 8) != 8 || conn_reply[7])
				fail("raw client: no accepting reply; ");
		} else {
			R.p = raw_connect(R.port);
		}
		break;
	case INTR_RECV:
	case INTR_POLL:
		w = wire(R.type, R.alen, SEED_A, &wl);
		peer_write(w + R.pre, wl - R.pre);
		free(w);
		w = wire(R.type, 700, SEED_B, &wl);
		peer_write(w, wl);
		free(w);
		break;
	case INTR_SEND:
	case INTR_CLOSE:
		drain_peer();
		break;
	}
	return NULL;
}

/* ---- setup and checks --------------------------------------------------- */

static int setup(void)
{
	const struct intr_case *c = R.c;
	unsigned char *w, h[8];
	size_t wl;

	R.s = R.p = R.l = -1;
	R.alen = UNIT;
	switch (c->call) {
	case INTR_CONNECT:
		if (R.ntcp) {
			R.l = tcp_listener(&R.port);
			R.s = socket(ntcp_family, R.type, 0);
			conn_addr = ntcp_addr(R.port);
			R.pre = c->pos == INTR_BEFORE ? 0 :
				c->pos == INTR_MID ? 4 : 7;
		} else {
			/* A full backlog drops our SYN: connect waits. */
			struct pollfd lp = { .events = POLLIN };
			int f;

			R.l = tcp_listener(&R.port);
			listen(R.l, 0);
			f = raw_connect(R.port);
			if (f < 0)
				return -1;
			/*
			 * Full once the listener has queued it, which may come
			 * after our side saw the SYN-ACK (a busy guest).
			 */
			lp.fd = R.l;
			if (poll(&lp, 1, IO_TIMEO_S * 1000) != 1) {
				close(f);
				return -1;
			}
			R.p = f;
			R.s = socket(AF_INET, SOCK_STREAM, 0);
			conn_sin.sin_family = AF_INET;
			conn_sin.sin_port = htons(R.port);
			conn_sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		}
		if (R.l < 0 || R.s < 0)
			return -1;
		if (c->kind == INTR_TIMEOUT)
			set_timeo(R.s, SO_SNDTIMEO, TIMEO_MS);
		return 0;
	case INTR_ACCEPT:
		R.l = R.ntcp ? ntcp_listener(R.type, &R.port) :
			       tcp_listener(&R.port);
		if (R.l < 0)
			return -1;
		if (R.ntcp && c->pos != INTR_BEFORE) {
			R.pre = c->pos == INTR_MID ? 4 : 7;
			R.p = raw_connect(R.port);
			hello(h, R.type, 0);
			if (R.p < 0 || peer_write(h, R.pre))
				return -1;
		}
		if (c->kind == INTR_TIMEOUT)
			set_timeo(R.l, SO_RCVTIMEO, TIMEO_MS);
		return 0;
	default:
		break;
	}

	if (R.ntcp ? intr_raw_pair(R.type, &R.s, &R.p) : tcp_pair(&R.s, &R.p, 0))
		return -1;
	io_timeouts(R.s);
	switch (c->call) {
	case INTR_RECV:
	case INTR_POLL:
		w = wire(R.type, R.alen, SEED_A, &wl);
		R.pre = c->pos == INTR_BEFORE ? 0 :
			c->pos == INTR_MID ? wl - R.alen / 2 : wl - 1;
		if (R.pre && peer_write(w, R.pre))
			return -1;
		free(w);
		if (c->kind == INTR_TIMEOUT)
			set_timeo(R.s, SO_RCVTIMEO, TIMEO_MS);
		else
			set_timeo(R.s, SO_RCVTIMEO, 0);
		break;
	case INTR_SEND:
		small_bufs();
		if (c->pos == INTR_BEFORE)
			fill();
		else
			R.alen = BIG;
		set_timeo(R.s, SO_SNDTIMEO, c->kind != INTR_TIMEOUT ? 0 :
			  c->pos == INTR_BEFORE ? TIMEO_MS : SEND_TIMEO_MS);
		break;
	case INTR_CLOSE: {
		struct linger lg = { 1, c->kind == INTR_TIMEOUT ? 1 : 30 };

		small_bufs();
		fill();
		setsockopt(R.s, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		break;
	}
	}
	return 0;
}

static void check_after(void)
{
	const struct intr_case *c = R.c;
	long done;
	int fd;

	switch (c->call) {
	case INTR_CONNECT:
		if (!R.ntcp)
			return;
		if (R.o.ret < 0) {
			struct pollfd pfd = { .fd = R.s, .events = POLLOUT };
			int e = -1;
			socklen_t el = sizeof(e);

			if (poll(&pfd, 1, IO_TIMEO_S * 1000) != 1 ||
			    getsockopt(R.s, SOL_SOCKET, SO_ERROR, &e, &el) || e) {
				fail("the interrupted connect did not complete (%s); ",
				     ntcp_errname(e));
				return;
			}
		}
		io_timeouts(R.s);
		still_works(0);
		return;
	case INTR_ACCEPT:
		fd = R.o.ret;
		if (fd < 0) {
			set_timeo(R.l, SO_RCVTIMEO, IO_TIMEO_S * 1000);
			fd = accept(R.l, NULL, NULL);
		}
		if (fd < 0) {
			fail("no connection to accept after (%s); ",
			     ntcp_errname(errno));
			return;
		}
		R.s = fd;
		io_timeouts(R.s);
		still_works(0);
		return;
	case INTR_RECV:
		io_timeouts(R.s);	/* the call may have run without */
		done = R.o.ret;
		if (R.type == SOCK_SEQPACKET) {
			if (done >= 0 && (size_t)done != R.alen)
				fail("recv gave %ld bytes of a %zu-byte record; ",
				     done, R.alen);
			else if (done < 0)
				read_unit(R.s, R.type, R.alen, SEED_A,
					  "the interrupted record");
		} else if (done < (long)R.alen) {
			/* TCP's partial count: the rest comes next. */
			unsigned char *b = malloc(R.alen);
			long have = done > 0 ? done : 0;

			if (read_full(R.s, b, R.alen - have) !=
			    (ssize_t)(R.alen - have) ||
			    ntcp_pattern_check(b, R.alen - have, SEED_A, have) !=
			    R.alen - have)
				fail("the rest of the interrupted buffer is wrong; ");
			free(b);
		}
		read_unit(R.s, R.type, 700, SEED_B, "the unit after");
		still_works(0);
		return;
	case INTR_POLL:
		io_timeouts(R.s);
		read_unit(R.s, R.type, R.alen, SEED_A, "the polled unit");
		read_unit(R.s, R.type, 700, SEED_B, "the unit after");
		still_works(0);
		return;
	case INTR_SEND:
	case INTR_CLOSE:
		break;
	}
}

/*
 * Run the scenario on NEW_TCP (@ntcp) or plain TCP in this process.
 */
static void run_one(const struct intr_case *c, int ntcp, struct outcome *o)
{
	unsigned char *w;
	pthread_t th;
	size_t wl;
	long long t0, t1;
	long r;

	memset(&R, 0, sizeof(R));
	R.c = c;
	R.ntcp = ntcp;
	R.type = ntcp ? c->type : SOCK_STREAM;
	R.o.ok = 1;
	R.tid = syscall(SYS_gettid);
	R.main = pthread_self();
	handlers();
	if (c->kind == INTR_STOPCONT)
		stopper_start();
	if (setup()) {
		fail("setup: %s; ", ntcp_errname(errno));
		*o = R.o;
		return;
	}
	if (pthread_create(&th, NULL, helper, NULL))
		abort();
	t0 = now_ms();
	r = do_call();
	t1 = now_ms();
	R.o.err = r < 0 ? errno : 0;
	R.o.ret = r;
	R.returned = 1;
	if (c->call == INTR_SEND) {
		/* After the interrupted unit, one more; then our EOF. */
		w = wire(R.type, 700, SEED_B, &wl);
		set_timeo(R.s, SO_SNDTIMEO, IO_TIMEO_S * 1000);
		if (send(R.s, w + (wl - 700), 700, 0) != 700)
			fail("send after: %s; ", ntcp_errname(errno));
		free(w);
		shutdown(R.s, SHUT_WR);
		pthread_join(th, NULL);
		/* Expected: the fill, what the call said went, the next. */
		if (r > 0) {
			unsigned char *a = wire(R.type, R.alen, SEED_A, &wl);
			size_t h = R.type == SOCK_SEQPACKET ? 4 : 0;

			if (R.type == SOCK_SEQPACKET && (size_t)r != R.alen)
				fail("SEQPACKET send returned %ld of %zu; ", r,
				     R.alen);
			buf_add(&R.exp, a, h + r);
			free(a);
		}
		w = wire(R.type, 700, SEED_B, &wl);
		buf_add(&R.exp, w, wl);
		free(w);
		if (R.got_err)
			fail("the peer's read ended in %s, not EOF; ",
			     ntcp_errname(R.got_err));
		if (R.got.len != R.exp.len ||
		    memcmp(R.got.p, R.exp.p, R.exp.len)) {
			size_t i = 0;

			while (i < R.got.len && i < R.exp.len &&
			       R.got.p[i] == R.exp.p[i])
				i++;
			fail("the peer got %zu bytes, %zu expected, first difference at %zu (a unit lost, cut or repeated); ",
			     R.got.len, R.exp.len, i);
		} else {
			R.got.len = 0;
			still_works(1);
		}
	} else if (c->call == INTR_CLOSE) {
		pthread_join(th, NULL);
		if (R.got_err)
			fail("the peer's read ended in %s, not EOF; ",
			     ntcp_errname(R.got_err));
		if (R.got.len != R.exp.len ||
		    memcmp(R.got.p, R.exp.p, R.exp.len))
			fail("the peer got %zu bytes, %zu were queued before close; ",
			     R.got.len, R.exp.len);
	} else {
		pthread_join(th, NULL);
		if (R.o.ok)
			check_after();
	}
	if (R.o.resumed && !(c->call == INTR_CONNECT && !ntcp)) {
		long full = c->call == INTR_SEND || c->call == INTR_RECV ?
			    (long)R.alen : 0;

		if ((c->call == INTR_SEND || c->call == INTR_RECV) && r != full)
			fail("waited past the interruption, then gave %ld (%s), not the whole unit; ",
			     r, r < 0 ? ntcp_errname(R.o.err) : "bytes");
		else if (c->call != INTR_SEND && c->call != INTR_RECV && r < 0)
			fail("waited past the interruption, then failed: %s; ",
			     ntcp_errname(R.o.err));
	}
	/*
	 * A short timeout may run out before the helper saw the call
	 * asleep (a busy guest): it blocked if it took the time.  TCP, the
	 * oracle, said EINPROGRESS in under 80 ms of the guest's clock
	 * once: its blocking connect says that only when its timeout ran
	 * out.
	 */
	if (!R.o.blocked && c->kind == INTR_TIMEOUT && c->call != INTR_CLOSE &&
	    (t1 - t0 >= TIMEO_MS * 8 / 10 ||
	     (!ntcp && r < 0 && R.o.err == EINPROGRESS)))
		R.o.blocked = 1;
	*o = R.o;
}

/* ---- classes and expectations ------------------------------------------- */

static const char *cls(const struct intr_case *c, const struct outcome *o,
		       size_t full, char *b, size_t n)
{
	if (!o->blocked)
		snprintf(b, n, "noblock");
	else if (o->resumed)
		snprintf(b, n, "resumed");
	else if (o->ret < 0)
		snprintf(b, n, "%s", ntcp_errname(o->err));
	else if (c->call == INTR_POLL)
		snprintf(b, n, o->ret ? "ready" : "timeout");
	else if (c->call == INTR_SEND || c->call == INTR_RECV)
		snprintf(b, n, (size_t)o->ret == full ? "done" :
			 o->ret ? "partial" : "eof");
	else
		snprintf(b, n, "done");
	return b;
}

/* Send's "interrupted": TCP's partial count or EINTR/EAGAIN when none. */
static const char *send_cls(const char *k)
{
	if (!strcmp(k, "partial") || !strcmp(k, "EINTR") ||
	    !strcmp(k, "EAGAIN"))
		return "interrupted";
	return k;
}

static int one_of(const char *k, const char *const *set)
{
	for (; *set; set++)
		if (!strcmp(k, *set))
			return 1;
	return 0;
}

/* What SEQPACKET may do, NULL where TCP's answer holds. */

/* The call went through without waiting. */
static int went(const char *cls)
{
	return !strcmp(cls, "noblock") || !strcmp(cls, "done");
}
static const char *const *seq_expect(const struct intr_case *c)
{
	static const char *const eintr[] = { "EINTR", NULL };
	static const char *const eagain[] = { "EAGAIN", NULL };
	static const char *const resumed[] = { "resumed", NULL };
	static const char *const s_before_sig[] = { "EINTR", "resumed", NULL };
	static const char *const s_before_to[] = { "EAGAIN", "resumed", NULL };
	static const char *const p_sig[] = { "EINTR", "noblock", NULL };
	static const char *const p_to[] = { "timeout", "noblock", NULL };
	static const char *const p_stop[] = { "resumed", "noblock", NULL };
	static const char *const p_sig0[] = { "EINTR", NULL };
	static const char *const p_to0[] = { "timeout", NULL };

	switch (c->call) {
	case INTR_RECV:
		return c->kind == INTR_SIGNAL ? eintr :
		       c->kind == INTR_TIMEOUT ? eagain : resumed;
	case INTR_SEND:
		if (c->pos != INTR_BEFORE)
			return resumed;
		return c->kind == INTR_SIGNAL ? s_before_sig :
		       c->kind == INTR_TIMEOUT ? s_before_to : resumed;
	case INTR_POLL:
		/* A partial record may poll readable, as on TCP. */
		if (c->pos == INTR_BEFORE)
			return c->kind == INTR_SIGNAL ? p_sig0 :
			       c->kind == INTR_TIMEOUT ? p_to0 : resumed;
		return c->kind == INTR_SIGNAL ? p_sig :
		       c->kind == INTR_TIMEOUT ? p_to : p_stop;
	default:
		return NULL;
	}
}

const char *intr_excluded(const struct intr_case *c)
{
	if (c->call == INTR_CLOSE && c->pos != INTR_BEFORE)
		return "close lingers on data queued before it; once the peer reads any of it the rest fits, so the wait cannot be held mid-way";
	return NULL;
}

size_t intr_matrix(struct intr_case *out, size_t max)
{
	static const int types[] = { SOCK_STREAM, SOCK_SEQPACKET };
	size_t n = 0;
	int call, kind, pos, t;

	for (call = 0; call < INTR_NCALLS; call++)
		for (kind = 0; kind < INTR_NKINDS; kind++)
			for (pos = 0; pos < INTR_NPOS; pos++)
				for (t = 0; t < 2; t++) {
					struct intr_case c = { call, kind, pos,
							       types[t] };

					if (intr_excluded(&c))
						continue;
					if (n < max)
						out[n] = c;
					n++;
				}
	return n;
}

void intr_case_name(const struct intr_case *c, char *buf, size_t n)
{
	snprintf(buf, n, "%s x %s x %s [%s]", call_names[c->call],
		 kind_names[c->kind], pos_names[c->pos],
		 c->type == SOCK_STREAM ? "stream" : "seqpacket");
}

/*
 * Run a case on plain TCP (the oracle, in a child) and on NEW_TCP (here,
 * so a NEW_TCP call stuck in D state is this test child's); the oracle's
 * outcome comes back through a pipe.
 */
static int side_by_side(void (*run)(const void *c, int ntcp, void *out),
			const void *c, void *sub, void *ora, size_t size)
{
	int pfd[2], st;
	pid_t pid;
	ssize_t r;

	if (pipe(pfd))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		close(pfd[0]);
		run(c, 0, ora);
		_exit(write(pfd[1], ora, size) != (ssize_t)size);
	}
	close(pfd[1]);
	run(c, 1, sub);
	r = read_full(pfd[0], ora, size);
	close(pfd[0]);
	waitpid(pid, &st, 0);
	if (r != (ssize_t)size) {
		printf("# the TCP oracle died (status %#x)\n", st);
		return -1;
	}
	return 0;
}

static void run_intr(const void *c, int ntcp, void *out)
{
	run_one(c, ntcp, out);
}

int intr_case_run(const struct intr_case *c)
{
	struct outcome sub, ora;
	char ks[32], ko[32];
	const char *const *want;
	int ok = 1, attempt;

	/*
	 * A send or lingering close placed after the fill blocks only if no
	 * ACK frees room later; on a loaded host one may come after the fill
	 * judged the pipe stuck.  And a send interrupted by its timeout at
	 * the end needs the peer's drain to beat SO_SNDTIMEO.  Such a run
	 * never reached its position, so it is run again; a side that never
	 * blocks still ends "noblock" and is judged.
	 */
	for (attempt = 1;; attempt++) {
		int filled = c->pos == INTR_BEFORE &&
			     (c->call == INTR_SEND || c->call == INTR_CLOSE);

		if (side_by_side(run_intr, c, &sub, &ora, sizeof(ora)))
			return 1;
		cls(c, &sub, R.alen, ks, sizeof(ks));
		cls(c, &ora, c->call == INTR_SEND && c->pos != INTR_BEFORE ?
			     BIG : UNIT, ko, sizeof(ko));
		if (attempt < 3 && filled &&
		    (!strcmp(ks, "noblock") || !strcmp(ko, "noblock")))
			printf("# attempt %d: NEW_TCP %s, TCP %s: the fill left room; again\n",
			       attempt, ks, ko);
		else if (attempt < 3 && (sub.early || ora.early))
			printf("# attempt %d: the timeout ran out before the peer drained to the position; again\n",
			       attempt);
		else
			break;
	}
	printf("# NEW_TCP: %s (returned %ld%s%s); TCP: %s (returned %ld%s%s)\n",
	       ks, sub.ret, sub.ret < 0 ? " " : "",
	       sub.ret < 0 ? ntcp_errname(sub.err) : "", ko, ora.ret,
	       ora.ret < 0 ? " " : "", ora.ret < 0 ? ntcp_errname(ora.err) : "");
	if (!ora.ok)
		printf("# TCP oracle's own checks: %s\n", ora.why);
	if (!sub.ok) {
		printf("# invariants: %s\n", sub.why);
		ok = 0;
	}
	want = c->type == SOCK_SEQPACKET ? seq_expect(c) : NULL;
	if (want) {
		if (!one_of(ks, want) && c->call == INTR_SEND &&
		    c->pos == INTR_BEFORE && went(ks) && went(ko)) {
			/*
			 * The kernel found room after the fill stopped (7.2's
			 * window probe carries data, and its ACK frees some):
			 * TCP did not block either, so neither need we.
			 */
			printf("# the kernel had room: TCP did not block either\n");
		} else if (!one_of(ks, want)) {
			printf("# SEQPACKET must end %s", want[0]);
			for (int i = 1; want[i]; i++)
				printf(" or %s", want[i]);
			printf(" here, not %s\n", ks);
			ok = 0;
		}
	} else if (c->call == INTR_SEND && c->pos == INTR_BEFORE &&
		   (!strcmp(ks, "noblock") || !strcmp(ko, "noblock"))) {
		/*
		 * TCP may append a small send to an unsent segment with
		 * room (one split off when the window shut) even on a full
		 * socket: either side may not block; the bytes still count.
		 */
		printf("# one side found room in an unsent segment\n");
	} else if (c->call == INTR_SEND ? strcmp(send_cls(ks), send_cls(ko)) :
		   strcmp(ks, ko)) {
		printf("# ends %s where TCP ends %s\n", ks, ko);
		ok = 0;
	}
	return !ok;
}

/* ---- concurrency -------------------------------------------------------- */

#define OP_BOUND_MS	250

struct conc_out {
	int a_blocked;		/* the first call slept before the op */
	int op_blocked;		/* the op did not return within the bound */
	int a_ended;		/* the first call ended right after the op */
	long op_ret;
	int op_err;
	int ok;
	char why[480];
};

static struct {
	const struct conc_case *c;
	int ntcp, type, fd;	/* fd: the socket both threads use */
	volatile int op_done;
	long a_ret, op_ret;
	int a_err, op_err;
	unsigned char *a_buf, *op_buf;
} C;

static void cfail(struct conc_out *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void cfail(struct conc_out *o, const char *fmt, ...)
{
	size_t n = strlen(o->why);
	va_list ap;

	if (n + 4 >= sizeof(o->why))
		return;
	o->ok = 0;
	va_start(ap, fmt);
	vsnprintf(o->why + n, sizeof(o->why) - n, fmt, ap);
	va_end(ap);
}

static void *conc_first(void *arg)
{
	struct pollfd pfd = { .fd = C.fd, .events = POLLIN };
	long r = -1;

	(void)arg;
	R.tid = syscall(SYS_gettid);
	switch (C.c->call) {
	case INTR_RECV:
		r = recv(C.fd, C.a_buf, C.type == SOCK_STREAM ? UNIT : UNIT + 64,
			 C.type == SOCK_STREAM ? MSG_WAITALL : 0);
		break;
	case INTR_SEND:
		r = send(C.fd, C.a_buf, BIG, 0);
		break;
	case INTR_POLL:
		r = poll(&pfd, 1, 10000);
		break;
	case INTR_ACCEPT:
		r = accept(C.fd, NULL, NULL);
		break;
	}
	C.a_err = r < 0 ? errno : 0;
	C.a_ret = r;
	R.returned = 1;
	return NULL;
}

static void *conc_op(void *arg)
{
	int v = 1, n = 0;
	long r = -1;

	(void)arg;
	switch (C.c->op) {
	case CONC_FIONREAD:
		r = ioctl(C.fd, FIONREAD, &n);
		break;
	case CONC_CLOSE:
		r = close(C.fd);
		break;
	case CONC_SHUTDOWN:
		r = shutdown(C.fd, SHUT_RDWR);
		break;
	case CONC_RECV:
		r = recv(C.fd, C.op_buf, UNIT + 64, 0);
		break;
	case CONC_SEND:
		ntcp_pattern(C.op_buf, 700, SEED_B, 0);
		r = send(C.fd, C.op_buf, 700, 0);
		break;
	case CONC_SETSOCKOPT:
		r = setsockopt(C.fd, SOL_SOCKET, SO_KEEPALIVE, &v, sizeof(v));
		if (!r && C.c->call != INTR_ACCEPT)
			r = setsockopt(C.fd, IPPROTO_TCP, 1 /* TCP_NODELAY */,
				       &v, sizeof(v));
		break;
	}
	C.op_err = r < 0 ? errno : 0;
	C.op_ret = r;
	C.op_done = 1;
	return NULL;
}

static int wait_flag(volatile int *f, int ms)
{
	long long end = now_ms() + ms;

	while (!*f && now_ms() < end)
		usleep(3000);
	return *f;
}

static void conc_one(const struct conc_case *c, int ntcp, struct conc_out *o)
{
	pthread_t ta, tb;
	unsigned char *w;
	size_t wl;
	int s = -1, p = -1, l = -1, big = 2 * BIG;
	uint16_t port;

	memset(&R, 0, sizeof(R));
	memset(&C, 0, sizeof(C));
	memset(o, 0, sizeof(*o));
	o->ok = 1;
	C.c = c;
	C.ntcp = ntcp;
	C.type = ntcp ? c->type : SOCK_STREAM;
	C.a_buf = calloc(1, BIG + 64);
	C.op_buf = calloc(1, UNIT + 64);
	handlers();
	if (c->call == INTR_ACCEPT) {
		l = ntcp ? ntcp_listener(C.type, &port) : tcp_listener(&port);
		C.fd = l;
	} else {
		if (ntcp ? intr_raw_pair(C.type, &s, &p) : tcp_pair(&s, &p, 0)) {
			cfail(o, "setup: %s; ", ntcp_errname(errno));
			return;
		}
		C.fd = s;
		R.s = s;
		R.p = p;
		if (c->call == INTR_SEND) {
			R.type = C.type;
			R.ntcp = ntcp;
			small_bufs();
			setsockopt(s, SOL_NEWTCP, NEWTCP_MAXMSG, &big,
				   sizeof(big));
			ntcp_pattern(C.a_buf, BIG, SEED_A, 0);
		}
	}
	if (C.fd < 0) {
		cfail(o, "setup: %s; ", ntcp_errname(errno));
		return;
	}
	R.tid = 0;
	pthread_create(&ta, NULL, conc_first, NULL);
	while (!R.tid)
		usleep(500);
	o->a_blocked = wait_asleep(IO_TIMEO_S * 1000) > 0;
	if (!o->a_blocked)
		cfail(o, "the first call did not block (%ld %s); ", C.a_ret,
		      ntcp_errname(C.a_err));

	pthread_create(&tb, NULL, conc_op, NULL);
	o->op_blocked = !wait_flag(&C.op_done, OP_BOUND_MS);
	o->a_ended = R.returned || wait_settled(100) == 0;

	/* The peer completes what the first call waits for. */
	switch (c->call) {
	case INTR_RECV:
	case INTR_POLL:
		w = wire(C.type, UNIT, SEED_A, &wl);
		write_full(p, w, wl);
		free(w);
		w = wire(C.type, UNIT, SEED_A + 1, &wl);
		write_full(p, w, wl);
		free(w);
		break;
	case INTR_SEND:
		/* A record for the second thread's recv, if any. */
		if (c->op == CONC_RECV) {
			w = wire(C.type, UNIT, SEED_A + 1, &wl);
			write_full(p, w, wl);
			free(w);
		}
		break;
	case INTR_ACCEPT:
		p = raw_connect(port);
		if (ntcp && p >= 0) {
			unsigned char h[8];

			hello(h, C.type, 0);
			if (write(p, h, 8) != 8 || read_full(p, h, 8) != 8)
				cfail(o, "raw client: no reply; ");
		}
		break;
	}
	if (c->call == INTR_SEND) {
		R.got.len = 0;
		/* Drain until both calls ended, then to EOF. */
		for (long long end = now_ms() + 5000;
		     (!R.returned || !C.op_done) && now_ms() < end;) {
			static unsigned char tmp[65536];
			struct pollfd pf = { .fd = p, .events = POLLIN };
			ssize_t r;

			if (poll(&pf, 1, 20) == 1 &&
			    (r = read(p, tmp, sizeof(tmp))) > 0)
				buf_add(&R.got, tmp, r);
			else if (pf.revents && !(pf.revents & POLLIN))
				break;
		}
	}
	if (!wait_flag(&R.returned, IO_TIMEO_S * 1000))
		cfail(o, "the first call still blocked %d s after its unit completed; ",
		      IO_TIMEO_S);
	if (!wait_flag(&C.op_done, IO_TIMEO_S * 1000))
		cfail(o, "the second call (%s) still blocked %d s after the unit completed; ",
		      op_names[c->op], IO_TIMEO_S);
	if (!o->ok) {
		/* Unstick what is left so the threads can be reaped. */
		if (p >= 0)
			shutdown(p, SHUT_RDWR);
		if (c->op != CONC_CLOSE)
			shutdown(C.fd, SHUT_RDWR);
		if (!wait_flag(&R.returned, 2000) ||
		    !wait_flag(&C.op_done, 2000)) {
			cfail(o, "calls still blocked after shutdown; ");
			return;
		}
	}
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	o->op_ret = C.op_ret;
	o->op_err = C.op_err;

	/* Closed by the other thread: once the call ended, it is gone. */
	if (c->op == CONC_CLOSE && o->ok) {
		if (c->call == INTR_ACCEPT) {
			int f = raw_connect(port);

			if (f >= 0) {
				cfail(o, "the listener closed by the other thread still accepts; ");
				close(f);
			}
		} else {
			static unsigned char tmp[65536];
			ssize_t r;

			set_timeo(p, SO_RCVTIMEO, IO_TIMEO_S * 1000);
			/* Kept: the record checks below read them. */
			while ((r = read(p, tmp, sizeof(tmp))) > 0)
				buf_add(&R.got, tmp, r);
			if (r < 0 && errno == EAGAIN)
				cfail(o, "the peer saw no end after the other thread's close (%s); ",
				      ntcp_errname(errno));
		}
	}

	/* SEQPACKET: whatever each call got is a whole record. */
	if (ntcp && C.type == SOCK_SEQPACKET && o->ok) {
		if (c->call == INTR_RECV && C.a_ret >= 0 &&
		    !(C.a_ret == UNIT &&
		      (ntcp_pattern_check(C.a_buf, UNIT, SEED_A, 0) == UNIT ||
		       ntcp_pattern_check(C.a_buf, UNIT, SEED_A + 1, 0) == UNIT)) &&
		    !(C.a_ret == 0 && c->op == CONC_SHUTDOWN))
			cfail(o, "the blocked recv got %ld bytes, not a whole record; ",
			      C.a_ret);
		if (c->op == CONC_RECV && C.op_ret >= 0 &&
		    c->call != INTR_ACCEPT &&
		    !(C.op_ret == UNIT &&
		      (ntcp_pattern_check(C.op_buf, UNIT, SEED_A, 0) == UNIT ||
		       ntcp_pattern_check(C.op_buf, UNIT, SEED_A + 1, 0) == UNIT)) &&
		    !(C.op_ret == 0 && c->call == INTR_SEND))
			cfail(o, "the second recv got %ld bytes, not a whole record; ",
			      C.op_ret);
		if (c->call == INTR_SEND && c->op != CONC_SHUTDOWN) {
			size_t off = 0;

			if (c->op != CONC_CLOSE)
				shutdown(s, SHUT_WR);
			drain_peer();
			while (off + 4 <= R.got.len) {
				size_t len = (size_t)R.got.p[off] << 24 |
					     R.got.p[off + 1] << 16 |
					     R.got.p[off + 2] << 8 |
					     R.got.p[off + 3];
				uint64_t seed = len == BIG ? SEED_A : SEED_B;

				if (off + 4 + len > R.got.len ||
				    ntcp_pattern_check(R.got.p + off + 4, len,
						       seed, 0) != len) {
					cfail(o, "the peer got a broken record at %zu; ",
					      off);
					break;
				}
				off += 4 + len;
			}
			if (o->ok && off != R.got.len)
				cfail(o, "%zu stray bytes after the records; ",
				      R.got.len - off);
		}
	}
}

static const char *const conc_calls[] = { "send", "recv", "poll", "accept" };
static const int conc_call_ids[] = { INTR_SEND, INTR_RECV, INTR_POLL,
				     INTR_ACCEPT };

size_t conc_matrix(struct conc_case *out, size_t max)
{
	static const int types[] = { SOCK_STREAM, SOCK_SEQPACKET };
	size_t n = 0;
	int call, op, t;

	for (call = 0; call < (int)ARRAY_SIZE(conc_call_ids); call++)
		for (op = 0; op < CONC_NOPS; op++)
			for (t = 0; t < 2; t++) {
				if (n < max) {
					out[n].call = conc_call_ids[call];
					out[n].op = op;
					out[n].type = types[t];
				}
				n++;
			}
	return n;
}

void conc_case_name(const struct conc_case *c, char *buf, size_t n)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(conc_call_ids); i++)
		if (conc_call_ids[i] == c->call)
			break;
	snprintf(buf, n, "%s blocked, other thread %s [%s]", conc_calls[i],
		 op_names[c->op],
		 c->type == SOCK_STREAM ? "stream" : "seqpacket");
}

static void run_conc(const void *c, int ntcp, void *out)
{
	conc_one(c, ntcp, out);
}

int conc_case_run(const struct conc_case *c)
{
	struct conc_out sub, ora;
	int ok = 1;

	if (side_by_side(run_conc, c, &sub, &ora, sizeof(ora)))
		return 1;
	printf("# NEW_TCP: first call %s after the op, op %s; TCP: %s, %s\n",
	       sub.a_ended ? "ended" : "still blocked",
	       sub.op_blocked ? "blocked" : "returned",
	       ora.a_ended ? "ended" : "still blocked",
	       ora.op_blocked ? "blocked" : "returned");
	if (!ora.ok)
		printf("# TCP oracle's own checks: %s\n", ora.why);
	if (!sub.ok) {
		printf("# %s\n", sub.why);
		ok = 0;
	}
	/*
	 * FIONREAD, close, shutdown and setsockopt never wait; a recv or
	 * send waits where TCP's may (a second writer for room, a second
	 * reader for data), except across directions.
	 */
	if (sub.op_blocked &&
	    (c->op == CONC_FIONREAD || c->op == CONC_CLOSE ||
	     c->op == CONC_SHUTDOWN || c->op == CONC_SETSOCKOPT ||
	     (c->op == CONC_SEND && c->call != INTR_SEND && !ora.op_blocked) ||
	     (c->op == CONC_RECV && c->call != INTR_RECV && !ora.op_blocked))) {
		printf("# the second call (%s) blocked over %d ms while TCP's returns at once\n",
		       op_names[c->op], OP_BOUND_MS);
		ok = 0;
	}
	if ((c->op == CONC_RECV || c->op == CONC_SEND) && ora.op_ret >= 0 &&
	    sub.op_ret < 0 && c->call != INTR_ACCEPT) {
		printf("# the second call (%s) failed (%s) where TCP's succeeded\n",
		       op_names[c->op], ntcp_errname(sub.op_err));
		ok = 0;
	}
	if (ora.a_ended && !sub.a_ended) {
		printf("# the first call kept waiting after the %s where TCP's ends\n",
		       op_names[c->op]);
		ok = 0;
	}
	return !ok;
}
