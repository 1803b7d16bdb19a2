/* SPDX-License-Identifier: MIT */
/*
 * Recovery: replay the newest snapshot and every segment, oldest first; tell a torn tail
 * (discard it) from corruption (refuse to start).  Runs once at start-up, so it may
 * allocate and block.
 *
 * What a crash can leave (one write in flight, O_DIRECT, zero-preallocated segments that
 * are never reused, each session in a new segment):
 *  - zeros after the last record: the normal end;
 *  - a record whose CRC fails and whose share of some sector is all zeros: that sector
 *    of the last write never reached the disk (a torn write);
 *  - whole records after the tear, within one write's reach (write_bytes_max recorded in
 *    the segment header): sectors of the torn write that did land.  Never reported
 *    durable, so they are discarded with the tear.
 * Anything else is corruption: a CRC failure with every sector written (a flipped bit),
 * a gap followed by records further than one write, a dirty tail in a closed segment.
 * Before any of that, kbp_log_layout.c checks that every file the identity file names is
 * there; here each header must carry this log's identity and each file its full size.
 */
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kbp_log_internal.h"

struct scan {
	struct kbp_log *log;
	const struct kbp_log_recover_ops *ops;
	void *arg;
	struct kbp_log_recover_stats *st;
	uint8_t *buf;                /* one whole segment */
	size_t cap;
	uint64_t last_bytes;         /* size of the segment scanned last */
};

/* Reads a whole file relative to the log directory into s->buf; *len gets its size. */
static int read_file(struct scan *s, const char *name, size_t *len)
{
	struct kbp_log *log = s->log;
	int fd = openat(log->dirfd, name, O_RDONLY | O_CLOEXEC), rc;
	struct stat sb;
	size_t done = 0;

	if (fd < 0 || fstat(fd, &sb) < 0) {
		rc = errno;
		if (fd >= 0)
			close(fd);
		return kbp_log_fail(log, rc, "log %s: cannot read %s: %s", log->dir, name, strerror(rc));
	}
	if ((size_t)sb.st_size > s->cap) {
		uint8_t *p = realloc(s->buf, (size_t)sb.st_size);

		if (p == NULL) {
			close(fd);
			return kbp_log_fail(log, ENOMEM, "log: out of memory reading %s", name);
		}
		s->buf = p;
		s->cap = (size_t)sb.st_size;
	}
	while (done < (size_t)sb.st_size) {
		ssize_t r = pread(fd, s->buf + done, (size_t)sb.st_size - done, (off_t)done);

		if (r <= 0) {
			rc = r < 0 ? errno : EIO;
			close(fd);
			return kbp_log_fail(log, rc, "log %s: reading %s at offset %zu: %s", log->dir, name,
					    done, strerror(rc));
		}
		done += (size_t)r;
	}
	close(fd);
	*len = done;
	return 0;
}

static int load_snapshot(struct scan *s, uint64_t upto)
{
	struct kbp_log *log = s->log;
	struct kbp_log_snap_hdr h;
	char name[64];
	size_t len;
	int rc;

	kbp_log_snap_name(name, upto);
	if ((rc = read_file(s, name, &len)) < 0)
		return rc;
	if (len < KBP_LOG_HDR_SIZE || kbp_log_snap_hdr_decode(s->buf, &h) < 0)
		return kbp_log_fail(log, EBADMSG, "log %s: corruption in %s at offset 0: bad snapshot "
				    "header (magic or checksum)", log->dir, name);
	if (h.version != KBP_LOG_VERSION)
		return kbp_log_fail(log, EPROTONOSUPPORT, "log %s: %s was written by log format version %u; "
				    "this build reads version %u", log->dir, name, h.version, KBP_LOG_VERSION);
	if ((rc = kbp_log_owner_check(log, name, &h.owner)) < 0)
		return rc;
	if (h.upto != upto || h.len != len - KBP_LOG_HDR_SIZE)
		return kbp_log_fail(log, EBADMSG, "log %s: corruption in %s: header says %" PRIu64
				    " bytes up to slot %" PRIu64 ", file has %zu", log->dir, name, h.len,
				    h.upto, len - KBP_LOG_HDR_SIZE);
	/* Written as the log's new start (or later, see kbp_log_snap_files); never before it. */
	if (h.seq < log->ident.first_seq)
		return kbp_log_fail(log, EBADMSG, "log %s: %s was written when the log started at segment "
				    "%" PRIu64 ", but %s says %" PRIu64 ": segments in between are missing",
				    log->dir, name, h.seq, KBP_LOG_IDENT_NAME, log->ident.first_seq);
	if (kbp_crc32c(s->buf + KBP_LOG_HDR_SIZE, h.len) != h.payload_crc)
		return kbp_log_fail(log, EBADMSG, "log %s: corruption in %s at offset %u: snapshot "
				    "checksum mismatch", log->dir, name, KBP_LOG_HDR_SIZE);
	if (s->ops && s->ops->on_snapshot)
		s->ops->on_snapshot(s->arg, s->buf + KBP_LOG_HDR_SIZE, h.len, h.upto);
	if (s->st)
		s->st->snapshot_upto = upto;
	return 0;
}

