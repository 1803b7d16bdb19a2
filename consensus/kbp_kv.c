/* SPDX-License-Identifier: MIT */
/* The built-in key-value state machine and its client sessions (rules in kbp_sm.h). */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "kbp_session.h"
#include "kbp_sm.h"

struct kbp_kv_slot {
	uint8_t used;
	uint8_t key_len;
	uint16_t val_len;
	uint8_t key[KBP_KEY_MAX];
	uint8_t val[KBP_VAL_MAX];
};

struct kbp_kv {
	uint32_t keys_max, keys, key_mask;
	uint64_t expiry;                 /* session_expiry_cmds, 0: never */
	bool break_reexecute;
	uint64_t applied, executed;      /* commands applied (no-ops aside), and of those run */
	uint64_t next_id;                /* the id the next REGISTER gets: 1, 2, 3 ... */
	uint8_t reg_val[KBP_REGISTER_REPLY_LEN];
	struct kbp_kv_slot *slots;
	struct kbp_sessions sessions;
};

static uint32_t pow2_at_least(uint32_t v)
{
	uint32_t p = 1;
	while (p < v)
		p <<= 1;
	return p;
}

static uint64_t hash_bytes(const uint8_t *p, uint32_t n)
{
	uint64_t h = 1469598103934665603ull;     /* FNV-1a */
	for (uint32_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 1099511628211ull;
	return h;
}

static uint64_t hash_u64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	return x;
}

struct kbp_kv *kbp_kv_new(const struct kbp_kv_config *cfg)
{
	struct kbp_kv *kv = calloc(1, sizeof(*kv));
	if (!kv)
		return NULL;
	if (cfg->keys_max == 0 || kbp_sessions_init(&kv->sessions, cfg->clients_max) < 0)
		goto fail;
	kv->keys_max = cfg->keys_max;
	kv->key_mask = pow2_at_least(cfg->keys_max * 2) - 1;     /* load factor <= 1/2 */
	kv->expiry = cfg->session_expiry_cmds;
	kv->break_reexecute = cfg->break_reexecute;
	kv->next_id = 1;
	kv->slots = calloc((size_t)kv->key_mask + 1, sizeof(*kv->slots));
	if (!kv->slots)
		goto fail;
	return kv;
fail:
	kbp_kv_free(kv);
	return NULL;
}

void kbp_kv_prefault(struct kbp_kv *kv)
{
	kbp_touch_pages(kv->slots, ((size_t)kv->key_mask + 1) * sizeof(*kv->slots));
	kbp_sessions_prefault(&kv->sessions);
}

void kbp_kv_free(struct kbp_kv *kv)
{
	if (!kv)
		return;
	free(kv->slots);
	kbp_sessions_fini(&kv->sessions);
	free(kv);
}

static void kv_clear(struct kbp_kv *kv)
{
	memset(kv->slots, 0, ((size_t)kv->key_mask + 1) * sizeof(*kv->slots));
	kbp_sessions_clear(&kv->sessions);
	kv->keys = 0;
	kv->applied = kv->executed = 0;
	kv->next_id = 1;
}

/* ---- the store ---------------------------------------------------------------------- */

static struct kbp_kv_slot *kv_find(const struct kbp_kv *kv, const uint8_t *key, uint8_t key_len)
{
	uint32_t i = (uint32_t)hash_bytes(key, key_len) & kv->key_mask;
	for (;;) {
		struct kbp_kv_slot *s = &kv->slots[i];
		if (!s->used)
			return s;
		if (s->key_len == key_len && memcmp(s->key, key, key_len) == 0)
			return s;
		i = (i + 1) & kv->key_mask;
	}
}

static void reply_init(const struct kbp_cmd *c, uint8_t status, struct kbp_reply *r)
{
	r->client_id = c->client_id;
	r->seq = c->seq;
	r->status = status;
	r->leader = KBP_LEADER_UNKNOWN;
	r->val_len = 0;
	r->val = NULL;
}

void kbp_kv_read(const struct kbp_kv *kv, const struct kbp_cmd *c, struct kbp_reply *r)
{
	const struct kbp_kv_slot *s = kv_find(kv, c->key, c->key_len);
	reply_init(c, s->used ? KBP_ST_OK : KBP_ST_NOT_FOUND, r);
	if (s->used) {
		r->val_len = s->val_len;
		r->val = s->val;
	}
}

