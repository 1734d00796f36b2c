// SPDX-License-Identifier: GPL-2.0
/*
 * differential: TCP is the oracle.  Every call in every socket state is
 * run once on AF_INET SOCK_STREAM and once on NEW_TCP SOCK_STREAM over
 * loopback and the two outcomes (return, errno, msg_flags, revents,
 * data, ioctl and option values, then the socket's poll revents and
 * SO_ERROR after the call) must be the same, up to what
 * suites/lib/diff.c normalises (the family, port numbers).  Then seeded
 * random call sequences on connected pairs (replay with --seed), and
 * NEW_TCP SOCK_SEQPACKET against AF_UNIX SOCK_SEQPACKET.
 *
 * The "connecting" state: a non-blocking connect to a plain TCP listener
 * whose accept queue is full.  Its SYNs are dropped, so the socket stays
 * in SYN_SENT for seconds on both families (NEW_TCP's inner socket is
 * the one that sends the SYN).
 *
 * The few accepted differences are in exceptions[] below, each
 * explained in kernel/newtcp/API.md ("Differences from TCP").
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "diff.h"
#include "ntcp.h"
#include "tap.h"
#include "gen.h"

/* ---- states ----------------------------------------------------------- */

enum {
	ST_FRESH, ST_BOUND, ST_LISTEN, ST_LISTEN_PENDING, ST_CONNECTING,
	ST_CONNECTED, ST_CONNECTED_DATA, ST_WR_SHUT, ST_PEER_WR_SHUT,
	ST_PEER_CLOSED, ST_RESET, ST_REFUSED, ST_MAX
};

static const char *const state_names[ST_MAX] = {
	[ST_FRESH] = "fresh",
	[ST_BOUND] = "bound",
	[ST_LISTEN] = "listening",
	[ST_LISTEN_PENDING] = "listening+pending",
	[ST_CONNECTING] = "connecting",
	[ST_CONNECTED] = "connected",
	[ST_CONNECTED_DATA] = "connected+data",
	[ST_WR_SHUT] = "half-closed(we SHUT_WR)",
	[ST_PEER_WR_SHUT] = "half-closed(peer SHUT_WR)",
	[ST_PEER_CLOSED] = "peer-closed",
	[ST_RESET] = "reset",
	[ST_REFUSED] = "connect-refused",
};

static int bind_lo(struct diff_env *e, int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = diff_addr(e->kind, 0, &ss);

	return bind(fd, (struct sockaddr *)&ss, len);
}

/* Build state @st on a new env of @kind; 0 on success. */

/*
 * Wait (up to 2 s) until @fd's FIN and data are acknowledged: SIOCOUTQ
 * counts an unacknowledged FIN, and the ACK's timing is no part of the
 * state being compared.
 */
