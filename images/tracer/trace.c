// SPDX-License-Identifier: GPL-2.0
/*
 * sockvm-trace: watches the functions listed in --funcs (kprobe +
 * kretprobe each, by name), marks tests through uprobes on
 * sockvm_trace_begin()/_end() and main() in each --uprobe binary, and on SIGINT/SIGTERM
 * (final) or SIGUSR1 (snapshot) writes per test: calls per function,
 * log2 latency histograms, and the distinct chains of traced calls
 * that a syscall went through when it entered a module function.
 *
 * Usage: sockvm-trace --funcs FILE --out FILE [--uprobe BIN]...
 *                     [--ready FILE] [--text] [--max-chains N] [--reset]
 * With --reset, each snapshot starts the counts afresh (one tool for a
 * whole session of suites: attaching costs seconds under TCG).
 * Exit 0 after writing the output, 1 when nothing could be attached or
 * the output could not be written, 2 for bad arguments.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "trace.h"
#include "trace.skel.h"

#define MAX_CHAIN	32	/* calls kept per chain */
#define MAX_TESTS	4096
#define HIST_BUCKETS	40	/* log2 of nanoseconds */
#define THREADS		4096	/* open chains at once (hash slots) */
#define MODULE_NAME	"newtcp"	/* kind "module*" functions are this module's */

struct func {
	char name[128];
	char kind[16];
	int attached;
	char error[160];
	int is_module;
	int entry_only;		/* kind "module-helper": no kretprobe, no latency */
	/* kallsyms addresses: more than one when static functions share the name. */
	unsigned long long addr[4];
	unsigned int naddr;
};

struct chain {
	unsigned int len;
	unsigned long long count;
	unsigned int calls[MAX_CHAIN];
	int truncated;
};

struct test {
	unsigned int tgid;
	int closed;		/* named by sockvm_test_end(): later calls open a new one */
	char name[TRACE_NAME_LEN];
	unsigned long long *calls;		/* [nfuncs] */
	unsigned long long (*hist)[HIST_BUCKETS];	/* [nfuncs] */
	struct chain *chains;
	unsigned int nchains;
	unsigned long long chains_dropped;
};

struct open_chain {
	unsigned int tid;	/* 0: free slot */
	unsigned int test;
	struct chain c;
	int has_module;
};

static struct func *funcs;
static unsigned int nfuncs;
static struct test *tests;
static unsigned int ntests;
static struct open_chain *open_chains;
static unsigned int max_chains = 32;
static unsigned long long lost_tests;
static volatile sig_atomic_t stop, snapshot;

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "sockvm-trace: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		snapshot = 1;
	else
		stop = 1;
}

static void read_funcs(const char *path)
{
	char line[256], kind[16], name[128];
	FILE *f = fopen(path, "r");
	unsigned int cap = 0;

	if (!f)
		die("--funcs %s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == '#' || sscanf(line, "%15s %127s", kind, name) != 2)
			continue;
		if (nfuncs >= TRACE_MAX_FUNCS)
			die("--funcs %s: more than %d functions", path, TRACE_MAX_FUNCS);
		if (nfuncs == cap) {
			cap = cap ? 2 * cap : 64;
			funcs = realloc(funcs, cap * sizeof(*funcs));
			if (!funcs)
				die("out of memory");
		}
		memset(&funcs[nfuncs], 0, sizeof(*funcs));
		snprintf(funcs[nfuncs].name, sizeof(funcs->name), "%s", name);
		snprintf(funcs[nfuncs].kind, sizeof(funcs->kind), "%s", kind);
		funcs[nfuncs].is_module = !strncmp(kind, "module", 6);
		funcs[nfuncs].entry_only = !strcmp(kind, "module-helper");
		nfuncs++;
	}
	fclose(f);
	if (!nfuncs)
		die("--funcs %s: no function listed (lines are '<kind> <name>')", path);
}

