/* SPDX-License-Identifier: MIT */
/* The built-in key-value state machine and the client session table. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "kbp_sm.h"

struct kbp_kv_slot {
	uint8_t used;
	uint8_t key_len;
	uint16_t val_len;
	uint8_t key[KBP_KEY_MAX];
	uint8_t val[KBP_VAL_MAX];
};

/* A client's latest applied request and its answer (Raft dissertation §6.3 sessions). */
struct kbp_session {
	uint64_t client_id;          /* 0: empty */
	uint64_t seq;
	uint64_t last_use;           /* apply counter, for deterministic LRU eviction */
	uint8_t status;
	uint16_t val_len;
	uint8_t val[KBP_VAL_MAX];
};

struct kbp_kv {
	uint32_t keys_max, keys, key_mask;
	uint32_t clients_max, clients, client_mask;
	uint64_t applies;
	struct kbp_kv_slot *slots;
	struct kbp_session *sessions;
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

struct kbp_kv *kbp_kv_new(uint32_t keys_max, uint32_t clients_max)
{
	struct kbp_kv *kv = calloc(1, sizeof(*kv));
	if (!kv || keys_max == 0 || clients_max == 0)
		goto fail;
	kv->keys_max = keys_max;
	kv->key_mask = pow2_at_least(keys_max * 2) - 1;     /* load factor <= 1/2 */
	kv->clients_max = clients_max;
	kv->client_mask = pow2_at_least(clients_max * 2) - 1;
	kv->slots = calloc((size_t)kv->key_mask + 1, sizeof(*kv->slots));
	kv->sessions = calloc((size_t)kv->client_mask + 1, sizeof(*kv->sessions));
	if (!kv->slots || !kv->sessions)
		goto fail;
	return kv;
fail:
	kbp_kv_free(kv);
	return NULL;
}

void kbp_kv_prefault(struct kbp_kv *kv)
{
	kbp_touch_pages(kv->slots, ((size_t)kv->key_mask + 1) * sizeof(*kv->slots));
	kbp_touch_pages(kv->sessions, ((size_t)kv->client_mask + 1) * sizeof(*kv->sessions));
}

void kbp_kv_free(struct kbp_kv *kv)
{
	if (!kv)
		return;
	free(kv->slots);
	free(kv->sessions);
	free(kv);
}

static void kv_clear(struct kbp_kv *kv)
{
	memset(kv->slots, 0, ((size_t)kv->key_mask + 1) * sizeof(*kv->slots));
	memset(kv->sessions, 0, ((size_t)kv->client_mask + 1) * sizeof(*kv->sessions));
	kv->keys = kv->clients = 0;
	kv->applies = 0;
}

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

static struct kbp_session *session_find(const struct kbp_kv *kv, uint64_t client_id)
{
	uint32_t i = (uint32_t)hash_u64(client_id) & kv->client_mask;
	for (;;) {
		struct kbp_session *s = &kv->sessions[i];
		if (s->client_id == 0 || s->client_id == client_id)
			return s;
		i = (i + 1) & kv->client_mask;
	}
}

/* Removes a session with backward-shift deletion, so linear probe chains stay intact. */
static void session_remove(struct kbp_kv *kv, struct kbp_session *victim)
{
	uint32_t i = (uint32_t)(victim - kv->sessions);
	uint32_t j = i;
	for (;;) {
		j = (j + 1) & kv->client_mask;
		struct kbp_session *s = &kv->sessions[j];
		if (s->client_id == 0)
			break;
		uint32_t home = (uint32_t)hash_u64(s->client_id) & kv->client_mask;
		/* Move s back to the hole at i unless its home lies cyclically in (i, j]. */
		bool home_in_between = (i <= j) ? (home > i && home <= j) : (home > i || home <= j);
		if (!home_in_between) {
			kv->sessions[i] = *s;
			i = j;
		}
	}
	memset(&kv->sessions[i], 0, sizeof(kv->sessions[i]));
	kv->clients--;
}

/* Evicts the least recently used session; deterministic, so every replica evicts the same. */
static void session_evict_lru(struct kbp_kv *kv)
{
	struct kbp_session *lru = NULL;
	for (uint32_t i = 0; i <= kv->client_mask; i++) {
		struct kbp_session *s = &kv->sessions[i];
		if (s->client_id && (!lru || s->last_use < lru->last_use ||
				     (s->last_use == lru->last_use && s->client_id < lru->client_id)))
			lru = s;
	}
	assert(lru);
	session_remove(kv, lru);
}

static void reply_from_session(const struct kbp_session *s, uint64_t seq, struct kbp_reply *r)
{
	r->client_id = s->client_id;
	r->seq = seq;
	r->leader = KBP_LEADER_UNKNOWN;
	if (seq == s->seq) {
		r->status = s->status;
		r->val_len = s->val_len;
		r->val = s->val;
	} else {
		r->status = KBP_ST_INVALID;
		r->val_len = 0;
		r->val = NULL;
	}
}

bool kbp_kv_session_lookup(const struct kbp_kv *kv, uint64_t client_id, uint64_t seq,
			   struct kbp_reply *r)
{
	const struct kbp_session *s = session_find(kv, client_id);
	if (s->client_id != client_id || seq > s->seq)
		return false;
	reply_from_session(s, seq, r);
	return true;
}

void kbp_kv_read(const struct kbp_kv *kv, const struct kbp_cmd *c, struct kbp_reply *r)
{
	const struct kbp_kv_slot *s = kv_find(kv, c->key, c->key_len);
	r->client_id = c->client_id;
	r->seq = c->seq;
	r->leader = KBP_LEADER_UNKNOWN;
	if (!s->used) {
		r->status = KBP_ST_NOT_FOUND;
		r->val_len = 0;
		r->val = NULL;
	} else {
		r->status = KBP_ST_OK;
		r->val_len = s->val_len;
		r->val = s->val;
	}
}

static void kv_execute(struct kbp_kv *kv, const struct kbp_cmd *c, struct kbp_reply *r)
{
	struct kbp_kv_slot *s;

	r->client_id = c->client_id;
	r->seq = c->seq;
	r->leader = KBP_LEADER_UNKNOWN;
	r->val_len = 0;
	r->val = NULL;
	switch (c->op) {
	case KBP_OP_PUT:
		s = kv_find(kv, c->key, c->key_len);
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
		return;
	case KBP_OP_GET:
		kbp_kv_read(kv, c, r);
		return;
	case KBP_OP_CAS:
		/* CASPaxos-style change: read-modify-write of one key, decided in log order. */
		s = kv_find(kv, c->key, c->key_len);
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
		return;
	default:
		r->status = KBP_ST_INVALID;
		return;
	}
}

bool kbp_kv_apply(struct kbp_kv *kv, const struct kbp_cmd *c, struct kbp_reply *r)
{
	if (c->op == KBP_OP_NOOP) {
		memset(r, 0, sizeof(*r));
		r->status = KBP_ST_INVALID;
		return false;
	}
	kv->applies++;
	struct kbp_session *s = session_find(kv, c->client_id);
	if (s->client_id == c->client_id && c->seq <= s->seq) {
		reply_from_session(s, c->seq, r);
		return false;
	}
	kv_execute(kv, c, r);
	if (s->client_id != c->client_id) {
		if (kv->clients >= kv->clients_max) {
			session_evict_lru(kv);
			s = session_find(kv, c->client_id);
		}
		s->client_id = c->client_id;
		kv->clients++;
	}
	s->seq = c->seq;
	s->last_use = kv->applies;
	s->status = r->status;
	s->val_len = r->val_len;
	if (r->val_len)
		memcpy(s->val, r->val, r->val_len);
	r->val = s->val;
	return true;
}

/* Snapshot layout (little-endian): magic, version, upto, applies, keys, clients, then records. */
#define KV_SNAP_MAGIC 0x4b425053u    /* "SPBK" */
#define KV_SNAP_VERSION 1u
#define KV_SNAP_HDR 32u
#define KV_SNAP_KEY_HDR 3u
#define KV_SNAP_SESSION_HDR 27u

uint32_t kbp_kv_snapshot_bytes_max(const struct kbp_kv *kv)
{
	return KV_SNAP_HDR + kv->keys_max * (KV_SNAP_KEY_HDR + KBP_KEY_MAX + KBP_VAL_MAX) +
	       kv->clients_max * (KV_SNAP_SESSION_HDR + KBP_VAL_MAX);
}

int kbp_kv_snapshot(const struct kbp_kv *kv, uint64_t upto, uint8_t *buf, uint32_t cap)
{
	uint32_t off = KV_SNAP_HDR;

	if (cap < KV_SNAP_HDR)
		return -KBP_ETOOBIG;
	kbp_le32_store(buf, KV_SNAP_MAGIC);
	kbp_le32_store(buf + 4, KV_SNAP_VERSION);
	kbp_le64_store(buf + 8, upto);
	kbp_le64_store(buf + 16, kv->applies);
	kbp_le32_store(buf + 24, kv->keys);
	kbp_le32_store(buf + 28, kv->clients);
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
	for (uint32_t i = 0; i <= kv->client_mask; i++) {
		const struct kbp_session *s = &kv->sessions[i];
		if (!s->client_id)
			continue;
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

/* Checks the whole snapshot before touching the live state. */
static int kv_snapshot_validate(const struct kbp_kv *kv, const uint8_t *buf, uint32_t len)
{
	if (len < KV_SNAP_HDR || kbp_le32_load(buf) != KV_SNAP_MAGIC ||
	    kbp_le32_load(buf + 4) != KV_SNAP_VERSION)
		return -KBP_EMALFORMED;
	uint32_t keys = kbp_le32_load(buf + 24), clients = kbp_le32_load(buf + 28);
	if (keys > kv->keys_max || clients > kv->clients_max)
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
	for (uint32_t i = 0; i < clients; i++) {
		if (len - off < KV_SNAP_SESSION_HDR)
			return -KBP_EMALFORMED;
		uint32_t vl = kbp_le16_load(buf + off + 25);
		if (kbp_le64_load(buf + off) == 0 || vl > KBP_VAL_MAX || len - off - KV_SNAP_SESSION_HDR < vl)
			return -KBP_EMALFORMED;
		off += KV_SNAP_SESSION_HDR + vl;
	}
	return off == len ? 0 : -KBP_EMALFORMED;
}

int kbp_kv_restore(struct kbp_kv *kv, const uint8_t *buf, uint32_t len, uint64_t *upto)
{
	int r = kv_snapshot_validate(kv, buf, len);
	if (r < 0)
		return r;
	kv_clear(kv);
	*upto = kbp_le64_load(buf + 8);
	kv->applies = kbp_le64_load(buf + 16);
	uint32_t keys = kbp_le32_load(buf + 24), clients = kbp_le32_load(buf + 28);
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
	for (uint32_t i = 0; i < clients; i++) {
		struct kbp_session *s = session_find(kv, kbp_le64_load(buf + off));
		if (!s->client_id)
			kv->clients++;
		s->client_id = kbp_le64_load(buf + off);
		s->seq = kbp_le64_load(buf + off + 8);
		s->last_use = kbp_le64_load(buf + off + 16);
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
