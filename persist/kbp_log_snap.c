/* SPDX-License-Identifier: MIT */
/*
 * Snapshots: install a state-machine image atomically, then drop the segments it
 * covers.  Blocking; the owner calls it off the hot path.  A crash at any point leaves
 * either the old snapshot or the new one (rename is atomic; the directory fsync makes the
 * rename durable before any segment it makes redundant is deleted).
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "kbp_log_internal.h"

static int write_all(int fd, const void *buf, uint64_t len, uint64_t off)
{
	const uint8_t *p = buf;

	while (len > 0) {
		size_t n = len > (1u << 30) ? (1u << 30) : (size_t)len;
		ssize_t w = pwrite(fd, p, n, (off_t)off);

		if (w <= 0)
			return w < 0 ? errno : ENOSPC;
		p += w;
		off += (uint64_t)w;
		len -= (uint64_t)w;
	}
	return 0;
}

static int install(struct kbp_log *log, const void *buf, uint64_t len, uint64_t upto, const char *name)
{
	struct kbp_log_snap_hdr h = {
		.version = KBP_LOG_VERSION, .payload_crc = kbp_crc32c(buf, len), .len = len, .upto = upto,
	};
	uint8_t hdr[KBP_LOG_HDR_SIZE];
	int fd, rc;

	kbp_log_snap_hdr_encode(hdr, &h);
	fd = openat(log->dirfd, KBP_LOG_SNAP_TMP, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return errno;
	rc = write_all(fd, hdr, sizeof(hdr), 0);
	if (rc == 0)
		rc = write_all(fd, buf, len, sizeof(hdr));
	if (rc == 0 && fsync(fd) < 0)
		rc = errno;
	close(fd);
	if (rc == 0 && renameat(log->dirfd, KBP_LOG_SNAP_TMP, log->dirfd, name) < 0)
		rc = errno;
	if (rc == 0 && fsync(log->dirfd) < 0)
		rc = errno;
	return rc;
}

int kbp_log_snapshot_write(struct kbp_log *log, const void *buf, uint64_t len, uint64_t upto_slot)
{
	char name[64], old[64];
	uint32_t drop = 0;
	int rc;

	assert(log->recovered && !log->cfg.read_only);
	assert(len == 0 || buf != NULL);
	if (log->stopped)
		return log->stopped;
	if (upto_slot < log->snap_upto)
		return kbp_log_fail(log, EINVAL, "log %s: snapshot up to slot %" PRIu64 " is older than the "
				    "installed one (%" PRIu64 ")", log->dir, upto_slot, log->snap_upto);
	snprintf(name, sizeof(name), "snap-%016" PRIx64 ".snap", upto_slot);
	if ((rc = install(log, buf, len, upto_slot, name)) != 0) {
		unlinkat(log->dirfd, KBP_LOG_SNAP_TMP, 0);
		return kbp_log_fail(log, rc, "log %s: writing %s (%" PRIu64 " bytes) failed: %s; the "
				    "previous snapshot and the log are intact", log->dir, name, len,
				    strerror(rc));
	}
	if (log->snap_upto != 0 && log->snap_upto != upto_slot) {
		snprintf(old, sizeof(old), "snap-%016" PRIx64 ".snap", log->snap_upto);
		unlinkat(log->dirfd, old, 0);
	}
	log->snap_upto = upto_slot;
	/*
	 * Closed segments whose accepts all lie below upto_slot are redundant: the snapshot
	 * holds their effect and the next segment's header repeats the promised ballot.
	 * Only a prefix goes, so the remaining segments still replay in order.
	 */
	while (drop + 1 < log->nsegs && log->segs[drop].slot_end <= upto_slot) {
		char seg[64];

		snprintf(seg, sizeof(seg), "seg-%016" PRIx64 ".log", log->segs[drop].seq);
		if (unlinkat(log->dirfd, seg, 0) < 0 && errno != ENOENT)
			break;   /* harmless: a kept segment is replayed and ignored below the snapshot */
		drop++;
	}
	if (drop > 0) {
		memmove(log->segs, log->segs + drop, (log->nsegs - drop) * sizeof(*log->segs));
		log->nsegs -= drop;
		log->stats.segments_deleted += drop;
		fsync(log->dirfd);
	}
	return 0;
}
