/* SPDX-License-Identifier: MIT */
/*
 * Crash test: a forked writer appends accepts (and a promise per session), reports every
 * "durable up to slot N" on a pipe, and is SIGKILLed at a random moment.  After each kill
 * the log is recovered and checked: every slot reported durable is there, intact, in
 * order; nothing is invented (every record is exactly what the writer appended); the
 * promise of every session that made anything durable survives, snapshots and segment
 * deletion included.  Exit 0 pass, 1 fail, 77 skip (no O_DIRECT here).
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kbp_log.h"

#define KILLS 220
#define DELAY_US_MAX 20000

static struct kbp_log_config cfg;

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static uint32_t value_len(uint64_t slot)
{
	return (uint32_t)(slot * 13 % 300);
}

static void value_fill(uint8_t *v, uint64_t slot)
{
	for (uint32_t i = 0; i < value_len(slot); i++)
		v[i] = (uint8_t)(slot * 131 + i * 17 + 3);
}

static uint64_t ballot_of(uint64_t slot)
{
	return kbp_ballot_make(slot / 1000 + 1, 2);
}

struct state {
	uint64_t next;              /* first slot not recovered */
	uint64_t first;             /* first accept slot recovered, 0 if none */
	uint64_t snap_upto;
	uint64_t promised;
	const char *bad;            /* first problem seen */
};

static void on_snapshot(void *arg, const uint8_t *buf, uint64_t len, uint64_t upto)
{
	struct state *s = arg;

	if (len != 8 || kbp_le64_load(buf) != upto)
		s->bad = "snapshot payload does not match its upto_slot";
	s->snap_upto = upto;
}

static void on_promise(void *arg, uint64_t ballot)
{
	struct state *s = arg;

	if (ballot > s->promised)
		s->promised = ballot;
}

static void on_accept(void *arg, uint64_t slot, uint64_t ballot, uint32_t count, const uint8_t *v, uint32_t len)
{
	struct state *s = arg;
	uint8_t want[300];

	if (s->first == 0)
		s->first = s->next = slot;
	if (slot != s->next && s->bad == NULL)
		s->bad = "accepted slots are not contiguous";
	value_fill(want, slot);
	if ((len != value_len(slot) || memcmp(v, want, len) != 0 || ballot != ballot_of(slot) || count != 1) &&
	    s->bad == NULL)
		s->bad = "an accepted value differs from what was written (invented or damaged)";
	s->next = slot + 1;
}

static const struct kbp_log_recover_ops ops = {
	.on_snapshot = on_snapshot, .on_promise = on_promise, .on_accept = on_accept,
};

static void writer(int out, uint64_t session) __attribute__((noreturn));
static void writer(int out, uint64_t session)
{
	struct state s = { 0 };
	struct kbp_log *log;
	uint8_t v[300], snap[8];
	uint64_t id = 0, durable = 0, base, slot, last_snap;
	char err[512];

	if (kbp_log_open(&log, &cfg, err, sizeof(err)) < 0 || kbp_log_recover(log, &ops, &s, NULL) < 0) {
		fprintf(stderr, "writer: %s\n", log ? kbp_log_strerror(log) : err);
		_exit(3);
	}
	slot = s.next ? s.next : (s.snap_upto ? s.snap_upto : 1);
	base = slot - 2;   /* id 1 is the promise; id k >= 2 is slot base + k */
	last_snap = s.snap_upto;
	if (kbp_log_append(log, &(struct kbp_persist){ .type = KBP_PERSIST_PROMISE, .id = ++id,
						       .ballot = kbp_ballot_make(session, 1) }) < 0)
		_exit(3);
	srand((unsigned)(session * 7919));
	for (;;) {
		int n = 1 + rand() % 8, rc;

		for (int i = 0; i < n; i++) {
			struct kbp_persist p = { .type = KBP_PERSIST_ACCEPT, .id = id + 1, .slot = slot,
						 .ballot = ballot_of(slot), .count = 1,
						 .len = value_len(slot), .value = v };

			value_fill(v, slot);
			while ((rc = kbp_log_append(log, &p)) == -EAGAIN)
				if (kbp_log_wait(log, &durable) < 0)
					_exit(4);
			if (rc < 0)
				_exit(4);
			id++;
			slot++;
		}
		if (kbp_log_submit(log) < 0)
			_exit(4);
		if ((rc = kbp_log_poll(log, &durable)) < 0)
			_exit(4);
		if (rc > 0) {
			uint64_t upto = base + durable;   /* slots < upto + 1 are durable */

			if (write(out, &upto, sizeof(upto)) != sizeof(upto))
				_exit(5);
			if (upto > last_snap + 300) {
				kbp_le64_store(snap, upto);
				if (kbp_log_snapshot_write(log, snap, 8, upto) < 0)
					_exit(6);
				last_snap = upto;
			}
		}
	}
}