/* Every kallsyms address of each listed function goes into the BPF map. */
static void map_addresses(int map_fd)
{
	char line[512], type, name[256];
	unsigned long long addr;
	unsigned int i, *found = calloc(nfuncs, sizeof(*found));
	FILE *f = fopen("/proc/kallsyms", "r");

	if (!f || !found)
		die("/proc/kallsyms: %s", strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		char mod[64] = "";
		int in_module;

		if (sscanf(line, "%llx %c %255s [%63[^]]", &addr, &type, name, mod) < 3)
			continue;
		if (type != 't' && type != 'T')
			continue;
		/* The kernel may have a function of the same name (lock_sock on 6.1-patched). */
		in_module = !strcmp(mod, MODULE_NAME);
		for (i = 0; i < nfuncs; i++) {
			__u32 val = i | (funcs[i].entry_only ? TRACE_ENTRY_ONLY : 0);
			unsigned long long key;

			if (strcmp(funcs[i].name, name) || funcs[i].is_module != in_module)
				continue;
			/* kprobes sit after an endbr64 where the kernel has IBT. */
			key = addr;
			bpf_map_update_elem(map_fd, &key, &val, BPF_ANY);
			key = addr + 4;
			bpf_map_update_elem(map_fd, &key, &val, BPF_ANY);
			if (funcs[i].naddr < 4)
				funcs[i].addr[funcs[i].naddr++] = addr;
			found[i]++;
		}
	}
	fclose(f);
	for (i = 0; i < nfuncs; i++)
		if (!found[i])
			snprintf(funcs[i].error, sizeof(funcs->error),
				 "not in /proc/kallsyms (inlined, or not in this kernel)");
	free(found);
}

/* The sched_process_fork record's child_pid offset, from tracefs. */
static unsigned int fork_child_offset(void)
{
	static const char *const dirs[] = { "/sys/kernel/tracing", "/sys/kernel/debug/tracing" };
	char path[128], line[256];
	unsigned int i, off;
	FILE *f = NULL;

	for (i = 0; i < 2 && !f; i++) {
		snprintf(path, sizeof(path), "%s/events/sched/sched_process_fork/format", dirs[i]);
		f = fopen(path, "r");
	}
	if (!f && !mount("tracefs", dirs[0], "tracefs", 0, NULL)) {
		snprintf(path, sizeof(path), "%s/events/sched/sched_process_fork/format", dirs[0]);
		f = fopen(path, "r");
	}
	if (!f)
		return 44;	/* the layout every kernel here has had */
	while (fgets(line, sizeof(line), f))
		if (strstr(line, " child_pid;") && sscanf(strstr(line, "offset:"), "offset:%u", &off) == 1) {
			fclose(f);
			return off;
		}
	fclose(f);
	return 44;
}

static struct test *test_for(unsigned int tgid)
{
	unsigned int i;

	/* The newest test with this tgid (a reused pid starts a new test). */
	for (i = ntests; i-- > 0;)
		if (tests[i].tgid == tgid)
			return tests[i].closed ? NULL : &tests[i];
	return NULL;
}

static struct test *new_test(unsigned int tgid, const char *name)
{
	struct test *t;

	if (ntests >= MAX_TESTS) {
		lost_tests++;
		return NULL;
	}
	t = &tests[ntests++];
	t->tgid = tgid;
	snprintf(t->name, sizeof(t->name), "%s", name);
	t->calls = calloc(nfuncs, sizeof(*t->calls));
	t->hist = calloc(nfuncs, sizeof(*t->hist));
	t->chains = calloc(max_chains, sizeof(*t->chains));
	if (!t->calls || !t->hist || !t->chains)
		die("out of memory");
	return t;
}

static struct open_chain *open_chain(unsigned int tid, int create)
{
	unsigned int i, h = (tid * 2654435761u) % THREADS;

	for (i = 0; i < THREADS; i++) {
		struct open_chain *o = &open_chains[(h + i) % THREADS];

		if (o->tid == tid)
			return o;
		if (!o->tid) {
			if (!create)
				return NULL;
			memset(o, 0, sizeof(*o));
			o->tid = tid;
			return o;
		}
	}
	return NULL;
}

static void close_chain(struct open_chain *o)
{
	struct test *t = test_for(o->test);
	unsigned int i;

	if (t && o->has_module) {
		for (i = 0; i < t->nchains; i++)
			if (t->chains[i].len == o->c.len &&
			    !memcmp(t->chains[i].calls, o->c.calls, o->c.len * sizeof(o->c.calls[0])))
				break;
		if (i < t->nchains)
			t->chains[i].count++;
		else if (t->nchains < max_chains) {
			t->chains[t->nchains] = o->c;
			t->chains[t->nchains++].count = 1;
		} else {
			t->chains_dropped++;
		}
	}
	/* Free the slot: linear probing needs no tombstone when slots are re-found by tid. */
	o->c.len = 0;
	o->has_module = 0;
}

