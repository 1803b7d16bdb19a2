/* SPDX-License-Identifier: MIT */
/*
 * Client commands and the fixed per-command layout.  The same bytes travel in client
 * packets, inside ACCEPT batches, in the durable log and in catch-up replies, so a
 * batch is never re-encoded on its way from the NIC to the disk.
 *
 * Command layout (little-endian, 8-byte aligned, KBP_CMD_HDR_SIZE header):
 *   0  u64 client_id      session id, or a nonce (bit 63 set) for REGISTER and session-less GET
 *   8  u64 seq            client's sequence number; a retry reuses it
 *  16  u8  op             enum kbp_op
 *  17  u8  key_len        1..KBP_KEY_MAX (0 for NOOP and REGISTER)
 *  18  u16 val_len        PUT: value, CAS: new value
 *  20  u16 exp_len        CAS: expected value (0 elsewhere)
 *  22  u16 reserved       must be 0
 *  24  key[key_len] exp[exp_len] val[val_len], zero padding to a multiple of 8
 *
 * Reply layout (KBP_REPLY_HDR_SIZE header):
 *   0  u64 client_id
 *   8  u64 seq
 *  16  u8  status         enum kbp_status
 *  17  u8  leader         NOT_LEADER: the node believed to lead (0xff: unknown)
 *  18  u16 val_len        GET / failed CAS: the current value; REGISTER: 8, the new id
 *  20  u32 reserved
 *  24  val[val_len], zero padding to a multiple of 8
 */
#ifndef KBP_CMD_H
#define KBP_CMD_H

#include "kbp_types.h"

enum kbp_op {
	KBP_OP_NOOP = 0,   /* fills holes after a leader change; applies nothing */
	KBP_OP_PUT = 1,
	KBP_OP_GET = 2,
	KBP_OP_CAS = 3,
	KBP_OP_REGISTER = 4, /* open a session: client_id is a nonce, the reply's value the new id */
	KBP_OP_COUNT
};

/*
 * Client ids.  The cluster assigns session ids from a replicated counter (1, 2, 3 ...,
 * below 2^63), so an id once evicted or expired is never issued again.  A REGISTER, and a
 * GET from a client without a session, carry a client-chosen nonce with bit 63 set in
 * client_id instead: no session can ever have such an id, and the reply finds its way
 * back by it.  Id 0 is reserved.  docs/PROTOCOL.md, "Client sessions".
 */
#define KBP_CLIENT_NONCE (UINT64_C(1) << 63)
static inline bool kbp_client_is_nonce(uint64_t client_id) { return (client_id & KBP_CLIENT_NONCE) != 0; }
/* Bytes of a REGISTER's answer: the new session id, little-endian. */
#define KBP_REGISTER_REPLY_LEN 8u

enum kbp_status {
	KBP_ST_OK = 0,
	KBP_ST_NOT_FOUND = 1,     /* GET or CAS on a missing key */
	KBP_ST_CAS_FAILED = 2,    /* expected value differed; reply carries the current one */
	KBP_ST_NOT_LEADER = 3,    /* reply.leader names the likely leader */
	KBP_ST_BUSY = 4,          /* queues full: retry later with the same seq */
	KBP_ST_FULL = 5,          /* key-value store or client table full */
	KBP_ST_INVALID = 6,       /* malformed command */
	KBP_ST_STALE = 7,         /* seq below the client's latest: not executed now, no answer kept */
	KBP_ST_SESSION_EXPIRED = 8, /* no session for this client id (never registered or expired): not executed */
	KBP_ST_TOO_BIG = 9,       /* the answer's value cannot fit one frame on the client's link */
	KBP_ST_COUNT
};

#define KBP_CMD_HDR_SIZE 24u
#define KBP_REPLY_HDR_SIZE 24u
#define KBP_LEADER_UNKNOWN 0xffu

/* A decoded view of one command; pointers point into the encoded bytes. */
struct kbp_cmd {
	uint64_t client_id;
	uint64_t seq;
	uint8_t op;
	uint8_t key_len;
	uint16_t val_len;
	uint16_t exp_len;
	const uint8_t *key;
	const uint8_t *exp;
	const uint8_t *val;
};

struct kbp_reply {
	uint64_t client_id;
	uint64_t seq;
	uint8_t status;
	uint8_t leader;
	uint16_t val_len;
	const uint8_t *val;
};

static inline uint32_t kbp_pad8(uint32_t n) { return (n + 7u) & ~7u; }

/* Bytes one encoded command takes. */
static inline uint32_t kbp_cmd_size(const struct kbp_cmd *c)
{
	return KBP_CMD_HDR_SIZE + kbp_pad8((uint32_t)c->key_len + c->exp_len + c->val_len);
}
static inline uint32_t kbp_reply_size(const struct kbp_reply *r)
{
	return KBP_REPLY_HDR_SIZE + kbp_pad8(r->val_len);
}

/* Encode into buf (cap bytes). Returns bytes written or -KBP_ETOOBIG. */
int kbp_cmd_encode(const struct kbp_cmd *c, uint8_t *buf, uint32_t cap);
/*
 * Decode the command at buf (len bytes available), validating every length against
 * len and the limits before reading.  Returns its encoded size or -KBP_EMALFORMED.
 */
int kbp_cmd_decode(struct kbp_cmd *c, const uint8_t *buf, uint32_t len);
/* Walk a batch of count commands in len bytes; returns 0 if every one decodes and they fill len exactly. */
int kbp_batch_validate(const uint8_t *buf, uint32_t len, uint32_t count);

int kbp_reply_encode(const struct kbp_reply *r, uint8_t *buf, uint32_t cap);
int kbp_reply_decode(struct kbp_reply *r, const uint8_t *buf, uint32_t len);

const char *kbp_op_name(unsigned op);
const char *kbp_status_name(unsigned st);

#endif
