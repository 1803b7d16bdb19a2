/* SPDX-License-Identifier: MIT */
/* The deterministic test cluster: nodes, a FIFO network, a disk, a clock and a trace. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define H_SAME_INSTANT_MAX 100000u   /* events at one instant before we call it a livelock */

static void *xrealloc(void *p, size_t size)
{
	void *q = realloc(p, size);
	assert_non_null(q);
	return q;
}

static uint8_t *xdup(const uint8_t *p, uint32_t len)
{
	uint8_t *q = malloc(len ? len : 1);
	assert_non_null(q);
	if (len)
		memcpy(q, p, len);
	return q;
}

void cluster_config_default(struct kbp_node_config *cfg, unsigned nodes)
{
	kbp_node_config_default(cfg);
	cfg->nodes = nodes;
	cfg->window = 8;
	cfg->batch_cmds_max = 16;
	cfg->batch_bytes_max = 4096;
	cfg->msg_bytes_max = 4096 + KBP_PENTRY_HDR_SIZE;
	cfg->log_slots = 64;
	cfg->queue_bytes = 16384;
	cfg->clients_max = 64;
	cfg->kv_keys_max = 64;
	cfg->apply_max = 256;
	cfg->heartbeat_ns = 1 * MS;
	cfg->election_timeout_ns = 10 * MS;
	cfg->retransmit_ns = 3 * MS;
	cfg->backoff_max_shift = 3;
	cfg->leases = false;
	cfg->lease_ns = 10 * MS;
	cfg->max_drift_ppm = 1000;
	cfg->seed = 42;
}

/* ---- trace ------------------------------------------------------------------------------- */

void h_ballot_str(uint64_t b, char *buf, size_t cap)
{
	if (b == KBP_BALLOT_CHOSEN)
		snprintf(buf, cap, "chosen");
	else
		snprintf(buf, cap, "%" PRIu64 ".%u", kbp_ballot_round(b), kbp_ballot_node(b));
}

void cluster_trace(struct cluster *c, const char *fmt, ...)
{
	char *line = c->trace[c->trace_n++ % H_TRACE_LINES];
	int k = snprintf(line, H_TRACE_LEN, "[%9.3f ms] ", (double)c->now / MS);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line + k, (size_t)(H_TRACE_LEN - k), fmt, ap);
	va_end(ap);
	if (c->echo)
		fprintf(stderr, "%s\n", line);
}

void cluster_trace_dump(const struct cluster *c, FILE *f, unsigned last)
{
	unsigned kept = c->trace_n < H_TRACE_LINES ? c->trace_n : H_TRACE_LINES;
	if (last > kept)
		last = kept;
	fprintf(f, "---- trace (last %u of %u lines) ----\n", last, c->trace_n);
	for (unsigned i = c->trace_n - last; i < c->trace_n; i++)
		fprintf(f, "%s\n", c->trace[i % H_TRACE_LINES]);
	fprintf(f, "---- end of trace ----\n");
}

unsigned cluster_trace_mark(const struct cluster *c) { return c->trace_n; }

bool cluster_trace_has(const struct cluster *c, unsigned mark, const char *s1, const char *s2)
{
	unsigned first = c->trace_n > H_TRACE_LINES ? c->trace_n - H_TRACE_LINES : 0;
	if (mark < first)
		mark = first;
	for (unsigned i = mark; i < c->trace_n; i++) {
		const char *line = c->trace[i % H_TRACE_LINES];
		if (strstr(line, s1) && (!s2 || strstr(line, s2)))
			return true;
	}
	return false;
}

