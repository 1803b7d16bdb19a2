/* SPDX-License-Identifier: MIT */
/*
 * kbpaxos-gen: the bundled DPDK packet generator.  Sends CLIENT_REQ frames (many
 * commands per frame) to the cluster over the ports of the config's [generator]
 * section, matches CLIENT_REP replies by (client id, seq), and measures latency with
 * the TSC into log-linear histograms.  A reply's arrival is the NIC's receive stamp
 * mapped onto the TSC when every port stamps frames (kbp_gen_clock.h), else the TSC
 * read when its burst was polled.
 *
 * Loops.  Open loop (--rate): request k is due at start + k / rate; its latency is
 * measured from that intended time, so when the cluster (or the generator) stalls,
 * the requests that pile up carry the stall in their latency (no coordinated
 * omission).  A request waits for a free client id (--sessions) just like it waits
 * for the wire.  Closed loop (--outstanding N): N client ids, each sends its next
 * request when the previous one is answered.
 *
 * Sessions (docs/PROTOCOL.md, "Client sessions").  Before the run every client id is
 * registered through the log, in batches (REGISTER under a nonce; the cluster hands out
 * the ids).  Each has at most one request in flight (the node runs a write once per
 * (client id, seq)); a resend after a timeout or BUSY reuses the seq.  A seq's low bits are
 * the session's index, so a reply finds its session without a lookup.  SESSION_EXPIRED
 * (the cluster evicted or expired the session) ends the request as "outcome unknown" and
 * the session registers again before its next request.  NOT_LEADER replies move every
 * later request to the hinted leader.
 *
 * Accounting.  Every request intended inside the measured window ends in exactly one
 * class (answered OK / NOT_FOUND / CAS_FAILED, error, timed out, never answered,
 * never sent) and exactly once in its op's histogram; requests that did not get an
 * answer are recorded at the time the generator gave up on them (a lower bound).
 *
 * Checking (--check).  Every request is also recorded in a bounded history (kbp_check.h):
 * invoked when first sent, answered when a definite answer arrives (the TSC read after
 * it was polled), unknown otherwise; values are unique per write.  After the run the
 * history is checked for linearizability (kbp_lin.c) and the verdict printed and saved.
 * Without --check the hooks are one predictable branch each.
 *
 * One lcore (the main one) does everything: RX burst, replies, sends due requests,
 * one TX burst per port.  No allocation or system call on that path; when idle and
 * the config says idle = adaptive, it sleeps a few microseconds.
 */
#include <sys/prctl.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>

#include "kbp_check.h"
#include "kbp_config.h"
#include "kbp_gen_port.h"
#include "kbp_link.h"
#include "kbp_netns.h"
#include "kbp_gen_work.h"
#include "kbp_hist.h"
#include "kbp_json.h"
#include "kbp_report.h"
#include "kbp_wire_mbuf.h"

#ifndef KBP_PLOT_SH
#define KBP_PLOT_SH "bench/plot.sh"
#endif

#define GEN_BURST 32u
#define GEN_TX_MAX 256u            /* frames queued per port per loop iteration */
#define GEN_ISSUE_MAX 1024u        /* requests started per loop iteration */
#define GEN_SWEEP_US 250u          /* timeout/backoff scan period, at least */
#define GEN_SWEEP_NS_PER_SESS 40u  /* ... and longer with many sessions: the scan costs ~1% */
#define GEN_LINK_WAIT_S 15u
#define GEN_IDLE_SPINS 64u
#define GEN_IDLE_SLEEP_US 20u
#define GEN_HIST_HIGHEST_NS (UINT64_C(3600) * 1000000000u)
#define GEN_DRAIN_MAX_S 5.0
#define GEN_MBUFS 8191u
#define GEN_SEQ_INDEX_BITS 20u     /* low bits of every seq: the session's index */
#define GEN_SEQ_INDEX_MASK ((UINT64_C(1) << GEN_SEQ_INDEX_BITS) - 1)
#define GEN_SEQ_STEP (UINT64_C(1) << GEN_SEQ_INDEX_BITS)
#define GEN_REGISTER_WAIT_S 15u

_Static_assert(KBP_GEN_SESSIONS_MAX <= (1u << GEN_SEQ_INDEX_BITS), "session index fits its bits");
_Static_assert(GEN_TX_MAX >= GEN_BURST, "a TX queue holds at least one burst");
_Static_assert(KBP_GEN_VALUE_FOREIGN == KBP_LIN_FOREIGN, "one spelling of a value we never wrote");

static volatile sig_atomic_t force_quit;

static void on_signal(int sig)
{
	(void)sig;
	force_quit = 1;
}

enum sess_state { S_FREE = 0, S_WAIT = 1, S_BACKOFF = 2, S_DEAD = 3 };

/* Final outcome of a request (one per measured request). */
#define GEN_OUTCOMES(X)                                                       \
	X(OUT_OK, "ok", "answered OK")                                        \
	X(OUT_NOT_FOUND, "not_found", "answered NOT_FOUND (get/cas of a key never put)") \
	X(OUT_CAS_FAILED, "cas_failed", "answered CAS_FAILED")                \
	X(OUT_NOT_LEADER, "not_leader", "error: NOT_LEADER with --target")    \
	X(OUT_BUSY, "busy", "error: BUSY on every try")                       \
	X(OUT_FULL, "full", "error: FULL (store or client table full)")       \
	X(OUT_INVALID, "invalid", "error: INVALID (malformed command)")       \
	X(OUT_STALE, "stale", "error: STALE (seq below the session's newest: not run now)") \
	X(OUT_SESSION_EXPIRED, "session_expired", "unknown: SESSION_EXPIRED (session evicted or expired; may have run)") \
	X(OUT_OTHER, "other", "error: unknown status")                        \
	X(OUT_TIMED_OUT, "timed_out", "timed out after every retry")          \
	X(OUT_NEVER_ANSWERED, "never_answered", "still in flight when the run ended") \
	X(OUT_NEVER_SENT, "never_sent", "due but never sent (generator fell behind)")

enum gen_outcome {
#define X_ENUM(n, tag, text) n,
	GEN_OUTCOMES(X_ENUM)
#undef X_ENUM
	OUT_COUNT
};
static const char *const outcome_tag[] = {
#define X_TAG(n, tag, text) tag,
	GEN_OUTCOMES(X_TAG)
#undef X_TAG
};
static const char *const outcome_text[] = {
#define X_TEXT(n, tag, text) text,
	GEN_OUTCOMES(X_TEXT)
#undef X_TEXT
};

struct gen_session {
	uint64_t id;               /* from the cluster; 0 while (re)registering */
	uint64_t seq;              /* (counter << GEN_SEQ_INDEX_BITS) | index */
	uint64_t intended_tsc;     /* latency origin */
	uint64_t due_tsc;          /* S_WAIT: resend deadline; S_BACKOFF: resend time */
	uint64_t key;
	uint8_t op;                /* KBP_OP_REGISTER while registering */
	uint8_t state;
	uint8_t node;              /* where the last copy went */
	uint8_t measured;
	uint32_t tries;            /* resends after timeouts and BUSY */
	uint32_t rec;              /* --check: its record */
};

/* Events (not outcomes): every copy sent, every reply seen. */
struct gen_events {
	uint64_t requests;         /* requests started, warm-up included */
	uint64_t cmds_sent;        /* command copies sent (first sends and resends) */
	uint64_t resends_timeout;
	uint64_t resends_busy;
	uint64_t redirects;        /* NOT_LEADER replies followed */
	uint64_t busy;             /* BUSY replies */
	uint64_t replies;
	uint64_t replies_stale;    /* for a seq no longer waited for (late or duplicate) */
	uint64_t replies_foreign;  /* a seq that names no session of ours */
	uint64_t register_sent;    /* REGISTER copies sent */
	uint64_t registered;       /* sessions registered (at start, and again after SESSION_EXPIRED) */
	uint64_t register_refused; /* REGISTER answered neither OK, NOT_LEADER nor BUSY */
	uint64_t replies_nic_time; /* arrival from the NIC's stamp ... */
	uint64_t replies_tsc_time; /* ... or from the TSC at poll: the two add up to replies */
	uint64_t frames_tx, frames_rx;
	uint64_t tx_retries;       /* TX ring full: frames kept for the next loop turn */
	uint64_t tx_dropped_frames;/* TX backlog full: their commands time out and are resent */
	uint64_t tx_dropped_cmds;
	uint64_t mbuf_exhausted;
};

struct gen_node_tx {
	uint64_t last_rx_tsc;      /* last reply frame from this node */
	uint16_t port;
	bool reachable;
	struct kbp_wire_addr dst;
	uint8_t *buf;              /* payload being filled */
	uint32_t len, count;
};

struct gen_port {
	uint16_t id;
	uint32_t n_tx;
	struct kbp_gen_clock clock;   /* its NIC's clock on the TSC, when nic_time */
	struct rte_mbuf *tx[GEN_TX_MAX];
};

struct gen {
	struct kbp_gen_opts o;
	const struct kbp_cluster_config *c;
	struct kbp_wire_ctx ctx;
	struct kbp_gen_work w;
	struct rte_mempool *mp;
	struct kbp_wire_addr src;

