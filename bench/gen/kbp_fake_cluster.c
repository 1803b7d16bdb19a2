/* SPDX-License-Identifier: MIT */
/*
 * kbp-fake-cluster: a stand-in for the three nodes, as the generator sees them, in one
 * DPDK process.  It opens every node's end of the generator links (the node device
 * whose memif socket the [generator] route for that node names), parses CLIENT_REQ
 * with that node's own parser context and answers each command: OK from the leader (a
 * REGISTER gets the next id, 1, 2, ...), NOT_LEADER (with the leader's id) from the
 * others, optionally BUSY or no answer at all for every k-th command, or SESSION_EXPIRED
 * for every k-th write.  It tests the generator's TX/RX paths, batching, registration,
 * leader discovery, retries and accounting without kbpaxosd; it does no consensus.
 *
 * With --kv the leader answers from one real key-value store (consensus/kbp_kv.c, with
 * its sessions), so the generator's --check has a linearizable service to check; a
 * dropped command then still runs, only its answer is lost.  --lose-every K plants a
 * bug for --check to catch: every K-th PUT is answered OK and not applied.
 *
 *   kbp-fake-cluster --config conf/local.ini [--leader N] [--busy-every K]
 *                    [--drop-every K] [--expire-every K] [--kv [--lose-every K]]
 *                    [--seconds S]
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "kbp_config.h"
#include "kbp_gen_port.h"
#include "kbp_netns.h"
#include "kbp_sm.h"
#include "kbp_wire_mbuf.h"

#define FAKE_BURST 32u
#define FAKE_MBUFS 4095u
#define FAKE_REPLIES_MAX 1024u

static volatile sig_atomic_t force_quit;

static void on_signal(int sig)
{
	(void)sig;
	force_quit = 1;
}

struct fake_node {
	bool present;
	uint16_t port;
	struct kbp_wire_ctx ctx;
	struct kbp_wire_addr self;   /* client port endpoint */
};

struct fake {
	const struct kbp_cluster_config *c;
	struct rte_mempool *mp;
	struct fake_node node[KBP_NODES_MAX];
	unsigned leader;
	uint64_t busy_every, drop_every, expire_every, lose_every;
	struct kbp_kv *kv;           /* --kv: the store the leader answers from */
	uint64_t cmds, replies, busy, dropped, not_leader, bad, registered, writes, expired, puts, lost;
	uint8_t *buf;
	uint32_t buf_cap;
};

/* Node n's device on the link to the generator: same memif socket as route.n. */
static int find_dev(const struct kbp_cluster_config *c, unsigned n)
{
	const struct kbp_config_host *gh = &c->generator;
	const struct kbp_config_host *nh = &c->node[n];
	char want[KBP_CONFIG_VALUE_MAX], have[KBP_CONFIG_VALUE_MAX];

	if (gh->route[n] == KBP_CONFIG_ROUTE_NONE)
		return -1;
	kbp_gen_dev_arg(gh->dev[gh->route[n]].args, "socket", want, sizeof(want));
	if (!want[0])
		return -1;
	for (uint32_t d = 0; d < nh->n_devs; d++) {
		kbp_gen_dev_arg(nh->dev[d].args, "socket", have, sizeof(have));
		if (!strcmp(want, have))
			return (int)d;
	}
	return -1;
}

/* --kv: run cmd on the store, or (--lose-every) answer a PUT OK without running it. */
static void kv_answer(struct fake *f, const struct kbp_cmd *cmd, struct kbp_reply *rep)
{
	if (cmd->op == KBP_OP_PUT && f->lose_every && ++f->puts % f->lose_every == 0) {
		struct kbp_reply seen;
		if (!kbp_kv_session_lookup(f->kv, cmd->client_id, cmd->seq, &seen)) {
			f->lost++;
			rep->status = KBP_ST_OK;
			return;
		}
	}
	kbp_kv_apply(f->kv, cmd, rep);
}

