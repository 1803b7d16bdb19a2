/* SPDX-License-Identifier: MIT */
/*
 * Live state through DPDK telemetry (read with dpdk-telemetry.py).  Callbacks run on
 * DPDK's telemetry thread, so they only read counters the lcores publish with relaxed
 * atomic stores; each value is current, a set of them is only roughly simultaneous.
 */
#include <errno.h>
#include <stdio.h>

#include <jemalloc/jemalloc.h>
#include <rte_telemetry.h>

#include "kbp_daemon.h"

static struct kbp_daemon *tel_daemon;     /* the telemetry API takes no user argument */

#define PUB_STORE(field, v) __atomic_store_n(&d->pub.field, (uint64_t)(v), __ATOMIC_RELAXED)
#define PUB_LOAD(field) __atomic_load_n(&tel_daemon->pub.field, __ATOMIC_RELAXED)

/* Called by the consensus lcore about once a millisecond. */
void kbp_publish(struct kbp_daemon *d, uint64_t now)
{
	struct kbp_node_status st;
	kbp_node_get_status(d->node, &st);
	/* Role changes are rare and the first thing to look at after a latency spike. */
	if (st.role != d->pub.role || st.leader != d->pub.leader)
		KBP_LOG(INFO, "now %s, leader %s%u, ballot %" PRIx64 " (elections %" PRIu64
			", lease lapses %" PRIu64 ")", kbp_role_name(st.role),
			st.leader == KBP_LEADER_UNKNOWN ? "unknown " : "", st.leader == KBP_LEADER_UNKNOWN ?
			0u : st.leader, st.ballot, st.stats.elections, st.stats.lease_lapses);
	/* A chosen value contradicted by a peer: a broken node or a forged frame (issue 12). */
	if (st.stats.chosen_conflicts != d->pub.chosen_conflicts)
		KBP_LOG(ERR, "inconsistency: node %u sent a value for slot %" PRIu64 " that contradicts the one "
			"chosen here (kept ours; %" PRIu64 " such conflicts so far)", st.conflict_from,
			st.conflict_slot, st.stats.chosen_conflicts);
	if (st.rebuild != d->pub.rebuild)
		KBP_LOG(INFO, "rebuild: %s (peers' highest promise %" PRIx64 ", leader ballot %" PRIx64
			", waits for slot %" PRIu64 ", commit %" PRIu64 ")", kbp_rebuild_stage_name(st.rebuild),
			st.rebuild_floor, st.rebuild_ballot, st.rebuild_target, st.commit);
	PUB_STORE(chosen_conflicts, st.stats.chosen_conflicts);
	PUB_STORE(conflict_slot, st.conflict_slot);
	PUB_STORE(conflict_from, st.conflict_from);
	PUB_STORE(ballots_refused, st.stats.ballots_refused);
	PUB_STORE(ballots_forged, st.stats.ballots_forged);
	PUB_STORE(ballots_exhausted, st.stats.ballots_exhausted);
	PUB_STORE(catchups_refused, st.stats.catchups_refused);
	PUB_STORE(rebuild, st.rebuild);
	PUB_STORE(rebuild_floor, st.rebuild_floor);
	PUB_STORE(rebuild_ballot, st.rebuild_ballot);
	PUB_STORE(rebuild_target, st.rebuild_target);
	PUB_STORE(role, st.role);
	PUB_STORE(leader, st.leader);
	PUB_STORE(ballot, st.ballot);
	PUB_STORE(promised, st.promised);
	PUB_STORE(commit, st.commit);
	PUB_STORE(applied, st.applied);
	PUB_STORE(next_slot, st.next_slot);
	PUB_STORE(log_base, st.log_base);
	PUB_STORE(lease_until_ns, st.lease_until_ns);
	PUB_STORE(now_ns, now);
	PUB_STORE(queue_bytes, st.queue_bytes);
	PUB_STORE(ring_depth, rte_ring_count(d->rx_ring));
	PUB_STORE(persist_issued, st.persist_issued);
	PUB_STORE(persist_durable, st.persist_durable);
	PUB_STORE(persist_writes, kbp_hist_total(&d->persist_lat));
	/* A percentile walks the whole histogram (~2.5 us): ten times a second is plenty. */
	if (now - d->pct_published_ns >= 100000000ull) {
		d->pct_published_ns = now;
		PUB_STORE(persist_p50_ns, kbp_hist_value_at_percentile(&d->persist_lat, 50.0));
		PUB_STORE(persist_p99_ns, kbp_hist_value_at_percentile(&d->persist_lat, 99.0));
		PUB_STORE(persist_p999_ns, kbp_hist_value_at_percentile(&d->persist_lat, 99.9));
	}
	PUB_STORE(msgs_in, st.stats.msgs_in);
	PUB_STORE(msgs_out, st.stats.msgs_out);
	PUB_STORE(msgs_bad, st.stats.msgs_bad);
	PUB_STORE(msgs_stale, st.stats.msgs_stale);
	PUB_STORE(cmds_submitted, st.stats.cmds_submitted);
	PUB_STORE(cmds_busy, st.stats.cmds_busy);
	PUB_STORE(cmds_applied, st.stats.cmds_applied);
	PUB_STORE(elections, st.stats.elections);
	PUB_STORE(leader_changes, st.stats.leader_changes);
	PUB_STORE(lease_lapses, st.stats.lease_lapses);
	PUB_STORE(retransmits, st.stats.retransmits);
	PUB_STORE(catchups, st.stats.catchups);
	PUB_STORE(snapshots_sent, st.stats.snapshots_sent);
	PUB_STORE(snapshots_installed, st.stats.snapshots_installed);
	PUB_STORE(lease_reads, st.stats.lease_reads);
	PUB_STORE(reads_via_log, st.stats.reads_via_log);
	uint64_t txd = 0;
	for (unsigned i = 0; i < d->n_ports; i++)
		for (unsigned c = 0; c < KBP_TX_DROP_COUNT; c++) {
			txd += d->port[i].tx_drop[c];
			PUB_STORE(port_tx_drop[i][c], d->port[i].tx_drop[c]);
		}
	PUB_STORE(tx_dropped, txd);
	/* The RX lcore owns rx_drops; a torn read of a counter it is bumping is harmless here. */
	for (unsigned i = 0; i < KBP_WIRE_DROP_COUNT; i++)
		PUB_STORE(drops[i], __atomic_load_n(&d->rx_drops.n[i], __ATOMIC_RELAXED));
	PUB_STORE(rx_ring_full, __atomic_load_n(&d->rx_ring_full, __ATOMIC_RELAXED));
}

