/* SPDX-License-Identifier: MIT */
/*
 * kbpaxos-log: look at and measure an acceptor log.
 *   dump DIR      the log's identity, then every segment and record, oldest first
 *   verify DIR    identity, completeness, checksums and framing; exit 0 if recovery would
 *                 succeed, 1 (the reason on stderr) if not, or if DIR holds no log
 *   bench --dir DIR [--record-bytes N] [--batch N] [--seconds S] [--segment-mb M] [--align B]
 *                 group-commit throughput and write latency, beside a raw 4 KiB
 *                 O_DIRECT + RWF_DSYNC write measured on the same disk in the same run
 * dump and verify open the log read-only: they never truncate or create anything.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "kbp_log.h"

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void print_ballot(uint64_t b)
{
	if (b == KBP_BALLOT_CHOSEN)
		printf("chosen");
	else
		printf("%" PRIu64 ".%u", kbp_ballot_round(b), kbp_ballot_node(b));
}

static void dump_segment(void *arg, uint64_t seq)
{
	(void)arg;
	printf("segment  seq=%" PRIu64 " (seg-%016" PRIx64 ".log)\n", seq, seq);
}

static void dump_snapshot(void *arg, const uint8_t *buf, uint64_t len, uint64_t upto)
{
	(void)arg;
	(void)buf;
	printf("snapshot upto_slot=%" PRIu64 " bytes=%" PRIu64 "\n", upto, len);
}

static void dump_promise(void *arg, uint64_t ballot)
{
	(void)arg;
	printf("promise  ballot=");
	print_ballot(ballot);
	printf("\n");
}

static void dump_accept(void *arg, uint64_t slot, uint64_t ballot, uint32_t count,
			const uint8_t *value, uint32_t len)
{
	(void)arg;
	printf("accept   slot=%" PRIu64 " ballot=", slot);
	print_ballot(ballot);
	printf(" count=%u bytes=%u", count, len);
	if (count > 0 && kbp_batch_validate(value, len, count) != 0)
		printf(" (not a valid command batch)");
	printf("\n");
}

static void dump_commit(void *arg, uint64_t slot)
{
	(void)arg;
	printf("commit   slot=%" PRIu64 "\n", slot);
}

static int open_ro(const char *dir, struct kbp_log **log)
{
	struct kbp_log_config cfg;
	char err[512];
	int rc;

	kbp_log_config_default(&cfg);
	cfg.dir = dir;
	cfg.read_only = true;
	cfg.adopt_identity = true;       /* whose it is is what we report, not what we check */
	cfg.quiet = true;
	cfg.segments_max = 1u << 20;
	rc = kbp_log_open(log, &cfg, err, sizeof(err));
	if (rc < 0)
		fprintf(stderr, "kbpaxos-log: %s\n", err);
	return rc;
}

