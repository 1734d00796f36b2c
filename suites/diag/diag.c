// SPDX-License-Identifier: GPL-2.0
/*
 * NEW_TCP's sock_diag (API.md, "sock_diag") against
 * /proc/net/newtcp: both list the same rows, unaccepted connections and
 * handshakes in flight included; the state and port filters, the
 * tcp_info and NEW_TCP attributes, the namespace boundary, and the
 * newtcp-ss tool (newtcp_ss.c, the same binary under another name).
 *
 * Every test runs in its own child (run_test) in a fresh network
 * namespace, so the listing it compares is exactly its own sockets.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "diag_nl.h"
#include "newtcp_ss.h"
#include "ntcp.h"
#include "tap.h"

#define MAX_ROWS	512
#define ST_ESTABLISHED	1
#define ST_SYN_RECV	3
#define ST_CLOSE_WAIT	8
#define ST_LISTEN	10

/* One row as /proc/net/newtcp prints it: both sides are compared so. */
struct row {
	unsigned int laddr, lport, raddr, rport, st;
	unsigned long long ino;
	char type[16];
	char key[96];
};

struct listing {
	int n;
	struct row r[MAX_ROWS];
};

static void row_key(struct row *r)
{
	char type[sizeof(r->type)];

	/* A copy: gcc's -Wrestrict cannot tell r->type from r->key. */
	memcpy(type, r->type, sizeof(type));
	snprintf(r->key, sizeof(r->key), "%08X:%04X %08X:%04X %02X %llu %s", r->laddr, r->lport,
		 r->raddr, r->rport, r->st, r->ino, type);
}

static int by_key(const void *a, const void *b)
{
	return strcmp(((const struct row *)a)->key, ((const struct row *)b)->key);
}

/* Every row of this namespace's /proc/net/newtcp, sorted; -1 if unreadable. */
static int proc_listing(struct listing *l)
{
	FILE *f = fopen("/proc/net/newtcp", "r");
	char line[256];
	unsigned int uid;
	unsigned long tx, rx;

	l->n = 0;
	if (!f || !fgets(line, sizeof(line), f)) {
		if (f)
			fclose(f);
		return -1;
	}
	while (fgets(line, sizeof(line), f) && l->n < MAX_ROWS) {
		struct row *r = &l->r[l->n];

		if (sscanf(line, "%x:%x %x:%x %x %lx:%lx %u %llu %15s", &r->laddr, &r->lport,
			   &r->raddr, &r->rport, &r->st, &tx, &rx, &uid, &r->ino, r->type) != 10)
			continue;
		row_key(r);
		l->n++;
	}
	fclose(f);
	qsort(l->r, l->n, sizeof(l->r[0]), by_key);
	return l->n;
}

/* sock_diag's rows for @q, as proc_listing() has them; -errno on failure. */
static int diag_listing(const struct diag_query *q, struct listing *l, struct diag_ent **ents)
{
	struct diag_ent *e;
	int n = diag_dump(q, &e), i;

	l->n = 0;
	if (n < 0)
		return n;
	for (i = 0; i < n && l->n < MAX_ROWS; i++) {
		struct row *r = &l->r[l->n++];

		r->laddr = e[i].m.ndiag_saddr;
		r->lport = ntohs(e[i].m.ndiag_sport);
		r->raddr = e[i].m.ndiag_daddr;
		r->rport = ntohs(e[i].m.ndiag_dport);
		r->st = e[i].m.ndiag_state;
		r->ino = e[i].m.ndiag_ino;
		snprintf(r->type, sizeof(r->type), "%s",
			 e[i].m.ndiag_type == SOCK_SEQPACKET ? "SEQPACKET" : "STREAM");
		row_key(r);
	}
	qsort(l->r, l->n, sizeof(l->r[0]), by_key);
	if (ents)
		*ents = e;
	else
		free(e);
	return n;
}

static void print_listing(const char *what, const struct listing *l)
{
	int i;

	printf("# %s: %d rows\n", what, l->n);
	for (i = 0; i < l->n; i++)
		printf("#   %s\n", l->r[i].key);
}

static bool same_listing(const struct listing *a, const struct listing *b)
{
	int i;

	if (a->n != b->n)
		return false;
	for (i = 0; i < a->n; i++)
		if (strcmp(a->r[i].key, b->r[i].key))
			return false;
	return true;
}

