/* SPDX-License-Identifier: MIT */
/*
 * The log against a real disk (a temp dir in the build dir): round trips, group commit,
 * back-pressure, rollover, snapshots, and what recovery does with damaged files.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kbp_log.h"
#include "kbp_log_format.h"

#define REC_MAX 4096

struct rec {
	uint8_t type;
	uint64_t ballot, slot;
	uint32_t count, len;
	uint8_t value[REC_MAX];
};

struct seen {
	struct rec *recs;
	size_t n, cap;
	uint64_t snap_upto;
	uint8_t snap[256];
	uint64_t snap_len;
	unsigned snap_calls;
};

struct fx {
	char dir[64];
	struct kbp_log_config cfg;
	struct seen seen;
};

static struct rec *push(struct seen *s)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 64;
		s->recs = realloc(s->recs, s->cap * sizeof(*s->recs));
		assert_non_null(s->recs);
	}
	memset(&s->recs[s->n], 0, sizeof(s->recs[0]));
	return &s->recs[s->n++];
}

static void on_snapshot(void *arg, const uint8_t *buf, uint64_t len, uint64_t upto)
{
	struct seen *s = arg;

	assert_int_equal(s->n, 0);   /* a snapshot comes first */
	assert_true(len <= sizeof(s->snap));
	memcpy(s->snap, buf, len);
	s->snap_len = len;
	s->snap_upto = upto;
	s->snap_calls++;
}

static void on_promise(void *arg, uint64_t ballot)
{
	struct rec *r = push(arg);

	r->type = KBP_PERSIST_PROMISE;
	r->ballot = ballot;
}

static void on_accept(void *arg, uint64_t slot, uint64_t ballot, uint32_t count, const uint8_t *v, uint32_t len)
{
	struct rec *r = push(arg);

	assert_true(len <= REC_MAX);
	r->type = KBP_PERSIST_ACCEPT;
	r->slot = slot;
	r->ballot = ballot;
	r->count = count;
	r->len = len;
	memcpy(r->value, v, len);
}

static void on_commit(void *arg, uint64_t slot)
{
	struct rec *r = push(arg);

	r->type = KBP_PERSIST_COMMIT;
	r->slot = slot;
}

static const struct kbp_log_recover_ops ops = {
	.on_snapshot = on_snapshot, .on_promise = on_promise, .on_accept = on_accept, .on_commit = on_commit,
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "kbp-log-test.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	kbp_log_config_default(&f->cfg);
	f->cfg.dir = f->dir;
	f->cfg.segment_bytes = 256 * 1024;
	f->cfg.write_bytes_max = 64 * 1024;
	f->cfg.quiet = true;
	f->cfg.cluster_id = 3;
	f->cfg.node_id = 1;
	f->cfg.config_digest = 0x0123456789abcdefull;
	*state = f;
	return 0;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int teardown(void **state)
{
	struct fx *f = *state;

	assert_int_equal(nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS), 0);
	free(f->seen.recs);
	free(f);
	return 0;
}

static struct kbp_log *open_log(struct fx *f, bool read_only)
{
	struct kbp_log_config cfg = f->cfg;
	struct kbp_log *log;
	char err[512], id[128];
	int rc;

	cfg.read_only = read_only;
	snprintf(id, sizeof(id), "%s/kbpaxos.id", f->dir);
	cfg.create = !read_only && access(id, F_OK) != 0;   /* the first session makes the log */
	rc = kbp_log_open(&log, &cfg, err, sizeof(err));
	if (rc < 0)
		fail_msg("open: %s", err);
	return log;
}

/* Opens, recovers into f->seen, returns the recover result (log closed unless *keep). */
static int recover(struct fx *f, bool read_only, struct kbp_log **keep, struct kbp_log_recover_stats *st)
{
	struct kbp_log *log = open_log(f, read_only);
	int rc;

	f->seen.n = 0;
	f->seen.snap_calls = 0;
	rc = kbp_log_recover(log, &ops, &f->seen, st);
	if (keep != NULL && rc == 0)
		*keep = log;
	else
		kbp_log_close(log);
	return rc;
}

