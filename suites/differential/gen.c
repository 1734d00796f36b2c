// SPDX-License-Identifier: GPL-2.0
/*
 * Generated mode: seeded random call sequences on a connected pair, run
 * step by step on TCP and on NEW_TCP.  What TCP answered drives a small
 * model (bytes each side has not read yet, who shut what down) so that
 * before every step both pairs are waited into the same state (all data
 * sent so far arrived, EOF seen) and blocking reads are only issued when
 * they cannot block.  A divergence prints the seed, the scenario, the
 * steps leading to it with TCP's outcomes, and both outcomes; the
 * scenario ends there.
 *
 * SEQPACKET: a script on a NEW_TCP pair and on an AF_UNIX socketpair.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "diff.h"
#include "gen.h"
#include "ntcp.h"
#include "tap.h"

unsigned long long gen_seed;

#define GEN_SCENARIOS	80
#define GEN_STEPS	126

static uint64_t rs;

static uint32_t rnd(uint32_t n)
{
	rs ^= rs << 13;
	rs ^= rs >> 7;
	rs ^= rs << 17;
	return (uint32_t)(rs >> 11) % n;
}

struct model {
	long unread[2];		/* bytes sent to side i, not read by it */
	int eof[2];		/* side i's peer shut its writing down */
	int rd_shut[2], wr_shut[2];
	int lowat[2];
	/*
	 * Data went to a side that had shut down both ways: its TCP resets the
	 * connection when the data lands (tcp_rcv_state_process(), FIN_WAIT1/2
	 * with RCV_SHUTDOWN), asynchronously to the send that caused it.
	 */
	int reset;
};

/* Side @s's TCP state, as TCP_INFO reports it (NEW_TCP: its inner socket's). */
static int tcp_state(int fd)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	return getsockopt(fd, SOL_TCP, TCP_INFO, &ti, &len) ? -1 : ti.tcpi_state;
}

/*
 * Wait until side @s of @e has everything the model says is coming; at
 * most 2 s (a loaded TCG guest can hold a delayed ACK that long), and a
 * settled socket returns at once.
 */
static void settle(struct diff_env *e, const struct model *m, int s)
{
	long long end = now_ms() + 2000;
	int fd = e->fd[s], v;
	short r;

	for (;;) {
		if (m->reset) {
			/*
			 * The reset ends both sides in CLOSE. POLLHUP is no
			 * sign of it: a side shut down both ways has it already.
			 */
			if (tcp_state(fd) == TCP_CLOSE || now_ms() > end)
				return;
			usleep(1000);
			continue;
		}
		r = diff_wait(fd, POLLRDHUP, 0);
		if (r & (POLLERR | POLLHUP))
			return;
		if (!ioctl(fd, FIONREAD, &v) && v >= m->unread[s] &&
		    (!m->eof[s] || (r & POLLRDHUP)))
			return;
		if (now_ms() > end)
			return;
		if (!v || m->eof[s])
			diff_wait(fd, POLLIN | POLLRDHUP, 5);
		else
			usleep(200);
	}
}

