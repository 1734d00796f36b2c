// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz: seeded random socket calls on the NEW_TCP family.
 *
 * Phases (one TAP point each, each in its own child with a timeout):
 *  1. random calls on random sockets, one thread;
 *  2. four threads sharing one table of sockets, closing, shutting down
 *     and dup2()ing over what the others are using;
 *  3. random send/recv sizes and flags on connected pairs, checked
 *     against a model of the byte stream / record queue;
 *  4. garbage and near-miss hellos from a raw TCP client at NEW_TCP
 *     listeners, every answer checked against PROTOCOL.md;
 *  5. garbage replies from a raw TCP server to NEW_TCP connects;
 *  6. garbage SEQPACKET framing after a good handshake;
 * then: nothing leaked, and a clean pair still works.
 *
 * The seed comes from --seed N, SOCKVM_SEED or the clock, and is
 * printed first.  Every thread draws from its own generator seeded from
 * (seed, phase, thread), so a phase replays the same calls (threads
 * interleave as the scheduler likes).  A failure -- a call that does
 * not return within CALL_LIMIT_MS, a kernel-internal errno (>= 512),
 * EFAULT with valid buffers, a result the model rejects -- prints the
 * seed and the last calls of every thread.  The harness also fails the
 * suite on any BUG/WARNING the kernel logs meanwhile.
 *
 * A kernel crash loses the test's buffered output, so the fuzzer also
 * leaves a replay trail in the kernel log (/dev/kmsg, KERN_ERR: on the
 * serial console even with "quiet loglevel=4"), "sockvm-fuzz: ..." lines:
 * the seed, the test and its replay command as each test starts, then
 * every TRAIL_EVERY-th call of each thread.  Nothing when /dev/kmsg
 * cannot be opened.
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
#include <sys/syscall.h>
#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/sockios.h>

#include "ntcp.h"
#include "tap.h"

#define CALL_LIMIT_MS	10000
#define NSLOT		24
#define NTHREAD		4
#define RING		24
#define TRAIL_EVERY	64

static uint32_t seed;

/* ---- random numbers ---- */

struct rng {
	uint64_t s;
};

static uint64_t rnd(struct rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint32_t below(struct rng *r, uint32_t n)
{
	return n ? rnd(r) % n : 0;
}

#define PICK(r, arr) ((arr)[below(r, sizeof(arr) / sizeof((arr)[0]))])

static void rng_init(struct rng *r, int phase, int thread)
{
	r->s = ((uint64_t)seed << 20) ^ (phase << 8) ^ thread;
	rnd(r);
}

/* ---- replay trail in the kernel log ---- */

static int trail_on = 1;	/* cleared when /dev/kmsg cannot be opened */
static int cur_test;		/* 1-based, as in the TAP line */

/*
 * One "sockvm-fuzz: ..." line at KERN_ERR.  The harness flags kernel
 * log lines with BUG:, Oops, WARNING:, panic and the like: none of
 * those words may appear here.  A fresh open each time: /dev/kmsg
 * rate-limits every open file to 10 lines in 5 s (printk.devkmsg).
 */
static void trail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void trail(const char *fmt, ...)
{
	static const char pre[] = "<3>sockvm-fuzz: ";
	char buf[400];
	va_list ap;
	int fd, n;

	if (!trail_on)
		return;
	memcpy(buf, pre, sizeof(pre));
	va_start(ap, fmt);
	vsnprintf(buf + sizeof(pre) - 1, sizeof(buf) - sizeof(pre) + 1, fmt, ap);
	va_end(ap);
	for (char *p = buf + sizeof(pre) - 1; *p; p++)
		if ((unsigned char)*p < ' ' || *p == 0x7f)
			*p = ' ';
	n = strlen(buf);
	fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		trail_on = 0;
		return;
	}
	if (write(fd, buf, n) < 0)
		trail_on = 0;
	close(fd);
}

/*
 * A --test glob the harness accepts ([\w*?[\]. -] only) that matches
 * @name: every other character becomes '?'.
 */
static void test_glob(const char *name, char *out, size_t n)
{
	size_t i;

	for (i = 0; name[i] && i + 1 < n; i++) {
		char c = name[i];

		out[i] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			 (c >= '0' && c <= '9') || c == '_' || c == '*' ||
			 c == '.' || c == ' ' || c == '-' ? c : '?';
	}
	out[i] = 0;
}

/* ---- call log and watchdog ---- */

struct tlog {
	char ring[RING][160];
	unsigned int n;
	volatile long long since;	/* start of the call in flight, 0: none */
	volatile pid_t tid;		/* the thread making the calls */
};

static struct tlog logs[NTHREAD];
static int nlogs = 1;
static volatile int failed;
static pthread_mutex_t dump_lock = PTHREAD_MUTEX_INITIALIZER;

