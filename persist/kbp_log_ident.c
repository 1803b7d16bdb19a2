/* SPDX-License-Identifier: MIT */
/*
 * Whose log this is: the identity file, the directory lock, and the checks at open that
 * keep a directory from being used as something it is not: no log at all (a blank
 * acceptor could un-choose a chosen value: "Paxos Made Live" §5.1), another node's or
 * another cluster's log, a log written under another config, a directory that holds
 * other things, a log another process is writing, a filesystem that forgets at reboot.
 */
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/magic.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "kbp_log_internal.h"
#include "kbp_rebuild_marker.h"

#define NO_LOG_HINT "the first start of a cluster needs `kbpaxosd --init`; a node that lost its " \
		    "disk needs `kbpaxosd --rebuild` (docs/DEPLOY.md)"

/* Exactly 16 lowercase hex digits, as kbp_log_seg_name writes them. */
static bool hex16(const char *s, uint64_t *v)
{
	uint64_t x = 0;

	for (int i = 0; i < 16; i++) {
		char c = s[i];

		if (c >= '0' && c <= '9')
			x = x << 4 | (uint64_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			x = x << 4 | (uint64_t)(c - 'a' + 10);
		else
			return false;
	}
	*v = x;
	return true;
}

enum kbp_log_name kbp_log_name_kind(const char *name, uint64_t *v)
{
	static const char *const ours[] = {
		".", "..", KBP_LOG_LOCK_NAME, KBP_LOG_SPARE_NAME, KBP_LOG_SNAP_TMP, KBP_LOG_IDENT_TMP,
		KBP_REBUILD_MARKER,  /* kbp_rebuild_marker.h: the node is rebuilding this log */
	};
	size_t n = strlen(name);

	for (size_t i = 0; i < sizeof(ours) / sizeof(ours[0]); i++)
		if (!strcmp(name, ours[i]))
			return KBP_NAME_OURS;
	if (!strcmp(name, KBP_LOG_IDENT_NAME))
		return KBP_NAME_IDENT;
	if (!strcmp(name, "lost+found"))
		return KBP_NAME_LOST_FOUND;
	if (n == 24 && !strncmp(name, "seg-", 4) && !strcmp(name + 20, ".log") && hex16(name + 4, v))
		return KBP_NAME_SEG;
	if (n == 26 && !strncmp(name, "snap-", 5) && !strcmp(name + 21, ".snap") && hex16(name + 5, v))
		return KBP_NAME_SNAP;
	return KBP_NAME_OTHER;
}

int kbp_log_check_fs(struct kbp_log *log)
{
	struct statfs sf;

	if (fstatfs(log->dirfd, &sf) < 0)
		return kbp_log_fail(log, errno, "log directory %s: statfs: %s", log->dir, strerror(errno));
	if (sf.f_type == TMPFS_MAGIC)
		return kbp_log_fail(log, EINVAL, "log directory %s is on tmpfs, which lives in memory: after "
				    "a reboot the node would have no log and could vote as a blank acceptor; "
				    "put log_dir on a disk filesystem (ext4, XFS)", log->dir);
	return 0;
}

/* What the directory holds, before anything is created in it. */
struct survey {
	bool ident;
	unsigned segs, snaps;
	uint64_t oldest_seg;
	char other[NAME_MAX + 1];    /* the first name that is not part of a log, "" if none */
};

static int survey_dir(struct kbp_log *log, struct survey *sv)
{
	int fd = dup(log->dirfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *e;
	uint64_t v;

	memset(sv, 0, sizeof(*sv));
	if (d == NULL) {
		int rc = errno;

		if (fd >= 0)
			close(fd);
		return kbp_log_fail(log, rc, "log directory %s: cannot list: %s", log->dir, strerror(rc));
	}
	rewinddir(d);                        /* a dup shares the offset of an earlier listing */
	while ((e = readdir(d)) != NULL) {
		switch (kbp_log_name_kind(e->d_name, &v)) {
		case KBP_NAME_IDENT: sv->ident = true; break;
		case KBP_NAME_SNAP: sv->snaps++; break;
		case KBP_NAME_SEG:
			if (sv->segs++ == 0 || v < sv->oldest_seg)
				sv->oldest_seg = v;
			break;
		case KBP_NAME_OTHER:
			if (sv->other[0] == '\0')
				snprintf(sv->other, sizeof(sv->other), "%s", e->d_name);
			break;
		default: break;
		}
	}
	closedir(d);
	return 0;
}

/* No identity file: say why there is no log, telling a format-1 log from a damaged one. */
static int no_log(struct kbp_log *log, const struct survey *sv)
{
	struct kbp_log_seg_hdr h;
	uint8_t hdr[KBP_LOG_HDR_SIZE];
	char name[64];
	int fd;

	if (sv->segs > 0) {
		kbp_log_seg_name(name, sv->oldest_seg);
		fd = openat(log->dirfd, name, O_RDONLY | O_CLOEXEC);
		if (fd >= 0 && pread(fd, hdr, sizeof(hdr), 0) == (ssize_t)sizeof(hdr) &&
		    kbp_log_seg_hdr_decode(hdr, &h) == 0 && h.version < KBP_LOG_VERSION) {
			close(fd);
			return kbp_log_fail(log, EPROTONOSUPPORT, "log %s: %s was written by log format "
					    "version %u, before logs carried their identity; this build reads "
					    "version %u only and cannot tell whose log this is (docs/PERSIST.md, "
					    "\"Format versions\")", log->dir, name, h.version, KBP_LOG_VERSION);
		}
		if (fd >= 0)
			close(fd);
	}
	if (sv->segs > 0 || sv->snaps > 0)
		return kbp_log_fail(log, EBADMSG, "log %s holds %u segment and %u snapshot files but no "
				    "identity file (%s): the log is incomplete and nobody can say whose "
				    "it is; refusing it", log->dir, sv->segs, sv->snaps, KBP_LOG_IDENT_NAME);
	if (sv->other[0])
		return kbp_log_fail(log, ENOENT, "no kbpaxos log in %s: it holds '%s', which is not part "
				    "of one (is log_dir right?); " NO_LOG_HINT, log->dir, sv->other);
	return kbp_log_fail(log, ENOENT, "no kbpaxos log in %s: " NO_LOG_HINT, log->dir);
}

/* cfg.create: only a directory with no log and nothing else may receive a new one. */
static int check_creatable(struct kbp_log *log, const struct survey *sv)
{
	if (sv->ident)
		return kbp_log_fail(log, EEXIST, "log directory %s already holds a kbpaxos log (%s): "
				    "--init and --rebuild need a directory without one; start the node "
				    "without them to use this log", log->dir, KBP_LOG_IDENT_NAME);
	if (sv->segs > 0 || sv->snaps > 0)
		return kbp_log_fail(log, ENOTEMPTY, "log directory %s holds %u segment and %u snapshot "
				    "files of a log without its identity file: refusing to create a new log "
				    "over them (move them away first)", log->dir, sv->segs, sv->snaps);
	if (sv->other[0])
		return kbp_log_fail(log, ENOTEMPTY, "log directory %s holds '%s', which is not part of a "
				    "kbpaxos log: a log needs a directory of its own", log->dir, sv->other);
	return 0;
}

/* flock on kbpaxos.lock, held until close: one writer per log, on this host. */
static int take_lock(struct kbp_log *log)
{
	char pid[32] = "";
	ssize_t n;
	int fd = openat(log->dirfd, KBP_LOG_LOCK_NAME, O_RDWR | O_CREAT | O_CLOEXEC, 0644);

	if (fd < 0)
		return kbp_log_fail(log, errno, "log directory %s: cannot create %s: %s", log->dir,
				    KBP_LOG_LOCK_NAME, strerror(errno));
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int rc = errno;

		n = pread(fd, pid, sizeof(pid) - 1, 0);
		pid[n > 0 ? n : 0] = '\0';
		pid[strcspn(pid, "\n")] = '\0';
		close(fd);
		if (rc == EWOULDBLOCK)
			return kbp_log_fail(log, EBUSY, "log directory %s is in use by another process "
					    "(pid %s, from %s): two nodes must never share a log_dir, and "
					    "nothing may write a log a node is using", log->dir,
					    pid[0] ? pid : "unknown", KBP_LOG_LOCK_NAME);
		return kbp_log_fail(log, rc, "log directory %s: flock %s: %s", log->dir, KBP_LOG_LOCK_NAME,
				    strerror(rc));
	}
	n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, pid, (size_t)n, 0) != n)
		(void)0;   /* the pid only makes the "in use" message nicer */
	log->lock_fd = fd;
	return 0;
}