static void gen_op(struct model *m, struct diff_op *op)
{
	static const int rfl[] = {
		0, MSG_DONTWAIT, MSG_PEEK, MSG_TRUNC, MSG_WAITALL,
		MSG_PEEK | MSG_DONTWAIT, MSG_TRUNC | MSG_DONTWAIT,
	};
	static const int sfl[] = {
		0, MSG_DONTWAIT, MSG_NOSIGNAL, MSG_DONTWAIT | MSG_NOSIGNAL,
	};
	static const char *const gopts[] = {
		"SO_ERROR", "TCP_NODELAY", "SO_RCVLOWAT",
		"SO_KEEPALIVE", "TCP_CORK",
	};
	static const char *const sopts[] = {
		"TCP_NODELAY", "SO_KEEPALIVE",
	};
	static const char *const ioc[] = { "FIONREAD", "SIOCATMARK" };
	int s = rnd(2), r = rnd(100), avail, eof;

	memset(op, 0, sizeof(*op));
	op->s = s;
	if (m->unread[s] > 32768)
		r = 30;
	if (r < 22) {
		op->call = r < 16 ? DC_SEND : r < 19 ? DC_WRITE : DC_SENDMSG;
		op->a = 1 + rnd(1500);
		if (op->call != DC_WRITE)
			op->flags = sfl[rnd(ARRAY_SIZE(sfl))];
		return;
	}
	if (r < 52) {
		op->call = r < 42 ? DC_RECV : r < 47 ? DC_READ : DC_RECVMSG;
		op->a = 1 + rnd(r & 1 ? 64 : 2048);
		if (op->call != DC_READ)
			op->flags = rfl[rnd(ARRAY_SIZE(rfl))];
		avail = m->unread[s];
		eof = m->eof[s] || m->rd_shut[s];
		if ((op->flags & MSG_WAITALL) && avail < op->a && !eof)
			op->flags &= ~MSG_WAITALL;
		/* Blocking only when it returns at once (rarely not: DIFF_TIMEO_MS). */
		if (!avail && !eof && rnd(50)) {
			if (op->call == DC_READ)
				op->call = DC_RECV;
			op->flags |= MSG_DONTWAIT;
		}
		if (avail && m->lowat[s] > avail && !eof)
			op->flags |= MSG_DONTWAIT;
		return;
	}
	if (r < 62) {
		op->call = DC_POLL;
		return;
	}
	if (r < 70) {
		op->call = DC_IOCTL;
		op->a = diff_ioctl_idx(ioc[rnd(ARRAY_SIZE(ioc))]);
		return;
	}
	if (r < 80) {
		op->call = DC_GETOPT;
		op->a = diff_opt_idx(gopts[rnd(ARRAY_SIZE(gopts))]);
		return;
	}
	if (r < 88) {
		op->call = DC_SETOPT;
		op->a = diff_opt_idx(sopts[rnd(ARRAY_SIZE(sopts))]);
		return;
	}
	if (r < 94) {
		op->call = DC_GETNAME;
		op->a = rnd(2);
		return;
	}
	if (r < 97 && !m->wr_shut[s]) {
		op->call = DC_SHUTDOWN;
		op->a = SHUT_WR;
		return;
	}
	if (r < 98 && !m->rd_shut[s] && !m->wr_shut[s]) {
		op->call = DC_SHUTDOWN;
		op->a = SHUT_RD;
		return;
	}
	op->call = DC_POLL;
}

/* Fold TCP's answer @res to @op into the model. */
static void update(struct model *m, const struct diff_op *op, const char *res)
{
	long ret = strtol(res, NULL, 10);
	int s = op->s;

	switch (op->call) {
	case DC_SEND:
	case DC_WRITE:
	case DC_SENDMSG:
		if (ret > 0)
			m->unread[!s] += ret;
		if (ret > 0 && m->rd_shut[!s] && m->wr_shut[!s])
			m->reset = 1;
		break;
	case DC_RECV:
	case DC_READ:
	case DC_RECVMSG:
		if (ret > 0 && !(op->flags & MSG_PEEK))
			m->unread[s] -= ret < m->unread[s] ? ret : m->unread[s];
		break;
	case DC_SHUTDOWN:
		if (ret)
			break;
		if (op->a == SHUT_WR) {
			m->wr_shut[s] = 1;
			m->eof[!s] = 1;
		} else {
			m->rd_shut[s] = 1;
		}
		break;
	case DC_SETOPT:
		break;
	}
}

struct step {
	struct diff_op op;
	char res[DIFF_OUT_MAX];
};

static int gen_pair(struct diff_env *e, int kind)
{
	diff_env_init(e, kind, SOCK_STREAM);
	if (diff_env_pair(e))
		return -1;
	close(e->fd[DIFF_L]);
	e->fd[DIFF_L] = -1;
	return diff_bound(e->fd[DIFF_S]) || diff_bound(e->fd[DIFF_P]);
}

