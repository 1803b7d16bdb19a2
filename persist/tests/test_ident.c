/* SPDX-License-Identifier: MIT */
/*
 * A log knows whose it is (issue 11): every way an operator can damage, swap or share a
 * log directory is refused at open or recovery, naming the file and the reason, never
 * silently replayed as a smaller or foreign log.  Real files in the build dir.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
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

struct fx {
	char dir[64], other[64];
	struct kbp_log_config cfg;
};

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void rm_tree(const char *dir)
{
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* The identity every test log gets unless a test changes it. */
static void ident(struct kbp_log_config *c, const char *dir, uint32_t cluster, uint32_t node)
{
	kbp_log_config_default(c);
	c->dir = dir;
	c->segment_bytes = 64 * 1024;
	c->write_bytes_max = 8192;
	c->quiet = true;
	c->cluster_id = cluster;
	c->node_id = node;
	c->config_digest = 0xd16e570000000000ull | cluster;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "kbp-ident-test.XXXXXX");
	snprintf(f->other, sizeof(f->other), "kbp-ident-other.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	assert_non_null(mkdtemp(f->other));
	ident(&f->cfg, f->dir, 7, 1);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	rm_tree(f->dir);
	rm_tree(f->other);
	free(f);
	return 0;
}

/* Opens (creating the log if asked) and recovers; returns the first failure, err filled. */
static int open_recover(const struct kbp_log_config *cfg, struct kbp_log **keep, char *err, size_t errlen,
			struct kbp_log_recover_stats *st)
{
	struct kbp_log *log;
	int rc = kbp_log_open(&log, cfg, err, errlen);

	if (rc < 0)
		return rc;
	rc = kbp_log_recover(log, NULL, NULL, st);
	if (rc < 0)
		snprintf(err, errlen, "%s", kbp_log_strerror(log));
	if (rc == 0 && keep != NULL)
		*keep = log;
	else
		kbp_log_close(log);
	return rc;
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
}

/*
 * One session that creates the log: a promise of `promise`, then n 1000-byte accepts
 * (about 60 per 64 KiB segment), then an optional snapshot up to slot snap_upto.
 */
static void write_log(const struct kbp_log_config *cfg0, uint64_t promise, unsigned n, uint64_t snap_upto)
{
	struct kbp_log_config cfg = *cfg0;
	struct kbp_log *log = NULL;
	static uint8_t v[1000];
	uint64_t id = 0;
	char err[512];

	cfg.create = true;
	if (open_recover(&cfg, &log, err, sizeof(err), NULL) < 0)
		fail_msg("creating the log: %s", err);
	append_ok(log, &(struct kbp_persist){ .type = KBP_PERSIST_PROMISE, .id = ++id, .ballot = promise });
	for (unsigned i = 0; i < n; i++)
		append_ok(log, &(struct kbp_persist){ .type = KBP_PERSIST_ACCEPT, .id = ++id, .slot = i + 1,
						      .ballot = promise, .count = 1, .len = sizeof(v), .value = v });
	sync_all(log, id);
	if (snap_upto)
		assert_int_equal(kbp_log_snapshot_write(log, "image", 5, snap_upto), 0);
	kbp_log_close(log);
}

static void path_of(char *out, size_t cap, const char *dir, const char *fmt, uint64_t n)
{
	char name[64];

	snprintf(name, sizeof(name), fmt, n);
	snprintf(out, cap, "%s/%s", dir, name);
}

/* Highest seg-N.log in dir (0 if none), and how many there are. */
static uint64_t newest_seg(const char *dir, unsigned *count)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	uint64_t best = 0;
	unsigned long long v;

	assert_non_null(d);
	*count = 0;
	while ((e = readdir(d)) != NULL)
		if (sscanf(e->d_name, "seg-%16llx.log", &v) == 1) {
			(*count)++;
			if (v > best)
				best = v;
		}
	closedir(d);
	return best;
}

/* Expects refusal; the message must contain every one of the NULL-terminated needles. */
static void expect_refused(const struct kbp_log_config *cfg, ...)
{
	char err[1024] = "";
	struct kbp_log_recover_stats st;
	const char *needle;
	va_list ap;
	int rc = open_recover(cfg, NULL, err, sizeof(err), &st);

	if (rc == 0)
		fail_msg("accepted: %u segments, %" PRIu64 " records, promised %" PRIx64, st.segments,
			 st.records, st.promised);
	va_start(ap, cfg);
	while ((needle = va_arg(ap, const char *)) != NULL)
		if (strstr(err, needle) == NULL)
			fail_msg("message lacks \"%s\": %s", needle, err);
	va_end(ap);
	printf("  refused as expected: %s\n", err);
}

