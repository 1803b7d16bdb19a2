/* SPDX-License-Identifier: MIT */
/* Opening and closing the log: config checks, O_DIRECT probe, buffers, ring, spare segment. */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kbp_log_internal.h"

/* Zero-filling source for preallocation: static, so no allocation and no page faults later. */
static const uint8_t kbp_log_zeros[256 * 1024];

void kbp_log_config_default(struct kbp_log_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->segment_bytes = 64ull << 20;
	cfg->write_bytes_max = 1u << 20;
	cfg->segments_max = 4096;
}

uint64_t kbp_log_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int kbp_log_fail(struct kbp_log *log, int errnum, const char *fmt, ...)
{
	va_list ap;

	assert(errnum > 0);
	va_start(ap, fmt);
	vsnprintf(log->err, sizeof(log->err), fmt, ap);
	va_end(ap);
	return -errnum;
}

static const char *check_config(const struct kbp_log_config *c)
{
	if (c->dir == NULL || c->dir[0] == '\0')
		return "dir is empty";
	if (strlen(c->dir) >= PATH_MAX - 32)
		return "dir is too long";
	if (c->write_bytes_max < 2 * KBP_LOG_DATA_OFF || c->write_bytes_max % KBP_LOG_DATA_OFF)
		return "write_bytes_max must be a multiple of 4096 and at least 8192";
	if (c->segment_bytes < 64 * 1024 || c->segment_bytes % KBP_LOG_DATA_OFF)
		return "segment_bytes must be a multiple of 4096 and at least 65536";
	if (c->segment_bytes < KBP_LOG_DATA_OFF + (uint64_t)c->write_bytes_max)
		return "segment_bytes must hold at least one write of write_bytes_max after the header";
	if (c->segments_max < 2)
		return "segments_max must be at least 2";
	if (c->align_bytes != 0 && (c->align_bytes < KBP_LOG_SECTOR || c->align_bytes > KBP_LOG_DATA_OFF ||
				    (c->align_bytes & (c->align_bytes - 1))))
		return "align_bytes must be 0 (ask statx) or a power of two in 512..4096";
	if (c->create && c->read_only)
		return "create and read_only exclude each other";
	if (c->adopt_identity && !c->read_only)
		return "adopt_identity is for read_only tools only";
	return NULL;
}

/* The O_DIRECT block: statx's answer when it has one, else 4096 (always safe). */
static int probe_align(struct kbp_log *log, int fd)
{
	struct statx sx;
	uint32_t a = 4096;

	if (log->cfg.align_bytes) {
		log->align = log->cfg.align_bytes;
		return 0;
	}
	if (statx(fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &sx) == 0 && (sx.stx_mask & STATX_DIOALIGN)) {
		if (sx.stx_dio_offset_align == 0)
			return kbp_log_fail(log, EINVAL, "log directory %s: the filesystem does not support "
					    "O_DIRECT (statx reports no direct-I/O alignment)", log->dir);
		a = sx.stx_dio_offset_align > sx.stx_dio_mem_align ? sx.stx_dio_offset_align
								   : sx.stx_dio_mem_align;
		if (a < KBP_LOG_SECTOR)
			a = KBP_LOG_SECTOR;
	}
	if (a > KBP_LOG_DATA_OFF || (a & (a - 1)))
		return kbp_log_fail(log, EINVAL, "log directory %s: O_DIRECT alignment %u is not "
				    "supported (largest is %u)", log->dir, a, KBP_LOG_DATA_OFF);
	log->align = a;
	return 0;
}