static void msg_describe(const struct kbp_msg *m, char *buf, size_t cap)
{
	char b[32];
	h_ballot_str(m->ballot, b, sizeof(b));
	int k = snprintf(buf, cap, "%s b=%s slot=%" PRIu64 " commit=%" PRIu64, kbp_msg_type_name(m->type), b,
			 m->slot, m->commit);
	switch (m->type) {
	case KBP_MSG_NACK:
		h_ballot_str(m->aux, b, sizeof(b));
		k += snprintf(buf + k, cap - (size_t)k, " promised=%s", b);
		break;
	case KBP_MSG_PROMISE:
		k += snprintf(buf + k, cap - (size_t)k, " upto=%" PRIu64 " entries=%u%s", m->aux, m->count,
			      (m->flags & KBP_MF_LAST) ? " last" : "");
		/* Name every reported entry: the reader sees what the new leader learns. */
		for (uint32_t i = 0, off = 0; i < m->count && off + KBP_PENTRY_HDR_SIZE <= m->len; i++) {
			const uint8_t *p = m->payload + off;
			h_ballot_str(kbp_le64_load(p + 8), b, sizeof(b));
			k += snprintf(buf + k, cap - (size_t)k, " [%" PRIu64 " %s]", kbp_le64_load(p), b);
			off += KBP_PENTRY_HDR_SIZE + kbp_pad8(kbp_le32_load(p + 20));
			if ((size_t)k >= cap)
				break;
		}
		break;
	case KBP_MSG_ACCEPT:
	case KBP_MSG_CATCHUP:
		k += snprintf(buf + k, cap - (size_t)k, " cmds=%u", m->count);
		break;
	case KBP_MSG_CATCHUP_REQ:
		k += snprintf(buf + k, cap - (size_t)k, " upto=%" PRIu64, m->aux);
		break;
	case KBP_MSG_SNAPSHOT:
		k += snprintf(buf + k, cap - (size_t)k, " off=%" PRIu64 " total=%u", m->aux, m->count);
		break;
	default:
		break;
	}
	if ((size_t)k < cap && (m->flags & KBP_MF_LEASE_REQ))
		k += snprintf(buf + k, cap - (size_t)k, " lease_req@%.3f", (double)m->lease_stamp / MS);
	if ((size_t)k < cap && (m->flags & KBP_MF_LEASE_GRANT))
		snprintf(buf + k, cap - (size_t)k, " grant@%.3f", (double)m->lease_stamp / MS);
}

/* ---- lifecycle --------------------------------------------------------------------------- */

void cluster_init(struct cluster *c, unsigned n)
{
	assert_true(n >= 1 && n <= H_NODES);
	memset(c, 0, sizeof(*c));
	c->n = n;
	c->latency_ns = 100 * US;
	c->now = 0;
	cluster_config_default(&c->cfg, n);
	c->trace = calloc(H_TRACE_LINES, sizeof(*c->trace));
	assert_non_null(c->trace);
	const char *e = getenv("KBP_TRACE");
	c->echo = e && *e && *e != '0';
	/* KBP_TEST_BREAK=<KBP_BREAK_* bits>: run the tests against a deliberately broken core. */
	const char *brk = getenv("KBP_TEST_BREAK");
	if (brk)
		c->cfg.break_flags = (uint32_t)strtoul(brk, NULL, 0);
	for (unsigned i = 0; i < H_NODES; i++) {
		c->nodes[i].c = c;
		c->nodes[i].id = i;
		c->nodes[i].leader = KBP_LEADER_UNKNOWN;
	}
}

static void recs_free(struct h_rec *r, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(r[i].value);
}

void cluster_fini(struct cluster *c)
{
	for (unsigned i = 0; i < H_NODES; i++) {
		struct h_node *hn = &c->nodes[i];
		kbp_node_free(hn->kn);
		recs_free(hn->disk, hn->n_disk);
		recs_free(hn->pend, hn->n_pend);
		free(hn->disk);
		free(hn->pend);
		for (size_t k = 0; k < hn->n_applied; k++)
			free(hn->applied[k].batch);
		free(hn->applied);
	}
	for (size_t k = 0; k < c->q_n; k++)
		free(c->q[k].payload);
	free(c->q);
	free(c->replies);
	free(c->trace);
	memset(c, 0, sizeof(*c));
}

int cluster_setup(void **state)
{
	struct cluster *c = malloc(sizeof(*c));
	if (!c)
		return -1;
	cluster_init(c, 3);
	*state = c;
	return 0;
}

int cluster_teardown(void **state)
{
	struct cluster *c = *state;
	if (!c->passed)
		cluster_trace_dump(c, stderr, 150);
	cluster_fini(c);
	free(c);
	return 0;
}

