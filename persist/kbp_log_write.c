/* SPDX-License-Identifier: MIT */
/*
 * The hot path: append (frame into the next write's buffer), submit (group commit) and
 * poll (completions).  No allocation; the only blocking system calls are the few of a
 * segment rollover (header, rename, directory fsync): the helper thread zero-fills spares.
 *
 * Exactly one write is in flight.  Consecutive writes share their boundary block (the
 * partial last block is rewritten with the same bytes plus new records), and two
 * O_DIRECT writes to one block that are in flight together may land in either order:
 * the older could overwrite the newer and lose a durable record.  One write at a time
 * keeps every write ordered after the previous one without padding records to blocks;
 * the batch simply grows while the disk is busy, which is what group commit wants.
 */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "kbp_log_internal.h"

static uint32_t round_up(uint32_t n, uint32_t a)
{
	return (n + a - 1) & ~(a - 1);
}

static int stop(struct kbp_log *log, int rc)
{
	assert(rc < 0);
	if (log->stopped == 0)
		log->stopped = rc;
	return log->stopped;
}

static bool has_new(const struct kbp_log *log)
{
	const struct kbp_log_buf *b = &log->buf[log->cur];

	return b->len > b->carried;
}

static uint64_t cur_seq(const struct kbp_log *log)
{
	assert(log->nsegs > 0);
	return log->segs[log->nsegs - 1].seq;
}

/* Starts the write of buf[cur] and moves filling to the other buffer. */
static int start_write(struct kbp_log *log)
{
	struct kbp_log_buf *b = &log->buf[log->cur], *next = &log->buf[log->cur ^ 1];
	uint32_t wlen = round_up(b->len, log->align), tail;
	struct io_uring_sqe *sqe;
	int rc;

	assert(!log->inflight && b->len > b->carried);
	assert(b->off % log->align == 0 && wlen <= log->cfg.write_bytes_max);
	assert(b->off + wlen <= log->cfg.segment_bytes);
	/* Bytes past the last record up to the block end must be zero: recovery stops there. */
	memset(b->data + b->len, 0, wlen - b->len);
	sqe = io_uring_get_sqe(&log->ring);
	assert(sqe != NULL);   /* the ring has 8 entries and this is the only request */
	io_uring_prep_write_fixed(sqe, 0, b->data, wlen, b->off, (int)log->cur);
	sqe->flags |= IOSQE_FIXED_FILE;
	sqe->rw_flags = RWF_DSYNC;   /* FUA on the data: durable when the CQE arrives */
	sqe->user_data = b->last_id;
	log->submit_ns = kbp_log_now_ns();
	rc = io_uring_submit(&log->ring);
	if (rc != 1)
		return stop(log, kbp_log_fail(log, rc < 0 ? -rc : EIO, "log %s: io_uring_submit of a "
					      "%u-byte write failed: %s", log->dir, wlen,
					      strerror(rc < 0 ? -rc : EIO)));
	log->inflight = true;
	log->inflight_len = wlen;
	log->want_submit = false;

	/* The next write starts at the partial last block, carrying its bytes (< align). */
	tail = b->len & ~(log->align - 1);
	next->off = b->off + tail;
	next->len = next->carried = b->len - tail;
	memcpy(next->data, b->data + tail, next->len);
	next->last_id = b->last_id;
	log->cur ^= 1;
	return 0;
}

static int complete(struct kbp_log *log, const struct io_uring_cqe *cqe)
{
	const struct kbp_log_buf *b = &log->buf[log->cur ^ 1];
	int res = cqe->res;
	uint64_t id = cqe->user_data;

	assert(log->inflight);
	log->inflight = false;
	if (res < 0)
		return stop(log, kbp_log_fail(log, -res, "log %s: write of %llu bytes at offset %llu of "
					      "seg-%016llx.log failed: %s; the log is stopped, nothing "
					      "after id %llu is durable", log->dir,
					      (unsigned long long)log->inflight_len,
					      (unsigned long long)b->off, (unsigned long long)cur_seq(log),
					      strerror(-res), (unsigned long long)log->durable_id));
	if ((uint64_t)res != log->inflight_len)
		return stop(log, kbp_log_fail(log, EIO, "log %s: short write (%d of %llu bytes) at offset "
					      "%llu of seg-%016llx.log; the log is stopped, nothing after "
					      "id %llu is durable", log->dir, res,
					      (unsigned long long)log->inflight_len,
					      (unsigned long long)b->off, (unsigned long long)cur_seq(log),
					      (unsigned long long)log->durable_id));
	assert(id >= log->durable_id);
	log->durable_id = id;
	log->stats.writes++;
	log->stats.write_bytes += log->inflight_len;
	log->stats.last_write_ns = kbp_log_now_ns() - log->submit_ns;
	return 1;
}


/*
 * Closes the current segment and continues in the spare; the helper thread makes the
 * next spare meanwhile (a segment takes far longer to fill than a spare to make, so the
 * owner waits for it only on a disk that cannot keep up anyway: stats.helper_waits).
 */
static int rollover(struct kbp_log *log)
{
	uint64_t t0 = kbp_log_now_ns();
	int rc;

	assert(!log->inflight && !has_new(log));
	if ((rc = kbp_log_spare_collect(log)) < 0)
		return stop(log, rc);
	if ((rc = kbp_log_spare_activate(log, cur_seq(log) + 1)) < 0)
		return stop(log, rc);
	kbp_log_bg_request_spare(log, cur_seq(log) + 1);
	log->stats.rollovers++;
	log->stats.last_rollover_ns = kbp_log_now_ns() - t0;
	return 0;
}

