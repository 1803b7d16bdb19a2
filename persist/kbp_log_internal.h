/* SPDX-License-Identifier: MIT */
/* The log's state, shared by the files of persist/ and by nothing else. */
#ifndef KBP_LOG_INTERNAL_H
#define KBP_LOG_INTERNAL_H

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <pthread.h>
#include <liburing.h>

#include "kbp_log.h"
#include "kbp_log_format.h"

#define KBP_LOG_SPARE_NAME "seg.tmp"
#define KBP_LOG_SNAP_TMP "snap.tmp"
#define KBP_LOG_IDENT_NAME "kbpaxos.id"
#define KBP_LOG_IDENT_TMP "kbpaxos.id.tmp"
#define KBP_LOG_LOCK_NAME "kbpaxos.lock"

/* What a name in a log directory is (kbp_log_name_kind). */
enum kbp_log_name {
	KBP_NAME_SEG,                /* seg-<16 hex>.log, *v = seq */
	KBP_NAME_SNAP,               /* snap-<16 hex>.snap, *v = upto */
	KBP_NAME_IDENT,
	KBP_NAME_OURS,               /* the lock file, a temp file of ours, ".", ".." */
	KBP_NAME_LOST_FOUND,         /* a filesystem's own: a log may own a whole mount */
	KBP_NAME_OTHER,              /* not part of a kbpaxos log */
};
enum kbp_log_name kbp_log_name_kind(const char *name, uint64_t *v);

/* seg-<seq, 16 hex digits>.log: the name of segment `seq` (63 bytes at most). */
static inline void kbp_log_seg_name(char name[64], uint64_t seq)
{
	snprintf(name, 64, "seg-%016" PRIx64 ".log", seq);
}

/* snap-<upto, 16 hex digits>.snap. */
static inline void kbp_log_snap_name(char name[64], uint64_t upto)
{
	snprintf(name, 64, "snap-%016" PRIx64 ".snap", upto);
}
/* KBP_PERSIST_SNAPSHOT in consensus/kbp_node.h: a snapshot from a peer, value = image. */

/*
 * One group-commit write buffer.  data[0] lies at file offset `off` (block aligned);
 * bytes [0, carried) are the partial last block of the previous write, repeated so
 * that the write stays block aligned; bytes [carried, len) are new records.
 */
struct kbp_log_buf {
	uint8_t *data;               /* write_bytes_max bytes, registered as buffer index i */
	uint64_t off;
	uint32_t len;
	uint32_t carried;
	uint64_t last_id;            /* highest id framed here (or carried from before) */
};

struct kbp_log_seg {
	uint64_t seq;
	uint64_t slot_end;           /* highest accepted slot + 1; 0 if it holds no accept */
};

/* A snapshot being installed: what to write and which closed segments it makes redundant. */
struct kbp_log_snap_job {
	const void *buf;
	uint64_t len, upto;
	uint64_t old_upto;           /* the snapshot it replaces, 0 if none */
	uint64_t drop_first_seq;     /* the oldest segment */
	uint32_t drop;               /* segments it makes redundant, oldest first: the log
					then starts at drop_first_seq + drop */
	uint32_t unlinked;           /* result: files of those actually removed */
	int err;                     /* result: 0 or errno */
	uint64_t took_ns;            /* result */
};

enum { KBP_BG_SPARE = 1, KBP_BG_SNAP = 2 };

/* The helper thread (kbp_log_bg.c).  Job fields belong to whoever the done mask says. */
struct kbp_log_bg {
	pthread_t thread;
	bool running;
	pthread_mutex_t mu;
	pthread_cond_t wake, idle;
	unsigned todo;               /* under mu: jobs handed over, not finished */
	bool quit;                   /* under mu */
	unsigned done;               /* atomic: finished, not yet collected */
	int spare_fd, spare_err;
	uint64_t spare_seq, spare_promised;  /* the segment the spare becomes, its header's ballot */
	uint8_t *hdr_block;          /* KBP_LOG_DATA_OFF bytes, aligned for O_DIRECT */
	/*
	 * The identity file's content.  The owner fills it during recovery (before the first
	 * job); from then on only this thread reads or writes it, and each job updates its
	 * own fields (a spare: last_seq; a snapshot: snap_upto, first_seq) and rewrites the file.
	 */
	struct kbp_log_ident_rec ident;
	struct kbp_log_snap_job snap;
	char spare_msg[512], snap_msg[512];
};

struct kbp_log {
	struct kbp_log_config cfg;
	char dir[PATH_MAX];
	int dirfd;
	int lock_fd;                 /* kbpaxos.lock, flock'ed while open (-1 read_only) */
	struct kbp_log_owner owner;  /* set at open, then read-only (the helper reads it too) */
	struct kbp_log_ident_rec ident;  /* the identity file as read at open */
	bool creating;               /* cfg.create and no log yet: open writes the identity */
	uint32_t align;              /* O_DIRECT block: offsets and lengths are multiples */

	struct io_uring ring;
	bool ring_ok;
	struct kbp_log_buf buf[2];
	unsigned cur;                /* buffer being filled; buf[cur ^ 1] may be in flight */
	bool inflight;
	bool want_submit;            /* records in buf[cur] must leave as soon as possible */
	uint64_t inflight_len;
	uint64_t submit_ns;