static void copy_file(const char *from, const char *to)
{
	static uint8_t buf[1 << 16];
	int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ssize_t n;

	assert_true(in >= 0 && out >= 0);
	while ((n = read(in, buf, sizeof(buf))) > 0)
		assert_int_equal(write(out, buf, (size_t)n), n);
	close(in);
	close(out);
}

static void middle_segment_deleted(void **state)
{
	struct fx *f = *state;
	char p[128];
	unsigned n;

	write_log(&f->cfg, kbp_ballot_make(3, 1), 300, 0);   /* ~5 segments */
	assert_true(newest_seg(f->dir, &n) >= 4);
	path_of(p, sizeof(p), f->dir, "seg-%016" PRIx64 ".log", 2);
	assert_int_equal(unlink(p), 0);
	expect_refused(&f->cfg, "seg-0000000000000002.log", "missing", NULL);
}

static void closed_segment_truncated_at_record(void **state)
{
	struct fx *f = *state;
	char p[128];

	write_log(&f->cfg, kbp_ballot_make(3, 1), 300, 0);
	/* Segment 2 ends after its 20th record: KBP_LOG_DATA_OFF + 20 * 1048 bytes. */
	path_of(p, sizeof(p), f->dir, "seg-%016" PRIx64 ".log", 2);
	assert_int_equal(truncate(p, KBP_LOG_DATA_OFF + 20 * kbp_log_rec_size(1000)), 0);
	expect_refused(&f->cfg, "seg-0000000000000002.log", "truncated", NULL);
}

static void closed_segment_truncated_to_header(void **state)
{
	struct fx *f = *state;
	char p[128];

	write_log(&f->cfg, kbp_ballot_make(3, 1), 300, 0);
	path_of(p, sizeof(p), f->dir, "seg-%016" PRIx64 ".log", 3);
	assert_int_equal(truncate(p, KBP_LOG_DATA_OFF), 0);
	expect_refused(&f->cfg, "seg-0000000000000003.log", "truncated", NULL);
}

static void truncated_mid_record(void **state)
{
	struct fx *f = *state;
	char p[128], want[160];
	size_t rec = kbp_log_rec_size(1000), off = KBP_LOG_DATA_OFF + 20 * rec;

	write_log(&f->cfg, kbp_ballot_make(3, 1), 300, 0);
	path_of(p, sizeof(p), f->dir, "seg-%016" PRIx64 ".log", 2);
	assert_int_equal(truncate(p, (off_t)(off + 100)), 0);
	snprintf(want, sizeof(want), "truncated mid-record at offset %zu: the record needs %zu bytes, "
		 "100 are present", off, rec);
	expect_refused(&f->cfg, "seg-0000000000000002.log", want, NULL);
}

/* The promise regressed when the newest segment went (issue 11: 0xf00 -> 0x800). */
static void newest_segment_deleted(void **state)
{
	struct fx *f = *state;
	struct kbp_log *log = NULL;
	char p[128], err[512];
	uint64_t first, last;
	unsigned n;

	write_log(&f->cfg, 0x800, 100, 0);
	/* The next session writes into the newest segment (the empty spare) or a new one. */
	first = newest_seg(f->dir, &n);
	assert_int_equal(open_recover(&f->cfg, &log, err, sizeof(err), NULL), 0);
	append_ok(log, &(struct kbp_persist){ .type = KBP_PERSIST_PROMISE, .id = 1, .ballot = 0xf00 });
	sync_all(log, 1);
	kbp_log_close(log);
	/* Every segment that session could have written, spares included, is deleted. */
	last = newest_seg(f->dir, &n);
	for (uint64_t s = first; s <= last; s++) {
		path_of(p, sizeof(p), f->dir, "seg-%016" PRIx64 ".log", s);
		unlink(p);
	}
	assert_true(newest_seg(f->dir, &n) == first - 1 && n == first - 1);
	expect_refused(&f->cfg, "the newest segments", "are missing", NULL);
}