static void logf_(struct tlog *l, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void logf_(struct tlog *l, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(l->ring[l->n % RING], sizeof(l->ring[0]), fmt, ap);
	va_end(ap);
	if (l->n % TRAIL_EVERY == 0)
		trail("seed %u test %d thread %d call %u: %s", seed, cur_test,
		      (int)(l - logs), l->n, l->ring[l->n % RING]);
	l->n++;
	l->tid = (pid_t)syscall(SYS_gettid);
	l->since = now_ms();
}

/* Append the result to the newest entry; the call is over. */
static void logr(struct tlog *l, long rc, int err)
{
	char *e = l->ring[(l->n - 1) % RING];
	size_t len = strlen(e);

	if (rc < 0)
		snprintf(e + len, sizeof(l->ring[0]) - len, " = -1 %s",
			 ntcp_errname(err));
	else
		snprintf(e + len, sizeof(l->ring[0]) - len, " = %ld", rc);
	l->since = 0;
}

static void dump(const char *why)
{
	pthread_mutex_lock(&dump_lock);
	printf("# FAIL: %s\n# replay with --seed %u (SOCKVM_SEED=%u)\n", why,
	       seed, seed);
	for (int t = 0; t < nlogs; t++) {
		struct tlog *l = &logs[t];
		unsigned int i = l->n > RING ? l->n - RING : 0;

		printf("# thread %d, last calls of %u:\n", t, l->n);
		for (; i < l->n; i++)
			printf("#   %u: %s\n", i, l->ring[i % RING]);
	}
	fflush(stdout);
	pthread_mutex_unlock(&dump_lock);
}

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail(const char *fmt, ...)
{
	char why[256];
	va_list ap;

	if (__atomic_exchange_n(&failed, 1, __ATOMIC_SEQ_CST))
		return;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	dump(why);
}

/* Where in the kernel a stuck thread sleeps: the clue a hang report needs. */
static void print_stack(pid_t tid)
{
	char path[64], line[256];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stack", (int)tid);
	f = fopen(path, "r");
	if (!f)
		return;
	printf("# kernel stack of the stuck thread (%d):\n", (int)tid);
	while (fgets(line, sizeof(line), f))
		printf("#   %s", line);
	fclose(f);
	fflush(stdout);
}

static void *watchdog(void *arg)
{
	(void)arg;
	for (;;) {
		usleep(200000);
		for (int t = 0; t < nlogs; t++) {
			long long s = logs[t].since;

			if (s && now_ms() - s > CALL_LIMIT_MS) {
				fail("thread %d: a call has not returned for %d ms",
				     t, CALL_LIMIT_MS);
				print_stack(logs[t].tid);
				_exit(1);
			}
		}
	}
	return NULL;
}

static void start_watchdog(int threads)
{
	pthread_t w;

	nlogs = threads;
	memset(logs, 0, sizeof(logs));
	pthread_create(&w, NULL, watchdog, NULL);
	pthread_detach(w);
}

/* A result the kernel should never give. */
static void check_errno(struct tlog *l, long rc, int err, int efault_ok)
{
	logr(l, rc, err);
	if (rc >= 0)
		return;
	if (err >= 512)
		fail("kernel-internal errno %d leaked to user space", err);
	else if (err == EFAULT && !efault_ok)
		fail("EFAULT although every buffer was valid");
}

/*
 * SOL_SOCKET never reaches NEW_TCP code: sock_setsockopt() answers it.
 * Before 869420a8be19 ("SO_ZEROCOPY should return -EOPNOTSUPP rather
 * than -ENOTSUPP", v5.18; not in Debian's 5.10) it gives SO_ZEROCOPY on
 * every family but inet and RDS ENOTSUPP.  Tolerated only where an
 * AF_UNIX socket shows the same core answer.
 */
static int core_zerocopy_enotsupp;

static void probe_core(void)
{
	int v = 1;

	core_zerocopy_enotsupp = ntcp_unix_setsockopt_errno(SOL_SOCKET, SO_ZEROCOPY,
							    &v, sizeof(v)) == 524;
	if (core_zerocopy_enotsupp)
		tap_diag("core: SO_ZEROCOPY gives ENOTSUPP on AF_UNIX too (before 869420a8be19); tolerated for SOL_SOCKET/SO_ZEROCOPY only");
}

/* ---- phase 1 and 2: random calls ---- */

static int slots[NSLOT];
static uint16_t ports[8];	/* ports our listeners got */

static void set_timeouts(int fd)
{
	struct timeval tv = { .tv_usec = 100000 };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static void rand_addr(struct rng *r, struct sockaddr_newtcp *a, socklen_t *len)
{
	static const uint32_t ips[] = {
		0x7f000001, 0x7f000001, 0x7f000001, 0, 0x7f0000fe, 0x7f010203,
		0xffffffff, 0xe0000001,
	};
	static const socklen_t lens[] = {
		sizeof(struct sockaddr_newtcp), sizeof(struct sockaddr_newtcp),
		sizeof(struct sockaddr_newtcp), 0, 1, 2, 8, 15, 17, 64, 128,
	};

	memset(a, 0, sizeof(*a));
	switch (below(r, 10)) {
	case 0:
		a->snt_family = AF_INET;
		break;
	case 1:
		a->snt_family = below(r, 2) ? AF_UNSPEC : below(r, 64);
		break;
	default:
		a->snt_family = ntcp_family;
	}
	switch (below(r, 4)) {
	case 0:
		a->snt_port = 0;
		break;
	case 1:
		a->snt_port = htons(1 + below(r, 65535));
		break;
	default:
		a->snt_port = htons(PICK(r, ports));
	}
	a->snt_addr.s_addr = htonl(PICK(r, ips));
	if (!below(r, 8))
		memset(a->snt_zero, 0xff, sizeof(a->snt_zero));
	*len = PICK(r, lens);
}

static const int types[] = {
	SOCK_STREAM, SOCK_STREAM, SOCK_SEQPACKET, SOCK_SEQPACKET, SOCK_DGRAM,
	SOCK_RAW, SOCK_RDM, 0, 7, 11,
};
static const int protos[] = { 0, 0, 0, IPPROTO_TCP, IPPROTO_UDP, 1, 255, -1 };

/* Option names per level; excluded: ones taking user pointers. */
static const int sol_socket_opts[] = {
	SO_DEBUG, SO_REUSEADDR, SO_TYPE, SO_ERROR, SO_DONTROUTE, SO_BROADCAST,
	SO_SNDBUF, SO_RCVBUF, SO_SNDBUFFORCE, SO_RCVBUFFORCE, SO_KEEPALIVE,
	SO_OOBINLINE, SO_NO_CHECK, SO_PRIORITY, SO_LINGER, SO_BSDCOMPAT,
	SO_REUSEPORT, SO_PASSCRED, SO_PEERCRED, SO_RCVLOWAT, SO_SNDLOWAT,
	SO_RCVTIMEO, SO_SNDTIMEO, SO_BINDTODEVICE, SO_TIMESTAMP, SO_ACCEPTCONN,
	SO_PROTOCOL, SO_DOMAIN, SO_MARK, SO_RXQ_OVFL, SO_PEEK_OFF, SO_BUSY_POLL,
	SO_INCOMING_CPU, SO_ZEROCOPY, SO_TXTIME, SO_TIMESTAMPING, SO_COOKIE,
	SO_PEERNAME, SO_MAX_PACING_RATE, SO_SELECT_ERR_QUEUE, SO_NOFCS,
	SO_LOCK_FILTER, SO_WIFI_STATUS, SO_INCOMING_NAPI_ID, SO_MEMINFO,
};
static const int tcp_opts[] = {
	TCP_NODELAY, TCP_MAXSEG, TCP_CORK, TCP_KEEPIDLE, TCP_KEEPINTVL,
	TCP_KEEPCNT, TCP_SYNCNT, TCP_LINGER2, TCP_DEFER_ACCEPT,
	TCP_WINDOW_CLAMP, TCP_INFO, TCP_QUICKACK, TCP_CONGESTION,
	TCP_USER_TIMEOUT, TCP_NOTSENT_LOWAT, TCP_FASTOPEN, TCP_THIN_LINEAR_TIMEOUTS,
	TCP_SAVE_SYN, TCP_SAVED_SYN, TCP_TX_DELAY, TCP_INQ, TCP_CC_INFO,
};
static const int ip_opts[] = {
	IP_TOS, IP_TTL, IP_HDRINCL, IP_OPTIONS, IP_RECVOPTS, IP_MTU_DISCOVER,
	IP_MTU, IP_FREEBIND, IP_BIND_ADDRESS_NO_PORT, IP_TRANSPARENT,
	IP_MINTTL, IP_PKTINFO, IP_RECVERR, IP_MULTICAST_TTL,
};
static const int newtcp_opts[] = {
	NEWTCP_NODELAY, NEWTCP_MAXMSG, NEWTCP_INFO, 0, 4, 99, -1,
};

static void rand_opt(struct rng *r, int *level, int *name, int set)
{
	int bad;

	do {
		bad = 0;
		switch (below(r, 6)) {
		case 0:
			*level = SOL_SOCKET;
			*name = PICK(r, sol_socket_opts);
			/* Unbounded waits; lingering closes beyond 1 s. */
			bad = set && (*name == SO_RCVTIMEO || *name == SO_SNDTIMEO ||
				      *name == SO_LINGER);
			break;
		case 1:
			*level = IPPROTO_TCP;
			*name = PICK(r, tcp_opts);
			break;
		case 2:
			*level = IPPROTO_IP;
			*name = PICK(r, ip_opts);
			break;
		case 3:
		case 4:
			*level = SOL_NEWTCP;
			*name = PICK(r, newtcp_opts);
			break;
		default:
			*level = below(r, 2) ? (int)below(r, 400) : SOL_NEWTCP;
			*name = below(r, 80);
			/* Pointers inside: SO_ATTACH_FILTER & co, TCP zerocopy,
			 * TCP_REPAIR and ULPs (core TCP business). */
			bad = (*level == SOL_SOCKET || *level == IPPROTO_TCP ||
			       *level == IPPROTO_IP || *level == SOL_IPV6 ||
			       *level == SOL_RAW || *level == 0);
			break;
		}
	} while (bad);
}

static int slot_fd(struct rng *r)
{
	return __atomic_load_n(&slots[below(r, NSLOT)], __ATOMIC_RELAXED);
}

static void put_fd(struct rng *r, int fd)
{
	int i = below(r, NSLOT);
	int old = __atomic_exchange_n(&slots[i], fd, __ATOMIC_RELAXED);

	if (old >= 0)
		close(old);
}

static void note_port(struct rng *r, int fd)
{
	struct sockaddr_newtcp a;
	socklen_t len = sizeof(a);

	if (!getsockname(fd, (struct sockaddr *)&a, &len) && a.snt_port)
		ports[below(r, 8)] = ntohs(a.snt_port);
}

static char *bufs[NTHREAD];
#define BUFSZ	(200 << 10)

/*
 * A connected pair whose every wait is bounded: other threads may
 * close or dup2() over any descriptor number at any time, so nothing
 * here may block without a timeout.
 */
static int fuzz_pair(int type, int *c, int *s)
{
	struct sockaddr_newtcp a;
	socklen_t len = sizeof(a);
	struct pollfd p;
	int l, rc = -1;

	*c = *s = -1;
	l = socket(ntcp_family, type | SOCK_NONBLOCK, 0);
	if (l < 0)
		return -1;
	/*
	 * Bounded at once: another thread holding a stale number may make this
	 * descriptor blocking and accept() on it, and close() never wakes a
	 * blocked accept (as with TCP).
	 */
	set_timeouts(l);
	a = ntcp_addr(0);
	if (bind(l, (struct sockaddr *)&a, sizeof(a)) || listen(l, 4) ||
	    getsockname(l, (struct sockaddr *)&a, &len))
		goto out;
	*c = socket(ntcp_family, type | SOCK_NONBLOCK, 0);
	if (*c < 0)
		goto out;
	set_timeouts(*c);
	if (connect(*c, (struct sockaddr *)&a, sizeof(a)) && errno != EINPROGRESS)
		goto out;
	p = (struct pollfd){ l, POLLIN, 0 };
	if (poll(&p, 1, 3000) != 1)
		goto out;
	*s = accept4(l, NULL, NULL, SOCK_NONBLOCK);
	if (*s < 0)
		goto out;
	p = (struct pollfd){ *c, POLLOUT, 0 };
	if (poll(&p, 1, 3000) != 1)
		goto out;
	fcntl(*c, F_SETFL, 0);
	fcntl(*s, F_SETFL, 0);
	rc = 0;
out:
	if (rc) {
		int e = errno;

		if (*c >= 0)
			close(*c);
		if (*s >= 0)
			close(*s);
		*c = *s = -1;
		errno = e;
	}
	close(l);
	return rc;
}

static void one_op(struct rng *r, struct tlog *l, int t)
{
	char *buf = bufs[t];
	struct sockaddr_newtcp a;
	socklen_t alen;
	int fd = slot_fd(r), v, lvl, name, err;
	long rc;
	size_t len;
	int flags;

	switch (below(r, 24)) {
	case 0:
	case 1: {
		int type = PICK(r, types), proto = PICK(r, protos);

		if (below(r, 3) == 0)
			type |= SOCK_NONBLOCK;
		if (below(r, 3) == 0)
			type |= SOCK_CLOEXEC;
		logf_(l, "socket(%d, %#x, %d)", ntcp_family, type, proto);
		rc = socket(ntcp_family, type, proto);
		err = errno;
		check_errno(l, rc, err, 0);
		if (rc >= 0) {
			set_timeouts(rc);
			put_fd(r, rc);
		}
		break;
	}
	case 2: {
		int c, s, type = below(r, 2) ? SOCK_STREAM : SOCK_SEQPACKET;

		logf_(l, "pair(%d)", type);
		rc = fuzz_pair(type, &c, &s);
		err = errno;
		check_errno(l, rc, err, 0);
		if (!rc) {
			set_timeouts(c);
			set_timeouts(s);
			put_fd(r, c);
			put_fd(r, s);
		}
		break;
	}
	case 3:
		logf_(l, "close(%d)", fd);
		for (int i = 0; i < NSLOT; i++)
			if (__atomic_compare_exchange_n(&slots[i], &fd, -1, 0,
							__ATOMIC_RELAXED,
							__ATOMIC_RELAXED))
				break;
		rc = close(fd);
		logr(l, rc, errno);
		break;
	case 4:
		rand_addr(r, &a, &alen);
		logf_(l, "bind(%d, fam %d %s:%u, %u)", fd, a.snt_family,
		      inet_ntoa(a.snt_addr), ntohs(a.snt_port), alen);
		rc = bind(fd, (struct sockaddr *)&a, alen);
		check_errno(l, rc, errno, 0);
		break;
	case 5: {
		static const int backlogs[] = { -1, 0, 1, 2, 5, 128, 1 << 30 };

		v = PICK(r, backlogs);
		logf_(l, "listen(%d, %d)", fd, v);
		rc = listen(fd, v);
		check_errno(l, rc, errno, 0);
		if (!rc)
			note_port(r, fd);
		break;
	}
	case 6:
	case 7:
		rand_addr(r, &a, &alen);
		logf_(l, "connect(%d, fam %d %s:%u, %u)", fd, a.snt_family,
		      inet_ntoa(a.snt_addr), ntohs(a.snt_port), alen);
		rc = connect(fd, (struct sockaddr *)&a, alen);
		check_errno(l, rc, errno, 0);
		break;
	case 8:
		flags = below(r, 2) ? 0 : (int)(rnd(r) & (SOCK_NONBLOCK | SOCK_CLOEXEC | 1));
		alen = below(r, 3) ? sizeof(a) : below(r, 20);
		logf_(l, "accept4(%d, alen %u, %#x)", fd, alen, flags);
		rc = accept4(fd, below(r, 4) ? (struct sockaddr *)&a : NULL,
			     &alen, flags);
		check_errno(l, rc, errno, 0);
		if (rc >= 0) {
			set_timeouts(rc);
			put_fd(r, rc);
		}
		break;
	case 9:
	case 10:
	case 11: {
		static const size_t lens[] = { 0, 1, 7, 100, 4096, 65535, 65536,
					       65537, 131072, BUFSZ };
		static const int fl[] = { MSG_DONTWAIT, MSG_MORE, MSG_OOB,
					  MSG_EOR, MSG_CONFIRM, MSG_PEEK,
					  MSG_WAITALL, MSG_FASTOPEN, MSG_ZEROCOPY };

		len = PICK(r, lens);
		flags = MSG_NOSIGNAL;
		for (v = below(r, 3); v > 0; v--)
			flags |= PICK(r, fl);
		if (below(r, 4) == 0) {
			rand_addr(r, &a, &alen);
			logf_(l, "sendto(%d, %zu, %#x, alen %u)", fd, len, flags,
			      alen);
			rc = sendto(fd, buf, len, flags, (struct sockaddr *)&a, alen);
		} else {
			logf_(l, "send(%d, %zu, %#x)", fd, len, flags);
			rc = send(fd, buf, len, flags);
		}
		err = errno;
		check_errno(l, rc, err, 0);
		if (rc > (long)len)
			fail("send returned %ld > %zu", rc, len);
		break;
	}
	case 12:
	case 13:
	case 14: {
		static const size_t lens[] = { 0, 1, 3, 4, 100, 4096, 65536,
					       65537, BUFSZ };
		static const int fl[] = { MSG_DONTWAIT, MSG_PEEK, MSG_WAITALL,
					  MSG_TRUNC, MSG_OOB, MSG_ERRQUEUE,
					  MSG_CMSG_CLOEXEC };
		struct iovec iov[2];
		struct msghdr m = { .msg_iov = iov };
		char cbuf[64];

		len = PICK(r, lens);
		flags = 0;
		for (v = below(r, 3); v > 0; v--)
			flags |= PICK(r, fl);
		iov[0] = (struct iovec){ buf, len / 2 };
		iov[1] = (struct iovec){ buf + len / 2, len - len / 2 };
		m.msg_iovlen = below(r, 2) + 1;
		if (m.msg_iovlen == 1)
			iov[0].iov_len = len;
		if (below(r, 3) == 0) {
			m.msg_name = &a;
			m.msg_namelen = sizeof(a);
		}
		if (below(r, 3) == 0) {
			m.msg_control = cbuf;
			m.msg_controllen = sizeof(cbuf);
		}
		logf_(l, "recvmsg(%d, %zu in %zu iov, %#x)", fd, len,
		      (size_t)m.msg_iovlen, flags);
		rc = recvmsg(fd, &m, flags);
		err = errno;
		check_errno(l, rc, err, 0);
		if (rc > (long)len && !(flags & MSG_TRUNC))
			fail("recvmsg returned %ld > %zu without MSG_TRUNC", rc,
			     len);
		if (rc >= 0 && m.msg_name && m.msg_namelen > sizeof(a))
			fail("recvmsg namelen %u", m.msg_namelen);
		break;
	}
	case 15:
	case 16: {
		static const socklen_t lens[] = { 0, 1, 2, 3, 4, 8, 16, 64, 200,
						  4096 };

		rand_opt(r, &lvl, &name, 1);
		alen = PICK(r, lens);
		for (size_t i = 0; i < 64; i++)
			buf[i] = below(r, 4) ? 0 : (char)rnd(r);
		if (below(r, 2)) {
			v = below(r, 3) == 0 ? (int)rnd(r) : (int)below(r, 70000);
			memcpy(buf, &v, sizeof(v));
		}
		logf_(l, "setsockopt(%d, %d, %d, %d.., %u)", fd, lvl, name,
		      *(int *)buf, alen);
		rc = setsockopt(fd, lvl, name, buf, alen);
		err = errno;
		if (rc && err == 524 && core_zerocopy_enotsupp &&
		    lvl == SOL_SOCKET && name == SO_ZEROCOPY)
			logr(l, rc, err);
		else
			check_errno(l, rc, err, 0);
		/* Keep every wait bounded whatever was just set. */
		if (!rc && lvl == SOL_SOCKET)
			set_timeouts(fd);
		break;
	}
	case 17: {
		static const socklen_t lens[] = { 0, 1, 2, 4, 8, 16, 64, 104,
						  200, 4096 };
		socklen_t olen;

		rand_opt(r, &lvl, &name, 0);
		alen = olen = PICK(r, lens);
		logf_(l, "getsockopt(%d, %d, %d, %u)", fd, lvl, name, alen);
		rc = getsockopt(fd, lvl, name, buf, &olen);
		check_errno(l, rc, errno,
			    lvl == IPPROTO_TCP && name == TCP_SAVED_SYN);
		if (!rc && olen > alen && alen)
			fail("getsockopt(%d, %d) optlen grew from %u to %u", lvl,
			     name, alen, olen);
		break;
	}
	case 18: {
		socklen_t want = PICK(r, ((const socklen_t[]){ 0, 2, 4, 16, 128 }));
		int peer = below(r, 2);

		alen = want;
		logf_(l, "%s(%d, %u)", peer ? "getpeername" : "getsockname", fd,
		      want);
		rc = peer ? getpeername(fd, (struct sockaddr *)buf, &alen) :
			    getsockname(fd, (struct sockaddr *)buf, &alen);
		check_errno(l, rc, errno, 0);
		if (!rc && alen != sizeof(struct sockaddr_newtcp))
			fail("name length %u", alen);
		break;
	}
	case 19:
		v = (int)below(r, 5) - 1;
		logf_(l, "shutdown(%d, %d)", fd, v);
		rc = shutdown(fd, v);
		check_errno(l, rc, errno, 0);
		break;
	case 20: {
		static const unsigned long cmds[] = {
			SIOCINQ, SIOCOUTQ, SIOCOUTQNSD, FIONBIO, SIOCATMARK,
			SIOCGSTAMP, 0x89ff, 0x5401, SIOCGIFNAME, 0,
		};
		unsigned long cmd = PICK(r, cmds);

		memset(buf, 0, 64);
		buf[0] = below(r, 2);
		logf_(l, "ioctl(%d, %#lx)", fd, cmd);
		rc = ioctl(fd, cmd, buf);
		check_errno(l, rc, errno, 0);
		break;
	}
	case 21: {
		struct pollfd p = { fd, (short)(below(r, 2) ? rnd(r) :
						 POLLIN | POLLOUT), 0 };

		logf_(l, "poll(%d, %#x)", fd, p.events);
		rc = poll(&p, 1, below(r, 30));
		check_errno(l, rc, errno, 0);
		break;
	}
	case 22:
		v = below(r, 2) ? O_NONBLOCK : 0;
		logf_(l, "fcntl(%d, F_SETFL, %#x)", fd, v);
		rc = fcntl(fd, F_SETFL, v);
		check_errno(l, rc, errno, 0);
		break;
	default: {
		int to = slot_fd(r);

		if (to < 0 || fd < 0)
			break;
		logf_(l, "dup2(%d, %d)", fd, to);
		rc = dup2(fd, to);
		logr(l, rc, errno);
		break;
	}
	}
}

struct worker {
	int t, phase, ops;
	long long deadline;
	int done;
};

static void *work(void *arg)
{
	struct worker *w = arg;
	struct rng r;

	rng_init(&r, w->phase, w->t);
	for (w->done = 0; w->done < w->ops && now_ms() < w->deadline && !failed;
	     w->done++)
		one_op(&r, &logs[w->t], w->t);
	return NULL;
}

static void close_all(void)
{
	for (int i = 0; i < NSLOT; i++)
		if (slots[i] >= 0) {
			close(slots[i]);
			slots[i] = -1;
		}
}

static int random_calls(int phase, int threads, int ops, int secs)
{
	struct worker w[NTHREAD];
	pthread_t th[NTHREAD];
	int t, total = 0;

	for (t = 0; t < NSLOT; t++)
		slots[t] = -1;
	for (t = 0; t < 8; t++)
		ports[t] = 1;
	for (t = 0; t < threads; t++)
		bufs[t] = calloc(1, BUFSZ);
	start_watchdog(threads);
	for (t = 0; t < threads; t++) {
		w[t] = (struct worker){ t, phase, ops, now_ms() + secs * 1000LL, 0 };
		pthread_create(&th[t], NULL, work, &w[t]);
	}
	for (t = 0; t < threads; t++) {
		pthread_join(th[t], NULL);
		total += w[t].done;
	}
	logs[0].since = now_ms();
	close_all();
	logs[0].since = 0;
	printf("# %d calls in %d thread(s)\n", total, threads);
	return failed;
}

static int t_single(void) { return random_calls(1, 1, 4000, 20); }
static int t_threads(void) { return random_calls(2, NTHREAD, 1500, 15); }

/* ---- phase 3: data model ---- */

static int model_stream(struct rng *r, struct tlog *l)
{
	static char out[70000], in[70000];
	uint64_t sent = 0, got = 0;
	long long t0;
	int c, s, i, n;
	uint32_t ps = seed ^ 0x3333;

	CHECK(!ntcp_pair(SOCK_STREAM, &c, &s), "pair");
	set_timeouts(c);
	set_timeouts(s);
	for (i = 0; i < 600 && !failed; i++) {
		size_t len = below(r, 3) ? below(r, 2000) : below(r, sizeof(in));
		int flags = 0;
		long rc;

		if (below(r, 2)) {
			ntcp_pattern(out, len, ps, sent);
			flags = MSG_DONTWAIT | (below(r, 4) ? 0 : MSG_MORE);
			logf_(l, "stream send(%zu, %#x) at %llu", len, flags,
			      (unsigned long long)sent);
			rc = send(c, out, len, flags);
			check_errno(l, rc, errno, 0);
			if (rc > 0)
				sent += rc;
			continue;
		}
		if (below(r, 2))
			flags |= MSG_DONTWAIT;
		if (!below(r, 4))
			flags |= MSG_PEEK;
		if (!below(r, 4) && sent - got >= len)
			flags |= MSG_WAITALL;
		logf_(l, "stream recv(%zu, %#x) at %llu of %llu", len, flags,
		      (unsigned long long)got, (unsigned long long)sent);
		t0 = now_ms();
		rc = recv(s, in, len, flags);
		t0 = now_ms() - t0;
		check_errno(l, rc, errno, 0);
		if (rc < 0) {
			if (errno != EAGAIN)
				fail("stream recv: %s", ntcp_errname(errno));
			continue;
		}
		if ((size_t)rc > len || got + rc > sent) {
			fail("stream recv returned %ld (asked %zu, %llu in flight)",
			     rc, len, (unsigned long long)(sent - got));
			break;
		}
		/* Short only when SO_RCVTIMEO (100 ms) ran out. */
		if ((flags & MSG_WAITALL) && !(flags & MSG_DONTWAIT) &&
		    (size_t)rc != len && t0 < 90)
			fail("MSG_WAITALL returned %ld of %zu after %lld ms", rc,
			     len, t0);
		n = ntcp_pattern_check(in, rc, ps, got);
		if (n != rc) {
			fail("stream byte %llu differs", (unsigned long long)(got + n));
			break;
		}
		if (!(flags & MSG_PEEK))
			got += rc;
	}
	close(c);
	close(s);
	printf("# stream model: %llu bytes sent, %llu received\n",
	       (unsigned long long)sent, (unsigned long long)got);
	return failed;
}

static int model_seq(struct rng *r, struct tlog *l)
{
	static char out[70000], in[70000];
	uint32_t q[4096], head = 0, tail = 0, rs = seed ^ 0x5555;
	int c, s, i;

	CHECK(!ntcp_pair(SOCK_SEQPACKET, &c, &s), "pair");
	set_timeouts(c);
	set_timeouts(s);
	for (i = 0; i < 600 && !failed; i++) {
		size_t len = below(r, 3) ? below(r, 300) : below(r, 65537);
		int flags = 0, oflags;
		long rc;

		if (below(r, 2) && tail - head < 4096) {
			ntcp_pattern(out, len, rs, tail);
			logf_(l, "seq send(%zu) record %u", len, tail);
			rc = send(c, out, len, MSG_DONTWAIT);
			check_errno(l, rc, errno, 0);
			if (rc >= 0 && (size_t)rc != len)
				fail("seq send returned %ld of %zu", rc, len);
			if (rc >= 0)
				q[tail++ % 4096] = len;
			continue;
		}
		len = below(r, 2) ? below(r, 400) : below(r, sizeof(in));
		if (below(r, 2))
			flags |= MSG_DONTWAIT;
		if (!below(r, 4))
			flags |= MSG_PEEK;
		if (!below(r, 4))
			flags |= MSG_TRUNC;
		if (head == tail)
			flags |= MSG_DONTWAIT;
		{
			struct iovec iov = { in, len };
			struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };

			logf_(l, "seq recv(%zu, %#x) record %u of %u", len, flags,
			      head, tail);
			rc = recvmsg(s, &m, flags);
			oflags = m.msg_flags;
		}
		check_errno(l, rc, errno, 0);
		if (rc < 0) {
			/* EAGAIN: nothing yet, or SO_RCVTIMEO ran out. */
			if (errno != EAGAIN)
				fail("seq recv: %s", ntcp_errname(errno));
			continue;
		}
		if (head == tail) {
			fail("seq recv returned %ld with no record sent", rc);
			break;
		}
		{
			uint32_t want = q[head % 4096];
			size_t cp = want < len ? want : len;
			long exp = (flags & MSG_TRUNC) ? (long)want : (long)cp;

			if (rc != exp) {
				fail("record %u of %u bytes: recv(%zu, %#x) returned %ld, expected %ld",
				     head, want, len, flags, rc, exp);
				break;
			}
			if (!!(oflags & MSG_TRUNC) != (want > len)) {
				fail("record %u: MSG_TRUNC %s for %u bytes into %zu",
				     head, oflags & MSG_TRUNC ? "set" : "clear",
				     want, len);
				break;
			}
			if (ntcp_pattern_check(in, cp, rs, head) != cp) {
				fail("record %u content differs", head);
				break;
			}
			if (!(flags & MSG_PEEK))
				head++;
		}
	}
	close(c);
	close(s);
	printf("# seqpacket model: %u records sent, %u received\n", tail, head);
	return failed;
}

static int t_model(void)
{
	struct rng r;

	rng_init(&r, 3, 0);
	start_watchdog(1);
	for (int round = 0; round < 3 && !failed; round++)
		if (model_stream(&r, &logs[0]) || model_seq(&r, &logs[0]))
			break;
	return failed;
}

/* ---- phase 4: raw hellos at a listener ---- */

static int raw_connect(uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct timeval tv = { .tv_sec = 5 };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

static void hello(unsigned char *h, int ver, int type, int flags, int status)
{
	memcpy(h, "NTCP", 4);
	h[4] = ver;
	h[5] = type;
	h[6] = flags;
	h[7] = status;
}

static int t_raw_hellos(void)
{
	struct rng r;
	struct tlog *l = &logs[0];
	uint16_t port[2];
	int lst[2], i, accepted[2] = { 0, 0 }, valid[2] = { 0, 0 };

	rng_init(&r, 4, 0);
	start_watchdog(1);
	lst[0] = ntcp_listener(SOCK_STREAM, &port[0]);
	lst[1] = ntcp_listener(SOCK_SEQPACKET, &port[1]);
	CHECK(lst[0] >= 0 && lst[1] >= 0, "listeners");
	for (i = 0; i < 2; i++) {
		fcntl(lst[i], F_SETFL, O_NONBLOCK);
		listen(lst[i], 256);
	}
	for (i = 0; i < 300 && !failed; i++) {
		unsigned char h[40], rep[16];
		int which = below(&r, 2), wtype = which ? 2 : 1, fd, kind;
		size_t len = 8;
		int expect;	/* -1: no answer; else the status */
		ssize_t n;

		kind = below(&r, 10);
		hello(h, 1, wtype, 0, 0);
		switch (kind) {
		case 0:	/* random bytes */
			len = below(&r, 40);
			for (size_t k = 0; k < len; k++)
				h[k] = rnd(&r);
			break;
		case 1:	/* short hello */
			len = below(&r, 8);
			break;
		case 2:
			h[4] = below(&r, 256);
			break;
		case 3:
			h[5] = below(&r, 256);
			break;
		case 4:
			h[6] = rnd(&r);
			break;
		case 5:
			h[7] = rnd(&r);
			break;
		case 6:
			h[below(&r, 4)] ^= 1 << below(&r, 8);
			break;
		case 7:	/* trailing bytes after a good hello */
			len = 8 + below(&r, 30);
			for (size_t k = 8; k < len; k++)
				h[k] = rnd(&r);
			break;
		default:
			break;
		}
		/* What PROTOCOL.md says the listener does. */
		if (len < 8 || memcmp(h, "NTCP", 4) || (h[6] & 0x80))
			expect = -1;
		else if (h[4] != 1)
			expect = 2;
		else if (h[5] != wtype)
			expect = 1;
		else
			expect = 0;
		logf_(l, "raw hello kind %d len %zu %02x %02x %02x %02x to %s, expect %d",
		      kind, len, h[4], h[5], h[6], h[7],
		      which ? "seqpacket" : "stream", expect);
		fd = raw_connect(port[which]);
		if (fd < 0) {
			fail("raw connect: %s", ntcp_errname(errno));
			break;
		}
		if (len && write(fd, h, len) != (ssize_t)len) {
			fail("raw write");
			close(fd);
			break;
		}
		if (expect == -1 || below(&r, 2))
			shutdown(fd, SHUT_WR);
		n = read_full(fd, rep, 8);
		logr(l, n, errno);
		if (expect == -1) {
			if (n > 0)
				fail("an answer (%zd bytes) to a hello that deserves none", n);
		} else if (n != 8 || memcmp(rep, "NTCP", 4) || rep[4] != 1 ||
			   rep[5] != wtype || rep[6] != 0x80 || rep[7] != expect) {
			fail("reply %zd bytes %02x %02x %02x %02x, expected status %d",
			     n, n >= 8 ? rep[4] : 0, n >= 8 ? rep[5] : 0,
			     n >= 8 ? rep[6] : 0, n >= 8 ? rep[7] : 0, expect);
		} else if (expect > 0 && len == 8) {
			/* A refusal ends with a FIN, not a RST (PROTOCOL.md). */
			struct pollfd pe = { fd, POLLIN, 0 };

			n = poll(&pe, 1, 5000) == 1 ? read(fd, rep, 1) : -2;
			logr(l, n, errno);
			if (n != 0)
				fail("after a refusal: %s, expected EOF",
				     n == -2 ? "nothing within 5 s" :
				     n < 0 ? ntcp_errname(errno) : "data");
		}
		if (expect == 0)
			valid[which]++;
		close(fd);
		/* Drain accepted connections now and then. */
		for (int w = 0; w < 2; w++) {
			int a;

			while ((a = accept(lst[w], NULL, NULL)) >= 0) {
				accepted[w]++;
				close(a);
			}
		}
	}
	usleep(200000);
	for (int w = 0; w < 2; w++) {
		int a;

		while ((a = accept(lst[w], NULL, NULL)) >= 0) {
			accepted[w]++;
			close(a);
		}
	}
	printf("# %d hellos; accepted %d+%d, valid %d+%d\n", i, accepted[0],
	       accepted[1], valid[0], valid[1]);
	if (!failed && (accepted[0] != valid[0] || accepted[1] != valid[1]))
		fail("accepted %d+%d connections for %d+%d valid hellos",
		     accepted[0], accepted[1], valid[0], valid[1]);
	return failed;
}

/* ---- phase 5: raw replies to NEW_TCP connects ---- */

static int t_raw_replies(void)
{
	struct rng r;
	struct tlog *l = &logs[0];
	uint16_t port;
	int lst = tcp_listener(&port), i;

	rng_init(&r, 5, 0);
	start_watchdog(1);
	CHECK(lst >= 0, "tcp listener");
	for (i = 0; i < 200 && !failed; i++) {
		int type = below(&r, 2) ? SOCK_SEQPACKET : SOCK_STREAM;
		int wtype = type == SOCK_STREAM ? 1 : 2, kind = below(&r, 9);
		struct sockaddr_newtcp a = ntcp_addr(port);
		unsigned char h[40], got[8];
		size_t len = 8;
		int c, s, expect, rc, err;
		struct timeval tv = { .tv_sec = 5 };

		hello(h, 1, wtype, 0x80, 0);
		switch (kind) {
		case 0:
			len = below(&r, 40);
			for (size_t k = 0; k < len; k++)
				h[k] = rnd(&r);
			break;
		case 1:
			len = below(&r, 8);
			break;
		case 2:
			h[4] = below(&r, 4);
			break;
		case 3:
			h[5] = below(&r, 4);
			break;
		case 4:
			h[6] = rnd(&r);
			break;
		case 5:
			h[7] = below(&r, 5);
			break;
		case 6:
			h[below(&r, 4)] ^= 1 << below(&r, 8);
			break;
		default:
			break;
		}
		expect = len >= 8 && !memcmp(h, "NTCP", 4) && h[4] == 1 &&
			 h[5] == wtype && (h[6] & 0x80) && h[7] == 0 ?
			 0 : ECONNREFUSED;
		logf_(l, "raw reply kind %d len %zu %02x %02x %02x %02x to a %s connect, expect %s",
		      kind, len, h[4], h[5], h[6], h[7],
		      type == SOCK_STREAM ? "stream" : "seqpacket",
		      expect ? "ECONNREFUSED" : "success");
		c = socket(ntcp_family, type | SOCK_NONBLOCK, 0);
		rc = connect(c, (struct sockaddr *)&a, sizeof(a));
		if (rc && errno != EINPROGRESS) {
			fail("connect: %s", ntcp_errname(errno));
			break;
		}
		s = accept(lst, NULL, NULL);
		setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		if (read_full(s, got, 8) != 8 || memcmp(got, "NTCP", 4) ||
		    got[4] != 1 || got[5] != wtype || got[6] != 0 || got[7]) {
			fail("the client's hello is not per PROTOCOL.md");
			break;
		}
		if (len)
			write_full(s, h, len);
		if (expect || below(&r, 2))
			shutdown(s, SHUT_WR);
		{
			struct pollfd p = { c, POLLOUT, 0 };
			socklen_t el = sizeof(err);

			rc = poll(&p, 1, 5000);
			err = -1;
			getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &el);
		}
		logr(l, err ? -1 : 0, err);
		if (rc != 1)
			fail("connect did not finish within 5 s");
		else if (err != expect)
			fail("connect finished with %s, expected %s",
			     err ? ntcp_errname(err) : "success",
			     expect ? ntcp_errname(expect) : "success");
		else if (expect) {
			/* Nothing of ours may reach a refused peer. */
			char b;

			if (send(c, "x", 1, MSG_NOSIGNAL) >= 0)
				fail("send on a refused socket succeeded");
			if (recv(s, &b, 1, 0) > 0)
				fail("user data reached the refused peer");
		}
		close(c);
		close(s);
	}
	close(lst);
	printf("# %d replies\n", i);
	return failed;
}

/* ---- phase 6: framing garbage after a good handshake ---- */

static int t_raw_frames(void)
{
	struct rng r;
	struct tlog *l = &logs[0];
	uint16_t port;
	int lst = ntcp_listener(SOCK_SEQPACKET, &port), i;
	static char in[1 << 16];

	rng_init(&r, 6, 0);
	start_watchdog(1);
	CHECK(lst >= 0, "listener");
	for (i = 0; i < 150 && !failed; i++) {
		unsigned char h[8], rep[8], frame[300];
		uint32_t fl;
		int raw = raw_connect(port), s, kind = below(&r, 5), expect;
		size_t plen, sent;
		ssize_t rc;
		struct timeval tv = { .tv_sec = 5 };

		hello(h, 1, 2, 0, 0);
		if (raw < 0 || write(raw, h, 8) != 8 || read_full(raw, rep, 8) != 8) {
			fail("handshake by hand");
			break;
		}
		s = accept(lst, NULL, NULL);
		if (s < 0) {
			fail("accept: %s", ntcp_errname(errno));
			break;
		}
		setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		plen = below(&r, 200);
		switch (kind) {
		case 0:	/* a whole record, then EOF */
			fl = plen;
			expect = 0;
			break;
		case 1:	/* length above the 16 MiB limit */
			fl = (16u << 20) + 1 + below(&r, 1 << 30);
			expect = EPROTO;
			break;
		case 2:	/* record cut by EOF */
			fl = plen + 1 + below(&r, 1000);
			expect = ECONNRESET;
			break;
		case 3:	/* header cut by EOF */
			fl = plen;
			expect = ECONNRESET;
			break;
		default: /* random header */
			fl = rnd(&r);
			expect = fl > (16u << 20) ? EPROTO :
				 fl <= plen ? 0 : ECONNRESET;
			if (expect == 0)
				plen = fl;
		}
		frame[0] = fl >> 24;
		frame[1] = fl >> 16;
		frame[2] = fl >> 8;
		frame[3] = fl;
		memset(frame + 4, 0x5a, sizeof(frame) - 4);
		sent = kind == 3 ? 1 + below(&r, 3) : 4 + plen;
		logf_(l, "frame kind %d len %u, %zu bytes sent, expect %s", kind,
		      fl, sent, expect ? ntcp_errname(expect) : "a record");
		write_full(raw, frame, sent);
		shutdown(raw, SHUT_WR);
		rc = recv(s, in, below(&r, 2) ? sizeof(in) : 1 + below(&r, 50), 0);
		logr(l, rc, errno);
		if (expect == 0) {
			if (rc < 0 || (size_t)rc > plen)
				fail("a whole %zu-byte record gave %zd", plen, rc);
			else if (recv(s, in, 1, 0) != 0)
				fail("no clean EOF after the record");
		} else if (rc >= 0 || errno != expect) {
			fail("got %zd (%s), expected %s", rc,
			     rc < 0 ? ntcp_errname(errno) : "data",
			     ntcp_errname(expect));
		}
		close(s);
		close(raw);
	}
	close(lst);
	printf("# %d framings\n", i);
	return failed;
}

/* ---- after ---- */

static long protocols_sockets(void)
{
	char line[512];
	long n = -1;
	FILE *f = fopen("/proc/net/protocols", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "NEW_TCP ", 8))
			sscanf(line + 8, "%*d %ld", &n);
	fclose(f);
	return n;
}

