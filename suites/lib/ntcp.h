/* SPDX-License-Identifier: GPL-2.0 */
/* Helpers shared by the NEW_TCP suites: addresses, pairs, forked tests. */
#ifndef SOCKVM_NTCP_H
#define SOCKVM_NTCP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <linux/newtcp.h>

extern int ntcp_family;

/* Loopback address of our family; port in host order. */
struct sockaddr_newtcp ntcp_addr(uint16_t port);
/* Listener on 127.0.0.1:0 of @type; *port gets the chosen port. */
int ntcp_listener(int type, uint16_t *port);
/* Blocking connect to 127.0.0.1:@port; -1 with errno on failure. */
int ntcp_connect(int type, uint16_t port);
/* Connected pair through a fresh listener; 0 on success. */
int ntcp_pair(int type, int *cli, int *srv);
/* Plain TCP listener on 127.0.0.1:0. */
int tcp_listener(uint16_t *port);
/* Read/write exactly n bytes; returns n, or what read/write said. */
ssize_t read_full(int fd, void *buf, size_t n);
ssize_t write_full(int fd, const void *buf, size_t n);
/* Milliseconds since some fixed point. */
long long now_ms(void);
const char *ntcp_errname(int err);
/* Count of lines of /proc/net/newtcp mentioning :PORT (hex), -1 if none. */
int proc_newtcp_has_port(uint16_t port);

/*
 * Run fn in a child with a timeout; the child's exit status 0 means
 * pass.  Prints one TAP line with @name.  Diagnostics from the child
 * go to stdout as "# ..." lines.
 */
int run_test(const char *name, int (*fn)(void), int timeout_s);

#define CHECK(cond, ...)						\
	do {								\
		if (!(cond)) {						\
			printf("# %s:%d: check failed: %s (errno %s): ",	\
			       __func__, __LINE__, #cond,		\
			       ntcp_errname(errno));			\
			printf(__VA_ARGS__);				\
			printf("\n");					\
			fflush(stdout);					\
			return 1;					\
		}							\
	} while (0)

#endif
