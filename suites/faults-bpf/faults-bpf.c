// SPDX-License-Identifier: GPL-2.0
/*
 * faults-bpf: NEW_TCP between two guests with faults placed by a tc BPF
 * program (tcfault.bpf.c) on the client's link NIC, at egress.
 *
 * Where netem (suites/faults) impairs a random share of all packets,
 * this program hits a seeded, deterministic pattern of one direction of
 * one NEW_TCP flow: every Nth new data packet, a burst, only the
 * client's hello, one byte at a chosen stream offset (the hello's magic,
 * a record's length header), and it counts what it did.  Drops are made
 * at ingress, on what the server sends (a loss its TCP must discover);
 * corruption and delay at egress, on what the client sends.  A test whose fault was
 * never applied fails: the count is part of the check.
 *
 * The client loads the program with libbpf (linked statically; the
 * object is embedded through bpftool's skeleton) and attaches its two
 * programs to the clsact qdisc's egress and ingress, direct-action; the server is peer.c's data service plus
 * a SEQPACKET receiver on PORT_RX that reports what it got.  A kernel
 * without the BPF syscall, cls_bpf or clsact skips every test, saying
 * which piece it lacked.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <net/if.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "libbpf-tap.h"
#include "ntcp.h"
#include "peer.h"
#include "tap.h"
#include "tcfault.h"
#include "tcfault.skel.h"

#define MiB		(1u << 20)
#define PORT_RX		7320	/* NEW_TCP SOCK_SEQPACKET: receive, report */

/* ---- client: the program and its map ---- */

static struct tcfault_bpf *skel;
static struct bpf_tc_hook hook = { .sz = sizeof(hook) };
static int map_fd = -1;
static char skip_why[256];
static int bpf_broken;

/* One program at one attach point of the clsact qdisc; 0 or -errno. */
static int attach_one(enum bpf_tc_attach_point where, struct bpf_program *p)
{
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = 1, .priority = 1);

	hook.attach_point = where;
	opts.prog_fd = bpf_program__fd(p);
	return bpf_tc_attach(&hook, &opts);
}

static void attach(void)
{
	int rc;

	libbpf_set_print(libbpf_tap_print);
	hook.ifindex = if_nametoindex(peer_cfg.link);
	if (!hook.ifindex) {
		snprintf(skip_why, sizeof(skip_why), "no link interface %s",
			 peer_cfg.link);
		return;
	}
	if (libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_SCHED_CLS, NULL) != 1) {
		snprintf(skip_why, sizeof(skip_why),
			 "this kernel loads no tc BPF programs (CONFIG_BPF_SYSCALL, CONFIG_NET_CLS_BPF)");
		return;
	}
	skel = tcfault_bpf__open_and_load();
	if (!skel) {
		/* The kernel can; our program did not load: a failure. */
		snprintf(skip_why, sizeof(skip_why),
			 "loading tcfault.bpf.o: %s", ntcp_errname(errno));
		bpf_broken = 1;
		return;
	}
	hook.attach_point = BPF_TC_EGRESS;
	rc = bpf_tc_hook_create(&hook);
	if (rc && rc != -EEXIST) {
		snprintf(skip_why, sizeof(skip_why),
			 "no clsact qdisc on %s: %s (CONFIG_NET_SCH_INGRESS)",
			 peer_cfg.link, ntcp_errname(-rc));
		return;
	}
	rc = attach_one(BPF_TC_EGRESS, skel->progs.tcfault_egress);
	if (!rc)
		rc = attach_one(BPF_TC_INGRESS, skel->progs.tcfault_ingress);
	if (rc) {
		snprintf(skip_why, sizeof(skip_why),
			 "no BPF classifier on %s: %s (CONFIG_NET_CLS_BPF)",
			 peer_cfg.link, ntcp_errname(-rc));
		return;
	}
	map_fd = bpf_map__fd(skel->maps.fault);
	tap_diag("tcfault attached at egress and ingress of %s (ifindex %d)",
		 peer_cfg.link, hook.ifindex);
}

static void detach(void)
{
	if (hook.ifindex) {
		hook.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
		bpf_tc_hook_destroy(&hook);
	}
	tcfault_bpf__destroy(skel);
}

/* Aim @f at the flow to the peer's @port; state and counters start at 0. */
static int fault_set(struct tcfault f, uint16_t port)
{
	uint32_t key = 0;

	f.daddr = peer_cfg.peer_ip.s_addr;
	f.dport = htons(port);
	return bpf_map_update_elem(map_fd, &key, &f, BPF_ANY);
}