	uint32_t n_ports;
	struct gen_port port[KBP_CONFIG_DEVS_MAX];
	struct kbp_links links;    /* watched from the loop; a restarted node's link is re-dialled */
	uint64_t next_link_poll;
	uint32_t n_nodes;
	struct gen_node_tx node[KBP_NODES_MAX];
	uint32_t batch_max;        /* commands per frame */
	uint32_t payload_max;
	uint8_t leader;            /* where requests go next */

	uint32_t n_sess;
	struct gen_session *sess;
	uint32_t *free_stack;
	uint32_t n_free;
	uint32_t in_flight;
	uint32_t registering;      /* sessions waiting for their REGISTER's answer */
	uint64_t nonce_base;       /* REGISTER i goes out under nonce_base | i */
	uint64_t id_min, id_max;   /* session ids the cluster handed out */

	/* Time, in TSC ticks. */
	double tsc_hz, ns_per_tsc;
	uint64_t t_start, t_measure, t_end, t_drain_end;
	uint64_t timeout_tsc, backoff_tsc, redirect_backoff_tsc;
	double period_tsc;         /* open loop */
	uint64_t next_k;           /* open loop: next request index */
	uint64_t next_intended;

	/* Reply arrival: the NIC's receive stamps (every port has them) or the TSC at poll. */
	bool nic_time;
	int ts_offset;             /* mbuf dynamic field holding the stamp */
	uint64_t ts_flag;          /* ol_flags bit: this frame carries one */
	uint64_t next_anchor, anchor_period_tsc;
	char clock_why[256];       /* for the start line and the report */

	/* --check: the history, and whether it filled up (the run then stops issuing). */
	struct kbp_check *chk;
	bool chk_stop;
	struct kbp_check_result chk_res;
	bool chk_done;

	struct gen_events ev;
	uint64_t outcome[OUT_COUNT];
	uint64_t measured_started;
	struct kbp_hist hist[KBP_OP_COUNT];   /* [KBP_OP_NOOP]: every op */
	struct kbp_hist interval;             /* this second, every op */
	struct kbp_wire_counters rx_counts;

	/* Per-second series. */
	uint32_t n_rows, rows_max;
	struct kbp_ts_row *rows;
	uint64_t sec_offered, sec_ok, sec_errors;
	uint64_t next_tick, last_tick;
	uint32_t warm_ticks;
};

static inline uint64_t tsc_ns(const struct gen *g, uint64_t ticks)
{
	return (uint64_t)((double)ticks * g->ns_per_tsc);
}

/* ---- TX ------------------------------------------------------------------------ */

static void frame_flush(struct gen *g, uint32_t n)
{
	struct gen_node_tx *nt = &g->node[n];
	struct gen_port *p = &g->port[nt->port];
	struct kbp_msg m;
	struct rte_mbuf *mb;

	if (nt->count == 0)
		return;
	memset(&m, 0, sizeof(m));
	m.type = KBP_MSG_CLIENT_REQ;
	m.from = KBP_NODE_CLIENT;
	m.to = (uint8_t)n;
	m.count = nt->count;
	m.len = nt->len;
	m.payload = nt->buf;
	if (p->n_tx == GEN_TX_MAX) {
		/* The port has refused GEN_TX_MAX frames in a row: count, let them time out. */
		g->ev.tx_dropped_frames++;
		g->ev.tx_dropped_cmds += nt->count;
	} else if (kbp_wire_encode_mbuf(g->mp, &g->src, &nt->dst, g->c->id, &m, &mb) != 0) {
		g->ev.mbuf_exhausted++;
		g->ev.tx_dropped_frames++;
		g->ev.tx_dropped_cmds += nt->count;
	} else {
		p->tx[p->n_tx++] = mb;
	}
	nt->len = 0;
	nt->count = 0;
}

static void tx_all(struct gen *g)
{
	for (uint32_t n = 0; n < g->n_nodes; n++)
		frame_flush(g, n);
	for (uint32_t i = 0; i < g->n_ports; i++) {
		struct gen_port *p = &g->port[i];
		uint32_t sent = 0;
		if (p->n_tx == 0 || kbp_link_parked(&g->links.link[i]))
			continue;            /* a parked port keeps its frames; they time out meanwhile */
		for (int tries = 0; sent < p->n_tx && tries < 4; tries++)
			sent += rte_eth_tx_burst(p->id, 0, p->tx + sent, (uint16_t)(p->n_tx - sent));
		g->ev.frames_tx += sent;
		/* A full TX ring (the peer is slow to drain it) keeps the rest for the next turn. */
		if (sent < p->n_tx) {
			g->ev.tx_retries++;
			memmove(p->tx, p->tx + sent, (p->n_tx - sent) * sizeof(p->tx[0]));
		}
		p->n_tx -= sent;
	}
}

/* Send (or resend) session i's current command to its node. */
static void sess_send(struct gen *g, uint32_t i, uint64_t now)
{
	struct gen_session *s = &g->sess[i];
	uint32_t n = s->node;
	struct gen_node_tx *nt = &g->node[n];
	uint32_t size = kbp_gen_cmd_size(&g->w, s->op);
	uint64_t exp = 0, val = 0;

	if (nt->count == g->batch_max || nt->len + size > g->payload_max)
		frame_flush(g, n);
	uint64_t client_id = s->op == KBP_OP_REGISTER ? g->nonce_base | i : s->id;
	if (unlikely(g->chk != NULL) && s->op != KBP_OP_REGISTER)
		kbp_check_values(g->chk, s->rec, &exp, &val);
	nt->len += kbp_gen_cmd_encode(&g->w, nt->buf + nt->len, client_id, s->seq, s->op, s->key, exp, val);
	nt->count++;
	s->state = S_WAIT;
	s->due_tsc = now + g->timeout_tsc;
	g->ev.cmds_sent++;
	g->ev.register_sent += s->op == KBP_OP_REGISTER;
}

static uint8_t pick_node(const struct gen *g);

/* Session i asks for a (new) session id: a REGISTER under its nonce, through the log. */
static void sess_register(struct gen *g, uint32_t i, uint64_t now)
{
	struct gen_session *s = &g->sess[i];
	s->id = 0;
	s->op = KBP_OP_REGISTER;
	s->tries = 0;
	s->node = pick_node(g);
	g->registering++;
	sess_send(g, i, now);
}

/* The answer to session i's REGISTER: its id; the session is free for requests. */
static void sess_registered(struct gen *g, uint32_t i, const struct kbp_reply *r)
{
	struct gen_session *s = &g->sess[i];
	g->registering--;
	s->seq += GEN_SEQ_STEP;
	if (r->status != KBP_ST_OK || r->val_len != KBP_REGISTER_REPLY_LEN) {
		g->ev.register_refused++;          /* parked: never used again */
		s->state = S_DEAD;
		return;
	}
	s->id = kbp_le64_load(r->val);
	g->id_min = g->id_min && g->id_min < s->id ? g->id_min : s->id;
	g->id_max = g->id_max > s->id ? g->id_max : s->id;
	g->ev.registered++;
	s->state = S_FREE;
	g->free_stack[g->n_free++] = i;
}

/* ---- Outcomes -------------------------------------------------------------------- */

static void sess_finish(struct gen *g, uint32_t i, enum gen_outcome out, uint64_t now)
{
	struct gen_session *s = &g->sess[i];

	uint64_t ns = now > s->intended_tsc ? tsc_ns(g, now - s->intended_tsc) : 0;

	if (unlikely(g->chk != NULL))
		kbp_check_end(g->chk, s->rec);   /* no definite answer recorded: unknown */
	if (s->measured) {
		g->outcome[out]++;
		kbp_hist_record(&g->hist[s->op], ns);
		kbp_hist_record(&g->hist[KBP_OP_NOOP], ns);
	}
	/* The live line covers whatever finished this second, warm-up requests included. */
	kbp_hist_record(&g->interval, ns);
	if (out <= OUT_CAS_FAILED)
		g->sec_ok++;
	else
		g->sec_errors++;
	g->in_flight--;
	s->seq += GEN_SEQ_STEP;
	/* The session is gone (or moved past by someone else): a new one before the next request. */
	if (out == OUT_SESSION_EXPIRED || out == OUT_STALE) {
		sess_register(g, i, now);
		return;
	}
	s->state = S_FREE;
	g->free_stack[g->n_free++] = i;
}

/* Where new requests and redirected ones go. */
static uint8_t pick_node(const struct gen *g)
{
	return g->o.target >= 0 ? (uint8_t)g->o.target : g->leader;
}

static uint8_t next_reachable(const struct gen *g, uint8_t from)
{
	for (uint32_t k = 1; k <= g->n_nodes; k++) {
		uint8_t n = (uint8_t)((from + k) % g->n_nodes);
		if (g->node[n].reachable)
			return n;
	}
	return from;
}

/* --check: a definite answer, timed after it was polled (never before it existed). */
static void check_answer(struct gen *g, const struct gen_session *s, const struct kbp_reply *r)
{
	uint64_t read = KBP_LIN_ABSENT;

	if ((s->op == KBP_OP_GET && r->status == KBP_ST_OK) || r->status == KBP_ST_CAS_FAILED)
		read = kbp_gen_value_id(&g->w, s->key, r->val, r->val_len);
	kbp_check_complete(g->chk, s->rec, r->status, read, rte_rdtsc());
}

