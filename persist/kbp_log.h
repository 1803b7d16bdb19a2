/* SPDX-License-Identifier: MIT */
/*
 * kbp_log: the acceptor's durable log.  One directory per node holds preallocated segment
 * files of CRC32C-framed records (promise, accept, commit), at most one current
 * snapshot, and an identity file that says whose log it is (cluster, node, config
 * digest) and which segments and snapshot make it up.  Writes go through io_uring with O_DIRECT and RWF_DSYNC; everything appended
 * between two writes leaves in one write (group commit) and the owner learns
 * "durable up to id" by polling, never blocking.  Format: docs/PERSIST.md.
 *
 * Lifecycle, all on one thread (the ring is IORING_SETUP_SINGLE_ISSUER):
 *   kbp_log_open -> kbp_log_recover (exactly once) ->
 *     loop { kbp_log_append ...; kbp_log_submit; kbp_log_poll -> kbp_node_persisted }
 *   -> kbp_log_close
 * append/submit/poll never allocate and never block (except a segment rollover, which
 * waits for the helper thread if the next spare segment is not ready; docs/PERSIST.md).
 *
 * Return values: 0 (or a count) on success, a negative errno on failure, with a sentence
 * in kbp_log_strerror() that names the file and offset where there is one.
 *   -EINVAL      bad config or argument; filesystem without O_DIRECT; tmpfs or ramfs
 *   -ENOENT      open: no log in the directory (or no directory) and cfg.create is not set
 *   -EEXIST      open with cfg.create: the directory already holds a log
 *   -ENOTEMPTY   the directory holds files that are not part of a kbpaxos log
 *   -EBUSY       open: another process (a node, a tool writing) has the log open
 *   -EXDEV       the log belongs to another cluster or node, or to another config digest
 *   -ENOTDIR, -EACCES ...   the directory (from the system call)
 *   -ENOSPC      disk full while preallocating a segment or writing a snapshot
 *   -EAGAIN      append: the next write's buffer (or segment) is full; poll/wait, retry
 *   -EMSGSIZE    append: one record larger than a write can hold
 *   -EBADMSG     recovery: checksum or framing failure before the tail (corruption); a
 *                segment missing, of the wrong size or from elsewhere; a missing snapshot
 *   -EPROTONOSUPPORT  the log was written by another format version (newer, or 1)
 *   -EIO (or the write's own errno)  a write failed or was short: the log is stopped
 */
#ifndef KBP_LOG_H
#define KBP_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kbp_node.h"

struct kbp_log;

struct kbp_log_config {
	const char *dir;             /* existing directory; must support O_DIRECT, not tmpfs */
	/* Whose log (docs/PERSIST.md "Identity"): written into every header, checked at open. */
	uint32_t cluster_id;         /* [cluster] id */
	uint32_t node_id;            /* this node */
	uint64_t config_digest;      /* kbp_config_digest() of the cluster config */
	/*
	 * A first start (kbpaxosd --init) or a rebuild (--rebuild): make a new, empty log in
	 * a directory that holds none (empty but for lost+found).  Without it, a directory
	 * with no log is an error, never a blank acceptor; with it, one that holds a log is.
	 */
	bool create;
	bool adopt_identity;         /* read_only tools: take cluster, node, digest from the log */
	uint64_t segment_bytes;      /* segment file size, multiple of 4096, >= 64 KiB */
	uint32_t write_bytes_max;    /* largest single group-commit write, multiple of 4096 */
	uint32_t segments_max;       /* segments kept before a snapshot must truncate (bounds memory) */
	uint32_t align_bytes;        /* O_DIRECT block; 0 = ask statx (STATX_DIOALIGN), else 512..4096 */
	bool read_only;              /* dump/verify: no O_DIRECT, no ring, recovery changes nothing */
	bool quiet;                  /* do not print recovery notes (torn tail) on stderr */
};

/* 64 MiB segments, 1 MiB writes, 4096 segments, statx alignment. dir must still be set. */
void kbp_log_config_default(struct kbp_log_config *cfg);

/*
 * Checks the config and the directory, reads the identity file and compares it with
 * cfg (or, with cfg.create, makes sure there is none and writes one), locks the
 * directory (flock on kbpaxos.lock, held until kbp_log_close; not taken read_only),
 * probes O_DIRECT and the alignment, allocates and registers every buffer, and (unless
 * read_only) preallocates the spare segment by writing zeros.  On failure *out is NULL
 * and err (if not NULL) holds the reason.
 */
int kbp_log_open(struct kbp_log **out, const struct kbp_log_config *cfg, char *err, size_t errlen);

/* Recovery callbacks, called oldest first.  Buffers are valid only during the call. */
struct kbp_log_recover_ops {
	void (*on_segment)(void *arg, uint64_t seq);   /* before the records of segment seq */
	void (*on_snapshot)(void *arg, const uint8_t *buf, uint64_t len, uint64_t upto_slot);
	void (*on_promise)(void *arg, uint64_t ballot);
	void (*on_accept)(void *arg, uint64_t slot, uint64_t ballot, uint32_t count,
			  const uint8_t *value, uint32_t len);
	void (*on_commit)(void *arg, uint64_t slot);
};

struct kbp_log_recover_stats {
	uint32_t segments;           /* segment files read */
	uint64_t records;            /* records replayed */
	uint64_t bytes;              /* record bytes replayed */
	uint64_t promised;           /* highest promised ballot seen */
	uint64_t snapshot_upto;      /* 0 if there was no snapshot */
	uint64_t torn_bytes;         /* bytes discarded after the last whole record */
	char tail_note[160];         /* what was truncated, empty if nothing */
	uint32_t leftovers;          /* files an interrupted snapshot left (ignored; removed unless read_only) */
};