static int fault_off(void)
{
	return fault_set((struct tcfault){ .mode = TCF_OFF }, 0);
}

static struct tcfault fault_get(void)
{
	struct tcfault f = { 0 };
	uint32_t key = 0;

	if (bpf_map_lookup_elem(map_fd, &key, &f))
		printf("# reading the fault map: %s\n", ntcp_errname(errno));
	printf("# tcfault: mode %u %s seed %u n %u: %llu syn, %llu new data packets, %llu retransmitted, %llu hit\n",
	       f.mode, f.dir == TCF_IN ? "in" : "out", f.seed, f.n, (unsigned long long)f.syns,
	       (unsigned long long)f.packets, (unsigned long long)f.retrans,
	       (unsigned long long)f.hits);
	return f;
}

#define NEED_PROGRAM() NEED_BPF(map_fd >= 0, bpf_broken, skip_why)

/* ---- tests ---- */

static int t_sees_flow(void)
{
	struct tcfault f;

	NEED_PROGRAM();
	/* An offset no test reaches: the program counts, changes nothing. */
	CHECK(!fault_set((struct tcfault){ .mode = TCF_CORRUPT_AT,
					    .offset = 0x7fffffff, .xor = 1 },
			 PEER_PORT_SEQ), "configure");
	CHECK(!ds_sink(SOCK_SEQPACKET, MiB, 900, 16384, NULL),
	      "1 MiB of records out");
	f = fault_get();
	CHECK(f.syns == 1, "the program saw the flow's SYN (%llu)",
	      (unsigned long long)f.syns);
	CHECK(f.packets >= 2, "and its data packets (%llu)",
	      (unsigned long long)f.packets);
	CHECK(f.hits == 0, "and touched none");
	return 0;
}

/*
 * One transfer with the data service under *@f (TCF_IN: from the peer,
 * verified here; TCF_OUT: to it, verified there); *@f gets the counts.
 * The fault must have hit.
 */
static int faulted(struct tcfault *f, int type, uint64_t size, uint32_t seed,
		   uint32_t maxrec)
{
	long long ms;
	int rc;

	CHECK(!fault_set(*f, type == SOCK_STREAM ? PEER_PORT_STREAM :
						PEER_PORT_SEQ), "configure");
	rc = f->dir == TCF_IN ? ds_source(type, size, seed, maxrec, &ms) :
				ds_sink(type, size, seed, maxrec, &ms);
	*f = fault_get();
	CHECK(!fault_off(), "fault off");
	CHECK(!rc, "the transfer arrived intact and in order");
	printf("# %llu KiB in %lld ms\n", (unsigned long long)size >> 10, ms);
	CHECK(f->hits > 0, "the program hit no packet: no fault was injected");
	return 0;
}

static const struct tcfault drop7 = { .mode = TCF_DROP_NTH, .dir = TCF_IN,
				      .n = 7, .seed = 3 };

static int drop7_in(int type, uint32_t maxrec)
{
	struct tcfault f = drop7;

	NEED_PROGRAM();
	if (faulted(&f, type, 2 * MiB, 910 + type, maxrec))
		return 1;
	CHECK(f.retrans > 0, "the peer retransmitted nothing");
	return 0;
}

static int t_drop7_stream(void) { return drop7_in(SOCK_STREAM, 0); }
static int t_drop7_seq(void) { return drop7_in(SOCK_SEQPACKET, 65536); }

static int t_burst_seq(void)
{
	struct tcfault f = { .mode = TCF_DROP_BURST, .dir = TCF_IN, .n = 5,
			     .first = 4, .seed = 7 };

	NEED_PROGRAM();
	if (faulted(&f, SOCK_SEQPACKET, 2 * MiB, 912, 16384))
		return 1;
	CHECK(f.hits == 5, "exactly the 5 packets of the burst dropped (%llu)",
	      (unsigned long long)f.hits);
	CHECK(f.retrans > 0, "the peer retransmitted nothing");
	return 0;
}

