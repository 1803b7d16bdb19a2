/* SPDX-License-Identifier: MIT */
/*
 * A deterministic test cluster for the consensus core (in the manner of raft's
 * CLUSTER_* fixtures): N real kbp_node instances, a FIFO network with a fixed latency
 * and per-link drop switches, a disk that completes at once or when the test says so,
 * a fake clock, and a trace of everything that happened, printed when a test fails.
 *
 * Nothing here is random: the same test gives the same trace, event for event.
 */
#ifndef KBP_TEST_HARNESS_H
#define KBP_TEST_HARNESS_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "kbp_node.h"
#include "kbp_sm.h"

#define H_NODES 5
/*
 * Every node starts from a state machine in which client ids 1..H_SESSIONS hold sessions
 * (as if H_SESSIONS REGISTERs had been applied before slot 0), so a test can write as
 * client 1..H_SESSIONS without registering first, and slot numbers stay as the test
 * expects.  Registration itself is tested through the log (test_kv.c, test_client.c, the
 * simulator).
 */
#define H_SESSIONS 32
#define H_TRACE_LINES 8192
#define H_TRACE_LEN 200
#define H_ANY (-1)

#define US 1000ull
#define MS 1000000ull

/* A message in flight; payload is our own copy. */
struct h_msg {
	struct kbp_msg m;
	uint64_t at;                 /* delivery time */
	uint8_t *payload;
};

/* One persist request as the disk holds it. */
struct h_rec {
	struct kbp_persist p;
	uint8_t *value;
};

struct h_reply {
	struct kbp_reply r;
	unsigned node;
	uint64_t at;
	uint8_t val[KBP_VAL_MAX];
};

/* One applied slot, as the node's apply observer reported it. */
struct h_apply {
	uint64_t slot;
	uint32_t count, len;
	uint8_t *batch;
};

struct h_node {
	struct cluster *c;
	unsigned id;
	struct kbp_node *kn;
	bool up;
	bool hold_timer;             /* the test keeps this node from timing out */
	bool manual_disk;            /* persist requests wait for cluster_persist() */
	uint64_t deadline;
	struct h_rec *disk;          /* durable, in id order */
	size_t n_disk, cap_disk;
	struct h_rec *pend;          /* requested, not yet durable */
	size_t n_pend, cap_pend;
	struct h_apply *applied;
	size_t n_applied, cap_applied;
	uint64_t last_lease_req_ns;  /* when a LEASE_REQ last arrived here */
	uint8_t role, leader;
	uint8_t rebuild;             /* enum kbp_rebuild_stage, as last traced */
};

struct cluster {
	unsigned n;
	uint64_t now;
	uint64_t latency_ns;
	struct kbp_node_config cfg;  /* template; self is set per node */
	struct h_node nodes[H_NODES];
	bool link_down[H_NODES][H_NODES];     /* [from][to] */
	struct h_msg *q;
	size_t q_n, q_cap;
	struct h_reply *replies;
	size_t n_replies, cap_replies;
	char (*trace)[H_TRACE_LEN];
	unsigned trace_n;
	bool echo;                   /* KBP_TRACE=1: print the trace as it happens */
	bool passed;
};

/* Small timings so that tests run thousands of simulated milliseconds quickly. */
void cluster_config_default(struct kbp_node_config *cfg, unsigned nodes);

/* cmocka fixtures: *state becomes a struct cluster of 3 nodes, not yet started. */
int cluster_setup(void **state);
int cluster_teardown(void **state);

void cluster_init(struct cluster *c, unsigned n);
void cluster_fini(struct cluster *c);
/* Create and start every node at the current time. */
void cluster_start(struct cluster *c);
/* Create node i from the template without starting it (for restore_* calls). */
void cluster_node_create(struct cluster *c, unsigned i);
void cluster_node_start(struct cluster *c, unsigned i, bool restarted);
/* Crash node i: what was not reported durable is lost; messages to it are dropped. */
void cluster_stop(struct cluster *c, unsigned i);
/* A new process for node i that replays its disk, then starts. */
void cluster_restart(struct cluster *c, unsigned i, bool restarted);
/* Crash node i and lose its whole disk (a failed disk replaced by an empty one). */
void cluster_wipe(struct cluster *c, unsigned i);
/* A new process for node i that replays its disk, then starts rebuilding (non-voting). */
void cluster_restart_rebuild(struct cluster *c, unsigned i);

/* Events into one node, each followed by a flush whose outputs the cluster collects. */
void cluster_flush(struct cluster *c, unsigned i);
int cluster_inject(struct cluster *c, const struct kbp_msg *m);
int cluster_submit(struct cluster *c, unsigned i, const struct kbp_cmd *cmd);
void cluster_tick(struct cluster *c, unsigned i);
/* Report every pending persist request of node i durable. */
void cluster_persist(struct cluster *c, unsigned i);

