/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one entry of errinj.bpf.c's "inj" map: which calls of the probed
 * function to fail (set by the suite) and what happened (counted by the
 * program).  Shared by the BPF program and the suite.
 */
#ifndef ERRINJ_H
#define ERRINJ_H

#include <linux/types.h>

struct errinj {
	__u32 tgid;	/* only calls made by this process; 0: any (kworkers) */
	__u32 fail;	/* how many of the next calls to fail */
	__s64 rc;	/* what a failed call returns: -ENOMEM, or 0 for NULL */
	__u64 calls;	/* calls seen (of tgid) */
	__u64 failed;	/* calls failed */
};

#endif
