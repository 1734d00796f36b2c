/* SPDX-License-Identifier: GPL-2.0 */
/*
 * For suites that load BPF with libbpf: its warnings and errors become
 * TAP diagnostics ("# libbpf: ..."), its debug chatter is dropped.
 * Header only: suites without BPF neither include nor link libbpf.
 */
#ifndef SOCKVM_LIBBPF_TAP_H
#define SOCKVM_LIBBPF_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <bpf/libbpf.h>

static inline int libbpf_tap_print(enum libbpf_print_level level,
				   const char *fmt, va_list ap)
{
	char line[512];

	if (level == LIBBPF_DEBUG)
		return 0;
	vsnprintf(line, sizeof(line), fmt, ap);
	line[strcspn(line, "\n")] = 0;
	printf("# libbpf: %s\n", line);
	return 0;
}

/*
 * A test that needs the suite's BPF program: it skips, with @why, where
 * the kernel cannot run it; it fails where the kernel can and the
 * program did not load (@broken): that is the thing under test.
 */
#define NEED_BPF(loaded, broken, why)					\
	do {								\
		if (!(loaded) && !(broken))				\
			SKIP_TEST("%s", why);				\
		CHECK(loaded, "%s", why);				\
	} while (0)

#endif
