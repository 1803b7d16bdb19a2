/* SPDX-License-Identifier: MIT */
/*
 * Which files make up the log: the identity file names the segments (first_seq to
 * last_seq) and the snapshot the log starts from; recovery refuses a directory where one
 * of them is missing, where a segment lies beyond them holding records, or where a name
 * is not part of a kbpaxos log.  A segment or snapshot file is never skipped silently:
 * the only files outside the recorded log are those a crash can leave, and each is
 * accounted for below.
 *
 * What an interrupted step leaves (each step records in the identity file only after
 * the files it names exist, and deletes files only after the identity file stops
 * naming them):
 *  - a new segment installed, identity not yet updated: one segment last_seq + 1, empty;
 *  - a snapshot renamed into place, identity not yet updated: a newer snap-*.snap that
 *    was never reported installed (ignored: the log it would replace is all there);
 *  - a snapshot recorded, its predecessors not yet deleted: segments below first_seq
 *    and an older snap-*.snap, all covered by the recorded snapshot.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kbp_log_internal.h"

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int push(uint64_t **v, size_t *n, size_t *cap, uint64_t x)
{
	if (*n == *cap) {
		size_t c = *cap ? 2 * *cap : 64;
		uint64_t *p = realloc(*v, c * sizeof(*p));

		if (p == NULL)
			return -1;
		*v = p;
		*cap = c;
	}
	(*v)[(*n)++] = x;
	return 0;
}

/* Every segment and snapshot, sorted; any name that is not part of a log is refused. */
static int list_dir(struct kbp_log *log, struct kbp_log_layout *L)
{
	int fd = dup(log->dirfd), rc = 0;
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	size_t segcap = 0, snapcap = 0;
	struct dirent *e;
	uint64_t v;

	if (d == NULL) {
		rc = errno;
		if (fd >= 0)
			close(fd);
		return kbp_log_fail(log, rc, "log directory %s: cannot list: %s", log->dir, strerror(rc));
	}
	rewinddir(d);                        /* a dup shares the offset of an earlier listing */
	while (rc == 0 && (e = readdir(d)) != NULL) {
		switch (kbp_log_name_kind(e->d_name, &v)) {
		case KBP_NAME_SEG:
			if (push(&L->segs, &L->nsegs, &segcap, v) < 0)
				rc = kbp_log_fail(log, ENOMEM, "log: out of memory listing %s", log->dir);
			break;
		case KBP_NAME_SNAP:
			if (push(&L->snaps, &L->nsnaps, &snapcap, v) < 0)
				rc = kbp_log_fail(log, ENOMEM, "log: out of memory listing %s", log->dir);
			break;
		case KBP_NAME_OTHER:
			rc = kbp_log_fail(log, ENOTEMPTY, "log directory %s holds '%s', which is not part of a "
					  "kbpaxos log: a log needs a directory of its own (move it away)",
					  log->dir, e->d_name);
			break;
		default:
			break;
		}
	}
	closedir(d);
	if (rc == 0 && L->nsegs > 1)
		qsort(L->segs, L->nsegs, sizeof(*L->segs), cmp_u64);
	if (rc == 0 && L->nsnaps > 1)
		qsort(L->snaps, L->nsnaps, sizeof(*L->snaps), cmp_u64);
	return rc;
}