static void on_apply(void *arg, uint64_t slot, uint32_t count, const uint8_t *batch, uint32_t len)
{
	struct h_node *hn = arg;
	if (hn->n_applied == hn->cap_applied) {
		hn->cap_applied = hn->cap_applied ? 2 * hn->cap_applied : 64;
		hn->applied = xrealloc(hn->applied, hn->cap_applied * sizeof(*hn->applied));
	}
	struct h_apply *a = &hn->applied[hn->n_applied++];
	a->slot = slot;
	a->count = count;
	a->len = len;
	a->batch = xdup(batch, len);
	struct kbp_cmd cmd;
	if (h_batch_cmd(batch, len, count, 0, &cmd))
		cluster_trace(hn->c, "%u applies slot %" PRIu64 ": %u cmds, first %s client=%" PRIu64 " seq=%" PRIu64,
			      hn->id, slot, count, kbp_op_name(cmd.op), cmd.client_id, cmd.seq);
}

/* The state every node starts from: sessions 1..H_SESSIONS, nothing else (see harness.h). */
static void genesis_restore(const struct cluster *c, struct kbp_node *kn)
{
	struct kbp_kv *kv = h_kv_new(c->cfg.kv_keys_max, c->cfg.clients_max, c->cfg.session_expiry_cmds);
	struct kbp_reply r;
	for (uint64_t k = 1; k <= H_SESSIONS && k <= c->cfg.clients_max; k++) {
		struct kbp_cmd reg = h_register(k);
		assert_true(kbp_kv_apply(kv, &reg, &r));
		assert_int_equal(kbp_le64_load(r.val), k);
	}
	uint32_t cap = kbp_kv_snapshot_bytes_max(kv);
	uint8_t *buf = malloc(cap);
	assert_non_null(buf);
	int len = kbp_kv_snapshot(kv, 0, buf, cap);
	assert_true(len > 0);
	assert_int_equal(kbp_node_restore_snapshot(kn, buf, (uint32_t)len), 0);
	free(buf);
	kbp_kv_free(kv);
}

void cluster_node_create(struct cluster *c, unsigned i)
{
	struct h_node *hn = &c->nodes[i];
	assert_null(hn->kn);
	struct kbp_node_config cfg = c->cfg;
	cfg.nodes = c->n;
	cfg.self = i;
	hn->kn = kbp_node_new(&cfg);
	assert_non_null(hn->kn);
	genesis_restore(c, hn->kn);
	kbp_node_set_apply_observer(hn->kn, on_apply, hn);
	for (size_t k = 0; k < hn->n_applied; k++)
		free(hn->applied[k].batch);
	hn->n_applied = 0;
	hn->role = KBP_ROLE_FOLLOWER;
	hn->leader = KBP_LEADER_UNKNOWN;
}

void cluster_node_start(struct cluster *c, unsigned i, bool restarted)
{
	struct h_node *hn = &c->nodes[i];
	assert_non_null(hn->kn);
	kbp_node_start(hn->kn, c->now, restarted);
	hn->up = true;
	cluster_trace(c, "%u starts%s", i, restarted ? " (restarted)" : "");
	cluster_flush(c, i);
}

void cluster_start(struct cluster *c)
{
	for (unsigned i = 0; i < c->n; i++) {
		cluster_node_create(c, i);
		cluster_node_start(c, i, false);
	}
}

void cluster_stop(struct cluster *c, unsigned i)
{
	struct h_node *hn = &c->nodes[i];
	hn->up = false;
	recs_free(hn->pend, hn->n_pend);
	hn->n_pend = 0;
	cluster_trace(c, "%u crashes (%zu durable records kept)", i, hn->n_disk);
}

void cluster_wipe(struct cluster *c, unsigned i)
{
	struct h_node *hn = &c->nodes[i];
	if (hn->up)
		cluster_stop(c, i);
	recs_free(hn->disk, hn->n_disk);
	hn->n_disk = 0;
	cluster_trace(c, "%u loses its disk", i);
}

static void node_replay(struct cluster *c, unsigned i);

void cluster_restart_rebuild(struct cluster *c, unsigned i)
{
	struct h_node *hn = &c->nodes[i];
	if (hn->up)
		cluster_stop(c, i);
	kbp_node_free(hn->kn);
	hn->kn = NULL;
	cluster_node_create(c, i);
	node_replay(c, i);
	assert_int_equal(kbp_node_start_rebuild(hn->kn, c->now), 0);
	hn->up = true;
	cluster_trace(c, "%u starts rebuilding from %zu durable records", i, hn->n_disk);
	cluster_flush(c, i);
}

