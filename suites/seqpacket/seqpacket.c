// SPDX-License-Identifier: GPL-2.0
/*
 * seqpacket: SOCK_SEQPACKET NEW_TCP sockets on loopback: record
 * boundaries, MSG_EOR/MSG_TRUNC, NEWTCP_MAXMSG, zero-length records,
 * socket-type checking in the handshake.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/wait.h>

#include "ntcp.h"
#include "tap.h"

static ssize_t rmsg(int fd, void *buf, size_t len, int flags, int *oflags)
{
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t r = recvmsg(fd, &m, flags);

	*oflags = m.msg_flags;
	return r;
}

static int t_boundaries(void)
{
	static char out[60000], in[70000];
	size_t sizes[] = { 1, 1000, 60000, 7, 4096 };
	int c, s, fl, i;
	ssize_t r;

	CHECK(!ntcp_pair(SOCK_SEQPACKET, &c, &s), "pair");
	for (i = 0; i < (int)sizeof(out); i++)
		out[i] = i * 7;
	for (i = 0; i < 5; i++)
		CHECK(send(c, out, sizes[i], 0) == (ssize_t)sizes[i], "send %d", i);
	usleep(100000);
	for (i = 0; i < 5; i++) {
		r = rmsg(s, in, sizeof(in), 0, &fl);
		CHECK(r == (ssize_t)sizes[i] && !memcmp(in, out, sizes[i]),
		      "record %d: got %zd want %zu", i, r, sizes[i]);
		CHECK(fl & MSG_EOR, "MSG_EOR on record %d", i);
		CHECK(!(fl & MSG_TRUNC), "no MSG_TRUNC");
	}
	return 0;
}

static int t_trunc(void)
{
	char in[16];
	int c, s, fl;
	ssize_t r;

	CHECK(!ntcp_pair(SOCK_SEQPACKET, &c, &s), "pair");
	CHECK(send(c, "0123456789abcdef0123", 20, 0) == 20, "send");
	CHECK(send(c, "next", 4, 0) == 4, "send");
	CHECK(send(c, "third-record", 12, 0) == 12, "send");
	r = rmsg(s, in, 5, 0, &fl);
	CHECK(r == 5 && !memcmp(in, "01234", 5) && (fl & MSG_TRUNC),
	      "truncated read: %zd flags %x", r, fl);
	r = rmsg(s, in, sizeof(in), 0, &fl);
	CHECK(r == 4 && !memcmp(in, "next", 4) && (fl & MSG_EOR) &&
	      !(fl & MSG_TRUNC), "tail discarded, next record intact");
	r = rmsg(s, in, 3, MSG_TRUNC, &fl);
	CHECK(r == 12 && (fl & MSG_TRUNC), "MSG_TRUNC returns full length %zd", r);
	return 0;
}

static int t_zero_len(void)
{
	char in[8];
	int c, s, fl;

	CHECK(!ntcp_pair(SOCK_SEQPACKET, &c, &s), "pair");
	CHECK(send(c, "", 0, 0) == 0, "zero-length send");
	CHECK(send(c, "a", 1, 0) == 1, "send");
	CHECK(rmsg(s, in, sizeof(in), 0, &fl) == 0 && (fl & MSG_EOR),
	      "zero-length record with MSG_EOR");
	CHECK(rmsg(s, in, sizeof(in), 0, &fl) == 1 && in[0] == 'a', "next");
	close(c);
	CHECK(rmsg(s, in, sizeof(in), 0, &fl) == 0 && !(fl & MSG_EOR),
	      "EOF has no MSG_EOR");
	return 0;
}

static int t_maxmsg(void)
{
	static char buf[200000];
	unsigned int v = 0;
	socklen_t len = sizeof(v);
	int c, s, fl;

	CHECK(!ntcp_pair(SOCK_SEQPACKET, &c, &s), "pair");
	CHECK(!getsockopt(c, SOL_NEWTCP, NEWTCP_MAXMSG, &v, &len) && v == 65536,
	      "default 64 KiB, got %u", v);
	CHECK(send(c, buf, 65537, 0) < 0 && errno == EMSGSIZE, "EMSGSIZE");
	v = 1000;
	CHECK(!setsockopt(c, SOL_NEWTCP, NEWTCP_MAXMSG, &v, sizeof(v)), "set");
	CHECK(send(c, buf, 1001, 0) < 0 && errno == EMSGSIZE, "1001 > 1000");
	CHECK(send(c, buf, 1000, 0) == 1000, "1000 fits");
	v = 0;
	CHECK(setsockopt(c, SOL_NEWTCP, NEWTCP_MAXMSG, &v, sizeof(v)) &&
	      errno == EINVAL, "0 is EINVAL");
	v = NEWTCP_MAXMSG_MAX + 1;
	CHECK(setsockopt(c, SOL_NEWTCP, NEWTCP_MAXMSG, &v, sizeof(v)) &&
	      errno == EINVAL, "above the maximum");
	CHECK(setsockopt(c, SOL_NEWTCP, NEWTCP_MAXMSG, &v, 2) && errno == EINVAL,
	      "short optlen");
	v = 150000;
	CHECK(!setsockopt(c, SOL_NEWTCP, NEWTCP_MAXMSG, &v, sizeof(v)), "150000");
	CHECK(send(c, buf, 150000, 0) == 150000, "big record");
	CHECK(rmsg(s, buf, sizeof(buf), 0, &fl) == 1000, "first");
	CHECK(rmsg(s, buf, sizeof(buf), MSG_WAITALL, &fl) == 150000 &&
	      (fl & MSG_EOR), "big record whole");
	return 0;
}

static int t_peek_ioctl(void)
{
	char in[16];
	int c, s, fl, n = -1;

	CHECK(!ntcp_pair(SOCK_SEQPACKET, &c, &s), "pair");
	CHECK(send(c, "peekaboo", 8, 0) == 8, "send");
	usleep(100000);
	CHECK(!ioctl(s, FIONREAD, &n) && n == 8, "FIONREAD is record size %d", n);
	CHECK(rmsg(s, in, 4, MSG_PEEK, &fl) == 4 && (fl & MSG_TRUNC), "peek part");
	CHECK(rmsg(s, in, 16, MSG_PEEK, &fl) == 8 && (fl & MSG_EOR), "peek all");
	CHECK(rmsg(s, in, 16, 0, &fl) == 8 && !memcmp(in, "peekaboo", 8),
	      "read after peek");
	CHECK(rmsg(s, in, 16, MSG_DONTWAIT, &fl) < 0 && errno == EAGAIN, "EAGAIN");
	return 0;
}

/* Many records of random sizes through a non-blocking poll loop. */
static int t_many(void)
{
	static char buf[65536];
	unsigned int seed = 1, rseed = 1, sent = 0, got = 0, N = 3000;
	int c, s, fl;
	struct pollfd p[2];
	struct newtcp_info ci, si;
	socklen_t len = sizeof(ci);
	unsigned long long bytes = 0;

	CHECK(!ntcp_pair(SOCK_SEQPACKET, &c, &s), "pair");
	fcntl(c, F_SETFL, O_NONBLOCK);
	fcntl(s, F_SETFL, O_NONBLOCK);
	long long t0 = now_ms(), spins = 0, eag_tx = 0, eag_rx = 0;

	while (got < N) {
		if (++spins % 100000 == 0 || now_ms() - t0 > 40000) {
			int inq = -1;

			ioctl(s, FIONREAD, &inq);
			printf("# %lld ms: sent %u got %u spins %lld eagain tx %lld rx %lld inq %d\n",
			       now_ms() - t0, sent, got, spins, eag_tx, eag_rx, inq);
			CHECK(now_ms() - t0 < 40000, "too slow");
		}
		p[0] = (struct pollfd){ .fd = c, .events = sent < N ? POLLOUT : 0 };
		p[1] = (struct pollfd){ .fd = s, .events = POLLIN };
		CHECK(poll(p, 2, 5000) > 0, "progress at %u/%u", sent, got);
		if (p[0].revents & POLLOUT) {
			size_t n = rand_r(&seed) % 9000;

			memset(buf, sent & 0xff, n);
			if (send(c, buf, n, 0) == (ssize_t)n) {
				sent++;
				bytes += n;
			} else {
				CHECK(errno == EAGAIN, "send");
				eag_tx++;
				/* rand_r advanced: replay it to retry the size */
				seed = 1;
				for (unsigned int i = 0; i < sent; i++)
					rand_r(&seed);
			}
		}
		if (p[1].revents & POLLIN) {
			ssize_t r = rmsg(s, buf, sizeof(buf), 0, &fl);

			if (r < 0) {
				CHECK(errno == EAGAIN, "recv");
				eag_rx++;
				continue;
			}
			{
				size_t n = rand_r(&rseed) % 9000;

				CHECK((size_t)r == n && (fl & MSG_EOR),
				      "record %u: %zd want %zu", got, r, n);
				CHECK(!n || ((unsigned char)buf[0] == (got & 0xff) &&
					     (unsigned char)buf[n - 1] == (got & 0xff)),
				      "content of %u", got);
			}
			got++;
		}
	}
	CHECK(!getsockopt(c, SOL_NEWTCP, NEWTCP_INFO, &ci, &len), "info");
	len = sizeof(si);
	CHECK(!getsockopt(s, SOL_NEWTCP, NEWTCP_INFO, &si, &len), "info");
	CHECK(ci.nti_msgs_sent == N && si.nti_msgs_received == N &&
	      ci.nti_bytes_sent == bytes && si.nti_bytes_received == bytes &&
	      si.nti_type == SOCK_SEQPACKET,
	      "INFO: %llu/%llu records, %llu/%llu bytes (want %llu)",
	      (unsigned long long)ci.nti_msgs_sent,
	      (unsigned long long)si.nti_msgs_received,
	      (unsigned long long)ci.nti_bytes_sent,
	      (unsigned long long)si.nti_bytes_received, bytes);
	return 0;
}