static bool valid_at(const uint8_t *buf, size_t pos, size_t len)
{
	return kbp_log_rec_plausible(buf + pos, len - pos) && kbp_log_rec_crc_ok(buf + pos);
}

/*
 * Is some sector's share of [from, to) all zeros?  A sector of a torn write that never
 * landed still holds what was there before: zeros, since the record lay beyond the end
 * of everything written earlier (etcd's WAL makes the same test).
 */
static bool has_zero_chunk(const uint8_t *buf, size_t from, size_t to)
{
	size_t a = from;

	while (a < to) {
		size_t b = (a & ~(size_t)(KBP_LOG_SECTOR - 1)) + KBP_LOG_SECTOR, i = a;

		if (b > to)
			b = to;
		while (i < b && buf[i] == 0)
			i++;
		if (i == b)
			return true;
		a = b;
	}
	return false;
}

/* Zeroes the discarded tail on disk so no later scan can mistake it for records. */
static int zero_tail(struct kbp_log *log, const char *name, size_t from, size_t to)
{
	static const uint8_t zeros[4096];
	int fd = openat(log->dirfd, name, O_WRONLY | O_CLOEXEC), rc = 0;

	if (fd < 0)
		rc = errno;
	for (size_t p = from; rc == 0 && p < to;) {
		size_t n = to - p < sizeof(zeros) ? to - p : sizeof(zeros);
		ssize_t w = pwrite(fd, zeros, n, (off_t)p);

		if (w <= 0)
			rc = w < 0 ? errno : EIO;
		else
			p += (size_t)w;
	}
	if (rc == 0 && fdatasync(fd) < 0)
		rc = errno;
	if (fd >= 0)
		close(fd);
	if (rc)
		return kbp_log_fail(log, rc, "log %s: truncating the torn tail of %s at offset %zu: %s",
				    log->dir, name, from, strerror(rc));
	return 0;
}

static void replay(struct scan *s, const uint8_t *p, struct kbp_log_seg *seg)
{
	const struct kbp_log_recover_ops *ops = s->ops;
	struct kbp_persist r;

	kbp_log_rec_decode(p, &r);
	switch (r.type) {
	case KBP_PERSIST_PROMISE:
		if (r.ballot > s->log->promised)
			s->log->promised = r.ballot;
		if (ops && ops->on_promise)
			ops->on_promise(s->arg, r.ballot);
		break;
	case KBP_PERSIST_ACCEPT:
		if (r.slot + 1 > seg->slot_end)
			seg->slot_end = r.slot + 1;
		if (ops && ops->on_accept)
			ops->on_accept(s->arg, r.slot, r.ballot, r.count, r.value, r.len);
		break;
	default:
		assert(r.type == KBP_PERSIST_COMMIT);
		if (ops && ops->on_commit)
			ops->on_commit(s->arg, r.slot);
		break;
	}
	if (s->st) {
		s->st->records++;
		s->st->bytes += kbp_le32_load(p + 4);
	}
}