static int t_delay_seq(void)
{
	struct tcfault f = { .mode = TCF_DELAY_NTH, .n = 4, .seed = 1,
			     .delay_us = 40000 };
	long long t0;
	int rc;

	NEED_PROGRAM();
	if (peer_sh("$TC qdisc replace dev %s root fq", peer_cfg.link))
		SKIP_TEST("no fq qdisc here (CONFIG_NET_SCH_FQ): a departure time would be ignored");
	t0 = now_ms();
	rc = faulted(&f, SOCK_SEQPACKET, MiB, 913, 16384);
	t0 = now_ms() - t0;
	CHECK(!peer_sh("$TC qdisc del dev %s root", peer_cfg.link),
	      "fq removed");
	if (rc)
		return 1;
	/*
	 * fq sends a flow's packets in order, so each held packet holds the
	 * flow: half the holds' sum is a floor the transfer cannot beat
	 * unless the departure times were ignored (it takes ~0.5 s then).
	 */
	CHECK(t0 >= (long long)f.hits * 20,
	      "%llu packets held 40 ms, yet the transfer took only %lld ms: departure times ignored?",
	      (unsigned long long)f.hits, t0);
	return 0;
}

/* Connect to the SEQPACKET data service with @f on the flow; errno out. */
static int faulted_connect(struct tcfault f, uint16_t port, long long *ms,
			   int *err)
{
	long long t0 = now_ms();
	int fd;

	CHECK(!fault_set(f, port), "configure");
	fd = peer_connect(SOCK_SEQPACKET, port);
	*err = errno;
	*ms = now_ms() - t0;
	if (fd >= 0)
		close(fd);
	return fd >= 0;
}

static int handshake_ms(void)
{
	FILE *fp = fopen("/sys/module/newtcp/parameters/handshake_ms", "r");
	int v = 2000;

	if (fp) {
		if (fscanf(fp, "%d", &v) != 1)
			v = 2000;
		fclose(fp);
	}
	return v;
}

static int then_connects(void)
{
	int fd;

	CHECK(!fault_off(), "fault off");
	fd = peer_connect(SOCK_SEQPACKET, PEER_PORT_SEQ);
	CHECK(fd >= 0, "a connect without the fault succeeds");
	close(fd);
	return 0;
}

#define HS_PARAM "/sys/module/newtcp/parameters/handshake_ms"

/* The server's handshake bound, in ms; 0 once the server took it. */
static int server_handshake_ms(int ms)
{
	char r[256];
	int c = ctl_open(5000), rc;

	if (c < 0)
		return -1;
	rc = ctl_cmd(c, r, sizeof(r), "sh echo %d > " HS_PARAM, ms);
	close(c);
	return rc;
}

/*
 * The server waits longer for a hello than the client for its answer,
 * so the client's own bound ends the connect (with the same bound, the
 * server's reset races it: ECONNRESET or ETIMEDOUT).
 */
static int t_hello_dropped(void)
{
	struct tcfault f = { .mode = TCF_DROP_HELLO };
	int err, ok, bound = handshake_ms();
	long long ms;

	NEED_PROGRAM();
	CHECK(!server_handshake_ms(bound + 5000), "server's handshake_ms %d",
	      bound + 5000);
	ok = faulted_connect(f, PEER_PORT_SEQ, &ms, &err);
	f = fault_get();
	CHECK(!server_handshake_ms(bound), "server's handshake_ms %d again",
	      bound);
	printf("# connect: %s after %lld ms (handshake_ms %d)\n",
	       ok ? "success" : ntcp_errname(err), ms, bound);
	CHECK(f.hits > 0, "no hello was dropped");
	CHECK(!ok, "connect succeeded with every copy of the hello dropped");
	CHECK(err == ETIMEDOUT, "connect failed with %s, not ETIMEDOUT",
	      ntcp_errname(err));
	CHECK(ms >= bound / 2 && ms < bound + 3000,
	      "after the client's handshake bound, %d ms", bound);
	return then_connects();
}

/* What the server's PORT_RX receiver got on its last connection. */
static int rx_report(int *records, int *err, int *acc)
{
	long long end = now_ms() + 8000;
	char r[256];
	int c = ctl_open(5000);

	CHECK(c >= 0, "control");
	while (now_ms() < end) {
		CHECK(!ctl_cmd(c, r, sizeof(r), "rxlast"), "rxlast: %s", r);
		if (ctl_val(r, "done") == 1) {
			*records = (int)ctl_val(r, "records");
			*err = (int)ctl_val(r, "err");
			*acc = (int)ctl_val(r, "acc");
			close(c);
			return 0;
		}
		usleep(20000);
	}
	close(c);
	CHECK(0, "the receiver reported nothing within 8 s");
}

/* Connections the receiver has accepted so far, -1 on error. */
static int rx_accepted(void)
{
	char r[256];
	int c = ctl_open(5000), n = -1;

	if (c < 0)
		return -1;
	if (!ctl_cmd(c, r, sizeof(r), "rxlast"))
		n = (int)ctl_val(r, "acc");
	close(c);
	return n;
}