static struct diag_query all_query(void)
{
	struct diag_query q = { .family = ntcp_family, .states = DIAG_ALL_STATES };

	return q;
}

/*
 * The whole namespace: diag's rows (asked with @q) are /proc's, and
 * there are @want of them.  Prints both listings when not.
 */
#define CHECK_LISTED_Q(q, want)						\
	do {								\
		static struct listing p_, d_;				\
		struct diag_query q_ = (q);				\
		int dn_ = diag_listing(&q_, &d_, NULL);			\
		int pn_ = proc_listing(&p_);				\
		if (dn_ < 0 || pn_ != (want) || !same_listing(&p_, &d_)) { \
			print_listing("/proc/net/newtcp", &p_);		\
			print_listing("sock_diag", &d_);		\
		}							\
		CHECK(dn_ >= 0, "diag dump: %s", strerror(-dn_));	\
		CHECK(pn_ == (want), "/proc lists %d rows, want %d", pn_, (int)(want)); \
		CHECK(same_listing(&p_, &d_), "diag lists what /proc lists"); \
	} while (0)

#define CHECK_LISTED(want)	CHECK_LISTED_Q(all_query(), want)

static int fresh_netns(void)
{
	if (unshare(CLONE_NEWNET) || ntcp_lo_up())
		return -1;
	return 0;
}

static unsigned long long ino_of(int fd)
{
	struct stat st;

	return fstat(fd, &st) ? 0 : st.st_ino;
}

static uint16_t local_port(int fd)
{
	struct sockaddr_newtcp a;
	socklen_t len = sizeof(a);

	return getsockname(fd, (struct sockaddr *)&a, &len) ? 0 : ntohs(a.snt_port);
}

/* The diag entry of the socket behind @fd (by inode), or NULL. */
static const struct diag_ent *ent_of(const struct diag_ent *e, int n, int fd)
{
	unsigned long long ino = ino_of(fd);
	int i;

	for (i = 0; i < n; i++)
		if (e[i].m.ndiag_ino == ino)
			return &e[i];
	return NULL;
}

/* Until @fd is readable (a listener: a connection to accept), 3 s at most. */
static int wait_readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 3000) == 1 ? 0 : -1;
}

/* Until diag shows an entry of @kind; -1 after @ms. */
static int wait_kind(int kind, int ms)
{
	long long end = now_ms() + ms;
	struct diag_query q = all_query();
	struct diag_ent *e;
	int n, i, found;

	do {
		n = diag_dump(&q, &e);
		for (found = 0, i = 0; i < n; i++)
			found |= e[i].m.ndiag_kind == kind;
		free(e);
		if (found)
			return 0;
		usleep(5000);
	} while (now_ms() < end);
	return -1;
}

/* ---- listing: diag and /proc agree ------------------------------------ */

static int t_listener(void)
{
	struct diag_query q = all_query();
	struct diag_ent *e;
	struct listing d;
	uint16_t port;
	int l, n;

	CHECK(!fresh_netns(), "fresh netns");
	CHECK_LISTED(0);
	l = ntcp_listener(SOCK_STREAM, &port);
	CHECK(l >= 0, "listener");
	CHECK_LISTED(1);
	n = diag_listing(&q, &d, &e);
	CHECK(n == 1 && e[0].m.ndiag_state == ST_LISTEN && e[0].m.ndiag_kind == NEWTCP_DIAG_SOCKET &&
	      e[0].m.ndiag_inner_state == ST_LISTEN && e[0].m.ndiag_ino == ino_of(l) &&
	      ntohs(e[0].m.ndiag_sport) == port && e[0].m.ndiag_family == ntcp_family &&
	      e[0].m.ndiag_wqueue == 16 && (e[0].m.ndiag_cookie[0] || e[0].m.ndiag_cookie[1]),
	      "listener: LISTEN, inner LISTEN, inode, port %u, backlog 16, a cookie", port);
	free(e);
	return 0;
}

