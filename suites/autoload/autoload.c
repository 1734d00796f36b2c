// SPDX-License-Identifier: GPL-2.0
/*
 * autoload: on a kernel that has AF_INET_NEW_TCP (kernel/patches, the
 * module built as CONFIG_NEWTCP=m), socket(46, ...) with newtcp.ko not
 * loaded must load it, as socket(AF_SMC, ...) loads smc.ko:
 * __sock_create() calls request_module("net-pf-46"), and modprobe finds
 * the module whose .modinfo says "alias=net-pf-46"
 * (MODULE_ALIAS_NETPROTO).
 *
 * The guest has no modules tree for modprobe to search (the harness
 * insmods /lib/modules/newtcp.ko), so this suite is the modprobe: it
 * points /proc/sys/kernel/modprobe at its own binary, which, run by the
 * kernel as "modprobe -q -- net-pf-46", records the request and loads
 * /lib/modules/newtcp.ko only if the module itself carries that alias --
 * which is what a real modprobe and depmod go by.  The module is loaded
 * again as the harness had it whatever happens.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include "ntcp.h"
#include "tap.h"

#define MODULE_KO	"/lib/modules/newtcp.ko"
#define MODPROBE_PATH	"/proc/sys/kernel/modprobe"
#define REQUEST_LOG	"/tmp/autoload-requests"

static int kernel_family;

/* Whether the module file's .modinfo has "alias=<name>". */
static int module_has_alias(const char *name)
{
	char want[128];
	struct stat st;
	void *map;
	int fd, found = 0;
	size_t n;

	n = (size_t)snprintf(want, sizeof(want), "alias=%s", name) + 1;	/* with its NUL */
	fd = open(MODULE_KO, O_RDONLY);
	if (fd < 0)
		return 0;
	if (!fstat(fd, &st) && st.st_size > 0) {
		map = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (map != MAP_FAILED) {
			found = memmem(map, st.st_size, want, n) != NULL;
			munmap(map, st.st_size);
		}
	}
	close(fd);
	return found;
}

static int module_loaded(void)
{
	return access("/sys/module/newtcp", F_OK) == 0;
}

static int load_module(void)
{
	int fd = open(MODULE_KO, O_RDONLY | O_CLOEXEC), rc;

	if (fd < 0)
		return -1;
	rc = syscall(SYS_finit_module, fd, "", 0);
	close(fd);
	return rc;
}

/*
 * Run by the kernel as "<this binary> -q -- <module name>": the modprobe
 * the kernel's request_module() calls.  Exit 0 when loaded.
 */
static int act_as_modprobe(int argc, char **argv)
{
	const char *name = argv[argc - 1];
	FILE *f = fopen(REQUEST_LOG, "a");
	int has = module_has_alias(name);

	if (f) {
		fprintf(f, "%s %s\n", name, has ? "alias-found" : "no-alias");
		fclose(f);
	}
	return has && !load_module() ? 0 : 1;
}

static int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_TRUNC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, s, strlen(s));
	close(fd);
	return n == (ssize_t)strlen(s) ? 0 : -1;
}

static int t_autoload(void)
{
	char self[512], saved[512], log[512], want[64];
	ssize_t n;
	int fd, err, ok;

	if (!kernel_family)
		SKIP_TEST("the kernel has no AF_INET_NEW_TCP (distro kernel): the family is borrowed at load, nothing to autoload by");
	snprintf(want, sizeof(want), "net-pf-%d", kernel_family);
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	CHECK(n > 0, "readlink /proc/self/exe: %s", strerror(errno));
	self[n] = 0;
	CHECK(!read_small_file(MODPROBE_PATH, saved, sizeof(saved)), MODPROBE_PATH ": %s (CONFIG_MODULES?)", strerror(errno));
	unlink(REQUEST_LOG);

	CHECK(!syscall(SYS_delete_module, "newtcp", O_NONBLOCK), "rmmod newtcp: %s", strerror(errno));
	CHECK(!module_loaded(), "newtcp is gone after rmmod");
	CHECK(!write_file(MODPROBE_PATH, self), "point %s at this suite", MODPROBE_PATH);

	fd = socket(kernel_family, SOCK_STREAM, 0);
	err = errno;
	write_file(MODPROBE_PATH, saved);
	log[0] = 0;
	read_small_file(REQUEST_LOG, log, sizeof(log));
	if (fd >= 0)
		close(fd);
	ok = module_loaded();
	if (!ok && load_module())
		tap_diag("could not load %s again: %s; the suites after this one will fail", MODULE_KO, strerror(errno));

	CHECK(log[0], "the kernel did not ask for a module (socket(%d): %s)", kernel_family, strerror(err));
	tap_diag("the kernel asked modprobe for: %s", log);
	CHECK(strstr(log, want), "the kernel asked for %s", want);
	CHECK(!strstr(log, "no-alias"), "%s has no alias=%s: MODULE_ALIAS_NETPROTO missing", MODULE_KO, want);
	CHECK(fd >= 0, "socket(%d, SOCK_STREAM) after the autoload: %s", kernel_family, strerror(err));
	CHECK(ok, "newtcp is loaded again");
	return 0;
}

int main(int argc, char **argv)
{
	static const struct ntcp_test tests[] = {
		{ "socket(AF_INET_NEW_TCP) with the module unloaded loads it by its net-pf alias", t_autoload, 30 },
	};

	if (argc >= 3 && !strcmp(argv[argc - 2], "--"))
		return act_as_modprobe(argc, argv);
	kernel_family = tap_newtcp_kernel_family();
	return ntcp_run_suite(tests, ARRAY_SIZE(tests));
}