static void owner_str(char *out, size_t cap, const struct kbp_log_owner *o)
{
	snprintf(out, cap, "cluster %" PRIu32 " node %" PRIu32 " (config digest %016" PRIx64 ")",
		 o->cluster_id, o->node_id, o->config_digest);
}

/* The identity file against what this process is (or, adopt_identity, adopted from it). */
static int check_owner(struct kbp_log *log)
{
	const struct kbp_log_owner *mine = &log->owner, *its = &log->ident.owner;
	char a[96], b[96];

	if (log->cfg.adopt_identity) {
		log->owner = *its;
		return 0;
	}
	owner_str(a, sizeof(a), its);
	owner_str(b, sizeof(b), mine);
	if (its->cluster_id != mine->cluster_id || its->node_id != mine->node_id)
		return kbp_log_fail(log, EXDEV, "log %s belongs to %s, but this is %s: is log_dir another "
				    "node's log? refusing to use it", log->dir, a, b);
	if (its->config_digest != mine->config_digest)
		return kbp_log_fail(log, EXDEV, "log %s was written under config digest %016" PRIx64 ", "
				    "but this node's config has digest %016" PRIx64 ": the cluster's "
				    "safety-relevant settings (nodes, addresses, ports, leases, lease_ms, "
				    "max_drift_ppm, batch and state-machine limits; docs/CONFIG.md) changed "
				    "since. A log is only valid under the config it was written with, the "
				    "same on every node: restore that config (docs/DEPLOY.md, \"Changing the "
				    "config\")", log->dir, its->config_digest, mine->config_digest);
	return 0;
}