static int t_established(void)
{
	struct diag_query q = all_query();
	const struct diag_ent *ce, *se;
	struct diag_ent *e;
	struct listing d;
	uint16_t port;
	int l, c, s, n;

	CHECK(!fresh_netns(), "fresh netns");
	CHECK(!ntcp_pair_at(SOCK_STREAM, &l, &port, &c, &s), "pair");
	CHECK_LISTED(3);
	n = diag_listing(&q, &d, &e);
	ce = ent_of(e, n, c);
	se = ent_of(e, n, s);
	CHECK(ce && se, "both ends listed by inode");
	CHECK(ce->m.ndiag_state == ST_ESTABLISHED && se->m.ndiag_state == ST_ESTABLISHED &&
	      ntohs(ce->m.ndiag_dport) == port && ntohs(se->m.ndiag_sport) == port &&
	      ce->m.ndiag_sport == se->m.ndiag_dport && ce->m.ndiag_type == SOCK_STREAM,
	      "both ESTABLISHED, ports mirrored");
	free(e);
	return 0;
}

static int t_unaccepted(void)
{
	struct diag_query q = all_query();
	struct diag_ent *e;
	struct listing d;
	uint16_t port;
	int l, c, s, n, i, found = 0;

	CHECK(!fresh_netns(), "fresh netns");
	l = ntcp_listener(SOCK_STREAM, &port);
	c = ntcp_connect(SOCK_STREAM, port);
	CHECK(l >= 0 && c >= 0 && !wait_readable(l), "a connection waits in the accept queue");
	CHECK_LISTED(3);
	n = diag_listing(&q, &d, &e);
	for (i = 0; i < n; i++) {
		if (e[i].m.ndiag_kind != NEWTCP_DIAG_UNACCEPTED)
			continue;
		found++;
		CHECK(e[i].m.ndiag_state == ST_ESTABLISHED && !e[i].m.ndiag_ino &&
		      ntohs(e[i].m.ndiag_sport) == port &&
		      ntohs(e[i].m.ndiag_dport) == local_port(c),
		      "unaccepted: ESTABLISHED, no inode, %u -> %u", port, local_port(c));
	}
	free(e);
	CHECK(found == 1, "one unaccepted entry, %d", found);
	s = accept(l, NULL, NULL);
	CHECK(s >= 0, "accept");
	CHECK_LISTED(3);
	n = diag_listing(&q, &d, &e);
	for (found = 0, i = 0; i < n; i++)
		found += e[i].m.ndiag_kind == NEWTCP_DIAG_UNACCEPTED;
	CHECK(!found && ent_of(e, n, s), "accepted: the entry is the socket's now");
	free(e);
	return 0;
}

static int t_handshake(void)
{
	struct sockaddr_in in = { .sin_family = AF_INET };
	struct diag_query q = all_query();
	struct diag_ent *e;
	struct listing d;
	uint16_t port;
	int l, t, n, i, found = 0;

	CHECK(!fresh_netns(), "fresh netns");
	l = ntcp_listener(SOCK_STREAM, &port);
	CHECK(l >= 0, "listener");
	/* Plain TCP sends no hello: the listener waits handshake_ms for it. */
	t = socket(AF_INET, SOCK_STREAM, 0);
	in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	in.sin_port = htons(port);
	CHECK(t >= 0 && !connect(t, (struct sockaddr *)&in, sizeof(in)), "plain TCP connect");
	CHECK(!wait_kind(NEWTCP_DIAG_HANDSHAKE, 1500), "a handshake in flight is listed");
	CHECK_LISTED(2);
	n = diag_listing(&q, &d, &e);
	for (i = 0; i < n; i++) {
		if (e[i].m.ndiag_kind != NEWTCP_DIAG_HANDSHAKE)
			continue;
		found++;
		CHECK(e[i].m.ndiag_state == ST_SYN_RECV && !e[i].m.ndiag_ino &&
		      e[i].m.ndiag_inner_state == ST_ESTABLISHED,
		      "in flight: SYN-RECV, inner ESTABLISHED, no inode");
	}
	free(e);
	CHECK(found == 1, "one handshake entry, %d", found);
	return 0;
}

static int t_seqpacket(void)
{
	struct diag_query q = all_query();
	struct diag_ent *e;
	struct listing d;
	int c, s, n, i;

	CHECK(!fresh_netns(), "fresh netns");
	CHECK(!ntcp_pair(SOCK_SEQPACKET, &c, &s), "SEQPACKET pair");
	/* ntcp_pair() closed its listener. */
	CHECK_LISTED(2);
	n = diag_listing(&q, &d, &e);
	for (i = 0; i < n; i++)
		CHECK(e[i].m.ndiag_type == SOCK_SEQPACKET && e[i].m.ndiag_state == ST_ESTABLISHED,
		      "entry %d: SEQPACKET, ESTABLISHED (type %u)", i, e[i].m.ndiag_type);
	CHECK(ent_of(e, n, c) && ent_of(e, n, s), "both ends by inode");
	free(e);
	return 0;
}