static void fill(uint8_t *v, uint32_t len, uint64_t seed)
{
	for (uint32_t i = 0; i < len; i++)
		v[i] = (uint8_t)(seed * 31 + i * 7 + 1);
}

static void append_ok(struct kbp_log *log, const struct kbp_persist *p)
{
	uint64_t d;
	int rc;

	while ((rc = kbp_log_append(log, p)) == -EAGAIN)
		assert_true(kbp_log_wait(log, &d) >= 0);
	if (rc < 0)
		fail_msg("append: %s", kbp_log_strerror(log));
}

static void sync_all(struct kbp_log *log, uint64_t id)
{
	uint64_t d = 0;

	assert_int_equal(kbp_log_submit(log), 0);
	while (d < id)
		assert_true(kbp_log_wait(log, &d) >= 0);
	assert_int_equal(d, id);
}

/* Writes n accepts for slots first.. with lens cycling up to len_max; returns last id. */
static uint64_t write_accepts(struct kbp_log *log, uint64_t id, uint64_t first, unsigned n, uint32_t len_max)
{
	uint8_t v[REC_MAX];

	for (unsigned i = 0; i < n; i++) {
		uint32_t len = (uint32_t)((first + i) * 37 % (len_max + 1));
		struct kbp_persist p = {
			.type = KBP_PERSIST_ACCEPT, .id = ++id, .ballot = kbp_ballot_make(2, 1),
			.slot = first + i, .count = 1, .len = len, .value = v,
		};

		fill(v, len, first + i);
		append_ok(log, &p);
	}
	return id;
}

static void check_accepts(const struct seen *s, size_t from, uint64_t first, unsigned n, uint32_t len_max)
{
	uint8_t v[REC_MAX];
	unsigned k = 0;

	for (size_t i = from; i < s->n; i++) {
		const struct rec *r = &s->recs[i];

		if (r->type != KBP_PERSIST_ACCEPT)
			continue;
		assert_int_equal(r->slot, first + k);
		assert_int_equal(r->len, (uint32_t)((first + k) * 37 % (len_max + 1)));
		fill(v, r->len, r->slot);
		assert_memory_equal(r->value, v, r->len);
		k++;
	}
	assert_int_equal(k, n);
}

static void round_trip(void **state)
{
	struct fx *f = *state;
	struct kbp_log_recover_stats st;
	struct kbp_log *log = NULL;
	uint8_t big[3000];
	uint64_t id = 0;

	assert_int_equal(recover(f, false, &log, &st), 0);
	assert_int_equal(st.records, 0);
	fill(big, sizeof(big), 5);
	append_ok(log, &(struct kbp_persist){ .type = KBP_PERSIST_PROMISE, .id = ++id,
					      .ballot = kbp_ballot_make(4, 2) });
	append_ok(log, &(struct kbp_persist){ .type = KBP_PERSIST_ACCEPT, .id = ++id, .slot = 10,
					      .ballot = kbp_ballot_make(4, 2), .count = 3,
					      .len = sizeof(big), .value = big });
	append_ok(log, &(struct kbp_persist){ .type = KBP_PERSIST_ACCEPT, .id = ++id, .slot = 11,
					      .ballot = KBP_BALLOT_CHOSEN, .count = 0, .len = 0 });
	append_ok(log, &(struct kbp_persist){ .type = KBP_PERSIST_COMMIT, .id = ++id, .slot = 11 });
	sync_all(log, id);
	kbp_log_close(log);

	assert_int_equal(recover(f, false, NULL, &st), 0);
	assert_int_equal(st.records, 4);
	assert_int_equal(st.promised, kbp_ballot_make(4, 2));
	assert_int_equal(st.torn_bytes, 0);
	assert_int_equal(f->seen.n, 4);
	assert_int_equal(f->seen.recs[0].type, KBP_PERSIST_PROMISE);
	assert_int_equal(f->seen.recs[0].ballot, kbp_ballot_make(4, 2));
	assert_int_equal(f->seen.recs[1].type, KBP_PERSIST_ACCEPT);
	assert_int_equal(f->seen.recs[1].slot, 10);
	assert_int_equal(f->seen.recs[1].count, 3);
	assert_int_equal(f->seen.recs[1].len, sizeof(big));
	assert_memory_equal(f->seen.recs[1].value, big, sizeof(big));
	assert_int_equal(f->seen.recs[2].ballot, KBP_BALLOT_CHOSEN);
	assert_int_equal(f->seen.recs[2].len, 0);
	assert_int_equal(f->seen.recs[3].type, KBP_PERSIST_COMMIT);
	assert_int_equal(f->seen.recs[3].slot, 11);

	/*
	 * The second session wrote into the empty segment the helper had made ahead (its
	 * header rewritten to repeat the promise), and the helper made the next one (whose
	 * header repeats it too).
	 */
	assert_int_equal(recover(f, true, NULL, &st), 0);
	assert_int_equal(st.segments, 3);
	assert_int_equal(f->seen.n, 6);
	assert_int_equal(f->seen.recs[4].type, KBP_PERSIST_PROMISE);
	assert_int_equal(f->seen.recs[4].ballot, kbp_ballot_make(4, 2));
	assert_int_equal(f->seen.recs[5].type, KBP_PERSIST_PROMISE);
}

