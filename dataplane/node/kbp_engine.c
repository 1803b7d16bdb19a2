/* SPDX-License-Identifier: MIT */
/*
 * The consensus lcore: drain the RX ring into the consensus core, feed it time and
 * durability, then do what one flush says: append its persist requests to the log and
 * submit them as one write, send its messages and its client replies in TX bursts.
 * Replies the core holds until durable leave only after the log reports them so.
 */
#include <errno.h>
#include <string.h>

#include "kbp_daemon.h"
#include "kbp_reply_pack.h"

struct kbp_client_addr {
	struct kbp_wire_addr addr;
	uint16_t port_idx;
};

struct engine {
	struct kbp_daemon *d;
	struct kbp_client_addr *addrs;
	struct kbp_reply_frame *frames;      /* KBP_REPLY_PACKS, for the packer */
	struct kbp_reply_packer packer;
	uint64_t durable_seen;           /* from kbp_log_wait inside a flush, reported after */
	uint64_t log_writes_seen;
	uint64_t rollovers_seen;
	uint64_t last_publish, last_housekeeping;
	uint64_t batches, batch_cmds;
	bool failed;
};

/* ---- recovery ----------------------------------------------------------------------- */

struct recover_ctx {
	struct kbp_node *node;
	int err;
	uint64_t slot;
};

static void rec_snapshot(void *arg, const uint8_t *buf, uint64_t len, uint64_t upto)
{
	struct recover_ctx *r = arg;
	if (!r->err && kbp_node_restore_snapshot(r->node, buf, (uint32_t)len) < 0) {
		r->err = -EBADMSG;
		r->slot = upto;
	}
}

static void rec_promise(void *arg, uint64_t ballot)
{
	struct recover_ctx *r = arg;
	if (!r->err && kbp_node_restore_promise(r->node, ballot) < 0) {
		r->err = -EBADMSG;
		r->slot = 0;
	}
}

static void rec_accept(void *arg, uint64_t slot, uint64_t ballot, uint32_t count, const uint8_t *value,
		       uint32_t len)
{
	struct recover_ctx *r = arg;
	if (!r->err && kbp_node_restore_accept(r->node, slot, ballot, count, value, len) < 0) {
		r->err = -EBADMSG;
		r->slot = slot;
	}
}

static void rec_commit(void *arg, uint64_t slot)
{
	struct recover_ctx *r = arg;
	kbp_node_restore_commit(r->node, slot);
}

int kbp_engine_recover(struct kbp_daemon *d)
{
	struct kbp_log_recover_ops ops = {
		.on_snapshot = rec_snapshot, .on_promise = rec_promise,
		.on_accept = rec_accept, .on_commit = rec_commit,
	};
	struct recover_ctx rc = { .node = d->node };
	struct kbp_log_recover_stats st;
	int r = kbp_log_recover(d->log, &ops, &rc, &st);
	if (r < 0) {
		KBP_LOG(ERR, "log %s: %s; refusing to start rather than forget a promise",
			d->host->log_dir, kbp_log_strerror(d->log));
		return r;
	}
	if (rc.err) {
		KBP_LOG(ERR, "log %s: the consensus core refused the record for slot %" PRIu64
			" (bad batch or beyond the in-memory log; raise log_slots?); refusing to start",
			d->host->log_dir, rc.slot);
		return rc.err;
	}
	bool restarted = st.records > 0 || st.snapshot_upto > 0;
	KBP_LOG(INFO, "recovered %" PRIu64 " records from %u segments (promised ballot %" PRIx64
		", snapshot up to slot %" PRIu64 ")%s%s", st.records, st.segments, st.promised,
		st.snapshot_upto, st.tail_note[0] ? "; " : "", st.tail_note);
	if (!d->rebuilding) {
		kbp_node_start(d->node, kbp_now_ns(d), restarted);
		return 0;
	}
	if (kbp_node_start_rebuild(d->node, kbp_now_ns(d)) < 0) {
		KBP_LOG(ERR, "--rebuild needs at least 3 nodes: the others must form a majority without this one");
		return -EINVAL;
	}
	KBP_LOG(NOTICE, "rebuilding (log %s, marker %s/%s): a non-voting learner until a leader elected after "
		"this start has got everything below its first slot to us", d->host->log_dir, d->host->log_dir,
		KBP_REBUILD_MARKER);
	return 0;
}

/*
 * Once the core votes again its closing promise is durable: the marker may go.  If it
 * cannot be removed the node stays correct (it rebuilds once more after a restart).
 */