static int t_closed(void)
{
	struct diag_query q = all_query();
	const struct diag_ent *se;
	struct diag_ent *e;
	struct listing d;
	uint16_t port;
	int l, c, s, n;

	CHECK(!fresh_netns(), "fresh netns");
	CHECK(!ntcp_pair_at(SOCK_STREAM, &l, &port, &c, &s), "pair");
	CHECK_LISTED(3);
	/* The peer's FIN: s stays, its state the inner CLOSE_WAIT. */
	close(c);
	CHECK(!wait_readable(s), "EOF on the accepted end");
	CHECK_LISTED(2);
	n = diag_listing(&q, &d, &e);
	se = ent_of(e, n, s);
	CHECK(se && se->m.ndiag_state == ST_CLOSE_WAIT && se->m.ndiag_inner_state == ST_CLOSE_WAIT,
	      "accepted end: CLOSE_WAIT, %d", se ? se->m.ndiag_state : -1);
	free(e);
	close(s);
	CHECK_LISTED(1);
	close(l);
	CHECK_LISTED(0);
	return 0;
}

/* ---- filters ------------------------------------------------------------ */

/* /proc's rows that @q's state mask and ports let through. */
static void proc_filter(const struct listing *all, const struct diag_query *q, struct listing *out)
{
	int i;

	out->n = 0;
	for (i = 0; i < all->n; i++) {
		const struct row *r = &all->r[i];

		if (!(q->states & (1u << r->st)) || (q->sport && r->lport != q->sport) ||
		    (q->dport && r->rport != q->dport))
			continue;
		out->r[out->n++] = *r;
	}
}

/* Two listeners, a pair and an unaccepted connection on the first, a pair on the second. */
static int filter_setup(uint16_t *a, uint16_t *b, uint16_t *c1port)
{
	int la = ntcp_listener(SOCK_STREAM, a), lb = ntcp_listener(SOCK_STREAM, b);
	int c1 = ntcp_connect(SOCK_STREAM, *a), s1 = accept(la, NULL, NULL);
	int c2 = ntcp_connect(SOCK_STREAM, *a);
	int c3 = ntcp_connect(SOCK_STREAM, *b), s3 = accept(lb, NULL, NULL);

	if (la < 0 || lb < 0 || c1 < 0 || s1 < 0 || c2 < 0 || c3 < 0 || s3 < 0 || wait_readable(la))
		return -1;
	*c1port = local_port(c1);
	return 0;
}

#define CHECK_FILTER(q, want)						\
	do {								\
		static struct listing p_, all_, d_;			\
		int dn_ = diag_listing(&(q), &d_, NULL);		\
		proc_listing(&all_);					\
		proc_filter(&all_, &(q), &p_);				\
		if (dn_ != (want) || !same_listing(&p_, &d_)) {		\
			print_listing("/proc/net/newtcp, filtered", &p_); \
			print_listing("sock_diag", &d_);		\
		}							\
		CHECK(dn_ == (want), "states %#x sport %u dport %u: %d rows, want %d", \
		      (q).states, (q).sport, (q).dport, dn_, (int)(want)); \
		CHECK(same_listing(&p_, &d_), "the rows /proc has that match"); \
	} while (0)

static int t_filter_state(void)
{
	struct diag_query q = all_query();
	uint16_t a, b, c1port;

	CHECK(!fresh_netns(), "fresh netns");
	CHECK(!filter_setup(&a, &b, &c1port), "two listeners, three connections");
	CHECK_LISTED(8);
	q.states = 1u << ST_LISTEN;
	CHECK_FILTER(q, 2);
	/* Both ends of two pairs, and the unaccepted one's two ends. */
	q.states = 1u << ST_ESTABLISHED;
	CHECK_FILTER(q, 6);
	q.states = 1u << ST_SYN_RECV;
	CHECK_FILTER(q, 0);
	q.states = 0;
	CHECK_FILTER(q, 0);
	return 0;
}

