/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * AF_INET_NEW_TCP user space interface.
 *
 * User space: include this after <netinet/in.h>; <linux/in.h> then
 * defers to glibc's struct in_addr via <linux/libc-compat.h>.
 */
#ifndef _UAPI_LINUX_NEWTCP_H
#define _UAPI_LINUX_NEWTCP_H

#include <linux/types.h>
#include <linux/socket.h>
#include <linux/in.h>

/*
 * Distro kernels have no AF_INET_NEW_TCP, so the module borrows a free
 * address family slot chosen at load time.  The number actually in use
 * is published in NEWTCP_FAMILY_SYSFS; NEWTCP_FAMILY_DEFAULT is only
 * what the module picks when not told otherwise (AF_ECONET, removed in
 * Linux 3.5 and never registered since).
 */
#define NEWTCP_FAMILY_SYSFS	"/sys/module/newtcp/parameters/family"
#define NEWTCP_FAMILY_DEFAULT	19

/*
 * Placeholder option level for NEW_TCP specific socket options; kept
 * well away from the SOL_* numbers mainline hands out in sequence.
 */
#define SOL_NEWTCP		399

/* Same layout and size as struct sockaddr_in, so IPv4 tooling fits. */
struct sockaddr_newtcp {
	__kernel_sa_family_t	snt_family;	/* family in use */
	__be16			snt_port;	/* port, network order */
	struct in_addr		snt_addr;	/* IPv4 address */
	unsigned char		snt_zero[8];	/* pad to sockaddr_in */
};

#endif /* _UAPI_LINUX_NEWTCP_H */