static int tel_status(const char *cmd, const char *params, struct rte_tel_data *t)
{
	(void)cmd;
	(void)params;
	struct kbp_daemon *d = tel_daemon;
	uint64_t now = PUB_LOAD(now_ns), lease = PUB_LOAD(lease_until_ns);
	rte_tel_data_start_dict(t);
	rte_tel_data_add_dict_int(t, "node", (int)d->self);
	rte_tel_data_add_dict_string(t, "role", kbp_role_name((unsigned)PUB_LOAD(role)));
	rte_tel_data_add_dict_int(t, "leader", PUB_LOAD(leader) == KBP_LEADER_UNKNOWN ? -1 : (int)PUB_LOAD(leader));
#define U64(name) rte_tel_data_add_dict_u64(t, #name, PUB_LOAD(name))
	rte_tel_data_add_dict_string(t, "rebuild", kbp_rebuild_stage_name((unsigned)PUB_LOAD(rebuild)));
	U64(ballot);
	U64(promised);
	U64(commit);
	U64(applied);
	U64(next_slot);
	U64(log_base);
	rte_tel_data_add_dict_u64(t, "lease_remaining_us", lease > now ? (lease - now) / 1000 : 0);
	U64(queue_bytes);
	U64(ring_depth);
	U64(persist_issued);
	U64(persist_durable);
	U64(persist_writes);
	U64(persist_p50_ns);
	U64(persist_p99_ns);
	U64(persist_p999_ns);
	U64(batches);
	U64(batch_cmds);
	U64(msgs_in);
	U64(msgs_out);
	U64(msgs_bad);
	U64(msgs_stale);
	U64(cmds_submitted);
	U64(cmds_busy);
	U64(cmds_applied);
	U64(elections);
	U64(leader_changes);
	U64(lease_lapses);
	U64(retransmits);
	U64(catchups);
	U64(snapshots_sent);
	U64(snapshots_installed);
	U64(lease_reads);
	U64(reads_via_log);
	U64(tx_dropped);
	/* TX drops by cause, summed over ports (per port: /kbpaxos/ports). */
	uint64_t cause[KBP_TX_DROP_COUNT] = { 0 }, oerrors = 0, flaps = 0;
	for (unsigned i = 0; i < d->n_ports; i++) {
		for (unsigned c = 0; c < KBP_TX_DROP_COUNT; c++)
			cause[c] += PUB_LOAD(port_tx_drop[i][c]);
		struct rte_eth_stats es;
		if (rte_eth_stats_get(d->port[i].port_id, &es) == 0)
			oerrors += es.oerrors;
		flaps += __atomic_load_n(&d->links.link[i].downs, __ATOMIC_RELAXED);
	}
	for (unsigned c = 0; c < KBP_TX_DROP_COUNT; c++) {
		char name[48];
		snprintf(name, sizeof(name), "tx_drop_%s", kbp_tx_drop_name(c));
		rte_tel_data_add_dict_u64(t, name, cause[c]);
	}
	rte_tel_data_add_dict_u64(t, "tx_port_errors", oerrors);   /* the PMDs' own oerrors */
	U64(replies_too_big);
	U64(replies_unroutable);
	U64(rx_ring_full);
	rte_tel_data_add_dict_u64(t, "links_down", kbp_links_down(&d->links));
	rte_tel_data_add_dict_u64(t, "link_flaps", flaps);
	U64(rebuild_floor);
	U64(rebuild_ballot);
	U64(rebuild_target);
	U64(ballots_refused);
	U64(ballots_forged);
	U64(ballots_exhausted);
	U64(catchups_refused);
	U64(chosen_conflicts);
	U64(conflict_slot);
	U64(conflict_from);
#undef U64
	return 0;
}