static void rebuild_poll(struct kbp_daemon *d)
{
	struct kbp_node_status st;
	char err[KBP_CONFIG_ERR_MAX];
	if (!d->rebuilding)
		return;
	kbp_node_get_status(d->node, &st);
	if (st.rebuild != KBP_REBUILD_NONE)
		return;
	d->rebuilding = false;
	if (kbp_rebuild_marker_clear(d->host->log_dir, err, sizeof(err)) < 0)
		KBP_LOG(WARNING, "rebuild complete but %s; the next start rebuilds again", err);
	else
		KBP_LOG(NOTICE, "rebuild complete: votes from promise %" PRIx64 " on (waited for leader ballot %"
			PRIx64 " and slot %" PRIu64 "); marker removed", st.promised, st.rebuild_ballot,
			st.rebuild_target);
}

/* ---- client addresses ------------------------------------------------------------------ */

static void remember_clients(struct engine *e, const struct kbp_rx_meta *meta)
{
	const struct kbp_msg *m = &meta->msg;
	uint32_t off = 0;
	for (uint32_t i = 0; i < m->count; i++) {
		struct kbp_cmd c;
		int size = kbp_cmd_decode(&c, m->payload + off, m->len - off);
		if (size < 0)
			return;              /* the core counts it as malformed */
		off += (uint32_t)size;
		int32_t pos = rte_hash_add_key(e->d->clients, &c.client_id);
		if (pos == -ENOSPC) {
			/* Bounded table: forget everyone; clients re-register with their next retry. */
			rte_hash_reset(e->d->clients);
			pos = rte_hash_add_key(e->d->clients, &c.client_id);
		}
		if (pos < 0)
			continue;
		e->addrs[pos].addr = meta->src.addr;
		e->addrs[pos].port_idx = meta->port;
	}
}

/* ---- TX ------------------------------------------------------------------------------- */

static void tx_frame(struct engine *e, uint16_t port_idx, const struct kbp_wire_addr *src,
		     const struct kbp_wire_addr *dst, const struct kbp_msg *m)
{
	struct kbp_daemon *d = e->d;
	struct kbp_port *p = &d->port[port_idx];
	struct rte_mbuf *mb;
	if (kbp_link_parked(p->link)) {            /* being re-dialled: not ours to touch */
		p->tx_drop[KBP_TX_LINK_DOWN]++;
		return;
	}
	if (unlikely(kbp_wire_frame_size(m->len) > p->frame_max)) {
		p->tx_drop[KBP_TX_TOO_BIG]++;      /* never for replies (packed to fit) */
		return;
	}
	if (kbp_wire_encode_mbuf(d->pool, src, dst, d->cfg->id, m, &mb) < 0) {
		p->tx_drop[KBP_TX_NO_MBUF]++;
		return;
	}
	rte_eth_tx_buffer(p->port_id, 0, p->txb, mb);
}

/*
 * Send what the TX buffers hold.  A port the link thread wants parked is flushed one last
 * time (it is still ours until we acknowledge), then acknowledged and left alone.
 */
static void tx_flush(struct engine *e)
{
	struct kbp_daemon *d = e->d;
	for (uint16_t i = 0; i < d->n_ports; i++) {
		struct kbp_port *p = &d->port[i];
		uint32_t park = __atomic_load_n(&p->link->park, __ATOMIC_ACQUIRE);
		if (!(park & 1u) || p->link->tx_ack != park)
			rte_eth_tx_buffer_flush(p->port_id, 0, p->txb);
		(void)kbp_link_obey(p->link, &p->link->tx_ack);
	}
}

static void send_msgs(struct engine *e, const struct kbp_update *u)
{
	struct kbp_daemon *d = e->d;
	for (uint32_t k = 0; k < u->n_msgs; k++) {
		const struct kbp_msg *m = &u->msgs[k];
		uint8_t port = d->route_port[m->to];
		if (port == KBP_CONFIG_ROUTE_NONE)
			continue;
		if (m->type == KBP_MSG_ACCEPT) {
			e->batches++;
			e->batch_cmds += m->count;
		}
		tx_frame(e, port, &d->addr, &d->ctx.node[m->to].addr, m);
	}
}