static void group_commit_one_write(void **state)
{
	struct fx *f = *state;
	struct kbp_log_stats st;
	struct kbp_log *log = NULL;
	uint64_t id, d = 0;

	assert_int_equal(recover(f, false, &log, NULL), 0);
	id = write_accepts(log, 0, 1, 200, 100);
	assert_int_equal(kbp_log_poll(log, &d), 0);
	assert_int_equal(d, 0);   /* nothing is durable before a submit */
	sync_all(log, id);
	kbp_log_get_stats(log, &st);
	assert_int_equal(st.writes, 1);
	assert_int_equal(st.appends, 200);

	/* While one write is in flight, appends gather for the next single write. */
	id = write_accepts(log, id, 201, 10, 100);
	assert_int_equal(kbp_log_submit(log), 0);
	id = write_accepts(log, id, 211, 10, 100);
	assert_int_equal(kbp_log_submit(log), 0);
	id = write_accepts(log, id, 221, 10, 100);
	assert_int_equal(kbp_log_submit(log), 0);
	while (d < id)
		assert_true(kbp_log_wait(log, &d) >= 0);
	kbp_log_get_stats(log, &st);
	assert_true(st.writes == 3);
	kbp_log_close(log);
	assert_int_equal(recover(f, true, NULL, NULL), 0);
	check_accepts(&f->seen, 0, 1, 230, 100);
}

static void back_pressure_and_rollover(void **state)
{
	struct fx *f = *state;
	struct kbp_log_stats st;
	struct kbp_log_recover_stats rs;
	struct kbp_log *log = NULL;
	uint64_t id;

	f->cfg.write_bytes_max = 8192;
	f->cfg.segment_bytes = 64 * 1024;
	assert_int_equal(recover(f, false, &log, NULL), 0);
	/* ~1.2 MB through 8 KiB writes and 64 KiB segments: many EAGAINs and rollovers. */
	id = write_accepts(log, 0, 1, 1000, 2000);
	sync_all(log, id);
	kbp_log_get_stats(log, &st);
	assert_true(st.eagain > 0);
	assert_true(st.segments_created > 10);
	kbp_log_close(log);
	assert_int_equal(recover(f, true, NULL, &rs), 0);
	assert_int_equal(rs.records, 1000);
	check_accepts(&f->seen, 0, 1, 1000, 2000);
}