static void kv_put(struct kbp_kv *kv, const struct kbp_cmd *c, struct kbp_reply *r)
{
	struct kbp_kv_slot *s = kv_find(kv, c->key, c->key_len);
	if (!s->used) {
		if (kv->keys >= kv->keys_max) {
			r->status = KBP_ST_FULL;
			return;
		}
		s->used = 1;
		s->key_len = c->key_len;
		memcpy(s->key, c->key, c->key_len);
		kv->keys++;
	}
	s->val_len = c->val_len;
	memcpy(s->val, c->val, c->val_len);
	r->status = KBP_ST_OK;
}

/* CASPaxos-style change: read-modify-write of one key, decided in log order. */
static void kv_cas(struct kbp_kv *kv, const struct kbp_cmd *c, struct kbp_reply *r)
{
	struct kbp_kv_slot *s = kv_find(kv, c->key, c->key_len);
	if (!s->used) {
		r->status = KBP_ST_NOT_FOUND;
		return;
	}
	if (s->val_len != c->exp_len || memcmp(s->val, c->exp, c->exp_len) != 0) {
		r->status = KBP_ST_CAS_FAILED;
		r->val_len = s->val_len;
		r->val = s->val;
		return;
	}
	s->val_len = c->val_len;
	memcpy(s->val, c->val, c->val_len);
	r->status = KBP_ST_OK;
}

/* ---- sessions ------------------------------------------------------------------------ */

/* The kept answer for the latest seq; STALE below it (that answer is no longer kept). */
static void reply_from_session(const struct kbp_session *s, uint64_t seq, struct kbp_reply *r)
{
	r->client_id = s->client_id;
	r->seq = seq;
	r->leader = KBP_LEADER_UNKNOWN;
	r->status = seq == s->seq ? s->status : KBP_ST_STALE;
	r->val_len = seq == s->seq ? s->val_len : 0;
	r->val = r->val_len ? s->val : NULL;
}

bool kbp_kv_session_lookup(const struct kbp_kv *kv, uint64_t client_id, uint64_t seq,
			   struct kbp_reply *r)
{
	const struct kbp_session *s = kbp_sessions_find(&kv->sessions, client_id);
	if (!s || seq == 0 || seq > s->seq)
		return false;
	reply_from_session(s, seq, r);
	return true;
}

/*
 * Expiry, decided in log order like everything here: before the command that makes
 * `applied` exceed a session's last use by more than the limit, the session goes.  The
 * list is in order of last use, so only its oldest end needs looking at.
 */
static void sessions_expire(struct kbp_kv *kv)
{
	struct kbp_session *s;
	while (kv->expiry && (s = kbp_sessions_oldest(&kv->sessions)) != NULL &&
	       kv->applied - s->last_use > kv->expiry)
		kbp_sessions_remove(&kv->sessions, s);
}

/* A full table makes room by evicting the least recently used session. */
static struct kbp_session *session_new(struct kbp_kv *kv, uint64_t client_id)
{
	if (kv->sessions.n == kv->sessions.max)
		kbp_sessions_remove(&kv->sessions, kbp_sessions_oldest(&kv->sessions));
	return kbp_sessions_add(&kv->sessions, client_id, kv->applied);
}

uint8_t kbp_kv_refuse(const struct kbp_cmd *c)
{
	bool write = c->op == KBP_OP_PUT || c->op == KBP_OP_CAS;
	if (c->op == KBP_OP_NOOP || c->client_id == 0 || (write && c->seq == 0))
		return KBP_ST_INVALID;
	if (c->op == KBP_OP_REGISTER && !kbp_client_is_nonce(c->client_id))
		return KBP_ST_INVALID;               /* a session id cannot ask for another */
	if (write && kbp_client_is_nonce(c->client_id))
		return KBP_ST_SESSION_EXPIRED;       /* a nonce names no session */
	return KBP_ST_OK;
}