static int send_record(const char *what)
{
	int fd = peer_connect(SOCK_SEQPACKET, PORT_RX);
	char b[8];

	CHECK(fd >= 0, "connect to the receiver");
	CHECK(send(fd, what, strlen(what), 0) == (ssize_t)strlen(what),
	      "send a record");
	/* The peer closes (or fails) its end; a bounded wait for it. */
	{
		struct timeval tv = { .tv_sec = 5 };

		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	}
	shutdown(fd, SHUT_WR);
	CHECK(recv(fd, b, sizeof(b), 0) <= 0 && errno != EAGAIN,
	      "the receiver's end closes, no hang");
	close(fd);
	return 0;
}

/*
 * On the receiver's port, which nothing else uses: after the bad hello,
 * one good connection with one record.  Had the server queued the bad
 * one, it would have been accepted first, and counted.
 */
static int t_hello_corrupt(void)
{
	struct tcfault f = { .mode = TCF_CORRUPT_AT, .offset = 0, .xor = 0xff };
	int err, ok, records, acc0, acc;
	long long ms;

	NEED_PROGRAM();
	acc0 = rx_accepted();
	CHECK(acc0 >= 0, "the receiver's count");
	ok = faulted_connect(f, PORT_RX, &ms, &err);
	f = fault_get();
	CHECK(!fault_off(), "fault off");
	printf("# connect: %s after %lld ms\n",
	       ok ? "success" : ntcp_errname(err), ms);
	CHECK(f.hits > 0, "the hello's magic was not corrupted");
	CHECK(!ok, "connect succeeded with a corrupted hello");
	/* The server resets without an answer (PROTOCOL.md). */
	CHECK(err == ECONNRESET, "connect failed with %s, not ECONNRESET",
	      ntcp_errname(err));
	CHECK(ms < handshake_ms(), "at once (the server resets), not by the timeout");
	if (send_record("the next connection's record"))
		return 1;
	if (rx_report(&records, &err, &acc))
		return 1;
	CHECK(records == 1 && acc == acc0 + 1,
	      "the server accepted %d connections after the bad hello, not 1 (its last got %d records)",
	      acc - acc0, records);
	return 0;
}

static int t_record_header(void)
{
	/* Offset 8: the first byte of the first record's length header. */
	struct tcfault f = { .mode = TCF_CORRUPT_AT, .offset = 8, .xor = 0x80 };
	int records, err, acc;

	NEED_PROGRAM();
	/* Unfaulted first: the receiver gets the record, then EOF. */
	CHECK(!fault_set((struct tcfault){ .mode = TCF_OFF }, PORT_RX), "off");
	if (send_record("a record of 28 bytes, intact"))
		return 1;
	if (rx_report(&records, &err, &acc))
		return 1;
	CHECK(records == 1 && err == 0,
	      "unfaulted: the receiver got %d records, error %s", records,
	      ntcp_errname(err));

	CHECK(!fault_set(f, PORT_RX), "configure");
	send_record("a record whose header breaks");
	f = fault_get();
	CHECK(!fault_off(), "fault off");
	CHECK(f.hits > 0, "the record header was not corrupted");
	if (rx_report(&records, &err, &acc))
		return 1;
	CHECK(records == 0, "a bogus record was delivered (%d records)",
	      records);
	CHECK(err == EPROTO, "the receiver failed with %s, not EPROTO",
	      ntcp_errname(err));
	return 0;
}

/*
 * The tools a developer has in the guest: bpftool (suite.json "tools")
 * shows the attached programs, and loads the object the harness shipped
 * through suite.json "bpf" into $SOCKVM_BPF_DIR.
 */
static int t_bpftool(void)
{
	const char *dir = getenv("SOCKVM_BPF_DIR");
	const char *pins = "/sys/fs/bpf/sockvm-tcfault";

	NEED_PROGRAM();
	CHECK(!peer_sh("bpftool net show dev %s | grep -q tcfault_egress && bpftool net show dev %s | grep -q tcfault_ingress",
		       peer_cfg.link, peer_cfg.link),
	      "bpftool net show dev %s lists both programs", peer_cfg.link);
	CHECK(dir, "SOCKVM_BPF_DIR is set (suite.json \"bpf\")");
	CHECK(!peer_sh("test -f %s/tcfault.bpf.o", dir), "%s/tcfault.bpf.o shipped", dir);
	CHECK(!peer_sh("grep -q ' /sys/fs/bpf bpf' /proc/mounts || mount -t bpf bpf /sys/fs/bpf"),
	      "bpffs");
	CHECK(!peer_sh("bpftool prog loadall %s/tcfault.bpf.o %s && bpftool prog show pinned %s/tcfault_egress",
		       dir, pins, pins),
	      "bpftool loads the shipped object");
	CHECK(!peer_sh("rm -r %s", pins), "unpinned");
	return 0;
}

