/* SPDX-License-Identifier: MIT */
/* The client session table: an index by client id and a list in order of last use. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "kbp_sm.h"
#include "kbp_session.h"

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	return x;
}

static uint32_t home_of(const struct kbp_sessions *t, uint64_t client_id)
{
	return (uint32_t)mix64(client_id) & t->index_mask;
}

int kbp_sessions_init(struct kbp_sessions *t, uint32_t max)
{
	memset(t, 0, sizeof(*t));
	if (max == 0 || max > (1u << 30))
		return -KBP_EINVAL;
	uint32_t size = 1;
	while (size < 2 * max)
		size <<= 1;
	t->max = max;
	t->index_mask = size - 1;
	t->index = malloc((size_t)size * sizeof(*t->index));
	t->scratch = calloc(size, sizeof(*t->scratch));
	t->rec = calloc(max, sizeof(*t->rec));
	if (!t->index || !t->scratch || !t->rec) {
		kbp_sessions_fini(t);
		return -KBP_EFULL;
	}
	kbp_sessions_clear(t);
	return 0;
}

void kbp_sessions_fini(struct kbp_sessions *t)
{
	free(t->index);
	free(t->scratch);
	free(t->rec);
	memset(t, 0, sizeof(*t));
}

void kbp_sessions_clear(struct kbp_sessions *t)
{
	memset(t->index, 0xff, ((size_t)t->index_mask + 1) * sizeof(*t->index));
	for (uint32_t i = 0; i < t->max; i++) {
		t->rec[i].client_id = 0;
		t->rec[i].newer = i + 1 < t->max ? i + 1 : KBP_SESSION_NONE;
	}
	t->free_head = 0;
	t->n = 0;
	t->oldest = t->newest = KBP_SESSION_NONE;
}

void kbp_sessions_prefault(struct kbp_sessions *t)
{
	kbp_touch_pages(t->rec, (size_t)t->max * sizeof(*t->rec));
}

/* The index slot holding client_id, or the empty slot where it would go. */
static uint32_t slot_of(const struct kbp_sessions *t, uint64_t client_id)
{
	uint32_t i = home_of(t, client_id);
	for (;;) {
		uint32_t r = t->index[i];
		if (r == KBP_SESSION_NONE || t->rec[r].client_id == client_id)
			return i;
		i = (i + 1) & t->index_mask;
	}
}

struct kbp_session *kbp_sessions_find(const struct kbp_sessions *t, uint64_t client_id)
{
	uint32_t r = t->index[slot_of(t, client_id)];
	return r == KBP_SESSION_NONE ? NULL : &t->rec[r];
}

static void list_unlink(struct kbp_sessions *t, struct kbp_session *s)
{
	if (s->older != KBP_SESSION_NONE)
		t->rec[s->older].newer = s->newer;
	else
		t->oldest = s->newer;
	if (s->newer != KBP_SESSION_NONE)
		t->rec[s->newer].older = s->older;
	else
		t->newest = s->older;
}

static void list_append(struct kbp_sessions *t, struct kbp_session *s)
{
	uint32_t r = (uint32_t)(s - t->rec);
	s->older = t->newest;
	s->newer = KBP_SESSION_NONE;
	if (t->newest != KBP_SESSION_NONE)
		t->rec[t->newest].newer = r;
	else
		t->oldest = r;
	t->newest = r;
}

struct kbp_session *kbp_sessions_add(struct kbp_sessions *t, uint64_t client_id, uint64_t now)
{
	assert(client_id != 0 && t->n < t->max && t->free_head != KBP_SESSION_NONE);
	uint32_t i = slot_of(t, client_id);
	assert(t->index[i] == KBP_SESSION_NONE);      /* ids are never added twice */
	uint32_t r = t->free_head;
	struct kbp_session *s = &t->rec[r];
	t->free_head = s->newer;
	memset(s, 0, offsetof(struct kbp_session, val));
	s->client_id = client_id;
	s->last_use = now;
	t->index[i] = r;
	t->n++;
	list_append(t, s);
	return s;
}

/* Backward-shift deletion from the index, so that linear probe chains stay whole. */
static void index_delete(struct kbp_sessions *t, uint32_t i)
{
	uint32_t j = i;
	for (;;) {
		j = (j + 1) & t->index_mask;
		uint32_t r = t->index[j];
		if (r == KBP_SESSION_NONE)
			break;
		uint32_t home = home_of(t, t->rec[r].client_id);
		/* Move r back into the hole at i unless its home lies cyclically in (i, j]. */
		bool home_in_between = (i <= j) ? (home > i && home <= j) : (home > i || home <= j);
		if (!home_in_between) {
			t->index[i] = r;
			i = j;
		}
	}
	t->index[i] = KBP_SESSION_NONE;
}

void kbp_sessions_remove(struct kbp_sessions *t, struct kbp_session *s)
{
	uint32_t r = (uint32_t)(s - t->rec);
	uint32_t i = slot_of(t, s->client_id);
	assert(t->index[i] == r);
	index_delete(t, i);
	list_unlink(t, s);
	s->client_id = 0;
	s->newer = t->free_head;
	t->free_head = r;
	t->n--;
}

void kbp_sessions_touch(struct kbp_sessions *t, struct kbp_session *s, uint64_t now)
{
	assert(now >= s->last_use);
	s->last_use = now;
	if (t->newest == (uint32_t)(s - t->rec))
		return;
	list_unlink(t, s);
	list_append(t, s);
}

struct kbp_session *kbp_sessions_oldest(const struct kbp_sessions *t)
{
	return t->oldest == KBP_SESSION_NONE ? NULL : &t->rec[t->oldest];
}

const struct kbp_session *kbp_sessions_newer(const struct kbp_sessions *t, const struct kbp_session *s)
{
	return s->newer == KBP_SESSION_NONE ? NULL : &t->rec[s->newer];
}

void kbp_sessions_scratch_reset(struct kbp_sessions *t)
{
	memset(t->scratch, 0, ((size_t)t->index_mask + 1) * sizeof(*t->scratch));
}

bool kbp_sessions_scratch_add(struct kbp_sessions *t, uint64_t client_id)
{
	assert(client_id != 0);
	uint32_t i = home_of(t, client_id);
	while (t->scratch[i] != 0) {
		if (t->scratch[i] == client_id)
			return false;
		i = (i + 1) & t->index_mask;
	}
	t->scratch[i] = client_id;
	return true;
}