/* Decides what the bytes at pos (where records stop) are; 0 if a clean or torn end. */
static int judge_end(struct scan *s, const char *name, size_t len, size_t pos, bool last,
		     const struct kbp_log_seg_hdr *h)
{
	struct kbp_log *log = s->log;
	const uint8_t *buf = s->buf;
	bool zero = kbp_le64_load(buf + pos) == 0;
	bool plausible = !zero && kbp_log_rec_plausible(buf + pos, len - pos);
	size_t rec_end = plausible ? pos + kbp_le32_load(buf + pos + 4) : pos;
	size_t dirty_end = len, q;

	if (!zero && !plausible) {
		bool whole = len - pos >= KBP_LOG_REC_HDR;   /* only name fields that are there */
		return kbp_log_fail(log, EBADMSG, "log %s: corruption in %s at offset %zu: invalid record "
				    "header (size %u, type %u); refusing to start rather than forget an "
				    "accepted value", log->dir, name, pos,
				    whole ? kbp_le32_load(buf + pos + 4) : 0, whole ? buf[pos + 8] : 0);
	}
	if (plausible && !has_zero_chunk(buf, pos, rec_end))
		return kbp_log_fail(log, EBADMSG, "log %s: corruption in %s at offset %zu: checksum "
				    "mismatch in a %zu-byte record (type %u) whose sectors all "
				    "landed; refusing to start rather than forget an accepted value",
				    log->dir, name, pos, rec_end - pos, buf[pos + 8]);
	/* A zero header or a torn record: whole records may follow only inside the torn write. */
	for (q = pos + 8; q + KBP_LOG_REC_HDR <= len; q += 8) {
		if (kbp_le64_load(buf + q) != 0 && valid_at(buf, q, len)) {
			if (!last || q >= pos + h->write_bytes_max)
				return kbp_log_fail(log, EBADMSG, "log %s: corruption in %s at offset %zu: "
						    "%s, yet a record follows at offset %zu", log->dir,
						    name, pos, zero ? "zeros" : "a torn record", q);
			break;
		}
	}
	while (dirty_end > pos && buf[dirty_end - 1] == 0)
		dirty_end--;
	if (dirty_end == pos)
		return 0;   /* the normal end: zeros to the end of the segment */
	if (!last)
		return kbp_log_fail(log, EBADMSG, "log %s: corruption in %s at offset %zu: a closed "
				    "segment ends in %zu non-zero bytes that are not records", log->dir,
				    name, pos, dirty_end - pos);
	if (s->st) {
		s->st->torn_bytes = dirty_end - pos;
		snprintf(s->st->tail_note, sizeof(s->st->tail_note), "%s: torn tail of %zu bytes at offset "
			 "%zu %s", name, dirty_end - pos, pos, log->cfg.read_only ? "ignored" : "truncated");
	}
	if (!log->cfg.quiet)
		fprintf(stderr, "kbp_log: %s: torn tail of %zu bytes at offset %zu %s\n", log->dir,
			dirty_end - pos, pos, log->cfg.read_only ? "ignored (read-only)" : "truncated");
	return log->cfg.read_only ? 0 : zero_tail(log, name, pos, dirty_end);
}

/*
 * The newest segment holds no record (the helper made it ahead of a rollover): it is as
 * fresh as a new one, so this session writes there, under a header that repeats the
 * promised ballot.  The spare made at open is not needed: the helper makes the next.
 */
static int reuse_empty_segment(struct kbp_log *log, uint64_t seq)
{
	char name[64];
	int fd, rc;

	kbp_log_seg_name(name, seq);
	fd = openat(log->dirfd, name, O_RDWR | O_DIRECT | O_CLOEXEC);
	if (fd < 0)
		return kbp_log_fail(log, errno, "log %s: cannot reopen %s: %s", log->dir, name, strerror(errno));
	assert(log->nsegs > 0 && log->segs[log->nsegs - 1].seq == seq && log->spare_fd >= 0);
	close(log->spare_fd);
	unlinkat(log->dirfd, KBP_LOG_SPARE_NAME, 0);
	log->nsegs--;                        /* activation lists it again */
	log->spare_fd = fd;
	log->spare_seq = seq;
	log->spare_promised = UINT64_MAX;    /* always rewrite the header */
	rc = kbp_log_spare_activate(log, seq);
	if (rc < 0) {
		close(fd);
		log->spare_fd = -1;
		log->nsegs++;
	}
	return rc;
}

