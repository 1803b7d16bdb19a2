/* SPDX-License-Identifier: MIT */
/* Entering a named network namespace (kbp_netns.h). */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kbp_netns.h"

int kbp_netns_enter(const char *name, char *err, size_t err_len)
{
	char path[128];
	struct stat want, cur;

	if (name == NULL || name[0] == '\0')
		return 0;
	snprintf(path, sizeof(path), "%s/%s", KBP_NETNS_DIR, name);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		snprintf(err, err_len, "network namespace '%s' (%s): %s%s", name, path, strerror(e),
			 e == ENOENT ? "; scripts/cluster start creates it (or: ip netns add <name>)" : "");
		return -e;
	}
	/* Already inside (started by `ip netns exec`, or a second call): nothing to do. */
	if (fstat(fd, &want) == 0 && stat("/proc/self/ns/net", &cur) == 0 && want.st_dev == cur.st_dev &&
	    want.st_ino == cur.st_ino) {
		close(fd);
		return 0;
	}
	if (setns(fd, CLONE_NEWNET) < 0) {
		int e = errno;
		close(fd);
		snprintf(err, err_len, "cannot enter network namespace '%s': %s%s", name, strerror(e),
			 e == EPERM ? " (needs root: CAP_SYS_ADMIN)" : "");
		return -e;
	}
	close(fd);
	return 0;
}
