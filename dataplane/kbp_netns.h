/* SPDX-License-Identifier: MIT */
/*
 * Entering the network namespace a config names ([cluster] netns, docs/CONFIG.md).  The
 * one-box cluster lives in its own namespace so that none of its packets exists in the
 * host's and two clusters on one box cannot collide; every tool that sends (kbpaxosd,
 * kbpaxos-gen, kbpaxos-cli, the test clients) enters it itself, so each works from the
 * host shell.  memif's abstract sockets are per namespace too, so all processes of one
 * cluster must be in the same one.
 */
#ifndef KBP_NETNS_H
#define KBP_NETNS_H

#include <stddef.h>

/* Where `ip netns add NAME` puts its handle. */
#define KBP_NETNS_DIR "/var/run/netns"

/*
 * Move the calling thread into the named namespace (/var/run/netns/NAME).  Call it while
 * the process has one thread: setns() moves only the caller, and every thread and socket
 * created afterwards inherits its namespace.  Does nothing for an empty name, or when the
 * thread is already in that namespace (so it also works for an unprivileged process
 * started inside it).  Returns 0, or a negative errno with one line in err that names
 * the namespace and what to do.
 */
int kbp_netns_enter(const char *name, char *err, size_t err_len);

#endif