/* Deliver every message due by now, in FIFO order; returns how many were handed over. */
unsigned cluster_deliver(struct cluster *c);
/* Advance the clock to `end`, delivering messages and firing node deadlines on the way. */
void cluster_run_until(struct cluster *c, uint64_t end);
static inline void cluster_run(struct cluster *c, uint64_t ns) { cluster_run_until(c, c->now + ns); }
/* Let node i win an election: every other node's timer is held until it leads. */
void cluster_elect(struct cluster *c, unsigned i);
/* Run until cmd (client, seq) has a reply other than BUSY/NOT_LEADER; false on timeout. */
bool cluster_run_until_reply(struct cluster *c, uint64_t client, uint64_t seq, uint64_t max_ns);

void cluster_disconnect(struct cluster *c, unsigned a, unsigned b);   /* both directions */
void cluster_reconnect(struct cluster *c, unsigned a, unsigned b);
void cluster_isolate(struct cluster *c, unsigned a);
void cluster_heal(struct cluster *c);

/* Messages in flight: H_ANY matches every value. */
unsigned cluster_count(const struct cluster *c, int type, int from, int to);
const struct h_msg *cluster_find(const struct cluster *c, int type, int from, int to);
/* Remove the first match from the network (a lost packet); false if none. */
bool cluster_take(struct cluster *c, int type, int from, int to, struct h_msg *out);
void cluster_msg_free(struct h_msg *m);

const struct h_reply *cluster_reply(const struct cluster *c, uint64_t client, uint64_t seq);
unsigned cluster_reply_count(const struct cluster *c, uint64_t client, uint64_t seq);

struct kbp_node_status cluster_status(const struct cluster *c, unsigned i);
/* The one node that leads, or -1 if none or more than one does. */
int cluster_leader(const struct cluster *c);
unsigned cluster_leader_count(const struct cluster *c);

void cluster_trace(struct cluster *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cluster_trace_dump(const struct cluster *c, FILE *f, unsigned last);
/* Trace position, and whether a line since `mark` contains every one of the substrings. */
unsigned cluster_trace_mark(const struct cluster *c);
bool cluster_trace_has(const struct cluster *c, unsigned mark, const char *s1, const char *s2);

/* Commands; key and value point to the caller's (usually literal) strings. */
struct kbp_cmd h_put(uint64_t client, uint64_t seq, const char *key, const char *val);
struct kbp_cmd h_get(uint64_t client, uint64_t seq, const char *key);
struct kbp_cmd h_cas(uint64_t client, uint64_t seq, const char *key, const char *exp, const char *val);
struct kbp_cmd h_noop(void);
/* REGISTER under nonce (bit 63 set by the helper). */
struct kbp_cmd h_register(uint64_t nonce);
/* A key-value store with the harness's limits; expiry 0: sessions never expire. */
struct kbp_kv *h_kv_new(uint32_t keys_max, uint32_t clients_max, uint64_t expiry);
/* Register through leader `i`'s log; returns the new session id (the test fails otherwise). */
uint64_t cluster_register(struct cluster *c, unsigned i, uint64_t nonce);
/* Encode one command into buf; returns its size (a one-command batch). */
uint32_t h_encode(uint8_t *buf, uint32_t cap, const struct kbp_cmd *cmd);
/* A protocol message as a peer would send it, for cluster_inject(). */
struct kbp_msg h_mk(uint8_t type, unsigned from, unsigned to, uint64_t ballot, uint64_t slot);
/* The n-th command of an applied batch. */
bool h_batch_cmd(const uint8_t *batch, uint32_t len, uint32_t count, uint32_t n, struct kbp_cmd *out);
const struct h_apply *h_applied_slot(const struct h_node *hn, uint64_t slot);
/* Fails the test if two nodes applied different batches at one slot. */
void cluster_assert_agreement(const struct cluster *c);

void h_ballot_str(uint64_t b, char *buf, size_t cap);

/*
 * A test body taking the cluster; the wrapper marks it passed so the teardown prints
 * the trace only for failures (cmocka longjmps out of a failing body).
 */
#define CLUSTER_TEST(name)                                          \
	static void name##_body(struct cluster *c);                 \
	static void name(void **state)                              \
	{                                                           \
		struct cluster *c_ = *state;                        \
		name##_body(c_);                                    \
		c_->passed = true;                                  \
	}                                                           \
	static void name##_body(struct cluster *c)

#define CLUSTER_TEST_ENTRY(name) cmocka_unit_test_setup_teardown(name, cluster_setup, cluster_teardown)

#define CLUSTER_START() cluster_start(c)
#define CLUSTER_ELECT(i) cluster_elect(c, (i))
#define CLUSTER_RUN(ns) cluster_run(c, (ns))
#define CLUSTER_DISCONNECT(a, b) cluster_disconnect(c, (a), (b))
#define CLUSTER_RECONNECT(a, b) cluster_reconnect(c, (a), (b))
#define CLUSTER_STOP(i) cluster_stop(c, (i))
#define CLUSTER_PERSIST(i) cluster_persist(c, (i))
#define CLUSTER_STATUS(i) cluster_status(c, (i))
#define CLUSTER_TRACE(...) cluster_trace(c, __VA_ARGS__)

#endif