void cluster_restart(struct cluster *c, unsigned i, bool restarted)
{
	struct h_node *hn = &c->nodes[i];
	if (hn->up)
		cluster_stop(c, i);
	kbp_node_free(hn->kn);
	hn->kn = NULL;
	cluster_node_create(c, i);
	node_replay(c, i);
	cluster_node_start(c, i, restarted);
}

static void node_replay(struct cluster *c, unsigned i)
{
	struct h_node *hn = &c->nodes[i];
	/* Replay the disk the way the persist component does: the newest snapshot first. */
	size_t snap = SIZE_MAX;
	for (size_t k = 0; k < hn->n_disk; k++) {
		if (hn->disk[k].p.type == KBP_PERSIST_SNAPSHOT)
			snap = k;
	}
	if (snap != SIZE_MAX)
		assert_int_equal(kbp_node_restore_snapshot(hn->kn, hn->disk[snap].value, hn->disk[snap].p.len), 0);
	for (size_t k = 0; k < hn->n_disk; k++) {
		const struct kbp_persist *p = &hn->disk[k].p;
		switch (p->type) {
		case KBP_PERSIST_PROMISE:
			assert_int_equal(kbp_node_restore_promise(hn->kn, p->ballot), 0);
			break;
		case KBP_PERSIST_ACCEPT:
			assert_int_equal(kbp_node_restore_accept(hn->kn, p->slot, p->ballot, p->count,
								 hn->disk[k].value, p->len), 0);
			break;
		case KBP_PERSIST_COMMIT:
			kbp_node_restore_commit(hn->kn, p->slot);
			break;
		default:
			break;
		}
	}
}

/* ---- outputs ----------------------------------------------------------------------------- */

static void collect_msg(struct cluster *c, const struct kbp_msg *m)
{
	char d[H_TRACE_LEN];
	if (c->q_n == c->q_cap) {
		c->q_cap = c->q_cap ? 2 * c->q_cap : 256;
		c->q = xrealloc(c->q, c->q_cap * sizeof(*c->q));
	}
	struct h_msg *h = &c->q[c->q_n++];
	h->m = *m;
	h->at = c->now + c->latency_ns;
	h->payload = xdup(m->payload, m->len);    /* the node's buffer dies at its next call */
	h->m.payload = h->payload;
	msg_describe(&h->m, d, sizeof(d));
	cluster_trace(c, "%u -> %u %s", m->from, m->to, d);
}

static void collect_persist(struct cluster *c, struct h_node *hn, const struct kbp_persist *p)
{
	char b[32];
	if (hn->n_pend == hn->cap_pend) {
		hn->cap_pend = hn->cap_pend ? 2 * hn->cap_pend : 64;
		hn->pend = xrealloc(hn->pend, hn->cap_pend * sizeof(*hn->pend));
	}
	struct h_rec *r = &hn->pend[hn->n_pend++];
	r->p = *p;
	r->value = xdup(p->value, p->len);
	r->p.value = r->value;
	static const char *const names[] = { "?", "PROMISE", "ACCEPT", "COMMIT", "SNAPSHOT" };
	h_ballot_str(p->ballot, b, sizeof(b));
	cluster_trace(c, "%u persist #%" PRIu64 " %s b=%s slot=%" PRIu64, hn->id, p->id,
		      p->type <= KBP_PERSIST_SNAPSHOT ? names[p->type] : "?", b, p->slot);
}

static void collect_reply(struct cluster *c, unsigned i, const struct kbp_reply *r)
{
	if (c->n_replies == c->cap_replies) {
		c->cap_replies = c->cap_replies ? 2 * c->cap_replies : 64;
		c->replies = xrealloc(c->replies, c->cap_replies * sizeof(*c->replies));
	}
	struct h_reply *h = &c->replies[c->n_replies++];
	h->r = *r;
	h->node = i;
	h->at = c->now;
	assert_true(r->val_len <= KBP_VAL_MAX);
	if (r->val_len)
		memcpy(h->val, r->val, r->val_len);
	h->r.val = h->val;
	cluster_trace(c, "%u reply client=%" PRIu64 " seq=%" PRIu64 " %s leader=%u val=%.*s", i, r->client_id,
		      r->seq, kbp_status_name(r->status), r->leader, (int)r->val_len, (const char *)h->val);
}