static void report(unsigned int sc, int n, const struct step *steps,
		   const char *tcp, const char *ntcp)
{
	char d[96];
	int i;

	printf("# DIVERGENCE seed %llu scenario %u step %d (replay: --suite differential --seed %llu --test 'generated*')\n",
	       gen_seed, sc, n, gen_seed);
	for (i = 0; i <= n; i++) {
		diff_describe(&steps[i].op, d, sizeof(d));
		if (i < n)
			printf("#   %2d %-40s %s\n", i, d, steps[i].res);
		else
			printf("#   %2d %-40s tcp:     %s\n#      %-40s new_tcp: %s\n",
			       i, d, tcp, "", ntcp);
	}
}

int test_generated(void)
{
	static struct step steps[GEN_STEPS];
	char a[DIFF_OUT_MAX], b[DIFF_OUT_MAX], d[96];
	struct diff_env t, n;
	unsigned int sc, bad = 0, excused = 0;
	long calls = 0;
	struct model m;
	const char *why;
	int i;

	signal(SIGPIPE, SIG_IGN);
	printf("# seed %llu (replay: --seed %llu)\n", gen_seed, gen_seed);
	for (sc = 0; sc < GEN_SCENARIOS; sc++) {
		rs = gen_seed * 0x9e3779b97f4a7c15ULL + sc * 0xbf58476d1ce4e5b9ULL + 1;
		memset(&m, 0, sizeof(m));
		if (gen_pair(&t, DIFF_TCP) || gen_pair(&n, DIFF_NTCP)) {
			printf("# scenario %u: no pair: %s\n", sc,
			       ntcp_errname(errno));
			diff_env_close(&t);
			diff_env_close(&n);
			return 1;
		}
		for (i = 0; i < GEN_STEPS; i++) {
			gen_op(&m, &steps[i].op);
			settle(&t, &m, steps[i].op.s);
			settle(&n, &m, steps[i].op.s);
			diff_exec(&t, &steps[i].op, a);
			diff_exec(&n, &steps[i].op, b);
			calls++;
			snprintf(steps[i].res, sizeof(steps[i].res), "%s", a);
			if (strcmp(a, b)) {
				diff_describe(&steps[i].op, d, sizeof(d));
				why = excepted("generated", d);
				if (why) {
					excused++;
				} else {
					report(sc, i, steps, a, b);
					bad++;
				}
				break;
			}
			update(&m, &steps[i].op, a);
		}
		diff_env_close(&t);
		diff_env_close(&n);
	}
	printf("# %ld calls on each family in %u scenarios, %u divergences, %u excepted\n",
	       calls, GEN_SCENARIOS, bad, excused);
	return bad ? 1 : 0;
}

/* ---- SEQPACKET against AF_UNIX ---------------------------------------- */