static int on_event(void *ctx, void *data, size_t size)
{
	const struct trace_event *e = data;
	struct open_chain *o;
	struct test *t;
	unsigned int b;

	(void)ctx;
	if (size < sizeof(*e))
		return 0;
	if (e->kind == TRACE_TEST || e->kind == TRACE_SUITE) {
		/* An unreadable name (page not present) still starts a test. */
		new_test(e->tgid, e->kind == TRACE_SUITE ? "" : e->name[0] ? e->name : "(unnamed test)");
		return 0;
	}
	if (e->kind == TRACE_TEST_END) {
		t = test_for(e->tgid);
		/* A test that was begun keeps its name; one that was not takes this one. */
		if (t && !t->name[0])
			snprintf(t->name, sizeof(t->name), "%s", e->name);
		if (t)
			t->closed = 1;
		return 0;
	}
	if (e->func >= nfuncs)
		return 0;
	t = test_for(e->test);
	if (!t)
		t = new_test(e->test, "");
	if (!t)
		return 0;
	if (e->kind == TRACE_ENTER) {
		t->calls[e->func]++;
		o = open_chain(e->tid, 1);
		if (!o)
			return 0;
		/* A helper outside any open call starts no chain. */
		if (funcs[e->func].entry_only && !e->depth)
			return 0;
		if ((e->depth <= 1 && !funcs[e->func].entry_only) || o->test != e->test) {
			o->c.len = 0;
			o->c.truncated = 0;
			o->has_module = 0;
			o->test = e->test;
		}
		if (o->c.len < MAX_CHAIN)
			o->c.calls[o->c.len++] = e->func;
		else
			o->c.truncated = 1;
		o->has_module |= funcs[e->func].is_module;
	} else if (e->kind == TRACE_RETURN) {
		b = e->ns ? 63 - __builtin_clzll(e->ns) : 0;
		if (b >= HIST_BUCKETS)
			b = HIST_BUCKETS - 1;
		t->hist[e->func][b]++;
		if (e->depth == 0) {
			o = open_chain(e->tid, 0);
			if (o && o->c.len)
				close_chain(o);
		}
	}
	return 0;
}

static int has_calls(const struct test *t)
{
	unsigned int j;

	for (j = 0; j < nfuncs; j++)
		if (t->calls[j])
			return 1;
	return 0;
}

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = *s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static unsigned long long stat_sum(int fd, __u32 key)
{
	int ncpu = libbpf_num_possible_cpus(), i;
	unsigned long long sum = 0, *v = calloc(ncpu > 0 ? ncpu : 1, sizeof(*v));

	if (v && ncpu > 0 && !bpf_map_lookup_elem(fd, &key, v))
		for (i = 0; i < ncpu; i++)
			sum += v[i];
	free(v);
	return sum;
}

struct outputs {
	struct trace_bpf *skel;
	const char **uprobes;
	int *uprobe_ok;
	int nuprobes;
	int func_ip;
};

