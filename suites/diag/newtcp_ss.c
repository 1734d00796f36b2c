// SPDX-License-Identifier: GPL-2.0
/*
 * newtcp-ss: NEW_TCP sockets from sock_diag, one line each as `ss -t`
 * prints TCP's.  The diag suite's binary is also this tool: run as
 * newtcp-ss (argv[0]) or as `/suites/diag newtcp-ss [options]`.
 *
 *   newtcp-ss [-l] [-a] [-i] [--sport N] [--dport N] [--family N]
 *
 * Without -l or -a, sockets that are not listening; -l, listeners only;
 * -a, both.  -i adds the inner TCP's rtt, cwnd and byte counts and
 * NEW_TCP's records.  Exit 0, 1 for bad usage, 2 when the family has no
 * sock_diag handler or the dump fails.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag_nl.h"
#include "newtcp_ss.h"

static const char *const kind_names[] = {
	[NEWTCP_DIAG_SOCKET] = "",
	[NEWTCP_DIAG_UNACCEPTED] = "unaccepted",
	[NEWTCP_DIAG_HANDSHAKE] = "handshake",
};

static void usage(FILE *f)
{
	fprintf(f, "usage: newtcp-ss [-l] [-a] [-i] [--sport N] [--dport N] [--family N]\n");
}

/* A port number 1..65535 from @s, or 0 with a message naming @opt. */
static uint16_t parse_port(const char *opt, const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*s && !*end && v > 0 && v < 65536)
		return v;
	fprintf(stderr, "newtcp-ss: %s '%s': give a port number 1..65535\n", opt, s);
	return 0;
}

static void print_addr(uint32_t addr, uint16_t port, bool any_port)
{
	char a[INET_ADDRSTRLEN + 8], p[8];

	inet_ntop(AF_INET, &addr, a, INET_ADDRSTRLEN);
	if (any_port && !port)
		strcpy(p, "*");
	else
		snprintf(p, sizeof(p), "%u", ntohs(port));
	strcat(a, ":");
	strcat(a, p);
	printf(" %-21s", a);
}

static void print_ent(const struct diag_ent *e, bool info)
{
	const struct newtcp_diag_msg *m = &e->m;
	unsigned int kind = m->ndiag_kind;

	printf("%-12s %-9s %6u %6u", diag_state_name(m->ndiag_state),
	       m->ndiag_type == SOCK_SEQPACKET ? "SEQPACKET" : "STREAM",
	       m->ndiag_rqueue, m->ndiag_wqueue);
	print_addr(m->ndiag_saddr, m->ndiag_sport, false);
	print_addr(m->ndiag_daddr, m->ndiag_dport, true);
	printf(" %-11s ino:%llu uid:%u%s%s\n", diag_state_name(m->ndiag_inner_state),
	       (unsigned long long)m->ndiag_ino, m->ndiag_uid, kind ? " " : "",
	       kind < sizeof(kind_names) / sizeof(kind_names[0]) ? kind_names[kind] : "?");
	if (!info)
		return;
	if (e->has_tcp_info)
		printf("\t rtt:%.3f/%.3f cwnd:%u bytes_sent:%llu bytes_acked:%llu bytes_received:%llu",
		       e->ti.tcpi_rtt / 1000.0, e->ti.tcpi_rttvar / 1000.0, e->ti.tcpi_snd_cwnd,
		       (unsigned long long)e->ti.tcpi_bytes_sent,
		       (unsigned long long)e->ti.tcpi_bytes_acked,
		       (unsigned long long)e->ti.tcpi_bytes_received);
	if (e->has_info)
		printf(" records_sent:%llu records_received:%llu staged:%u hs_phase:%u",
		       (unsigned long long)e->ni.ndi_records_sent,
		       (unsigned long long)e->ni.ndi_records_received,
		       e->ni.ndi_staged, e->ni.ndi_hs_phase);
	printf("\n");
}

int newtcp_ss_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listening", no_argument, NULL, 'l' },
		{ "all", no_argument, NULL, 'a' },
		{ "info", no_argument, NULL, 'i' },
		{ "sport", required_argument, NULL, 's' },
		{ "dport", required_argument, NULL, 'd' },
		{ "family", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct diag_query q = { .family = -1 };
	bool listening = false, all = false;
	struct diag_ent *e;
	int c, n, i;

	optind = 1;
	while ((c = getopt_long(argc, argv, "laih", opts, NULL)) != -1) {
		switch (c) {
		case 'l':
			listening = true;
			break;
		case 'a':
			all = true;
			break;
		case 'i':
			q.tcp_info = q.info = true;
			break;
		case 's':
		case 'd':
			if (!(c == 's' ? (q.sport = parse_port("--sport", optarg))
				       : (q.dport = parse_port("--dport", optarg))))
				return 1;
			break;
		case 'f':
			q.family = atoi(optarg);
			if (q.family <= 0 || q.family > 255) {
				fprintf(stderr, "newtcp-ss: --family '%s': give an address family number 1..255\n",
					optarg);
				return 1;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "newtcp-ss: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 1;
	}
	if (q.family < 0)
		q.family = diag_module_family();
	if (q.family < 0) {
		fprintf(stderr, "newtcp-ss: %s unreadable: is the newtcp module loaded? (modprobe newtcp)\n",
			NEWTCP_FAMILY_SYSFS);
		return 2;
	}
	q.states = all ? DIAG_ALL_STATES :
		listening ? 1u << 10 /* TCP_LISTEN */ : DIAG_ALL_STATES & ~(1u << 10);
	n = diag_dump(&q, &e);
	if (n == -ENOENT) {
		fprintf(stderr, "newtcp-ss: address family %d has no sock_diag handler (ENOENT): a newtcp module without newtcp_diag, or its family's diag slot was taken (see dmesg)\n",
			q.family);
		return 2;
	}
	if (n < 0) {
		fprintf(stderr, "newtcp-ss: sock_diag dump of family %d failed: %s\n", q.family,
			strerror(-n));
		return 2;
	}
	printf("%-12s %-9s %6s %6s %-21s %-21s %s\n", "State", "Type", "Recv-Q", "Send-Q",
	       "Local Address:Port", "Peer Address:Port", "Inner");
	for (i = 0; i < n; i++)
		print_ent(&e[i], q.tcp_info);
	free(e);
	return 0;
}
