// SPDX-License-Identifier: GPL-2.0
/* Helpers shared by the NEW_TCP suites; see ntcp.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/wait.h>

#include "ntcp.h"
#include "tap.h"

int ntcp_family = -1;

struct sockaddr_newtcp ntcp_addr(uint16_t port)
{
	struct sockaddr_newtcp a;

	memset(&a, 0, sizeof(a));
	a.snt_family = ntcp_family;
	a.snt_port = htons(port);
	a.snt_addr.s_addr = htonl(INADDR_LOOPBACK);
	return a;
}

int ntcp_listener(int type, uint16_t *port)
{
	struct sockaddr_newtcp a = ntcp_addr(0);
	socklen_t len = sizeof(a);
	int fd = socket(ntcp_family, type, 0);

	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 16) ||
	    getsockname(fd, (struct sockaddr *)&a, &len)) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	*port = ntohs(a.snt_port);
	return fd;
}

int ntcp_connect(int type, uint16_t port)
{
	struct sockaddr_newtcp a = ntcp_addr(port);
	int fd = socket(ntcp_family, type, 0);

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

int ntcp_pair(int type, int *cli, int *srv)
{
	uint16_t port;
	int l = ntcp_listener(type, &port);

	if (l < 0)
		return -1;
	*cli = ntcp_connect(type, port);
	if (*cli < 0) {
		close(l);
		return -1;
	}
	*srv = accept(l, NULL, NULL);
	close(l);
	if (*srv < 0) {
		close(*cli);
		return -1;
	}
	return 0;
}

int tcp_listener(uint16_t *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) ||
	    listen(fd, 16) || getsockname(fd, (struct sockaddr *)&a, &len))
		return -1;
	*port = ntohs(a.sin_port);
	return fd;
}

ssize_t read_full(int fd, void *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = read(fd, (char *)buf + got, n - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return got ? (ssize_t)got : r;
		got += r;
	}
	return got;
}

ssize_t write_full(int fd, const void *buf, size_t n)
{
	size_t put = 0;

	while (put < n) {
		ssize_t r = write(fd, (const char *)buf + put, n - put);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return put ? (ssize_t)put : r;
		put += r;
	}
	return put;
}

long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

const char *ntcp_errname(int err)
{
	const char *s = strerrorname_np(err);

	return s ? s : "?";
}

int proc_newtcp_has_port(uint16_t port)
{
	char line[256], pat[16];
	int n = 0;
	FILE *f = fopen("/proc/net/newtcp", "r");

	if (!f)
		return -1;
	snprintf(pat, sizeof(pat), ":%04X ", port);
	while (fgets(line, sizeof(line), f))
		if (strstr(line, pat))
			n++;
	fclose(f);
	return n;
}

int run_test(const char *name, int (*fn)(void), int timeout_s)
{
	int status = 0;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return tap_ok(0, "%s (fork failed)", name);
	if (!pid) {
		signal(SIGPIPE, SIG_IGN);
		alarm(timeout_s);
		_exit(fn());
	}
	waitpid(pid, &status, 0);
	if (WIFSIGNALED(status))
		tap_diag("%s: child killed by signal %d%s", name,
			 WTERMSIG(status),
			 WTERMSIG(status) == SIGALRM ? " (timeout)" : "");
	return tap_ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s",
		      name);
}