static void snapshot_truncates(void **state)
{
	struct fx *f = *state;
	struct kbp_log_recover_stats rs;
	struct kbp_log_stats st;
	struct kbp_log *log = NULL;
	uint64_t id = 0;

	f->cfg.write_bytes_max = 8192;
	f->cfg.segment_bytes = 64 * 1024;
	assert_int_equal(recover(f, false, &log, NULL), 0);
	append_ok(log, &(struct kbp_persist){ .type = KBP_PERSIST_PROMISE, .id = ++id,
					      .ballot = kbp_ballot_make(9, 1) });
	id = write_accepts(log, id, 1, 600, 1000);
	sync_all(log, id);
	assert_int_equal(kbp_log_snapshot_write(log, "state@401", 9, 401), 0);
	kbp_log_get_stats(log, &st);
	assert_true(st.segments_deleted > 2);
	kbp_log_close(log);

	assert_int_equal(recover(f, false, NULL, &rs), 0);
	assert_int_equal(f->seen.snap_calls, 1);
	assert_int_equal(f->seen.snap_upto, 401);
	assert_memory_equal(f->seen.snap, "state@401", 9);
	/* The promise survived the deletion of the segment that held its record. */
	assert_int_equal(rs.promised, kbp_ballot_make(9, 1));
	/* Every accept at or above the snapshot's slot is still there, in order. */
	{
		uint64_t next = 0;
		size_t accepts = 0;

		for (size_t i = 0; i < f->seen.n; i++) {
			const struct rec *r = &f->seen.recs[i];

			if (r->type != KBP_PERSIST_ACCEPT)
				continue;
			if (next == 0)
				next = r->slot;
			assert_int_equal(r->slot, next);
			next++;
			accepts++;
		}
		assert_true(f->seen.recs[0].type == KBP_PERSIST_PROMISE);
		assert_int_equal(next, 601);
		assert_true(next - accepts <= 401);
		assert_true(accepts < 600);
	}
	/* A newer snapshot replaces the older one. */
	assert_int_equal(recover(f, false, &log, NULL), 0);
	assert_int_equal(kbp_log_snapshot_write(log, "state@601", 9, 601), 0);
	assert_true(kbp_log_snapshot_write(log, "old", 3, 500) == -EINVAL);
	kbp_log_close(log);
	assert_int_equal(recover(f, true, NULL, &rs), 0);
	assert_int_equal(rs.snapshot_upto, 601);
	{
		char path[128];

		/* The replaced snapshot is gone, the new one is there (paths inside the log dir). */
		snprintf(path, sizeof(path), "%s/snap-0000000000000191.snap", f->dir);
		assert_int_equal(access(path, F_OK), -1);
		snprintf(path, sizeof(path), "%s/snap-0000000000000259.snap", f->dir);
		assert_int_equal(access(path, F_OK), 0);
	}
}

/*
 * The helper thread writes the snapshot while the owner keeps appending (and rolling
 * over: the helper makes those spares too); the owner collects the outcome by polling.
 */
static void snapshot_in_background(void **state)
{
	struct fx *f = *state;
	struct kbp_log_recover_stats rs;
	struct kbp_log_stats st;
	struct kbp_log *log = NULL;
	uint64_t id = 0, upto = 0, took = 0;
	static const char image[] = "state@401";
	int r;

	f->cfg.write_bytes_max = 8192;
	f->cfg.segment_bytes = 64 * 1024;
	assert_int_equal(recover(f, false, &log, NULL), 0);
	append_ok(log, &(struct kbp_persist){ .type = KBP_PERSIST_PROMISE, .id = ++id,
					      .ballot = kbp_ballot_make(9, 1) });
	id = write_accepts(log, id, 1, 600, 1000);
	sync_all(log, id);
	assert_false(kbp_log_snapshot_busy(log));
	assert_int_equal(kbp_log_snapshot_begin(log, image, 9, 401), 0);
	assert_true(kbp_log_snapshot_busy(log));
	/* One at a time: busy until the outcome is collected, however fast the helper is. */
	assert_int_equal(kbp_log_snapshot_begin(log, image, 9, 402), -EBUSY);
	id = write_accepts(log, id, 601, 300, 1000);     /* more rollovers meanwhile */
	sync_all(log, id);
	while ((r = kbp_log_snapshot_poll(log, &upto, &took)) == 0)
		usleep(1000);
	assert_int_equal(r, 1);
	assert_int_equal(upto, 401);
	assert_true(took > 0);
	assert_false(kbp_log_snapshot_busy(log));
	assert_int_equal(kbp_log_snapshot_poll(log, &upto, &took), 0);
	assert_int_equal(kbp_log_snapshot_begin(log, "old", 3, 400), -EINVAL);
	kbp_log_get_stats(log, &st);
	assert_true(st.segments_deleted > 2);
	assert_true(st.segments_created > st.segments_deleted);
	kbp_log_close(log);

	assert_int_equal(recover(f, true, NULL, &rs), 0);
	assert_int_equal(rs.snapshot_upto, 401);
	assert_int_equal(rs.promised, kbp_ballot_make(9, 1));
	assert_memory_equal(f->seen.snap, "state@401", 9);
	/* Every accept from the oldest kept segment to slot 900 replays in order. */
	uint64_t next = 0;
	for (size_t i = 0; i < f->seen.n; i++) {
		const struct rec *rec = &f->seen.recs[i];
		if (rec->type != KBP_PERSIST_ACCEPT)
			continue;
		if (next == 0) {
			assert_true(rec->slot <= 401);
			next = rec->slot;
		}
		assert_int_equal(rec->slot, next);
		next++;
	}
	assert_int_equal(next, 901);
}

