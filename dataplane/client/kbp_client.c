/* SPDX-License-Identifier: MIT */
/* The kernel-UDP kbpaxos client: sessions, leader discovery, same-seq retries, timeouts (kbp_client.h). */
#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "kbp_client.h"
#include "kbp_client_wire.h"
#include "kbp_config.h"

#define KBP_CLIENT_DGRAM_MAX 65536u
#define KBP_CLIENT_REQ_MAX (KBP_WIRE_HDR_SIZE + KBP_CONFIG_CMD_SIZE_MAX)
#define KBP_CLIENT_ERR_MAX 1024u
#define KBP_CLIENT_HINT_PAUSE_MS 10u   /* pause when no node knows the leader (election running) */

_Static_assert(KBP_CLIENT_REQ_MAX <= KBP_WIRE_PAYLOAD_LIMIT, "a request fits one datagram");

struct kbp_client {
	struct kbp_cluster_config cfg;
	struct kbp_client_opts opts;
	int fd;
	uint64_t id;                      /* session id from the cluster, 0: none */
	uint64_t nonce;                   /* of the latest REGISTER; session-less reads use it */
	uint64_t seq;                     /* last sequence number used */
	unsigned leader;                  /* believed leader, KBP_LEADER_UNKNOWN at first */
	unsigned next;                    /* node to try when the leader is unknown */
	struct sockaddr_in addr[KBP_NODES_MAX];
	char err[KBP_CLIENT_ERR_MAX];
	uint8_t req[KBP_CLIENT_REQ_MAX];
	uint8_t rx[KBP_CLIENT_DGRAM_MAX];
};