/* NOT_LEADER: follow the hint, or try the next node after a pause when there is none. */
static void on_not_leader(struct gen *g, uint32_t i, uint8_t from, const struct kbp_reply *r, uint64_t now)
{
	struct gen_session *s = &g->sess[i];
	g->ev.redirects++;
	if (g->o.target >= 0 && s->op != KBP_OP_REGISTER) {
		sess_finish(g, i, OUT_NOT_LEADER, now);   /* counts its own error */
		return;
	}
	g->sec_errors++;
	if (r->leader < g->n_nodes && r->leader != from && g->node[r->leader].reachable) {
		if (g->o.target < 0)
			g->leader = r->leader;
		s->node = r->leader;
		sess_send(g, i, now);
	} else {
		/* No hint (election under way): try the next node after a pause. */
		if (g->leader == from && g->o.target < 0)
			g->leader = next_reachable(g, from);
		s->node = g->o.target < 0 ? g->leader : next_reachable(g, from);
		s->state = S_BACKOFF;
		s->due_tsc = now + g->redirect_backoff_tsc;
	}
}

static void on_busy(struct gen *g, uint32_t i, uint64_t now)
{
	struct gen_session *s = &g->sess[i];
	g->ev.busy++;
	if (s->tries >= g->o.retries && s->op != KBP_OP_REGISTER) {
		sess_finish(g, i, OUT_BUSY, now);         /* counts its own error */
		return;
	}
	g->sec_errors++;
	s->tries++;
	s->state = S_BACKOFF;
	s->due_tsc = now + g->backoff_tsc;
}

static void on_reply(struct gen *g, uint8_t from, const struct kbp_reply *r, uint64_t now)
{
	uint64_t i = r->seq & GEN_SEQ_INDEX_MASK;
	struct gen_session *s;

	g->ev.replies++;
	if (i >= g->n_sess) {
		g->ev.replies_foreign++;
		return;
	}
	s = &g->sess[i];
	if (s->state != S_WAIT || r->seq != s->seq ||
	    r->client_id != (s->op == KBP_OP_REGISTER ? g->nonce_base | i : s->id)) {
		g->ev.replies_stale++;
		return;
	}
	if (unlikely(g->chk != NULL) && s->op != KBP_OP_REGISTER &&
	    (r->status == KBP_ST_OK || r->status == KBP_ST_NOT_FOUND || r->status == KBP_ST_CAS_FAILED))
		check_answer(g, s, r);
	switch (r->status) {
	case KBP_ST_NOT_LEADER: on_not_leader(g, (uint32_t)i, from, r, now); return;
	case KBP_ST_BUSY: on_busy(g, (uint32_t)i, now); return;
	default: break;
	}
	if (s->op == KBP_OP_REGISTER) {
		sess_registered(g, (uint32_t)i, r);
		return;
	}
	switch (r->status) {
	case KBP_ST_OK: sess_finish(g, (uint32_t)i, OUT_OK, now); break;
	case KBP_ST_NOT_FOUND: sess_finish(g, (uint32_t)i, OUT_NOT_FOUND, now); break;
	case KBP_ST_CAS_FAILED: sess_finish(g, (uint32_t)i, OUT_CAS_FAILED, now); break;
	case KBP_ST_FULL: sess_finish(g, (uint32_t)i, OUT_FULL, now); break;
	case KBP_ST_INVALID: sess_finish(g, (uint32_t)i, OUT_INVALID, now); break;
	case KBP_ST_STALE: sess_finish(g, (uint32_t)i, OUT_STALE, now); break;
	case KBP_ST_SESSION_EXPIRED: sess_finish(g, (uint32_t)i, OUT_SESSION_EXPIRED, now); break;
	default: sess_finish(g, (uint32_t)i, OUT_OTHER, now); break;
	}
}

/* When frame mb reached port p: its NIC stamp on the TSC, or now (the poll). */
static inline uint64_t frame_arrival(struct gen *g, struct gen_port *p, const struct rte_mbuf *mb,
				     uint64_t now, bool *nic)
{
	uint64_t at = now, stamp = 0;
	bool stamped;

	*nic = false;
	if (!g->nic_time)
		return now;
	stamped = (mb->ol_flags & g->ts_flag) != 0;
	if (stamped)
		stamp = *RTE_MBUF_DYNFIELD(mb, g->ts_offset, const rte_mbuf_timestamp_t *);
	*nic = kbp_gen_clock_arrival(&p->clock, stamped, stamp, now, &at);
	return at;
}

static void rx_all(struct gen *g, uint64_t now, uint32_t *got)
{
	struct rte_mbuf *pkts[GEN_BURST];
	struct kbp_msg m;
	struct kbp_reply r;

	for (uint32_t p = 0; p < g->n_ports; p++) {
		if (kbp_link_parked(&g->links.link[p]))
			continue;            /* stopped while its node is away (kbp_link.h) */
		uint16_t nb = rte_eth_rx_burst(g->port[p].id, 0, pkts, GEN_BURST);
		if (nb == 0)
			continue;
		*got += nb;
		g->ev.frames_rx += nb;
		for (uint16_t k = 0; k < nb; k++) {
			bool nic;
			if (kbp_wire_parse_mbuf_count(pkts[k], &g->ctx, &m, NULL, &g->rx_counts) != 0)
				continue;
			uint64_t at = frame_arrival(g, &g->port[p], pkts[k], now, &nic);
			/* The parser walked every reply already; decode cannot fail here. */
			for (uint32_t off = 0, j = 0; j < m.count; j++) {
				int n = kbp_reply_decode(&r, m.payload + off, m.len - off);
				if (n <= 0)
					break;
				off += (uint32_t)n;
				on_reply(g, m.from, &r, at);
				if (nic)
					g->ev.replies_nic_time++;
				else
					g->ev.replies_tsc_time++;
			}
			g->node[m.from].last_rx_tsc = now;
		}
		rte_pktmbuf_free_bulk(pkts, nb);
	}
}

/* ---- Issuing --------------------------------------------------------------------- */

static void sess_start(struct gen *g, uint64_t intended, uint64_t now)
{
	uint32_t i = g->free_stack[--g->n_free];
	struct gen_session *s = &g->sess[i];

	s->intended_tsc = intended;
	s->op = kbp_gen_work_op(&g->w);
	s->key = kbp_gen_work_key(&g->w);
	s->tries = 0;
	s->node = pick_node(g);
	s->measured = intended >= g->t_measure && intended < g->t_end;
	if (unlikely(g->chk != NULL))
		s->rec = kbp_check_invoke(g->chk, s->key, s->op, i, now);
	g->in_flight++;
	g->ev.requests++;
	g->sec_offered++;
	if (s->measured)
		g->measured_started++;
	sess_send(g, i, now);
}

/* --check: the history is full; nothing more may be sent (see kbp_check.h). */
static inline bool check_full(struct gen *g)
{
	if (likely(g->chk == NULL))
		return false;
	g->chk_stop = kbp_check_full(g->chk);
	return g->chk_stop;
}

static uint32_t issue(struct gen *g, uint64_t now)
{
	uint32_t n = 0;

	if (g->o.rate > 0) {
		/* Everything due by now, in order, as client ids allow. */
		while (g->next_intended <= now && g->next_intended < g->t_end && g->n_free > 0 &&
		       n < GEN_ISSUE_MAX && !check_full(g)) {
			sess_start(g, g->next_intended, now);
			g->next_k++;
			g->next_intended = g->t_start + (uint64_t)((double)g->next_k * g->period_tsc);
			n++;
		}
	} else if (now < g->t_end) {
		while (g->n_free > 0 && n < GEN_ISSUE_MAX && !check_full(g)) {
			sess_start(g, now, now);
			n++;
		}
	}
	return n;
}

/* Timeouts and backoffs: a scan every GEN_SWEEP_US over the sessions. */
static void sweep(struct gen *g, uint64_t now)
{
	for (uint32_t i = 0; i < g->n_sess; i++) {
		struct gen_session *s = &g->sess[i];
		if (s->state == S_FREE || s->state == S_DEAD || now < s->due_tsc)
			continue;
		if (s->state == S_BACKOFF) {
			g->ev.resends_busy++;
			sess_send(g, i, now);
			continue;
		}
		/* A REGISTER is resent until answered: without a session there is no request. */
		if (s->tries >= g->o.retries && s->op != KBP_OP_REGISTER) {
			sess_finish(g, i, OUT_TIMED_OUT, now);
			continue;
		}
		s->tries++;
		g->ev.resends_timeout++;
		g->sec_errors++;
		/* A node silent since this request went out may be dead: look elsewhere. */
		if (g->o.target < 0 && g->node[s->node].last_rx_tsc + g->timeout_tsc < now) {
			if (g->leader == s->node)
				g->leader = next_reachable(g, s->node);
			s->node = g->leader;
		}
		sess_send(g, i, now);
	}
}

/*
 * Before the run: register every session through the log, all at once (batched into
 * frames like requests), resending on timeouts and following NOT_LEADER hints.  Returns 0
 * once all are registered, or -ETIMEDOUT after GEN_REGISTER_WAIT_S.
 */
