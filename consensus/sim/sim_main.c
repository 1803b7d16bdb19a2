/* SPDX-License-Identifier: MIT */
/*
 * kbpaxos-sim --seeds N [--seed S] [--nodes 3|5] [--ops M] [--clients C]
 *             [--faults none|net|crash|all] [--wipes on|off] [--leases on|off] [--break NAME]
 *             [--verbose] [--failover] [--late-dups on|off]
 * Crash faults (crash, all) include disk wipes unless --wipes off: a node loses its whole
 * durable state and rebuilds, at most one at a time.
 * Runs seeds S .. S+N-1 and prints one summary line ending in violations=K; exits 1 if
 * K > 0, after printing the trace of the first failing seed (replay it with --seed).
 * --expect-violations inverts that (exit 0 only if K > 0), for the deliberate breaks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kbp_node.h"
#include "sim.h"

static void usage(void)
{
	fprintf(stderr,
		"usage: kbpaxos-sim [--seeds N] [--seed S] [--nodes 3|5] [--ops M] [--clients C]\n"
		"                   [--faults none|net|crash|all] [--wipes on|off] [--leases on|off] [--verbose]\n"
		"                   [--break persist-before-reply|forget-promise|lease-drift|lease-from-grant|\n"
		"                            session-reexecute|lease-clock-early|rebuild-votes-early]\n"
		"                   [--failover] [--expect-violations] [--late-dups on|off]\n");
	exit(2);
}

static const char *faults_name(enum sim_faults f)
{
	static const char *const names[] = { "none", "net", "crash", "all" };
	return names[f];
}

static uint64_t num(const char *flag, const char *v)
{
	char *end;
	unsigned long long x = strtoull(v, &end, 10);
	if (!*v || *end) {
		fprintf(stderr, "kbpaxos-sim: %s needs a number, got '%s'\n", flag, v);
		exit(2);
	}
	return x;
}

int main(int argc, char **argv)
{
	struct sim_opts o = { .seed = 1, .nodes = 3, .clients = 4, .ops = 200, .faults = SIM_FAULTS_ALL,
			      .late_dups = true };
	uint64_t seeds = 1;
	bool expect_violations = false;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--verbose")) {
			o.verbose = true;
			continue;
		}
		if (!strcmp(a, "--expect-violations")) {
			expect_violations = true;
			continue;
		}
		if (!strcmp(a, "--failover")) {
			o.kill_leader_once = true;
			continue;
		}
		if (!v)
			usage();
		i++;
		if (!strcmp(a, "--seeds"))
			seeds = num(a, v);
		else if (!strcmp(a, "--seed"))
			o.seed = num(a, v);
		else if (!strcmp(a, "--nodes"))
			o.nodes = (unsigned)num(a, v);
		else if (!strcmp(a, "--ops"))
			o.ops = (unsigned)num(a, v);
		else if (!strcmp(a, "--clients"))
			o.clients = (unsigned)num(a, v);
		else if (!strcmp(a, "--faults")) {
			if (!strcmp(v, "none")) o.faults = SIM_FAULTS_NONE;
			else if (!strcmp(v, "net")) o.faults = SIM_FAULTS_NET;
			else if (!strcmp(v, "crash")) o.faults = SIM_FAULTS_CRASH;
			else if (!strcmp(v, "all")) o.faults = SIM_FAULTS_ALL;
			else usage();
		} else if (!strcmp(a, "--late-dups")) {
			if (!strcmp(v, "on")) o.late_dups = true;
			else if (!strcmp(v, "off")) o.late_dups = false;
			else usage();
		} else if (!strcmp(a, "--wipes")) {
			if (!strcmp(v, "on")) o.no_wipes = false;
			else if (!strcmp(v, "off")) o.no_wipes = true;
			else usage();
		} else if (!strcmp(a, "--leases")) {
			if (!strcmp(v, "on")) o.leases = true;
			else if (!strcmp(v, "off")) o.leases = false;
			else usage();
		} else if (!strcmp(a, "--break")) {
			if (!strcmp(v, "persist-before-reply")) o.break_flags |= KBP_BREAK_PERSIST_BEFORE_REPLY;
			else if (!strcmp(v, "forget-promise")) o.break_flags |= KBP_BREAK_FORGET_PROMISE;
			else if (!strcmp(v, "lease-from-grant")) o.break_flags |= KBP_BREAK_LEASE_FROM_GRANT, o.leases = true;
			else if (!strcmp(v, "lease-drift")) o.break_flags |= SIM_BREAK_LEASE_DRIFT, o.leases = true;
			else if (!strcmp(v, "session-reexecute")) o.break_flags |= KBP_BREAK_SESSION_REEXECUTE;
			else if (!strcmp(v, "lease-clock-early")) o.break_flags |= SIM_BREAK_LEASE_CLOCK_EARLY, o.leases = true;
			else if (!strcmp(v, "rebuild-votes-early")) o.break_flags |= KBP_BREAK_REBUILD_VOTES_EARLY;
			else usage();
		} else {
			usage();
		}
	}
	if (o.nodes < 1 || o.nodes > KBP_NODES_MAX || o.clients < 1 || o.clients > 4000 || o.ops < 1)
		usage();

	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	uint64_t first = o.seed, bad = 0, failed_seed = 0, ops = 0, unknown = 0, reads = 0, lease_reads = 0;
	uint64_t changes = 0, crashes = 0, snaps = 0, failover_sum = 0, failover_n = 0, failover_max = 0;
	uint64_t sessions = 0, expired = 0, late_dups = 0;
	uint64_t wipes = 0, rebuilds = 0, rebuild_crashes = 0;
	char first_why[256] = "";
	for (uint64_t k = 0; k < seeds; k++) {
		struct sim_result r;
		o.seed = first + k;
		sim_run(&o, &r, bad || expect_violations ? NULL : stderr);
		ops += r.ops_done;
		unknown += r.ops_pending_unknown;
		reads += r.reads;
		lease_reads += r.lease_reads;
		changes += r.leader_changes;
		crashes += r.crashes;
		snaps += r.snapshots_installed;
		sessions += r.sessions;
		expired += r.expired;
		late_dups += r.late_dups;
		wipes += r.wipes;
		rebuilds += r.rebuilds;
		rebuild_crashes += r.rebuild_crashes;
		if (r.failover_ns) {
			failover_sum += r.failover_ns;
			failover_n++;
			if (r.failover_ns > failover_max)
				failover_max = r.failover_ns;
		}
		if (r.violations) {
			if (!bad++) {
				failed_seed = o.seed;
				snprintf(first_why, sizeof(first_why), "%s", r.violation);
				fprintf(stderr, "seed %llu: VIOLATION: %s\n  replay: kbpaxos-sim --seed %llu --seeds 1 "
					"--nodes %u --ops %u --faults %s%s --verbose\n",
					(unsigned long long)o.seed, r.violation, (unsigned long long)o.seed, o.nodes, o.ops,
					faults_name(o.faults),
					o.leases ? " --leases on" : "");
				if (o.break_flags || o.no_wipes || !o.late_dups)
					fprintf(stderr, "  (add the same --break / --wipes / --late-dups options)\n");
			}
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("seeds=%llu nodes=%u faults=%s leases=%s ops=%llu unknown=%llu reads=%llu lease_reads=%llu "
	       "leader_changes/run=%.2f crashes=%llu wipes=%llu rebuilt=%llu (%llu crashed midway) snapshots=%llu",
	       (unsigned long long)seeds, o.nodes,
	       faults_name(o.faults),
	       o.leases ? "on" : "off", (unsigned long long)ops, (unsigned long long)unknown,
	       (unsigned long long)reads, (unsigned long long)lease_reads, (double)changes / (double)seeds,
	       (unsigned long long)crashes, (unsigned long long)wipes, (unsigned long long)rebuilds,
	       (unsigned long long)rebuild_crashes, (unsigned long long)snaps);
	printf(" sessions=%llu session_expired=%llu late_dups=%llu", (unsigned long long)sessions,
	       (unsigned long long)expired, (unsigned long long)late_dups);
	if (failover_n)
		printf(" failover_ms_mean=%.2f failover_ms_max=%.2f", (double)failover_sum / (double)failover_n / 1e6,
		       (double)failover_max / 1e6);
	printf(" seeds/s=%.0f", (double)seeds / secs);
	if (bad)
		printf(" first_failing_seed=%llu (%s)", (unsigned long long)failed_seed, first_why);
	printf(" violations=%llu\n", (unsigned long long)bad);
	/* --expect-violations: a deliberately broken protocol must be caught, and nothing else may fail. */
	if (expect_violations)
		return bad ? 0 : 1;
	return bad ? 1 : 0;
}