static int t_type_mismatch(void)
{
	uint16_t port;
	int l, c, s;

	l = ntcp_listener(SOCK_STREAM, &port);
	CHECK(l >= 0, "stream listener");
	CHECK(ntcp_connect(SOCK_SEQPACKET, port) < 0 && errno == ECONNREFUSED,
	      "SEQPACKET client refused by STREAM listener");
	c = ntcp_connect(SOCK_STREAM, port);
	CHECK(c >= 0 && (s = accept(l, NULL, NULL)) >= 0, "listener still works");
	close(l);
	l = ntcp_listener(SOCK_SEQPACKET, &port);
	CHECK(ntcp_connect(SOCK_STREAM, port) < 0 && errno == ECONNREFUSED,
	      "STREAM client refused by SEQPACKET listener");
	fcntl(l, F_SETFL, O_NONBLOCK);
	CHECK(accept(l, NULL, NULL) < 0 && errno == EAGAIN, "nothing queued");
	return 0;
}

static int t_unconnected(void)
{
	int fd = socket(ntcp_family, SOCK_SEQPACKET, 0);
	char b;

	CHECK(send(fd, "x", 1, MSG_NOSIGNAL) < 0 && errno == ENOTCONN, "send");
	CHECK(recv(fd, &b, 1, 0) < 0 && errno == ENOTCONN, "recv");
	return 0;
}