static void swapped_in(struct fx *f, uint32_t cluster, uint32_t node, const char *needle)
{
	struct kbp_log_config oc;
	char from[128], to[128];

	ident(&oc, f->other, cluster, node);
	write_log(&f->cfg, kbp_ballot_make(3, 1), 150, 0);
	write_log(&oc, kbp_ballot_make(3, 1), 150, 0);
	path_of(from, sizeof(from), f->other, "seg-%016" PRIx64 ".log", 2);
	path_of(to, sizeof(to), f->dir, "seg-%016" PRIx64 ".log", 2);
	copy_file(from, to);
	expect_refused(&f->cfg, "seg-0000000000000002.log", needle, NULL);
}

static void segment_from_another_node(void **state)
{
	swapped_in(*state, 7, 2, "node 2");
}

static void segment_from_another_cluster(void **state)
{
	swapped_in(*state, 8, 1, "cluster 8");
}

static void snapshot_deleted(void **state)
{
	struct fx *f = *state;
	char p[128];

	write_log(&f->cfg, kbp_ballot_make(3, 1), 300, 250);   /* truncates segments below 250 */
	path_of(p, sizeof(p), f->dir, "snap-%016" PRIx64 ".snap", 250);
	assert_int_equal(unlink(p), 0);
	expect_refused(&f->cfg, "snap-00000000000000fa.snap", "missing", NULL);
}

/* Two nodes given one log_dir: the second open fails while the first runs. */
static void two_nodes_one_dir(void **state)
{
	struct fx *f = *state;
	struct kbp_log *a = NULL, *b = NULL;
	char err[512];

	write_log(&f->cfg, kbp_ballot_make(3, 1), 10, 0);
	assert_int_equal(open_recover(&f->cfg, &a, err, sizeof(err), NULL), 0);
	if (kbp_log_open(&b, &f->cfg, err, sizeof(err)) == 0) {
		kbp_log_close(b);
		kbp_log_close(a);
		fail_msg("a second writer opened a log in use");
	}
	assert_non_null(strstr(err, "in use"));
	kbp_log_close(a);
	/* Released when the first closes. */
	assert_int_equal(open_recover(&f->cfg, NULL, err, sizeof(err), NULL), 0);
}

static void empty_dir_is_no_log(void **state)
{
	struct fx *f = *state;
	unsigned n;

	expect_refused(&f->cfg, "no kbpaxos log in", "--init", "--rebuild", NULL);
	newest_seg(f->dir, &n);
	assert_int_equal(n, 0);   /* nothing was created */
}

static void non_log_dir_is_refused(void **state)
{
	struct fx *f = *state;
	char p[128];
	int fd;

	snprintf(p, sizeof(p), "%s/notes.txt", f->dir);
	fd = open(p, O_CREAT | O_WRONLY, 0644);
	assert_true(fd >= 0);
	close(fd);
	expect_refused(&f->cfg, "notes.txt", NULL);
}


/* log_dir pointing at another node's whole log (identity file and all). */
static void log_of_another_node(void **state)
{
	struct fx *f = *state;
	struct kbp_log_config other;

	write_log(&f->cfg, kbp_ballot_make(3, 1), 10, 0);
	ident(&other, f->dir, 7, 2);
	expect_refused(&other, "belongs to cluster 7 node 1", "but this is cluster 7 node 2", NULL);
	ident(&other, f->dir, 5, 1);
	expect_refused(&other, "belongs to cluster 7 node 1", "but this is cluster 5 node 1", NULL);
}

/* The same node under a config whose safety-relevant part changed. */
static void config_digest_mismatch(void **state)
{
	struct fx *f = *state;
	struct kbp_log_config changed = f->cfg;

	write_log(&f->cfg, kbp_ballot_make(3, 1), 10, 0);
	changed.config_digest ^= 0x10;
	expect_refused(&changed, "written under config digest d16e570000000007",
		       "config has digest d16e570000000017", "safety-relevant", "docs/DEPLOY.md", NULL);
}