static void write_json(FILE *f, const struct outputs *out)
{
	int stats_fd = bpf_map__fd(out->skel->maps.stats);
	int other_fd = bpf_map__fd(out->skel->maps.other_calls);
	unsigned long long chains_dropped = 0;
	unsigned int i, j, k, first, wrote;
	struct utsname u;

	uname(&u);
	for (i = 0; i < ntests; i++)
		chains_dropped += tests[i].chains_dropped;
	fprintf(f, "{\"tool\":\"sockvm-trace\",\"version\":1,\"release\":");
	json_str(f, u.release);
	fprintf(f, ",\"returnsBy\":\"%s\",", out->func_ip ? "bpf_get_func_ip" : "innermost call");
	fprintf(f, "\"drops\":{\"ringbuf\":%llu,\"depthOverflow\":%llu,\"unmatchedReturns\":%llu,\"untrackedProcesses\":%llu,\"chains\":%llu,\"tests\":%llu},\n",
		stat_sum(stats_fd, STAT_RINGBUF_DROPS), stat_sum(stats_fd, STAT_DEPTH_OVERFLOW),
		stat_sum(stats_fd, STAT_UNMATCHED_RETURN), stat_sum(stats_fd, STAT_TRACKED_FULL),
		chains_dropped, lost_tests);
	fprintf(f, "\"functions\":[");
	for (i = 0; i < nfuncs; i++) {
		fprintf(f, "%s\n{\"name\":", i ? "," : "");
		json_str(f, funcs[i].name);
		fprintf(f, ",\"kind\":");
		json_str(f, funcs[i].kind);
		fprintf(f, ",\"attached\":%s", funcs[i].attached ? "true" : "false");
		if (!funcs[i].attached) {
			fprintf(f, ",\"error\":");
			json_str(f, funcs[i].error);
		}
		fputc('}', f);
	}
	fprintf(f, "],\n\"uprobes\":[");
	for (i = 0; i < (unsigned int)out->nuprobes; i++) {
		fprintf(f, "%s{\"binary\":", i ? "," : "");
		json_str(f, out->uprobes[i]);
		fprintf(f, ",\"attached\":%s}", out->uprobe_ok[i] ? "true" : "false");
	}
	fprintf(f, "],\n\"untracked\":{\"calls\":{");
	for (i = 0, first = 1; i < nfuncs; i++) {
		unsigned long long n = stat_sum(other_fd, i);

		if (!n)
			continue;
		fprintf(f, "%s", first ? "" : ",");
		json_str(f, funcs[i].name);
		fprintf(f, ":%llu", n);
		first = 0;
	}
	fprintf(f, "}},\n\"tests\":[");
	for (i = 0, wrote = 0; i < ntests; i++) {
		const struct test *t = &tests[i];

		if (!has_calls(t))
			continue;
		fprintf(f, "%s\n{\"name\":", wrote++ ? "," : "");
		json_str(f, t->name[0] ? t->name : "(between tests)");
		fprintf(f, ",\"calls\":{");
		for (j = 0, first = 1; j < nfuncs; j++) {
			if (!t->calls[j])
				continue;
			fprintf(f, "%s", first ? "" : ",");
			json_str(f, funcs[j].name);
			fprintf(f, ":%llu", t->calls[j]);
			first = 0;
		}
		fprintf(f, "},\"latencyLog2Ns\":{");
		for (j = 0, first = 1; j < nfuncs; j++) {
			unsigned int firstb = 1;

			for (k = 0; k < HIST_BUCKETS && !t->hist[j][k]; k++)
				;
			if (k == HIST_BUCKETS)
				continue;
			fprintf(f, "%s", first ? "" : ",");
			json_str(f, funcs[j].name);
			fprintf(f, ":{");
			for (k = 0; k < HIST_BUCKETS; k++) {
				if (!t->hist[j][k])
					continue;
				fprintf(f, "%s\"%u\":%llu", firstb ? "" : ",", k, t->hist[j][k]);
				firstb = 0;
			}
			fputc('}', f);
			first = 0;
		}
		fprintf(f, "},\"chains\":[");
		for (j = 0; j < t->nchains; j++) {
			fprintf(f, "%s{\"count\":%llu,%s\"calls\":[", j ? "," : "", t->chains[j].count,
				t->chains[j].truncated ? "\"truncated\":true," : "");
			for (k = 0; k < t->chains[j].len; k++) {
				fprintf(f, "%s", k ? "," : "");
				json_str(f, funcs[t->chains[j].calls[k]].name);
			}
			fprintf(f, "]}");
		}
		fprintf(f, "],\"chainsDropped\":%llu}", t->chains_dropped);
	}
	fprintf(f, "]}\n");
}

/* Tab-separated lines for C callers (the dispatch suite). */
static void write_text(FILE *f, const struct outputs *out)
{
	int stats_fd = bpf_map__fd(out->skel->maps.stats);
	int other_fd = bpf_map__fd(out->skel->maps.other_calls);
	unsigned int i, j, k;

	fprintf(f, "drops\t%llu\n", stat_sum(stats_fd, STAT_RINGBUF_DROPS));
	for (i = 0; i < nfuncs; i++)
		if (!funcs[i].attached)
			fprintf(f, "unattached\t%s\t%s\n", funcs[i].name, funcs[i].error);
	for (i = 0; i < nfuncs; i++) {
		unsigned long long n = stat_sum(other_fd, i);

		if (n)
			fprintf(f, "untracked\t%s\t%llu\n", funcs[i].name, n);
	}
	for (i = 0; i < ntests; i++) {
		const char *name = tests[i].name[0] ? tests[i].name : "(between tests)";

		fprintf(f, "test\t%u\t%s\n", tests[i].tgid, name);
		for (j = 0; j < nfuncs; j++)
			if (tests[i].calls[j])
				fprintf(f, "calls\t%s\t%llu\t%s\n", funcs[j].name, tests[i].calls[j], name);
		for (j = 0; j < tests[i].nchains; j++) {
			fprintf(f, "chain\t%llu\t", tests[i].chains[j].count);
			for (k = 0; k < tests[i].chains[j].len; k++)
				fprintf(f, "%s%s", k ? ">" : "", funcs[tests[i].chains[j].calls[k]].name);
			fprintf(f, "\t%s\n", name);
		}
	}
}