static void answer(struct fake *f, unsigned n, const struct kbp_msg *m, const struct kbp_wire_src *src)
{
	struct fake_node *fn = &f->node[n];
	struct kbp_cmd cmd;
	struct kbp_reply rep;
	struct kbp_msg out;
	uint8_t id[KBP_REGISTER_REPLY_LEN];
	struct rte_mbuf *mb;
	uint32_t off = 0, len = 0, count = 0;

	for (uint32_t i = 0; i < m->count; i++) {
		int r = kbp_cmd_decode(&cmd, m->payload + off, m->len - off);
		if (r <= 0)
			break;
		off += (uint32_t)r;
		f->cmds++;
		bool drop = f->drop_every && f->cmds % f->drop_every == 0;
		if (drop && !f->kv) {
			f->dropped++;
			continue;
		}
		memset(&rep, 0, sizeof(rep));
		rep.client_id = cmd.client_id;
		rep.seq = cmd.seq;
		rep.leader = (uint8_t)f->leader;
		if (n != f->leader) {
			rep.status = KBP_ST_NOT_LEADER;
			f->not_leader++;
		} else if (f->busy_every && f->cmds % f->busy_every == 0) {
			rep.status = KBP_ST_BUSY;
			f->busy++;
		} else if (f->kv) {
			kv_answer(f, &cmd, &rep);
		} else if (cmd.op == KBP_OP_REGISTER) {
			rep.status = KBP_ST_OK;
			rep.val_len = KBP_REGISTER_REPLY_LEN;
			kbp_le64_store(id, ++f->registered);
			rep.val = id;
		} else if (cmd.op != KBP_OP_GET && f->expire_every && ++f->writes % f->expire_every == 0) {
			rep.status = KBP_ST_SESSION_EXPIRED;
			f->expired++;
		} else {
			rep.status = cmd.op == KBP_OP_GET ? KBP_ST_NOT_FOUND : KBP_ST_OK;
		}
		rep.leader = (uint8_t)f->leader;
		if (drop) {                  /* --kv: it ran; only the answer is lost */
			f->dropped++;
			continue;
		}
		r = kbp_reply_encode(&rep, f->buf + len, f->buf_cap - len);
		if (r < 0)
			break;
		len += (uint32_t)r;
		count++;
	}
	if (count == 0)
		return;
	memset(&out, 0, sizeof(out));
	out.type = KBP_MSG_CLIENT_REP;
	out.from = (uint8_t)n;
	out.to = KBP_NODE_CLIENT;
	out.count = count;
	out.len = len;
	out.payload = f->buf;
	if (kbp_wire_encode_mbuf(f->mp, &fn->self, &src->addr, f->c->id, &out, &mb) != 0)
		return;
	if (rte_eth_tx_burst(fn->port, 0, &mb, 1) != 1)
		rte_pktmbuf_free(mb);
	else
		f->replies += count;
}