static int t_blocking_big(void)
{
	static char out[1 << 20], in[1 << 20];
	unsigned int v = sizeof(out);
	int c, s, fl, i;
	pid_t pid;

	CHECK(!ntcp_pair(SOCK_SEQPACKET, &c, &s), "pair");
	CHECK(!setsockopt(c, SOL_NEWTCP, NEWTCP_MAXMSG, &v, sizeof(v)), "1 MiB");
	for (i = 0; i < (int)sizeof(out); i++)
		out[i] = i ^ (i >> 8);
	pid = fork();
	if (!pid) {
		for (i = 0; i < 8; i++)
			if (send(c, out, sizeof(out), 0) != sizeof(out))
				_exit(1);
		_exit(0);
	}
	for (i = 0; i < 8; i++) {
		ssize_t r = rmsg(s, in, sizeof(in), 0, &fl);

		CHECK(r == sizeof(in) && (fl & MSG_EOR) && !memcmp(in, out, r),
		      "1 MiB record %d: %zd", i, r);
	}
	waitpid(pid, &i, 0);
	CHECK(WIFEXITED(i) && !WEXITSTATUS(i), "sender");
	return 0;
}

/*
 * Records the TCP window cannot hold whole, read without blocking: the
 * sender fills the pipe first, so the receiver's window is shut with a
 * record half in.  A reader that waits for the record to gather in TCP
 * waits forever; each record must still come, by peek and then by read.
 */