/* The packer's callbacks: a destination is a client table position. */
static void reply_send(void *arg, int32_t pos, const uint8_t *payload, uint32_t count, uint32_t len)
{
	struct engine *e = arg;
	const struct kbp_client_addr *a = &e->addrs[pos];
	struct kbp_msg m = {
		.type = KBP_MSG_CLIENT_REP, .from = (uint8_t)e->d->self, .to = KBP_NODE_CLIENT,
		.count = count, .len = len, .payload = payload,
	};
	tx_frame(e, a->port_idx, &e->d->client_addr, &a->addr, &m);
}

static bool same_dest(void *arg, int32_t a, int32_t b)
{
	const struct engine *e = arg;
	return a == b || (e->addrs[a].port_idx == e->addrs[b].port_idx &&
			  memcmp(&e->addrs[a].addr, &e->addrs[b].addr, sizeof(e->addrs[a].addr)) == 0);
}

/* Replies leave through the port their request came in on, in frames that fit it. */
static void send_replies(struct engine *e, const struct kbp_update *u)
{
	struct kbp_daemon *d = e->d;
	for (uint32_t k = 0; k < u->n_replies; k++) {
		const struct kbp_reply *r = &u->replies[k];
		int32_t pos = rte_hash_lookup(d->clients, &r->client_id);
		if (pos < 0) {
			__atomic_store_n(&d->pub.replies_unroutable, d->pub.replies_unroutable + 1, __ATOMIC_RELAXED);
			continue;
		}
		kbp_reply_packer_add(&e->packer, pos, d->port[e->addrs[pos].port_idx].payload_max, r);
	}
	kbp_reply_packer_flush(&e->packer);
	__atomic_store_n(&d->pub.replies_too_big, e->packer.too_big, __ATOMIC_RELAXED);
}

/* ---- persistence ----------------------------------------------------------------------- */

static void log_failed(struct engine *e)
{
	KBP_LOG(ERR, "log %s stopped: %s; refusing to serve", e->d->host->log_dir, kbp_log_strerror(e->d->log));
	e->failed = true;
	__atomic_store_n(e->d->force_quit, true, __ATOMIC_RELAXED);
}

static void persist(struct engine *e, const struct kbp_update *u)
{
	struct kbp_log *log = e->d->log;
	if (!u->n_persist)
		return;
	for (uint32_t k = 0; k < u->n_persist; k++) {
		for (;;) {
			int r = kbp_log_append(log, &u->persist[k]);
			if (r == 0)
				break;
			if (r != -EAGAIN || kbp_log_submit(log) < 0) {
				log_failed(e);
				return;
			}
			/* Both write buffers are full: the disk is the bottleneck, wait for it. */
			uint64_t durable;
			if (kbp_log_wait(log, &durable) < 0) {
				log_failed(e);
				return;
			}
			if (durable > e->durable_seen)
				e->durable_seen = durable;
		}
	}
	if (kbp_log_submit(log) < 0)
		log_failed(e);
}

static void record_write_latency(struct engine *e)
{
	struct kbp_log_stats st;
	kbp_log_get_stats(e->d->log, &st);
	if (st.writes != e->log_writes_seen) {
		e->log_writes_seen = st.writes;
		kbp_hist_record(&e->d->persist_lat, st.last_write_ns);
	}
}

/*
 * Snapshot the state machine once segments pile up, so the log can drop them.  The image
 * is taken here (memory only); the helper thread writes and syncs it while we serve.
 */
static void housekeeping(struct engine *e)
{
	struct kbp_daemon *d = e->d;
	struct kbp_log_stats st;
	uint64_t upto, took_ns;
	int r = kbp_log_snapshot_poll(d->log, &upto, &took_ns);
	if (r > 0)
		KBP_LOG(INFO, "snapshot up to slot %" PRIu64 " installed in %.1f ms, old segments dropped",
			upto, (double)took_ns / 1e6);
	else if (r < 0)
		KBP_LOG(WARNING, "snapshot failed: %s", kbp_log_strerror(d->log));
	kbp_log_get_stats(d->log, &st);
	if (st.rollovers != e->rollovers_seen) {
		e->rollovers_seen = st.rollovers;
		KBP_LOG(INFO, "log rollover %" PRIu64 ": the segment switch blocked %.1f ms (waits for the "
			"helper thread so far: %" PRIu64 ")", st.rollovers, (double)st.last_rollover_ns / 1e6,
			st.helper_waits);
	}
	if (kbp_log_snapshot_busy(d->log) || st.segments_created < st.segments_deleted + 3)
		return;
	int len = kbp_node_snapshot(d->node, d->snap_buf, d->snap_cap, &upto);
	if (len < 0 || kbp_log_snapshot_begin(d->log, d->snap_buf, (uint64_t)len, upto) < 0) {
		KBP_LOG(WARNING, "snapshot up to slot %" PRIu64 " not started: %s", upto,
			len < 0 ? "the state machine image does not fit" : kbp_log_strerror(d->log));
		return;
	}
}