static long baseline_socks;

static int t_no_leak(void)
{
	long n = -1;

	for (int i = 0; i < 50; i++) {
		n = protocols_sockets();
		if (n == baseline_socks)
			break;
		usleep(100000);
	}
	printf("# NEW_TCP sockets: %ld before, %ld after\n", baseline_socks, n);
	CHECK(n == baseline_socks, "NEW_TCP sockets in /proc/net/protocols: %ld, were %ld",
	      n, baseline_socks);
	return 0;
}

static int t_still_works(void)
{
	static char out[1 << 20], in[1 << 20];
	int c, s;

	CHECK(!ntcp_pair(SOCK_STREAM, &c, &s), "pair");
	ntcp_pattern(out, sizeof(out), 9, 0);
	CHECK(write_full(c, out, sizeof(out)) == sizeof(out), "write");
	CHECK(read_full(s, in, sizeof(in)) == sizeof(in) && !memcmp(in, out, sizeof(in)),
	      "1 MiB intact");
	return 0;
}

int main(int argc, char **argv)
{
	static const struct ntcp_test tests[] = {
		{ "fuzz: random calls on random sockets, one thread", t_single, 40 },
		{ "fuzz: four threads closing, shutting down and dup2()ing shared sockets", t_threads, 40 },
		{ "fuzz: random send/recv sizes and flags match the stream and record model", t_model, 40 },
		{ "fuzz: garbage hellos at NEW_TCP listeners get the answers PROTOCOL.md gives", t_raw_hellos, 40 },
		{ "fuzz: garbage replies to NEW_TCP connects are refused, nothing leaks to the peer", t_raw_replies, 40 },
		{ "fuzz: garbage SEQPACKET framing gives records, EPROTO or ECONNRESET", t_raw_frames, 40 },
		{ "after fuzzing: no NEW_TCP socket left behind", t_no_leak, 15 },
		{ "after fuzzing: a clean pair moves 1 MiB intact", t_still_works, 15 },
	};
	size_t i;

	for (int a = 1; a + 1 < argc; a++)
		if (!strcmp(argv[a], "--seed"))
			setenv("SOCKVM_SEED", argv[a + 1], 1);
	seed = (uint32_t)tap_seed();
	probe_core();
	ntcp_suite_start(ARRAY_SIZE(tests));
	signal(SIGPIPE, SIG_IGN);
	baseline_socks = protocols_sockets();
	for (i = 0; i < ARRAY_SIZE(tests); i++) {
		char glob[256];

		cur_test = tap_next();
		if (test_selected(tests[i].name)) {
			test_glob(tests[i].name, glob, sizeof(glob));
			trail("seed %u test %d starts: %s", seed, cur_test,
			      tests[i].name);
			trail("replay: --suite fuzz --seed %u --test '%s'", seed,
			      glob);
		}
		if (!run_test(tests[i].name, tests[i].fn, tests[i].timeout))
			tap_diag("seed %u: replay with --seed %u", seed, seed);
	}
	trail("seed %u: all %zu tests ran", seed, ARRAY_SIZE(tests));
	return tap_done();
}
