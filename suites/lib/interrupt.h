/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Interruption and concurrency engine.
 *
 * Generates scenarios instead of listing them: every blocking call
 * (connect, accept, send, recv, poll, close with SO_LINGER) x every
 * interruption (a signal whose handler has no SA_RESTART; SO_RCVTIMEO,
 * SO_SNDTIMEO, poll's or SO_LINGER's time running out; SIGSTOP then
 * SIGCONT) x every position (before any data of the unit, mid-unit, at
 * its end) x socket type.  A unit is a record on SEQPACKET, a buffer on
 * STREAM.
 *
 * One scenario runs twice at the same time: on NEW_TCP in the test child
 * itself (so a NEW_TCP call stuck in D state is the test child that
 * run_test() reports as not dying), and on a plain TCP pair in a
 * grandchild, the oracle.  The NEW_TCP peer is a plain TCP socket that
 * did the hello by hand, so positions inside a record are exact.
 *
 * Checked: how the call ends (its class: an errno, a partial count, done,
 * "resumed" when it keeps waiting past the interruption and completes
 * later) is the oracle's for STREAM and the spec's for SEQPACKET; and
 * afterwards the connection works: every unit before, the interrupted
 * one (whole or, when the call said so, not at all / its first n bytes
 * on STREAM), and the next ones in both directions arrive whole, in
 * order, once, then a clean EOF.
 *
 * The concurrency half: a first thread blocked in a call (recv, send,
 * poll, accept) while a second does another on the same socket (FIONREAD,
 * close, shutdown, recv, send, setsockopt): the second returns within a
 * bound, the first ends as it ends on TCP, and once the peer completes
 * the first call's unit every call ends and records are whole.
 */
#ifndef SOCKVM_INTERRUPT_H
#define SOCKVM_INTERRUPT_H

#include <stddef.h>

enum intr_call {
	INTR_CONNECT, INTR_ACCEPT, INTR_SEND, INTR_RECV, INTR_POLL,
	INTR_CLOSE, INTR_NCALLS
};

enum intr_kind { INTR_SIGNAL, INTR_TIMEOUT, INTR_STOPCONT, INTR_NKINDS };

enum intr_pos { INTR_BEFORE, INTR_MID, INTR_END, INTR_NPOS };

struct intr_case {
	int call, kind, pos, type;
};

/*
 * The generated matrix: calls x interruptions x positions x types minus
 * the cells that cannot exist (intr_excluded() says why).  Returns the
 * count, fills at most @max.
 */
size_t intr_matrix(struct intr_case *out, size_t max);
/* NULL when the cell is run, else why it cannot be. */
const char *intr_excluded(const struct intr_case *c);
void intr_case_name(const struct intr_case *c, char *buf, size_t n);
/* The test body: 0 when NEW_TCP behaves and the invariants hold. */
int intr_case_run(const struct intr_case *c);

/*
 * A NEW_TCP socket of @type accepted on a fresh listener (*s) and the
 * plain TCP client that did the hello by hand (*p), so a test writes the
 * wire format itself.  0 on success.
 */
int intr_raw_pair(int type, int *s, int *p);

enum conc_op {
	CONC_FIONREAD, CONC_CLOSE, CONC_SHUTDOWN, CONC_RECV, CONC_SEND,
	CONC_SETSOCKOPT, CONC_NOPS
};

/* A first call blocked (INTR_SEND, INTR_RECV, INTR_POLL, INTR_ACCEPT). */
struct conc_case {
	int call, op, type;
};

size_t conc_matrix(struct conc_case *out, size_t max);
void conc_case_name(const struct conc_case *c, char *buf, size_t n);
int conc_case_run(const struct conc_case *c);

#endif
