// SPDX-License-Identifier: GPL-2.0
/* The hostile NEW_TCP peer engine; see hostile.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sched.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/tcp.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "hostile.h"
#include "ntcp.h"

void hostile_hello(uint8_t h[HOSTILE_HELLO_LEN], int version, int type,
		   int flags, int status)
{
	h[0] = 'N';
	h[1] = 'T';
	h[2] = 'C';
	h[3] = 'P';
	h[4] = version;
	h[5] = type;
	h[6] = flags;
	h[7] = status;
}

int hostile_wire_type(int sock_type)
{
	return sock_type == SOCK_SEQPACKET ? 2 : 1;
}

static void bound_io(int fd)
{
	struct timeval tv = { .tv_sec = HOSTILE_IO_MS / 1000 };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static int fail_close(int fd)
{
	int e = errno;

	if (fd >= 0)
		close(fd);
	errno = e;
	return -1;
}

int hostile_tcp(struct in_addr ip, uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port),
				 .sin_addr = ip };
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	if (fd < 0)
		return -1;
	bound_io(fd);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)))
		return fail_close(fd);
	return fd;
}

int hostile_client(struct in_addr ip, uint16_t port, int sock_type)
{
	uint8_t h[HOSTILE_HELLO_LEN], r[HOSTILE_HELLO_LEN];
	int fd = hostile_tcp(ip, port);

	if (fd < 0)
		return -1;
	hostile_hello(h, 1, hostile_wire_type(sock_type), 0, 0);
	if (write_full(fd, h, sizeof(h)) != sizeof(h))
		return fail_close(fd);
	if (read_full(fd, r, sizeof(r)) != sizeof(r)) {
		if (!errno)
			errno = ECONNRESET;
		return fail_close(fd);
	}
	hostile_hello(h, 1, hostile_wire_type(sock_type), 0x80, 0);
	if (memcmp(h, r, sizeof(h))) {
		errno = EPROTO;
		return fail_close(fd);
	}
	return fd;
}

int hostile_listen(struct in_addr ip, int backlog, uint16_t *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr = ip };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, backlog) ||
	    getsockname(fd, (struct sockaddr *)&a, &len))
		return fail_close(fd);
	*port = ntohs(a.sin_port);
	return fd;
}

static int accept_within(int lfd, int timeout_ms)
{
	struct pollfd p = { .fd = lfd, .events = POLLIN };
	int fd, one = 1;

	if (poll(&p, 1, timeout_ms) != 1) {
		errno = ETIMEDOUT;
		return -1;
	}
	fd = accept(lfd, NULL, NULL);
	if (fd >= 0) {
		bound_io(fd);
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	return fd;
}

int hostile_serve(int lfd, int sock_type, int timeout_ms)
{
	uint8_t h[HOSTILE_HELLO_LEN];
	int fd = accept_within(lfd, timeout_ms);

	if (fd < 0)
		return -1;
	if (read_full(fd, h, sizeof(h)) != sizeof(h))
		return fail_close(fd);
	hostile_hello(h, 1, hostile_wire_type(sock_type), 0x80, 0);
	if (write_full(fd, h, sizeof(h)) != sizeof(h))
		return fail_close(fd);
	return fd;
}

pid_t hostile_fork(int lfd, void (*fn)(int cfd, void *arg), void *arg)
{
	pid_t pid = fork();
	int fd;

	if (pid)
		return pid;
	fd = accept_within(lfd, HOSTILE_IO_MS);
	if (fd < 0)
		_exit(2);
	fn(fd, arg);
	_exit(0);
}

int hostile_reap(pid_t pid, int timeout_ms)
{
	long long end = now_ms() + timeout_ms;
	int st = 0;

	while (waitpid(pid, &st, WNOHANG) == 0) {
		if (now_ms() > end) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			return -1;
		}
		usleep(10000);
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int hostile_hdr(int fd, uint32_t len)
{
	uint32_t be = htonl(len);

	return write_full(fd, &be, 4) == 4 ? 0 : -1;
}

int hostile_record(int fd, const void *buf, uint32_t len)
{
	if (hostile_hdr(fd, len))
		return -1;
	return write_full(fd, buf, len) == (ssize_t)len ? 0 : -1;
}

int hostile_trickle(int fd, const void *buf, size_t n, int gap_ms)
{
	const char *p = buf;
	size_t i;

	for (i = 0; i < n; i++) {
		if (i && gap_ms)
			usleep(gap_ms * 1000);
		if (send(fd, p + i, 1, MSG_NOSIGNAL) != 1)
			return -1;
	}
	return 0;
}

int hostile_fill(int fd, size_t n)
{
	char buf[4096];
	size_t i, k;

	for (i = 0; i < sizeof(buf); i++)
		buf[i] = 'a' + i % 26;
	while (n) {
		k = n < sizeof(buf) ? n : sizeof(buf);
		if (write_full(fd, buf, k) != (ssize_t)k)
			return -1;
		n -= k;
	}
	return 0;
}

int hostile_oob(int fd, char c)
{
	return send(fd, &c, 1, MSG_OOB | MSG_NOSIGNAL) == 1 ? 0 : -1;
}

void hostile_rst(int fd)
{
	struct linger l = { .l_onoff = 1, .l_linger = 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	close(fd);
}

static void raise_nofile(int want)
{
	struct rlimit r;

	if (getrlimit(RLIMIT_NOFILE, &r))
		return;
	if (r.rlim_cur >= (rlim_t)want)
		return;
	r.rlim_cur = want;
	if (r.rlim_max < (rlim_t)want)
		r.rlim_max = want;
	setrlimit(RLIMIT_NOFILE, &r);
}

int hostile_idle(struct in_addr ip, uint16_t port, int n, int *fds,
		 int timeout_ms)
{
	return hostile_idle_let_in(ip, port, n, fds, timeout_ms, NULL);
}

int hostile_idle_let_in(struct in_addr ip, uint16_t port, int n, int *fds,
			int timeout_ms, int *reset)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port),
				 .sin_addr = ip };
	struct pollfd *p = calloc(n, sizeof(*p));
	long long end = now_ms() + timeout_ms;
	int i, left = 0, done = 0;

	if (reset)
		*reset = 0;
	raise_nofile(n + 64);
	for (i = 0; i < n; i++) {
		fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		if (fds[i] < 0)
			continue;
		if (connect(fds[i], (struct sockaddr *)&a, sizeof(a)) &&
		    errno != EINPROGRESS) {
			close(fds[i]);
			fds[i] = -1;
		}
	}
	/* Wait for every connect to finish (POLLOUT) or fail. */
	while (p) {
		int err;
		socklen_t el = sizeof(err);

		left = 0;
		for (i = 0; i < n; i++) {
			p[i].fd = fds[i];
			p[i].events = POLLOUT;
			p[i].revents = 0;
		}
		if (poll(p, n, 100) < 0)
			break;
		for (i = 0; i < n; i++) {
			if (fds[i] < 0)
				continue;
			if (!p[i].revents) {
				left++;
				continue;
			}
			err = 0;
			if (getsockopt(fds[i], SOL_SOCKET, SO_ERROR, &err, &el) ||
			    err || (p[i].revents & (POLLERR | POLLHUP))) {
				/* Established, then reset: it was let in. */
				if (reset && (err == ECONNRESET || err == EPIPE ||
					      (!err && (p[i].revents & POLLHUP))))
					(*reset)++;
				close(fds[i]);
				fds[i] = -1;
			}
		}
		if (!left || now_ms() > end)
			break;
	}
	for (i = 0; i < n; i++) {
		if (fds[i] < 0)
			continue;
		if (p && left && p[i].fd == fds[i] && !p[i].revents) {
			close(fds[i]);
			fds[i] = -1;
			continue;
		}
		done++;
	}
	free(p);
	return done;
}