/* One dict per port: its link (state, transitions, re-dials), frame limit and TX drops. */
static int tel_ports(const char *cmd, const char *params, struct rte_tel_data *t)
{
	(void)cmd;
	(void)params;
	struct kbp_daemon *d = tel_daemon;
	rte_tel_data_start_dict(t);
	for (unsigned i = 0; i < d->n_ports; i++) {
		const struct kbp_link *l = &d->links.link[i];
		struct rte_tel_data *p = rte_tel_data_alloc();
		if (p == NULL)
			return -ENOMEM;
		rte_tel_data_start_dict(p);
		rte_tel_data_add_dict_string(p, "name", d->host->dev[i].name);
		rte_tel_data_add_dict_string(p, "link", kbp_link_is_up(l) ? "up" : "down");
		rte_tel_data_add_dict_u64(p, "link_ups", __atomic_load_n(&l->ups, __ATOMIC_RELAXED));
		rte_tel_data_add_dict_u64(p, "link_downs", __atomic_load_n(&l->downs, __ATOMIC_RELAXED));
		rte_tel_data_add_dict_u64(p, "redials", __atomic_load_n(&l->redials, __ATOMIC_RELAXED));
		rte_tel_data_add_dict_u64(p, "redial_failures",
					  __atomic_load_n(&l->redial_failures, __ATOMIC_RELAXED));
		rte_tel_data_add_dict_int(p, "redial", l->redial);
		rte_tel_data_add_dict_u64(p, "frame_max", d->port[i].frame_max);
		for (unsigned c = 0; c < KBP_TX_DROP_COUNT; c++) {
			char name[48];
			snprintf(name, sizeof(name), "tx_drop_%s", kbp_tx_drop_name(c));
			rte_tel_data_add_dict_u64(p, name, PUB_LOAD(port_tx_drop[i][c]));
		}
		struct rte_eth_stats es;
		if (rte_eth_stats_get(d->port[i].port_id, &es) == 0) {
			rte_tel_data_add_dict_u64(p, "opackets", es.opackets);
			rte_tel_data_add_dict_u64(p, "ipackets", es.ipackets);
			rte_tel_data_add_dict_u64(p, "tx_port_errors", es.oerrors);
		}
		rte_tel_data_add_dict_container(t, d->host->dev[i].label, p, 0);
	}
	return 0;
}

static int tel_drops(const char *cmd, const char *params, struct rte_tel_data *t)
{
	(void)cmd;
	(void)params;
	rte_tel_data_start_dict(t);
	for (int i = 0; i < KBP_WIRE_DROP_COUNT; i++)
		rte_tel_data_add_dict_u64(t, kbp_wire_drop_name(i), PUB_LOAD(drops[i]));
	return 0;
}

static int tel_jemalloc(const char *cmd, const char *params, struct rte_tel_data *t)
{
	(void)cmd;
	(void)params;
	uint64_t epoch = 1;
	size_t sz = sizeof(epoch);
	mallctl("epoch", &epoch, &sz, &epoch, sz);     /* refresh jemalloc's cached stats */
	rte_tel_data_start_dict(t);
	static const char *const keys[] = { "stats.allocated", "stats.active", "stats.resident", "stats.mapped" };
	for (unsigned i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		size_t v = 0, vsz = sizeof(v);
		if (mallctl(keys[i], &v, &vsz, NULL, 0) == 0)
			rte_tel_data_add_dict_u64(t, keys[i] + 6, v);
	}
	return 0;
}

void kbp_telemetry_register(struct kbp_daemon *d)
{
	tel_daemon = d;
	rte_telemetry_register_cmd("/kbpaxos/status", tel_status,
				   "Role, ballot, commit/applied index, lease, queues, persist latency, counters");
	rte_telemetry_register_cmd("/kbpaxos/drops", tel_drops, "Received frames dropped, per reason");
	rte_telemetry_register_cmd("/kbpaxos/ports", tel_ports,
				   "Per port: link state, ups/downs, re-dials, frame limit, TX drops by cause");
	rte_telemetry_register_cmd("/kbpaxos/jemalloc", tel_jemalloc, "jemalloc allocator statistics (bytes)");
}
