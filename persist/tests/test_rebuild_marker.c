/* SPDX-License-Identifier: MIT */
/*
 * The rebuild marker (kbp_rebuild_marker.h) in a real directory: absent, set (durably,
 * it survives reopening), the directory counts as empty with only the marker in it and
 * not with anything else, cleared, cleared again.  Exits 0 (pass) or 1 (fail).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kbp_rebuild_marker.h"

static int failures;

#define CHECK(cond)                                                               \
	do {                                                                      \
		if (!(cond)) {                                                    \
			fprintf(stderr, "%s:%d: check failed: %s (%s)\n", __FILE__, __LINE__, #cond, err); \
			failures++;                                               \
		}                                                                 \
	} while (0)

int main(void)
{
	char dir[] = "rebuild-marker.XXXXXX", err[256] = "", path[512];
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	CHECK(kbp_rebuild_marker_present(dir, err, sizeof(err)) == 0);
	CHECK(kbp_rebuild_dir_empty(dir, err, sizeof(err)) == 1);
	CHECK(kbp_rebuild_marker_set(dir, err, sizeof(err)) == 0);
	CHECK(kbp_rebuild_marker_present(dir, err, sizeof(err)) == 1);
	CHECK(kbp_rebuild_dir_empty(dir, err, sizeof(err)) == 1);      /* the marker alone */

	snprintf(path, sizeof(path), "%s/%s", dir, KBP_REBUILD_MARKER);
	FILE *f = fopen(path, "r");
	char line[128] = "";
	CHECK(f && fgets(line, sizeof(line), f) && strstr(line, "rebuild started"));
	if (f)
		fclose(f);

	snprintf(path, sizeof(path), "%s/log-0000000001.seg", dir);
	f = fopen(path, "w");
	CHECK(f != NULL);
	if (f)
		fclose(f);
	CHECK(kbp_rebuild_dir_empty(dir, err, sizeof(err)) == 0);     /* a log: not for --rebuild */
	unlink(path);

	CHECK(kbp_rebuild_marker_clear(dir, err, sizeof(err)) == 0);
	CHECK(kbp_rebuild_marker_present(dir, err, sizeof(err)) == 0);
	CHECK(kbp_rebuild_marker_clear(dir, err, sizeof(err)) == 0);   /* no marker: not an error */

	CHECK(kbp_rebuild_marker_present("no-such-dir/x", err, sizeof(err)) == 0);
	CHECK(kbp_rebuild_marker_set("no-such-dir/x", err, sizeof(err)) < 0 && strstr(err, "no-such-dir"));
	CHECK(kbp_rebuild_dir_empty("no-such-dir/x", err, sizeof(err)) < 0);
	rmdir(dir);
	if (failures)
		fprintf(stderr, "%d checks failed\n", failures);
	return failures ? 1 : 0;
}