/*
 * The first CROWD_PROBE connections tell how fast this kernel opens them;
 * the rest are opened only as far as @budget_ms allows (a KASAN kernel
 * under TCG opens a dozen a second), but never fewer than @floor.  They
 * go in batches no larger than a listener's backlog, so a slow listener
 * drops no SYN and every connect completes without a retransmission.
 */
#define CROWD_PROBE	20
#define CROWD_BATCH	100

int hostile_crowd(struct in_addr ip, uint16_t port, int want, int floor,
		  int budget_ms, int *fds, int *target, int *reset)
{
	long long t0 = now_ms(), probe_ms;
	int n, first = want < CROWD_PROBE ? want : CROWD_PROBE, i, k, r = 0;

	for (i = 0; i < want; i++)
		fds[i] = -1;
	if (reset)
		*reset = 0;
	n = hostile_idle_let_in(ip, port, first, fds, 8000, &r);
	if (reset)
		*reset += r;
	probe_ms = now_ms() - t0;
	*target = want;
	if (probe_ms * want / first > budget_ms) {
		*target = (int)(budget_ms * first / (probe_ms ? probe_ms : 1));
		if (*target < floor)
			*target = floor;
		if (*target > want)
			*target = want;
		printf("# %d connections took %lld ms here: the crowd is %d, "
		       "not %d\n", first, probe_ms, *target, want);
	}
	for (i = first; i < *target; i += k) {
		k = *target - i < CROWD_BATCH ? *target - i : CROWD_BATCH;
		n += hostile_idle_let_in(ip, port, k, fds + i, 8000, &r);
		if (reset)
			*reset += r;
	}
	return n;
}

