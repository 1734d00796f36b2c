// SPDX-License-Identifier: GPL-2.0
/* Minimal TAP version 14 producer; see tap.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <linux/newtcp.h>

#include "ntcp.h"
#include "tap.h"

static int tap_started;
static int tap_planned = -1;
static int tap_count;
static int tap_failed;

static void tap_start(void)
{
	if (tap_started)
		return;
	tap_started = 1;
	/* Line buffered even on a pipe or serial console. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("TAP version 14\n");
}

void tap_plan(int n)
{
	tap_start();
	if (tap_planned >= 0 || tap_count > 0) {
		tap_diag("tap_plan(%d) called late, ignored", n);
		tap_failed++;
		return;
	}
	tap_planned = n;
	printf("1..%d\n", n);
}

/* TAP reserves '#' in descriptions for directives. */
static void tap_vdesc(const char *fmt, va_list ap)
{
	char buf[512];
	char *p;

	vsnprintf(buf, sizeof(buf), fmt, ap);
	for (p = buf; *p; p++)
		if (*p == '#' || *p == '\n')
			*p = ' ';
	fputs(buf, stdout);
}

/*
 * One "ok"/"not ok" line after @indent, numbered from *count, with
 * @suffix (a comment such as " # time=...", or NULL) after the description.
 */
static int tap_result(const char *indent, int cond, int *count, int *failed,
		      const char *suffix, const char *fmt, va_list ap)
{
	char desc[512];
	va_list cp;

	cond = !!cond;
	if (!cond)
		(*failed)++;
	if (!*indent) {
		va_copy(cp, ap);
		vsnprintf(desc, sizeof(desc), fmt, cp);
		va_end(cp);
		sockvm_test_end(desc);
	}
	printf("%s%sok %d - ", indent, cond ? "" : "not ", ++*count);
	tap_vdesc(fmt, ap);
	if (suffix)
		fputs(suffix, stdout);
	putchar('\n');
	fflush(stdout);
	return cond;
}

static int TAP_PRINTF(6, 7) tap_result_f(const char *indent, int cond,
					  int *count, int *failed,
					  const char *suffix,
					  const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cond = tap_result(indent, cond, count, failed, suffix, fmt, ap);
	va_end(ap);
	return cond;
}

/*
 * A check reported straight with tap_ok (suites that do not run tests
 * through run_test) honours SOCKVM_TEST too: a check the filter leaves
 * out is reported as skipped, so --test never passes on checks it did not
 * choose.
 */
int tap_ok(int cond, const char *fmt, ...)
{
	char desc[512];
	va_list ap;

	tap_start();
	va_start(ap, fmt);
	vsnprintf(desc, sizeof(desc), fmt, ap);
	va_end(ap);
	if (!test_selected(desc)) {
		tap_skip("filtered by SOCKVM_TEST", "%s", desc);
		return 1;
	}
	return tap_result_f("", cond, &tap_count, &tap_failed, NULL, "%s", desc);
}

int tap_ok_time(int cond, double ms, const char *fmt, ...)
{
	char suffix[48];
	va_list ap;

	tap_start();
	snprintf(suffix, sizeof(suffix), " # time=%.3fms", ms < 0 ? 0.0 : ms);
	va_start(ap, fmt);
	cond = tap_result("", cond, &tap_count, &tap_failed, suffix, fmt, ap);
	va_end(ap);
	return cond;
}

int tap_next(void)
{
	return tap_count + 1;
}

