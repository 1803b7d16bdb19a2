/* SPDX-License-Identifier: MIT */
/* The rebuild marker file in a log directory (kbp_rebuild_marker.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kbp_rebuild_marker.h"

static int fail(int e, char *err, size_t errlen, const char *what, const char *path)
{
	snprintf(err, errlen, "%s %s: %s", what, path, strerror(e));
	return -e;
}

static int sync_dir(const char *dir, char *err, size_t errlen)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return fail(errno, err, errlen, "open directory", dir);
	int r = fsync(fd) < 0 ? fail(errno, err, errlen, "fsync directory", dir) : 0;
	close(fd);
	return r;
}

static int marker_path(const char *dir, char *path, size_t len, char *err, size_t errlen)
{
	if ((size_t)snprintf(path, len, "%s/%s", dir, KBP_REBUILD_MARKER) >= len)
		return fail(ENAMETOOLONG, err, errlen, "rebuild marker in", dir);
	return 0;
}

int kbp_rebuild_marker_present(const char *dir, char *err, size_t errlen)
{
	char path[4096];
	int r = marker_path(dir, path, sizeof(path), err, errlen);
	if (r < 0)
		return r;
	if (access(path, F_OK) == 0)
		return 1;
	return errno == ENOENT ? 0 : fail(errno, err, errlen, "check", path);
}

int kbp_rebuild_marker_set(const char *dir, char *err, size_t errlen)
{
	char path[4096], text[96];
	int r = marker_path(dir, path, sizeof(path), err, errlen);
	if (r < 0)
		return r;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return fail(errno, err, errlen, "create", path);
	int n = snprintf(text, sizeof(text), "kbpaxos rebuild started at unix time %lld\n", (long long)time(NULL));
	if (write(fd, text, (size_t)n) != n)
		r = fail(errno ? errno : EIO, err, errlen, "write", path);
	else if (fsync(fd) < 0)
		r = fail(errno, err, errlen, "fsync", path);
	close(fd);
	return r < 0 ? r : sync_dir(dir, err, errlen);
}

int kbp_rebuild_marker_clear(const char *dir, char *err, size_t errlen)
{
	char path[4096];
	int r = marker_path(dir, path, sizeof(path), err, errlen);
	if (r < 0)
		return r;
	if (unlink(path) < 0)
		return errno == ENOENT ? 0 : fail(errno, err, errlen, "remove", path);
	return sync_dir(dir, err, errlen);
}

int kbp_rebuild_dir_empty(const char *dir, char *err, size_t errlen)
{
	DIR *dp = opendir(dir);
	if (!dp)
		return fail(errno, err, errlen, "open directory", dir);
	int empty = 1;
	for (struct dirent *de; (de = readdir(dp)) != NULL;) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") || !strcmp(de->d_name, KBP_REBUILD_MARKER) ||
		    !strcmp(de->d_name, "lost+found"))
			continue;        /* a new filesystem's own directory: a log may own a whole mount */
		empty = 0;
		break;
	}
	closedir(dp);
	return empty;
}