/* A segment shorter or longer than its header says: say how, and what is lost. */
static int wrong_size(struct scan *s, const char *name, size_t len, const struct kbp_log_seg_hdr *h)
{
	struct kbp_log *log = s->log;
	const uint8_t *buf = s->buf;
	size_t pos = KBP_LOG_DATA_OFF;

	if (len > h->bytes)
		return kbp_log_fail(log, EBADMSG, "log %s: %s is %zu bytes, but its header says %" PRIu64
				    ": extended or overwritten; refusing it", log->dir, name, len, h->bytes);
	if (len <= KBP_LOG_DATA_OFF)
		return kbp_log_fail(log, EBADMSG, "log %s: %s is truncated to its header (%zu of its %" PRIu64
				    " bytes are left): every record it held is gone; refusing to start "
				    "rather than forget them", log->dir, name, len, h->bytes);
	while (pos + KBP_LOG_REC_HDR <= len && valid_at(buf, pos, len))
		pos += kbp_le32_load(buf + pos + 4);
	if (pos == len)
		return kbp_log_fail(log, EBADMSG, "log %s: %s is truncated at a record boundary at offset "
				    "%zu (%zu of its %" PRIu64 " bytes are left): any record after it is gone; "
				    "refusing to start rather than forget them", log->dir, name, pos, len,
				    h->bytes);
	if (len - pos >= 8 && kbp_log_rec_plausible(buf + pos, UINT32_MAX) &&
	    kbp_le32_load(buf + pos + 4) > len - pos)
		return kbp_log_fail(log, EBADMSG, "log %s: %s is truncated mid-record at offset %zu: the "
				    "record needs %u bytes, %zu are present (the file is %zu bytes, its "
				    "header says %" PRIu64 "); refusing to start rather than forget it",
				    log->dir, name, pos, kbp_le32_load(buf + pos + 4), len - pos, len, h->bytes);
	return kbp_log_fail(log, EBADMSG, "log %s: %s is truncated to %zu of its %" PRIu64 " bytes, and "
			    "what is left is damaged at offset %zu; refusing it", log->dir, name, len,
			    h->bytes, pos);
}

/* The header of segment seq: ours, this format, this sequence number, the file's size. */
static int check_seg_header(struct scan *s, const char *name, uint64_t seq, size_t len,
			    struct kbp_log_seg_hdr *h)
{
	struct kbp_log *log = s->log;
	int rc;

	if (len < KBP_LOG_HDR_SIZE)
		return kbp_log_fail(log, EBADMSG, "log %s: %s is truncated to %zu bytes, shorter than its "
				    "header; refusing to start rather than forget what it held", log->dir,
				    name, len);
	if (kbp_log_seg_hdr_decode(s->buf, h) < 0)
		return kbp_log_fail(log, EBADMSG, "log %s: corruption in %s at offset 0: bad segment header "
				    "(magic or checksum)", log->dir, name);
	if (h->version != KBP_LOG_VERSION)
		return kbp_log_fail(log, EPROTONOSUPPORT, "log %s: %s was written by log format version %u; "
				    "this build reads version %u; refusing to start", log->dir, name,
				    h->version, KBP_LOG_VERSION);
	if (h->seq != seq)
		return kbp_log_fail(log, EBADMSG, "log %s: corruption in %s at offset 16: header names "
				    "segment %" PRIu64 " (renamed?)", log->dir, name, h->seq);
	if ((rc = kbp_log_owner_check(log, name, &h->owner)) < 0)
		return rc;
	if (len != h->bytes)
		return wrong_size(s, name, len, h);
	return 0;
}

