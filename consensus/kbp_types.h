/* SPDX-License-Identifier: MIT */
/* Basic kbpaxos types shared by every component: ballots, limits, error codes. */
#ifndef KBP_TYPES_H
#define KBP_TYPES_H

#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Hard limits; configs may choose smaller values. */
#define KBP_NODES_MAX 7          /* node ids are 0..KBP_NODES_MAX-1 */
#define KBP_KEY_MAX 64           /* bytes in a key */
#define KBP_VAL_MAX 1024         /* bytes in a value */

/*
 * A ballot (proposal id) is (round, node id), totally ordered by round then node:
 * packed into one integer so that plain comparison is the protocol's order and two
 * nodes can never issue the same ballot.  Ballot 0 is "none".
 *
 * Ballots saturate, they never wrap (issue 11): rounds go up to KBP_BALLOT_ROUND_MAX - 1.
 * The last round is never created, and a message carrying it is refused on receipt, so
 * no peer can push a node to a round from which "round + 1" would wrap to 0 and make its
 * promise go backwards.  (KBP_BALLOT_CHOSEN, all ones, lies in that round too.)
 */
#define KBP_BALLOT_NODE_BITS 8
#define KBP_BALLOT_ROUND_MAX (UINT64_MAX >> KBP_BALLOT_NODE_BITS)
static_assert(KBP_NODES_MAX <= (1u << KBP_BALLOT_NODE_BITS), "a node id must fit a ballot's node bits");

static inline uint64_t kbp_ballot_round(uint64_t b) { return b >> KBP_BALLOT_NODE_BITS; }
static inline unsigned kbp_ballot_node(uint64_t b)
{
	return (unsigned)(b & ((1u << KBP_BALLOT_NODE_BITS) - 1));
}
static inline bool kbp_ballot_usable(uint64_t b) { return kbp_ballot_round(b) < KBP_BALLOT_ROUND_MAX; }
static inline uint64_t kbp_ballot_make(uint64_t round, unsigned node)
{
	assert(round < KBP_BALLOT_ROUND_MAX && node < (1u << KBP_BALLOT_NODE_BITS));
	return (round << KBP_BALLOT_NODE_BITS) | (uint64_t)node;
}
/* Node self's ballot one round above round_seen, or 0 if round_seen is the last usable round. */
static inline uint64_t kbp_ballot_next(uint64_t round_seen, unsigned self)
{
	if (round_seen >= KBP_BALLOT_ROUND_MAX - 1)
		return 0;
	return kbp_ballot_make(round_seen + 1, self);
}

/* One error enum with a string table (X-macro); functions return 0 or -KBP_E*. */
#define KBP_ERRORS(X)                                               \
	X(KBP_OK, "ok")                                             \
	X(KBP_EINVAL, "invalid argument")                           \
	X(KBP_ETOOBIG, "value or batch larger than configured")     \
	X(KBP_EMALFORMED, "malformed encoding")                     \
	X(KBP_EFULL, "queue or table full")                         \
	X(KBP_ENOTLEADER, "not the leader")                         \
	X(KBP_ERANGE, "slot outside the retained log")              \
	X(KBP_ESTATE, "operation not allowed in this state")

enum kbp_err {
#define KBP_X_ENUM(name, str) name,
	KBP_ERRORS(KBP_X_ENUM)
#undef KBP_X_ENUM
	KBP_ERR_COUNT
};

const char *kbp_strerror(int err);

/* Explicit little-endian loads and stores: the wire and the log are little-endian. */
static inline uint16_t kbp_le16_load(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static inline uint32_t kbp_le32_load(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static inline uint64_t kbp_le64_load(const uint8_t *p)
{
	return (uint64_t)kbp_le32_load(p) | ((uint64_t)kbp_le32_load(p + 4) << 32);
}
static inline void kbp_le16_store(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static inline void kbp_le32_store(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}
static inline void kbp_le64_store(uint8_t *p, uint64_t v)
{
	kbp_le32_store(p, (uint32_t)v);
	kbp_le32_store(p + 4, (uint32_t)(v >> 32));
}

#endif