static int register_all(struct gen *g)
{
	uint64_t start = rte_rdtsc(), now = start;
	uint64_t deadline = start + (uint64_t)(GEN_REGISTER_WAIT_S * g->tsc_hz);
	uint64_t sweep_tsc = (uint64_t)(g->tsc_hz * GEN_SWEEP_US / 1e6), next_sweep = start + sweep_tsc;

	for (uint32_t i = 0; i < g->n_sess; i++)
		sess_register(g, i, now);
	while (g->registering > 0 && now < deadline && !force_quit) {
		uint32_t got = 0;
		rx_all(g, now, &got);
		if (now >= next_sweep) {
			sweep(g, now);
			next_sweep = now + sweep_tsc;
		}
		tx_all(g);
		if (got == 0)
			rte_delay_us_sleep(GEN_IDLE_SLEEP_US);
		now = rte_rdtsc();
	}
	if (g->registering > 0 || g->ev.register_refused > 0)
		return -ETIMEDOUT;
	printf("kbpaxos-gen: registered %u sessions (ids %" PRIu64 "..%" PRIu64 ") in %.1f ms\n", g->n_sess,
	       g->id_min, g->id_max, (double)(now - start) / g->tsc_hz * 1e3);
	return 0;
}

/* ---- Per-second lines ------------------------------------------------------------- */

static void print_live(const struct gen *g, const struct kbp_ts_row *r, bool warmup, uint32_t sec)
{
	char p50[16], p99[16], p999[16];
	kbp_report_fmt_ns(p50, sizeof(p50), (double)r->p50);
	kbp_report_fmt_ns(p99, sizeof(p99), (double)r->p99);
	kbp_report_fmt_ns(p999, sizeof(p999), (double)r->p999);
	printf("%s%4us  offered %10.0f/s  achieved %10.0f/s  p50 %9s  p99 %9s  p99.9 %9s  "
	       "errors %" PRIu64 "  in-flight %u\n",
	       warmup ? "warmup " : "       ", sec, r->offered, r->achieved, p50, p99, p999,
	       r->errors, g->in_flight);
	fflush(stdout);
}

/* Close the second that ends at now (the last one of a phase may be shorter). */
static void tick(struct gen *g, uint64_t now)
{
	struct kbp_ts_row r;
	bool warmup = g->last_tick < g->t_measure;
	double secs = (double)(now - g->last_tick) / g->tsc_hz;

	memset(&r, 0, sizeof(r));
	if (secs <= 1e-3)
		secs = 1e-3;
	r.offered = g->o.rate > 0 ? g->o.rate : (double)g->sec_offered / secs;
	r.achieved = (double)g->sec_ok / secs;
	r.ok = g->sec_ok;
	r.errors = g->sec_errors;
	kbp_ts_row_latency(&r, &g->interval);
	if (warmup) {
		g->warm_ticks++;
		if (!g->o.quiet)
			print_live(g, &r, true, g->warm_ticks);
	} else {
		r.second = g->n_rows + 1;
		if (g->n_rows < g->rows_max)
			g->rows[g->n_rows++] = r;
		if (!g->o.quiet)
			print_live(g, &r, false, r.second);
	}
	kbp_hist_reset(&g->interval);
	g->sec_offered = g->sec_ok = g->sec_errors = 0;
	g->last_tick = now;
	/* Next: one second on, cut at the end of warm-up and at the end of the run. */
	uint64_t next = g->next_tick + (uint64_t)g->tsc_hz;
	if (g->next_tick < g->t_measure && next > g->t_measure)
		next = g->t_measure;
	else if (g->next_tick < g->t_end && next > g->t_end)
		next = g->t_end;
	else if (g->next_tick >= g->t_end)
		next = UINT64_MAX;
	g->next_tick = next;
}

/* ---- Reply clock --------------------------------------------------------------- */

/* Before the ports are configured: the NIC's stamps only if every port has them. */
static void clock_choose(struct gen *g)
{
	const struct kbp_config_host *h = &g->c->generator;
	bool capa[KBP_CONFIG_DEVS_MAX];
	const char *driver[KBP_CONFIG_DEVS_MAX];

	for (uint32_t d = 0; d < h->n_devs; d++)    /* a missing port: kbp_gen_port_open() says so */
		(void)kbp_gen_port_rx_timestamp_capa(h->dev[d].name, &capa[d], &driver[d]);
	uint32_t d = kbp_gen_clock_first_without(capa, h->n_devs);
	g->nic_time = h->n_devs > 0 && d == h->n_devs;
	if (g->nic_time)
		snprintf(g->clock_why, sizeof(g->clock_why), "%s on every port, mapped onto the TSC, "
			 "re-anchored every %u ms", driver[0], KBP_GEN_CLOCK_PERIOD_MS);
	else if (d < h->n_devs)
		snprintf(g->clock_why, sizeof(g->clock_why), "%s port %s (%s.%s) has no RX timestamp "
			 "offload", driver[d], h->dev[d].name,
			 h->dev[d].kind == KBP_DEV_PCI ? "pci" : "vdev", h->dev[d].label);
}

