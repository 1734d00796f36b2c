/* SPDX-License-Identifier: GPL-2.0 */
#ifndef NEWTCP_SS_H
#define NEWTCP_SS_H

/* The newtcp-ss tool (newtcp_ss.c): its exit status. */
int newtcp_ss_main(int argc, char **argv);

#endif