bool kbp_log_seg_empty(const struct kbp_log *log, uint64_t seq)
{
	char name[64];
	uint8_t first[8];
	bool empty = false;
	int fd;

	kbp_log_seg_name(name, seq);
	fd = openat(log->dirfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;            /* scan_segment reports it */
	if (pread(fd, first, sizeof(first), KBP_LOG_DATA_OFF) == (ssize_t)sizeof(first))
		empty = kbp_le64_load(first) == 0;
	close(fd);
	return empty;
}

/* Segment seq is missing; `later` says whether any recorded segment after it is there. */
static int missing_segment(struct kbp_log *log, uint64_t seq, bool later)
{
	const struct kbp_log_ident_rec *id = &log->ident;
	char name[64], last[64];

	kbp_log_seg_name(name, seq);
	kbp_log_seg_name(last, id->last_seq);
	if (!later && seq == id->last_seq)
		return kbp_log_fail(log, EBADMSG, "log %s: the newest segment %s is missing (%s records "
				    "segments %" PRIu64 "..%" PRIu64 "): deleted? it may hold the latest "
				    "promises and accepts; refusing to start without it", log->dir, name,
				    KBP_LOG_IDENT_NAME, id->first_seq, id->last_seq);
	if (!later)
		return kbp_log_fail(log, EBADMSG, "log %s: the newest segments %s to %s are missing (%s "
				    "records segments %" PRIu64 "..%" PRIu64 "): deleted? they may hold the "
				    "latest promises and accepts; refusing to start without them", log->dir,
				    name, last, KBP_LOG_IDENT_NAME, id->first_seq, id->last_seq);
	return kbp_log_fail(log, EBADMSG, "log %s: %s is missing (%s records segments %" PRIu64 "..%"
			    PRIu64 "): a gap in the log; refusing to start rather than forget what it "
			    "held", log->dir, name, KBP_LOG_IDENT_NAME, id->first_seq, id->last_seq);
}

/* segs[from, to) must be exactly first_seq..last_seq, then at most one empty extra. */
static int check_segments(struct kbp_log *log, struct kbp_log_layout *L)
{
	const struct kbp_log_ident_rec *id = &log->ident;
	size_t i = 0;
	char name[64];

	while (i < L->nsegs && L->segs[i] < id->first_seq)
		i++;
	L->from = i;
	for (uint64_t seq = id->first_seq; id->last_seq != 0 && seq <= id->last_seq; seq++, i++)
		if (i == L->nsegs || L->segs[i] != seq)
			return missing_segment(log, seq, i < L->nsegs && L->segs[i] <= id->last_seq);
	if (i < L->nsegs && L->segs[i] == id->last_seq + 1 && kbp_log_seg_empty(log, L->segs[i]))
		i++;                         /* installed, not yet recorded: never written to */
	L->to = i;
	if (i < L->nsegs) {
		kbp_log_seg_name(name, L->segs[i]);
		return kbp_log_fail(log, EBADMSG, "log %s: %s lies beyond the newest segment %s records "
				    "(%" PRIu64 ") and %s: a file from elsewhere? refusing it", log->dir,
				    name, KBP_LOG_IDENT_NAME, id->last_seq,
				    L->segs[i] == id->last_seq + 1 ? "holds records" : "is not the next one");
	}
	return 0;
}

static int check_snapshot(struct kbp_log *log, const struct kbp_log_layout *L)
{
	const struct kbp_log_ident_rec *id = &log->ident;
	char name[64];

	if (id->snap_upto == 0 ||
	    (L->nsnaps > 0 && bsearch(&id->snap_upto, L->snaps, L->nsnaps, sizeof(*L->snaps), cmp_u64)))
		return 0;
	kbp_log_snap_name(name, id->snap_upto);
	return kbp_log_fail(log, EBADMSG, "log %s: %s is missing: %s says the log starts from that "
			    "snapshot (the segments before seg %" PRIu64 " were deleted when it was "
			    "written); refusing to start without the state it held", log->dir, name,
			    KBP_LOG_IDENT_NAME, id->first_seq);
}

int kbp_log_layout_read(struct kbp_log *log, struct kbp_log_layout *L)
{
	int rc;

	memset(L, 0, sizeof(*L));
	if ((rc = list_dir(log, L)) < 0 || (rc = check_segments(log, L)) < 0 ||
	    (rc = check_snapshot(log, L)) < 0)
		return rc;
	return 0;
}

void kbp_log_layout_free(struct kbp_log_layout *L)
{
	free(L->segs);
	free(L->snaps);
	memset(L, 0, sizeof(*L));
}

/* Files outside the recorded log (see the top of this file); removed unless read_only. */
unsigned kbp_log_layout_leftovers(struct kbp_log *log, const struct kbp_log_layout *L)
{
	unsigned n = 0, removed = 0;
	char name[64];

	for (size_t i = 0; i < L->from + L->nsnaps; i++) {
		bool seg = i < L->from;

		if (!seg && L->snaps[i - L->from] == log->ident.snap_upto)
			continue;
		if (seg)
			kbp_log_seg_name(name, L->segs[i]);
		else
			kbp_log_snap_name(name, L->snaps[i - L->from]);
		n++;
		if (!log->cfg.read_only && unlinkat(log->dirfd, name, 0) == 0)
			removed++;
		if (!log->cfg.quiet)
			fprintf(stderr, "kbp_log: %s: %s lies outside the log (left by an interrupted "
				"snapshot) %s\n", log->dir, name, log->cfg.read_only ? "ignored" : "removed");
	}
	if (removed > 0)
		fsync(log->dirfd);
	return n;
}
