/* SPDX-License-Identifier: MIT */
/*
 * frames_probe: one request frame carrying several GETs of one key, sent over kernel UDP
 * to one node, and every reply frame that comes back (tests/cluster/frames.sh).
 *
 *   frames_probe --config F --node N --key K --gets G [--wait-ms MS]
 *
 * G clients first read K once each through the ordinary client (so each has a session
 * and a known sequence number); then one CLIENT_REQ with their G next GETs goes to node
 * N.  Prints one line per reply frame (bytes, replies) and a summary; exits 0 when every
 * GET was answered OK with the same value the clients read, 1 otherwise.  A node whose
 * link takes 1,514-byte frames must split the answer of six 1 KiB values into several
 * frames; a node that drops it silently makes this exit 1.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <sys/socket.h>

#include "kbp_client.h"
#include "kbp_client_wire.h"
#include "kbp_config.h"
#include "kbp_netns.h"

#define GETS_MAX 64

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

struct probe {
	struct kbp_cluster_config cfg;
	struct kbp_client *c[GETS_MAX];
	struct kbp_cmd cmd[GETS_MAX];
	struct kbp_client_result first;      /* what the first client read */
	unsigned gets, node;
	const char *key;
	bool answered[GETS_MAX];
};

/* Each client reads the key once: a session, a sequence number, the value to expect. */
static int prepare(struct probe *p, const char *config)
{
	char err[KBP_CONFIG_ERR_MAX];
	struct kbp_client_opts o;
	kbp_client_opts_default(&o);
	o.first_node = (int)p->node;
	for (unsigned i = 0; i < p->gets; i++) {
		struct kbp_client_result res;
		if (kbp_client_new(config, &o, &p->c[i], err, sizeof(err)) != 0) {
			fprintf(stderr, "frames_probe: %s\n", err);
			return -1;
		}
		if (kbp_client_get(p->c[i], p->key, strlen(p->key), &res) != 0 || res.status != KBP_ST_OK) {
			fprintf(stderr, "frames_probe: get %s: %s\n", p->key, kbp_client_error(p->c[i]));
			return -1;
		}
		if (i == 0)
			p->first = res;
		p->cmd[i] = (struct kbp_cmd){
			/* A read needs no session: a nonce of our own routes its answer back. */
			.client_id = KBP_CLIENT_NONCE | ((uint64_t)getpid() << 16) | i, .seq = res.seq + 1,
			.op = KBP_OP_GET,
			.key_len = (uint8_t)strlen(p->key), .key = (const uint8_t *)p->key,
		};
	}
	return 0;
}

/* One reply datagram: check and count its replies; returns how many were ours and OK. */
static unsigned take_frame(struct probe *p, uint8_t *buf, uint32_t len)
{
	struct kbp_msg m;
	int r = kbp_client_wire_reply(buf, len, p->cfg.id, (uint8_t)p->cfg.nodes, p->cfg.batch_cmds_max, &m);
	if (r != 0) {
		printf("frame of %u bytes rejected: %s\n", len, kbp_wire_drop_text(r));
		return 0;
	}
	unsigned ok = 0;
	uint32_t off = 0;
	for (uint32_t j = 0; j < m.count; j++) {
		struct kbp_reply rep;
		int n = kbp_reply_decode(&rep, m.payload + off, m.len - off);
		if (n <= 0)
			break;
		off += (uint32_t)n;
		for (unsigned i = 0; i < p->gets; i++) {
			if (p->answered[i] || rep.client_id != p->cmd[i].client_id || rep.seq != p->cmd[i].seq)
				continue;
			p->answered[i] = true;
			if (rep.status == KBP_ST_OK && rep.val_len == p->first.val_len &&
			    memcmp(rep.val, p->first.val, rep.val_len) == 0)
				ok++;
			else
				printf("  client %u: %s, %u bytes\n", i, kbp_status_name(rep.status), rep.val_len);
		}
	}
	printf("frame: %u bytes (UDP payload), %u replies\n", len, m.count);
	return ok;
}

static int probe_run(struct probe *p, uint32_t wait_ms)
{
	static uint8_t req[KBP_WIRE_PAYLOAD_LIMIT], rx[65536];
	int n = kbp_client_wire_request(req, sizeof(req), p->cfg.id, (uint8_t)p->node, p->cmd, p->gets);
	if (n < 0) {
		fprintf(stderr, "frames_probe: request does not encode (%d)\n", n);
		return 1;
	}
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in to = {
		.sin_family = AF_INET, .sin_port = htons(p->cfg.node[p->node].client_port),
		.sin_addr.s_addr = htonl(p->cfg.node[p->node].ip),
	};
	if (fd < 0 || sendto(fd, req, (size_t)n, 0, (const struct sockaddr *)&to, sizeof(to)) != n) {
		fprintf(stderr, "frames_probe: send: %s\n", strerror(errno));
		return 1;
	}
	printf("request: %d bytes, %u GETs of '%s' (%u-byte value) to node %u\n", n, p->gets, p->key,
	       p->first.val_len, p->node);
	unsigned ok = 0, frames = 0, answered = 0;
	uint64_t deadline = now_ms() + wait_ms;
	while (answered < p->gets && now_ms() < deadline) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		if (poll(&pfd, 1, (int)(deadline - now_ms())) <= 0)
			break;
		ssize_t got = recv(fd, rx, sizeof(rx), 0);
		if (got <= 0)
			continue;
		frames++;
		ok += take_frame(p, rx, (uint32_t)got);
		answered = 0;
		for (unsigned i = 0; i < p->gets; i++)
			answered += p->answered[i];
	}
	close(fd);
	printf("FRAMES %u REPLIES %u OK %u OF %u\n", frames, answered, ok, p->gets);
	return ok == p->gets ? 0 : 1;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' }, { "node", required_argument, NULL, 'n' },
		{ "key", required_argument, NULL, 'k' }, { "gets", required_argument, NULL, 'g' },
		{ "wait-ms", required_argument, NULL, 'w' }, { NULL, 0, NULL, 0 },
	};
	static struct probe p;
	const char *config = NULL;
	uint32_t wait_ms = 3000;
	int ch;
	p.gets = 6;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': config = optarg; break;
		case 'n': p.node = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'k': p.key = optarg; break;
		case 'g': p.gets = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'w': wait_ms = (uint32_t)strtoul(optarg, NULL, 10); break;
		default: return 2;
		}
	}
	char err[KBP_CONFIG_ERR_MAX];
	if (!config || !p.key || p.gets == 0 || p.gets > GETS_MAX) {
		fprintf(stderr, "usage: frames_probe --config F --node N --key K --gets 1..%d [--wait-ms MS]\n",
			GETS_MAX);
		return 2;
	}
	if (kbp_config_load(config, &p.cfg, err, sizeof(err)) != 0 ||
	    kbp_netns_enter(p.cfg.netns, err, sizeof(err)) != 0) {
		fprintf(stderr, "frames_probe: %s\n", err);
		return 1;
	}
	if (p.node >= p.cfg.nodes) {
		fprintf(stderr, "frames_probe: --node %u: nodes are 0..%u\n", p.node, p.cfg.nodes - 1);
		return 2;
	}
	int rc = prepare(&p, config) == 0 ? probe_run(&p, wait_ms) : 1;
	for (unsigned i = 0; i < p.gets; i++)
		kbp_client_free(p.c[i]);
	return rc;
}