static void clock_use_tsc(struct gen *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void clock_use_tsc(struct gen *g, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(g->clock_why, sizeof(g->clock_why), fmt, ap);
	va_end(ap);
	g->nic_time = false;
}

/*
 * After the ports started: find the stamp's mbuf field and fit each port's line through
 * two anchors KBP_GEN_CLOCK_FIRST_MS apart.  Anything missing: the TSC, and why.
 */
static void clock_start(struct gen *g)
{
	const struct kbp_config_host *h = &g->c->generator;
	struct kbp_gen_clock_anchor a;
	int r;

	g->anchor_period_tsc = (uint64_t)(g->tsc_hz * KBP_GEN_CLOCK_PERIOD_MS / 1e3);
	if (!g->nic_time)
		return;
	/* The PMD registers it when the offload is on; registering again gives the same one. */
	if (rte_mbuf_dyn_rx_timestamp_register(&g->ts_offset, &g->ts_flag) != 0) {
		clock_use_tsc(g, "no mbuf field for RX timestamps: %s", rte_strerror(rte_errno));
		return;
	}
	for (uint32_t p = 0; p < g->n_ports; p++)
		kbp_gen_clock_init(&g->port[p].clock, g->tsc_hz);
	for (int round = 0; round < 2; round++) {
		if (round > 0)
			rte_delay_us_sleep(KBP_GEN_CLOCK_FIRST_MS * 1000u);
		for (uint32_t p = 0; p < g->n_ports; p++) {
			r = kbp_gen_port_clock_anchor(g->port[p].id, &a);
			if (r != 0) {
				clock_use_tsc(g, "port %s cannot read its clock (rte_eth_read_clock: %s)",
					      h->dev[p].name, rte_strerror(-r));
				return;
			}
			r = kbp_gen_clock_add(&g->port[p].clock, &a);
			if (round > 0 && r != 0) {
				clock_use_tsc(g, "port %s: its clock did not advance in %u ms", h->dev[p].name,
					      KBP_GEN_CLOCK_FIRST_MS);
				return;
			}
		}
	}
}

/* A fresh anchor per port; a failed read drops that port's line until two good ones. */
static void clock_follow(struct gen *g)
{
	struct kbp_gen_clock_anchor a;

	for (uint32_t p = 0; p < g->n_ports; p++) {
		struct kbp_gen_clock *c = &g->port[p].clock;
		if (kbp_gen_port_clock_anchor(g->port[p].id, &a) == 0)
			(void)kbp_gen_clock_add(c, &a);   /* a broken line restarts by itself */
		else
			kbp_gen_clock_restart(c);
	}
}

static const char *clock_name(const struct gen *g)
{
	return g->nic_time ? "NIC receive stamps" : "TSC";
}

static uint64_t clock_sum(const struct gen *g, bool restarts)
{
	uint64_t n = 0;
	for (uint32_t p = 0; p < g->n_ports; p++)
		n += restarts ? g->port[p].clock.restarts : g->port[p].clock.rejected;
	return n;
}

/* ---- The loop ------------------------------------------------------------------- */

static void run(struct gen *g, bool adaptive)
{
	double sweep_us = fmax(GEN_SWEEP_US, g->n_sess * GEN_SWEEP_NS_PER_SESS / 1e3);
	uint64_t sweep_tsc = (uint64_t)(g->tsc_hz * sweep_us / 1e6);
	uint64_t next_sweep;
	uint32_t idle = 0;
	bool stopping = false;

	g->t_start = rte_rdtsc();
	g->t_measure = g->t_start + (uint64_t)(g->o.warmup_s * g->tsc_hz);
	g->t_end = g->t_measure + (uint64_t)(g->o.duration_s * g->tsc_hz);
	double drain_s = fmin(GEN_DRAIN_MAX_S, g->o.timeout_ms / 1e3 * (g->o.retries + 1) + 0.1);
	g->t_drain_end = g->t_end + (uint64_t)(drain_s * g->tsc_hz);
	g->next_intended = g->t_start;
	g->next_k = 0;
	/* Seconds of warm-up, then seconds aligned to the measured window. */
	g->last_tick = g->t_start;
	g->next_tick = g->t_start + (uint64_t)g->tsc_hz;
	if (g->t_measure > g->t_start && g->next_tick > g->t_measure)
		g->next_tick = g->t_measure;
	if (g->next_tick > g->t_end)
		g->next_tick = g->t_end;
	next_sweep = g->t_start + sweep_tsc;
	g->next_anchor = g->t_start + g->anchor_period_tsc;

	for (;;) {
		uint64_t now = rte_rdtsc();
		uint32_t got = 0, sent;

		if ((force_quit || g->chk_stop) && !stopping) {
			/* Ctrl-C or a full --check history: stop issuing, end the window now. */
			stopping = true;
			if (now < g->t_end) {
				g->t_end = now > g->t_measure ? now : g->t_measure;
				/* A full history drains as usual: every answer still counts. */
				g->t_drain_end = now + (uint64_t)((force_quit ? 0.2 : drain_s) * g->tsc_hz);
			}
		}
		rx_all(g, now, &got);
		sent = issue(g, now);
		if (now >= next_sweep) {
			sweep(g, now);
			next_sweep = now + sweep_tsc;
		}
		tx_all(g);
		if (g->nic_time && now >= g->next_anchor) {
			clock_follow(g);
			g->next_anchor = now + g->anchor_period_tsc;
		}

		if (now >= g->next_link_poll) {
			/* Off the hot path: link state, and re-dialling a node that restarted. */
			kbp_links_poll(&g->links, tsc_ns(g, now));
			g->next_link_poll = now + (uint64_t)(g->tsc_hz * KBP_LINK_POLL_MS / 1e3);
		}
		if (now >= g->next_tick)
			tick(g, now);
		if (now >= g->t_end) {
			bool backlog = g->o.rate > 0 && g->next_intended < g->t_end;
			if ((g->in_flight == 0 && !backlog) || now >= g->t_drain_end)
				break;
		}
		if (got == 0 && sent == 0) {
			if (adaptive && ++idle >= GEN_IDLE_SPINS) {
				uint64_t us = GEN_IDLE_SLEEP_US;
				if (g->o.rate > 0 && g->next_intended > now) {
					uint64_t wait_us = (uint64_t)((double)(g->next_intended - now) /
								      g->tsc_hz * 1e6);
					if (wait_us < us)
						us = wait_us;
				}
				if (us > 0)
					rte_delay_us_sleep((unsigned)us);
			}
		} else {
			idle = 0;
		}
	}

	/* What is left: in flight, or due and never sent (open loop backlog). */
	uint64_t now = rte_rdtsc();
	for (uint32_t p = 0; p < g->n_ports; p++) {
		rte_pktmbuf_free_bulk(g->port[p].tx, g->port[p].n_tx);
		g->port[p].n_tx = 0;
	}
	for (uint32_t i = 0; i < g->n_sess; i++)
		if ((g->sess[i].state == S_WAIT || g->sess[i].state == S_BACKOFF) &&
		    g->sess[i].op != KBP_OP_REGISTER)
			sess_finish(g, i, OUT_NEVER_ANSWERED, now);
	if (g->o.rate > 0) {
		while (g->next_intended < g->t_end) {
			if (g->next_intended >= g->t_measure) {
				uint64_t ns = tsc_ns(g, now - g->next_intended);
				g->outcome[OUT_NEVER_SENT]++;
				g->measured_started++;
				/* Op unknown (never drawn): counted under every op only. */
				kbp_hist_record(&g->hist[KBP_OP_NOOP], ns);
			}
			g->next_k++;
			g->next_intended = g->t_start + (uint64_t)((double)g->next_k * g->period_tsc);
		}
	}
}

/* ---- Reports -------------------------------------------------------------------- */

static const char *op_title(unsigned op)
{
	return op == KBP_OP_NOOP ? "all" : kbp_op_name(op);
}

static double measured_s(const struct gen *g)
{
	return (double)(g->t_end - g->t_measure) / g->tsc_hz;
}

static uint64_t answered(const struct gen *g)
{
	return g->outcome[OUT_OK] + g->outcome[OUT_NOT_FOUND] + g->outcome[OUT_CAS_FAILED];
}

static void print_report(const struct gen *g, FILE *f)
{
	char title[96];
	uint64_t total = 0;
	unsigned ops = 0;

	for (unsigned op = KBP_OP_PUT; op < KBP_GEN_OPS; op++)
		ops += kbp_hist_total(&g->hist[op]) > 0;
	fprintf(f, "\n  Latency Distribution (HdrHistogram-style, from each request's intended send time)\n");
	for (unsigned op = KBP_OP_PUT; op < KBP_GEN_OPS; op++) {
		if (kbp_hist_total(&g->hist[op]) == 0)
			continue;
		snprintf(title, sizeof(title), "%s", op_title(op));
		kbp_report_summary(f, &g->hist[op], title, 1.0);
		fprintf(f, "\n");
	}
	if (ops != 1 || g->outcome[OUT_NEVER_SENT] > 0) {
		kbp_report_summary(f, &g->hist[KBP_OP_NOOP], "all operations", 1.0);
		fprintf(f, "\n");
	}
	fprintf(f, "  Detailed Percentile spectrum (all operations, us):\n");
	kbp_report_hgrm(f, &g->hist[KBP_OP_NOOP], KBP_REPORT_HGRM_TICKS, 1000.0);
	fprintf(f, "----------------------------------------------------------\n");

	fprintf(f, "\n  Throughput per second (measured window):\n");
	fprintf(f, "  %6s %12s %12s %10s %10s %10s %10s\n", "second", "offered/s", "achieved/s",
		"errors", "p50(us)", "p99(us)", "p99.9(us)");
	for (uint32_t i = 0; i < g->n_rows; i++) {
		const struct kbp_ts_row *r = &g->rows[i];
		fprintf(f, "  %6u %12.0f %12.0f %10" PRIu64 " %10.1f %10.1f %10.1f\n", r->second,
			r->offered, r->achieved, r->errors, r->p50 / 1e3, r->p99 / 1e3, r->p999 / 1e3);
	}

	fprintf(f, "\n  Requests (intended inside the %.2f s measured window):\n", measured_s(g));
	for (unsigned k = 0; k < OUT_COUNT; k++) {
		total += g->outcome[k];
		if (g->outcome[k] || k <= OUT_CAS_FAILED || k >= OUT_TIMED_OUT || k == OUT_SESSION_EXPIRED)
			fprintf(f, "  %14" PRIu64 "  %s\n", g->outcome[k], outcome_text[k]);
	}
	fprintf(f, "  %14" PRIu64 "  total (%" PRIu64 " started or due; every one is in the histogram)\n",
		total, g->measured_started);
	fprintf(f, "  Events (whole run, warm-up included): %" PRIu64 " requests, %" PRIu64
		" commands sent in %" PRIu64 " frames (%.1f per frame), %" PRIu64 " resent after timeout, "
		"%" PRIu64 " NOT_LEADER redirects, %" PRIu64 " BUSY, %" PRIu64 " stale replies, %"
		PRIu64 " frames received, %" PRIu64 " dropped by the parser, %" PRIu64
		" frames lost to full TX queues (%" PRIu64 " times a TX ring was full)\n",
		g->ev.requests, g->ev.cmds_sent, g->ev.frames_tx,
		g->ev.frames_tx ? (double)g->ev.cmds_sent / (double)g->ev.frames_tx : 0.0,
		g->ev.resends_timeout, g->ev.redirects, g->ev.busy, g->ev.replies_stale,
		g->ev.frames_rx, g->ev.frames_rx - g->rx_counts.n[KBP_WIRE_OK], g->ev.tx_dropped_frames,
		g->ev.tx_retries);
	fprintf(f, "  Sessions: %" PRIu64 " registered (%u at start, the rest after SESSION_EXPIRED or STALE), ids %"
		PRIu64 "..%" PRIu64 ", %" PRIu64 " REGISTERs sent, %" PRIu64 " refused\n", g->ev.registered,
		g->n_sess, g->id_min, g->id_max, g->ev.register_sent, g->ev.register_refused);
	for (int k = 1; k < KBP_WIRE_DROP_COUNT; k++)
		if (g->rx_counts.n[k])
			fprintf(f, "  %14" PRIu64 "  frames dropped: %s\n", g->rx_counts.n[k],
				kbp_wire_drop_text(k));
	fprintf(f, "  Reply arrival times: %" PRIu64 " from NIC receive stamps, %" PRIu64
		" from the TSC at poll; latency clock: %s (%s)\n", g->ev.replies_nic_time,
		g->ev.replies_tsc_time, clock_name(g), g->clock_why);
	if (g->nic_time)
		fprintf(f, "  NIC clock: %" PRIu64 " implausible stamps replaced by the TSC, %" PRIu64
			" restarts of the NIC-to-TSC line\n", clock_sum(g, false), clock_sum(g, true));
	fprintf(f, "\n  Requests/sec: %12.2f   (answered, measured window)\n",
		(double)answered(g) / measured_s(g));
	fprintf(f, "  Leader: node %u\n", g->leader);
}

static int write_json(const struct gen *g, const char *path)
{
	FILE *f = fopen(path, "w");
	struct kbp_json j;

	if (!f)
		return -errno;
	kbp_json_init(&j, f);
	kbp_json_obj_begin(&j, NULL);
	kbp_json_str(&j, "tool", "kbpaxos-gen");
	kbp_json_str(&j, "label", g->o.label);
	kbp_json_str(&j, "config", g->o.config);
	kbp_json_str(&j, "mode", g->o.rate > 0 ? "open" : "closed");
	kbp_json_double(&j, "rate", g->o.rate);
	kbp_json_u64(&j, "outstanding", g->o.rate > 0 ? 0 : g->o.outstanding);
	kbp_json_u64(&j, "sessions", g->n_sess);
	kbp_json_double(&j, "duration_s", measured_s(g));
	kbp_json_double(&j, "warmup_s", g->o.warmup_s);
	kbp_json_u64(&j, "value_size", g->o.value_size);
	kbp_json_u64(&j, "key_size", g->o.key_size);
	kbp_json_u64(&j, "keys", g->o.keys);
	kbp_json_str(&j, "dist", g->o.zipf_s > 0 ? "zipf" : "uniform");
	kbp_json_double(&j, "zipf_s", g->o.zipf_s);
	kbp_json_obj_begin(&j, "mix");
	for (unsigned op = KBP_OP_PUT; op < KBP_GEN_OPS; op++)
		kbp_json_u64(&j, kbp_op_name(op), g->o.mix[op]);
	kbp_json_obj_end(&j);
	kbp_json_i64(&j, "target", g->o.target);
	kbp_json_u64(&j, "leader", g->leader);
	kbp_json_u64(&j, "batch_max", g->batch_max);
	kbp_json_str(&j, "timestamps", g->nic_time ? "nic" : "tsc");
	kbp_json_str(&j, "timestamps_why", g->clock_why);
	kbp_json_double(&j, "tsc_hz", g->tsc_hz);
	kbp_json_double(&j, "throughput", (double)answered(g) / measured_s(g));
	kbp_json_obj_begin(&j, "requests");
	uint64_t total = 0;
	for (unsigned k = 0; k < OUT_COUNT; k++) {
		kbp_json_u64(&j, outcome_tag[k], g->outcome[k]);
		total += g->outcome[k];
	}
	kbp_json_u64(&j, "total", total);
	kbp_json_obj_end(&j);
	kbp_json_obj_begin(&j, "events");
	kbp_json_u64(&j, "requests", g->ev.requests);
	kbp_json_u64(&j, "cmds_sent", g->ev.cmds_sent);
	kbp_json_u64(&j, "resends_timeout", g->ev.resends_timeout);
	kbp_json_u64(&j, "resends_backoff", g->ev.resends_busy);
	kbp_json_u64(&j, "redirects", g->ev.redirects);
	kbp_json_u64(&j, "busy", g->ev.busy);
	kbp_json_u64(&j, "replies", g->ev.replies);
	kbp_json_u64(&j, "replies_stale", g->ev.replies_stale);
	kbp_json_u64(&j, "replies_foreign", g->ev.replies_foreign);
	kbp_json_u64(&j, "registered", g->ev.registered);
	kbp_json_u64(&j, "register_sent", g->ev.register_sent);
	kbp_json_u64(&j, "register_refused", g->ev.register_refused);
	kbp_json_u64(&j, "replies_nic_time", g->ev.replies_nic_time);
	kbp_json_u64(&j, "replies_tsc_time", g->ev.replies_tsc_time);
	kbp_json_u64(&j, "nic_stamps_rejected", clock_sum(g, false));
	kbp_json_u64(&j, "nic_clock_restarts", clock_sum(g, true));
	kbp_json_u64(&j, "frames_tx", g->ev.frames_tx);
	kbp_json_u64(&j, "frames_rx", g->ev.frames_rx);
	kbp_json_u64(&j, "tx_ring_full", g->ev.tx_retries);
	kbp_json_u64(&j, "tx_dropped_frames", g->ev.tx_dropped_frames);
	kbp_json_u64(&j, "tx_dropped_cmds", g->ev.tx_dropped_cmds);
	kbp_json_u64(&j, "mbuf_exhausted", g->ev.mbuf_exhausted);
	kbp_json_obj_end(&j);
	kbp_json_obj_begin(&j, "rx_drops");
	for (int k = 1; k < KBP_WIRE_DROP_COUNT; k++)
		if (g->rx_counts.n[k])
			kbp_json_u64(&j, kbp_wire_drop_name(k), g->rx_counts.n[k]);
	kbp_json_obj_end(&j);
	kbp_json_obj_begin(&j, "latency");
	for (unsigned op = 0; op < KBP_OP_COUNT; op++)
		if (op == KBP_OP_NOOP || kbp_hist_total(&g->hist[op]) > 0)
			kbp_json_hist(&j, op_title(op), &g->hist[op], 1000.0, "us");
	kbp_json_obj_end(&j);
	kbp_json_arr_begin(&j, "timeseries");
	for (uint32_t i = 0; i < g->n_rows; i++) {
		const struct kbp_ts_row *r = &g->rows[i];
		kbp_json_obj_begin(&j, NULL);
		kbp_json_u64(&j, "second", r->second);
		kbp_json_double(&j, "offered", r->offered);
		kbp_json_double(&j, "achieved", r->achieved);
		kbp_json_u64(&j, "ok", r->ok);
		kbp_json_u64(&j, "errors", r->errors);
		kbp_json_double(&j, "p50_us", (double)r->p50 / 1e3);
		kbp_json_double(&j, "p99_us", (double)r->p99 / 1e3);
		kbp_json_double(&j, "p999_us", (double)r->p999 / 1e3);
		kbp_json_obj_end(&j);
	}
	kbp_json_arr_end(&j);
	if (g->chk_done) {
		char key[KBP_KEY_MAX + 1];
		kbp_gen_key_name(&g->w, g->chk_res.bad_key, key, sizeof(key));
		kbp_check_json(&g->chk_res, &j, g->t_start, g->tsc_hz, key);
	}
	kbp_json_obj_end(&j);
	int r = kbp_json_finish(&j);
	if (fclose(f) != 0 && r == 0)
		r = -EIO;
	return r;
}

static int write_hgrm(const struct kbp_hist *h, const char *path)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -errno;
	int r = kbp_report_hgrm(f, h, KBP_REPORT_HGRM_TICKS, 1000.0);
	if (fclose(f) != 0 && r == 0)
		r = -EIO;
	return r;
}