int kbp_log_spare_make(int dirfd, const char *dir, uint64_t total, int *fdp, char *msg, size_t msglen)
{
	uint64_t done = 0;
	int fd, zfd, rc;

	*fdp = -1;
	fd = openat(dirfd, KBP_LOG_SPARE_NAME, O_RDWR | O_CREAT | O_TRUNC | O_DIRECT | O_CLOEXEC, 0644);
	if (fd < 0 && errno == EINVAL) {
		snprintf(msg, msglen, "log directory %s: the filesystem does not support O_DIRECT (open "
			 "with O_DIRECT: Invalid argument); use ext4 or XFS", dir);
		return EINVAL;
	}
	if (fd < 0) {
		rc = errno;
		snprintf(msg, msglen, "log directory %s: cannot create %s: %s", dir, KBP_LOG_SPARE_NAME,
			 strerror(rc));
		return rc;
	}
	/*
	 * Reserve the extent first (early ENOSPC, contiguous blocks), then write real zeros:
	 * on ext4/XFS a data-sync O_DIRECT write into an unwritten extent costs a journal
	 * commit, into an already written block only a FUA write.
	 */
	if (fallocate(fd, 0, 0, (off_t)total) < 0 && errno != EOPNOTSUPP) {
		rc = errno;
		close(fd);
		snprintf(msg, msglen, "log directory %s: cannot preallocate a %llu-byte segment: %s", dir,
			 (unsigned long long)total, strerror(rc));
		return rc;
	}
	zfd = openat(dirfd, KBP_LOG_SPARE_NAME, O_WRONLY | O_CLOEXEC);
	if (zfd < 0) {
		rc = errno;
		close(fd);
		snprintf(msg, msglen, "log directory %s: cannot reopen %s: %s", dir, KBP_LOG_SPARE_NAME,
			 strerror(rc));
		return rc;
	}
	while (done < total) {
		size_t n = total - done < sizeof(kbp_log_zeros) ? total - done : sizeof(kbp_log_zeros);
		ssize_t w = pwrite(zfd, kbp_log_zeros, n, (off_t)done);

		if (w <= 0) {
			rc = w < 0 ? errno : ENOSPC;
			close(zfd);
			close(fd);
			snprintf(msg, msglen, "log directory %s: zero-filling a %llu-byte segment failed at "
				 "offset %llu: %s", dir, (unsigned long long)total, (unsigned long long)done,
				 strerror(rc));
			return rc;
		}
		done += (uint64_t)w;
	}
	rc = fdatasync(zfd) < 0 ? errno : 0;
	close(zfd);
	if (rc) {
		close(fd);
		snprintf(msg, msglen, "log directory %s: fdatasync of the new segment failed: %s", dir,
			 strerror(rc));
		return rc;
	}
	*fdp = fd;
	return 0;
}

int kbp_log_spare_make_named(const struct kbp_log *log, struct kbp_log_bg *bg)
{
	struct kbp_log_seg_hdr h = {
		.version = KBP_LOG_VERSION, .seq = bg->spare_seq, .promised = bg->spare_promised,
		.write_bytes_max = log->cfg.write_bytes_max, .align = log->align,
		.bytes = log->cfg.segment_bytes, .owner = log->owner,
	};
	struct kbp_log_ident_rec next = bg->ident;
	char name[64];
	int fd, rc;

	if ((rc = kbp_log_spare_make(log->dirfd, log->dir, log->cfg.segment_bytes, &fd, bg->spare_msg,
				     sizeof(bg->spare_msg))) != 0)
		return rc;
	memset(bg->hdr_block, 0, KBP_LOG_DATA_OFF);
	kbp_log_seg_hdr_encode(bg->hdr_block, &h);
	kbp_log_seg_name(name, h.seq);
	/* The header stays durable before the name: a crash leaves seg.tmp or a valid empty segment. */
	if (pwrite(fd, bg->hdr_block, KBP_LOG_DATA_OFF, 0) != (ssize_t)KBP_LOG_DATA_OFF || fdatasync(fd) < 0 ||
	    renameat(log->dirfd, KBP_LOG_SPARE_NAME, log->dirfd, name) < 0 || fsync(log->dirfd) < 0) {
		rc = errno ? errno : EIO;
		close(fd);
		snprintf(bg->spare_msg, sizeof(bg->spare_msg), "log %.300s: installing the next segment "
			 "%s failed: %s", log->dir, name, strerror(rc));
		return rc;
	}
	/* Recorded only after it exists: recovery accepts one unrecorded empty segment. */
	next.last_seq = h.seq;
	if ((rc = kbp_log_ident_write(log->dirfd, log->dir, &next, bg->spare_msg, sizeof(bg->spare_msg))) != 0) {
		close(fd);
		return rc;
	}
	bg->ident = next;
	bg->spare_fd = fd;
	return 0;
}

int kbp_log_spare_prepare(struct kbp_log *log)
{
	int fd, rc;

	assert(log->spare_fd < 0);
	if ((rc = kbp_log_spare_make(log->dirfd, log->dir, log->cfg.segment_bytes, &fd, log->err,
				     sizeof(log->err))) != 0)
		return -rc;
	if (log->align == 0 && (rc = probe_align(log, fd)) < 0) {
		close(fd);
		return rc;
	}
	log->spare_fd = fd;
	log->stats.segments_created++;
	return 0;
}