int main(int argc, char **argv)
{
	static struct kbp_cluster_config cfg;
	static struct fake f;
	char err[KBP_CONFIG_ERR_MAX];
	const char *config = "conf/local.ini";
	double seconds = 0;
	bool use_kv = false;
	int opt;

	static const struct option longs[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "leader", required_argument, NULL, 'l' },
		{ "busy-every", required_argument, NULL, 'b' },
		{ "drop-every", required_argument, NULL, 'd' },
		{ "expire-every", required_argument, NULL, 'e' },
		{ "kv", no_argument, NULL, 'k' },
		{ "lose-every", required_argument, NULL, 'o' },
		{ "seconds", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	while ((opt = getopt_long(argc, argv, "", longs, NULL)) != -1) {
		switch (opt) {
		case 'c': config = optarg; break;
		case 'l': f.leader = (unsigned)atoi(optarg); break;
		case 'b': f.busy_every = strtoull(optarg, NULL, 10); break;
		case 'd': f.drop_every = strtoull(optarg, NULL, 10); break;
		case 'e': f.expire_every = strtoull(optarg, NULL, 10); break;
		case 'k': use_kv = true; break;
		case 'o': f.lose_every = strtoull(optarg, NULL, 10); break;
		case 's': seconds = atof(optarg); break;
		default:
			fprintf(stderr, "usage: %s --config FILE [--leader N] [--busy-every K] "
				"[--drop-every K] [--expire-every K] [--kv [--lose-every K]] [--seconds S]\n",
				argv[0]);
			return 2;
		}
	}
	if (kbp_config_load(config, &cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "kbp-fake-cluster: %s\n", err);
		return 2;
	}
	if (kbp_netns_enter(cfg.netns, err, sizeof(err)) != 0) {   /* with the generator it serves */
		fprintf(stderr, "kbp-fake-cluster: %s\n", err);
		return 1;
	}
	f.c = &cfg;
	struct kbp_kv_config kvc = {
		.keys_max = cfg.kv_keys_max, .clients_max = cfg.clients_max,
		.session_expiry_cmds = cfg.session_expiry_cmds,
	};
	if (use_kv && !(f.kv = kbp_kv_new(&kvc))) {
		fprintf(stderr, "kbp-fake-cluster: out of memory for --kv\n");
		return 1;
	}
	if (f.leader >= cfg.nodes) {
		fprintf(stderr, "kbp-fake-cluster: --leader %u: nodes are 0..%u\n", f.leader, cfg.nodes - 1);
		return 2;
	}

	/* EAL: one lcore, no hugepages, the node ends of the generator links. */
	char *eargv[32];
	int eargc = 0;
	eargv[eargc++] = argv[0];
	eargv[eargc++] = (char *)"-l";
	eargv[eargc++] = (char *)"0";
	/* Its own prefix, next to the nodes' (a real node 0 may run beside a fake one). */
	static char prefix[KBP_CONFIG_VALUE_MAX + 8];
	snprintf(prefix, sizeof(prefix), "%s-fake", cfg.node[0].file_prefix);
	eargv[eargc++] = (char *)"--file-prefix";
	eargv[eargc++] = prefix;
	eargv[eargc++] = (char *)"--no-pci";
	eargv[eargc++] = (char *)"--no-huge";
	eargv[eargc++] = (char *)"-m";
	eargv[eargc++] = (char *)"128";
	eargv[eargc++] = (char *)"--no-shconf";
	eargv[eargc++] = (char *)"--no-telemetry";
	eargv[eargc++] = (char *)"--log-level=error";
	int dev[KBP_NODES_MAX];
	for (unsigned n = 0; n < cfg.nodes; n++) {
		dev[n] = find_dev(&cfg, n);
		if (dev[n] < 0)
			continue;
		eargv[eargc++] = (char *)"--vdev";
		eargv[eargc++] = cfg.node[n].dev[dev[n]].args;
	}
	eargv[eargc] = NULL;
	if (rte_eal_init(eargc, eargv) < 0) {
		fprintf(stderr, "kbp-fake-cluster: EAL: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	f.mp = rte_pktmbuf_pool_create("fake_mp", FAKE_MBUFS, 128, 0,
				       (uint16_t)(kbp_config_frame_max(&cfg) + RTE_PKTMBUF_HEADROOM),
				       (int)rte_socket_id());
	f.buf_cap = cfg.msg_bytes_max;
	f.buf = calloc(1, f.buf_cap);
	if (!f.mp || !f.buf) {
		fprintf(stderr, "kbp-fake-cluster: out of memory\n");
		return 1;
	}
	for (unsigned n = 0; n < cfg.nodes; n++) {
		struct fake_node *fn = &f.node[n];
		if (dev[n] < 0)
			continue;
		if (kbp_gen_port_open(cfg.node[n].dev[dev[n]].name, f.mp, cfg.node[n].mac, false,
				      &fn->port, err, sizeof(err)) != 0) {
			fprintf(stderr, "kbp-fake-cluster: %s\n", err);
			return 1;
		}
		fn->present = true;
		kbp_config_wire_ctx(&cfg, n, &fn->ctx);
		memcpy(fn->self.mac, cfg.node[n].mac, 6);
		fn->self.ip = cfg.node[n].ip;
		fn->self.port = cfg.node[n].client_port;
	}
	printf("kbp-fake-cluster: answering for %u nodes, leader %u\n", cfg.nodes, f.leader);
	fflush(stdout);

	uint64_t end = seconds > 0 ? rte_get_tsc_cycles() + (uint64_t)(seconds * rte_get_tsc_hz())
				   : UINT64_MAX;
	unsigned idle = 0;
	while (!force_quit && rte_get_tsc_cycles() < end) {
		struct rte_mbuf *pkts[FAKE_BURST];
		unsigned got = 0;
		for (unsigned n = 0; n < cfg.nodes; n++) {
			if (!f.node[n].present)
				continue;
			uint16_t nb = rte_eth_rx_burst(f.node[n].port, 0, pkts, FAKE_BURST);
			for (uint16_t k = 0; k < nb; k++) {
				struct kbp_msg m;
				struct kbp_wire_src src;
				if (kbp_wire_parse_mbuf(pkts[k], &f.node[n].ctx, &m, &src) == 0)
					answer(&f, n, &m, &src);
				else
					f.bad++;
			}
			if (nb)
				rte_pktmbuf_free_bulk(pkts, nb);
			got += nb;
		}
		if (got == 0 && ++idle > 64)
			rte_delay_us_sleep(10);
		else if (got)
			idle = 0;
	}
	printf("kbp-fake-cluster: %" PRIu64 " commands, %" PRIu64 " replies (%" PRIu64 " NOT_LEADER, %"
	       PRIu64 " BUSY, %" PRIu64 " SESSION_EXPIRED, %" PRIu64 " sessions registered), %" PRIu64
	       " dropped on purpose, %" PRIu64 " PUTs lost on purpose, %" PRIu64 " bad frames\n",
	       f.cmds, f.replies, f.not_leader, f.busy, f.expired, f.registered, f.dropped, f.lost, f.bad);
	kbp_kv_free(f.kv);
	for (unsigned n = 0; n < cfg.nodes; n++)
		if (f.node[n].present)
			kbp_gen_port_close(f.node[n].port);
	rte_eal_cleanup();
	return 0;
}