static int t_filter_port(void)
{
	struct diag_query q = all_query();
	uint16_t a, b, c1port;

	CHECK(!fresh_netns(), "fresh netns");
	CHECK(!filter_setup(&a, &b, &c1port), "two listeners, three connections");
	/* Listener a, its accepted end and its unaccepted connection. */
	q.sport = a;
	CHECK_FILTER(q, 3);
	/* The two clients of a. */
	q.sport = 0;
	q.dport = a;
	CHECK_FILTER(q, 2);
	q.sport = a;
	q.dport = c1port;
	CHECK_FILTER(q, 1);
	q.sport = b;
	q.dport = 0;
	q.states = 1u << ST_LISTEN;
	CHECK_FILTER(q, 1);
	return 0;
}

/* ---- attributes ------------------------------------------------------- */

#define DATA_LEN	12345
/* The client's hello, which the inner TCP carried before the data. */
#define HELLO_LEN	8

static int t_tcp_info(void)
{
	static char buf[DATA_LEN];
	struct diag_query q = all_query();
	const struct diag_ent *ce, *se;
	struct diag_ent *e;
	struct listing d;
	int c, s, n;

	CHECK(!fresh_netns(), "fresh netns");
	CHECK(!ntcp_pair(SOCK_STREAM, &c, &s), "pair");
	CHECK(write_full(c, buf, DATA_LEN) == DATA_LEN && read_full(s, buf, DATA_LEN) == DATA_LEN,
	      "%d bytes across", DATA_LEN);
	n = diag_listing(&q, &d, &e);
	ce = ent_of(e, n, c);
	CHECK(ce && !ce->has_tcp_info && !ce->has_info, "no attributes unless asked");
	free(e);
	q.tcp_info = q.info = true;
	n = diag_listing(&q, &d, &e);
	ce = ent_of(e, n, c);
	se = ent_of(e, n, s);
	CHECK(ce && se && ce->has_tcp_info && se->has_tcp_info && ce->has_info && se->has_info,
	      "both attributes on both ends");
	CHECK(ce->ti.tcpi_bytes_sent == DATA_LEN + HELLO_LEN &&
	      se->ti.tcpi_bytes_received == DATA_LEN + HELLO_LEN,
	      "inner TCP: client sent %llu, server received %llu, want %d (data + hello)",
	      (unsigned long long)ce->ti.tcpi_bytes_sent,
	      (unsigned long long)se->ti.tcpi_bytes_received, DATA_LEN + HELLO_LEN);
	CHECK(ce->ti.tcpi_state == ST_ESTABLISHED && ce->ti.tcpi_snd_cwnd > 0 &&
	      ce->ti.tcpi_rtt > 0, "tcp_info: ESTABLISHED, cwnd %u, rtt %u us",
	      ce->ti.tcpi_snd_cwnd, ce->ti.tcpi_rtt);
	CHECK(ce->ni.ndi_bytes_sent == DATA_LEN && se->ni.ndi_bytes_received == DATA_LEN &&
	      ce->ni.ndi_records_sent >= 1,
	      "NEW_TCP: client sent %llu, server received %llu, want %d",
	      (unsigned long long)ce->ni.ndi_bytes_sent,
	      (unsigned long long)se->ni.ndi_bytes_received, DATA_LEN);
	CHECK(ce->ni.ndi_hs_phase == NEWTCP_DIAG_HS_DONE && ce->ni.ndi_hs_got == HELLO_LEN,
	      "handshake done, reply hello in: phase %u got %u", ce->ni.ndi_hs_phase,
	      ce->ni.ndi_hs_got);
	free(e);
	return 0;
}

/* ---- a dump over many skbs ------------------------------------------- */

/*
 * Enough for a listener's rows to be cut across skbs: the first skb of a
 * dump is about a page (NLMSG_GOODSIZE), some 9 rows with tcp_info.
 */
#define MANY	40

/* The listener's accept queue length, from its diag entry; -1 if unlisted. */
static int accept_len(int l)
{
	struct diag_query q = all_query();
	const struct diag_ent *le;
	struct diag_ent *e;
	int n = diag_dump(&q, &e), len;

	le = n > 0 ? ent_of(e, n, l) : NULL;
	len = le ? (int)le->m.ndiag_rqueue : -1;
	free(e);
	return len;
}