static void note_role(struct cluster *c, struct h_node *hn)
{
	struct kbp_node_status st;
	kbp_node_get_status(hn->kn, &st);
	if (st.role != hn->role) {
		char b[32];
		h_ballot_str(st.ballot, b, sizeof(b));
		cluster_trace(c, "%u becomes %s (ballot %s, commit %" PRIu64 ")", hn->id, kbp_role_name(st.role), b,
			      st.commit);
	}
	hn->role = st.role;
	hn->leader = st.leader;
	if (st.rebuild != hn->rebuild) {
		char b[32];
		h_ballot_str(st.rebuild_ballot, b, sizeof(b));
		cluster_trace(c, "%u rebuild stage %s (floor %llx, leader ballot %s, target %" PRIu64 ", commit %" PRIu64 ")",
			      hn->id, kbp_rebuild_stage_name(st.rebuild), (unsigned long long)st.rebuild_floor, b,
			      st.rebuild_target, st.commit);
		hn->rebuild = st.rebuild;
	}
}

static void disk_complete(struct cluster *c, struct h_node *hn)
{
	if (hn->n_pend == 0)
		return;
	uint64_t upto = hn->pend[hn->n_pend - 1].p.id;
	if (hn->n_disk + hn->n_pend > hn->cap_disk) {
		hn->cap_disk = (hn->n_disk + hn->n_pend) * 2;
		hn->disk = xrealloc(hn->disk, hn->cap_disk * sizeof(*hn->disk));
	}
	memcpy(hn->disk + hn->n_disk, hn->pend, hn->n_pend * sizeof(*hn->pend));
	hn->n_disk += hn->n_pend;
	hn->n_pend = 0;
	cluster_trace(c, "%u durable up to #%" PRIu64, hn->id, upto);
	kbp_node_persisted(hn->kn, upto, c->now);
}

void cluster_flush(struct cluster *c, unsigned i)
{
	struct h_node *hn = &c->nodes[i];
	for (;;) {
		struct kbp_update u;
		kbp_node_flush(hn->kn, c->now, &u);
		for (uint32_t k = 0; k < u.n_msgs; k++)
			collect_msg(c, &u.msgs[k]);
		for (uint32_t k = 0; k < u.n_persist; k++)
			collect_persist(c, hn, &u.persist[k]);
		for (uint32_t k = 0; k < u.n_replies; k++)
			collect_reply(c, i, &u.replies[k]);
		hn->deadline = u.deadline_ns;
		assert_true(u.deadline_ns >= c->now);
		note_role(c, hn);
		if (hn->manual_disk || u.n_persist == 0)
			break;
		disk_complete(c, hn);    /* an instant disk: held replies go out in the next flush */
	}
}

void cluster_persist(struct cluster *c, unsigned i)
{
	struct h_node *hn = &c->nodes[i];
	disk_complete(c, hn);
	cluster_flush(c, i);
}

/* ---- events ------------------------------------------------------------------------------ */

int cluster_inject(struct cluster *c, const struct kbp_msg *m)
{
	char d[H_TRACE_LEN];
	assert_true(m->to < c->n);
	struct h_node *hn = &c->nodes[m->to];
	msg_describe(m, d, sizeof(d));
	cluster_trace(c, "inject %u -> %u %s", m->from, m->to, d);
	if (m->flags & KBP_MF_LEASE_REQ)
		hn->last_lease_req_ns = c->now;
	int r = kbp_node_recv(hn->kn, m, c->now);
	cluster_flush(c, m->to);
	return r;
}

int cluster_submit(struct cluster *c, unsigned i, const struct kbp_cmd *cmd)
{
	cluster_trace(c, "client %" PRIu64 " seq=%" PRIu64 " submits %s %.*s to %u", cmd->client_id, cmd->seq,
		      kbp_op_name(cmd->op), (int)cmd->key_len, (const char *)cmd->key, i);
	int r = kbp_node_submit(c->nodes[i].kn, cmd, c->now);
	cluster_flush(c, i);
	return r;
}

