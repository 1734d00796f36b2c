// SPDX-License-Identifier: GPL-2.0
/*
 * dispatch: the BPF trace as the oracle.  sockvm-trace runs beside the
 * suite in each guest (kprobes on every newtcp.ko function, the socket
 * layer, inner TCP and e1000); each test acts, takes a snapshot, and
 * checks from the trace which kernel functions its own process went
 * through, in which order:
 *   - socket() with the family reaches the module's create;
 *   - connect() goes __sys_connect -> the module's connect -> the inner
 *     socket's tcp_v4_connect;
 *   - a send to guest 2 goes the module's sendmsg -> tcp_sendmsg ->
 *     e1000_xmit_frame here, and guest 2's e1000 receives;
 *   - a plain AF_INET socket never enters the module;
 *   - the handlers the other suites reach only in passing, each by the
 *     call that dispatches to it: connect(AF_UNSPEC) -> the module's
 *     disconnect (called by its proto_ops.connect),
 *     SO_RCVLOWAT -> proto_ops.set_rcvlowat, SO_BINDTODEVICE ->
 *     proto.rehash, the handshakes_refused parameter -> its get.
 * The module's functions are found by the table slot they fill (the
 * harness reads newtcp.ko's relocations and the kernel's BTF), not by name.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include "ntcp.h"
#include "peer.h"
#include "tap.h"
#include "tracer.h"

static const char *no_tracer;

#define T_CREATE	"socket() with the family reaches the module's create"
#define T_CONNECT	"connect() passes the module's connect and the inner tcp_v4_connect"
#define T_SEND		"a send to guest 2 crosses e1000 transmit here and e1000 receive there"
#define T_PLAIN		"a plain AF_INET socket never enters the module"
#define T_UNSPEC	"connect(AF_UNSPEC) goes the module's connect to its disconnect"
#define T_LOWAT		"SO_RCVLOWAT on a stream socket reaches proto_ops.set_rcvlowat"
#define T_BINDDEV	"SO_BINDTODEVICE reaches the module's proto.rehash"
#define T_PARAM		"reading handshakes_refused reaches the parameter's get"

/* The tracer is this suite's oracle: absent here, skip; broken, fail. */
static int tracer_broken;
#define NEED_TRACER()							\
	do {								\
		if (no_tracer && !tracer_broken)			\
			SKIP_TEST("%s", no_tracer);			\
		CHECK(!no_tracer, "sockvm-trace: %s", no_tracer);	\
	} while (0)

static int snapshot_or_fail(void)
{
	if (no_tracer)
		return -1;
	if (tracer_snapshot()) {
		tap_diag("no snapshot from sockvm-trace within 10 s");
		return -1;
	}
	return 0;
}

static int t_create(void)
{
	const char *create = tracer_role("net_proto_family.create", "newtcp_create");
	const char *chain[] = { "__sock_create", create };
	int fd;

	NEED_TRACER();
	fd = socket(ntcp_family, SOCK_STREAM, 0);
	CHECK(fd >= 0, "socket(%d, SOCK_STREAM)", ntcp_family);
	close(fd);
	CHECK(!snapshot_or_fail(), "snapshot");
	if (tracer_calls(create, T_CREATE) < 1)
		tracer_dump(T_CREATE);
	CHECK(tracer_calls(create, T_CREATE) >= 1, "%s (the family's create) was not called by this test", create);
	CHECK(tracer_has_chain(T_CREATE, chain, 2), "no chain __sock_create > %s", create);
	return 0;
}

static int t_connect(void)
{
	const char *connect_fn = tracer_role("proto_ops.connect", "newtcp_connect");
	const char *chain[] = { "__sys_connect", connect_fn, "tcp_v4_connect" };
	int cli = -1, srv = -1, rc;

	NEED_TRACER();
	rc = ntcp_pair(SOCK_STREAM, &cli, &srv);
	if (cli >= 0)
		close(cli);
	if (srv >= 0)
		close(srv);
	/* The trace is the oracle: judge the path before the outcome. */
	CHECK(!snapshot_or_fail(), "snapshot");
	CHECK(tracer_has_chain(T_CONNECT, chain, 3),
	      "connect() did not go __sys_connect > %s > tcp_v4_connect", connect_fn);
	CHECK(rc == 0, "ntcp_pair over loopback");
	return 0;
}