/* REGISTER: the next id from the counter, so that no id is ever issued twice. */
static bool kv_register(struct kbp_kv *kv, struct kbp_reply *r)
{
	if (kv->next_id >= KBP_CLIENT_NONCE) {
		r->status = KBP_ST_FULL;             /* 2^63 registrations: never in practice */
		return false;
	}
	struct kbp_session *s = session_new(kv, kv->next_id);
	s->status = KBP_ST_OK;
	kbp_le64_store(kv->reg_val, kv->next_id++);
	r->status = KBP_ST_OK;
	r->val_len = KBP_REGISTER_REPLY_LEN;
	r->val = kv->reg_val;
	return true;
}

/*
 * The session a write runs under, or NULL with *r answered: no live session
 * (SESSION_EXPIRED), a repeat of the latest seq (its kept answer) or an older one (STALE).
 */
static struct kbp_session *write_session(struct kbp_kv *kv, const struct kbp_cmd *c, struct kbp_reply *r)
{
	struct kbp_session *s = kbp_sessions_find(&kv->sessions, c->client_id);
	if (!s) {
		/* The planted bug: treat an unknown (evicted) client as new, as before issue 11. */
		if (kv->break_reexecute && c->client_id < kv->next_id)
			return session_new(kv, c->client_id);
		r->status = KBP_ST_SESSION_EXPIRED;
		return NULL;
	}
	if (c->seq > s->seq)
		return s;
	reply_from_session(s, c->seq, r);
	return NULL;
}

static bool kv_write(struct kbp_kv *kv, const struct kbp_cmd *c, struct kbp_reply *r)
{
	struct kbp_session *s = write_session(kv, c, r);
	if (!s)
		return false;
	if (c->op == KBP_OP_PUT)
		kv_put(kv, c, r);
	else
		kv_cas(kv, c, r);
	s->seq = c->seq;
	s->status = r->status;
	s->val_len = r->val_len;
	if (r->val_len)
		memcpy(s->val, r->val, r->val_len);
	r->val = s->val;
	kbp_sessions_touch(&kv->sessions, s, kv->applied);
	return true;
}

bool kbp_kv_apply(struct kbp_kv *kv, const struct kbp_cmd *c, struct kbp_reply *r)
{
	bool ran;

	reply_init(c, KBP_ST_INVALID, r);
	if (c->op == KBP_OP_NOOP)
		return false;
	kv->applied++;
	sessions_expire(kv);
	r->status = kbp_kv_refuse(c);
	if (r->status != KBP_ST_OK)
		return false;
	switch (c->op) {
	case KBP_OP_REGISTER:
		ran = kv_register(kv, r);
		break;
	case KBP_OP_GET:
		kbp_kv_read(kv, c, r);
		ran = true;
		break;
	case KBP_OP_PUT:
	case KBP_OP_CAS:
		ran = kv_write(kv, c, r);
		break;
	default:
		ran = false;                         /* kbp_cmd_decode admits no other op */
		break;
	}
	kv->executed += ran;
	return ran;
}

void kbp_kv_get_stats(const struct kbp_kv *kv, struct kbp_kv_stats *st)
{
	st->applied = kv->applied;
	st->executed = kv->executed;
	st->next_client_id = kv->next_id;
	st->keys = kv->keys;
	st->sessions = kv->sessions.n;
}

uint32_t kbp_kv_sessions(const struct kbp_kv *kv, uint64_t *ids, uint64_t *seqs, uint32_t cap)
{
	uint32_t n = 0;
	for (const struct kbp_session *s = kbp_sessions_oldest(&kv->sessions); s && n < cap;
	     s = kbp_sessions_newer(&kv->sessions, s), n++) {
		ids[n] = s->client_id;
		seqs[n] = s->seq;
	}
	return n;
}

/* ---- snapshots ------------------------------------------------------------------------ */

/*
 * Snapshot layout, version 2 (little-endian):
 *    0 u32 magic    4 u32 version    8 u64 upto    16 u64 applied    24 u64 executed
 *   32 u64 next_client_id    40 u32 keys    44 u32 sessions
 *   48 key records: u8 key_len, u16 val_len, key, value
 *      session records, least recently used first: u64 client_id, u64 seq, u64 last_use,
 *      u8 status, u16 val_len, value
 * Version 1 (sessions in table order, no counters) is refused: its sessions could not
 * say which ids were ever issued.
 */
