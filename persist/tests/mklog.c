/* SPDX-License-Identifier: MIT */
/*
 * Test helper: writes a small log for the kbpaxos-log tests to damage.
 *   mklog DIR CLUSTER NODE ACCEPTS [SNAP_UPTO]
 * Creates the log in DIR (which must hold none), one promise, ACCEPTS 1000-byte accepts
 * in 64 KiB segments (about 60 a segment), then a snapshot up to SNAP_UPTO if given.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kbp_log.h"

static int die(struct kbp_log *log, const char *what)
{
	fprintf(stderr, "mklog: %s: %s\n", what, kbp_log_strerror(log));
	return 1;
}

int main(int argc, char **argv)
{
	struct kbp_log_config cfg;
	struct kbp_log *log;
	static uint8_t v[1000];
	uint64_t id = 0, d = 0;
	char err[512];
	int rc;

	if (argc < 5) {
		fprintf(stderr, "usage: mklog DIR CLUSTER NODE ACCEPTS [SNAP_UPTO]\n");
		return 2;
	}
	kbp_log_config_default(&cfg);
	cfg.dir = argv[1];
	cfg.cluster_id = (uint32_t)strtoul(argv[2], NULL, 10);
	cfg.node_id = (uint32_t)strtoul(argv[3], NULL, 10);
	cfg.config_digest = 0xd16e570000000000ull | cfg.cluster_id;
	cfg.create = true;
	cfg.quiet = true;
	cfg.segment_bytes = 64 * 1024;
	cfg.write_bytes_max = 8192;
	if (kbp_log_open(&log, &cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "mklog: %s\n", err);
		return 1;
	}
	if (kbp_log_recover(log, NULL, NULL, NULL) < 0)
		return die(log, "recover");
	for (unsigned long i = 0; i <= strtoul(argv[4], NULL, 10); i++) {
		struct kbp_persist p = { .type = KBP_PERSIST_ACCEPT, .id = ++id, .slot = i, .count = 1,
					 .ballot = kbp_ballot_make(3, cfg.node_id), .len = sizeof(v), .value = v };

		if (i == 0)
			p = (struct kbp_persist){ .type = KBP_PERSIST_PROMISE, .id = id, .ballot = p.ballot };
		while ((rc = kbp_log_append(log, &p)) == -EAGAIN)
			kbp_log_wait(log, &d);
		if (rc < 0)
			return die(log, "append");
	}
	if (kbp_log_submit(log) < 0)
		return die(log, "submit");
	while (d < id)
		if (kbp_log_wait(log, &d) < 0)
			return die(log, "write");
	if (argc > 5 && kbp_log_snapshot_write(log, "image", 5, strtoull(argv[5], NULL, 10)) < 0)
		return die(log, "snapshot");
	kbp_log_close(log);
	return 0;
}
