/* SPDX-License-Identifier: MIT */
/*
 * kbpaxos-sim: a deterministic cluster simulator.  Real kbp_node instances run against
 * a simulated network (delay, loss, duplication, reordering, partitions), disk (a crash
 * loses what was not reported durable; a wipe loses all of it and the node rebuilds),
 * per-node clocks (offset, rate drift, pauses) and crash/restart, while simulated
 * clients issue put/get/cas with retries, register sessions, come and go, and see their
 * old requests arrive again late.  One seed
 * is one run; the same seed replays it event for event.
 */
#ifndef KBP_SIM_H
#define KBP_SIM_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define SIM_BREAK_LEASE_DRIFT 0x100u      /* clocks drift beyond the configured bound */
#define SIM_BREAK_LEASE_CLOCK_EARLY 0x200u /* the driver reads the clock before a pause, serves after */

enum sim_faults { SIM_FAULTS_NONE, SIM_FAULTS_NET, SIM_FAULTS_CRASH, SIM_FAULTS_ALL };

struct sim_opts {
	uint64_t seed;
	unsigned nodes;
	unsigned clients;
	unsigned ops;                 /* operations per run, over all clients */
	enum sim_faults faults;
	bool leases;
	bool verbose;
	uint32_t break_flags;         /* KBP_BREAK_* | SIM_BREAK_* */
	bool kill_leader_once;        /* measure failover: crash the leader once, then nothing else */
	bool late_dups;               /* old writes and REGISTERs arrive again, long after */
	bool no_wipes;                /* crash faults without the disk-wipe fault */
};

struct sim_result {
	unsigned violations;
	char violation[256];          /* the first one, in words */
	uint64_t ops_done, ops_pending_unknown;
	uint64_t reads, lease_reads;
	uint64_t leader_changes, elections, crashes, snapshots_installed;
	uint64_t wipes, rebuilds;     /* disks wiped; rebuilds that reached voting */
	uint64_t rebuild_crashes;     /* crashes of a node while it rebuilt */
	uint64_t sim_ns;              /* simulated time the run took */
	uint64_t failover_ns;         /* kill_leader_once: crash to first new-leader commit */
	uint64_t events;
	uint64_t sessions;            /* registrations answered */
	uint64_t expired;             /* writes answered SESSION_EXPIRED (outcome unknown) */
	uint64_t late_dups;           /* late duplicates delivered */
};

/* Runs one seed.  Trace lines go to `trace` (may be NULL) if verbose, else kept in a ring. */
void sim_run(const struct sim_opts *o, struct sim_result *res, FILE *trace);

#endif