static int t_nb_window(void)
{
	enum { RLEN = 20000 };
	static char buf[RLEN + 1];
	int c, s, fl, n, sent = 0, got = 0;
	long long t0;
	ssize_t r;

	CHECK(!ntcp_pair(SOCK_SEQPACKET, &c, &s), "pair");
	fcntl(c, F_SETFL, O_NONBLOCK);
	fcntl(s, F_SETFL, O_NONBLOCK);
	for (;;) {
		memset(buf, sent & 0xff, RLEN);
		if (send(c, buf, RLEN, 0) < 0) {
			CHECK(errno == EAGAIN, "send");
			break;
		}
		sent++;
	}
	usleep(200000);
	printf("# %d records of %d bytes queued\n", sent, RLEN);
	t0 = now_ms();
	while (got < sent) {
		struct pollfd p = { .fd = s, .events = POLLIN };
		int flags = got & 1 ? MSG_PEEK : 0;

		CHECK(now_ms() - t0 < 10000, "stuck at record %d of %d", got, sent);
		CHECK(poll(&p, 1, 3000) == 1, "record %d of %d never readable",
		      got, sent);
		r = rmsg(s, buf, sizeof(buf), flags, &fl);
		if (r < 0) {
			CHECK(errno == EAGAIN, "recv");
			continue;
		}
		CHECK(r == RLEN && (fl & MSG_EOR) &&
		      (unsigned char)buf[0] == (got & 0xff) &&
		      (unsigned char)buf[RLEN - 1] == (got & 0xff),
		      "record %d: %zd bytes, first %d", got, r,
		      (unsigned char)buf[0]);
		if (flags) {
			CHECK(!ioctl(s, FIONREAD, &n) && n == RLEN,
			      "FIONREAD %d after peek", n);
			CHECK(rmsg(s, buf, sizeof(buf), MSG_DONTWAIT, &fl) == RLEN,
			      "read after peek");
		}
		got++;
	}
	return 0;
}

/* ---- interleaved senders ------------------------------------------------ */

#define NSEND		4
#define NREC		200
#define REC_MAX		65536	/* the default NEWTCP_MAXMSG */
#define REC_MAGIC	0x52454331u

/*
 * A record of @len >= sizeof(struct rec_tag) starts with this tag; the
 * rest is pattern (seed rec_seed(id, seq), offsets from the record's
 * start).  Records are 0 bytes or at least a tag long: a zero-length
 * record carries nothing, so those are only counted.
 */
struct rec_tag {
	uint32_t magic, id, seq, len;
};

static uint32_t rec_len[NSEND][NREC];

static uint64_t rec_seed(uint32_t id, uint32_t seq)
{
	return (uint64_t)id << 32 | seq;
}