static int outq_drained(int fd)
{
	long long end = now_ms() + 2000;
	int v;

	while (!ioctl(fd, SIOCOUTQ, &v) && v > 0) {
		if (now_ms() > end)
			return -1;
		usleep(1000);
	}
	return 0;
}
static int setup(struct diff_env *e, int kind, int st)
{
	struct sockaddr_storage ss;
	struct linger lg = { 1, 0 };
	socklen_t len;
	int fl, rc;

	diff_env_init(e, kind, SOCK_STREAM);
	if (diff_env_listener(e))
		return -1;
	switch (st) {
	case ST_FRESH:
	case ST_BOUND:
	case ST_LISTEN:
	case ST_LISTEN_PENDING:
		e->fd[DIFF_S] = diff_socket(kind, SOCK_STREAM);
		if (e->fd[DIFF_S] < 0)
			return -1;
		if (st == ST_FRESH)
			break;
		if (bind_lo(e, e->fd[DIFF_S]))
			return -1;
		if (st == ST_BOUND)
			break;
		if (listen(e->fd[DIFF_S], 8))
			return -1;
		if (st == ST_LISTEN)
			break;
		/* A client whose connection waits in S's accept queue. */
		e->fd[DIFF_P] = diff_socket(kind, SOCK_STREAM);
		len = diff_addr(kind, diff_port(e->fd[DIFF_S]), &ss);
		if (e->fd[DIFF_P] < 0 ||
		    connect(e->fd[DIFF_P], (struct sockaddr *)&ss, len))
			return -1;
		if (!(diff_wait(e->fd[DIFF_S], POLLIN, 2000) & POLLIN))
			return -1;
		break;
	case ST_CONNECTING:
		e->fd[DIFF_S] = diff_socket(kind, SOCK_STREAM);
		len = diff_addr(kind, diff_blackhole_port, &ss);
		fl = fcntl(e->fd[DIFF_S], F_GETFL);
		fcntl(e->fd[DIFF_S], F_SETFL, fl | O_NONBLOCK);
		rc = connect(e->fd[DIFF_S], (struct sockaddr *)&ss, len);
		if (rc == 0 || errno != EINPROGRESS)
			return -1;
		fcntl(e->fd[DIFF_S], F_SETFL, fl);
		break;
	case ST_REFUSED:
		e->fd[DIFF_S] = diff_socket(kind, SOCK_STREAM);
		len = diff_addr(kind, diff_dead_port, &ss);
		rc = connect(e->fd[DIFF_S], (struct sockaddr *)&ss, len);
		if (rc == 0 || errno != ECONNREFUSED)
			return -1;
		break;
	default:
		if (diff_env_pair(e))
			return -1;
		break;
	}
	switch (st) {
	case ST_CONNECTED_DATA:
		if (send(e->fd[DIFF_P], "8 bytes!", 8, 0) != 8 ||
		    !(diff_wait(e->fd[DIFF_S], POLLIN, 2000) & POLLIN))
			return -1;
		break;
	case ST_WR_SHUT:
		if (shutdown(e->fd[DIFF_S], SHUT_WR) ||
		    !(diff_wait(e->fd[DIFF_P], POLLRDHUP, 2000) & POLLRDHUP) ||
		    outq_drained(e->fd[DIFF_S]))
			return -1;
		break;
	case ST_PEER_WR_SHUT:
		if (shutdown(e->fd[DIFF_P], SHUT_WR) ||
		    !(diff_wait(e->fd[DIFF_S], POLLRDHUP, 2000) & POLLRDHUP) ||
		    outq_drained(e->fd[DIFF_P]))
			return -1;
		break;
	case ST_PEER_CLOSED:
		close(e->fd[DIFF_P]);
		e->fd[DIFF_P] = -1;
		if (!(diff_wait(e->fd[DIFF_S], POLLRDHUP, 2000) & POLLRDHUP))
			return -1;
		break;
	case ST_RESET:
		if (setsockopt(e->fd[DIFF_P], SOL_SOCKET, SO_LINGER, &lg,
			       sizeof(lg)))
			return -1;
		close(e->fd[DIFF_P]);
		e->fd[DIFF_P] = -1;
		if (!(diff_wait(e->fd[DIFF_S], 0, 2000) & POLLERR))
			return -1;
		break;
	}
	return diff_bound(e->fd[DIFF_S]);
}

/* ---- calls ------------------------------------------------------------ */

struct call {
	char name[48];
	struct diff_op op;
	int buffers;	/* a buffer-size call: the "buffer sizes" test's */
};

static struct call calls[160];
static int ncalls;

static void add(int call, int a, int flags)
{
	struct call *c = &calls[ncalls++];

	c->op = (struct diff_op){ call, DIFF_S, a, flags };
	diff_describe(&c->op, c->name, sizeof(c->name));
	c->buffers = strstr(c->name, "SO_RCVBUF") ||
		     strstr(c->name, "SO_SNDBUF") ||
		     strstr(c->name, "TCP_MAXSEG");
}