long long hostile_crowd_bound_ms(long long alone_ms)
{
	return alone_ms * 5 > 1000 ? alone_ms * 5 : 1000;
}

int hostile_count_dropped(const int *fds, int n)
{
	char c;
	int i, k = 0;
	ssize_t r;

	for (i = 0; i < n; i++) {
		if (fds[i] < 0)
			continue;
		r = recv(fds[i], &c, 1, MSG_DONTWAIT);
		if (r == 0 || (r < 0 && errno != EAGAIN))
			k++;
	}
	return k;
}

void hostile_close_all(int *fds, int n)
{
	int i;

	/* With a RST: no TIME_WAIT left behind to count as memory. */
	for (i = 0; i < n; i++) {
		if (fds[i] >= 0)
			hostile_rst(fds[i]);
		fds[i] = -1;
	}
}

int hostile_wait_dropped(int fd, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char buf[64];
	ssize_t r;

	if (poll(&p, 1, timeout_ms) != 1)
		return -1;
	r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
	return r == 0 || (r < 0 && errno == ECONNRESET) ? 0 : -1;
}

int hostile_listen_queue(uint16_t port)
{
	FILE *f = fopen("/proc/net/tcp", "r");
	char line[512];
	unsigned int lport, st, rxq, txq;
	int q = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, " %*d: %*x:%x %*x:%*x %x %x:%x", &lport, &st,
			   &txq, &rxq) != 4)
			continue;
		if (lport == port && st == 0x0a) {
			q = (int)rxq;
			break;
		}
	}
	fclose(f);
	return q;
}

/* ---- kernel memory ---- */

long hostile_meminfo_kb(const char *key)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[256];
	size_t kl = strlen(key);
	long v = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, kl) && line[kl] == ':') {
			v = strtol(line + kl + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return v;
}

static char cg_path[256];

static int write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY), rc = 0;

	if (fd < 0)
		return -1;
	if (write(fd, s, strlen(s)) != (ssize_t)strlen(s))
		rc = -1;
	close(fd);
	return rc;
}