static int write_output(const char *path, int text, const struct outputs *out)
{
	char tmp[4096];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f) {
		fprintf(stderr, "sockvm-trace: %s: %s\n", tmp, strerror(errno));
		return -1;
	}
	if (text)
		write_text(f, out);
	else
		write_json(f, out);
	if (fclose(f) || rename(tmp, path)) {
		fprintf(stderr, "sockvm-trace: %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* Forgets every test and count: the next snapshot holds only what came after. */
static void reset_state(const struct outputs *out)
{
	int ncpu = libbpf_num_possible_cpus();
	unsigned long long *zero = calloc(ncpu > 0 ? ncpu : 1, sizeof(*zero));
	__u32 key;
	unsigned int i;

	for (i = 0; i < ntests; i++) {
		free(tests[i].calls);
		free(tests[i].hist);
		free(tests[i].chains);
	}
	memset(tests, 0, MAX_TESTS * sizeof(*tests));
	ntests = 0;
	lost_tests = 0;
	memset(open_chains, 0, THREADS * sizeof(*open_chains));
	if (!zero)
		return;
	for (key = 0; key < nfuncs; key++)
		bpf_map_update_elem(bpf_map__fd(out->skel->maps.other_calls), &key, zero, BPF_ANY);
	for (key = 0; key < STAT_COUNT; key++)
		bpf_map_update_elem(bpf_map__fd(out->skel->maps.stats), &key, zero, BPF_ANY);
	free(zero);
}

static int quiet_libbpf(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG || getenv("SOCKVM_TRACE_QUIET"))
		return 0;
	return vfprintf(stderr, fmt, ap);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "funcs", required_argument, NULL, 'f' },
		{ "out", required_argument, NULL, 'o' },
		{ "uprobe", required_argument, NULL, 'u' },
		{ "ready", required_argument, NULL, 'r' },
		{ "text", no_argument, NULL, 't' },
		{ "max-chains", required_argument, NULL, 'm' },
		{ "reset", no_argument, NULL, 'R' },
		{ NULL, 0, NULL, 0 },
	};
	const char *funcs_path = NULL, *out_path = NULL, *ready = NULL;
	struct outputs out = { 0 };
	struct ring_buffer *rb;
	struct trace_bpf *skel;
	unsigned int i, attached = 0;
	int c, text = 0, reset = 0, err;

	out.uprobes = calloc(argc, sizeof(*out.uprobes));
	out.uprobe_ok = calloc(argc, sizeof(*out.uprobe_ok));
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'f': funcs_path = optarg; break;
		case 'o': out_path = optarg; break;
		case 'u': out.uprobes[out.nuprobes++] = optarg; break;
		case 'r': ready = optarg; break;
		case 't': text = 1; break;
		case 'm': max_chains = strtoul(optarg, NULL, 10); break;
		case 'R': reset = 1; break;
		default:
			fprintf(stderr, "usage: sockvm-trace --funcs FILE --out FILE [--uprobe BIN]... [--ready FILE] [--text] [--max-chains N] [--reset]\n");
			return 2;
		}
	}
	if (!funcs_path || !out_path || !max_chains || max_chains > 4096) {
		fprintf(stderr, "sockvm-trace: --funcs and --out are required; --max-chains is 1..4096\n");
		return 2;
	}
	libbpf_set_print(quiet_libbpf);
	read_funcs(funcs_path);
	tests = calloc(MAX_TESTS, sizeof(*tests));
	open_chains = calloc(THREADS, sizeof(*open_chains));
	if (!tests || !open_chains)
		die("out of memory");

	skel = trace_bpf__open();
	if (!skel)
		die("opening the BPF object failed: %s", strerror(errno));
	out.skel = skel;
	skel->rodata->fork_child_pid_offset = fork_child_offset();
	out.func_ip = libbpf_probe_bpf_helper(BPF_PROG_TYPE_KPROBE, BPF_FUNC_get_func_ip, NULL) == 1;
	bpf_program__set_autoload(out.func_ip ? skel->progs.on_return_top : skel->progs.on_return_ip, false);
	err = trace_bpf__load(skel);
	if (err)
		die("loading the BPF programs failed: %s (a kernel without BPF, kprobes or ring buffers?)", strerror(-err));
	map_addresses(bpf_map__fd(skel->maps.funcs));

	for (i = 0; i < nfuncs; i++) {
		struct bpf_program *ret_prog = out.func_ip ? skel->progs.on_return_ip : skel->progs.on_return_top;
		unsigned int a;

		if (funcs[i].error[0])
			continue;
		/* The module's own functions go by address: a name may be the kernel's too. */
		if (funcs[i].naddr == 1 && !funcs[i].is_module) {
			if (!bpf_program__attach_kprobe(skel->progs.on_enter, false, funcs[i].name)) {
				snprintf(funcs[i].error, sizeof(funcs->error), "kprobe: %s", strerror(errno));
				continue;
			}
			if (!funcs[i].entry_only && !bpf_program__attach_kprobe(ret_prog, true, funcs[i].name)) {
				snprintf(funcs[i].error, sizeof(funcs->error), "kretprobe: %s", strerror(errno));
				continue;
			}
		} else {
			/* Each definition by address (two static functions of one name: counted together). */
			for (a = 0; a < funcs[i].naddr && !funcs[i].error[0]; a++) {
				LIBBPF_OPTS(bpf_kprobe_opts, ko, .offset = funcs[i].addr[a]);
				LIBBPF_OPTS(bpf_kprobe_opts, kro, .offset = funcs[i].addr[a], .retprobe = true);

				if (!bpf_program__attach_kprobe_opts(skel->progs.on_enter, NULL, &ko) ||
				    (!funcs[i].entry_only && !bpf_program__attach_kprobe_opts(ret_prog, NULL, &kro)))
					snprintf(funcs[i].error, sizeof(funcs->error),
						 "by address (%u definitions): %s", funcs[i].naddr, strerror(errno));
			}
			if (funcs[i].error[0])
				continue;
		}
		funcs[i].attached = 1;
		attached++;
	}
	for (i = 0; i < (unsigned int)out.nuprobes; i++) {
		static const char *const marks[] = { "main", "sockvm_trace_begin", "sockvm_trace_end" };
		struct bpf_program *progs[] = { skel->progs.on_suite_main, skel->progs.on_test_begin,
						skel->progs.on_test_end };
		unsigned int m;

		out.uprobe_ok[i] = 1;
		for (m = 0; m < 3; m++) {
			LIBBPF_OPTS(bpf_uprobe_opts, uo, .func_name = marks[m]);

			if (bpf_program__attach_uprobe_opts(progs[m], -1, out.uprobes[i], 0, &uo))
				continue;
			out.uprobe_ok[i] = 0;
			fprintf(stderr, "sockvm-trace: uprobe on %s in %s: %s\n", marks[m],
				out.uprobes[i], strerror(errno));
		}
	}
	if (!skel->links.on_fork && !bpf_program__attach(skel->progs.on_fork))
		fprintf(stderr, "sockvm-trace: sched_process_fork: %s (helpers of a test are not attributed to it)\n",
			strerror(errno));
	if (!attached)
		die("no function could be attached (first: %s: %s)", funcs[0].name, funcs[0].error);

	rb = ring_buffer__new(bpf_map__fd(skel->maps.events), on_event, NULL, NULL);
	if (!rb)
		die("ring buffer: %s", strerror(errno));
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGUSR1, on_signal);
	if (ready) {
		FILE *r = fopen(ready, "w");

		if (!r || fprintf(r, "%u attached of %u\n", attached, nfuncs) < 0 || fclose(r))
			die("--ready %s: %s", ready, strerror(errno));
	}
	while (!stop) {
		err = ring_buffer__poll(rb, 100);
		if (err < 0 && err != -EINTR)
			die("ring buffer poll: %s", strerror(-err));
		if (snapshot) {
			snapshot = 0;
			ring_buffer__consume(rb);
			if (write_output(out_path, text, &out))
				return 1;
			if (reset)
				reset_state(&out);
		}
	}
	ring_buffer__consume(rb);
	err = write_output(out_path, text, &out);
	ring_buffer__free(rb);
	trace_bpf__destroy(skel);
	return err ? 1 : 0;
}