static void build_calls(void)
{
	static const int rflags[] = {
		0, MSG_DONTWAIT, MSG_PEEK, MSG_WAITALL, MSG_TRUNC, MSG_OOB,
		MSG_ERRQUEUE, MSG_PEEK | MSG_TRUNC, MSG_PEEK | MSG_DONTWAIT,
		MSG_OOB | MSG_PEEK, MSG_WAITALL | MSG_DONTWAIT,
	};
	static const int sflags[] = {
		0, MSG_DONTWAIT, MSG_NOSIGNAL, MSG_MORE, MSG_OOB, MSG_EOR,
		MSG_NOSIGNAL | MSG_DONTWAIT,
	};
	size_t i;
	int k;

	for (k = 0; k < diff_nopts; k++)
		add(DC_GETOPT, k, 0);
	for (k = 0; k < diff_nopts; k++)
		if (diff_opts[k].set || !strcmp(diff_opts[k].name,
						"TCP_CONGESTION"))
			add(DC_SETOPT, k, 0);
	add(DC_BIND, 0, 0);
	add(DC_BIND, 1, 0);
	add(DC_BIND, 2, 0);
	add(DC_LISTEN, 8, 0);
	add(DC_ACCEPT, 0, 0);
	add(DC_CONNECT, DIFF_TGT_LIVE, O_NONBLOCK);
	add(DC_CONNECT, DIFF_TGT_LIVE, 0);
	add(DC_CONNECT, DIFF_TGT_REFUSED, O_NONBLOCK);
	add(DC_CONNECT, DIFF_TGT_BLACKHOLE, 0);
	add(DC_CONNECT, DIFF_TGT_UNSPEC, 0);
	for (i = 0; i < ARRAY_SIZE(sflags); i++)
		add(DC_SEND, 4, sflags[i]);
	add(DC_SEND, 0, 0);
	for (i = 0; i < ARRAY_SIZE(rflags); i++)
		add(DC_RECV, 16, rflags[i]);
	add(DC_RECV, 0, MSG_DONTWAIT);
	add(DC_RECV, 4, MSG_TRUNC | MSG_DONTWAIT);
	add(DC_SENDMSG, 6, MSG_NOSIGNAL);
	add(DC_RECVMSG, 16, MSG_DONTWAIT);
	add(DC_RECVMSG, 4, MSG_DONTWAIT | MSG_TRUNC);
	add(DC_RECVMSG, 16, MSG_DONTWAIT | MSG_ERRQUEUE);
	add(DC_READ, 16, 0);
	add(DC_WRITE, 4, 0);
	add(DC_SHUTDOWN, SHUT_RD, 0);
	add(DC_SHUTDOWN, SHUT_WR, 0);
	add(DC_SHUTDOWN, SHUT_RDWR, 0);
	add(DC_SHUTDOWN, 3, 0);
	add(DC_CLOSE, 0, 0);
	add(DC_POLL, 0, 0);
	for (k = 0; k < diff_nioctls; k++)
		add(DC_IOCTL, k, 0);
	add(DC_GETNAME, 0, 0);
	add(DC_GETNAME, 1, 0);
}

/* ---- exceptions ------------------------------------------------------- */

/*
 * Accepted differences: state and call (fnmatch globs) and why; each is
 * explained in API.md, "Differences from TCP".
 */
static const struct {
	const char *state, *call, *why;
} exceptions[] = {
	{ "seqpacket", "ioctl(P,FIONREAD)",
	  "FIONREAD is the next record's length; AF_UNIX SEQPACKET gives all queued bytes" },
	{ "seqpacket", "recvmsg(*",
	  "a whole record comes with MSG_EOR; AF_UNIX never sets it" },
	{ "seqpacket", "send(P,2,0)",
	  "the peer's SHUT_RD is not on the wire: sending to it works (TCP), AF_UNIX says EPIPE" },
	{ "seqpacket", "close(S,0)",
	  "close with unread data resets the TCP connection: the peer sees POLLERR" },
	{ "*", "*TCP_MAXSEG*",
	  "the hellos moved data both ways, so the peer's window already grew past its first 65483 (scaled): MSS capped at half of it, 32768, not 32741" },
	{ NULL, NULL, NULL },
};