/*
 * A snapshot received from a peer (KBP_PERSIST_SNAPSHOT) is installed as the snapshot
 * file, in id order: once every earlier record is durable, synchronously.  Rare (a
 * node that fell behind) and too large for a group-commit buffer.
 */
static int append_snapshot(struct kbp_log *log, const struct kbp_persist *req)
{
	int rc;

	if (kbp_log_busy(log)) {
		log->want_submit = log->want_submit || has_new(log);
		if (!log->inflight && has_new(log) && (rc = start_write(log)) < 0)
			return rc;
		log->stats.eagain++;
		return -EAGAIN;
	}
	if ((rc = kbp_log_snapshot_write(log, req->value, req->len, req->slot)) < 0)
		return rc;
	/* Nothing is in flight or pending, so every id up to this one is now durable. */
	log->buf[log->cur].last_id = req->id;
	log->appended_id = log->durable_id = req->id;
	log->stats.appends++;
	return 0;
}

int kbp_log_append(struct kbp_log *log, const struct kbp_persist *req)
{
	uint32_t size;
	struct kbp_log_buf *b;
	struct kbp_log_seg *seg;
	int rc;

	assert(log->recovered && !log->cfg.read_only);
	assert(req->id > log->appended_id);
	assert(req->len == 0 || req->value != NULL);
	if (log->stopped)
		return log->stopped;
	if (req->type == KBP_PERSIST_SNAPSHOT)
		return append_snapshot(log, req);
	if (req->type < KBP_PERSIST_PROMISE || req->type > KBP_PERSIST_COMMIT)
		return kbp_log_fail(log, EINVAL, "log: unknown persist type %u", req->type);
	if (req->len > KBP_LOG_REC_LEN_MAX ||
	    kbp_log_rec_size(req->len) > log->cfg.write_bytes_max - log->align)
		return kbp_log_fail(log, EMSGSIZE, "log: a %u-byte record does not fit in one write "
				    "(write_bytes_max %u)", req->len, log->cfg.write_bytes_max);
	size = kbp_log_rec_size(req->len);
	b = &log->buf[log->cur];
	if (b->off + b->len + size > log->cfg.segment_bytes) {
		if (has_new(log) || log->inflight) {
			log->want_submit = has_new(log) || log->want_submit;
			if (!log->inflight && (rc = start_write(log)) < 0)
				return rc;
			log->stats.eagain++;
			return -EAGAIN;
		}
		if ((rc = rollover(log)) < 0)
			return rc;
		b = &log->buf[log->cur];
	}
	if (b->len + size > log->cfg.write_bytes_max) {
		/* The buffer holds new records (size <= write_bytes_max - align > carried). */
		assert(has_new(log));
		log->want_submit = true;
		if (!log->inflight && (rc = start_write(log)) < 0)
			return rc;
		log->stats.eagain++;
		return -EAGAIN;
	}
	kbp_log_rec_encode(b->data + b->len, req);
	b->len += size;
	b->last_id = req->id;
	log->appended_id = req->id;
	seg = &log->segs[log->nsegs - 1];
	if (req->type == KBP_PERSIST_ACCEPT && req->slot + 1 > seg->slot_end)
		seg->slot_end = req->slot + 1;
	if (req->type == KBP_PERSIST_PROMISE && req->ballot > log->promised)
		log->promised = req->ballot;
	log->stats.appends++;
	log->stats.append_bytes += size;
	return 0;
}

int kbp_log_submit(struct kbp_log *log)
{
	if (log->stopped)
		return log->stopped;
	if (!has_new(log))
		return 0;
	log->want_submit = true;
	if (log->inflight)
		return 0;
	return start_write(log);
}

static int reap(struct kbp_log *log, bool block)
{
	struct io_uring_cqe *cqe;
	int rc;

	if (!log->inflight)
		return 0;
	if (block) {
		rc = io_uring_wait_cqe(&log->ring, &cqe);
		if (rc == -EINTR)
			return 0;
	} else {
		/* With DEFER_TASKRUN a completion is posted only when we ask for it. */
		if (log->ring.flags & IORING_SETUP_DEFER_TASKRUN)
			io_uring_get_events(&log->ring);
		rc = io_uring_peek_cqe(&log->ring, &cqe);
		if (rc == -EAGAIN)
			return 0;
	}
	if (rc < 0)
		return stop(log, kbp_log_fail(log, -rc, "log %s: waiting for a write completion failed: %s",
					      log->dir, strerror(-rc)));
	rc = complete(log, cqe);
	io_uring_cqe_seen(&log->ring, cqe);
	return rc;
}

static int poll_or_wait(struct kbp_log *log, uint64_t *durable_id, bool block)
{
	if (!log->stopped && reap(log, block) >= 0 && !log->inflight && log->want_submit && has_new(log))
		start_write(log);
	*durable_id = log->durable_id;
	if (log->stopped)
		return log->stopped;
	if (log->durable_id == log->reported_id)
		return 0;
	log->reported_id = log->durable_id;
	return 1;
}

int kbp_log_poll(struct kbp_log *log, uint64_t *durable_id)
{
	return poll_or_wait(log, durable_id, false);
}

int kbp_log_wait(struct kbp_log *log, uint64_t *durable_id)
{
	return poll_or_wait(log, durable_id, true);
}

bool kbp_log_busy(const struct kbp_log *log)
{
	return log->inflight || has_new(log);
}