void cluster_tick(struct cluster *c, unsigned i)
{
	kbp_node_tick(c->nodes[i].kn, c->now);
	cluster_flush(c, i);
}

unsigned cluster_deliver(struct cluster *c)
{
	unsigned delivered = 0;
	size_t k = 0;
	while (k < c->q_n) {
		if (c->q[k].at > c->now) {
			k++;
			continue;
		}
		struct h_msg h = c->q[k];
		memmove(c->q + k, c->q + k + 1, (c->q_n - k - 1) * sizeof(*c->q));
		c->q_n--;
		unsigned to = h.m.to, from = h.m.from;
		if (to >= c->n || !c->nodes[to].up || c->link_down[from][to]) {
			char d[H_TRACE_LEN];
			msg_describe(&h.m, d, sizeof(d));
			cluster_trace(c, "drop %u -> %u %s (%s)", from, to, d,
				      to < c->n && c->nodes[to].up ? "link down" : "node down");
		} else {
			if (h.m.flags & KBP_MF_LEASE_REQ)
				c->nodes[to].last_lease_req_ns = c->now;
			kbp_node_recv(c->nodes[to].kn, &h.m, c->now);
			cluster_flush(c, to);
			delivered++;
		}
		free(h.payload);
		/* Messages sent during delivery land at the tail: FIFO order is kept. */
	}
	return delivered;
}

void cluster_run_until(struct cluster *c, uint64_t end)
{
	uint64_t last = UINT64_MAX;
	unsigned same = 0;
	assert_true(c->latency_ns > 0);
	for (;;) {
		uint64_t t = UINT64_MAX;
		for (size_t k = 0; k < c->q_n; k++) {
			if (c->q[k].at < t)
				t = c->q[k].at;
		}
		for (unsigned i = 0; i < c->n; i++) {
			const struct h_node *hn = &c->nodes[i];
			if (hn->up && !hn->hold_timer && hn->deadline < t)
				t = hn->deadline;
		}
		if (t > end)
			break;
		if (t > c->now)
			c->now = t;
		if (c->now == last) {
			if (++same > H_SAME_INSTANT_MAX) {
				cluster_trace_dump(c, stderr, 60);
				fail_msg("livelock: more than %u events at %.3f ms", H_SAME_INSTANT_MAX,
					 (double)c->now / MS);
			}
		} else {
			last = c->now;
			same = 0;
		}
		cluster_deliver(c);
		for (unsigned i = 0; i < c->n; i++) {
			struct h_node *hn = &c->nodes[i];
			if (hn->up && !hn->hold_timer && hn->deadline <= c->now)
				cluster_tick(c, i);
		}
	}
	if (end > c->now)
		c->now = end;
}

void cluster_elect(struct cluster *c, unsigned i)
{
	struct h_node *hn = &c->nodes[i];
	cluster_trace(c, "test: let %u win an election", i);
	for (unsigned k = 0; k < c->n; k++)
		c->nodes[k].hold_timer = k != i;
	uint64_t give_up = c->now + 100 * c->cfg.election_timeout_ns;
	while (hn->role != KBP_ROLE_LEADER && c->now < give_up)
		cluster_run(c, c->latency_ns);
	/* Let the new leader's first heartbeats reset the followers' timers. */
	cluster_run(c, 4 * c->latency_ns);
	for (unsigned k = 0; k < c->n; k++)
		c->nodes[k].hold_timer = false;
	assert_int_equal(hn->role, KBP_ROLE_LEADER);
}

bool cluster_run_until_reply(struct cluster *c, uint64_t client, uint64_t seq, uint64_t max_ns)
{
	uint64_t give_up = c->now + max_ns;
	for (;;) {
		for (size_t k = 0; k < c->n_replies; k++) {
			const struct kbp_reply *r = &c->replies[k].r;
			if (r->client_id == client && r->seq == seq && r->status != KBP_ST_BUSY &&
			    r->status != KBP_ST_NOT_LEADER)
				return true;
		}
		if (c->now >= give_up)
			return false;
		cluster_run(c, c->latency_ns);
	}
}

/* ---- network ----------------------------------------------------------------------------- */

void cluster_disconnect(struct cluster *c, unsigned a, unsigned b)
{
	c->link_down[a][b] = c->link_down[b][a] = true;
	cluster_trace(c, "test: disconnect %u <-> %u", a, b);
}

