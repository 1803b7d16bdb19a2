/* SPDX-License-Identifier: MIT */
/* Watching port links and re-dialling memif clients (kbp_link.h). */
#include <inttypes.h>
#include <string.h>
#include <time.h>

#include <rte_ethdev.h>
#include <rte_log.h>

#include "kbp_link.h"

#define MS 1000000ull

#define LINK_LOG(ls, level, fmt, ...) \
	rte_log(RTE_LOG_##level, (uint32_t)(ls)->logtype, "%s: " fmt "\n", (ls)->who, ##__VA_ARGS__)

/* Whether a device argument string names a memif client ("net_memif...,role=client,..."). */
static bool is_memif_client(const char *args)
{
	if (strncmp(args, "net_memif", 9) != 0)
		return false;
	for (const char *p = strchr(args, ','); p; p = strchr(p + 1, ','))
		if (strncmp(p + 1, "role=client", 11) == 0 && (p[12] == ',' || p[12] == '\0'))
			return true;
	return false;   /* memif's default role is server */
}

void kbp_links_init(struct kbp_links *ls, const struct kbp_config_host *h, const uint16_t *port_ids,
		    bool self_owned, int logtype, const char *who)
{
	memset(ls, 0, sizeof(*ls));
	ls->n = h->n_devs;
	ls->self_owned = self_owned;
	ls->logtype = logtype;
	ls->who = who;
	for (unsigned i = 0; i < ls->n; i++) {
		struct kbp_link *l = &ls->link[i];
		l->port_id = port_ids[i];
		l->label = h->dev[i].label;
		l->name = h->dev[i].name;
		l->redial = is_memif_client(h->dev[i].args);
		l->started = true;
	}
}

/*
 * A port that could not start (a memif client whose server is not there yet) begins
 * parked and stopped; the watcher dials it like any port that went down.
 */
void kbp_links_mark_stopped(struct kbp_links *ls, unsigned i)
{
	struct kbp_link *l = &ls->link[i];
	l->started = false;
	l->park = l->rx_ack = l->tx_ack = 1;     /* the owners have not run yet */
}

/* Wait up to 2 ms for both owners to acknowledge park value g. */
static bool owners_parked(const struct kbp_links *ls, const struct kbp_link *l, uint32_t g)
{
	if (ls->self_owned)
		return true;
	for (unsigned spin = 0; spin < 40; spin++) {
		/* Acquire pairs with the owners' release store in kbp_link_obey. */
		if (__atomic_load_n(&l->rx_ack, __ATOMIC_ACQUIRE) == g &&
		    __atomic_load_n(&l->tx_ack, __ATOMIC_ACQUIRE) == g)
			return true;
		struct timespec ts = { 0, 50000 };
		nanosleep(&ts, NULL);
	}
	return false;
}

/*
 * Stop and start a parked port: for a memif client that dials its server again.  The
 * PMD logs every refused connect() at ERR; while the peer is down that would be five
 * lines a second, so its log type is quiet during the dial and our own NOTICE lines say
 * what happens.
 */
static int dial(struct kbp_link *l)
{
	int memif_log = rte_log_register("pmd.net.memif");
	int level = memif_log >= 0 ? rte_log_get_level((uint32_t)memif_log) : -1;
	if (level >= 0)
		rte_log_set_level((uint32_t)memif_log, RTE_LOG_CRIT);
	if (l->started) {
		(void)rte_eth_dev_stop(l->port_id);
		l->started = false;
	}
	int r = rte_eth_dev_start(l->port_id);
	if (level >= 0)
		rte_log_set_level((uint32_t)memif_log, (uint32_t)level);
	if (r == 0)
		l->started = true;
	return r;
}

static void redial_step(struct kbp_links *ls, struct kbp_link *l, uint64_t now)
{
	if (now < l->next_dial_ns)
		return;
	uint32_t g = l->park;
	if (!(g & 1u)) {
		g++;
		/* Release: the owners see the request only after everything we wrote before. */
		__atomic_store_n(&l->park, g, __ATOMIC_RELEASE);
	}
	if (!owners_parked(ls, l, g))
		return;              /* an owner is busy (a long disk wait): next poll */
	l->dials_this_outage++;
	if (dial(l) < 0) {
		__atomic_store_n(&l->redial_failures, l->redial_failures + 1, __ATOMIC_RELAXED);
		l->next_dial_ns = now + l->dial_gap_ns;
		l->dial_gap_ns = l->dial_gap_ns * 2 > KBP_LINK_DIAL_MAX_MS * MS ? KBP_LINK_DIAL_MAX_MS * MS
										 : l->dial_gap_ns * 2;
		return;              /* stopped: stays parked */
	}
	__atomic_store_n(&l->redials, l->redials + 1, __ATOMIC_RELAXED);
	l->next_dial_ns = now + KBP_LINK_SETTLE_MS * MS;
	/* Release pairs with the owners' acquire load: they see the started port. */
	__atomic_store_n(&l->park, g + 1, __ATOMIC_RELEASE);
}

static void went_down(struct kbp_links *ls, struct kbp_link *l, uint64_t now, bool first)
{
	__atomic_store_n(&l->up, 0, __ATOMIC_RELAXED);
	if (!first)
		__atomic_store_n(&l->downs, l->downs + 1, __ATOMIC_RELAXED);
	l->down_since_ns = now;
	l->dial_gap_ns = KBP_LINK_DIAL_MIN_MS * MS;
	/* At start a started client may still be in its handshake: give it time. */
	if (first)
		l->next_dial_ns = l->started ? now + KBP_LINK_SETTLE_MS * MS : now;
	else
		l->next_dial_ns = now + KBP_LINK_DIAL_MIN_MS * MS;
	l->dials_this_outage = 0;
	LINK_LOG(ls, NOTICE, "port %s (%s): link %s%s", l->label, l->name,
		 first ? "down at start (waiting for its peer)" : "down",
		 l->redial ? "; will re-dial until its server answers" : "");
}

static void came_up(struct kbp_links *ls, struct kbp_link *l, uint64_t now, bool first)
{
	__atomic_store_n(&l->up, 1, __ATOMIC_RELAXED);
	if (first)
		return;
	__atomic_store_n(&l->ups, l->ups + 1, __ATOMIC_RELAXED);
	LINK_LOG(ls, NOTICE, "port %s (%s): link up after %.0f ms down (%" PRIu64 " dials; flaps so far %"
		 PRIu64 ")", l->label, l->name, (double)(now - l->down_since_ns) / 1e6, l->dials_this_outage,
		 l->downs);
}

void kbp_links_poll(struct kbp_links *ls, uint64_t now)
{
	for (unsigned i = 0; i < ls->n; i++) {
		struct kbp_link *l = &ls->link[i];
		struct rte_eth_link el;
		memset(&el, 0, sizeof(el));
		bool up = l->started && rte_eth_link_get_nowait(l->port_id, &el) == 0 &&
			  el.link_status == RTE_ETH_LINK_UP;
		bool first = !l->seen;
		l->seen = true;
		if (first || up != (l->up != 0)) {
			if (up)
				came_up(ls, l, now, first);
			else
				went_down(ls, l, now, first);
		}
		if (!up && l->redial)
			redial_step(ls, l, now);
	}
}

unsigned kbp_links_down(const struct kbp_links *ls)
{
	unsigned n = 0;
	for (unsigned i = 0; i < ls->n; i++)
		n += !kbp_link_is_up(&ls->link[i]);
	return n;
}