static int load_ident(struct kbp_log *log)
{
	uint8_t b[KBP_LOG_HDR_SIZE + 1];
	int fd = openat(log->dirfd, KBP_LOG_IDENT_NAME, O_RDONLY | O_CLOEXEC), rc;
	ssize_t n;

	if (fd < 0)
		return kbp_log_fail(log, errno, "log %s: cannot read %s: %s", log->dir, KBP_LOG_IDENT_NAME,
				    strerror(errno));
	n = pread(fd, b, sizeof(b), 0);
	rc = errno;
	close(fd);
	if (n < 0)
		return kbp_log_fail(log, rc, "log %s: reading %s: %s", log->dir, KBP_LOG_IDENT_NAME, strerror(rc));
	if (n != KBP_LOG_HDR_SIZE || kbp_log_ident_decode(b, &log->ident) < 0)
		return kbp_log_fail(log, EBADMSG, "log %s: corruption in %s: not a kbpaxos identity file "
				    "(%zd bytes, magic or checksum wrong); refusing to guess whose log this is",
				    log->dir, KBP_LOG_IDENT_NAME, n);
	if (log->ident.version != KBP_LOG_VERSION)
		return kbp_log_fail(log, EPROTONOSUPPORT, "log %s: %s was written by log format version %u; "
				    "this build reads version %u", log->dir, KBP_LOG_IDENT_NAME,
				    log->ident.version, KBP_LOG_VERSION);
	if (log->ident.first_seq == 0 || (log->ident.last_seq == 0 && log->ident.first_seq != 1) ||
	    (log->ident.last_seq != 0 && log->ident.first_seq > log->ident.last_seq) ||
	    (log->ident.snap_upto == 0 && log->ident.first_seq != 1))
		return kbp_log_fail(log, EBADMSG, "log %s: corruption in %s: segments %" PRIu64 "..%" PRIu64
				    " with snapshot %" PRIu64 " is not a possible log", log->dir,
				    KBP_LOG_IDENT_NAME, log->ident.first_seq, log->ident.last_seq,
				    log->ident.snap_upto);
	return check_owner(log);
}

int kbp_log_ident_open(struct kbp_log *log)
{
	struct survey sv;
	int rc;

	log->owner = (struct kbp_log_owner){ .cluster_id = log->cfg.cluster_id, .node_id = log->cfg.node_id,
					     .config_digest = log->cfg.config_digest };
	if ((rc = survey_dir(log, &sv)) < 0)
		return rc;
	if (!sv.ident && !log->cfg.create)
		return no_log(log, &sv);         /* nothing created: not even the lock file */
	if (log->cfg.create && (rc = check_creatable(log, &sv)) < 0)
		return rc;
	if (!log->cfg.read_only && (rc = take_lock(log)) < 0)
		return rc;
	if (!log->cfg.create)
		return load_ident(log);
	/* Under the lock: another --init may have won the race since the survey. */
	if (faccessat(log->dirfd, KBP_LOG_IDENT_NAME, F_OK, 0) == 0)
		return check_creatable(log, &(struct survey){ .ident = true });
	log->creating = true;
	log->ident = (struct kbp_log_ident_rec){ .version = KBP_LOG_VERSION, .first_seq = 1,
						 .owner = log->owner };
	return 0;
}

int kbp_log_ident_write(int dirfd, const char *dir, const struct kbp_log_ident_rec *r, char *msg,
			size_t msglen)
{
	uint8_t b[KBP_LOG_HDR_SIZE];
	int fd, rc = 0;

	assert(r->version == KBP_LOG_VERSION && r->first_seq >= 1);
	kbp_log_ident_encode(b, r);
	fd = openat(dirfd, KBP_LOG_IDENT_TMP, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		rc = errno;
	else if (pwrite(fd, b, sizeof(b), 0) != (ssize_t)sizeof(b))
		rc = errno ? errno : EIO;
	else if (fsync(fd) < 0)
		rc = errno;
	if (fd >= 0)
		close(fd);
	if (rc == 0 && renameat(dirfd, KBP_LOG_IDENT_TMP, dirfd, KBP_LOG_IDENT_NAME) < 0)
		rc = errno;
	if (rc == 0 && fsync(dirfd) < 0)
		rc = errno;
	if (rc)
		snprintf(msg, msglen, "log %s: writing the identity file %s failed: %s", dir,
			 KBP_LOG_IDENT_NAME, strerror(rc));
	return rc;
}

int kbp_log_owner_check(struct kbp_log *log, const char *name, const struct kbp_log_owner *o)
{
	char a[96], b[96];

	if (kbp_log_owner_equal(o, &log->owner))
		return 0;
	owner_str(a, sizeof(a), o);
	owner_str(b, sizeof(b), &log->owner);
	return kbp_log_fail(log, EXDEV, "log %s: %s belongs to %s, but this log to %s: a file from "
			    "another log was put here; refusing it", log->dir, name, a, b);
}