static int write_csv(const struct gen *g, const char *path)
{
	FILE *f = fopen(path, "w");
	int r;
	if (!f)
		return -errno;
	r = kbp_report_csv_header(f, "us");
	for (uint32_t i = 0; r == 0 && i < g->n_rows; i++)
		r = kbp_report_csv_row(f, &g->rows[i], 1000.0);
	if (fclose(f) != 0 && r == 0)
		r = -EIO;
	return r;
}

/* Run "bash bench/plot.sh args..." (argv[0] is "bash"); its stdout goes to ours. */
static int run_plot(char *const argv[])
{
	pid_t pid;
	int st;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		execvp("bash", argv);
		_exit(127);
	}
	if (waitpid(pid, &st, 0) < 0)
		return -errno;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int write_outputs(const struct gen *g)
{
	const char *dir = g->o.out_dir;
	char path[1024], spec[KBP_OP_COUNT][1100], png[1100];
	int r, bad = 0;

	if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
		fprintf(stderr, "kbpaxos-gen: cannot create %s: %s\n", dir, strerror(errno));
		return -1;
	}
	snprintf(path, sizeof(path), "%s/summary.json", dir);
	if ((r = write_json(g, path)) != 0)
		bad = fprintf(stderr, "kbpaxos-gen: writing %s failed: %s\n", path, strerror(-r));
	for (unsigned op = 0; op < KBP_OP_COUNT; op++) {
		spec[op][0] = '\0';
		if (op != KBP_OP_NOOP && kbp_hist_total(&g->hist[op]) == 0)
			continue;
		if (op == KBP_OP_NOOP)
			snprintf(path, sizeof(path), "%s/%s.hgrm", dir, g->o.label);
		else
			snprintf(path, sizeof(path), "%s/%s-%s.hgrm", dir, g->o.label, kbp_op_name(op));
		if ((r = write_hgrm(&g->hist[op], path)) != 0)
			bad = fprintf(stderr, "kbpaxos-gen: writing %s failed: %s\n", path, strerror(-r));
		snprintf(spec[op], sizeof(spec[op]), "%s=%s %s", path, g->o.label, op_title(op));
	}
	snprintf(path, sizeof(path), "%s/timeseries.csv", dir);
	if ((r = write_csv(g, path)) != 0)
		bad = fprintf(stderr, "kbpaxos-gen: writing %s failed: %s\n", path, strerror(-r));
	printf("\n  Files: %s/summary.json, %s/%s*.hgrm, %s/timeseries.csv\n", dir, dir, g->o.label, dir);
	if (g->o.no_plots || g->n_rows == 0)
		return bad ? -1 : 0;

	const char *plot = getenv("KBP_PLOT_SH");
	char *args[12] = { NULL };
	int a = 0;
	if (!plot)
		plot = KBP_PLOT_SH;
	args[a++] = (char *)"bash";
	args[a++] = (char *)plot;
	args[a++] = (char *)"percentiles";
	snprintf(png, sizeof(png), "%s/latency", dir);
	args[a++] = png;
	args[a++] = (char *)"--title";
	char title[256];
	snprintf(title, sizeof(title), "kbpaxos %s: latency by percentile (%s loop)", g->o.label,
		 g->o.rate > 0 ? "open" : "closed");
	args[a++] = title;
	/* Each op that ran, and "all" when several did. */
	unsigned ops = 0;
	for (unsigned op = KBP_OP_PUT; op < KBP_GEN_OPS; op++)
		if (spec[op][0]) {
			args[a++] = spec[op];
			ops++;
		}
	if (ops != 1)
		args[a++] = spec[KBP_OP_NOOP];
	printf("  Plots:\n");
	r = run_plot(args);
	if (r == 77)
		printf("  (gnuplot missing: apt-get install gnuplot-nox; no plots)\n");
	else if (r != 0)
		bad = fprintf(stderr, "kbpaxos-gen: %s percentiles failed (%d)\n", plot, r);
	char ts_out[1100], csv[1100], ts_title[256];
	snprintf(ts_out, sizeof(ts_out), "%s/timeseries", dir);
	snprintf(csv, sizeof(csv), "%s/timeseries.csv", dir);
	snprintf(ts_title, sizeof(ts_title), "kbpaxos %s: throughput and latency per second", g->o.label);
	char *targs[12] = { (char *)"bash", (char *)plot, (char *)"timeseries", ts_out, (char *)"--title", ts_title,
			    csv, NULL };
	r = run_plot(targs);
	if (r != 0 && r != 77)
		bad = fprintf(stderr, "kbpaxos-gen: %s timeseries failed (%d)\n", plot, r);
	return bad ? -1 : 0;
}