static uint32_t rec_xs(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* Sizes: 1/16 empty, 3/16 small, the rest anything up to REC_MAX. */
static void rec_plan(void)
{
	uint32_t s, r, id, i;

	for (id = 0; id < NSEND; id++) {
		s = 0x9e3779b9u * (id + 1);
		for (i = 0; i < NREC; i++) {
			r = rec_xs(&s);
			if ((r & 15) == 0)
				rec_len[id][i] = 0;
			else if ((r & 15) < 4)
				rec_len[id][i] = sizeof(struct rec_tag) +
						 (r >> 8) % 241;
			else
				rec_len[id][i] = sizeof(struct rec_tag) +
					(r >> 8) % (REC_MAX + 1 -
						    sizeof(struct rec_tag));
		}
	}
}

struct rec_sender {
	int fd, id, nonblock;
	long eagain;
	int rc;
};

static void rec_fill(char *buf, uint32_t id, uint32_t seq, uint32_t len)
{
	struct rec_tag t = { REC_MAGIC, id, seq, len };

	if (!len)
		return;
	memcpy(buf, &t, sizeof(t));
	ntcp_pattern(buf + sizeof(t), len - sizeof(t), rec_seed(id, seq),
		     sizeof(t));
}

/* Sends sender @id's NREC records; without blocking, retries on EAGAIN. */
static void *rec_send(void *arg)
{
	struct rec_sender *x = arg;
	char *buf = malloc(REC_MAX);
	uint32_t i, n;
	ssize_t r;

	x->rc = 1;
	if (!buf)
		return NULL;
	for (i = 0; i < NREC; i++) {
		n = rec_len[x->id][i];
		rec_fill(buf, x->id, i, n);
		for (;;) {
			r = send(x->fd, buf, n, MSG_NOSIGNAL |
				 (x->nonblock ? MSG_DONTWAIT : 0));
			if (r >= 0 || !x->nonblock || errno != EAGAIN)
				break;
			x->eagain++;
			if (x->eagain % 4) {
				struct pollfd p = { .fd = x->fd,
						    .events = POLLOUT };

				poll(&p, 1, 100);
			} else {
				usleep(500);	/* EAGAIN from the send lock */
			}
		}
		if (r != (ssize_t)n) {
			printf("# sender %d record %u: send %zd of %u (%s)\n",
			       x->id, i, r, n, ntcp_errname(errno));
			goto out;
		}
	}
	x->rc = 0;
out:
	free(buf);
	return NULL;
}

/* Checks one received record of @r bytes; 0, or 1 after saying why. */
static int rec_check(const char *buf, ssize_t r, uint32_t *next,
		     long *zeros)
{
	struct rec_tag t;
	uint32_t id;
	size_t bad;

	if (!r) {
		(*zeros)++;
		return 0;
	}
	CHECK(r >= (ssize_t)sizeof(t), "a %zd-byte record: no sender makes one",
	      r);
	memcpy(&t, buf, sizeof(t));
	CHECK(t.magic == REC_MAGIC && t.id < NSEND && t.len == r,
	      "%zd-byte record tagged %08x id %u seq %u len %u: not a record's start",
	      r, t.magic, t.id, t.seq, t.len);
	id = t.id;
	while (next[id] < NREC && !rec_len[id][next[id]])
		next[id]++;	/* its empty records are only counted */
	CHECK(next[id] < NREC && t.seq == next[id],
	      "sender %u: record %u arrived, %u expected", id, t.seq,
	      next[id]);
	CHECK(t.len == rec_len[id][t.seq], "sender %u record %u: %u bytes, sent %u",
	      id, t.seq, t.len, rec_len[id][t.seq]);
	bad = ntcp_pattern_check(buf + sizeof(t), r - sizeof(t),
				 rec_seed(id, t.seq), sizeof(t));
	CHECK(bad == r - sizeof(t),
	      "sender %u record %u (%zd bytes): wrong byte at %zu", id, t.seq,
	      r, sizeof(t) + bad);
	next[id]++;
	return 0;
}

/*
 * NSEND senders share one socket: two threads and two processes, all
 * blocking, or with the last one sending MSG_DONTWAIT and retrying on
 * EAGAIN.  The peer must get every record whole, each sender's in order.
 */
static int interleaved(int nonblock)
{
	static struct rec_sender x[NSEND];
	static char buf[REC_MAX + 1];
	struct timeval tv = { .tv_sec = 10 };
	uint32_t next[NSEND] = { 0 }, id;
	long zeros = 0, want_zeros = 0, want = 0, got = 0;
	long long t0 = now_ms(), bytes = 0;
	pthread_t th[NSEND];
	pid_t pid[NSEND] = { 0 };
	int c, s, fl, i, st;
	ssize_t r;

	rec_plan();
	for (id = 0; id < NSEND; id++)
		for (i = 0; i < NREC; i++) {
			want += rec_len[id][i] != 0;
			want_zeros += !rec_len[id][i];
		}
	CHECK(!ntcp_pair(SOCK_SEQPACKET, &c, &s), "pair");
	CHECK(!setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), "tmo");
	for (id = 0; id < NSEND; id++) {
		x[id] = (struct rec_sender){ .fd = c, .id = id,
			.nonblock = nonblock && id == NSEND - 1 };
		if (id < 2)
			continue;
		pid[id] = fork();
		CHECK(pid[id] >= 0, "fork");
		if (!pid[id]) {
			close(s);
			rec_send(&x[id]);
			if (x[id].nonblock)
				printf("# non-blocking sender: %ld EAGAIN\n",
				       x[id].eagain);
			fflush(stdout);
			_exit(x[id].rc);
		}
	}
	for (id = 0; id < 2; id++)
		CHECK(!pthread_create(&th[id], NULL, rec_send, &x[id]), "thread");

	while (got + zeros < want + want_zeros) {
		r = rmsg(s, buf, sizeof(buf), 0, &fl);
		CHECK(r >= 0, "recv after %ld records and %ld empty ones", got,
		      zeros);
		CHECK(r || (fl & MSG_EOR), "EOF after %ld records and %ld empty ones",
		      got, zeros);
		CHECK((fl & MSG_EOR) && !(fl & MSG_TRUNC) && r <= REC_MAX,
		      "record %ld: %zd bytes, flags %x", got, r, fl);
		if (rec_check(buf, r, next, &zeros))
			return 1;
		got += r > 0;
		bytes += r;
	}
	for (id = 0; id < 2; id++) {
		pthread_join(th[id], NULL);
		CHECK(!x[id].rc, "sender thread %u", id);
	}
	for (id = 2; id < NSEND; id++) {
		waitpid(pid[id], &st, 0);
		CHECK(WIFEXITED(st) && !WEXITSTATUS(st), "sender process %u", id);
	}
	close(c);
	r = rmsg(s, buf, sizeof(buf), 0, &fl);
	CHECK(r == 0 && !(fl & MSG_EOR), "EOF after the last record: %zd, %x",
	      r, fl);
	for (id = 0; id < NSEND; id++) {
		while (next[id] < NREC && !rec_len[id][next[id]])
			next[id]++;
		CHECK(next[id] == NREC, "sender %u: %u records", id, next[id]);
	}
	CHECK(zeros == want_zeros, "%ld empty records, %ld sent", zeros,
	      want_zeros);
	printf("# %ld records (%ld empty), %lld bytes in %lld ms\n",
	       got + zeros, zeros, bytes, now_ms() - t0);
	return 0;
}