static int t_many(void)
{
	struct sockaddr_newtcp a = ntcp_addr(0);
	struct diag_query q = all_query();
	socklen_t len = sizeof(a);
	long long end;
	int l, i, c;

	CHECK(!fresh_netns(), "fresh netns");
	l = socket(ntcp_family, SOCK_STREAM, 0);
	CHECK(l >= 0 && !bind(l, (struct sockaddr *)&a, sizeof(a)) && !listen(l, MANY) &&
	      !getsockname(l, (struct sockaddr *)&a, &len), "listener, backlog %d", MANY);
	for (i = 0; i < MANY; i++) {
		c = ntcp_connect(SOCK_STREAM, ntohs(a.snt_port));
		CHECK(c >= 0, "connection %d", i);
	}
	/* The listener queues each one just after its reply went out. */
	end = now_ms() + 3000;
	while (accept_len(l) < MANY && now_ms() < end)
		usleep(5000);
	CHECK(accept_len(l) == MANY, "%d unaccepted, %d queued", MANY, accept_len(l));
	/* Listener, its MANY connections, their MANY clients. */
	CHECK_LISTED(1 + 2 * MANY);
	/* About 380 bytes a row: several skbs, the listener's rows cut. */
	q.tcp_info = q.info = true;
	CHECK_LISTED_Q(q, 1 + 2 * MANY);
	return 0;
}

/* ---- namespaces --------------------------------------------------------- */

static int t_netns(void)
{
	struct diag_query q = all_query();
	struct diag_ent *e;
	struct listing d;
	uint16_t port, other;
	int l, c, s, l2, n;

	CHECK(!fresh_netns(), "fresh netns");
	l = ntcp_listener(SOCK_STREAM, &port);
	c = ntcp_connect(SOCK_STREAM, port);
	s = accept(l, NULL, NULL);
	CHECK(l >= 0 && c >= 0 && s >= 0, "pair in the first namespace");
	CHECK_LISTED(3);
	/* The sockets stay open, in the namespace they were made in. */
	CHECK(!fresh_netns(), "a second namespace");
	CHECK_LISTED(0);
	l2 = ntcp_listener(SOCK_STREAM, &other);
	CHECK(l2 >= 0, "listener in the second");
	CHECK_LISTED(1);
	n = diag_listing(&q, &d, &e);
	CHECK(n == 1 && e[0].m.ndiag_ino == ino_of(l2), "only its own listener");
	free(e);
	return 0;
}

/* ---- newtcp-ss ---------------------------------------------------------- */

/*
 * Run this binary as newtcp-ss with @args (NULL-terminated); its stdout
 * in @out, stderr appended; the exit status, -1 if it did not exit.
 */
static int run_ss(char *out, size_t len, const char *const *args)
{
	char *argv[16] = { "newtcp-ss" };
	int pfd[2], status, i;
	size_t got = 0;
	ssize_t r;
	pid_t pid;

	for (i = 0; args[i] && i < 14; i++)
		argv[i + 1] = (char *)args[i];
	if (pipe(pfd))
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(pfd[1], 1);
		dup2(pfd[1], 2);
		close(pfd[0]);
		alarm(10);
		execv("/proc/self/exe", argv);
		_exit(127);
	}
	close(pfd[1]);
	while (got + 1 < len && (r = read(pfd[0], out + got, len - 1 - got)) > 0)
		got += r;
	out[got] = 0;
	close(pfd[0]);
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static int count_lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* The line of @out holding @a and then @b, or NULL. */
static const char *line_with(const char *out, const char *a, const char *b)
{
	static char line[512];
	const char *p = out, *nl;

	while (*p) {
		nl = strchr(p, '\n');
		snprintf(line, sizeof(line), "%.*s", nl ? (int)(nl - p) : (int)strlen(p), p);
		if (strstr(line, a) && (!b || strstr(strstr(line, a) + strlen(a), b)))
			return line;
		if (!nl)
			break;
		p = nl + 1;
	}
	return NULL;
}