int kbp_log_spare_activate(struct kbp_log *log, uint64_t seq)
{
	struct kbp_log_seg_hdr h = {
		.version = KBP_LOG_VERSION, .seq = seq, .promised = log->promised,
		.write_bytes_max = log->cfg.write_bytes_max, .align = log->align,
		.bytes = log->cfg.segment_bytes, .owner = log->owner,
	};
	char name[64];
	int rc, fd = log->spare_fd;

	assert(!log->inflight && fd >= 0);
	if (log->nsegs == log->cfg.segments_max)
		return kbp_log_fail(log, ENOSPC, "log %s holds segments_max=%u segments: write a snapshot "
				    "so old segments can be deleted", log->dir, log->cfg.segments_max);
	assert(log->spare_seq == 0 || log->spare_seq == seq);
	kbp_log_seg_name(name, seq);
	/* A helper-made spare is installed already; its header is rewritten only if a promise
	 * was made since (every header must repeat the promised ballot). */
	if (log->spare_seq == 0 || log->spare_promised != log->promised) {
		memset(log->block, 0, KBP_LOG_DATA_OFF);
		kbp_log_seg_hdr_encode(log->block, &h);
		if (pwrite(fd, log->block, KBP_LOG_DATA_OFF, 0) != (ssize_t)KBP_LOG_DATA_OFF || fdatasync(fd) < 0) {
			rc = errno ? errno : EIO;
			return kbp_log_fail(log, rc, "log %s: writing the header of segment %llu failed: %s",
					    log->dir, (unsigned long long)seq, strerror(rc));
		}
	}
	if (log->spare_seq == 0 &&
	    (renameat(log->dirfd, KBP_LOG_SPARE_NAME, log->dirfd, name) < 0 || fsync(log->dirfd) < 0)) {
		rc = errno;
		return kbp_log_fail(log, rc, "log %s: installing %s failed: %s", log->dir, name, strerror(rc));
	}
	if (log->ring_ok && (rc = io_uring_register_files_update(&log->ring, 0, &fd, 1)) != 1) {
		rc = rc < 0 ? -rc : EIO;
		return kbp_log_fail(log, rc, "log %s: registering %s with io_uring failed: %s", log->dir,
				    name, strerror(rc));
	}
	if (log->seg_fd >= 0)
		close(log->seg_fd);
	log->seg_fd = fd;
	log->spare_fd = -1;
	log->spare_seq = 0;
	log->segs[log->nsegs++] = (struct kbp_log_seg){ .seq = seq, .slot_end = 0 };
	/* An empty write position: the first record goes right after the header block. */
	log->buf[log->cur].off = KBP_LOG_DATA_OFF;
	log->buf[log->cur].len = 0;
	log->buf[log->cur].carried = 0;
	return 0;
}

static int setup_ring(struct kbp_log *log)
{
	struct iovec iov[2];
	int rc;

	/*
	 * DEFER_TASKRUN: completions run only when this thread asks (io_uring_get_events in
	 * poll), so the owner's loop is never interrupted; it needs SINGLE_ISSUER.
	 */
	rc = io_uring_queue_init(8, &log->ring, IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN);
	if (rc == -EINVAL)
		rc = io_uring_queue_init(8, &log->ring, 0);
	if (rc < 0)
		return kbp_log_fail(log, -rc, "io_uring_queue_init failed: %s", strerror(-rc));
	log->ring_ok = true;
	for (int i = 0; i < 2; i++) {
		iov[i].iov_base = log->buf[i].data;
		iov[i].iov_len = log->cfg.write_bytes_max;
	}
	rc = io_uring_register_buffers(&log->ring, iov, 2);
	if (rc < 0)
		return kbp_log_fail(log, -rc, "io_uring_register_buffers (%u bytes each) failed: %s "
				    "(RLIMIT_MEMLOCK?)", log->cfg.write_bytes_max, strerror(-rc));
	rc = io_uring_register_files_sparse(&log->ring, 1);
	if (rc < 0)
		return kbp_log_fail(log, -rc, "io_uring_register_files_sparse failed: %s", strerror(-rc));
	return 0;
}

static void copy_err(char *err, size_t errlen, const char *msg)
{
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s", msg);
}