static void snapshot_from_another_node(void **state)
{
	struct fx *f = *state;
	struct kbp_log_config oc;
	char from[128], to[128];

	ident(&oc, f->other, 7, 2);
	write_log(&f->cfg, kbp_ballot_make(3, 1), 300, 250);
	write_log(&oc, kbp_ballot_make(3, 2), 300, 250);
	path_of(from, sizeof(from), f->other, "snap-%016" PRIx64 ".snap", 250);
	path_of(to, sizeof(to), f->dir, "snap-%016" PRIx64 ".snap", 250);
	copy_file(from, to);
	expect_refused(&f->cfg, "snap-00000000000000fa.snap belongs to cluster 7 node 2", NULL);
}

static void identity_file_deleted(void **state)
{
	struct fx *f = *state;
	char p[128];

	write_log(&f->cfg, kbp_ballot_make(3, 1), 100, 0);
	snprintf(p, sizeof(p), "%s/kbpaxos.id", f->dir);
	assert_int_equal(unlink(p), 0);
	expect_refused(&f->cfg, "no identity file (kbpaxos.id)", NULL);
	/* Nor may --init paper over it. */
	f->cfg.create = true;
	expect_refused(&f->cfg, "refusing to create a new log over them", NULL);
}

/* A log of format 1 (no identity anywhere) is refused as such, not as "no log". */
static void format_1_is_refused(void **state)
{
	struct fx *f = *state;
	uint8_t hdr[KBP_LOG_DATA_OFF] = { 0 };
	char p[128];
	int fd;

	snprintf(p, sizeof(p), "%s/seg-0000000000000001.log", f->dir);
	kbp_log_seg_hdr_encode(hdr, &(struct kbp_log_seg_hdr){ .version = 1, .seq = 1, .promised = 5,
							       .write_bytes_max = 8192, .align = 512 });
	fd = open(p, O_CREAT | O_WRONLY, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, hdr, sizeof(hdr)), (ssize_t)sizeof(hdr));
	assert_int_equal(ftruncate(fd, 64 * 1024), 0);
	close(fd);
	expect_refused(&f->cfg, "seg-0000000000000001.log was written by log format version 1",
		       "docs/PERSIST.md", NULL);
}

/* --init (cfg.create) makes a log only where there is none and nothing else. */
static void create_only_where_no_log(void **state)
{
	struct fx *f = *state;
	struct kbp_log_config c = f->cfg;
	char p[128];
	int fd;

	write_log(&f->cfg, kbp_ballot_make(3, 1), 10, 0);
	c.create = true;
	expect_refused(&c, "already holds a kbpaxos log", NULL);
	/* A directory holding something else is not made into a log either. */
	c.dir = f->other;
	snprintf(p, sizeof(p), "%s/data.db", f->other);
	fd = open(p, O_CREAT | O_WRONLY, 0644);
	assert_true(fd >= 0);
	close(fd);
	expect_refused(&c, "holds 'data.db', which is not part of a kbpaxos log", NULL);
	/* A filesystem's own lost+found is fine: a log may own a whole mount. */
	assert_int_equal(unlink(p), 0);
	snprintf(p, sizeof(p), "%s/lost+found", f->other);
	assert_int_equal(mkdir(p, 0700), 0);
	write_log(&c, kbp_ballot_make(3, 1), 10, 0);
	c.create = false;
	assert_int_equal(open_recover(&c, NULL, p, sizeof(p), NULL), 0);
}

/* tmpfs forgets at reboot: a node would come back blank.  /dev/shm is tmpfs on Linux. */
static void tmpfs_is_refused(void **state)
{
	struct fx *f = *state;
	struct kbp_log_config c = f->cfg;
	char dir[] = "/dev/shm/kbp-ident-tmpfs.XXXXXX";

	(void)f;
	if (mkdtemp(dir) == NULL)
		skip();
	c.dir = dir;
	c.create = true;
	expect_refused(&c, "is on tmpfs", "ext4", NULL);
	rm_tree(dir);
}

/*
 * What an interrupted snapshot leaves outside the recorded log is accepted, reported,
 * and removed by a writable recovery: a newer snapshot never recorded, and the old
 * snapshot and segments it had made redundant.
 */