static int t_tool(void)
{
	static char out[8192];
	char lport[32], cport[32], sport[8];
	uint16_t port;
	int l, c, s, c2, rc;

	CHECK(!fresh_netns(), "fresh netns");
	l = ntcp_listener(SOCK_STREAM, &port);
	c = ntcp_connect(SOCK_STREAM, port);
	s = accept(l, NULL, NULL);
	c2 = ntcp_connect(SOCK_SEQPACKET, port);
	CHECK(l >= 0 && c >= 0 && s >= 0, "pair");
	CHECK(c2 < 0 && errno == ECONNREFUSED, "a SEQPACKET client is refused (type)");
	c2 = ntcp_connect(SOCK_STREAM, port);
	CHECK(c2 >= 0 && !wait_readable(l), "and a STREAM one waits unaccepted");
	snprintf(lport, sizeof(lport), "127.0.0.1:%u ", port);
	snprintf(cport, sizeof(cport), "127.0.0.1:%u ", local_port(c));
	snprintf(sport, sizeof(sport), "%u", port);

	rc = run_ss(out, sizeof(out), (const char *const[]){ "-l", NULL });
	printf("# newtcp-ss -l:\n%s", out);
	CHECK(rc == 0 && count_lines(out) == 2, "-l: header and one line (exit %d)", rc);
	CHECK(line_with(out, "LISTEN", lport), "-l names the listener %s", lport);

	rc = run_ss(out, sizeof(out), (const char *const[]){ NULL });
	printf("# newtcp-ss:\n%s", out);
	CHECK(rc == 0 && count_lines(out) == 5, "no option: header and four connection lines");
	CHECK(line_with(out, "ESTAB", cport) && line_with(cport, "127.0.0.1:", NULL),
	      "names the client %s", cport);
	CHECK(line_with(out, lport, "unaccepted"), "and the unaccepted connection on %s", lport);
	CHECK(!line_with(out, "LISTEN", NULL), "no listener without -l/-a");

	rc = run_ss(out, sizeof(out), (const char *const[]){ "-a", "-i", "--sport", sport, NULL });
	printf("# newtcp-ss -a -i --sport %s:\n%s", sport, out);
	CHECK(rc == 0 && line_with(out, "rtt:", "cwnd:") && line_with(out, "bytes_received:", NULL),
	      "-i: rtt, cwnd, bytes");
	/* Listener, accepted end, unaccepted one: three, each with its info line. */
	CHECK(count_lines(out) == 1 + 3 * 2, "--sport %s: three sockets", sport);

	rc = run_ss(out, sizeof(out), (const char *const[]){ "--family", "19", NULL });
	printf("# newtcp-ss --family 19:\n%s", out);
	CHECK(rc == 2 && strstr(out, "no sock_diag handler"),
	      "a family without a diag handler: exit 2, says so (exit %d)", rc);

	rc = run_ss(out, sizeof(out), (const char *const[]){ "--sport", "0", NULL });
	CHECK(rc == 1 && strstr(out, "--sport '0'"), "a bad port: exit 1, names the option");
	return 0;
}

static const struct ntcp_test tests[] = {
	{ "listener: diag lists what /proc/net/newtcp lists", t_listener, 10 },
	{ "established pair: both ends, by inode", t_established, 10 },
	{ "unaccepted connection: listed until accept()", t_unaccepted, 10 },
	{ "handshake in flight (plain TCP peer): listed as SYN-RECV", t_handshake, 10 },
	{ "SEQPACKET pair", t_seqpacket, 10 },
	{ "a peer's close (CLOSE_WAIT), closed sockets gone from both", t_closed, 10 },
	{ "state filter: exactly the matching rows", t_filter_state, 10 },
	{ "port filters: exactly the matching rows", t_filter_port, 10 },
	{ "tcp_info and NEWTCP_DIAG_INFO show the bytes sent", t_tcp_info, 10 },
	{ "a dump over several skbs: 40 unaccepted connections, each once", t_many, 30 },
	{ "another namespace's sockets are not listed", t_netns, 10 },
	{ "newtcp-ss names the sockets; errors exit non-zero", t_tool, 20 },
};

int main(int argc, char **argv)
{
	const char *base = strrchr(argv[0], '/');

	base = base ? base + 1 : argv[0];
	if (!strcmp(base, "newtcp-ss"))
		return newtcp_ss_main(argc, argv);
	if (argc > 1 && !strcmp(argv[1], "newtcp-ss"))
		return newtcp_ss_main(argc - 1, argv + 1);
	return ntcp_run_suite(tests, ARRAY_SIZE(tests));
}