const char *excepted(const char *state, const char *call)
{
	size_t i;

	for (i = 0; exceptions[i].state; i++)
		if (!fnmatch(exceptions[i].state, state, 0) &&
		    !fnmatch(exceptions[i].call, call, 0))
			return exceptions[i].why;
	return NULL;
}

/* ---- the table -------------------------------------------------------- */

#define LINE_MAX_	(DIFF_OUT_MAX + 128)

/* A new client connects to the listener DIFF_S: does DIFF_S see it? */
static void new_client(struct diff_env *e, char *out)
{
	struct sockaddr_storage ss;
	socklen_t len = diff_addr(e->kind, diff_port(e->fd[DIFF_S]), &ss);
	int c = diff_socket(e->kind, SOCK_STREAM);
	char rev[64];

	fcntl(c, F_SETFL, O_NONBLOCK);
	connect(c, (struct sockaddr *)&ss, len);
	/* NEW_TCP queues it only after the hellos: setup's 2 s, not less. */
	diff_revents(diff_wait(e->fd[DIFF_S], POLLIN, 2000), rev, sizeof(rev));
	snprintf(out + strlen(out), LINE_MAX_ - strlen(out),
		 ", a new client: poll=%s", rev);
	close(c);
}

/* Run @op in state @st on @kind; the outcome and what follows in @out. */
static void run_pair(int kind, int st, const struct diff_op *op, char *out)
{
	char res[DIFF_OUT_MAX], rev[64];
	struct diff_env e;
	int err = -1;
	socklen_t len = sizeof(err);
	short r;

	if (setup(&e, kind, st)) {
		snprintf(out, LINE_MAX_, "setup failed: %s",
			 ntcp_errname(errno));
		diff_env_close(&e);
		return;
	}
	diff_exec(&e, op, res);
	if (op->call == DC_CLOSE || e.fd[DIFF_S] < 0) {
		snprintf(out, LINE_MAX_, "%s", res);
	} else {
		/*
		 * Data sent to a closed peer: wait for its RST (it comes
		 * after send() returned, on both families).
		 */
		if (st == ST_PEER_CLOSED &&
		    (op->call == DC_SEND || op->call == DC_WRITE ||
		     op->call == DC_SENDMSG) && res[0] != '-' && res[0] != '0')
			diff_wait(e.fd[DIFF_S], POLLERR, 2000);
		/* A connect in flight: wait for its end (NEW_TCP's handshake). */
		if (op->call == DC_CONNECT && op->a != DIFF_TGT_BLACKHOLE &&
		    strstr(res, "EINPROGRESS"))
			diff_wait(e.fd[DIFF_S], POLLOUT, 2000);
		r = diff_wait(e.fd[DIFF_S], POLLIN | POLLPRI | POLLOUT |
			      POLLRDHUP, 0);
		diff_revents(r, rev, sizeof(rev));
		getsockopt(e.fd[DIFF_S], SOL_SOCKET, SO_ERROR, &err, &len);
		snprintf(out, LINE_MAX_, "%s | then poll=%s SO_ERROR=%s",
			 res, rev, err ? ntcp_errname(err) : "0");
		/* Does a listener still take connections after shutdown()? */
		if (st == ST_LISTEN && op->call == DC_SHUTDOWN)
			new_client(&e, out);
	}
	diff_env_close(&e);
}

static int cur_state;

/* One table pair: state @state, call @i, a subtest line. */
static void table_pair(int state, int i)
{
	char a[LINE_MAX_], b[LINE_MAX_];
	const char *st = state_names[state], *why;
	int same;

	run_pair(DIFF_TCP, state, &calls[i].op, a);
	run_pair(DIFF_NTCP, state, &calls[i].op, b);
	same = !strcmp(a, b);
	why = same ? NULL : excepted(st, calls[i].name);
	if (same)
		tap_sub_ok(1, "%s: %s: %s", st, calls[i].name, a);
	else if (why)
		tap_sub_ok(1, "%s: %s: tcp %s / new_tcp %s # exception: %s",
			   st, calls[i].name, a, b, why);
	else
		tap_sub_ok(0, "%s: %s: tcp %s / new_tcp %s", st,
			   calls[i].name, a, b);
}