static int cmd_dump_verify(const char *dir, bool dump)
{
	static const struct kbp_log_recover_ops ops = {
		.on_segment = dump_segment, .on_snapshot = dump_snapshot, .on_promise = dump_promise,
		.on_accept = dump_accept, .on_commit = dump_commit,
	};
	struct kbp_log_recover_stats st;
	struct kbp_log_identity id;
	struct kbp_log *log;
	int rc;

	if (open_ro(dir, &log) < 0)
		return 1;
	kbp_log_get_identity(log, &id);
	printf("identity cluster=%" PRIu32 " node=%" PRIu32 " config_digest=%016" PRIx64 " segments=%"
	       PRIu64 "..%" PRIu64 " snapshot_upto=%" PRIu64 "\n", id.cluster_id, id.node_id,
	       id.config_digest, id.first_seq, id.last_seq, id.snap_upto);
	rc = kbp_log_recover(log, dump ? &ops : NULL, NULL, &st);
	if (rc < 0) {
		fprintf(stderr, "kbpaxos-log: %s\n", kbp_log_strerror(log));
		kbp_log_close(log);
		return 1;
	}
	printf("%s: %u segments, %" PRIu64 " records, %" PRIu64 " bytes, promised ", dir, st.segments,
	       st.records, st.bytes);
	print_ballot(st.promised);
	printf(", snapshot upto %" PRIu64 "\n", st.snapshot_upto);
	if (st.tail_note[0])
		printf("note: %s (recovery will truncate it)\n", st.tail_note);
	if (st.leftovers)
		printf("note: %u files outside the log, left by an interrupted snapshot (recovery will "
		       "remove them)\n", st.leftovers);
	kbp_log_close(log);
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static double pct_us(const uint64_t *v, size_t n, double p)
{
	size_t i;

	if (n == 0)
		return 0;
	i = (size_t)(p / 100.0 * (double)(n - 1) + 0.5);
	return (double)v[i] / 1000.0;
}

/* p50 of single 4 KiB O_DIRECT + RWF_DSYNC writes over already written blocks. */
static int raw_write_p50(const char *dir, double seconds, double *p50_us, double *p99_us, size_t *n_out)
{
	const size_t blocks = 1024, cap = 1u << 20;
	char path[4200];
	uint64_t *lat = malloc(cap * sizeof(*lat)), end;
	void *blk = NULL;
	size_t n = 0;
	int fd;

	snprintf(path, sizeof(path), "%s/raw4k.dat", dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || lat == NULL || posix_memalign(&blk, 4096, 4096) != 0)
		return -1;
	memset(blk, 0, 4096);
	for (size_t i = 0; i < blocks; i++)
		if (pwrite(fd, blk, 4096, (off_t)(i * 4096)) != 4096)
			return -1;
	fsync(fd);
	close(fd);
	fd = open(path, O_RDWR | O_DIRECT);
	if (fd < 0)
		return -1;
	memset(blk, 0xa5, 4096);
	end = now_ns() + (uint64_t)(seconds * 1e9);
	while (n < cap && (n < 100 || now_ns() < end)) {
		struct iovec iov = { .iov_base = blk, .iov_len = 4096 };
		uint64_t t0 = now_ns();

		if (pwritev2(fd, &iov, 1, (off_t)((n % blocks) * 4096), RWF_DSYNC) != 4096) {
			close(fd);
			return -1;
		}
		lat[n++] = now_ns() - t0;
	}
	close(fd);
	unlink(path);
	qsort(lat, n, sizeof(*lat), cmp_u64);
	*p50_us = pct_us(lat, n, 50);
	*p99_us = pct_us(lat, n, 99);
	*n_out = n;
	free(lat);
	free(blk);
	return 0;
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void usage(void)
{
	fprintf(stderr, "usage: kbpaxos-log dump DIR\n"
			"       kbpaxos-log verify DIR\n"
			"       kbpaxos-log bench --dir DIR [--record-bytes N] [--batch N] [--seconds S] "
			"[--segment-mb M (>= 8)] [--align 0|512..4096]\n");
}

struct bench_opts {
	const char *dir;
	uint32_t rec, batch, seg_mb, align;
	double seconds;
};

static int bench_args(int argc, char **argv, struct bench_opts *o)
{
	*o = (struct bench_opts){ .rec = 64, .batch = 1, .seg_mb = 256, .seconds = 3 };
	for (int i = 2; i < argc; i++) {
		if (i + 1 >= argc)
			return -1;
		if (!strcmp(argv[i], "--dir"))
			o->dir = argv[++i];
		else if (!strcmp(argv[i], "--record-bytes"))
			o->rec = (uint32_t)strtoul(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--batch"))
			o->batch = (uint32_t)strtoul(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--seconds"))
			o->seconds = strtod(argv[++i], NULL);
		else if (!strcmp(argv[i], "--align"))
			o->align = (uint32_t)strtoul(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--segment-mb"))
			o->seg_mb = (uint32_t)strtoul(argv[++i], NULL, 0);
		else
			return -1;
	}
	return o->dir == NULL || o->batch == 0 || o->seconds <= 0 || o->seg_mb < 8 ? -1 : 0;
}

struct bench_result {
	uint64_t *lat;               /* per-batch submit-to-durable latencies, sorted */
	size_t nlat;
	uint64_t commands, append_ns, elapsed_ns;
	struct kbp_log_stats st;
};

/* Closed loop: append a batch, write it, wait until durable; one write per batch. */
static int bench_loop(struct kbp_log *log, const struct bench_opts *o, struct bench_result *r)
{
	size_t latcap = 1u << 22;
	uint64_t id = 0, durable = 0, t_start = now_ns(), t_end = t_start + (uint64_t)(o->seconds * 1e9);
	uint8_t *value = malloc(o->rec ? o->rec : 1);
	int rc = 0;

	r->lat = malloc(latcap * sizeof(*r->lat));
	if (value == NULL || r->lat == NULL) {
		free(value);
		return -ENOMEM;
	}
	memset(value, 0x5a, o->rec);
	while (rc == 0 && now_ns() < t_end && r->nlat < latcap) {
		uint64_t t0 = now_ns(), t1;

		for (uint32_t i = 0; rc == 0 && i < o->batch; i++) {
			struct kbp_persist req = {
				.type = KBP_PERSIST_ACCEPT, .id = id + 1, .ballot = kbp_ballot_make(1, 0),
				.slot = id + 1, .count = 1, .len = o->rec, .value = value,
			};

			while ((rc = kbp_log_append(log, &req)) == -EAGAIN)
				kbp_log_wait(log, &durable);
			id += rc == 0;
		}
		t1 = now_ns();
		r->append_ns += t1 - t0;
		if (rc == 0)
			rc = kbp_log_submit(log);
		while (rc >= 0 && durable < id)
			rc = kbp_log_wait(log, &durable);
		rc = rc < 0 ? rc : 0;
		r->lat[r->nlat++] = now_ns() - t1;
	}
	r->commands = id;
	r->elapsed_ns = now_ns() - t_start;
	kbp_log_get_stats(log, &r->st);
	qsort(r->lat, r->nlat, sizeof(*r->lat), cmp_u64);
	free(value);
	return rc;
}

static void bench_report(const struct bench_opts *o, const struct bench_result *r, double raw_p50,
			 double raw_p99, size_t nraw)
{
	const struct kbp_log_stats *st = &r->st;

	printf("kbpaxos-log bench: dir=%s record=%u B batch=%u seconds=%.1f align=%u B segment=%u MiB\n",
	       o->dir, o->rec, o->batch, o->seconds, st->align_bytes, o->seg_mb);
	printf("raw 4 KiB O_DIRECT+RWF_DSYNC write: n=%zu p50=%.1f us p99=%.1f us\n", nraw, raw_p50, raw_p99);
	printf("writes: %" PRIu64 " (%.0f bytes each on average), segments created %" PRIu64 "\n",
	       st->writes, st->writes ? (double)st->write_bytes / (double)st->writes : 0.0,
	       st->segments_created);
	printf("appends/s (framing + CRC32C, CPU only): %.0f\n",
	       r->append_ns ? (double)st->appends * 1e9 / (double)r->append_ns : 0.0);
	printf("commands durable/s: %.0f\n", (double)r->commands * 1e9 / (double)r->elapsed_ns);
	printf("write latency (submit to durable): p50=%.1f us p99=%.1f us p99.9=%.1f us max=%.1f us\n",
	       pct_us(r->lat, r->nlat, 50), pct_us(r->lat, r->nlat, 99), pct_us(r->lat, r->nlat, 99.9),
	       r->nlat ? (double)r->lat[r->nlat - 1] / 1000.0 : 0.0);
	printf("ratio p50 batch write / raw 4 KiB write: %.2f\n", pct_us(r->lat, r->nlat, 50) / raw_p50);
}

/* Everything the bench does inside its own directory `sub`; 0 or 1. */
static int bench_in(const char *sub, const struct bench_opts *o)
{
	struct bench_result r = { 0 };
	double raw_p50, raw_p99;
	struct kbp_log_config cfg;
	struct kbp_log *log;
	char err[512];
	size_t nraw;
	int rc;

	if (raw_write_p50(sub, o->seconds < 1 ? o->seconds : 1, &raw_p50, &raw_p99, &nraw) < 0) {
		fprintf(stderr, "kbpaxos-log: bench: raw 4 KiB O_DIRECT write on %s failed: %s\n", sub,
			strerror(errno));
		return 1;
	}
	kbp_log_config_default(&cfg);
	cfg.dir = sub;
	cfg.create = true;               /* a log of its own, in a directory of its own */
	cfg.segment_bytes = (uint64_t)o->seg_mb << 20;
	cfg.write_bytes_max = 4u << 20;
	cfg.align_bytes = o->align;
	cfg.quiet = true;
	if (kbp_log_open(&log, &cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "kbpaxos-log: bench: %s\n", err);
		return 1;
	}
	rc = kbp_log_recover(log, NULL, NULL, NULL);
	if (rc == 0)
		rc = bench_loop(log, o, &r);
	if (rc < 0)
		fprintf(stderr, "kbpaxos-log: bench: %s\n", rc == -ENOMEM ? "out of memory" : kbp_log_strerror(log));
	else
		bench_report(o, &r, raw_p50, raw_p99, nraw);
	kbp_log_close(log);
	free(r.lat);
	return rc < 0 ? 1 : 0;
}

static int cmd_bench(int argc, char **argv)
{
	struct bench_opts o;
	char sub[4096];
	int rc;

	if (bench_args(argc, argv, &o) < 0) {
		usage();
		return 2;
	}
	snprintf(sub, sizeof(sub), "%s/kbpaxos-log-bench.%d", o.dir, (int)getpid());
	if (mkdir(sub, 0755) < 0) {
		fprintf(stderr, "kbpaxos-log: bench: cannot create %s: %s\n", sub, strerror(errno));
		return 1;
	}
	rc = bench_in(sub, &o);
	/* The bench directory holds only our files (no links followed, no shell involved). */
	if (nftw(sub, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0) {
		fprintf(stderr, "kbpaxos-log: could not remove %s: %s\n", sub, strerror(errno));
		rc = 1;
	}
	return rc;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && !strcmp(argv[1], "dump"))
		return cmd_dump_verify(argv[2], true);
	if (argc >= 3 && !strcmp(argv[1], "verify"))
		return cmd_dump_verify(argv[2], false);
	if (argc >= 2 && !strcmp(argv[1], "bench"))
		return cmd_bench(argc, argv);
	usage();
	return 2;
}