#define S_(call, s, a, f) { call, s, a, f }
static const struct diff_op seq_script[] = {
	S_(DC_GETOPT, DIFF_S, 1 /* SO_TYPE */, 0),
	S_(DC_SEND, DIFF_S, 5, 0),
	S_(DC_SEND, DIFF_S, 0, 0),
	S_(DC_SEND, DIFF_S, 100, MSG_EOR),
	S_(DC_SENDMSG, DIFF_S, 10, 0),
	S_(DC_SEND, DIFF_S, 0, MSG_EOR),
	S_(DC_SEND, DIFF_S, 300, 0),
	S_(DC_SEND, DIFF_S, 20, 0),
	S_(DC_WAITIN, DIFF_P, 1000, 0),
	S_(DC_POLL, DIFF_P, 0, 0),
	S_(DC_IOCTL, DIFF_P, 0 /* FIONREAD */, 0),
	S_(DC_RECVMSG, DIFF_P, 4, 0),
	S_(DC_RECVMSG, DIFF_P, 16, MSG_PEEK),
	S_(DC_RECVMSG, DIFF_P, 16, 0),
	S_(DC_RECVMSG, DIFF_P, 16, MSG_TRUNC),
	S_(DC_RECV, DIFF_P, 64, MSG_PEEK | MSG_DONTWAIT),
	S_(DC_RECV, DIFF_P, 4, MSG_TRUNC | MSG_DONTWAIT),
	S_(DC_RECVMSG, DIFF_P, 16, MSG_DONTWAIT),
	S_(DC_RECV, DIFF_P, 1000, MSG_WAITALL),
	S_(DC_READ, DIFF_P, 8, 0),
	S_(DC_RECV, DIFF_P, 16, MSG_DONTWAIT),
	S_(DC_POLL, DIFF_P, 0, 0),
	S_(DC_SEND, DIFF_P, 7, 0),
	S_(DC_WAITIN, DIFF_S, 1000, 0),
	S_(DC_RECVMSG, DIFF_S, 64, 0),
	S_(DC_SHUTDOWN, DIFF_S, SHUT_WR, 0),
	S_(DC_WAITIN, DIFF_P, 1000, 0),
	S_(DC_POLL, DIFF_P, 0, 0),
	S_(DC_RECVMSG, DIFF_P, 16, 0),
	S_(DC_RECV, DIFF_P, 16, MSG_DONTWAIT),
	S_(DC_POLL, DIFF_S, 0, 0),
	S_(DC_SEND, DIFF_S, 4, MSG_NOSIGNAL),
	S_(DC_SEND, DIFF_P, 3, 0),
	S_(DC_WAITIN, DIFF_S, 1000, 0),
	S_(DC_RECVMSG, DIFF_S, 64, MSG_DONTWAIT),
	S_(DC_SHUTDOWN, DIFF_S, SHUT_RD, 0),
	S_(DC_RECV, DIFF_S, 16, MSG_DONTWAIT),
	S_(DC_POLL, DIFF_S, 0, 0),
	S_(DC_SEND, DIFF_P, 2, 0),
	S_(DC_CLOSE, DIFF_S, 0, 0),
	S_(DC_RECV, DIFF_P, 16, MSG_DONTWAIT),
	S_(DC_SEND, DIFF_P, 4, MSG_NOSIGNAL),
	S_(DC_POLL, DIFF_P, 0, 0),
};

int test_seqpacket(void)
{
	char a[DIFF_OUT_MAX], b[DIFF_OUT_MAX], d[96];
	struct diff_env u, n;
	const char *why;
	size_t i;

	signal(SIGPIPE, SIG_IGN);
	diff_env_init(&u, DIFF_UNIX, SOCK_SEQPACKET);
	diff_env_init(&n, DIFF_NTCP, SOCK_SEQPACKET);
	CHECK(!diff_env_pair(&u), "AF_UNIX socketpair");
	CHECK(!diff_env_pair(&n), "NEW_TCP pair");
	CHECK(!diff_bound(u.fd[DIFF_S]) && !diff_bound(u.fd[DIFF_P]) &&
	      !diff_bound(n.fd[DIFF_S]) && !diff_bound(n.fd[DIFF_P]), "timeouts");
	for (i = 0; i < ARRAY_SIZE(seq_script); i++) {
		diff_describe(&seq_script[i], d, sizeof(d));
		diff_exec(&u, &seq_script[i], a);
		diff_exec(&n, &seq_script[i], b);
		why = strcmp(a, b) ? excepted("seqpacket", d) : NULL;
		if (!strcmp(a, b))
			tap_sub_ok(1, "%zu %s: %s", i, d, a);
		else if (why)
			tap_sub_ok(1, "%zu %s: af_unix %s / new_tcp %s # exception: %s",
				   i, d, a, b, why);
		else
			tap_sub_ok(0, "%zu %s: af_unix %s / new_tcp %s", i, d,
				   a, b);
	}
	diff_env_close(&u);
	diff_env_close(&n);
	return tap_sub_done();
}
