/* SPDX-License-Identifier: MIT */
/*
 * kbpaxos client over ordinary kernel UDP sockets (no DPDK, no EAL): reads the cluster
 * config, finds the leader by following NOT_LEADER hints, retries a request with the same
 * sequence number until it is answered, and on giving up says which nodes did not answer.
 *
 *   struct kbp_client *c;
 *   kbp_client_new("conf/local.ini", NULL, &c, err, sizeof(err));
 *   kbp_client_put(c, "k", 1, "v", 1, &res);      // 0: res.status says OK / ...
 *   kbp_client_free(c);
 *
 * Sessions (docs/PROTOCOL.md, "Client sessions").  The first put or cas registers a
 * session through the log (a REGISTER under a random nonce); the cluster hands out the
 * id.  Reads need none: before the first write they go out under the nonce.  One request
 * is outstanding per client at a time, so a client is used by one thread.  Sequence
 * numbers grow by one per request; a retry of an unanswered request reuses its number, so
 * the cluster runs a write at most once.  When the cluster answers SESSION_EXPIRED (the
 * session was evicted or expired), the request's outcome is unknown: the library says so
 * (res->outcome) and does not resend it; the next write registers a new session.
 */
#ifndef KBP_CLIENT_H
#define KBP_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "kbp_cmd.h"
#include "kbp_types.h"

struct kbp_client;

struct kbp_client_opts {
	uint32_t timeout_ms;      /* give up on a request after this long (default 5000) */
	uint32_t retry_ms;        /* resend to the next node after this long unanswered (default 200) */
	int first_node;           /* -1: start at a random node */
	int verbose;              /* trace every send, reply and hint on stderr */
};

/* The default options (timeout 5 s, retry 200 ms, random first node). */
void kbp_client_opts_default(struct kbp_client_opts *o);

/* Whether a request took effect, as far as the client can know. */
enum kbp_client_outcome {
	KBP_CLIENT_DONE = 0,      /* it ran, once; status says how */
	KBP_CLIENT_NOT_RUN = 1,   /* refused without running (INVALID; FULL for REGISTER) */
	KBP_CLIENT_UNKNOWN = 2,   /* SESSION_EXPIRED or STALE: it may or may not have run */
};

/* What the cluster answered. */
struct kbp_client_result {
	uint8_t status;           /* enum kbp_status: OK, NOT_FOUND, CAS_FAILED, FULL, INVALID,
				     SESSION_EXPIRED, STALE, TOO_BIG */
	uint8_t outcome;          /* enum kbp_client_outcome */
	uint8_t node;             /* the node that answered (the leader) */
	uint16_t val_len;         /* GET: the value; CAS_FAILED: the current value */
	uint32_t attempts;        /* datagrams sent for this request */
	uint64_t seq;
	uint8_t val[KBP_VAL_MAX]; /* last: the rest is cleared without touching it */
};

/*
 * Load the config at path (kbp_config_load: errors name file, section and key) and open a
 * UDP socket.  opts may be NULL for the defaults.  Returns 0, or a negative errno with one
 * line in err.  Not thread-safe: kbp_config_load (rte_cfgfile) must not run in two threads
 * at once, so create clients one at a time; after that each client is independent.
 */
int kbp_client_new(const char *path, const struct kbp_client_opts *opts, struct kbp_client **out,
		   char *err, size_t err_len);
void kbp_client_free(struct kbp_client *c);

/*
 * One operation, retried until answered or opts.timeout_ms passes.  Returns 0 when a node
 * answered (res->status says how, res->outcome whether it ran; BUSY and NOT_LEADER are
 * handled inside), -ETIMEDOUT when no leader answered in time (a put or cas may then have
 * run or not), -EINVAL / -EMSGSIZE for a key or value out of range, or another negative
 * errno from the socket; kbp_client_error() then explains, naming the nodes that did not
 * answer.  A put or cas without a session registers one first (its errors are returned).
 * SESSION_EXPIRED is returned as such, with outcome KBP_CLIENT_UNKNOWN and an explanation
 * in kbp_client_error(), never retried under a new session: doing so could run it twice.
 */
int kbp_client_put(struct kbp_client *c, const void *key, size_t key_len, const void *val,
		   size_t val_len, struct kbp_client_result *res);
int kbp_client_get(struct kbp_client *c, const void *key, size_t key_len,
		   struct kbp_client_result *res);
int kbp_client_cas(struct kbp_client *c, const void *key, size_t key_len, const void *expected,
		   size_t exp_len, const void *val, size_t val_len, struct kbp_client_result *res);

/* Send cmd (client_id and seq are filled in) as one request; the three above use it. */
int kbp_client_call(struct kbp_client *c, struct kbp_cmd *cmd, struct kbp_client_result *res);

/*
 * Register a new session now (put and cas do it when they need one): 0 with the id in
 * kbp_client_id(), or an error as kbp_client_call's.  Any session held before is dropped.
 */
int kbp_client_register(struct kbp_client *c);

/*
 * Ask node `node` alone, once, without following hints: sends a GET of key and waits up to
 * wait_ms.  Returns 0 with res->status (NOT_LEADER: res->node is the hinted leader or
 * KBP_LEADER_UNKNOWN), or -ETIMEDOUT if the node did not answer.  For `status`.
 */
int kbp_client_probe(struct kbp_client *c, unsigned node, const void *key, size_t key_len,
		     uint32_t wait_ms, struct kbp_client_result *res);

/* The last error, one line ("" if none). */
const char *kbp_client_error(const struct kbp_client *c);
/* The node believed to lead (KBP_LEADER_UNKNOWN before the first answer). */
unsigned kbp_client_leader(const struct kbp_client *c);
/* The session id the cluster gave this client, 0 while it has none. */
uint64_t kbp_client_id(const struct kbp_client *c);
/* The loaded config (struct kbp_cluster_config, kbp_config.h). */
const struct kbp_cluster_config *kbp_client_config(const struct kbp_client *c);

#endif
