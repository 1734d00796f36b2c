/* SPDX-License-Identifier: GPL-2.0 */
/* The differential suite's generated and SEQPACKET parts. */
#ifndef DIFFERENTIAL_GEN_H
#define DIFFERENTIAL_GEN_H

extern unsigned long long gen_seed;
/* Why state/call may differ (an exceptions[] entry), NULL if it may not. */
const char *excepted(const char *state, const char *call);
int test_generated(void);
int test_seqpacket(void);

#endif