static void peer_snapshot_in_id_order(void **state)
{
	struct fx *f = *state;
	struct kbp_log_recover_stats rs;
	struct kbp_log *log = NULL;
	uint64_t id, d = 0;
	int rc;

	assert_int_equal(recover(f, false, &log, NULL), 0);
	id = write_accepts(log, 0, 1, 20, 100);
	assert_int_equal(kbp_log_submit(log), 0);
	/* A snapshot from a peer waits for the records before it, then is durable at once. */
	struct kbp_persist snap = { .type = 4, .id = ++id, .slot = 15, .len = 9, .value = (const uint8_t *)"peer@0015" };

	while ((rc = kbp_log_append(log, &snap)) == -EAGAIN)
		assert_true(kbp_log_wait(log, &d) >= 0);
	assert_int_equal(rc, 0);
	assert_int_equal(kbp_log_poll(log, &d), 1);
	assert_int_equal(d, id);
	id = write_accepts(log, id, 21, 5, 100);
	sync_all(log, id);
	kbp_log_close(log);
	assert_int_equal(recover(f, true, NULL, &rs), 0);
	assert_int_equal(rs.snapshot_upto, 15);
	assert_memory_equal(f->seen.snap, "peer@0015", 9);
	check_accepts(&f->seen, 0, 1, 25, 100);
}

/* Finds the first segment file and the offset of record k in it. */
static void locate(struct fx *f, unsigned k, char *path, size_t cap, size_t *off, uint32_t *size)
{
	uint8_t hdr[KBP_LOG_REC_HDR];
	size_t pos = KBP_LOG_DATA_OFF;
	int fd;

	snprintf(path, cap, "%s/seg-%016x.log", f->dir, 1);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	for (unsigned i = 0;; i++) {
		assert_int_equal(pread(fd, hdr, sizeof(hdr), (off_t)pos), (ssize_t)sizeof(hdr));
		if (i == k)
			break;
		pos += kbp_le32_load(hdr + 4);
	}
	*off = pos;
	*size = kbp_le32_load(hdr + 4);
	close(fd);
}

static void poke(const char *path, size_t off, const void *buf, size_t len)
{
	int fd = open(path, O_WRONLY);

	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, buf, len, (off_t)off), (ssize_t)len);
	close(fd);
}

static void peek(const char *path, size_t off, void *buf, size_t len)
{
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, buf, len, (off_t)off), (ssize_t)len);
	close(fd);
}

/* One session: n accepts, lengths up to len_max, all durable, then closed. */
static void one_session(struct fx *f, unsigned n, uint32_t len_max)
{
	struct kbp_log *log = NULL;

	assert_int_equal(recover(f, false, &log, NULL), 0);
	sync_all(log, write_accepts(log, 0, 1, n, len_max));
	kbp_log_close(log);
}

static void flipped_byte_is_corruption(void **state)
{
	struct fx *f = *state;
	char path[128], expect[64];
	size_t off;
	uint32_t size;
	uint8_t b;

	one_session(f, 50, 300);
	locate(f, 20, path, sizeof(path), &off, &size);
	peek(path, off + size / 2, &b, 1);
	b ^= 0x40;
	poke(path, off + size / 2, &b, 1);
	{
		struct kbp_log *log = open_log(f, false);

		assert_int_equal(kbp_log_recover(log, &ops, &f->seen, NULL), -EBADMSG);
		snprintf(expect, sizeof(expect), "seg-0000000000000001.log at offset %zu", off);
		if (strstr(kbp_log_strerror(log), expect) == NULL)
			fail_msg("error does not name the file and offset: %s", kbp_log_strerror(log));
		assert_int_equal(f->seen.n, 0);   /* nothing replayed from a corrupt log */
		kbp_log_close(log);
	}
	/* A flipped length field is corruption too, not a tail. */
	b ^= 0x40;
	poke(path, off + size / 2, &b, 1);
	peek(path, off + 5, &b, 1);
	b ^= 0x01;
	poke(path, off + 5, &b, 1);
	assert_int_equal(recover(f, true, NULL, NULL), -EBADMSG);
}

