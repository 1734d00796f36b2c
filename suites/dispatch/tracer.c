// SPDX-License-Identifier: GPL-2.0
/* sockvm-trace as a child of the dispatch suite: start, snapshot, query. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>
#include "tap.h"
#include "tracer.h"

#define OUT	"/tmp/dispatch-trace.txt"
#define READY	"/tmp/dispatch-trace.ready"
#define LOG	"/tmp/dispatch-trace.log"
#define MAX_LINES	20000

static pid_t tracer_pid = -1;
static char *snap;		/* the last snapshot, lines split in place */
static char *lines[MAX_LINES];
static int nlines;

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static int child_alive(void)
{
	int status;

	return tracer_pid > 0 && waitpid(tracer_pid, &status, WNOHANG) == 0;
}

/* The function list, or only its lines of @kind in a copy under /tmp. */
static const char *funcs_file(const char *kind)
{
	static const char copy[] = "/tmp/dispatch-trace.funcs";
	char line[512], k[16];
	FILE *in, *out;

	if (!kind)
		return TRACER_FUNCS;
	in = fopen(TRACER_FUNCS, "r");
	out = fopen(copy, "w");
	while (in && out && fgets(line, sizeof(line), in))
		if (sscanf(line, "%15s", k) == 1 && !strcmp(k, kind))
			fputs(line, out);
	if (in)
		fclose(in);
	if (out)
		fclose(out);
	return copy;
}