void cluster_reconnect(struct cluster *c, unsigned a, unsigned b)
{
	c->link_down[a][b] = c->link_down[b][a] = false;
	cluster_trace(c, "test: reconnect %u <-> %u", a, b);
}

void cluster_isolate(struct cluster *c, unsigned a)
{
	for (unsigned b = 0; b < c->n; b++) {
		if (b != a)
			cluster_disconnect(c, a, b);
	}
}

void cluster_heal(struct cluster *c)
{
	memset(c->link_down, 0, sizeof(c->link_down));
	cluster_trace(c, "test: heal every link");
}

static bool msg_match(const struct h_msg *h, int type, int from, int to)
{
	return (type == H_ANY || h->m.type == type) && (from == H_ANY || h->m.from == from) &&
	       (to == H_ANY || h->m.to == to);
}

unsigned cluster_count(const struct cluster *c, int type, int from, int to)
{
	unsigned k = 0;
	for (size_t i = 0; i < c->q_n; i++)
		k += msg_match(&c->q[i], type, from, to);
	return k;
}

const struct h_msg *cluster_find(const struct cluster *c, int type, int from, int to)
{
	for (size_t i = 0; i < c->q_n; i++) {
		if (msg_match(&c->q[i], type, from, to))
			return &c->q[i];
	}
	return NULL;
}

bool cluster_take(struct cluster *c, int type, int from, int to, struct h_msg *out)
{
	for (size_t i = 0; i < c->q_n; i++) {
		if (!msg_match(&c->q[i], type, from, to))
			continue;
		char d[H_TRACE_LEN];
		msg_describe(&c->q[i].m, d, sizeof(d));
		cluster_trace(c, "test: takes %u -> %u %s off the network", c->q[i].m.from, c->q[i].m.to, d);
		if (out)
			*out = c->q[i];
		else
			free(c->q[i].payload);
		memmove(c->q + i, c->q + i + 1, (c->q_n - i - 1) * sizeof(*c->q));
		c->q_n--;
		return true;
	}
	return false;
}

void cluster_msg_free(struct h_msg *m)
{
	free(m->payload);
	m->payload = NULL;
}

/* ---- queries ----------------------------------------------------------------------------- */

const struct h_reply *cluster_reply(const struct cluster *c, uint64_t client, uint64_t seq)
{
	for (size_t k = 0; k < c->n_replies; k++) {
		if (c->replies[k].r.client_id == client && c->replies[k].r.seq == seq)
			return &c->replies[k];
	}
	return NULL;
}

unsigned cluster_reply_count(const struct cluster *c, uint64_t client, uint64_t seq)
{
	unsigned n = 0;
	for (size_t k = 0; k < c->n_replies; k++)
		n += c->replies[k].r.client_id == client && c->replies[k].r.seq == seq;
	return n;
}

struct kbp_node_status cluster_status(const struct cluster *c, unsigned i)
{
	struct kbp_node_status st;
	assert_non_null(c->nodes[i].kn);
	kbp_node_get_status(c->nodes[i].kn, &st);
	return st;
}

unsigned cluster_leader_count(const struct cluster *c)
{
	unsigned k = 0;
	for (unsigned i = 0; i < c->n; i++)
		k += c->nodes[i].up && cluster_status(c, i).role == KBP_ROLE_LEADER;
	return k;
}

int cluster_leader(const struct cluster *c)
{
	int who = -1;
	for (unsigned i = 0; i < c->n; i++) {
		if (c->nodes[i].up && cluster_status(c, i).role == KBP_ROLE_LEADER) {
			if (who >= 0)
				return -1;
			who = (int)i;
		}
	}
	return who;
}

/* ---- commands ---------------------------------------------------------------------------- */

struct kbp_cmd h_put(uint64_t client, uint64_t seq, const char *key, const char *val)
{
	struct kbp_cmd c = {
		.client_id = client, .seq = seq, .op = KBP_OP_PUT,
		.key_len = (uint8_t)strlen(key), .val_len = (uint16_t)strlen(val),
		.key = (const uint8_t *)key, .val = (const uint8_t *)val,
	};
	return c;
}