/* ---- Cluster counters ------------------------------------------------------------ */

#define GEN_TEL_BUF 16384u
#define GEN_TEL_CMDS 2u
static const char *const tel_cmds[GEN_TEL_CMDS] = { "/kbpaxos/status", "/kbpaxos/drops" };

/*
 * Ask a node's DPDK telemetry socket (/var/run/dpdk/<file_prefix>/dpdk_telemetry.v2, the
 * same one dpdk-telemetry.py reads) for cmd; the JSON reply lands in out.  Works only for
 * nodes on this box.  Returns 0 or a negative errno.
 */
static int telemetry_query(const char *prefix, const char *cmd, char *out, size_t len)
{
	struct sockaddr_un sun;
	struct timeval tv = { .tv_sec = 1, .tv_usec = 0 };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	ssize_t n;

	if (fd < 0)
		return -errno;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "/var/run/dpdk/%s/dpdk_telemetry.v2", prefix);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0 ||
	    recv(fd, out, len - 1, 0) <= 0 ||                       /* the greeting */
	    send(fd, cmd, strlen(cmd), 0) < 0 || (n = recv(fd, out, len - 1, 0)) <= 0) {
		int e = -errno;
		close(fd);
		return e ? e : -EIO;
	}
	out[n] = '\0';
	close(fd);
	return 0;
}

/* For people: {"/cmd":{"a":1,"b":0}} printed as "a=1 b=0", zero members left out when skip_zero. */
static void print_flat(const char *json, bool skip_zero)
{
	const char *p = strchr(json, ':');
	char tok[128];

	if (!p || !(p = strchr(p, '{')))
		return;
	p++;
	while (*p && *p != '}') {
		size_t n = strcspn(p, ",}");
		snprintf(tok, sizeof(tok), "%.*s", (int)(n < sizeof(tok) ? n : sizeof(tok) - 1), p);
		char *colon = strchr(tok, ':');
		p += n + (p[n] == ',');
		if (!colon || (skip_zero && !strcmp(colon + 1, "0")))
			continue;
		*colon = '\0';
		const char *v = colon + 1;
		printf(" %.*s=%.*s", (int)strlen(tok) - 2, tok + 1,
		       (int)strlen(v) - (v[0] == '"') * 2, v + (v[0] == '"'));
	}
}

/* Each node's counters, printed and (with --out) saved as DIR/cluster.json. */
static void fetch_cluster_counters(const struct gen *g)
{
	static char buf[GEN_TEL_BUF];
	FILE *f = NULL;
	char path[1024];
	bool any = false;

	if (g->o.out_dir) {
		mkdir(g->o.out_dir, 0755);
		snprintf(path, sizeof(path), "%s/cluster.json", g->o.out_dir);
		f = fopen(path, "w");
	}
	printf("\n  Cluster counters (DPDK telemetry):\n");
	if (f)
		fprintf(f, "{\n");
	for (uint32_t n = 0; n < g->n_nodes; n++) {
		for (unsigned k = 0; k < GEN_TEL_CMDS; k++) {
			int r = telemetry_query(g->c->node[n].file_prefix, tel_cmds[k], buf, sizeof(buf));
			if (r != 0) {
				if (k == 0)
					printf("  node %u: no telemetry (%s): not on this box, or not running\n", n,
					       strerror(-r));
				break;
			}
			printf("  node %u %s:", n, k == 0 ? "status" : "dropped frames");
			print_flat(buf, k != 0);
			printf("\n");
			if (f)
				fprintf(f, "%s  \"node%u%s\": %s", any ? ",\n" : "", n,
					strrchr(tel_cmds[k], '/'), buf);
			any = true;
		}
	}
	if (f) {
		fprintf(f, "\n}\n");
		fclose(f);
	}
}

/* ---- Set-up -------------------------------------------------------------------- */

static int setup(struct gen *g, char *err, size_t err_len)
{
	const struct kbp_config_host *h = &g->c->generator;

	kbp_config_wire_ctx(g->c, KBP_NODE_CLIENT, &g->ctx);
	memcpy(g->src.mac, h->mac, 6);
	g->src.ip = h->ip;
	g->src.port = h->port;
	g->n_nodes = g->c->nodes;
	g->batch_max = g->o.batch ? g->o.batch : g->ctx.cmds_max;
	if (g->batch_max > g->ctx.cmds_max) {
		snprintf(err, err_len, "--batch %u is above the cluster's batch_cmds_max %u (nodes would "
			 "drop the frames)", g->batch_max, g->ctx.cmds_max);
		return -EINVAL;
	}
	g->payload_max = g->ctx.payload_max;     /* the config already keeps it within the mtu */
	if (kbp_gen_cmd_size(&g->w, KBP_OP_CAS) > g->payload_max) {
		snprintf(err, err_len, "one command (%u bytes) does not fit a frame (%u payload bytes)",
			 kbp_gen_cmd_size(&g->w, KBP_OP_CAS), g->payload_max);
		return -EINVAL;
	}
	if (g->o.target >= (int)g->n_nodes) {
		snprintf(err, err_len, "--target %d: the cluster has nodes 0..%u", g->o.target,
			 g->n_nodes - 1);
		return -EINVAL;
	}

	uint32_t frame = kbp_config_frame_max(g->c);
	g->mp = rte_pktmbuf_pool_create("kbpgen_mp", GEN_MBUFS, 256, 0,
					(uint16_t)(frame + RTE_PKTMBUF_HEADROOM), (int)rte_socket_id());
	if (!g->mp) {
		snprintf(err, err_len, "mbuf pool (%u x %u bytes): %s", GEN_MBUFS, frame,
			 rte_strerror(rte_errno));
		return -ENOMEM;
	}
	clock_choose(g);
	uint16_t ids[KBP_CONFIG_DEVS_MAX];
	for (uint32_t d = 0; d < h->n_devs; d++) {
		int r = kbp_gen_port_open(h->dev[d].name, g->mp, h->mac, g->nic_time, &g->port[d].id,
					  err, err_len);
		if (r < 0)
			return r;
		ids[d] = g->port[d].id;
		g->n_ports++;
	}
	int logtype = rte_log_register_type_and_pick_level("kbpaxos.gen", RTE_LOG_NOTICE);
	kbp_links_init(&g->links, h, ids, true, logtype < 0 ? RTE_LOGTYPE_USER1 : logtype, "kbpaxos-gen");
	for (uint32_t n = 0; n < g->n_nodes; n++) {
		struct gen_node_tx *nt = &g->node[n];
		nt->reachable = h->route[n] != KBP_CONFIG_ROUTE_NONE;
		nt->port = nt->reachable ? h->route[n] : 0;
		memcpy(nt->dst.mac, g->c->node[n].mac, 6);
		nt->dst.ip = g->c->node[n].ip;
		nt->dst.port = g->c->node[n].client_port;
		nt->buf = calloc(1, g->payload_max);
		if (!nt->buf)
			return -ENOMEM;
	}
	if (g->o.target >= 0 && !g->node[g->o.target].reachable) {
		snprintf(err, err_len, "--target %d: [generator] has no route.%d", g->o.target, g->o.target);
		return -EINVAL;
	}
	g->leader = g->o.target >= 0 ? (uint8_t)g->o.target : next_reachable(g, (uint8_t)(g->n_nodes - 1));

	g->n_sess = g->o.rate > 0 ? g->o.sessions : g->o.outstanding;
	if (g->n_sess > g->c->clients_max) {
		/* More would evict each other's sessions: SESSION_EXPIRED, re-register, again. */
		snprintf(err, err_len, "%u client ids need %u sessions, but the cluster keeps %u "
			 "(clients_max in %s)", g->n_sess, g->n_sess, g->c->clients_max, g->o.config);
		return -EINVAL;
	}
	g->sess = calloc(g->n_sess, sizeof(*g->sess));
	g->free_stack = calloc(g->n_sess, sizeof(*g->free_stack));
	if (!g->sess || !g->free_stack)
		return -ENOMEM;
	for (uint32_t i = 0; i < g->n_sess; i++)
		g->sess[i].seq = GEN_SEQ_STEP | i;
	g->n_free = 0;                     /* a session is free once registered */
	/* Nonces for REGISTER: bit 63, and bits from the clock and pid above the index. */
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	g->nonce_base = (((uint64_t)ts.tv_sec * 1000003u + (uint64_t)ts.tv_nsec / 1000u) ^
			 ((uint64_t)getpid() << 24)) << GEN_SEQ_INDEX_BITS;
	g->nonce_base |= KBP_CLIENT_NONCE;
	if (g->o.check) {
		/* The same fresh number picks this run's key range and tags its values. */
		kbp_gen_work_set_nonce(&g->w, (g->nonce_base & ~KBP_CLIENT_NONCE) >> GEN_SEQ_INDEX_BITS);
		g->chk = kbp_check_new(g->o.check_ops, g->o.keys);
		if (!g->chk)
			return -ENOMEM;
	}

	for (unsigned op = 0; op < KBP_OP_COUNT; op++)
		if (kbp_hist_init(&g->hist[op], 1, GEN_HIST_HIGHEST_NS, 3) != 0)
			return -ENOMEM;
	if (kbp_hist_init(&g->interval, 1, GEN_HIST_HIGHEST_NS, 3) != 0)
		return -ENOMEM;
	g->rows_max = (uint32_t)ceil(g->o.duration_s) + 2;
	g->rows = calloc(g->rows_max, sizeof(*g->rows));
	if (!g->rows)
		return -ENOMEM;

	g->tsc_hz = (double)rte_get_tsc_hz();
	g->ns_per_tsc = 1e9 / g->tsc_hz;
	g->timeout_tsc = (uint64_t)(g->o.timeout_ms / 1e3 * g->tsc_hz);
	g->backoff_tsc = (uint64_t)(g->o.busy_backoff_us / 1e6 * g->tsc_hz);
	g->redirect_backoff_tsc = (uint64_t)(fmax(g->o.busy_backoff_us, 1000.0) / 1e6 * g->tsc_hz);
	if (g->o.rate > 0)
		g->period_tsc = g->tsc_hz / g->o.rate;
	return 0;
}