#define KV_SNAP_MAGIC 0x4b425053u    /* "SPBK" */
#define KV_SNAP_VERSION 2u
#define KV_SNAP_HDR 48u
#define KV_SNAP_KEY_HDR 3u
#define KV_SNAP_SESSION_HDR 27u

uint32_t kbp_kv_snapshot_bytes_max(const struct kbp_kv *kv)
{
	return KV_SNAP_HDR + kv->keys_max * (KV_SNAP_KEY_HDR + KBP_KEY_MAX + KBP_VAL_MAX) +
	       kv->sessions.max * (KV_SNAP_SESSION_HDR + KBP_VAL_MAX);
}

static int snap_keys(const struct kbp_kv *kv, uint8_t *buf, uint32_t cap, uint32_t off)
{
	for (uint32_t i = 0; i <= kv->key_mask; i++) {
		const struct kbp_kv_slot *s = &kv->slots[i];
		if (!s->used)
			continue;
		if (off + KV_SNAP_KEY_HDR + s->key_len + s->val_len > cap)
			return -KBP_ETOOBIG;
		buf[off] = s->key_len;
		kbp_le16_store(buf + off + 1, s->val_len);
		off += KV_SNAP_KEY_HDR;
		memcpy(buf + off, s->key, s->key_len);
		off += s->key_len;
		memcpy(buf + off, s->val, s->val_len);
		off += s->val_len;
	}
	return (int)off;
}

static int snap_sessions(const struct kbp_kv *kv, uint8_t *buf, uint32_t cap, uint32_t off)
{
	for (const struct kbp_session *s = kbp_sessions_oldest(&kv->sessions); s;
	     s = kbp_sessions_newer(&kv->sessions, s)) {
		if (off + KV_SNAP_SESSION_HDR + s->val_len > cap)
			return -KBP_ETOOBIG;
		kbp_le64_store(buf + off, s->client_id);
		kbp_le64_store(buf + off + 8, s->seq);
		kbp_le64_store(buf + off + 16, s->last_use);
		buf[off + 24] = s->status;
		kbp_le16_store(buf + off + 25, s->val_len);
		off += KV_SNAP_SESSION_HDR;
		memcpy(buf + off, s->val, s->val_len);
		off += s->val_len;
	}
	return (int)off;
}

int kbp_kv_snapshot(const struct kbp_kv *kv, uint64_t upto, uint8_t *buf, uint32_t cap)
{
	if (cap < KV_SNAP_HDR)
		return -KBP_ETOOBIG;
	kbp_le32_store(buf, KV_SNAP_MAGIC);
	kbp_le32_store(buf + 4, KV_SNAP_VERSION);
	kbp_le64_store(buf + 8, upto);
	kbp_le64_store(buf + 16, kv->applied);
	kbp_le64_store(buf + 24, kv->executed);
	kbp_le64_store(buf + 32, kv->next_id);
	kbp_le32_store(buf + 40, kv->keys);
	kbp_le32_store(buf + 44, kv->sessions.n);
	int off = snap_keys(kv, buf, cap, KV_SNAP_HDR);
	return off < 0 ? off : snap_sessions(kv, buf, cap, (uint32_t)off);
}

/* Session records: ids issued and distinct, in strict order of last use, at or before now. */
static int snap_validate_sessions(struct kbp_kv *kv, const uint8_t *buf, uint32_t len, uint32_t off)
{
	uint32_t n = kbp_le32_load(buf + 44);
	uint64_t applied = kbp_le64_load(buf + 16), next_id = kbp_le64_load(buf + 32), last = 0;
	kbp_sessions_scratch_reset(&kv->sessions);
	for (uint32_t i = 0; i < n; i++) {
		if (len - off < KV_SNAP_SESSION_HDR)
			return -KBP_EMALFORMED;
		uint64_t id = kbp_le64_load(buf + off), use = kbp_le64_load(buf + off + 16);
		uint32_t vl = kbp_le16_load(buf + off + 25);
		if (id == 0 || id >= next_id || buf[off + 24] >= KBP_ST_COUNT || vl > KBP_VAL_MAX ||
		    len - off - KV_SNAP_SESSION_HDR < vl || use > applied || (i > 0 && use <= last) ||
		    !kbp_sessions_scratch_add(&kv->sessions, id))
			return -KBP_EMALFORMED;
		last = use;
		off += KV_SNAP_SESSION_HDR + vl;
	}
	return off == len ? 0 : -KBP_EMALFORMED;
}