struct kbp_cmd h_get(uint64_t client, uint64_t seq, const char *key)
{
	struct kbp_cmd c = {
		.client_id = client, .seq = seq, .op = KBP_OP_GET,
		.key_len = (uint8_t)strlen(key), .key = (const uint8_t *)key,
	};
	return c;
}

struct kbp_cmd h_cas(uint64_t client, uint64_t seq, const char *key, const char *exp, const char *val)
{
	struct kbp_cmd c = {
		.client_id = client, .seq = seq, .op = KBP_OP_CAS,
		.key_len = (uint8_t)strlen(key), .exp_len = (uint16_t)strlen(exp),
		.val_len = (uint16_t)strlen(val), .key = (const uint8_t *)key,
		.exp = (const uint8_t *)exp, .val = (const uint8_t *)val,
	};
	return c;
}

struct kbp_cmd h_noop(void)
{
	struct kbp_cmd c = { .op = KBP_OP_NOOP };
	return c;
}

struct kbp_cmd h_register(uint64_t nonce)
{
	struct kbp_cmd c = { .client_id = nonce | KBP_CLIENT_NONCE, .seq = 1, .op = KBP_OP_REGISTER };
	return c;
}

struct kbp_kv *h_kv_new(uint32_t keys_max, uint32_t clients_max, uint64_t expiry)
{
	struct kbp_kv_config kc = { .keys_max = keys_max, .clients_max = clients_max,
				    .session_expiry_cmds = expiry };
	struct kbp_kv *kv = kbp_kv_new(&kc);
	assert_non_null(kv);
	return kv;
}

uint64_t cluster_register(struct cluster *c, unsigned i, uint64_t nonce)
{
	struct kbp_cmd reg = h_register(nonce);
	cluster_submit(c, i, &reg);
	assert_true(cluster_run_until_reply(c, reg.client_id, reg.seq, 100 * MS));
	const struct h_reply *r = NULL;
	for (size_t k = 0; k < c->n_replies; k++)
		if (c->replies[k].r.client_id == reg.client_id && c->replies[k].r.status != KBP_ST_NOT_LEADER)
			r = &c->replies[k];
	assert_non_null(r);
	assert_int_equal(r->r.status, KBP_ST_OK);
	assert_int_equal(r->r.val_len, KBP_REGISTER_REPLY_LEN);
	return kbp_le64_load(r->val);
}

uint32_t h_encode(uint8_t *buf, uint32_t cap, const struct kbp_cmd *cmd)
{
	int w = kbp_cmd_encode(cmd, buf, cap);
	assert_true(w > 0);
	return (uint32_t)w;
}

struct kbp_msg h_mk(uint8_t type, unsigned from, unsigned to, uint64_t ballot, uint64_t slot)
{
	struct kbp_msg m = {
		.type = type, .from = (uint8_t)from, .to = (uint8_t)to, .ballot = ballot, .slot = slot,
	};
	return m;
}

bool h_batch_cmd(const uint8_t *batch, uint32_t len, uint32_t count, uint32_t n, struct kbp_cmd *out)
{
	uint32_t off = 0;
	for (uint32_t i = 0; i < count && i <= n; i++) {
		int r = kbp_cmd_decode(out, batch + off, len - off);
		if (r < 0)
			return false;
		if (i == n)
			return true;
		off += (uint32_t)r;
	}
	return false;
}

const struct h_apply *h_applied_slot(const struct h_node *hn, uint64_t slot)
{
	for (size_t k = 0; k < hn->n_applied; k++) {
		if (hn->applied[k].slot == slot)
			return &hn->applied[k];
	}
	return NULL;
}

void cluster_assert_agreement(const struct cluster *c)
{
	for (unsigned a = 0; a < c->n; a++) {
		for (size_t k = 0; k < c->nodes[a].n_applied; k++) {
			const struct h_apply *x = &c->nodes[a].applied[k];
			for (unsigned b = a + 1; b < c->n; b++) {
				const struct h_apply *y = h_applied_slot(&c->nodes[b], x->slot);
				if (y && (x->len != y->len || memcmp(x->batch, y->batch, x->len) != 0))
					fail_msg("agreement: nodes %u and %u applied different values at slot %" PRIu64,
						 a, b, x->slot);
			}
		}
	}
}
