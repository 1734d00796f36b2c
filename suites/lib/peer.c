// SPDX-License-Identifier: GPL-2.0
/* Two-guest suites: link, control channel, data service; see peer.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "ntcp.h"
#include "peer.h"
#include "tap.h"

/* Made by peer_kill(): the peer guest is gone for good. */
#define PEER_KILLED_MARK "/tmp/sockvm-peer-killed"

struct peer_args peer_cfg;
static struct peer_counters peer_counters;
struct peer_counters *peer_ctr = &peer_counters;

#define CHUNK	65536

static const char *argval(int argc, char **argv, const char *name)
{
	for (int i = 1; i + 1 < argc; i++)
		if (!strcmp(argv[i], name))
			return argv[i + 1];
	return NULL;
}

void peer_parse(int argc, char **argv, struct peer_args *a)
{
	FILE *f;

	memset(a, 0, sizeof(*a));
	a->role = argval(argc, argv, "--role");
	a->local = argval(argc, argv, "--local");
	a->peer = argval(argc, argv, "--peer");
	if (!a->role || !a->local || !a->peer)
		tap_bail("a two-guest suite needs --role server|client --local IP --peer IP");
	if (inet_pton(AF_INET, a->local, &a->local_ip) != 1 ||
	    inet_pton(AF_INET, a->peer, &a->peer_ip) != 1)
		tap_bail("bad --local %s or --peer %s", a->local, a->peer);
	f = fopen("/run/sockvm-link", "r");
	if (!f || fscanf(f, "%31s", a->link) != 1)
		tap_bail("cannot read the link interface name from /run/sockvm-link");
	fclose(f);
	if (&peer_cfg != a)
		peer_cfg = *a;
}

struct sockaddr_newtcp peer_addr(struct in_addr ip, uint16_t port)
{
	struct sockaddr_newtcp a;

	memset(&a, 0, sizeof(a));
	a.snt_family = ntcp_family;
	a.snt_port = htons(port);
	a.snt_addr = ip;
	return a;
}

int peer_connect(int type, uint16_t port)
{
	struct sockaddr_newtcp a = peer_addr(peer_cfg.peer_ip, port);

	return ntcp_connect_addr(type, &a);
}

