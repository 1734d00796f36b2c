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
 * what the module picks when not told otherwise: 22, AF_SNA, reserved
 * for the Linux SNA project and never registered by any mainline or
 * Debian kernel.  13 and 18 are free on Debian's 6.1 as well.
 */
#define NEWTCP_FAMILY_SYSFS	"/sys/module/newtcp/parameters/family"
#define NEWTCP_FAMILY_DEFAULT	22

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

/* SOL_NEWTCP option names. */
#define NEWTCP_NODELAY		1	/* int: disable Nagle on the inner TCP */
#define NEWTCP_MAXMSG		2	/* __u32: largest SEQPACKET record */
#define NEWTCP_INFO		3	/* struct newtcp_info, read only */

/* Hard upper bound for NEWTCP_MAXMSG. */
#define NEWTCP_MAXMSG_MAX	(16U << 20)

#define NEWTCP_INFO_VERSION	1

/*
 * NEWTCP_INFO.  Versioned: fields are only ever appended; the kernel
 * copies min(optlen, sizeof) bytes and reports that length back.
 * Byte counts are payload bytes (SEQPACKET record headers excluded).
 */
struct newtcp_info {
	__u32	nti_version;		/* NEWTCP_INFO_VERSION */
	__u8	nti_state;		/* TCP_* state, as in /proc/net/tcp */
	__u8	nti_type;		/* SOCK_STREAM or SOCK_SEQPACKET */
	__u16	nti_pad;
	__u64	nti_bytes_sent;
	__u64	nti_bytes_received;
	__u64	nti_msgs_sent;		/* sendmsg calls / records */
	__u64	nti_msgs_received;	/* records completed (SEQPACKET) */
	__u32	nti_rtt_us;		/* inner TCP smoothed RTT */
	__u32	nti_rttvar_us;
	__u32	nti_retransmits;	/* inner TCP unrecovered RTOs */
	__u32	nti_total_retrans;
};

#endif /* _UAPI_LINUX_NEWTCP_H */