static int t_plain(void)
{
	int cli = -1, srv = -1, rc;
	char first[128];
	long long n;

	NEED_TRACER();
	rc = tcp_pair(&cli, &srv, 0);
	CHECK(rc == 0, "plain TCP pair over loopback");
	CHECK(send(cli, "x", 1, 0) == 1 && recv(srv, first, 1, 0) == 1, "one byte across");
	close(cli);
	close(srv);
	CHECK(!snapshot_or_fail(), "snapshot");
	/* The tracer saw this test (so "no module call" is not silence). */
	CHECK(tracer_calls("__sys_connect", T_PLAIN) >= 1 && tracer_calls("tcp_v4_connect", T_PLAIN) >= 1,
	      "the plain connect was not traced");
	n = tracer_module_calls(T_PLAIN, first, sizeof(first));
	CHECK(n == 0, "a plain AF_INET socket called %lld module functions (first: %s)", n, first);
	return 0;
}

/* Whether this test called @fn (found by @role); prints the test's calls when not. */
static int reached(const char *test, const char *role, const char *fallback)
{
	const char *fn = tracer_role(role, fallback);

	if (snapshot_or_fail())
		return 0;
	if (tracer_calls(fn, test) >= 1)
		return 1;
	tap_diag("%s (%s) was not called by this test", fn, role);
	tracer_dump(test);
	return 0;
}

static int t_unspec(void)
{
	const char *unspec_chain[] = { "__sys_connect", tracer_role("proto_ops.connect", "newtcp_connect"),
				       "newtcp_disconnect" };
	struct sockaddr unspec = { .sa_family = AF_UNSPEC };
	int cli = -1, srv = -1;

	NEED_TRACER();
	CHECK(!ntcp_pair(SOCK_STREAM, &cli, &srv), "pair over loopback");
	CHECK(!connect(cli, &unspec, sizeof(unspec)), "connect(AF_UNSPEC)");
	close(cli);
	close(srv);
	/* No table slot: proto_ops.connect calls it (newtcp_close.c). */
	CHECK(!snapshot_or_fail(), "snapshot");
	CHECK(tracer_has_chain(T_UNSPEC, unspec_chain, 3), "connect(AF_UNSPEC) did not go __sys_connect > %s > newtcp_disconnect",
	      unspec_chain[1]);
	return 0;
}

static int t_lowat(void)
{
	int fd = socket(ntcp_family, SOCK_STREAM, 0), v = 64;

	NEED_TRACER();
	CHECK(fd >= 0, "socket");
	CHECK(!setsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &v, sizeof(v)), "SO_RCVLOWAT");
	close(fd);
	CHECK(reached(T_LOWAT, "proto_ops.set_rcvlowat", "newtcp_set_rcvlowat"), "set_rcvlowat");
	return 0;
}

static int t_binddev(void)
{
	int fd = socket(ntcp_family, SOCK_STREAM, 0);

	NEED_TRACER();
	CHECK(fd >= 0, "socket");
	CHECK(!setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, "lo", 3), "SO_BINDTODEVICE lo");
	close(fd);
	CHECK(reached(T_BINDDEV, "proto.rehash", "newtcp_rehash"), "rehash");
	return 0;
}

static int t_param(void)
{
	char buf[64];
	FILE *f;

	NEED_TRACER();
	f = fopen("/sys/module/newtcp/parameters/handshakes_refused", "r");
	CHECK(f && fgets(buf, sizeof(buf), f), "read handshakes_refused");
	fclose(f);
	CHECK(reached(T_PARAM, "kernel_param_ops.get", "newtcp_refused_get"), "the parameter's get");
	return 0;
}