/* The directory, the segment table, and whose log it is (or that none is there yet). */
static int open_dir(struct kbp_log *log)
{
	const struct kbp_log_config *cfg = &log->cfg;
	int rc;

	log->dirfd = open(log->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (log->dirfd < 0) {
		int e = errno;

		return kbp_log_fail(log, e, "log directory %s: %s%s", log->dir, strerror(e),
				    e == ENOENT && !cfg->create ? ": no kbpaxos log there; the first start "
				    "of a cluster needs `kbpaxosd --init`, a node that lost its disk "
				    "`kbpaxosd --rebuild` (docs/DEPLOY.md)" : "");
	}
	log->segs = calloc(cfg->segments_max, sizeof(*log->segs));
	if (log->segs == NULL)
		return kbp_log_fail(log, ENOMEM, "log: out of memory for %u segments", cfg->segments_max);
	if (!cfg->read_only && (rc = kbp_log_check_fs(log)) < 0)
		return rc;
	return kbp_log_ident_open(log);
}

/* What a writer needs: buffers, the spare segment, the ring, the identity, the helper. */
static int open_writer(struct kbp_log *log)
{
	uint32_t wmax = log->cfg.write_bytes_max;
	int rc;

	if (faccessat(log->dirfd, ".", W_OK, AT_EACCESS) < 0)
		return kbp_log_fail(log, errno, "log directory %s: not writable: %s", log->dir, strerror(errno));
	/* Buffers aligned for O_DIRECT at the largest supported block and registered once. */
	log->block = aligned_alloc(KBP_LOG_DATA_OFF, KBP_LOG_DATA_OFF);
	for (int i = 0; i < 2; i++)
		log->buf[i].data = aligned_alloc(KBP_LOG_DATA_OFF, wmax);
	if (log->block == NULL || log->buf[0].data == NULL || log->buf[1].data == NULL)
		return kbp_log_fail(log, ENOMEM, "log: out of memory for 2 x %u-byte write buffers", wmax);
	memset(log->buf[0].data, 0, wmax);
	memset(log->buf[1].data, 0, wmax);
	/* A leftover temp snapshot is an interrupted snapshot_write: never installed, drop it. */
	unlinkat(log->dirfd, KBP_LOG_SNAP_TMP, 0);
	if ((rc = kbp_log_spare_prepare(log)) < 0)   /* also probes O_DIRECT and the alignment */
		return rc;
	if ((rc = setup_ring(log)) < 0)
		return rc;
	/* Last, so that a failed first start leaves no log behind and can simply be retried. */
	if (log->creating &&
	    (rc = kbp_log_ident_write(log->dirfd, log->dir, &log->ident, log->err, sizeof(log->err))) != 0)
		return -rc;
	if ((rc = kbp_log_bg_start(log)) < 0)
		return rc;
	log->stats.align_bytes = log->align;
	return 0;
}

int kbp_log_open(struct kbp_log **out, const struct kbp_log_config *cfg, char *err, size_t errlen)
{
	const char *why = check_config(cfg);
	struct kbp_log *log;
	int rc;

	*out = NULL;
	if (why != NULL) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "log config: %s", why);
		return -EINVAL;
	}
	log = calloc(1, sizeof(*log));
	if (log == NULL) {
		copy_err(err, errlen, "log: out of memory");
		return -ENOMEM;
	}
	log->cfg = *cfg;
	snprintf(log->dir, sizeof(log->dir), "%s", cfg->dir);
	log->cfg.dir = log->dir;
	log->dirfd = log->seg_fd = log->spare_fd = log->lock_fd = -1;
	if ((rc = open_dir(log)) < 0)
		goto fail;
	if (cfg->read_only)
		log->align = cfg->align_bytes ? cfg->align_bytes : KBP_LOG_SECTOR;
	else if ((rc = open_writer(log)) < 0)
		goto fail;
	*out = log;
	return 0;
fail:
	copy_err(err, errlen, log->err);
	if (log->spare_fd >= 0)
		unlinkat(log->dirfd, KBP_LOG_SPARE_NAME, 0);
	kbp_log_close(log);
	return rc;
}

void kbp_log_close(struct kbp_log *log)
{
	if (log == NULL)
		return;
	kbp_log_bg_stop(log);
	if (log->ring_ok) {
		uint64_t id;

		while (log->inflight && kbp_log_wait(log, &id) >= 0)
			;
		io_uring_queue_exit(&log->ring);
	}
	if (log->seg_fd >= 0)
		close(log->seg_fd);
	if (log->spare_fd >= 0)
		close(log->spare_fd);
	if (log->lock_fd >= 0)
		close(log->lock_fd);     /* releases the flock */
	if (log->dirfd >= 0)
		close(log->dirfd);
	free(log->buf[0].data);
	free(log->buf[1].data);
	free(log->block);
	free(log->segs);
	free(log);
}

void kbp_log_get_identity(const struct kbp_log *log, struct kbp_log_identity *out)
{
	*out = (struct kbp_log_identity){
		.cluster_id = log->owner.cluster_id, .node_id = log->owner.node_id,
		.config_digest = log->owner.config_digest, .first_seq = log->ident.first_seq,
		.last_seq = log->ident.last_seq, .snap_upto = log->ident.snap_upto,
	};
}

const char *kbp_log_strerror(const struct kbp_log *log)
{
	return log->err;
}

void kbp_log_get_stats(const struct kbp_log *log, struct kbp_log_stats *st)
{
	*st = log->stats;
	st->durable_id = log->durable_id;
	st->align_bytes = log->align;
}