void tap_running(const char *fmt, ...)
{
	va_list ap;

	tap_start();
	printf("# running %d - ", tap_count + 1);
	va_start(ap, fmt);
	tap_vdesc(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

/*
 * The symbols sockvm-trace puts its uprobes on.  They get a copy on the
 * stack: a uprobe cannot fault pages in, and a forked child has not yet
 * touched the binary's read-only data where a test's name usually is.
 */
__attribute__((noinline, used)) void sockvm_trace_begin(const char *name)
{
	/* Keeps the call and its argument: the uprobe reads name from %rdi. */
	__asm__ volatile("" : : "r"(name) : "memory");
}

__attribute__((noinline, used)) void sockvm_trace_end(const char *name)
{
	__asm__ volatile("" : : "r"(name) : "memory");
}

/* The tracer keeps the first 95 bytes of a name. */
#define TRACE_NAME_MAX	96

/* The name goes through a stack copy: a page the uprobe can read (see above). */
static void trace_mark(void (*mark)(const char *), const char *name)
{
	char copy[TRACE_NAME_MAX];
	size_t n = strnlen(name, sizeof(copy) - 1);

	memcpy(copy, name, n);
	copy[n] = 0;
	mark(copy);
}

void sockvm_test_begin(const char *name)
{
	trace_mark(sockvm_trace_begin, name);
}

void sockvm_test_end(const char *name)
{
	trace_mark(sockvm_trace_end, name);
}

void tap_diag(const char *fmt, ...)
{
	va_list ap;

	tap_start();
	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

void tap_skip(const char *reason, const char *fmt, ...)
{
	va_list ap;

	tap_start();
	printf("ok %d - ", ++tap_count);
	va_start(ap, fmt);
	tap_vdesc(fmt, ap);
	va_end(ap);
	printf(" # SKIP %s\n", reason);
	fflush(stdout);
}

void tap_bail(const char *fmt, ...)
{
	va_list ap;

	tap_start();
	fputs("Bail out! ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	exit(1);
}

int tap_done(void)
{
	tap_start();
	if (tap_planned < 0) {
		printf("1..%d\n", tap_count);
	} else if (tap_planned != tap_count) {
		tap_diag("planned %d tests but ran %d", tap_planned, tap_count);
		tap_failed++;
	}
	if (tap_failed)
		tap_diag("%d failure(s)", tap_failed);
	fflush(stdout);
	return tap_failed ? 1 : 0;
}

int tap_newtcp_family(void)
{
	FILE *f;
	int family;
	int n;

	f = fopen(NEWTCP_FAMILY_SYSFS, "r");
	if (!f) {
		tap_diag("cannot open %s: %s (is the newtcp module loaded?)",
			 NEWTCP_FAMILY_SYSFS, strerror(errno));
		return -1;
	}
	n = fscanf(f, "%d", &family);
	fclose(f);
	if (n != 1 || family <= 0) {
		tap_diag("%s: no valid family number", NEWTCP_FAMILY_SYSFS);
		return -1;
	}
	return family;
}

int tap_newtcp_kernel_family(void)
{
	FILE *f = fopen("/sys/module/newtcp/parameters/kernel_family", "r");
	int family = 0;

	if (!f)
		return 0;
	if (fscanf(f, "%d", &family) != 1 || family < 0)
		family = 0;
	fclose(f);
	return family;
}

int tap_newtcp_default_family(void)
{
	int kf = tap_newtcp_kernel_family();

	return kf > 0 ? kf : NEWTCP_FAMILY_DEFAULT;
}

unsigned long long tap_seed(void)
{
	static int have;
	static unsigned long long seed;
	const char *env = getenv("SOCKVM_SEED");
	struct timespec ts;

	if (have)
		return seed;
	if (env && *env) {
		/* Decimal, 32 bits, as the harness's --seed: nothing else. */
		char *end;

		errno = 0;
		seed = strtoull(env, &end, 10);
		if (errno || *end || env[0] < '0' || env[0] > '9' ||
		    seed > 0xffffffffULL)
			tap_bail("SOCKVM_SEED=%s: expected a decimal number from 0 to 4294967295",
				 env);
	} else {
		clock_gettime(CLOCK_REALTIME, &ts);
		seed = (unsigned int)(ts.tv_sec * 1000000007ULL ^ ts.tv_nsec ^
				      (unsigned long long)getpid() << 16);
	}
	have = 1;
	tap_diag("seed %llu%s", seed, env && *env ? " (SOCKVM_SEED)" : "");
	return seed;
}

static int sub_count, sub_failed;

int tap_sub_ok(int cond, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cond = tap_result("    ", cond, &sub_count, &sub_failed, NULL, fmt, ap);
	va_end(ap);
	return cond;
}

int tap_sub_done(void)
{
	printf("    1..%d\n", sub_count);
	fflush(stdout);
	return sub_failed;
}
