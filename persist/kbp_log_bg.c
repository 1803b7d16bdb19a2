/* SPDX-License-Identifier: MIT */
/*
 * The log's helper thread: the slow file work that must not stall the owner.
 *
 * Zero-filling and syncing a 64 MiB spare segment, and writing, syncing and renaming a
 * snapshot, take tens to hundreds of milliseconds on a busy disk.  Done inline they
 * stalled the consensus lcore long enough for a leader's lease to lapse (measured: an
 * election at every rollover under load).  The helper does that work with its own file
 * descriptors and reports through a done mask; the owner collects results on its own
 * thread, so every piece of log state keeps a single writer.  The helper touches only
 * the job fields below, the directory fd and files the owner no longer uses, and it is
 * the only writer of the identity file once recovery has handed it over (bg->ident).
 *
 * The owner checks for results with one atomic load; it takes the mutex only to hand
 * over a job (once per segment or snapshot) or to wait for one it cannot do without.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kbp_log_internal.h"

static void *bg_main(void *arg)
{
	struct kbp_log *log = arg;
	struct kbp_log_bg *bg = &log->bg;

	pthread_mutex_lock(&bg->mu);
	for (;;) {
		while (!(bg->todo & (KBP_BG_SPARE | KBP_BG_SNAP)) && !bg->quit)
			pthread_cond_wait(&bg->wake, &bg->mu);
		/* Finish handed-over jobs even when asked to quit: their results are expected. */
		unsigned job = bg->todo & KBP_BG_SPARE ? KBP_BG_SPARE : bg->todo & KBP_BG_SNAP;
		if (!job)
			break;
		pthread_mutex_unlock(&bg->mu);
		if (job == KBP_BG_SPARE)
			bg->spare_err = kbp_log_spare_make_named(log, bg);
		else
			bg->snap.err = kbp_log_snap_files(log, bg);
		pthread_mutex_lock(&bg->mu);
		bg->todo &= ~job;
		__atomic_or_fetch(&bg->done, job, __ATOMIC_RELEASE);
		pthread_cond_broadcast(&bg->idle);
	}
	pthread_mutex_unlock(&bg->mu);
	return NULL;
}

int kbp_log_bg_start(struct kbp_log *log)
{
	struct kbp_log_bg *bg = &log->bg;
	int rc;

	bg->spare_fd = -1;
	bg->hdr_block = aligned_alloc(KBP_LOG_DATA_OFF, KBP_LOG_DATA_OFF);
	if (bg->hdr_block == NULL)
		return kbp_log_fail(log, ENOMEM, "log: out of memory for the helper's header block");
	pthread_mutex_init(&bg->mu, NULL);
	pthread_cond_init(&bg->wake, NULL);
	pthread_cond_init(&bg->idle, NULL);
	if ((rc = pthread_create(&bg->thread, NULL, bg_main, log)) != 0) {
		free(bg->hdr_block);
		bg->hdr_block = NULL;
		return kbp_log_fail(log, rc, "log %s: cannot start the helper thread: %s", log->dir,
				    strerror(rc));
	}
	pthread_setname_np(bg->thread, "kbp-log-helper");
	bg->running = true;
	return 0;
}

void kbp_log_bg_stop(struct kbp_log *log)
{
	struct kbp_log_bg *bg = &log->bg;

	if (!bg->running)
		return;
	pthread_mutex_lock(&bg->mu);
	bg->quit = true;
	pthread_cond_signal(&bg->wake);
	pthread_mutex_unlock(&bg->mu);
	pthread_join(bg->thread, NULL);
	bg->running = false;
	if (bg->spare_fd >= 0 && (log->bg_pending & KBP_BG_SPARE))
		close(bg->spare_fd);     /* made but never collected; the next open recreates it */
	pthread_cond_destroy(&bg->idle);
	pthread_cond_destroy(&bg->wake);
	pthread_mutex_destroy(&bg->mu);
	free(bg->hdr_block);
	bg->hdr_block = NULL;
}

void kbp_log_bg_request(struct kbp_log *log, unsigned job)
{
	struct kbp_log_bg *bg = &log->bg;

	assert(bg->running && !(log->bg_pending & job));
	log->bg_pending |= job;
	pthread_mutex_lock(&bg->mu);
	bg->todo |= job;
	pthread_cond_signal(&bg->wake);
	pthread_mutex_unlock(&bg->mu);
}

void kbp_log_bg_request_spare(struct kbp_log *log, uint64_t seq)
{
	log->bg.spare_seq = seq;              /* published to the helper by the mutex */
	log->bg.spare_promised = log->promised;
	kbp_log_bg_request(log, KBP_BG_SPARE);
}

bool kbp_log_bg_done(struct kbp_log *log, unsigned job)
{
	return (log->bg_pending & job) && (__atomic_load_n(&log->bg.done, __ATOMIC_ACQUIRE) & job);
}

void kbp_log_bg_wait(struct kbp_log *log, unsigned job)
{
	struct kbp_log_bg *bg = &log->bg;

	if (!(log->bg_pending & job) || kbp_log_bg_done(log, job))
		return;
	log->stats.helper_waits++;
	pthread_mutex_lock(&bg->mu);
	while (!(__atomic_load_n(&bg->done, __ATOMIC_ACQUIRE) & job))
		pthread_cond_wait(&bg->idle, &bg->mu);
	pthread_mutex_unlock(&bg->mu);
}

/* Marks a finished job collected; its result fields are the owner's again. */
void kbp_log_bg_collect(struct kbp_log *log, unsigned job)
{
	assert(kbp_log_bg_done(log, job));
	__atomic_and_fetch(&log->bg.done, ~job, __ATOMIC_RELAXED);
	log->bg_pending &= ~job;
}

int kbp_log_spare_collect(struct kbp_log *log)
{
	struct kbp_log_bg *bg = &log->bg;

	/*
	 * Recovery and every rollover ask the helper for the next spare: a segment made here
	 * would hold records before the identity file (the helper's to write) recorded it.
	 */
	assert(log->spare_fd < 0 && (log->bg_pending & KBP_BG_SPARE));
	kbp_log_bg_wait(log, KBP_BG_SPARE);
	kbp_log_bg_collect(log, KBP_BG_SPARE);
	if (bg->spare_err)
		return kbp_log_fail(log, bg->spare_err, "%s", bg->spare_msg);
	log->spare_fd = bg->spare_fd;
	log->spare_seq = bg->spare_seq;
	log->spare_promised = bg->spare_promised;
	bg->spare_fd = -1;
	log->stats.segments_created++;
	return 0;
}