static void snapshot_leftovers_are_accepted(void **state)
{
	struct fx *f = *state;
	struct kbp_log_recover_stats st;
	struct kbp_log_config ro = f->cfg;
	char a[128], b[128], err[512];

	write_log(&f->cfg, kbp_ballot_make(3, 1), 300, 250);
	path_of(a, sizeof(a), f->dir, "snap-%016" PRIx64 ".snap", 250);
	path_of(b, sizeof(b), f->dir, "snap-%016" PRIx64 ".snap", 100);      /* the one replaced */
	copy_file(a, b);
	path_of(b, sizeof(b), f->dir, "snap-%016" PRIx64 ".snap", 290);      /* renamed, not recorded */
	copy_file(a, b);
	path_of(b, sizeof(b), f->dir, "seg-%016" PRIx64 ".log", 1);          /* not yet deleted */
	copy_file(a, b);
	ro.read_only = true;
	assert_int_equal(open_recover(&ro, NULL, err, sizeof(err), &st), 0);
	assert_int_equal(st.leftovers, 3);
	assert_int_equal(st.snapshot_upto, 250);
	assert_int_equal(access(b, F_OK), 0);                                  /* read-only: kept */
	assert_int_equal(open_recover(&f->cfg, NULL, err, sizeof(err), &st), 0);
	assert_int_equal(st.leftovers, 3);
	assert_int_equal(access(b, F_OK), -1);                                 /* removed */
	assert_int_equal(open_recover(&ro, NULL, err, sizeof(err), &st), 0);
	assert_int_equal(st.leftovers, 0);
}

/* Rewrites the identity file's last_seq (what a crash before the helper recorded a segment leaves). */
static void set_last_seq(struct fx *f, uint64_t last)
{
	struct kbp_log_ident_rec r = { 0 };
	uint8_t b[KBP_LOG_HDR_SIZE];
	char p[128];
	int fd;

	snprintf(p, sizeof(p), "%s/kbpaxos.id", f->dir);
	fd = open(p, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, b, sizeof(b), 0), (ssize_t)sizeof(b));
	assert_int_equal(kbp_log_ident_decode(b, &r), 0);
	r.last_seq = last;
	kbp_log_ident_encode(b, &r);
	assert_int_equal(pwrite(fd, b, sizeof(b), 0), (ssize_t)sizeof(b));
	close(fd);
}

/* One empty segment beyond the recorded end is a spare installed just before a crash. */
static void unrecorded_segment(void **state)
{
	struct fx *f = *state;
	struct kbp_log_recover_stats st;
	char err[512];
	uint64_t newest;
	unsigned n;

	write_log(&f->cfg, kbp_ballot_make(3, 1), 100, 0);
	newest = newest_seg(f->dir, &n);          /* the helper's empty spare */
	set_last_seq(f, newest - 1);
	assert_int_equal(open_recover(&f->cfg, NULL, err, sizeof(err), &st), 0);
	assert_int_equal(st.records, 101);
	/* One holding records is not: it was never part of the log. */
	set_last_seq(f, newest - 2);
	expect_refused(&f->cfg, "lies beyond the newest segment kbpaxos.id records", "holds records", NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(middle_segment_deleted, setup, teardown),
		cmocka_unit_test_setup_teardown(closed_segment_truncated_at_record, setup, teardown),
		cmocka_unit_test_setup_teardown(closed_segment_truncated_to_header, setup, teardown),
		cmocka_unit_test_setup_teardown(truncated_mid_record, setup, teardown),
		cmocka_unit_test_setup_teardown(newest_segment_deleted, setup, teardown),
		cmocka_unit_test_setup_teardown(segment_from_another_node, setup, teardown),
		cmocka_unit_test_setup_teardown(segment_from_another_cluster, setup, teardown),
		cmocka_unit_test_setup_teardown(snapshot_deleted, setup, teardown),
		cmocka_unit_test_setup_teardown(two_nodes_one_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(empty_dir_is_no_log, setup, teardown),
		cmocka_unit_test_setup_teardown(non_log_dir_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(log_of_another_node, setup, teardown),
		cmocka_unit_test_setup_teardown(config_digest_mismatch, setup, teardown),
		cmocka_unit_test_setup_teardown(snapshot_from_another_node, setup, teardown),
		cmocka_unit_test_setup_teardown(identity_file_deleted, setup, teardown),
		cmocka_unit_test_setup_teardown(format_1_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(create_only_where_no_log, setup, teardown),
		cmocka_unit_test_setup_teardown(tmpfs_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(snapshot_leftovers_are_accepted, setup, teardown),
		cmocka_unit_test_setup_teardown(unrecorded_segment, setup, teardown),
	};

	return cmocka_run_group_tests_name("persist_ident", tests, NULL, NULL);
}