/* Wait until every port links up (memif: the node's server socket exists). */
static int wait_links(const struct gen *g)
{
	const struct kbp_config_host *h = &g->c->generator;
	uint64_t deadline = rte_get_tsc_cycles() + GEN_LINK_WAIT_S * rte_get_tsc_hz();
	bool all;

	do {
		all = true;
		for (uint32_t p = 0; p < g->n_ports; p++)
			all &= kbp_gen_port_link_up(g->port[p].id);
		if (all || force_quit)
			break;
		rte_delay_us_sleep(10000);
	} while (rte_get_tsc_cycles() < deadline);
	if (all)
		return 0;
	for (uint32_t p = 0; p < g->n_ports; p++) {
		if (kbp_gen_port_link_up(g->port[p].id))
			continue;
		int node = -1;
		for (uint32_t n = 0; n < g->n_nodes; n++)
			if (h->route[n] == p)
				node = (int)n;
		fprintf(stderr, "kbpaxos-gen: port %s (vdev.%s) is down after %u s%s", h->dev[p].name,
			h->dev[p].label, GEN_LINK_WAIT_S, node >= 0 ? "" : "\n");
		if (node >= 0)
			fprintf(stderr, ": is node %d running (kbpaxosd --node %d)?\n", node, node);
	}
	return -ENOTCONN;
}

/* --check: the verdict on the whole history, printed; write_json() saves it. */
static enum kbp_check_verdict run_check(struct gen *g)
{
	char key[KBP_KEY_MAX + 1];

	printf("\n  Linearizability (--check, per-key Wing & Gong search, bounded to %.0f s):\n",
	       g->o.check_time_s);
	fflush(stdout);
	if (kbp_check_run(g->chk, g->o.check_time_s, 0, &g->chk_res) != 0) {
		fprintf(stderr, "kbpaxos-gen: --check: out of memory for the check\n");
		printf("linearizable=unknown\n");
		return KBP_CHECK_UNKNOWN;
	}
	g->chk_done = true;
	kbp_gen_key_name(&g->w, g->chk_res.bad_key, key, sizeof(key));
	kbp_check_print(&g->chk_res, stdout, g->t_start, g->tsc_hz, key);
	return g->chk_res.verdict;
}

int main(int argc, char **argv)
{
	static struct kbp_cluster_config cfg;
	static struct kbp_eal_args eal;
	static struct gen g;
	char err[KBP_CONFIG_ERR_MAX];
	int r;

	kbp_gen_opts_default(&g.o);
	r = kbp_gen_opts_parse(&g.o, argc, argv, err, sizeof(err));
	if (r != 0) {
		if (r < 0)
			fprintf(stderr, "kbpaxos-gen: %s\n", err);
		return r < 0 ? 2 : 0;
	}
	if (kbp_config_load(g.o.config, &cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "kbpaxos-gen: %s\n", err);
		return 2;
	}
	if (!cfg.generator.present) {
		fprintf(stderr, "kbpaxos-gen: %s has no [generator] section (docs/CONFIG.md)\n", g.o.config);
		return 2;
	}
	if (kbp_netns_enter(cfg.netns, err, sizeof(err)) != 0) {   /* before EAL starts threads */
		fprintf(stderr, "kbpaxos-gen: %s\n", err);
		return 1;
	}
	g.c = &cfg;
	if (kbp_gen_work_init(&g.w, &g.o) != 0) {
		fprintf(stderr, "kbpaxos-gen: --mix has no operation\n");
		return 2;
	}

	bool huge = kbp_config_hugepages_available();
	if (kbp_config_eal_args(&cfg, KBP_NODE_CLIENT, argv[0], huge, &eal) != 0) {
		fprintf(stderr, "kbpaxos-gen: EAL arguments too long\n");
		return 2;
	}
	printf("kbpaxos-gen: EAL");
	for (int i = 1; i < eal.argc; i++)
		printf(" %s", eal.argv[i]);
	printf("\n");
	if (rte_eal_init(eal.argc, eal.argv) < 0) {
		fprintf(stderr, "kbpaxos-gen: EAL did not start: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	r = setup(&g, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "kbpaxos-gen: %s\n", r == -ENOMEM && !err[0] ? "out of memory" : err);
		rte_eal_cleanup();
		return 1;
	}
	if (wait_links(&g) != 0) {
		for (uint32_t p = 0; p < g.n_ports; p++)
			kbp_gen_port_close(g.port[p].id);
		rte_eal_cleanup();
		return 1;
	}

	clock_start(&g);
	printf("kbpaxos-gen: latency clock: %s (%s)\n", clock_name(&g), g.clock_why);
	if (g.o.rate > 0)
		printf("kbpaxos-gen: open loop, %.0f requests/s, %u client ids", g.o.rate, g.n_sess);
	else
		printf("kbpaxos-gen: closed loop, %u outstanding", g.n_sess);
	printf(", %.1f s + %.1f s warm-up, %u-byte values, %" PRIu64 " keys %s, mix put=%u,get=%u,cas=%u, "
	       "%s, up to %u commands per frame\n",
	       g.o.duration_s, g.o.warmup_s, g.o.value_size, g.o.keys,
	       g.o.zipf_s > 0 ? "zipf" : "uniform", g.o.mix[KBP_OP_PUT], g.o.mix[KBP_OP_GET],
	       g.o.mix[KBP_OP_CAS], g.o.target >= 0 ? "fixed target" : "leader discovery", g.batch_max);
	if (g.chk) {
		char k0[KBP_KEY_MAX + 1];
		kbp_gen_key_name(&g.w, 0, k0, sizeof(k0));
		printf("kbpaxos-gen: --check: keys from %s (a range of its own for this run), values unique "
		       "per write, at most %u operations recorded (%.0f MiB), check bounded to %.0f s\n", k0,
		       g.o.check_ops, (double)g.o.check_ops * KBP_CHECK_REC_BYTES / (1 << 20), g.o.check_time_s);
	}
	/*
	 * Adaptive idling sleeps ~20 us; with the default 50 us timer slack a reply arriving
	 * meanwhile would be timestamped ~70 us late, inflating every latency we report.
	 */
	if (cfg.generator.idle == KBP_IDLE_ADAPTIVE)
		prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
	if (register_all(&g) != 0) {
		fprintf(stderr, "kbpaxos-gen: registered %" PRIu64 " of %u sessions in %u s (%" PRIu64
			" REGISTERs sent, %" PRIu64 " refused, %" PRIu64 " NOT_LEADER, %" PRIu64 " BUSY): is a "
			"leader up?\n", g.ev.registered, g.n_sess, GEN_REGISTER_WAIT_S, g.ev.register_sent,
			g.ev.register_refused, g.ev.redirects, g.ev.busy);
		for (uint32_t p = 0; p < g.n_ports; p++)
			kbp_gen_port_close(g.port[p].id);
		rte_eal_cleanup();
		return 1;
	}
	run(&g, cfg.generator.idle == KBP_IDLE_ADAPTIVE);
	for (uint32_t p = 0; p < g.n_ports; p++)
		kbp_gen_port_close(g.port[p].id);
	rte_eal_cleanup();

	print_report(&g, stdout);
	fetch_cluster_counters(&g);   /* the nodes are still up: the wrk2 order, counters last */
	r = 0;
	if (g.chk && run_check(&g) == KBP_CHECK_NO)
		r = 1;
	if (g.o.out_dir && write_outputs(&g) != 0)
		r = 1;
	uint64_t total = 0;
	for (unsigned k = 0; k < OUT_COUNT; k++)
		total += g.outcome[k];
	if (total != g.measured_started) {
		fprintf(stderr, "kbpaxos-gen: BUG: %" PRIu64 " outcomes for %" PRIu64 " requests\n", total,
			g.measured_started);
		r = 1;
	}
	if (answered(&g) == 0) {
		fprintf(stderr, "kbpaxos-gen: no request was answered\n");
		r = 1;
	}
	for (unsigned op = 0; op < KBP_OP_COUNT; op++)
		kbp_hist_fini(&g.hist[op]);
	kbp_hist_fini(&g.interval);
	kbp_check_free(g.chk);
	return r;
}
