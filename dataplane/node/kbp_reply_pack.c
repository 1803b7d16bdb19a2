/* SPDX-License-Identifier: MIT */
/* Client replies into frames that fit their link (kbp_reply_pack.h). */
#include <assert.h>
#include <stddef.h>

#include "kbp_reply_pack.h"

void kbp_reply_packer_init(struct kbp_reply_packer *pk, struct kbp_reply_frame *frames, uint32_t cmds_max,
			   kbp_reply_send_fn send, kbp_reply_same_fn same, void *arg)
{
	assert(cmds_max >= 1);
	*pk = (struct kbp_reply_packer){
		.frame = frames, .cmds_max = cmds_max, .send = send, .same = same, .arg = arg,
	};
	for (unsigned i = 0; i < KBP_REPLY_PACKS; i++) {
		frames[i].dest = -1;
		frames[i].count = frames[i].len = 0;
	}
}

static void frame_send(struct kbp_reply_packer *pk, struct kbp_reply_frame *f)
{
	if (f->count)
		pk->send(pk->arg, f->dest, f->buf, f->count, f->len);
	f->count = f->len = 0;
	f->dest = -1;
}

/* The frame gathering replies for dest: its own, a free one, or one emptied for it. */
static struct kbp_reply_frame *frame_for(struct kbp_reply_packer *pk, int32_t dest, uint32_t payload_max)
{
	struct kbp_reply_frame *f = NULL;
	for (unsigned i = 0; i < KBP_REPLY_PACKS && !f; i++)
		if (pk->frame[i].count && pk->same(pk->arg, pk->frame[i].dest, dest))
			f = &pk->frame[i];
	if (f)
		return f;
	for (unsigned i = 0; i < KBP_REPLY_PACKS && !f; i++)
		if (!pk->frame[i].count)
			f = &pk->frame[i];
	if (!f) {
		f = &pk->frame[pk->victim++ % KBP_REPLY_PACKS];
		frame_send(pk, f);
	}
	f->dest = dest;
	f->payload_max = payload_max;
	return f;
}

void kbp_reply_packer_add(struct kbp_reply_packer *pk, int32_t dest, uint32_t payload_max,
			  const struct kbp_reply *r)
{
	assert(dest >= 0 && payload_max >= KBP_REPLY_HDR_SIZE && payload_max <= KBP_WIRE_PAYLOAD_LIMIT);
	struct kbp_reply too_big;
	uint32_t size = kbp_reply_size(r);
	if (size > payload_max) {
		/* Even alone it cannot leave through this link: say so rather than drop it. */
		too_big = *r;
		too_big.status = KBP_ST_TOO_BIG;
		too_big.val_len = 0;
		too_big.val = NULL;
		r = &too_big;
		size = kbp_reply_size(r);
		pk->too_big++;
	}
	struct kbp_reply_frame *f = frame_for(pk, dest, payload_max);
	if (f->len + size > f->payload_max || f->count >= pk->cmds_max) {
		int32_t keep = f->dest;
		frame_send(pk, f);
		f->dest = keep;
		f->payload_max = payload_max;
	}
	int w = kbp_reply_encode(r, f->buf + f->len, f->payload_max - f->len);
	assert(w == (int)size);
	if (w < 0)
		return;
	f->len += (uint32_t)w;
	f->count++;
}

void kbp_reply_packer_flush(struct kbp_reply_packer *pk)
{
	for (unsigned i = 0; i < KBP_REPLY_PACKS; i++)
		frame_send(pk, &pk->frame[i]);
}