/* ---- the loop --------------------------------------------------------------------------- */

/*
 * The clock is read again after the burst is taken off the ring, and the core checks
 * leases against that reading (issue 11 item 6): a request that waited in the ring, or
 * arrived while this lcore was preempted after its loop-top reading, is served only if
 * the lease still holds now, when its reply is built.  *now moves forward with it.
 */
static unsigned drain_ring(struct engine *e, uint64_t *now)
{
	struct kbp_daemon *d = e->d;
	struct rte_mbuf *mbufs[KBP_BURST];
	unsigned n = rte_ring_dequeue_burst(d->rx_ring, (void **)mbufs, KBP_BURST, NULL);
	if (n)
		*now = kbp_now_ns(d);
	for (unsigned i = 0; i < n; i++) {
		struct kbp_rx_meta *meta = rte_mbuf_to_priv(mbufs[i]);
		if (meta->arp) {
			kbp_arp_answer(d, mbufs[i], meta->port);
			continue;
		}
		if (meta->msg.type == KBP_MSG_CLIENT_REQ)
			remember_clients(e, meta);
		kbp_node_recv(d->node, &meta->msg, *now);    /* copies what it keeps */
		rte_pktmbuf_free(mbufs[i]);
	}
	return n;
}

int kbp_engine_lcore(void *arg)
{
	struct kbp_daemon *d = arg;
	struct engine e = { .d = d };
	unsigned idle = 0;
	uint64_t deadline = 0;

	e.addrs = calloc(KBP_CLIENT_ADDRS, sizeof(*e.addrs));
	e.frames = calloc(KBP_REPLY_PACKS, sizeof(*e.frames));
	if (!e.addrs || !e.frames) {
		KBP_LOG(ERR, "out of memory for the client tables");
		free(e.addrs);
		free(e.frames);
		return -ENOMEM;
	}
	kbp_reply_packer_init(&e.packer, e.frames, d->ctx.cmds_max, reply_send, same_dest, &e);
	KBP_LOG(INFO, "consensus lcore %u: node %u of %u, leases %s", rte_lcore_id(), d->self, d->cfg->nodes,
		d->cfg->leases ? "on" : "off");

	while (!__atomic_load_n(d->force_quit, __ATOMIC_RELAXED)) {
		uint64_t now = kbp_now_ns(d);
		unsigned work = 0;
		bool event = false;
		if (d->rx_inline)
			work += kbp_rx_poll(d);
		unsigned got = drain_ring(&e, &now);
		work += got;
		event = got > 0;
		if (now >= deadline) {
			kbp_node_tick(d->node, now);
			event = true;
		}
		uint64_t durable = 0;
		int r = kbp_log_poll(d->log, &durable);
		if (r < 0) {
			log_failed(&e);
			break;
		}
		if (e.durable_seen > durable)
			durable = e.durable_seen;
		if (r > 0 || e.durable_seen) {
			kbp_node_persisted(d->node, durable, now);
			e.durable_seen = 0;
			record_write_latency(&e);
			event = true;
			work++;
		}
		if (event) {
			struct kbp_update u;
			kbp_node_flush(d->node, now, &u);
			persist(&e, &u);
			send_msgs(&e, &u);
			send_replies(&e, &u);
			deadline = u.deadline_ns;
		}
		tx_flush(&e);
		if (now - e.last_publish > 1000000) {
			e.last_publish = now;
			__atomic_store_n(&d->pub.batches, e.batches, __ATOMIC_RELAXED);
			__atomic_store_n(&d->pub.batch_cmds, e.batch_cmds, __ATOMIC_RELAXED);
			kbp_publish(d, now);
		}
		if (now - e.last_housekeeping > 1000000000ull) {
			e.last_housekeeping = now;
			housekeeping(&e);
			rebuild_poll(d);
		}
		if (work)
			idle = 0;
		else
			kbp_idle(d->idle_adaptive, &idle);   /* a write in flight takes ~100x a short sleep */
	}
	free(e.addrs);
	free(e.frames);
	return e.failed ? -EIO : 0;
}