/* What one node did during one request, for the timeout message. */
struct node_seen {
	uint32_t sent;
	uint32_t answered;
	uint8_t last_status;
	uint8_t last_hint;
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void sleep_ms(uint32_t ms)
{
	struct timespec ts = { .tv_sec = ms / 1000u, .tv_nsec = (long)(ms % 1000u) * 1000000L };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static void set_err(struct kbp_client *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
}

static void trace(const struct kbp_client *c, const char *fmt, ...)
{
	va_list ap;

	if (!c->opts.verbose)
		return;
	va_start(ap, fmt);
	fprintf(stderr, "kbp_client: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

void kbp_client_opts_default(struct kbp_client_opts *o)
{
	*o = (struct kbp_client_opts){
		.timeout_ms = 5000,
		.retry_ms = 200,
		.first_node = -1,
		.verbose = 0,
	};
}

static uint64_t random_u64(void)
{
	uint64_t v = 0;

	if (getrandom(&v, sizeof(v), 0) != (ssize_t)sizeof(v)) {
		/* No entropy source: time and pid are enough to keep two clients apart. */
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		v = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^ ((uint64_t)getpid() << 40);
	}
	return v;
}

int kbp_client_new(const char *path, const struct kbp_client_opts *opts, struct kbp_client **out,
		   char *err, size_t err_len)
{
	assert(path != NULL && out != NULL && err != NULL);
	*out = NULL;
	struct kbp_client *c = calloc(1, sizeof(*c));
	if (c == NULL) {
		snprintf(err, err_len, "out of memory");
		return -ENOMEM;
	}
	if (opts)
		c->opts = *opts;
	else
		kbp_client_opts_default(&c->opts);
	if (c->opts.timeout_ms == 0 || c->opts.retry_ms == 0) {
		snprintf(err, err_len, "timeout and retry interval must be positive");
		free(c);
		return -EINVAL;
	}
	if (kbp_config_load(path, &c->cfg, err, err_len) != 0) {
		free(c);
		return -EINVAL;
	}
	for (unsigned i = 0; i < c->cfg.nodes; i++) {
		c->addr[i].sin_family = AF_INET;
		c->addr[i].sin_port = htons(c->cfg.node[i].client_port);
		c->addr[i].sin_addr.s_addr = htonl(c->cfg.node[i].ip);
	}
	c->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (c->fd < 0) {
		int e = errno;
		snprintf(err, err_len, "socket: %s", strerror(e));
		free(c);
		return -e;
	}
	c->nonce = KBP_CLIENT_NONCE | random_u64();
	c->leader = KBP_LEADER_UNKNOWN;
	if (c->opts.first_node >= 0 && (unsigned)c->opts.first_node < c->cfg.nodes)
		c->next = (unsigned)c->opts.first_node;
	else
		c->next = (unsigned)(random_u64() % c->cfg.nodes);
	*out = c;
	return 0;
}

void kbp_client_free(struct kbp_client *c)
{
	if (c == NULL)
		return;
	close(c->fd);
	free(c);
}

const char *kbp_client_error(const struct kbp_client *c) { return c->err; }
unsigned kbp_client_leader(const struct kbp_client *c) { return c->leader; }
uint64_t kbp_client_id(const struct kbp_client *c) { return c->id; }
const struct kbp_cluster_config *kbp_client_config(const struct kbp_client *c) { return &c->cfg; }

static const char *addr_str(const struct kbp_client *c, unsigned node, char *buf, size_t len)
{
	char ip[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &c->addr[node].sin_addr, ip, sizeof(ip));
	snprintf(buf, len, "%s:%u", ip, c->cfg.node[node].client_port);
	return buf;
}

static int send_req(struct kbp_client *c, unsigned node, uint32_t len)
{
	/* The header names the target; the CRC covers it, so re-encode per target. */
	c->req[9] = (uint8_t)node;
	uint32_t crc_off = (uint32_t)offsetof(struct kbp_wire_hdr, crc);
	memset(c->req + crc_off, 0, 4);
	kbp_le32_store(c->req + crc_off, kbp_wire_crc32c(c->req, len));
	ssize_t n = sendto(c->fd, c->req, len, 0, (const struct sockaddr *)&c->addr[node],
			   sizeof(c->addr[node]));
	if (n < 0) {
		/* The kernel refused (no route, buffer full): the node simply does not answer. */
		trace(c, "sendto node %u: %s", node, strerror(errno));
		return -errno;
	}
	return 0;
}

/*
 * Wait until deadline for the reply to (client_id, seq).  Returns 1 with *rep (pointing into c->rx)
 * and *from, 0 on timeout, or a negative errno.  Replies to other requests, and
 * datagrams that fail validation or do not come from the node they name, are ignored;
 * every valid reply marks its node as having answered.
 */
static int wait_reply(struct kbp_client *c, uint64_t client_id, uint64_t seq, uint64_t deadline,
		      struct node_seen *seen, struct kbp_reply *rep, unsigned *from)
{
	for (;;) {
		uint64_t now = now_ms();
		if (now >= deadline)
			return 0;
		struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
		int pr = poll(&pfd, 1, (int)(deadline - now));
		if (pr < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (pr == 0)
			return 0;
		for (;;) {
			struct sockaddr_in sa;
			socklen_t sl = sizeof(sa);
			ssize_t n = recvfrom(c->fd, c->rx, sizeof(c->rx), MSG_DONTWAIT,
					     (struct sockaddr *)&sa, &sl);
			if (n < 0) {
				if (errno == EAGAIN || errno == EWOULDBLOCK)
					break;
				if (errno == EINTR || errno == ECONNREFUSED)
					continue;
				return -errno;
			}
			struct kbp_msg m;
			int r = kbp_client_wire_reply(c->rx, (uint32_t)n, c->cfg.id, (uint8_t)c->cfg.nodes,
						      c->cfg.batch_cmds_max, &m);
			if (r < 0) {
				trace(c, "dropped a %zd-byte datagram: %s", n, kbp_wire_drop_text(r));
				continue;
			}
			if (sa.sin_addr.s_addr != c->addr[m.from].sin_addr.s_addr ||
			    sa.sin_port != c->addr[m.from].sin_port) {
				trace(c, "dropped a reply naming node %u from another address", m.from);
				continue;
			}
			seen[m.from].answered++;
			uint32_t off = 0;
			for (uint32_t i = 0; i < m.count; i++) {
				struct kbp_reply one;
				int sz = kbp_reply_decode(&one, m.payload + off, m.len - off);
				assert(sz > 0);   /* kbp_client_wire_reply walked these bytes */
				off += (uint32_t)sz;
				if (one.client_id != client_id || one.seq != seq)
					continue;
				seen[m.from].last_status = one.status;
				seen[m.from].last_hint = one.leader;
				*rep = one;
				*from = m.from;
				return 1;
			}
			trace(c, "ignored a stale reply from node %u", m.from);
		}
	}
}

static void timeout_error(struct kbp_client *c, const struct node_seen *seen, uint32_t attempts,
			  const struct kbp_cmd *cmd)
{
	size_t off = 0;
	char a[48];

	off += (size_t)snprintf(c->err + off, sizeof(c->err) - off,
				"no answer from a leader within %u ms (%u attempts, %s seq %" PRIu64 "):",
				c->opts.timeout_ms, attempts, kbp_op_name(cmd->op), cmd->seq);
	for (unsigned i = 0; i < c->cfg.nodes && off < sizeof(c->err); i++) {
		const char *sep = i ? ";" : "";
		if (seen[i].answered == 0) {
			off += (size_t)snprintf(c->err + off, sizeof(c->err) - off,
						"%s node %u (%s) did not answer%s", sep, i,
						addr_str(c, i, a, sizeof(a)), seen[i].sent ? "" : " (not tried)");
		} else if (seen[i].last_status == KBP_ST_NOT_LEADER) {
			char hint[24] = "unknown";
			if (seen[i].last_hint < c->cfg.nodes)
				snprintf(hint, sizeof(hint), "node %u", seen[i].last_hint);
			off += (size_t)snprintf(c->err + off, sizeof(c->err) - off,
						"%s node %u (%s) answered NOT_LEADER (leader %s)", sep, i,
						addr_str(c, i, a, sizeof(a)), hint);
		} else {
			off += (size_t)snprintf(c->err + off, sizeof(c->err) - off,
						"%s node %u (%s) answered %s", sep, i,
						addr_str(c, i, a, sizeof(a)), kbp_status_name(seen[i].last_status));
		}
	}
}

static void fill_result(struct kbp_client_result *res, const struct kbp_reply *rep, unsigned from,
			uint32_t attempts)
{
	res->status = rep->status;
	res->node = (uint8_t)from;
	res->val_len = rep->val_len;
	if (rep->val_len)
		memcpy(res->val, rep->val, rep->val_len);
	res->attempts = attempts;
	res->seq = rep->seq;
}

static int encode_request(struct kbp_client *c, const struct kbp_cmd *cmd)
{
	int len = kbp_client_wire_request(c->req, sizeof(c->req), c->cfg.id, 0, cmd, 1);
	if (len < 0) {
		set_err(c, "%s: key 1..%u bytes, values up to %u bytes", kbp_strerror(len), KBP_KEY_MAX,
			KBP_VAL_MAX);
		return len == -KBP_ETOOBIG ? -EMSGSIZE : -EINVAL;
	}
	if ((uint32_t)len > c->cfg.msg_bytes_max + KBP_WIRE_HDR_SIZE) {
		set_err(c, "request of %d bytes exceeds the cluster's msg_bytes_max", len);
		return -EMSGSIZE;
	}
	return len;
}

/* NOT_LEADER: the next node to try, after a pause when nobody knows the leader. */
static unsigned follow_hint(struct kbp_client *c, const struct kbp_reply *rep, unsigned from, uint32_t *hops)
{
	unsigned target;
	trace(c, "seq %" PRIu64 ": node %u says NOT_LEADER, hint %u", rep->seq, from, rep->leader);
	if (c->leader == from)
		c->leader = KBP_LEADER_UNKNOWN;
	(*hops)++;
	if (rep->leader < c->cfg.nodes && rep->leader != from) {
		target = rep->leader;
	} else {
		target = (from + 1) % c->cfg.nodes;
		sleep_ms(KBP_CLIENT_HINT_PAUSE_MS);
	}
	/* Hints going round in circles: an election is under way, let it finish. */
	if (*hops % c->cfg.nodes == 0)
		sleep_ms(KBP_CLIENT_HINT_PAUSE_MS);
	c->next = target;
	return target;
}

/*
 * Send the request encoded in c->req (len bytes) for cmd, and resend it with the same seq,
 * until a node answers something other than NOT_LEADER or BUSY or the timeout passes.
 * Returns 0 with *res, -ETIMEDOUT, or a negative errno from the socket.
 */
static int exchange(struct kbp_client *c, const struct kbp_cmd *cmd, int len, struct kbp_client_result *res)
{
	struct node_seen seen[KBP_NODES_MAX] = { 0 };
	uint64_t deadline = now_ms() + c->opts.timeout_ms;
	uint32_t attempts = 0, hops = 0;
	unsigned target = c->leader < c->cfg.nodes ? c->leader : c->next;

	while (now_ms() < deadline) {
		attempts++;
		seen[target].sent++;
		trace(c, "%s seq %" PRIu64 " -> node %u (attempt %u)", kbp_op_name(cmd->op), cmd->seq, target,
		      attempts);
		int sr = send_req(c, target, (uint32_t)len);
		uint64_t wait_until = now_ms() + c->opts.retry_ms;
		if (wait_until > deadline)
			wait_until = deadline;
		struct kbp_reply rep;
		unsigned from = 0;
		int r = sr < 0 ? 0 : wait_reply(c, cmd->client_id, cmd->seq, wait_until, seen, &rep, &from);
		if (sr < 0 && now_ms() < wait_until)
			sleep_ms((uint32_t)(wait_until - now_ms()));
		if (r < 0) {
			set_err(c, "socket: %s", strerror(-r));
			return r;
		}
		if (r == 0) {
			/* Unanswered: the node may be down; ask the next one with the same seq. */
			trace(c, "seq %" PRIu64 ": node %u did not answer in %u ms", cmd->seq, target,
			      c->opts.retry_ms);
			if (c->leader == target)
				c->leader = KBP_LEADER_UNKNOWN;
			target = (target + 1) % c->cfg.nodes;
			c->next = target;
		} else if (rep.status == KBP_ST_NOT_LEADER) {
			target = follow_hint(c, &rep, from, &hops);
		} else if (rep.status == KBP_ST_BUSY) {
			trace(c, "seq %" PRIu64 ": node %u is busy", cmd->seq, from);
			target = from;
			sleep_ms(KBP_CLIENT_HINT_PAUSE_MS);
		} else {
			c->leader = from;
			c->next = from;
			fill_result(res, &rep, from, attempts);
			return 0;
		}
	}
	timeout_error(c, seen, attempts, cmd);
	return -ETIMEDOUT;
}

int kbp_client_register(struct kbp_client *c)
{
	struct kbp_client_result res;
	/* A fresh nonce: an answer to an earlier registration can never be taken for this one's. */
	c->id = 0;
	c->nonce = KBP_CLIENT_NONCE | random_u64();
	struct kbp_cmd reg = { .client_id = c->nonce, .seq = 1, .op = KBP_OP_REGISTER };
	int len = encode_request(c, &reg);
	assert(len > 0);
	int r = exchange(c, &reg, len, &res);
	if (r < 0)
		return r;
	if (res.status != KBP_ST_OK || res.val_len != KBP_REGISTER_REPLY_LEN) {
		set_err(c, "register: node %u answered %s", res.node, kbp_status_name(res.status));
		return -EPROTO;
	}
	c->id = kbp_le64_load(res.val);
	c->seq = 0;
	trace(c, "registered: session %" PRIu64, c->id);
	return 0;
}

static uint8_t outcome_of(uint8_t status)
{
	switch (status) {
	case KBP_ST_INVALID:
		return KBP_CLIENT_NOT_RUN;
	case KBP_ST_SESSION_EXPIRED:
	case KBP_ST_STALE:
		return KBP_CLIENT_UNKNOWN;
	default:
		return KBP_CLIENT_DONE;
	}
}

int kbp_client_call(struct kbp_client *c, struct kbp_cmd *cmd, struct kbp_client_result *res)
{
	assert(c != NULL && cmd != NULL && res != NULL);
	bool write = cmd->op == KBP_OP_PUT || cmd->op == KBP_OP_CAS;
	c->err[0] = '\0';
	memset(res, 0, sizeof(*res) - sizeof(res->val));
	if (write && c->id == 0) {
		int r = kbp_client_register(c);
		if (r < 0)
			return r;
	}
	cmd->client_id = c->id ? c->id : c->nonce;    /* a read needs no session */
	cmd->seq = c->seq + 1;
	int len = encode_request(c, cmd);
	if (len < 0)
		return len;
	c->seq++;   /* used from here on: every retry reuses it */
	int r = exchange(c, cmd, len, res);
	if (r < 0)
		return r;
	res->outcome = outcome_of(res->status);
	if (res->outcome == KBP_CLIENT_UNKNOWN) {
		/* Never resent under a new session: it may have run already. The next write registers. */
		set_err(c, "session %" PRIu64 " %s before seq %" PRIu64 " was answered: the %s may or may not "
			"have run", c->id, res->status == KBP_ST_STALE ? "was moved past by someone else" : "expired",
			cmd->seq, kbp_op_name(cmd->op));
		c->id = 0;
	}
	return 0;
}

static int check_sizes(struct kbp_client *c, size_t key_len, size_t a, size_t b)
{
	if (key_len == 0 || key_len > KBP_KEY_MAX) {
		set_err(c, "key must be 1..%u bytes, got %zu", KBP_KEY_MAX, key_len);
		return -EINVAL;
	}
	if (a > KBP_VAL_MAX || b > KBP_VAL_MAX) {
		set_err(c, "values must be at most %u bytes, got %zu", KBP_VAL_MAX, a > b ? a : b);
		return -EMSGSIZE;
	}
	return 0;
}

int kbp_client_put(struct kbp_client *c, const void *key, size_t key_len, const void *val,
		   size_t val_len, struct kbp_client_result *res)
{
	int r = check_sizes(c, key_len, val_len, 0);
	if (r < 0)
		return r;
	struct kbp_cmd cmd = {
		.op = KBP_OP_PUT, .key_len = (uint8_t)key_len, .val_len = (uint16_t)val_len,
		.key = key, .val = val,
	};
	return kbp_client_call(c, &cmd, res);
}

int kbp_client_get(struct kbp_client *c, const void *key, size_t key_len,
		   struct kbp_client_result *res)
{
	int r = check_sizes(c, key_len, 0, 0);
	if (r < 0)
		return r;
	struct kbp_cmd cmd = { .op = KBP_OP_GET, .key_len = (uint8_t)key_len, .key = key };
	return kbp_client_call(c, &cmd, res);
}

int kbp_client_cas(struct kbp_client *c, const void *key, size_t key_len, const void *expected,
		   size_t exp_len, const void *val, size_t val_len, struct kbp_client_result *res)
{
	int r = check_sizes(c, key_len, exp_len, val_len);
	if (r < 0)
		return r;
	struct kbp_cmd cmd = {
		.op = KBP_OP_CAS, .key_len = (uint8_t)key_len, .val_len = (uint16_t)val_len,
		.exp_len = (uint16_t)exp_len, .key = key, .exp = expected, .val = val,
	};
	return kbp_client_call(c, &cmd, res);
}

int kbp_client_probe(struct kbp_client *c, unsigned node, const void *key, size_t key_len,
		     uint32_t wait_ms, struct kbp_client_result *res)
{
	assert(node < c->cfg.nodes);
	int r = check_sizes(c, key_len, 0, 0);
	if (r < 0)
		return r;
	struct kbp_cmd cmd = {
		.op = KBP_OP_GET, .key_len = (uint8_t)key_len, .key = key,
		.client_id = c->id ? c->id : c->nonce, .seq = ++c->seq,
	};
	int len = kbp_client_wire_request(c->req, sizeof(c->req), c->cfg.id, (uint8_t)node, &cmd, 1);
	assert(len > 0);
	memset(res, 0, sizeof(*res) - sizeof(res->val));
	struct node_seen seen[KBP_NODES_MAX] = { 0 };
	struct kbp_reply rep;
	unsigned from = 0;
	if (send_req(c, node, (uint32_t)len) < 0)
		r = 0;
	else
		r = wait_reply(c, cmd.client_id, cmd.seq, now_ms() + wait_ms, seen, &rep, &from);
	if (r < 0)
		return r;
	if (r == 0) {
		char a[48];
		set_err(c, "node %u (%s) did not answer within %u ms", node, addr_str(c, node, a, sizeof(a)),
			wait_ms);
		return -ETIMEDOUT;
	}
	fill_result(res, &rep, from, 1);
	if (rep.status == KBP_ST_NOT_LEADER)
		res->node = rep.leader;
	return 0;
}