static int check(uint64_t durable_slot, uint64_t min_promised, unsigned k)
{
	struct kbp_log_config ro = cfg;
	struct kbp_log_recover_stats st;
	struct state s = { 0 };
	struct kbp_log *log;
	char err[512];
	int rc;

	ro.read_only = true;
	if (kbp_log_open(&log, &ro, err, sizeof(err)) < 0) {
		fprintf(stderr, "kill %u: open: %s\n", k, err);
		return 1;
	}
	rc = kbp_log_recover(log, &ops, &s, &st);
	if (rc < 0) {
		fprintf(stderr, "kill %u: recover: %s\n", k, kbp_log_strerror(log));
		kbp_log_close(log);
		return 1;
	}
	kbp_log_close(log);
	if (s.bad) {
		fprintf(stderr, "kill %u: %s\n", k, s.bad);
		return 1;
	}
	if (durable_slot > 0 && (s.next == 0 || s.next - 1 < durable_slot)) {
		fprintf(stderr, "kill %u: slot %" PRIu64 " was reported durable, recovered up to %" PRIu64 "\n",
			k, durable_slot, s.next ? s.next - 1 : 0);
		return 1;
	}
	if (s.first > (s.snap_upto ? s.snap_upto : 1)) {
		fprintf(stderr, "kill %u: accepts start at slot %" PRIu64 ", snapshot covers < %" PRIu64 "\n",
			k, s.first, s.snap_upto);
		return 1;
	}
	if (s.promised < min_promised) {
		fprintf(stderr, "kill %u: promised ballot %" PRIu64 " forgotten (recovered %" PRIu64 ")\n", k,
			min_promised, s.promised);
		return 1;
	}
	return 0;
}

int main(void)
{
	char dir[] = "kbp-crash.XXXXXX";
	uint64_t durable_slot = 0, min_promised = 0, t0 = (uint64_t)time(NULL);
	unsigned reported = 0, torn_checks = 0;

	if (mkdtemp(dir) == NULL)
		return 1;
	kbp_log_config_default(&cfg);
	cfg.dir = dir;
	cfg.segment_bytes = 128 * 1024;
	cfg.write_bytes_max = 16 * 1024;
	cfg.quiet = true;
	cfg.cluster_id = 9;
	cfg.node_id = 2;
	cfg.config_digest = 0xc0ffee;
	{
		struct kbp_log_config first = cfg;
		struct kbp_log *probe;
		char err[512];
		int rc;

		first.create = true;             /* makes the (empty) log every writer recovers */
		rc = kbp_log_open(&probe, &first, err, sizeof(err));

		if (rc == -EINVAL && strstr(err, "O_DIRECT")) {
			printf("skip: %s\n", err);
			return 77;
		}
		if (rc < 0) {
			fprintf(stderr, "open: %s\n", err);
			return 1;
		}
		kbp_log_close(probe);
	}
	srand((unsigned)getpid());
	for (unsigned k = 0; k < KILLS; k++) {
		int fds[2], status;
		uint64_t v, got = 0;
		pid_t pid;

		if (pipe(fds) < 0)
			return 1;
		pid = fork();
		if (pid < 0)
			return 1;
		if (pid == 0) {
			close(fds[0]);
			writer(fds[1], k + 1);
		}
		close(fds[1]);
		/*
		 * Three kills in four land while the writer is streaming (after its first durable
		 * report); the rest at any moment since fork, recovery and truncation included.
		 */
		if (k % 4 != 0) {
			struct pollfd pfd = { .fd = fds[0], .events = POLLIN };

			if (poll(&pfd, 1, 5000) == 1 && read(fds[0], &v, sizeof(v)) == sizeof(v))
				got = v;
		}
		usleep((useconds_t)(rand() % DELAY_US_MAX));
		kill(pid, SIGKILL);
		while (read(fds[0], &v, sizeof(v)) == sizeof(v))
			if (v > got)
				got = v;
		close(fds[0]);
		waitpid(pid, &status, 0);
		if (!WIFSIGNALED(status)) {
			fprintf(stderr, "kill %u: writer exited by itself (status %d)\n", k, WEXITSTATUS(status));
			return 1;
		}
		if (got > 0) {
			reported++;
			min_promised = kbp_ballot_make(k + 1, 1);
			if (got > durable_slot)
				durable_slot = got;
		}
		torn_checks++;
		if (check(durable_slot, min_promised, k))
			return 1;
	}
	printf("%u kills, %u sessions reported durability, durable up to slot %" PRIu64 ", %us\n", KILLS,
	       reported, durable_slot, (unsigned)((uint64_t)time(NULL) - t0));
	(void)torn_checks;
	return nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS) == 0 && reported >= KILLS / 2 ? 0 : 1;
}
