/* SPDX-License-Identifier: MIT */
/*
 * Snapshots: install a state-machine image atomically, record it in the identity file,
 * then drop the segments it covers.  The file work runs on the helper thread, the only
 * writer of the identity file (kbp_log_snapshot_write waits for it); the owner alone
 * updates the log's segment list.  A crash at any point leaves either the old log
 * (snapshot and segments as recorded) or the new one: the identity file names the new
 * snapshot only once it is durable under its name, and files are deleted only once the
 * identity file no longer names them (kbp_log_layout.c accounts for what is left).
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

static int install(const struct kbp_log *log, const struct kbp_log_snap_job *job, const char *name,
		   uint64_t first_seq)
{
	struct kbp_log_snap_hdr h = {
		.version = KBP_LOG_VERSION, .payload_crc = kbp_crc32c(job->buf, job->len), .len = job->len,
		.upto = job->upto, .seq = first_seq, .owner = log->owner,
	};
	uint8_t hdr[KBP_LOG_HDR_SIZE];
	int fd, rc;

	kbp_log_snap_hdr_encode(hdr, &h);
	fd = openat(log->dirfd, KBP_LOG_SNAP_TMP, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return errno;
	rc = write_all(fd, hdr, sizeof(hdr), 0);
	if (rc == 0)
		rc = write_all(fd, job->buf, job->len, sizeof(hdr));
	if (rc == 0 && fsync(fd) < 0)
		rc = errno;
	close(fd);
	if (rc == 0 && renameat(log->dirfd, KBP_LOG_SNAP_TMP, log->dirfd, name) < 0)
		rc = errno;
	if (rc == 0 && fsync(log->dirfd) < 0)
		rc = errno;
	return rc;
}

int kbp_log_snap_files(const struct kbp_log *log, struct kbp_log_bg *bg)
{
	struct kbp_log_snap_job *job = &bg->snap;
	struct kbp_log_ident_rec next = bg->ident;
	uint64_t t0 = kbp_log_now_ns();
	char name[64], old[64];
	int rc;

	job->unlinked = 0;
	next.snap_upto = job->upto;
	next.first_seq = job->drop_first_seq + job->drop;
	kbp_log_snap_name(name, job->upto);
	if ((rc = install(log, job, name, next.first_seq)) != 0) {
		unlinkat(log->dirfd, KBP_LOG_SNAP_TMP, 0);
		snprintf(bg->snap_msg, sizeof(bg->snap_msg), "log %.300s: writing %s (%" PRIu64 " bytes) "
			 "failed: %s; the previous snapshot and the log are intact", log->dir, name, job->len,
			 strerror(rc));
		return rc;
	}
	if ((rc = kbp_log_ident_write(log->dirfd, log->dir, &next, bg->snap_msg, sizeof(bg->snap_msg))) != 0) {
		if (job->old_upto != job->upto)
			unlinkat(log->dirfd, name, 0);   /* never recorded: recovery would ignore it */
		return rc;
	}
	bg->ident = next;
	if (job->old_upto != 0 && job->old_upto != job->upto) {
		kbp_log_snap_name(old, job->old_upto);
		unlinkat(log->dirfd, old, 0);
	}
	/*
	 * Closed segments whose accepts all lie below upto are redundant: the snapshot holds
	 * their effect and the next segment's header repeats the promised ballot.  The
	 * identity file no longer names them; a file that fails to go is removed by the next
	 * recovery.
	 */
	for (uint32_t i = 0; i < job->drop; i++) {
		char seg[64];

		kbp_log_seg_name(seg, job->drop_first_seq + i);
		if (unlinkat(log->dirfd, seg, 0) == 0)
			job->unlinked++;
	}
	if (job->unlinked > 0)
		fsync(log->dirfd);
	job->took_ns = kbp_log_now_ns() - t0;
	return 0;
}

static int snap_check(struct kbp_log *log, uint64_t upto_slot)
{
	assert(log->recovered && !log->cfg.read_only);
	if (log->stopped)
		return log->stopped;
	if (upto_slot < log->snap_upto)
		return kbp_log_fail(log, EINVAL, "log %s: snapshot up to slot %" PRIu64 " is older than the "
				    "installed one (%" PRIu64 ")", log->dir, upto_slot, log->snap_upto);
	return 0;
}

static void snap_job_fill(const struct kbp_log *log, struct kbp_log_snap_job *job, const void *buf,
			  uint64_t len, uint64_t upto)
{
	uint32_t drop = 0;

	assert(len == 0 || buf != NULL);
	while (drop + 1 < log->nsegs && log->segs[drop].slot_end <= upto)
		drop++;
	*job = (struct kbp_log_snap_job){
		.buf = buf, .len = len, .upto = upto, .old_upto = log->snap_upto,
		.drop_first_seq = log->nsegs ? log->segs[0].seq : 0, .drop = drop,
	};
}

/* The owner's share: forget the segments the log no longer starts with (segments are only
 * ever added at the end, so the dropped ones are still the first). */
static void snap_finish(struct kbp_log *log, const struct kbp_log_snap_job *job)
{
	log->snap_upto = job->upto;
	if (job->drop == 0)
		return;
	assert(log->nsegs > job->drop && log->segs[0].seq == job->drop_first_seq);
	memmove(log->segs, log->segs + job->drop, (log->nsegs - job->drop) * sizeof(*log->segs));
	log->nsegs -= job->drop;
	log->stats.segments_deleted += job->unlinked;
}

int kbp_log_snapshot_poll(struct kbp_log *log, uint64_t *upto_slot, uint64_t *took_ns)
{
	struct kbp_log_snap_job *job = &log->bg.snap;

	if (!kbp_log_bg_done(log, KBP_BG_SNAP))
		return 0;
	kbp_log_bg_collect(log, KBP_BG_SNAP);
	if (job->err)
		return kbp_log_fail(log, job->err, "%s", log->bg.snap_msg);
	snap_finish(log, job);
	if (upto_slot)
		*upto_slot = job->upto;
	if (took_ns)
		*took_ns = job->took_ns;
	return 1;
}

bool kbp_log_snapshot_busy(const struct kbp_log *log)
{
	return log->bg_pending & KBP_BG_SNAP;
}

int kbp_log_snapshot_begin(struct kbp_log *log, const void *buf, uint64_t len, uint64_t upto_slot)
{
	int rc;

	if (kbp_log_snapshot_busy(log))
		return -EBUSY;
	if ((rc = snap_check(log, upto_slot)) < 0)
		return rc;
	snap_job_fill(log, &log->bg.snap, buf, len, upto_slot);
	kbp_log_bg_request(log, KBP_BG_SNAP);
	return 0;
}

/* The same, waiting: the helper writes the identity file, so it writes this snapshot too. */
int kbp_log_snapshot_write(struct kbp_log *log, const void *buf, uint64_t len, uint64_t upto_slot)
{
	int rc;

	if (kbp_log_snapshot_busy(log)) {
		kbp_log_bg_wait(log, KBP_BG_SNAP);
		(void)kbp_log_snapshot_poll(log, NULL, NULL);   /* a failure there changed nothing */
	}
	if ((rc = kbp_log_snapshot_begin(log, buf, len, upto_slot)) < 0)
		return rc;
	kbp_log_bg_wait(log, KBP_BG_SNAP);
	rc = kbp_log_snapshot_poll(log, NULL, NULL);
	assert(rc != 0);
	return rc < 0 ? rc : 0;
}
