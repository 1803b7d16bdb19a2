/* SPDX-License-Identifier: MIT */
/*
 * A filesystem without O_DIRECT gives a clear error at open, not a silent buffered log.
 * ramfs has no direct I/O (tmpfs gained it in Linux 6.6, so it no longer serves).
 * Exit 77 if ramfs cannot be mounted (not root, no ramfs).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "kbp_log.h"

int main(void)
{
	char mnt[] = "/tmp/kbp-noodirect.XXXXXX", err[512];
	struct kbp_log_config cfg;
	struct kbp_log *log;
	int rc, ret = 0;

	if (mkdtemp(mnt) == NULL)
		return 1;
	if (mount("ramfs", mnt, "ramfs", 0, NULL) < 0) {
		printf("skip: cannot mount ramfs: %s\n", strerror(errno));
		rmdir(mnt);
		return 77;
	}
	kbp_log_config_default(&cfg);
	cfg.dir = mnt;
	cfg.quiet = true;
	cfg.create = true;
	cfg.segment_bytes = 1u << 20;
	cfg.write_bytes_max = 64 * 1024;
	rc = kbp_log_open(&log, &cfg, err, sizeof(err));
	printf("open on ramfs: rc %d: %s\n", rc, err);
	if (rc != -EINVAL || strstr(err, "does not support O_DIRECT") == NULL || strstr(err, mnt) == NULL) {
		fprintf(stderr, "expected a clear no-O_DIRECT error\n");
		ret = 1;
	}
	if (log != NULL) {
		kbp_log_close(log);
		ret = 1;
	}
	for (int i = 0; umount(mnt) < 0 && i < 100; i++)
		usleep(20000);
	umount2(mnt, MNT_DETACH);
	rmdir(mnt);
	return ret;
}
