/* SPDX-License-Identifier: MIT */
/*
 * The rebuild marker: a file KBP_REBUILD_MARKER in a node's log directory says "this
 * node lost its durable state and has not finished rebuilding: start it as a non-voting
 * learner" (consensus/kbp_rebuild.c).  It is written and synced, file and directory,
 * before the node sends anything, and removed (directory synced) only once the node
 * votes again, so a crash at any moment in between restarts it still rebuilding.
 * Functions return 0 or a negative errno with a sentence in err naming the path.
 */
#ifndef KBP_REBUILD_MARKER_H
#define KBP_REBUILD_MARKER_H

#include <stddef.h>

#define KBP_REBUILD_MARKER "REBUILDING"

/* 1 if the marker is in dir, 0 if not, or a negative errno (err says why). */
int kbp_rebuild_marker_present(const char *dir, char *err, size_t errlen);
/* Creates the marker durably (fsync of the file and of dir). */
int kbp_rebuild_marker_set(const char *dir, char *err, size_t errlen);
/* Removes it durably (fsync of dir); no marker is not an error. */
int kbp_rebuild_marker_clear(const char *dir, char *err, size_t errlen);
/* 1 if dir holds nothing but (perhaps) the marker and lost+found, 0 if anything else, or -errno. */
int kbp_rebuild_dir_empty(const char *dir, char *err, size_t errlen);

#endif
