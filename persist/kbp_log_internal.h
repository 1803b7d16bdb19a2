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

/* seg-<seq, 16 hex digits>.log: the name of segment `seq` (63 bytes at most). */
static inline void kbp_log_seg_name(char name[64], uint64_t seq)
{
	snprintf(name, 64, "seg-%016" PRIx64 ".log", seq);
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
	uint32_t drop;               /* segments to delete, oldest first */
	uint32_t dropped;            /* result: the prefix actually deleted */
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
	struct kbp_log_snap_job snap;
	char spare_msg[512], snap_msg[512];
};

struct kbp_log {
	struct kbp_log_config cfg;
	char dir[PATH_MAX];
	int dirfd;
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
/* The file work of a snapshot (write, fsync, rename, delete what it replaces); 0 or errno. */
int kbp_log_snap_files(int dirfd, const char *dir, struct kbp_log_snap_job *job, char *msg,
		       size_t msglen);

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