static void torn_last_block_is_truncated(void **state)
{
	struct fx *f = *state;
	struct kbp_log_recover_stats st;
	static const uint8_t zeros[KBP_LOG_SECTOR];
	char path[128];
	size_t off, sec;
	uint32_t size;

	one_session(f, 30, 2500);
	/* The helper already installed the next segment, empty: the torn tail is still judged
	 * in segment 1, the newest one holding records. */
	snprintf(path, sizeof(path), "%s/seg-0000000000000002.log", f->dir);
	assert_int_equal(access(path, F_OK), 0);
	/* The last record spans sectors; one of them never reached the disk. */
	locate(f, 29, path, sizeof(path), &off, &size);
	assert_true(size > 2 * KBP_LOG_SECTOR);
	sec = (off + KBP_LOG_SECTOR) & ~(size_t)(KBP_LOG_SECTOR - 1);
	poke(path, sec, zeros, sizeof(zeros));
	assert_int_equal(recover(f, true, NULL, &st), 0);   /* read-only: reported, not changed */
	assert_int_equal(st.records, 29);
	assert_true(st.torn_bytes > 0);
	assert_non_null(strstr(st.tail_note, "torn tail"));
	assert_int_equal(recover(f, false, NULL, &st), 0);
	assert_int_equal(st.records, 29);
	assert_true(strstr(st.tail_note, "truncated") != NULL);
	check_accepts(&f->seen, 0, 1, 29, 2500);
	/* Truncated for good: the next recovery sees a clean end. */
	assert_int_equal(recover(f, true, NULL, &st), 0);
	assert_int_equal(st.records, 29);
	assert_int_equal(st.torn_bytes, 0);
}

static void torn_write_residue_is_discarded(void **state)
{
	struct fx *f = *state;
	struct kbp_log_recover_stats st;
	static const uint8_t zeros[KBP_LOG_SECTOR];
	char path[128];
	size_t off;
	uint32_t size;

	one_session(f, 40, 200);
	/* A torn write: record 30's first sector missing, later sectors landed. */
	locate(f, 30, path, sizeof(path), &off, &size);
	poke(path, off & ~(size_t)(KBP_LOG_SECTOR - 1), zeros, sizeof(zeros));
	assert_int_equal(recover(f, false, NULL, &st), 0);
	assert_true(st.records < 31);
	assert_true(st.torn_bytes > 0);
	check_accepts(&f->seen, 0, 1, (unsigned)st.records, 200);
	assert_int_equal(recover(f, true, NULL, &st), 0);
	assert_int_equal(st.torn_bytes, 0);
}

static void zero_tail_is_not_records(void **state)
{
	struct fx *f = *state;
	struct kbp_log_recover_stats st;

	one_session(f, 7, 100);
	/* The segment is 256 KiB of preallocated zeros after 7 small records. */
	assert_int_equal(recover(f, true, NULL, &st), 0);
	assert_int_equal(st.records, 7);
	assert_int_equal(st.torn_bytes, 0);
	assert_int_equal(st.tail_note[0], '\0');
	check_accepts(&f->seen, 0, 1, 7, 100);
}

static void zeroed_middle_is_corruption(void **state)
{
	struct fx *f = *state;
	static uint8_t zeros[16384];
	char path[128];
	size_t off;
	uint32_t size;

	f->cfg.write_bytes_max = 8192;
	one_session(f, 300, 200);
	/* Zeros where records were, followed by records further than one write can reach. */
	locate(f, 10, path, sizeof(path), &off, &size);
	poke(path, off, zeros, sizeof(zeros));
	assert_int_equal(recover(f, true, NULL, NULL), -EBADMSG);
}