static int t_send(void)
{
	const char *sendmsg_fn = tracer_role("proto_ops.sendmsg", "newtcp_sendmsg");
	/* write() reaches the socket's ops without sock_sendmsg: the module's sendmsg leads. */
	const char *chain[] = { sendmsg_fn, "tcp_sendmsg", "e1000_xmit_frame" };
	long long rx0, rx1;
	const char *why;
	int ctl;

	NEED_TRACER();
	ctl = ctl_open(10000);
	CHECK(ctl >= 0, "control connection to %s", peer_cfg.peer);
	rx0 = ctl_query(ctl, "dispatch-rx", "rx");
	CHECK(rx0 >= 0, "guest 2's tracer answered (dispatch-rx)");
	CHECK(ds_sink(SOCK_STREAM, 256 << 10, 7, 0, NULL) == 0, "256 KiB to guest 2, verified there");
	rx1 = ctl_query(ctl, "dispatch-rx", "rx");
	close(ctl);
	CHECK(!snapshot_or_fail(), "snapshot");
	if (!tracer_attached("e1000_xmit_frame", &why))
		SKIP_TEST("e1000_xmit_frame is not traceable on this kernel: %s", why);
	CHECK(tracer_calls("e1000_xmit_frame", T_SEND) >= 1, "this test's process never ran e1000_xmit_frame");
	CHECK(tracer_has_chain(T_SEND, chain, 3),
	      "no send went %s > tcp_sendmsg > e1000_xmit_frame", sendmsg_fn);
	CHECK(rx1 > rx0, "guest 2's e1000 receive path ran %lld times during the transfer", rx1 - rx0);
	tap_diag("guest 2's e1000 receive path ran %lld times during the transfer", rx1 - rx0);
	return 0;
}

/* Server side: "dispatch-rx" answers how often this guest's e1000 received. */
static int server_cmd(const char *cmd, char *reply, size_t len)
{
	long long rx;
	const char *why;

	if (strcmp(cmd, "dispatch-rx"))
		return 0;
	if (no_tracer || tracer_snapshot()) {
		snprintf(reply, len, "err no tracer: %s", no_tracer ? no_tracer : "no snapshot");
		return 1;
	}
	/* e1000_clean_rx_irq is inlined into the NAPI poll on some kernels. */
	rx = tracer_attached("e1000_clean_rx_irq", &why) ? tracer_untracked("e1000_clean_rx_irq")
							  : tracer_untracked("e1000_clean");
	snprintf(reply, len, "ok rx=%lld", rx);
	return 1;
}

static pid_t main_pid;

/* Test children exit too: only the suite's own process stops the tracer. */
static void stop_at_exit(void)
{
	if (getpid() == main_pid)
		tracer_stop();
}

int main(int argc, char **argv)
{
	static const struct ntcp_test tests[] = {
		{ T_CREATE, t_create, 30 },
		{ T_CONNECT, t_connect, 30 },
		{ T_PLAIN, t_plain, 30 },
		{ T_SEND, t_send, 60 },
		{ T_UNSPEC, t_unspec, 30 },
		{ T_LOWAT, t_lowat, 30 },
		{ T_BINDDEV, t_binddev, 30 },
		{ T_PARAM, t_param, 30 },
	};

	signal(SIGPIPE, SIG_IGN);
	ntcp_family = tap_newtcp_family();
	peer_parse(argc, argv, &peer_cfg);
	/* Guest 2 only counts receives: few probes, so it is ready soon. */
	tracer_broken = tracer_start(strcmp(peer_cfg.role, "server") ? NULL :
				     "e1000", &no_tracer) == -1;
	if (no_tracer)
		tap_diag("no tracer: %s", no_tracer);
	main_pid = getpid();
	atexit(stop_at_exit);
	if (!strcmp(peer_cfg.role, "server")) {
		peer_server_atexit = tracer_stop;
		return ntcp_family < 0 ? 1 : peer_server(server_cmd);
	}
	return peer_client_run(tests, ARRAY_SIZE(tests), NULL, NULL, NULL);
}