/* Checks the whole snapshot before touching the live state. */
static int kv_snapshot_validate(struct kbp_kv *kv, const uint8_t *buf, uint32_t len)
{
	if (len < KV_SNAP_HDR || kbp_le32_load(buf) != KV_SNAP_MAGIC ||
	    kbp_le32_load(buf + 4) != KV_SNAP_VERSION)
		return -KBP_EMALFORMED;
	uint32_t keys = kbp_le32_load(buf + 40), clients = kbp_le32_load(buf + 44);
	uint64_t next_id = kbp_le64_load(buf + 32);
	if (keys > kv->keys_max || clients > kv->sessions.max || next_id == 0 ||
	    next_id > KBP_CLIENT_NONCE || kbp_le64_load(buf + 24) > kbp_le64_load(buf + 16))
		return -KBP_EMALFORMED;
	uint32_t off = KV_SNAP_HDR;
	for (uint32_t i = 0; i < keys; i++) {
		if (len - off < KV_SNAP_KEY_HDR)
			return -KBP_EMALFORMED;
		uint32_t kl = buf[off], vl = kbp_le16_load(buf + off + 1);
		if (kl == 0 || kl > KBP_KEY_MAX || vl > KBP_VAL_MAX || len - off - KV_SNAP_KEY_HDR < kl + vl)
			return -KBP_EMALFORMED;
		off += KV_SNAP_KEY_HDR + kl + vl;
	}
	return snap_validate_sessions(kv, buf, len, off);
}

int kbp_kv_restore(struct kbp_kv *kv, const uint8_t *buf, uint32_t len, uint64_t *upto)
{
	int r = kv_snapshot_validate(kv, buf, len);
	if (r < 0)
		return r;
	kv_clear(kv);
	*upto = kbp_le64_load(buf + 8);
	kv->applied = kbp_le64_load(buf + 16);
	kv->executed = kbp_le64_load(buf + 24);
	kv->next_id = kbp_le64_load(buf + 32);
	uint32_t keys = kbp_le32_load(buf + 40), clients = kbp_le32_load(buf + 44);
	uint32_t off = KV_SNAP_HDR;
	for (uint32_t i = 0; i < keys; i++) {
		uint8_t kl = buf[off];
		uint16_t vl = kbp_le16_load(buf + off + 1);
		off += KV_SNAP_KEY_HDR;
		struct kbp_kv_slot *s = kv_find(kv, buf + off, kl);
		if (!s->used)
			kv->keys++;
		s->used = 1;
		s->key_len = kl;
		memcpy(s->key, buf + off, kl);
		s->val_len = vl;
		memcpy(s->val, buf + off + kl, vl);
		off += kl + vl;
	}
	/* Oldest first: each one added as the newest rebuilds the order of use. */
	for (uint32_t i = 0; i < clients; i++) {
		struct kbp_session *s = kbp_sessions_add(&kv->sessions, kbp_le64_load(buf + off),
							 kbp_le64_load(buf + off + 16));
		s->seq = kbp_le64_load(buf + off + 8);
		s->status = buf[off + 24];
		s->val_len = kbp_le16_load(buf + off + 25);
		memcpy(s->val, buf + off + KV_SNAP_SESSION_HDR, s->val_len);
		off += KV_SNAP_SESSION_HDR + s->val_len;
	}
	return 0;
}

uint64_t kbp_kv_digest(const struct kbp_kv *kv)
{
	uint64_t d = 0;
	for (uint32_t i = 0; i <= kv->key_mask; i++) {
		const struct kbp_kv_slot *s = &kv->slots[i];
		if (s->used)
			d += hash_u64(hash_bytes(s->key, s->key_len) ^ (hash_bytes(s->val, s->val_len) * 31));
	}
	return d;
}

uint32_t kbp_kv_keys(const struct kbp_kv *kv) { return kv->keys; }