int hostile_cgroup_enter(const char *name, char *why, size_t len)
{
	const char *root = "/sys/fs/cgroup";
	char path[300], buf[512];

	cg_path[0] = 0;
	snprintf(path, sizeof(path), "%s/cgroup.controllers", root);
	if (access(path, R_OK)) {
		mkdir(root, 0755);
		if (mount("cgroup2", root, "cgroup2", 0, NULL) &&
		    errno != EBUSY) {
			snprintf(why, len, "mount cgroup2 on %s: %s", root,
				 strerror(errno));
			return -1;
		}
	}
	if (read_small_file(path, buf, sizeof(buf)) || !strstr(buf, "memory")) {
		snprintf(why, len, "no memory controller in %s", path);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/cgroup.subtree_control", root);
	if (read_small_file(path, buf, sizeof(buf)) || !strstr(buf, "memory"))
		write_str(path, "+memory");
	snprintf(cg_path, sizeof(cg_path), "%s/%s", root, name);
	if (mkdir(cg_path, 0755) && errno != EEXIST) {
		snprintf(why, len, "mkdir %s: %s", cg_path, strerror(errno));
		cg_path[0] = 0;
		return -1;
	}
	snprintf(path, sizeof(path), "%s/cgroup.procs", cg_path);
	snprintf(buf, sizeof(buf), "%d", getpid());
	if (write_str(path, buf)) {
		snprintf(why, len, "join %s: %s", cg_path, strerror(errno));
		cg_path[0] = 0;
		return -1;
	}
	snprintf(path, sizeof(path), "%s/memory.current", cg_path);
	if (access(path, R_OK)) {
		snprintf(why, len, "no %s", path);
		cg_path[0] = 0;
		return -1;
	}
	return 0;
}

long long hostile_cgroup_current(void)
{
	char path[300], buf[64];

	if (!cg_path[0])
		return -1;
	snprintf(path, sizeof(path), "%s/memory.current", cg_path);
	if (read_small_file(path, buf, sizeof(buf)))
		return -1;
	return strtoll(buf, NULL, 10);
}

long long hostile_cgroup_stat(const char *key)
{
	char path[300], line[256];
	size_t kl = strlen(key);
	long long v = -1;
	FILE *f;

	if (!cg_path[0])
		return -1;
	snprintf(path, sizeof(path), "%s/memory.stat", cg_path);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, kl) && line[kl] == ' ') {
			v = strtoll(line + kl + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return v;
}

void hostile_mem_snap(struct hostile_mem *m)
{
	m->sockets = proc_protocols_sockets("NEW_TCP");
	m->pages = proc_protocols_memory("NEW_TCP");
	m->slab_kb = hostile_meminfo_kb("Slab");
	m->sunreclaim_kb = hostile_meminfo_kb("SUnreclaim");
	m->vmalloc_kb = hostile_meminfo_kb("VmallocUsed");
	m->cg = hostile_cgroup_current();
}

void hostile_mem_diag(const char *what, const struct hostile_mem *b,
		      const struct hostile_mem *m)
{
	printf("# %s: NEW_TCP sockets %+ld, pages %+ld; Slab %+ld kB, "
	       "SUnreclaim %+ld kB, VmallocUsed %+ld kB; cgroup %+lld kB\n",
	       what, m->sockets - b->sockets, m->pages - b->pages,
	       m->slab_kb - b->slab_kb, m->sunreclaim_kb - b->sunreclaim_kb,
	       m->vmalloc_kb - b->vmalloc_kb,
	       b->cg >= 0 && m->cg >= 0 ? (m->cg - b->cg) / 1024 : 0);
	fflush(stdout);
}

/* KASAN (generic) keeps freed objects in its quarantine, in slab. */
static int kasan_kernel(void)
{
	static int known = -1;
	char line[256];
	FILE *f;

	if (known >= 0)
		return known;
	known = 0;
	f = fopen("/proc/kallsyms", "r");
	while (f && fgets(line, sizeof(line), f))
		if (strstr(line, " kasan_report\n")) {
			known = 1;
			break;
		}
	if (f)
		fclose(f);
	return known;
}

int hostile_mem_back(const struct hostile_mem *base, long slab_kb,
		     int wait_ms)
{
	long long end = now_ms() + wait_ms;
	struct hostile_mem m;
	int kasan = kasan_kernel();

	if (kasan)
		printf("# KASAN: freed objects wait in its quarantine, so "
		       "SUnreclaim is shown, not judged\n");
	for (;;) {
		hostile_mem_snap(&m);
		if (m.sockets <= base->sockets && m.pages <= base->pages &&
		    (kasan || m.sunreclaim_kb - base->sunreclaim_kb <= slab_kb))
			break;
		if (now_ms() > end) {
			hostile_mem_diag("not back to baseline", base, &m);
			printf("# bound: sockets and pages back, SUnreclaim "
			       "within %ld kB, after %d ms\n", slab_kb, wait_ms);
			return -1;
		}
		usleep(20000);
	}
	hostile_mem_diag("after close", base, &m);
	return 0;
}

/* ---- module parameters ---- */

#define PARAMS "/sys/module/newtcp/parameters/"

long long hostile_module_param(const char *name)
{
	char path[200], buf[64];

	snprintf(path, sizeof(path), PARAMS "%s", name);
	if (read_small_file(path, buf, sizeof(buf)))
		return -1;
	return strtoll(buf, NULL, 10);
}

int hostile_set_param(const char *name, const char *val)
{
	char path[200];

	snprintf(path, sizeof(path), PARAMS "%s", name);
	return write_str(path, val);
}

int hostile_handshake_ms(void)
{
	return (int)hostile_module_param("handshake_ms");
}

int hostile_set_handshake_ms(int ms)
{
	int old = hostile_handshake_ms();
	char buf[32];

	snprintf(buf, sizeof(buf), "%d", ms);
	if (write_str(PARAMS "handshake_ms", buf))
		return -1;
	return old;
}

/* ---- a second network namespace joined by a veth pair ---- */


struct nlreq {
	struct nlmsghdr h;
	struct ifinfomsg i;
	char buf[512];
};

static struct rtattr *nl_add(struct nlmsghdr *h, int type, const void *d,
			     int len)
{
	struct rtattr *a = (struct rtattr *)((char *)h + NLMSG_ALIGN(h->nlmsg_len));

	a->rta_type = type;
	a->rta_len = RTA_LENGTH(len);
	if (len)
		memcpy(RTA_DATA(a), d, len);
	h->nlmsg_len = NLMSG_ALIGN(h->nlmsg_len) + RTA_ALIGN(a->rta_len);
	return a;
}

static void nl_end(struct nlmsghdr *h, struct rtattr *a)
{
	a->rta_len = (char *)h + h->nlmsg_len - (char *)a;
}

/* ip link add @a type veth peer name @b netns @nsfd */
static int veth_add(const char *a, const char *b, int nsfd)
{
	struct nlreq r;
	struct rtattr *li, *data, *peer;
	struct ifinfomsg pi = { .ifi_family = AF_UNSPEC };
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	char ack[1024];
	struct nlmsgerr *e;
	int fd, rc = -1;
	ssize_t n;

	memset(&r, 0, sizeof(r));
	r.h.nlmsg_len = NLMSG_LENGTH(sizeof(r.i));
	r.h.nlmsg_type = RTM_NEWLINK;
	r.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK;
	r.i.ifi_family = AF_UNSPEC;
	nl_add(&r.h, IFLA_IFNAME, a, strlen(a) + 1);
	li = nl_add(&r.h, IFLA_LINKINFO, NULL, 0);
	nl_add(&r.h, IFLA_INFO_KIND, "veth", 4);
	data = nl_add(&r.h, IFLA_INFO_DATA, NULL, 0);
	peer = nl_add(&r.h, VETH_INFO_PEER, &pi, sizeof(pi));
	nl_add(&r.h, IFLA_IFNAME, b, strlen(b) + 1);
	nl_add(&r.h, IFLA_NET_NS_FD, &nsfd, sizeof(nsfd));
	nl_end(&r.h, peer);
	nl_end(&r.h, data);
	nl_end(&r.h, li);

	fd = socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
	if (fd < 0)
		return -1;
	if (sendto(fd, &r, r.h.nlmsg_len, 0, (struct sockaddr *)&sa,
		   sizeof(sa)) == (ssize_t)r.h.nlmsg_len) {
		n = recv(fd, ack, sizeof(ack), 0);
		e = NLMSG_DATA((struct nlmsghdr *)ack);
		if (n >= (ssize_t)NLMSG_LENGTH(sizeof(*e)) &&
		    ((struct nlmsghdr *)ack)->nlmsg_type == NLMSG_ERROR) {
			rc = e->error ? -1 : 0;
			if (e->error)
				errno = -e->error;
		}
	}
	close(fd);
	return rc;
}

/* Give @ifname @addr/24 and bring it up, in the current namespace. */
static int if_up(const char *ifname, struct in_addr addr)
{
	struct ifreq ifr;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;
	int fd = socket(AF_INET, SOCK_DGRAM, 0), rc = -1;

	if (fd < 0)
		return -1;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", ifname);
	sin->sin_family = AF_INET;
	sin->sin_addr = addr;
	if (ioctl(fd, SIOCSIFADDR, &ifr))
		goto out;
	sin->sin_addr.s_addr = htonl(0xffffff00);
	if (ioctl(fd, SIOCSIFNETMASK, &ifr))
		goto out;
	if (ioctl(fd, SIOCGIFFLAGS, &ifr))
		goto out;
	ifr.ifr_flags |= IFF_UP;
	rc = ioctl(fd, SIOCSIFFLAGS, &ifr);
out:
	close(fd);
	return rc;
}

int hostile_netns_veth(struct in_addr here, struct in_addr there, char *why,
		       size_t len)
{
	int sv[2], nsfd = -1, rc = -1;
	char path[64], c;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		return -1;
	pid = fork();
	if (!pid) {
		close(sv[0]);
		if (unshare(CLONE_NEWNET))
			_exit(1);
		if (write(sv[1], "u", 1) != 1 || read(sv[1], &c, 1) != 1)
			_exit(1);
		/* The parent made the veth and moved our end here. */
		if (ntcp_lo_up() || if_up("hst1", there))
			_exit(2);
		if (write(sv[1], "r", 1) != 1)
			_exit(1);
		/* Stay, holding the namespace, until the parent is gone. */
		while (read(sv[1], &c, 1) > 0)
			;
		_exit(0);
	}
	close(sv[1]);
	if (pid < 0 || read(sv[0], &c, 1) != 1) {
		snprintf(why, len, "unshare(CLONE_NEWNET) failed");
		goto out;
	}
	snprintf(path, sizeof(path), "/proc/%d/ns/net", pid);
	nsfd = open(path, O_RDONLY);
	if (nsfd < 0 || veth_add("hst0", "hst1", nsfd)) {
		snprintf(why, len, "veth pair: %s", strerror(errno));
		goto out;
	}
	if (if_up("hst0", here)) {
		snprintf(why, len, "hst0 up: %s", strerror(errno));
		goto out;
	}
	if (write(sv[0], "g", 1) != 1 || read(sv[0], &c, 1) != 1 || c != 'r') {
		snprintf(why, len, "the namespace's side did not come up");
		goto out;
	}
	rc = pid;
out:
	if (nsfd >= 0)
		close(nsfd);
	/* sv[0] stays open: the holder lives as long as this process. */
	if (rc < 0) {
		close(sv[0]);
		if (pid > 0)
			waitpid(pid, NULL, 0);
	}
	return rc;
}

/* ---- small socket helpers for the hostile suites ---- */

void hostile_rcvtimeo(int fd, int ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = ms % 1000 * 1000 };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

ssize_t hostile_rmsg(int fd, void *buf, size_t len, int flags, int *oflags)
{
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t r = recvmsg(fd, &m, flags);

	*oflags = m.msg_flags;
	return r;
}

int hostile_readable(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, ms) == 1 ? p.revents : 0;
}