static int scan_segment(struct scan *s, uint64_t seq, bool last)
{
	struct kbp_log *log = s->log;
	struct kbp_log_seg *seg = &log->segs[log->nsegs];
	struct kbp_log_seg_hdr h;
	char name[64];
	size_t len, pos;
	int rc;

	kbp_log_seg_name(name, seq);
	if ((rc = read_file(s, name, &len)) < 0 || (rc = check_seg_header(s, name, seq, len, &h)) < 0)
		return rc;
	s->last_bytes = len;
	*seg = (struct kbp_log_seg){ .seq = seq, .slot_end = 0 };
	log->nsegs++;
	if (s->ops && s->ops->on_segment)
		s->ops->on_segment(s->arg, seq);
	if (h.promised) {
		if (h.promised > log->promised)
			log->promised = h.promised;
		if (s->ops && s->ops->on_promise)
			s->ops->on_promise(s->arg, h.promised);
	}
	for (pos = KBP_LOG_DATA_OFF; pos + KBP_LOG_REC_HDR <= len && valid_at(s->buf, pos, len);)
		pos += kbp_le32_load(s->buf + pos + 4);
	/* Judge the end before replaying: a corrupt log replays nothing. */
	if (pos < len && (rc = judge_end(s, name, len, pos, last, &h)) < 0)
		return rc;
	for (size_t p = KBP_LOG_DATA_OFF; p < pos; p += kbp_le32_load(s->buf + p + 4))
		replay(s, s->buf + p, seg);
	if (s->st)
		s->st->segments++;
	return 0;
}

/*
 * Each session writes into a fresh segment (or an empty newest one), so every older one
 * is closed.  The identity file then records it, and from here on only the helper
 * thread writes that file: it gets its copy with the first job.
 */
static int start_session(struct kbp_log *log, const struct scan *s, const uint64_t *seqs, size_t n,
			 size_t tail_from)
{
	uint64_t cur;
	int rc;

	if (tail_from < n && s->last_bytes == log->cfg.segment_bytes)
		rc = reuse_empty_segment(log, seqs[n - 1]);
	else
		rc = kbp_log_spare_activate(log, n ? seqs[n - 1] + 1 : log->ident.first_seq);
	if (rc < 0)
		return rc;
	cur = log->segs[log->nsegs - 1].seq;
	log->ident.last_seq = cur;
	if ((rc = kbp_log_ident_write(log->dirfd, log->dir, &log->ident, log->err, sizeof(log->err))) != 0)
		return -rc;
	log->bg.ident = log->ident;          /* handed over by the mutex in the request */
	kbp_log_bg_request_spare(log, cur + 1);
	return 0;
}

int kbp_log_recover(struct kbp_log *log, const struct kbp_log_recover_ops *ops, void *arg,
		    struct kbp_log_recover_stats *stats)
{
	struct scan s = { .log = log, .ops = ops, .arg = arg, .st = stats };
	struct kbp_log_layout L;
	const uint64_t *seqs;
	size_t n, tail_from;
	unsigned leftovers;
	int rc;

	assert(!log->recovered);
	if (stats)
		memset(stats, 0, sizeof(*stats));
	if ((rc = kbp_log_layout_read(log, &L)) < 0)
		goto out;
	seqs = L.segs + L.from;
	n = L.to - L.from;
	if (n + 1 > log->cfg.segments_max) {
		rc = kbp_log_fail(log, ENOSPC, "log %s holds %zu segments; segments_max is %u", log->dir,
				  n, log->cfg.segments_max);
		goto out;
	}
	if (log->ident.snap_upto && (rc = load_snapshot(&s, log->ident.snap_upto)) < 0)
		goto out;
	log->snap_upto = log->ident.snap_upto;
	/*
	 * A torn tail is allowed in the segment written last: the newest one holding records.
	 * Empty segments after it are spares the helper installed ahead of a rollover.
	 */
	tail_from = n;
	while (tail_from > 1 && kbp_log_seg_empty(log, seqs[tail_from - 1]))
		tail_from--;
	for (size_t i = 0; i < n; i++)
		if ((rc = scan_segment(&s, seqs[i], i + 1 >= tail_from)) < 0)
			goto out;
	if (stats)
		stats->promised = log->promised;
	leftovers = kbp_log_layout_leftovers(log, &L);
	if (stats)
		stats->leftovers = leftovers;
	if (!log->cfg.read_only && (rc = start_session(log, &s, seqs, n, tail_from)) < 0)
		goto out;
	log->recovered = true;
out:
	kbp_log_layout_free(&L);
	free(s.buf);
	return rc;
}