static int test_state(void)
{
	int i;

	signal(SIGPIPE, SIG_IGN);
	for (i = 0; i < ncalls; i++)
		if (!calls[i].buffers)
			table_pair(cur_state, i);
	return tap_sub_done();
}

/*
 * SO_RCVBUF, SO_SNDBUF (TCP starts from tcp_rmem[1]/tcp_wmem[1] and
 * autotunes; NEW_TCP follows its inner socket's unless the user set them)
 * and TCP_MAXSEG (bounded by half the peer's largest window) in every
 * state, apart so that the state tests name everything else.
 */
static int test_buffers(void)
{
	int st, i;

	signal(SIGPIPE, SIG_IGN);
	for (st = 0; st < ST_MAX; st++)
		for (i = 0; i < ncalls; i++)
			if (calls[i].buffers)
				table_pair(st, i);
	return tap_sub_done();
}

#define STATE_TEST(id)							\
	static int test_##id(void)					\
	{								\
		cur_state = id;						\
		return test_state();					\
	}
STATE_TEST(ST_FRESH)
STATE_TEST(ST_BOUND)
STATE_TEST(ST_LISTEN)
STATE_TEST(ST_LISTEN_PENDING)
STATE_TEST(ST_CONNECTING)
STATE_TEST(ST_CONNECTED)
STATE_TEST(ST_CONNECTED_DATA)
STATE_TEST(ST_WR_SHUT)
STATE_TEST(ST_PEER_WR_SHUT)
STATE_TEST(ST_PEER_CLOSED)
STATE_TEST(ST_RESET)
STATE_TEST(ST_REFUSED)


static const struct ntcp_test tests[] = {
	{ "table: fresh", test_ST_FRESH, 60 },
	{ "table: bound", test_ST_BOUND, 60 },
	{ "table: listening", test_ST_LISTEN, 60 },
	{ "table: listening+pending", test_ST_LISTEN_PENDING, 60 },
	{ "table: connecting", test_ST_CONNECTING, 60 },
	{ "table: connected", test_ST_CONNECTED, 60 },
	{ "table: connected+data", test_ST_CONNECTED_DATA, 60 },
	{ "table: half-closed (we SHUT_WR)", test_ST_WR_SHUT, 60 },
	{ "table: half-closed (peer SHUT_WR)", test_ST_PEER_WR_SHUT, 60 },
	{ "table: peer-closed", test_ST_PEER_CLOSED, 60 },
	{ "table: reset", test_ST_RESET, 60 },
	{ "table: connect-refused", test_ST_REFUSED, 60 },
	{ "table: buffer sizes (SO_RCVBUF, SO_SNDBUF, TCP_MAXSEG) in every state",
	  test_buffers, 60 },
	{ "generated: random call sequences on connected pairs",
	  test_generated, 120 },
	{ "seqpacket: NEW_TCP against AF_UNIX", test_seqpacket, 60 },
};

int main(int argc, char **argv)
{
	int a;

	for (a = 1; a + 1 < argc; a++)
		if (!strcmp(argv[a], "--seed"))
			setenv("SOCKVM_SEED", argv[a + 1], 1);
	gen_seed = tap_seed();
	ntcp_suite_start(ARRAY_SIZE(tests));
	if (diff_init())
		tap_bail("no black hole listener / dead port: %s",
			 ntcp_errname(errno));
	build_calls();
	tap_diag("%d calls x %d states = %d table pairs", ncalls, ST_MAX,
		 ncalls * ST_MAX);
	for (a = 0; a < (int)ARRAY_SIZE(tests); a++)
		run_test(tests[a].name, tests[a].fn, tests[a].timeout);
	return tap_done();
}