	bool recovered;
	int stopped;                 /* 0, or the negative errno that stopped the log */
	uint64_t appended_id, durable_id;
	uint64_t reported_id;         /* durable_id as last returned by poll */
	uint64_t promised;           /* highest promise appended or recovered */
	uint64_t snap_upto;          /* slot bound of the installed snapshot, 0 if none */

	int seg_fd;                  /* current segment, O_DIRECT, registered as file 0 */
	int spare_fd;                /* preallocated spare segment (O_DIRECT), -1 if none */
	uint64_t spare_seq;          /* 0: the spare is KBP_LOG_SPARE_NAME, headerless; else it is
					already installed as seg-<spare_seq>.log, header written */
	uint64_t spare_promised;     /* the promised ballot in that header */
	uint8_t *block;              /* KBP_LOG_DATA_OFF aligned scratch bytes */
	struct kbp_log_seg *segs;    /* oldest first; segs[nsegs - 1] is current */
	uint32_t nsegs;

	struct kbp_log_stats stats;
	struct kbp_log_bg bg;
	unsigned bg_pending;         /* jobs handed to the helper and not yet collected */
	char err[512];
};

/* Formats the error into log->err and returns -errnum (errnum > 0). */
int kbp_log_fail(struct kbp_log *log, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Creates and zero-fills KBP_LOG_SPARE_NAME, leaving it open as log->spare_fd. */
int kbp_log_spare_prepare(struct kbp_log *log);
/*
 * The file work of the above, safe on the helper thread: opens (O_DIRECT), preallocates,
 * zero-fills and syncs the spare; *fd on success.  Returns 0 or an errno, with `msg` set.
 */
int kbp_log_spare_make(int dirfd, const char *dir, uint64_t bytes, int *fd, char *msg, size_t msglen);
/*
 * The helper's version: also writes the header of segment `seq` (promised ballot
 * `promised`) and installs the file under that name, so that a rollover needs no rename
 * and no directory fsync (those took up to 160 ms under load, past a lease).
 */
int kbp_log_spare_make_named(const struct kbp_log *log, struct kbp_log_bg *bg);
/* Makes sure log->spare_fd is ready, waiting for the helper if it is still making it. */
int kbp_log_spare_collect(struct kbp_log *log);
/*
 * The helper's snapshot work: write, fsync, rename; record it in the identity file;
 * then delete what it replaces.  0 or errno, with bg->snap_msg set.
 */
int kbp_log_snap_files(const struct kbp_log *log, struct kbp_log_bg *bg);

/* Refuses tmpfs and ramfs for a log that is written (its contents vanish at reboot). */
int kbp_log_check_fs(struct kbp_log *log);
/*
 * At open: finds the identity file (or, with cfg.create, checks there is no log yet),
 * takes the directory lock unless read_only, and loads and checks the identity.
 */
int kbp_log_ident_open(struct kbp_log *log);
/* Writes the identity file: temp, fsync, rename, directory fsync.  0 or errno, msg set. */
int kbp_log_ident_write(int dirfd, const char *dir, const struct kbp_log_ident_rec *r, char *msg,
			size_t msglen);
/* The files of a log directory as recovery found them (kbp_log_layout.c). */
struct kbp_log_layout {
	uint64_t *segs;              /* every seg-*.log, ascending */
	size_t nsegs;
	uint64_t *snaps;             /* every snap-*.snap, ascending */
	size_t nsnaps;
	size_t from, to;             /* segs[from, to) make up the log: first_seq..last_seq and
					at most one empty segment installed but not yet recorded */
};
/* Lists the directory and checks it against the identity file; refuses what is missing. */
int kbp_log_layout_read(struct kbp_log *log, struct kbp_log_layout *L);
void kbp_log_layout_free(struct kbp_log_layout *L);
/* Counts (and unless read_only removes) segments and snapshots outside the log. */
unsigned kbp_log_layout_leftovers(struct kbp_log *log, const struct kbp_log_layout *L);
/* Holds no record (a spare the helper made and named, never written)? */
bool kbp_log_seg_empty(const struct kbp_log *log, uint64_t seq);

/* Checks an owner read from a header against the log's; 0 or -EXDEV with the reason. */
int kbp_log_owner_check(struct kbp_log *log, const char *name, const struct kbp_log_owner *o);

int kbp_log_bg_start(struct kbp_log *log);
void kbp_log_bg_stop(struct kbp_log *log);
void kbp_log_bg_request(struct kbp_log *log, unsigned job);
/* The spare that will become segment `seq`, with the current promised ballot. */
void kbp_log_bg_request_spare(struct kbp_log *log, uint64_t seq);
bool kbp_log_bg_done(struct kbp_log *log, unsigned job);
void kbp_log_bg_wait(struct kbp_log *log, unsigned job);
void kbp_log_bg_collect(struct kbp_log *log, unsigned job);

/*
 * Turns the spare into segment `seq` (header, fdatasync, rename, fsync of the directory)
 * and makes it the current segment, registered with the ring.  Nothing may be in flight.
 */
int kbp_log_spare_activate(struct kbp_log *log, uint64_t seq);

uint64_t kbp_log_now_ns(void);

#endif