static void future_version_is_refused(void **state)
{
	struct fx *f = *state;
	struct kbp_log_seg_hdr h = { 0 };
	uint8_t hdr[KBP_LOG_HDR_SIZE];
	char path[128];

	one_session(f, 3, 100);
	snprintf(path, sizeof(path), "%s/seg-%016x.log", f->dir, 1);
	peek(path, 0, hdr, sizeof(hdr));
	assert_int_equal(kbp_log_seg_hdr_decode(hdr, &h), 0);
	h.version = KBP_LOG_VERSION + 1;
	kbp_log_seg_hdr_encode(hdr, &h);
	poke(path, 0, hdr, sizeof(hdr));
	{
		struct kbp_log *log = open_log(f, false);
		char want[64];

		assert_int_equal(kbp_log_recover(log, NULL, NULL, NULL), -EPROTONOSUPPORT);
		snprintf(want, sizeof(want), "format version %u", KBP_LOG_VERSION + 1);
		assert_non_null(strstr(kbp_log_strerror(log), want));
		kbp_log_close(log);
	}
}

static void bad_dir_and_config(void **state)
{
	struct fx *f = *state;
	struct kbp_log_config cfg = f->cfg;
	struct kbp_log *log;
	char err[512], file[128];
	int fd;

	cfg.dir = "/nonexistent/kbpaxos/log";
	assert_int_equal(kbp_log_open(&log, &cfg, err, sizeof(err)), -ENOENT);
	assert_null(log);
	assert_non_null(strstr(err, "/nonexistent/kbpaxos/log"));
	assert_non_null(strstr(err, "No such file"));

	snprintf(file, sizeof(file), "%s/plainfile", f->dir);
	fd = open(file, O_CREAT | O_WRONLY, 0644);
	assert_true(fd >= 0);
	close(fd);
	cfg.dir = file;
	assert_int_equal(kbp_log_open(&log, &cfg, err, sizeof(err)), -ENOTDIR);
	assert_non_null(strstr(err, "Not a directory"));

	cfg = f->cfg;
	cfg.write_bytes_max = 5000;
	assert_int_equal(kbp_log_open(&log, &cfg, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "write_bytes_max"));
	cfg = f->cfg;
	cfg.dir = NULL;
	assert_int_equal(kbp_log_open(&log, &cfg, err, sizeof(err)), -EINVAL);
}

static void record_too_big(void **state)
{
	struct fx *f = *state;
	struct kbp_log *log = NULL;
	static uint8_t v[70000];

	assert_int_equal(recover(f, false, &log, NULL), 0);
	assert_int_equal(kbp_log_append(log, &(struct kbp_persist){ .type = KBP_PERSIST_ACCEPT, .id = 1,
						.slot = 1, .len = sizeof(v), .value = v }), -EMSGSIZE);
	assert_non_null(strstr(kbp_log_strerror(log), "does not fit"));
	kbp_log_close(log);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(group_commit_one_write, setup, teardown),
		cmocka_unit_test_setup_teardown(back_pressure_and_rollover, setup, teardown),
		cmocka_unit_test_setup_teardown(snapshot_truncates, setup, teardown),
		cmocka_unit_test_setup_teardown(snapshot_in_background, setup, teardown),
		cmocka_unit_test_setup_teardown(peer_snapshot_in_id_order, setup, teardown),
		cmocka_unit_test_setup_teardown(flipped_byte_is_corruption, setup, teardown),
		cmocka_unit_test_setup_teardown(torn_last_block_is_truncated, setup, teardown),
		cmocka_unit_test_setup_teardown(torn_write_residue_is_discarded, setup, teardown),
		cmocka_unit_test_setup_teardown(zero_tail_is_not_records, setup, teardown),
		cmocka_unit_test_setup_teardown(zeroed_middle_is_corruption, setup, teardown),
		cmocka_unit_test_setup_teardown(future_version_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(bad_dir_and_config, setup, teardown),
		cmocka_unit_test_setup_teardown(record_too_big, setup, teardown),
	};

	return cmocka_run_group_tests_name("persist_log", tests, NULL, NULL);
}