/* ---- server: the PORT_RX receiver ---- */

static struct {
	int done, records, err, accepted;
} rx;
static pthread_mutex_t rx_lock = PTHREAD_MUTEX_INITIALIZER;

static void *rx_serve(void *arg)
{
	int lfd = (int)(intptr_t)arg;

	for (;;) {
		struct timeval tv = { .tv_sec = 5 };
		static char buf[65536];
		int fd = accept(lfd, NULL, NULL), records = 0, err = 0;

		if (fd < 0)
			continue;
		pthread_mutex_lock(&rx_lock);
		rx.done = 0;
		rx.accepted++;
		pthread_mutex_unlock(&rx_lock);
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		for (;;) {
			struct iovec iov = { buf, sizeof(buf) };
			struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
			ssize_t r = recvmsg(fd, &m, 0);

			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0) {
				err = errno;
				break;
			}
			/* Any data, whole record or not, was delivered. */
			if (r == 0 && !(m.msg_flags & MSG_EOR))
				break;
			records++;
		}
		/* Reported before the close the client waits for. */
		pthread_mutex_lock(&rx_lock);
		rx.records = records;
		rx.err = err;
		rx.done = 1;
		pthread_mutex_unlock(&rx_lock);
		close(fd);
	}
	return NULL;
}

static int server_cmd(const char *cmd, char *reply, size_t len)
{
	if (strcmp(cmd, "rxlast"))
		return 0;
	pthread_mutex_lock(&rx_lock);
	snprintf(reply, len, "ok done=%d records=%d err=%d acc=%d", rx.done,
		 rx.records, rx.err, rx.accepted);
	pthread_mutex_unlock(&rx_lock);
	return 1;
}

static int server(void)
{
	struct sockaddr_newtcp a = peer_addr(peer_cfg.local_ip, PORT_RX);
	int one = 1, fd = socket(ntcp_family, SOCK_SEQPACKET, 0);
	pthread_t th;

	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 16)) {
		printf("# server: receiver on port %d: %s\n", PORT_RX,
		       ntcp_errname(errno));
		return 1;
	}
	pthread_create(&th, NULL, rx_serve, (void *)(intptr_t)fd);
	return peer_server(server_cmd);
}

static void after_each(void)
{
	if (map_fd >= 0)
		fault_off();
}

int main(int argc, char **argv)
{
	static const struct ntcp_test tests[] = {
		{ "tc BPF sees the NEW_TCP flow's SYN and data, changes nothing when told to", t_sees_flow, 30 },
		{ "every 7th packet from the peer dropped: 2 MiB stream in intact, the peer retransmitted", t_drop7_stream, 60 },
		{ "every 7th packet from the peer dropped: 2 MiB seqpacket records in intact and in order", t_drop7_seq, 60 },
		{ "a burst of 5 packets from the peer dropped: 2 MiB seqpacket records in intact", t_burst_seq, 60 },
		{ "every 4th new packet held 40 ms (skb->tstamp, fq): 1 MiB records out intact", t_delay_seq, 60 },
		{ "every copy of the client's hello dropped: connect fails with ETIMEDOUT after the handshake bound, the next works", t_hello_dropped, 30 },
		{ "the hello's magic corrupted: the server resets, connect fails with ECONNRESET at once, nothing accepted", t_hello_corrupt, 30 },
		{ "a record header's first byte corrupted: the receiver fails with EPROTO, no record delivered", t_record_header, 30 },
		{ "bpftool in the guest lists the programs and loads the object shipped in SOCKVM_BPF_DIR", t_bpftool, 30 },
	};

	ntcp_family = tap_newtcp_family();
	peer_parse(argc, argv, &peer_cfg);
	setenv("TC", access("/usr/local/bin/tc", X_OK) ? "tc" :
		     "/usr/local/bin/tc", 1);
	if (!strcmp(peer_cfg.role, "server"))
		return ntcp_family < 0 ? 1 : server();
	return peer_client_run(tests, ARRAY_SIZE(tests), attach, after_each,
			       detach);
}