int peer_tcp_connect(uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	a.sin_addr = peer_cfg.peer_ip;
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

long long peer_link_stat(const char *which)
{
	char path[160];
	long long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/class/net/%s/statistics/%s",
		 peer_cfg.link, which);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fscanf(f, "%lld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

const char *peer_link_driver(char *buf, size_t len)
{
	char path[160], target[256];
	ssize_t n;
	const char *base;

	snprintf(path, sizeof(path), "/sys/class/net/%s/device/driver",
		 peer_cfg.link);
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		n = 0;
	target[n] = 0;
	base = strrchr(target, '/');
	snprintf(buf, len, "%s", base ? base + 1 : target);
	return buf;
}

int peer_sh(const char *fmt, ...)
{
	char cmd[512], line[256];
	va_list ap;
	FILE *p;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd) - 8, fmt, ap);
	va_end(ap);
	strcat(cmd, " 2>&1");
	fflush(stdout);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	while (fgets(line, sizeof(line), p)) {
		line[strcspn(line, "\n")] = 0;
		printf("#   %s\n", line);
	}
	fflush(stdout);
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* ---- control channel ---- */

int ctl_open(int wait_ms)
{
	long long end = now_ms() + wait_ms;
	struct timeval tv = { .tv_sec = 30 };
	int fd, one = 1;

	for (;;) {
		fd = peer_tcp_connect(PEER_PORT_CTL);
		if (fd >= 0)
			break;
		if (now_ms() >= end)
			return -1;
		usleep(100000);
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

static int read_line(int fd, char *buf, size_t len)
{
	size_t n = 0;

	while (n + 1 < len) {
		ssize_t r = read(fd, buf + n, 1);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return n ? (int)n : -1;
		if (buf[n] == '\n')
			break;
		n++;
	}
	buf[n] = 0;
	return n;
}

int ctl_cmd(int fd, char *reply, size_t len, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	line[n++] = '\n';
	if (write_full(fd, line, n) != n) {
		snprintf(reply, len, "err control write: %s", strerror(errno));
		return -1;
	}
	if (read_line(fd, reply, len) < 0) {
		snprintf(reply, len, "err control read: %s",
			 errno ? strerror(errno) : "EOF");
		return -1;
	}
	return strncmp(reply, "ok", 2) ? -1 : 0;
}

long long ctl_val(const char *reply, const char *key)
{
	char pat[64];
	const char *p;

	snprintf(pat, sizeof(pat), " %s=", key);
	p = strstr(reply, pat);
	if (!p)
		return -1;
	return strtoll(p + strlen(pat), NULL, 0);
}

long long ctl_query(int fd, const char *cmd, const char *key)
{
	char reply[512];

	if (ctl_cmd(fd, reply, sizeof(reply), "%s", cmd))
		return -1;
	return ctl_val(reply, key);
}

/* ---- patterns ---- */

static uint64_t splitmix(uint64_t x)
{
	uint64_t z = x + 0x9e3779b97f4a7c15ULL;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t pat_word(uint32_t seed, uint64_t k)
{
	return splitmix(((uint64_t)seed << 40) ^ k);
}

void pat_fill(uint32_t seed, uint64_t off, void *buf, size_t len)
{
	unsigned char *p = buf;
	uint64_t w;

	while (len && (off & 7)) {
		*p++ = pat_word(seed, off >> 3) >> ((off & 7) * 8);
		off++;
		len--;
	}
	while (len >= 8) {
		w = pat_word(seed, off >> 3);
		memcpy(p, &w, 8);
		p += 8;
		off += 8;
		len -= 8;
	}
	while (len) {
		*p++ = pat_word(seed, off >> 3) >> ((off & 7) * 8);
		off++;
		len--;
	}
}

long long pat_check(uint32_t seed, uint64_t off, const void *buf, size_t len)
{
	static __thread unsigned char exp[4096];
	const unsigned char *p = buf;
	size_t done = 0, n, i;

	while (done < len) {
		n = len - done < sizeof(exp) ? len - done : sizeof(exp);
		pat_fill(seed, off + done, exp, n);
		if (memcmp(exp, p + done, n)) {
			for (i = 0; i < n; i++)
				if (exp[i] != p[done + i])
					return off + done + i;
		}
		done += n;
	}
	return -1;
}

uint32_t pat_rec_len(uint32_t seed, uint32_t i, uint32_t max)
{
	uint64_t r = splitmix(((uint64_t)seed << 32) ^ (i * 0x9e3779b1ULL) ^ 0x5ec);

	switch (r & 15) {
	case 0:
		return 0;
	case 1:
		return max;
	case 2:
		return 1;
	default:
		return (r >> 8) % (max + 1ULL);
	}
}

static uint32_t rec_seed(uint32_t seed, uint32_t i)
{
	return seed ^ (i * 0x9e3779b1U) ^ 0xa5a5;
}

/* ---- requests ---- */

/* A header as one record (SEQPACKET) or in full (STREAM); 0 when all went. */
static int ds_put(int fd, int type, const void *buf, size_t n)
{
	if (type == SOCK_SEQPACKET)
		return send(fd, buf, n, MSG_NOSIGNAL) == (ssize_t)n ? 0 : -1;
	return write_full(fd, buf, n) == (ssize_t)n ? 0 : -1;
}

/* Read a header sent by ds_put(); 0 when all @n bytes came. */
static int ds_get(int fd, int type, void *buf, size_t n)
{
	ssize_t got;

	if (type == SOCK_SEQPACKET)
		got = recv(fd, buf, n, 0);
	else
		got = read_full(fd, buf, n);
	return got == (ssize_t)n ? 0 : -1;
}

int ds_send_req(int fd, int type, const struct ds_req *r)
{
	struct ds_req w = {
		.magic = htonl(r->magic), .op = htonl(r->op),
		.size = htobe64(r->size), .seed = htonl(r->seed),
		.arg = htonl(r->arg), .arg2 = htonl(r->arg2),
		.maxrec = htonl(r->maxrec),
	};

	return ds_put(fd, type, &w, sizeof(w));
}

static int ds_read_req(int fd, int type, struct ds_req *r)
{
	if (ds_get(fd, type, r, sizeof(*r)))
		return -1;
	r->magic = ntohl(r->magic);
	r->op = ntohl(r->op);
	r->size = be64toh(r->size);
	r->seed = ntohl(r->seed);
	r->arg = ntohl(r->arg);
	r->arg2 = ntohl(r->arg2);
	r->maxrec = ntohl(r->maxrec);
	return r->magic == DS_MAGIC ? 0 : -1;
}

static int ds_send_resp(int fd, int type, const struct ds_resp *r)
{
	struct ds_resp w = {
		.status = htonl(r->status), .records = htonl(r->records),
		.bytes = htobe64(r->bytes), .bad_off = htobe64(r->bad_off),
	};

	return ds_put(fd, type, &w, sizeof(w));
}

int ds_read_resp(int fd, int type, struct ds_resp *r)
{
	if (ds_get(fd, type, r, sizeof(*r)))
		return -1;
	r->status = ntohl(r->status);
	r->records = ntohl(r->records);
	r->bytes = be64toh(r->bytes);
	r->bad_off = be64toh(r->bad_off);
	return 0;
}

/* ---- client halves ---- */

int ds_stream_send(int fd, uint32_t seed, uint64_t size)
{
	static __thread unsigned char buf[CHUNK];
	uint64_t off = 0;
	size_t n;

	while (off < size) {
		n = size - off < CHUNK ? size - off : CHUNK;
		pat_fill(seed, off, buf, n);
		if (write_full(fd, buf, n) != (ssize_t)n) {
			printf("# stream send: write at offset %llu of %llu: %s\n",
			       (unsigned long long)off, (unsigned long long)size,
			       ntcp_errname(errno));
			return 1;
		}
		off += n;
	}
	return 0;
}

int ds_stream_recv(int fd, uint32_t seed, uint64_t size)
{
	static __thread unsigned char buf[CHUNK];
	uint64_t off = 0;
	long long bad;
	ssize_t r;

	while (off < size) {
		size_t n = size - off < CHUNK ? size - off : CHUNK;

		r = read(fd, buf, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			printf("# stream recv: %s at offset %llu of %llu\n",
			       r ? ntcp_errname(errno) : "EOF",
			       (unsigned long long)off, (unsigned long long)size);
			return 1;
		}
		bad = pat_check(seed, off, buf, r);
		if (bad >= 0) {
			printf("# stream recv: data differs at offset %lld\n", bad);
			return 1;
		}
		off += r;
	}
	return 0;
}

int ds_seq_send(int fd, uint32_t seed, uint64_t size, uint32_t maxrec,
		uint32_t *records)
{
	unsigned char *buf = malloc(maxrec + 1);
	uint64_t sent = 0;
	uint32_t i = 0, len;
	ssize_t r;

	while (sent < size) {
		len = pat_rec_len(seed, i, maxrec);
		if (len > size - sent)
			len = size - sent;
		pat_fill(rec_seed(seed, i), 0, buf, len);
		r = send(fd, buf, len, MSG_NOSIGNAL);
		if (r != (ssize_t)len) {
			printf("# seq send: record %u (%u bytes) returned %zd: %s\n",
			       i, len, r, ntcp_errname(errno));
			free(buf);
			return 1;
		}
		sent += len;
		i++;
	}
	free(buf);
	if (records)
		*records = i;
	return 0;
}

/* Receive and verify one record stream; 0 or 1, with *why set. */
static int seq_recv_check(int fd, uint32_t seed, uint64_t size,
			  uint32_t maxrec, uint32_t *records,
			  struct ds_resp *why)
{
	unsigned char *buf = malloc((size_t)maxrec + 1);
	uint64_t got = 0;
	uint32_t i = 0, len;
	long long bad;
	ssize_t r;

	memset(why, 0, sizeof(*why));
	while (got < size) {
		struct iovec iov = { .iov_base = buf, .iov_len = maxrec + 1 };
		struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };

		len = pat_rec_len(seed, i, maxrec);
		if (len > size - got)
			len = size - got;
		r = recvmsg(fd, &m, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 || (r == 0 && !(m.msg_flags & MSG_EOR))) {
			printf("# seq recv: record %u: %s after %llu bytes\n", i,
			       r ? ntcp_errname(errno) : "EOF",
			       (unsigned long long)got);
			why->status = 2;
			goto fail;
		}
		if ((size_t)r != len || (m.msg_flags & MSG_TRUNC)) {
			printf("# seq recv: record %u is %zd bytes (flags %x), expected %u\n",
			       i, r, m.msg_flags, len);
			why->status = 3;
			why->bad_off = i;
			goto fail;
		}
		bad = pat_check(rec_seed(seed, i), 0, buf, len);
		if (bad >= 0) {
			printf("# seq recv: record %u differs at byte %lld\n", i,
			       bad);
			why->status = 1;
			why->bad_off = i;
			goto fail;
		}
		got += len;
		i++;
	}
	free(buf);
	why->records = i;
	why->bytes = got;
	if (records)
		*records = i;
	return 0;
fail:
	free(buf);
	why->records = i;
	why->bytes = got;
	return 1;
}

int ds_seq_recv(int fd, uint32_t seed, uint64_t size, uint32_t maxrec,
		uint32_t *records)
{
	struct ds_resp why;

	return seq_recv_check(fd, seed, size, maxrec, records, &why);
}

/* ---- client transfers ---- */

__thread struct newtcp_info ds_last_info;

static void ds_save_info(int fd)
{
	socklen_t len = sizeof(ds_last_info);

	memset(&ds_last_info, 0, sizeof(ds_last_info));
	getsockopt(fd, SOL_NEWTCP, NEWTCP_INFO, &ds_last_info, &len);
}

/* Connect and send a data-service request. */
int ds_open(int type, uint32_t op, uint64_t size, uint32_t seed,
		   uint32_t maxrec)
{
	struct ds_req q = { DS_MAGIC, op, size, seed, 0, 0, maxrec };
	int fd = peer_connect(type, type == SOCK_STREAM ? PEER_PORT_STREAM :
					PEER_PORT_SEQ);

	if (fd < 0) {
		printf("# connect to %s:%d: %s\n", peer_cfg.peer,
		       type == SOCK_STREAM ? PEER_PORT_STREAM : PEER_PORT_SEQ,
		       ntcp_errname(errno));
		return -1;
	}
	if (type == SOCK_SEQPACKET && maxrec > 65536)
		setsockopt(fd, SOL_NEWTCP, NEWTCP_MAXMSG, &maxrec, sizeof(maxrec));
	if (ds_send_req(fd, type, &q)) {
		printf("# sending the request: %s\n", ntcp_errname(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* Client -> peer, verified by the peer.  0 on success. */
int ds_sink(int type, uint64_t size, uint32_t seed, uint32_t maxrec,
		long long *ms)
{
	struct ds_resp r;
	long long t0 = now_ms();
	int fd = ds_open(type, DS_SINK, size, seed, maxrec);

	CHECK(fd >= 0, "connect");
	if (type == SOCK_STREAM)
		CHECK(!ds_stream_send(fd, seed, size), "send %llu bytes",
		      (unsigned long long)size);
	else
		CHECK(!ds_seq_send(fd, seed, size, maxrec, NULL), "send records");
	CHECK(!ds_read_resp(fd, type, &r), "the peer's verdict");
	if (ms)
		*ms = now_ms() - t0;
	CHECK(r.status == 0 && r.bytes == size,
	      "the peer verified status %u, %llu of %llu bytes, first bad %llu",
	      r.status, (unsigned long long)r.bytes, (unsigned long long)size,
	      (unsigned long long)r.bad_off);
	ds_save_info(fd);
	close(fd);
	return 0;
}

/* Peer -> client, verified here.  0 on success. */
int ds_source(int type, uint64_t size, uint32_t seed, uint32_t maxrec,
		  long long *ms)
{
	long long t0 = now_ms();
	int fd = ds_open(type, DS_SOURCE, size, seed, maxrec);
	char c;

	CHECK(fd >= 0, "connect");
	if (type == SOCK_STREAM)
		CHECK(!ds_stream_recv(fd, seed, size), "receive %llu bytes",
		      (unsigned long long)size);
	else
		CHECK(!ds_seq_recv(fd, seed, size, maxrec, NULL), "receive records");
	if (ms)
		*ms = now_ms() - t0;
	CHECK(recv(fd, &c, 1, 0) == 0, "EOF after the data");
	ds_save_info(fd);
	close(fd);
	return 0;
}


static void *dx_send(void *arg)
{
	struct ds_dx *d = arg;

	if (d->type == SOCK_STREAM)
		d->rc = ds_stream_send(d->fd, d->seed, d->size);
	else
		d->rc = ds_seq_send(d->fd, d->seed, d->size, d->maxrec, NULL);
	return NULL;
}

/* Echo @size through the peer, sending and receiving at once. */
int ds_duplex_fd(int fd, int type, uint64_t size, uint32_t seed,
		 uint32_t maxrec, long long *ms)
{
	struct ds_dx d = { .fd = fd, .type = type, .seed = seed, .size = size,
			   .maxrec = maxrec };
	long long t0 = now_ms();
	pthread_t th;
	int rc;

	pthread_create(&th, NULL, dx_send, &d);
	if (type == SOCK_STREAM)
		rc = ds_stream_recv(d.fd, seed, size);
	else
		rc = ds_seq_recv(d.fd, seed, size, maxrec, NULL);
	pthread_join(th, NULL);
	if (ms)
		*ms = now_ms() - t0;
	CHECK(!d.rc, "sending");
	CHECK(!rc, "the echo came back intact");
	ds_save_info(d.fd);
	close(d.fd);
	return 0;
}

int ds_duplex(int type, uint64_t size, uint32_t seed, uint32_t maxrec,
	      long long *ms)
{
	int fd = ds_open(type, DS_ECHO, 0, seed, maxrec);

	CHECK(fd >= 0, "connect");
	return ds_duplex_fd(fd, type, size, seed, maxrec, ms);
}

/* ---- server ---- */

static int listen_on(int family, int type, uint16_t port)
{
	struct sockaddr_newtcp a = peer_addr(peer_cfg.local_ip, port);
	int fd, one = 1;

	if (family == AF_INET)
		a.snt_family = AF_INET;
	fd = socket(family, type, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 128)) {
		printf("# server: bind/listen on port %u: %s\n", port,
		       strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

struct conn {
	int fd;
	int type;	/* SOCK_STREAM/SOCK_SEQPACKET data service, or -port */
};

static void stream_sink(int fd, const struct ds_req *q)
{
	static __thread unsigned char buf[CHUNK];
	struct ds_resp resp = { .bad_off = UINT64_MAX };
	long long bad;
	ssize_t r;

	while (resp.bytes < q->size) {
		size_t n = q->size - resp.bytes < CHUNK ? q->size - resp.bytes : CHUNK;

		r = read(fd, buf, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			resp.status = 2;
			break;
		}
		bad = pat_check(q->seed, resp.bytes, buf, r);
		if (bad >= 0 && !resp.status) {
			resp.status = 1;
			resp.bad_off = bad;
		}
		resp.bytes += r;
	}
	__atomic_fetch_add(resp.status ? &peer_ctr->failed : &peer_ctr->verified,
			   1, __ATOMIC_RELAXED);
	ds_send_resp(fd, SOCK_STREAM, &resp);
}

static void drain(int fd)
{
	static __thread char buf[4096];

	while (read(fd, buf, sizeof(buf)) > 0)
		;
}

/* A dying writer's word that it starts writing now. */
static void ds_tell_started(int fd)
{
	if (write(fd, "w", 1) < 0)
		_exit(1);
	close(fd);
}

static void serve_data(int fd, int type)
{
	static __thread unsigned char sbuf[CHUNK];
	struct ds_req q;
	struct ds_resp resp;
	unsigned char *buf;
	ssize_t r;
	pid_t pid;
	int started[2];

	if (ds_read_req(fd, type, &q)) {
		printf("# server: bad or missing request on a %s connection\n",
		       type == SOCK_STREAM ? "stream" : "seqpacket");
		return;
	}
	if (type == SOCK_SEQPACKET && q.maxrec > 65536) {
		uint32_t m = q.maxrec;

		setsockopt(fd, SOL_NEWTCP, NEWTCP_MAXMSG, &m, sizeof(m));
	}
	switch (q.op) {
	case DS_SINK:
		if (type == SOCK_STREAM) {
			stream_sink(fd, &q);
		} else {
			seq_recv_check(fd, q.seed, q.size, q.maxrec, NULL, &resp);
			__atomic_fetch_add(resp.status ? &peer_ctr->failed :
					   &peer_ctr->verified, 1, __ATOMIC_RELAXED);
			ds_send_resp(fd, type, &resp);
		}
		drain(fd);
		break;
	case DS_SOURCE:
		if (type == SOCK_STREAM)
			ds_stream_send(fd, q.seed, q.size);
		else
			ds_seq_send(fd, q.seed, q.size, q.maxrec, NULL);
		shutdown(fd, SHUT_WR);
		drain(fd);
		break;
	case DS_ECHO:
		buf = malloc((size_t)(q.maxrec ? q.maxrec : CHUNK) + 1);
		for (;;) {
			struct iovec iov = {
				.iov_base = buf,
				.iov_len = q.maxrec ? q.maxrec + 1 : CHUNK,
			};
			struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };

			r = recvmsg(fd, &m, 0);
			if (r < 0 && errno == EINTR)
				continue;
			/* An empty record carries MSG_EOR, EOF does not. */
			if (r < 0 || (r == 0 && (type == SOCK_STREAM ||
						 !(m.msg_flags & MSG_EOR))))
				break;
			if (type == SOCK_SEQPACKET) {
				if (send(fd, buf, r, MSG_NOSIGNAL) != r)
					break;
			} else if (write_full(fd, buf, r) != r) {
				break;
			}
		}
		free(buf);
		break;
	case DS_DIE_READ:
	case DS_DIE_WRITE:
		/*
		 * The writer says when it starts writing: the kill must land
		 * mid-transfer however long preparing the data takes (16 MiB
		 * of pattern is slow on a KASAN kernel under TCG).
		 */
		if (pipe(started))
			started[0] = started[1] = -1;
		pid = fork();
		if (pid == 0) {
			close(started[0]);
			if (q.arg2) {
				struct linger lg = { 1, 0 };

				setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
			}
			if (q.op == DS_DIE_READ) {
				uint64_t got = 0;

				while (got < q.arg) {
					r = read(fd, sbuf, CHUNK);
					if (r <= 0)
						break;
					got += r;
				}
				/* No stdio: another thread may hold its lock. */
				char line[80];
				int n = snprintf(line, sizeof(line),
						 "# server: dying after reading %llu bytes\n",
						 (unsigned long long)got);

				if (write(1, line, n) < 0)
					_exit(1);
				_exit(0);
			}
			if (type == SOCK_STREAM) {
				ds_tell_started(started[1]);
				ds_stream_send(fd, q.seed, q.size);
			} else {
				uint32_t m = NEWTCP_MAXMSG_MAX;

				setsockopt(fd, SOL_NEWTCP, NEWTCP_MAXMSG, &m, sizeof(m));
				buf = malloc(q.size);
				pat_fill(q.seed, 0, buf, q.size);
				ds_tell_started(started[1]);
				send(fd, buf, q.size, MSG_NOSIGNAL);
			}
			pause();
			_exit(0);
		}
		close(fd);
		close(started[1]);
		if (pid > 0 && q.op == DS_DIE_WRITE) {
			struct pollfd p = { .fd = started[0], .events = POLLIN };

			if (started[0] >= 0)
				poll(&p, 1, 30000);
			usleep(q.arg * 1000);
			printf("# server: killing the writer after %u ms\n", q.arg);
			kill(pid, SIGKILL);
		}
		close(started[0]);
		if (pid > 0)
			waitpid(pid, NULL, 0);
		return;
	case DS_HOLD:
	default:
		drain(fd);
		break;
	}
}

static void serve_plain(int fd, int port)
{
	char buf[4096];
	ssize_t r;

	__atomic_fetch_add(&peer_ctr->plain_conns, 1, __ATOMIC_RELAXED);
	switch (port) {
	case PEER_PORT_HANGUP:
		read_full(fd, buf, 8);
		break;
	case PEER_PORT_ECHO:
		while ((r = read(fd, buf, sizeof(buf))) > 0) {
			__atomic_fetch_add(&peer_ctr->plain_bytes, r,
					   __ATOMIC_RELAXED);
			if (write_full(fd, buf, r) != r)
				break;
		}
		break;
	case PEER_PORT_BANNER:
		write_full(fd, "SSH-2.0-sockvm\r\n", 16);
		sleep(1);
		break;
	case PEER_PORT_SILENT:
		sleep(6);
		break;
	}
}

static void *conn_thread(void *arg)
{
	struct conn *c = arg;

	if (c->type > 0)
		serve_data(c->fd, c->type);
	else
		serve_plain(c->fd, -c->type);
	close(c->fd);
	free(c);
	return NULL;
}

struct lsn {
	int fd, type;
	long *counter;
};

static void spawn(void *(*fn)(void *), void *arg)
{
	pthread_attr_t at;
	pthread_t t;

	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&at, 2 << 20);
	if (pthread_create(&t, &at, fn, arg))
		printf("# server: pthread_create failed\n");
	pthread_attr_destroy(&at);
}

static void *accept_thread(void *arg)
{
	struct lsn *l = arg;

	for (;;) {
		int fd = accept(l->fd, NULL, NULL);
		struct conn *c;

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED ||
			    errno == EAGAIN)
				continue;
			printf("# server: accept: %s\n", strerror(errno));
			sleep(1);
			continue;
		}
		if (l->counter)
			__atomic_fetch_add(l->counter, 1, __ATOMIC_RELAXED);
		c = malloc(sizeof(*c));
		c->fd = fd;
		c->type = l->type;
		spawn(conn_thread, c);
	}
	return NULL;
}

static pid_t linkdown_pids[16];
static int linkdown_n;

static void reap_linkdowns(void)
{
	for (int i = 0; i < linkdown_n; i++)
		waitpid(linkdown_pids[i], NULL, 0);
	/* Whatever happened, leave the link up and clean. */
	if (linkdown_n)
		peer_sh("ip link set %s up", peer_cfg.link);
}

void (*peer_server_atexit)(void);
static ctl_extra_fn ctl_extra;
static int ctl_first = 1;

static void ctl_handle(const char *cmd, char *reply, size_t len)
{
	char drv[64];
	int a, b;

	if (!strcmp(cmd, "ping")) {
		snprintf(reply, len, "ok pong");
	} else if (!strcmp(cmd, "hello")) {
		snprintf(reply, len, "ok family=%d driver=%s link=%s",
			 ntcp_family, peer_link_driver(drv, sizeof(drv)),
			 peer_cfg.link);
	} else if (!strcmp(cmd, "stats")) {
		snprintf(reply, len,
			 "ok tx=%lld rx=%lld acc_stream=%ld acc_seq=%ld plain_conns=%ld plain_bytes=%ld verified=%ld failed=%ld",
			 peer_link_stat("tx_bytes"), peer_link_stat("rx_bytes"),
			 __atomic_load_n(&peer_ctr->accepted_stream, __ATOMIC_RELAXED),
			 __atomic_load_n(&peer_ctr->accepted_seq, __ATOMIC_RELAXED),
			 __atomic_load_n(&peer_ctr->plain_conns, __ATOMIC_RELAXED),
			 __atomic_load_n(&peer_ctr->plain_bytes, __ATOMIC_RELAXED),
			 __atomic_load_n(&peer_ctr->verified, __ATOMIC_RELAXED),
			 __atomic_load_n(&peer_ctr->failed, __ATOMIC_RELAXED));
	} else if (sscanf(cmd, "proc %d", &a) == 1) {
		snprintf(reply, len, "ok rows=%d", proc_newtcp_has_port(a));
	} else if (!strncmp(cmd, "sh ", 3)) {
		printf("# server: sh %s\n", cmd + 3);
		a = peer_sh("LINK=%s; %s", peer_cfg.link, cmd + 3);
		snprintf(reply, len, "%s rc=%d", a ? "err" : "ok", a);
	} else if (sscanf(cmd, "linkdown %d %d", &a, &b) == 2) {
		pid_t pid;

		if (linkdown_n >= 16) {
			snprintf(reply, len, "err too many");
			return;
		}
		pid = fork();
		if (!pid) {
			/* No stdio in here: another thread may hold its lock. */
			char c1[96], c2[96];

			snprintf(c1, sizeof(c1), "ip link set %s down; echo '# server: link down'",
				 peer_cfg.link);
			snprintf(c2, sizeof(c2), "ip link set %s up; echo '# server: link up'",
				 peer_cfg.link);
			usleep(a * 1000);
			if (system(c1))
				_exit(1);
			usleep(b * 1000);
			_exit(system(c2) ? 1 : 0);
		}
		linkdown_pids[linkdown_n++] = pid;
		snprintf(reply, len, "ok pid=%d", pid);
	} else if (sscanf(cmd, "panic %d", &a) == 1) {
		/* The whole guest dies @a ms from now, as a crashed host would. */
		pid_t pid = fork();

		if (!pid) {
			int fd;

			usleep(a * 1000);
			fd = open("/proc/sysrq-trigger", O_WRONLY);
			_exit(fd < 0 || write(fd, "c", 1) != 1);
		}
		snprintf(reply, len, pid > 0 ? "ok pid=%d" : "err fork %d", pid);
	} else if (ctl_extra && ctl_extra(cmd, reply, len)) {
		return;
	} else {
		snprintf(reply, len, "err unknown command");
	}
}

static void *ctl_thread(void *arg)
{
	struct conn *c = arg;
	char cmd[512], reply[512];
	int first = c->type;

	while (read_line(c->fd, cmd, sizeof(cmd)) >= 0) {
		if (!strcmp(cmd, "quit")) {
			write_full(c->fd, "ok bye\n", 7);
			break;
		}
		ctl_handle(cmd, reply, sizeof(reply));
		strcat(reply, "\n");
		if (write_full(c->fd, reply, strlen(reply)) < 0)
			break;
	}
	close(c->fd);
	free(c);
	if (first) {
		printf("# server: the client's control connection ended, exiting\n");
		reap_linkdowns();
		if (peer_server_atexit)
			peer_server_atexit();
		fflush(stdout);
		_exit(0);
	}
	return NULL;
}

int peer_server(ctl_extra_fn extra)
{
	static struct lsn ls[6];
	static const uint16_t plain_ports[] = {
		PEER_PORT_HANGUP, PEER_PORT_ECHO, PEER_PORT_BANNER,
		PEER_PORT_SILENT,
	};
	struct timeval tv = { .tv_sec = 120 }, no_timeout = { 0 };
	int ctl, i;

	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	ctl_extra = extra;
	ls[0] = (struct lsn){ listen_on(ntcp_family, SOCK_STREAM, PEER_PORT_STREAM),
			      SOCK_STREAM, &peer_ctr->accepted_stream };
	ls[1] = (struct lsn){ listen_on(ntcp_family, SOCK_SEQPACKET, PEER_PORT_SEQ),
			      SOCK_SEQPACKET, &peer_ctr->accepted_seq };
	for (i = 0; i < 4; i++)
		ls[2 + i] = (struct lsn){ listen_on(AF_INET, SOCK_STREAM, plain_ports[i]),
					  -plain_ports[i], NULL };
	ctl = listen_on(AF_INET, SOCK_STREAM, PEER_PORT_CTL);
	for (i = 0; i < 6; i++)
		if (ls[i].fd < 0)
			return 1;
	if (ctl < 0)
		return 1;
	for (i = 0; i < 6; i++)
		spawn(accept_thread, &ls[i]);
	/* No client within 2 minutes: give up rather than hang. */
	setsockopt(ctl, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	printf("# server on %s:%d (link %s, family %d)\n", peer_cfg.local,
	       PEER_PORT_CTL, peer_cfg.link, ntcp_family);
	printf("# ready\n");
	fflush(stdout);
	for (;;) {
		int fd = accept(ctl, NULL, NULL);
		struct conn *c;

		if (fd < 0) {
			if (errno == EAGAIN && ctl_first) {
				printf("# server: no client within 120 s\n");
				return 1;
			}
			continue;
		}
		/*
		 * The listener's 120 s wait is inherited; the suite-long
		 * connection idles while the tests run, however long they take.
		 */
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &no_timeout,
			   sizeof(no_timeout));
		c = malloc(sizeof(*c));
		c->fd = fd;
		c->type = ctl_first;
		ctl_first = 0;
		spawn(ctl_thread, c);
	}
}

int peer_client_run(const struct ntcp_test *tests, size_t n,
		    void (*setup)(void), void (*after_each)(void),
		    void (*teardown)(void))
{
	char reply[128];
	size_t i;
	int ctl;

	tap_plan(n);
	if (ntcp_family < 0)
		tap_bail("newtcp module not loaded");
	unlink(PEER_KILLED_MARK);
	ctl = ctl_open(20000);
	if (ctl < 0)
		tap_bail("no control connection to the server at %s:%d: %s",
			 peer_cfg.peer, PEER_PORT_CTL, ntcp_errname(errno));
	if (setup)
		setup();
	tap_diag("client %s -> server %s over %s", peer_cfg.local, peer_cfg.peer,
		 peer_cfg.link);
	for (i = 0; i < n; i++) {
		run_test(tests[i].name, tests[i].fn, tests[i].timeout);
		if (after_each)
			after_each();
	}
	if (teardown)
		teardown();
	if (!peer_killed())
		ctl_cmd(ctl, reply, sizeof(reply), "quit");
	return tap_done();
}

int peer_kill(int delay_ms)
{
	char r[64];
	int c = ctl_open(5000), fd, rc;

	if (c < 0)
		return -1;
	/* Tests run in children: the mark tells the suite's parent too. */
	fd = open(PEER_KILLED_MARK, O_WRONLY | O_CREAT, 0644);
	if (fd >= 0)
		close(fd);
	rc = ctl_cmd(c, r, sizeof(r), "panic %d", delay_ms);
	close(c);
	return rc;
}

int peer_killed(void)
{
	return !access(PEER_KILLED_MARK, F_OK);
}