int tracer_start(const char *kind, const char **why)
{
	static char reason[256];
	const char *funcs;
	char self[256];
	long long deadline;
	ssize_t n;
	int fd;

	if (access(TRACER_BIN, X_OK) || access(TRACER_FUNCS, R_OK)) {
		*why = "no " TRACER_BIN " or " TRACER_FUNCS " in the image (the harness could not build sockvm-trace: install clang, bpftool, libbpf-dev)";
		return -2;
	}
	/* A kernel without the BPF syscall or kprobe events cannot trace. */
	if ((syscall(__NR_bpf, -1, NULL, 0) < 0 && errno == ENOSYS) ||
	    access("/sys/bus/event_source/devices/kprobe/type", R_OK)) {
		*why = "this kernel has no BPF syscall or no kprobe events (CONFIG_BPF_SYSCALL, CONFIG_KPROBE_EVENTS)";
		return -2;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0) {
		*why = "readlink /proc/self/exe failed";
		return -1;
	}
	self[n] = 0;
	unlink(READY);
	unlink(OUT);
	funcs = funcs_file(kind);
	tracer_pid = fork();
	if (tracer_pid < 0) {
		*why = "fork failed";
		return -1;
	}
	if (!tracer_pid) {
		fd = open(LOG, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		setenv("SOCKVM_TRACE_QUIET", "1", 1);
		execl(TRACER_BIN, TRACER_BIN, "--funcs", funcs, "--uprobe", self,
		      "--out", OUT, "--ready", READY, "--text", "--max-chains", "256",
		      (char *)NULL);
		_exit(127);
	}
	/* Attaching a few hundred probes under TCG takes seconds. */
	deadline = now_ms() + 120000;
	while (now_ms() < deadline) {
		if (!access(READY, F_OK))
			return 0;
		if (!child_alive()) {
			FILE *f = fopen(LOG, "r");

			snprintf(reason, sizeof(reason), "sockvm-trace exited while attaching");
			if (f) {
				size_t len = strlen(reason);

				reason[len++] = ':';
				reason[len++] = ' ';
				len += fread(reason + len, 1, sizeof(reason) - len - 1, f);
				reason[len] = 0;
				for (char *p = reason; *p; p++)
					if (*p == '\n')
						*p = ' ';
				fclose(f);
			}
			tracer_pid = -1;
			*why = reason;
			return -1;
		}
		usleep(50000);
	}
	*why = "sockvm-trace did not attach within 120 s";
	tracer_stop();
	return -1;
}

void tracer_stop(void)
{
	if (tracer_pid <= 0)
		return;
	kill(tracer_pid, SIGKILL);
	waitpid(tracer_pid, NULL, 0);
	tracer_pid = -1;
}

int tracer_snapshot(void)
{
	long long deadline = now_ms() + 10000;
	struct stat st;
	FILE *f;
	char *p;

	unlink(OUT);
	if (tracer_pid <= 0 || kill(tracer_pid, SIGUSR1))
		return -1;
	while (access(OUT, F_OK)) {
		if (now_ms() > deadline)
			return -1;
		usleep(20000);
	}
	f = fopen(OUT, "r");
	if (!f || fstat(fileno(f), &st)) {
		if (f)
			fclose(f);
		return -1;
	}
	free(snap);
	snap = malloc(st.st_size + 1);
	if (!snap || fread(snap, 1, st.st_size, f) != (size_t)st.st_size) {
		fclose(f);
		return -1;
	}
	fclose(f);
	snap[st.st_size] = 0;
	nlines = 0;
	for (p = strtok(snap, "\n"); p && nlines < MAX_LINES; p = strtok(NULL, "\n"))
		lines[nlines++] = p;
	return 0;
}

/* Field @i (0-based, tab-separated) of @line into @buf. */
static const char *field(const char *line, int i, char *buf, size_t len)
{
	const char *end;

	while (i-- > 0) {
		line = strchr(line, '\t');
		if (!line)
			return "";
		line++;
	}
	end = strchr(line, '\t');
	if (!end)
		end = line + strlen(line);
	if ((size_t)(end - line) >= len)
		end = line + len - 1;
	memcpy(buf, line, end - line);
	buf[end - line] = 0;
	return buf;
}

long long tracer_calls(const char *func, const char *test)
{
	char a[128], b[256], c[32];
	long long sum = 0;
	int i;

	for (i = 0; i < nlines; i++)
		if (!strncmp(lines[i], "calls\t", 6) && !strcmp(field(lines[i], 1, a, sizeof(a)), func) &&
		    !strcmp(field(lines[i], 3, b, sizeof(b)), test))
			sum += atoll(field(lines[i], 2, c, sizeof(c)));
	return sum;
}

long long tracer_untracked(const char *func)
{
	char a[128], c[32];
	int i;

	for (i = 0; i < nlines; i++)
		if (!strncmp(lines[i], "untracked\t", 10) && !strcmp(field(lines[i], 1, a, sizeof(a)), func))
			return atoll(field(lines[i], 2, c, sizeof(c)));
	return 0;
}

/* Whether the function list gives @func the kind "module". */
static int is_module_func(const char *func)
{
	char line[512], kind[16], name[128];
	FILE *f = fopen(TRACER_FUNCS, "r");
	int found = 0;

	while (f && !found && fgets(line, sizeof(line), f))
		found = sscanf(line, "%15s %127s", kind, name) == 2 && !strncmp(kind, "module", 6) &&
			!strcmp(name, func);
	if (f)
		fclose(f);
	return found;
}

long long tracer_module_calls(const char *test, char *first, int len)
{
	char a[128], b[256], c[32];
	long long sum = 0;
	int i;

	first[0] = 0;
	for (i = 0; i < nlines; i++) {
		if (strncmp(lines[i], "calls\t", 6) || strcmp(field(lines[i], 3, b, sizeof(b)), test))
			continue;
		if (!is_module_func(field(lines[i], 1, a, sizeof(a))))
			continue;
		if (!first[0])
			snprintf(first, len, "%s", a);
		sum += atoll(field(lines[i], 2, c, sizeof(c)));
	}
	return sum;
}

void tracer_dump(const char *test)
{
	char b[256];
	int i, shown = 0;

	for (i = 0; i < nlines; i++) {
		if (!strncmp(lines[i], "calls\t", 6) && strcmp(field(lines[i], 3, b, sizeof(b)), test))
			continue;
		if (!strncmp(lines[i], "chain\t", 6) && strcmp(field(lines[i], 3, b, sizeof(b)), test))
			continue;
		if (shown++ < 60)
			tap_diag("trace: %s", lines[i]);
	}
	if (!shown)
		tap_diag("trace: nothing recorded for this test (%d lines in the snapshot)", nlines);
	tap_diag("trace: this process is %d", (int)getpid());
}

int tracer_attached(const char *func, const char **why)
{
	static char reason[256];
	char a[128];
	int i;

	for (i = 0; i < nlines; i++)
		if (!strncmp(lines[i], "unattached\t", 11) && !strcmp(field(lines[i], 1, a, sizeof(a)), func)) {
			field(lines[i], 2, reason, sizeof(reason));
			*why = reason;
			return 0;
		}
	return 1;
}

int tracer_has_chain(const char *test, const char *const *want, int n)
{
	char b[256], calls[4096], count[32];
	int i, k, shown = 0;

	for (i = 0; i < nlines; i++) {
		char *tok, *save = NULL;

		if (strncmp(lines[i], "chain\t", 6) || strcmp(field(lines[i], 3, b, sizeof(b)), test))
			continue;
		field(lines[i], 2, calls, sizeof(calls));
		tok = strtok_r(calls, ">", &save);
		if (!tok || strcmp(tok, want[0]))
			continue;
		for (k = 1; k < n && (tok = strtok_r(NULL, ">", &save));)
			if (!strcmp(tok, want[k]))
				k++;
		if (k == n)
			return 1;
	}
	for (i = 0; i < nlines && shown < 8; i++) {
		if (strncmp(lines[i], "chain\t", 6) || strcmp(field(lines[i], 3, b, sizeof(b)), test))
			continue;
		field(lines[i], 2, calls, sizeof(calls));
		if (strncmp(calls, want[0], strlen(want[0])) || calls[strlen(want[0])] != '>')
			continue;
		tap_diag("traced: %s (x%s)", calls, field(lines[i], 1, count, sizeof(count)));
		shown++;
	}
	if (!shown)
		tap_diag("traced: no chain of this test starts with %s", want[0]);
	return 0;
}

const char *tracer_role(const char *role, const char *fallback)
{
	static char found[8][128];
	static int used;
	char line[512], kind[16], name[128], *p, *save = NULL;
	FILE *f = fopen(TRACER_FUNCS, "r");

	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%15s %127s", kind, name) != 2 || strncmp(kind, "module", 6))
			continue;
		strtok_r(line, " \n", &save);
		strtok_r(NULL, " \n", &save);
		while ((p = strtok_r(NULL, " \n", &save)))
			if (!strcmp(p, role)) {
				fclose(f);
				snprintf(found[used % 8], sizeof(found[0]), "%s", name);
				return found[used++ % 8];
			}
	}
	if (f)
		fclose(f);
	tap_diag("no function of newtcp.ko is named as %s (the kernel has no BTF); taking %s",
		 role, fallback);
	return fallback;
}
