/* SPDX-License-Identifier: MIT */
/*
 * A full disk gives a clear ENOSPC: at open (the spare segment cannot be preallocated),
 * at a segment rollover (the log stops and says why), and for a snapshot (the previous
 * one stays).  Uses a loop-mounted 8 MiB ext4 image; exit 77 if it cannot mount.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kbp_log.h"

static char mnt[] = "/tmp/kbp-enospc.XXXXXX";
static char img[] = "/tmp/kbp-enospc-img.XXXXXX";

/* Runs argv (no shell: nothing in it is interpreted), quietly; its exit status or -1. */
static int run_quiet(char *const argv[])
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		if (null >= 0) {
			dup2(null, 1);
			dup2(null, 2);
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static int run(void)
{
	static uint8_t big[1 << 20];
	struct kbp_log_config cfg;
	struct kbp_log *log;
	char err[512];
	uint64_t id = 0, d;
	int rc;

	kbp_log_config_default(&cfg);
	cfg.dir = mnt;
	cfg.quiet = true;
	cfg.create = true;
	cfg.segment_bytes = 64ull << 20;   /* more than the filesystem holds */
	rc = kbp_log_open(&log, &cfg, err, sizeof(err));
	if (rc != -ENOSPC || strstr(err, "No space left") == NULL || strstr(err, mnt) == NULL) {
		fprintf(stderr, "open of an oversized segment: rc %d, \"%s\"\n", rc, err);
		return 1;
	}
	printf("open: %s\n", err);

	/* Segments that fit, until a rollover cannot preallocate the next spare. */
	cfg.segment_bytes = 2u << 20;
	cfg.write_bytes_max = 256 * 1024;
	if (kbp_log_open(&log, &cfg, err, sizeof(err)) < 0 || kbp_log_recover(log, NULL, NULL, NULL) < 0) {
		fprintf(stderr, "open: %s\n", log ? kbp_log_strerror(log) : err);
		return 1;
	}
	for (;;) {
		struct kbp_persist p = { .type = KBP_PERSIST_ACCEPT, .id = ++id, .slot = id, .count = 1,
					 .len = 100000, .value = big };

		while ((rc = kbp_log_append(log, &p)) == -EAGAIN)
			kbp_log_wait(log, &d);
		if (rc < 0)
			break;
		if (kbp_log_submit(log) < 0)
			break;
		if (id > 1000) {
			fprintf(stderr, "8 MiB never filled up\n");
			return 1;
		}
	}
	if (rc != -ENOSPC || strstr(kbp_log_strerror(log), "No space left") == NULL) {
		fprintf(stderr, "rollover on a full disk: rc %d, \"%s\"\n", rc, kbp_log_strerror(log));
		return 1;
	}
	printf("rollover: %s\n", kbp_log_strerror(log));
	/* Stopped: nothing more is accepted and the error stays. */
	if (kbp_log_submit(log) != -ENOSPC || kbp_log_poll(log, &d) != -ENOSPC || d >= id) {
		fprintf(stderr, "a stopped log must keep failing\n");
		return 1;
	}
	kbp_log_close(log);

	/* What was durable before the disk filled is all there. */
	cfg.read_only = true;
	cfg.create = false;
	{
		struct kbp_log_recover_stats st;

		if (kbp_log_open(&log, &cfg, err, sizeof(err)) < 0 || kbp_log_recover(log, NULL, NULL, &st) < 0) {
			fprintf(stderr, "recover: %s\n", log ? kbp_log_strerror(log) : err);
			return 1;
		}
		printf("recovered %llu records after ENOSPC\n", (unsigned long long)st.records);
		kbp_log_close(log);
		if (st.records < d || st.records == 0)
			return 1;
	}
	return 0;
}

int main(void)
{
	int rc;

	if (geteuid() != 0 || mkdtemp(mnt) == NULL) {
		printf("skip: needs root to loop-mount a small ext4\n");
		return 77;
	}
	int fd = mkstemp(img);

	if (fd < 0)
		return 77;
	close(fd);
	if (truncate(img, 8 << 20) < 0 ||
	    run_quiet((char *const[]){ "mkfs.ext4", "-q", "-F", img, NULL }) != 0 ||
	    run_quiet((char *const[]){ "mount", "-o", "loop", img, mnt, NULL }) != 0) {
		printf("skip: cannot loop-mount an ext4 image here\n");
		unlink(img);
		rmdir(mnt);
		return 77;
	}
	rc = run();
	/* io_uring drops its registered files asynchronously after the ring exits: retry. */
	for (int i = 0; umount(mnt) < 0 && i < 100; i++)
		usleep(20000);
	umount2(mnt, MNT_DETACH);
	unlink(img);
	rmdir(mnt);
	return rc;
}