static int t_interleaved(void) { return interleaved(0); }
static int t_interleaved_nb(void) { return interleaved(1); }

int main(void)
{
	static const struct ntcp_test tests[] = {
		{ "record boundaries kept, MSG_EOR on each", t_boundaries, 10 },
		{ "MSG_TRUNC: short buffer truncates, tail dropped, full length on request", t_trunc, 10 },
		{ "zero-length records, EOF without MSG_EOR", t_zero_len, 10 },
		{ "NEWTCP_MAXMSG: default, EMSGSIZE, bounds, big records", t_maxmsg, 10 },
		{ "MSG_PEEK, FIONREAD record size, EAGAIN", t_peek_ioctl, 10 },
		{ "3000 random-size records non-blocking, NEWTCP_INFO counts", t_many, 60 },
		{ "non-blocking reads of records the TCP window cannot hold", t_nb_window, 30 },
		{ "1 MiB records blocking", t_blocking_big, 30 },
		{ "socket type mismatch refused both ways, listener survives", t_type_mismatch, 10 },
		{ "unconnected: ENOTCONN", t_unconnected, 10 },
		{ "interleaved senders: 4 threads and processes sending records on one socket, every record arrives whole", t_interleaved, 60 },
		{ "interleaved senders, one non-blocking retrying on EAGAIN: every record arrives whole", t_interleaved_nb, 60 },
	};

	return ntcp_run_suite(tests, ARRAY_SIZE(tests));
}