/*
 * First checks that the directory holds the whole log its identity file describes:
 * every segment from first_seq to last_seq, each with this log's identity and its full
 * size, and the snapshot it starts from; anything else is refused, naming the file.
 * Then replays that snapshot, then every record, oldest first.  A torn or zero-filled
 * tail after the last whole record of the newest segment is discarded (zeroed on disk
 * unless read_only) and described in stats->tail_note (and on stderr unless quiet).
 * Then (unless read_only) a fresh segment is made current: each session writes into a
 * new segment, so a segment is closed once a later one exists.  ops, arg, stats may be
 * NULL (any callback may be NULL).  Must be called once, before the first append.
 */
int kbp_log_recover(struct kbp_log *log, const struct kbp_log_recover_ops *ops, void *arg,
		    struct kbp_log_recover_stats *stats);

/*
 * Frames one record (header + CRC32C) straight into the buffer of the next write.
 * req->id must be larger than the previous append's id.  -EAGAIN: the next write's
 * buffer or the segment is full; call kbp_log_submit and kbp_log_poll (or kbp_log_wait)
 * and append again.  The value bytes are copied now; the caller may reuse them.
 * Type 4 (KBP_PERSIST_SNAPSHOT, a snapshot from a peer covering slots < req->slot) is
 * installed as the snapshot file instead: -EAGAIN until every earlier record is durable,
 * then synchronously (kbp_log_snapshot_write), and its id is durable on return.
 */
int kbp_log_append(struct kbp_log *log, const struct kbp_persist *req);

/*
 * Asks for everything appended so far to be written.  Exactly one write is in flight
 * at a time: if one is, the records leave in the next write, started by the poll that
 * sees the current one complete.  Returns 0 or the stopped log's error.
 */
int kbp_log_submit(struct kbp_log *log);

/*
 * Non-blocking: reaps a completed write, starts the next pending one, and stores in
 * *durable_id the highest appended id that is on stable storage (every id at or below
 * it is durable).  Returns 1 if *durable_id advanced, 0 if not, or a negative errno
 * once the log has stopped (a failed or short write; nothing after it is ever reported).
 */
int kbp_log_poll(struct kbp_log *log, uint64_t *durable_id);

/* Blocks until the write in flight (if any) completes, then polls.  For tools and tests. */
int kbp_log_wait(struct kbp_log *log, uint64_t *durable_id);

/* True while a write is in flight or appended records wait for one. */
bool kbp_log_busy(const struct kbp_log *log);

/*
 * Atomically installs a state-machine snapshot covering slots < upto_slot (temp file,
 * fsync, rename, fsync the directory), removes older snapshots, then deletes closed
 * segments whose accepted slots are all below upto_slot.  Blocking (it first waits for a
 * snapshot begun below).  The promised ballot survives: every segment header repeats it.
 */
int kbp_log_snapshot_write(struct kbp_log *log, const void *buf, uint64_t len, uint64_t upto_slot);

/*
 * The same on the log's helper thread, for a server that must keep answering meanwhile.
 * `buf` must stay unchanged until kbp_log_snapshot_poll() reports the outcome.  Returns 0
 * when started, -EBUSY while another is being written, -EINVAL for an older snapshot.
 */
int kbp_log_snapshot_begin(struct kbp_log *log, const void *buf, uint64_t len, uint64_t upto_slot);
/*
 * 1: the begun snapshot is installed (*upto_slot, *took_ns set); 0: none finished; a
 * negative errno: it failed (kbp_log_strerror; the previous snapshot and the log are
 * intact, the log keeps working).  Never blocks.
 */
int kbp_log_snapshot_poll(struct kbp_log *log, uint64_t *upto_slot, uint64_t *took_ns);
bool kbp_log_snapshot_busy(const struct kbp_log *log);

/* Stops using the log; waits for a write in flight.  NULL is allowed. */
void kbp_log_close(struct kbp_log *log);

/* Whose log this is, and the segments and snapshot that make it up (as at open/recovery). */
struct kbp_log_identity {
	uint32_t cluster_id, node_id;
	uint64_t config_digest;
	uint64_t first_seq, last_seq;     /* oldest and newest segment; last 0: none yet */
	uint64_t snap_upto;               /* the snapshot the log starts from, 0 if none */
};
void kbp_log_get_identity(const struct kbp_log *log, struct kbp_log_identity *out);

/* The last error as a sentence ("" if none). */
const char *kbp_log_strerror(const struct kbp_log *log);

/* Counters for telemetry and the bench tool. */
struct kbp_log_stats {
	uint64_t appends, append_bytes;
	uint64_t writes, write_bytes;     /* completed writes, bytes written (block-rounded) */
	uint64_t eagain;                  /* appends refused because the next write was full */
	uint64_t segments_created, segments_deleted;
	uint64_t helper_waits;             /* times the owner waited for the helper thread */
	uint64_t rollovers, last_rollover_ns; /* segment switches; how long the last one blocked */
	uint64_t last_write_ns;           /* submit-to-completion time of the latest write */
	uint32_t align_bytes;             /* O_DIRECT block in use */
	uint64_t durable_id;
};
void kbp_log_get_stats(const struct kbp_log *log, struct kbp_log_stats *st);

#endif
