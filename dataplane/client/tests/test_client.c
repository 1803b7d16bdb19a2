/* SPDX-License-Identifier: MIT */
/*
 * The kernel-UDP client without a cluster: its datagrams are the UDP payload of the frames
 * kbp_wire_encode builds (and kbp_wire_parse accepts); reply validation refuses every cut
 * and every bad field; and against three fake nodes on 127.0.0.1-3 it follows NOT_LEADER
 * hints, retries with the same sequence number, and names the nodes that did not answer.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "kbp_client.h"
#include "kbp_client_wire.h"
#include "kbp_config.h"

#define CLUSTER 5u

/* ---- wire ---- */

static void wire_ctx(struct kbp_wire_ctx *ctx, unsigned self)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->cluster_id = CLUSTER;
	ctx->self = (uint8_t)self;
	ctx->nodes = 3;
	ctx->cmds_max = 64;
	ctx->payload_max = 16384;
	ctx->client = (struct kbp_wire_addr){ .mac = { 2, 0, 0, 0, 0, 0x64 }, .ip = 0x0a4d0064, .port = 40000 };
	for (unsigned i = 0; i < 3; i++) {
		ctx->node[i].addr = (struct kbp_wire_addr){
			.mac = { 2, 0, 0, 0, 0, (uint8_t)(i + 1) }, .ip = 0x0a4d0001 + i, .port = 7700,
		};
		ctx->node[i].client_port = 7701;
	}
}

static void request_is_frame_payload(void **state)
{
	(void)state;
	struct kbp_wire_ctx ctx;
	wire_ctx(&ctx, 0);
	struct kbp_cmd cmds[2] = {
		{ .client_id = 42, .seq = 7, .op = KBP_OP_PUT, .key_len = 2, .val_len = 5,
		  .key = (const uint8_t *)"k1", .val = (const uint8_t *)"hello" },
		{ .client_id = 42, .seq = 8, .op = KBP_OP_CAS, .key_len = 2, .exp_len = 3, .val_len = 3,
		  .key = (const uint8_t *)"k2", .exp = (const uint8_t *)"old", .val = (const uint8_t *)"new" },
	};
	uint8_t dgram[512], frame[600], payload[512];
	int n = kbp_client_wire_request(dgram, sizeof(dgram), CLUSTER, 0, cmds, 2);
	assert_true(n > (int)KBP_WIRE_HDR_SIZE);

	/* The same message through the frame encoder: identical bytes after the UDP header. */
	uint32_t plen = 0;
	for (unsigned i = 0; i < 2; i++)
		plen += (uint32_t)kbp_cmd_encode(&cmds[i], payload + plen, sizeof(payload) - plen);
	struct kbp_msg m = { .type = KBP_MSG_CLIENT_REQ, .from = KBP_NODE_CLIENT, .to = 0, .count = 2,
			     .len = plen, .payload = payload };
	struct kbp_wire_addr dst = ctx.node[0].addr;
	dst.port = ctx.node[0].client_port;
	int f = kbp_wire_encode(frame, sizeof(frame), &ctx.client, &dst, CLUSTER, &m);
	assert_int_equal(f, n + (int)KBP_WIRE_L2L4_SIZE);
	assert_memory_equal(frame + KBP_WIRE_L2L4_SIZE, dgram, (size_t)n);

	/* And node 0 accepts it. */
	struct kbp_msg out;
	assert_int_equal(kbp_wire_parse(frame, (uint32_t)f, &ctx, &out, NULL), 0);
	assert_int_equal(out.type, KBP_MSG_CLIENT_REQ);
	assert_int_equal(out.count, 2);

	/* No no-ops, no empty requests, nothing past cap. */
	struct kbp_cmd noop = { .op = KBP_OP_NOOP };
	assert_int_equal(kbp_client_wire_request(dgram, sizeof(dgram), CLUSTER, 0, &noop, 1), -KBP_EINVAL);
	assert_int_equal(kbp_client_wire_request(dgram, sizeof(dgram), CLUSTER, 0, cmds, 0), -KBP_EINVAL);
	assert_int_equal(kbp_client_wire_request(dgram, 80, CLUSTER, 0, cmds, 1), -KBP_ETOOBIG);
}

/* A valid CLIENT_REP datagram from node `from` with one reply; returns its length. */
static uint32_t make_reply_bin(uint8_t *buf, uint32_t cap, uint8_t from, uint64_t id, uint64_t seq,
			       const uint8_t *val, uint16_t val_len)
{
	uint8_t payload[256];
	struct kbp_reply r = { .client_id = id, .seq = seq, .status = KBP_ST_OK, .leader = from,
			       .val_len = val_len, .val = val };
	int plen = kbp_reply_encode(&r, payload, sizeof(payload));
	assert_true(plen > 0);
	struct kbp_msg m = { .type = KBP_MSG_CLIENT_REP, .from = from, .to = KBP_NODE_CLIENT, .count = 1,
			     .len = (uint32_t)plen, .payload = payload };
	int n = kbp_client_wire_encode(buf, cap, CLUSTER, &m);
	assert_true(n > 0);
	return (uint32_t)n;
}

static uint32_t make_reply(uint8_t *buf, uint32_t cap, uint8_t from, uint64_t id, uint64_t seq,
			   uint8_t status, uint8_t leader, const char *val)
{
	uint8_t payload[256];
	struct kbp_reply r = { .client_id = id, .seq = seq, .status = status, .leader = leader,
			       .val_len = (uint16_t)(val ? strlen(val) : 0), .val = (const uint8_t *)val };
	int plen = kbp_reply_encode(&r, payload, sizeof(payload));
	assert_true(plen > 0);
	struct kbp_msg m = { .type = KBP_MSG_CLIENT_REP, .from = from, .to = KBP_NODE_CLIENT, .count = 1,
			     .len = (uint32_t)plen, .payload = payload };
	int n = kbp_client_wire_encode(buf, cap, CLUSTER, &m);
	assert_true(n > 0);
	return (uint32_t)n;
}

static void reply_matches_frame_encoder(void **state)
{
	(void)state;
	struct kbp_wire_ctx ctx;
	wire_ctx(&ctx, KBP_NODE_CLIENT);
	uint8_t dgram[256], frame[400];
	uint32_t n = make_reply(dgram, sizeof(dgram), 1, 42, 7, KBP_ST_OK, 0xff, "value");
	struct kbp_msg m = { .type = KBP_MSG_CLIENT_REP, .from = 1, .to = KBP_NODE_CLIENT, .count = 1,
			     .len = n - KBP_WIRE_HDR_SIZE, .payload = dgram + KBP_WIRE_HDR_SIZE };
	struct kbp_wire_addr src = ctx.node[1].addr;
	src.port = ctx.node[1].client_port;
	int f = kbp_wire_encode(frame, sizeof(frame), &src, &ctx.client, CLUSTER, &m);
	assert_int_equal(f, (int)(n + KBP_WIRE_L2L4_SIZE));
	assert_memory_equal(frame + KBP_WIRE_L2L4_SIZE, dgram, n);
	struct kbp_msg out;
	assert_int_equal(kbp_wire_parse(frame, (uint32_t)f, &ctx, &out, NULL), 0);

	assert_int_equal(kbp_client_wire_reply(dgram, n, CLUSTER, 3, 64, &out), 0);
	assert_int_equal(out.from, 1);
	assert_int_equal(out.count, 1);
	struct kbp_reply r;
	assert_true(kbp_reply_decode(&r, out.payload, out.len) > 0);
	assert_int_equal(r.seq, 7);
	assert_int_equal(r.val_len, 5);
	assert_memory_equal(r.val, "value", 5);
	/* The CRC check restores the bytes it zeroes. */
	assert_memory_equal(frame + KBP_WIRE_L2L4_SIZE, dgram, n);
}

static void bad_replies_are_refused(void **state)
{
	(void)state;
	uint8_t good[256], b[256];
	struct kbp_msg out;
	uint32_t n = make_reply(good, sizeof(good), 2, 42, 7, KBP_ST_NOT_LEADER, 1, NULL);

	for (uint32_t cut = 0; cut < n; cut++) {
		memcpy(b, good, n);
		assert_true(kbp_client_wire_reply(b, cut, CLUSTER, 3, 64, &out) < 0);
	}
	for (uint32_t bit = 0; bit < n * 8; bit++) {
		memcpy(b, good, n);
		b[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		assert_true(kbp_client_wire_reply(b, n, CLUSTER, 3, 64, &out) < 0);
	}
	memcpy(b, good, n);
	assert_int_equal(kbp_client_wire_reply(b, n, CLUSTER + 1, 3, 64, &out), -KBP_WIRE_CLUSTER);
	assert_int_equal(kbp_client_wire_reply(b, n, CLUSTER, 2, 64, &out), -KBP_WIRE_NODE_ID);

	/* Well-sealed but wrong: a request, a count of 0 and 2^32-1, trailing bytes. */
	struct kbp_reply r;
	assert_true(kbp_reply_decode(&r, good + KBP_WIRE_HDR_SIZE, n - KBP_WIRE_HDR_SIZE) > 0);
	struct kbp_msg m = { .type = KBP_MSG_CLIENT_REQ, .from = 2, .to = KBP_NODE_CLIENT, .count = 1,
			     .len = n - KBP_WIRE_HDR_SIZE, .payload = good + KBP_WIRE_HDR_SIZE };
	uint32_t len = (uint32_t)kbp_client_wire_encode(b, sizeof(b), CLUSTER, &m);
	assert_int_equal(kbp_client_wire_reply(b, len, CLUSTER, 3, 64, &out), -KBP_WIRE_TYPE_PORT);
	m.type = KBP_MSG_CLIENT_REP;
	m.count = 0;
	len = (uint32_t)kbp_client_wire_encode(b, sizeof(b), CLUSTER, &m);
	assert_int_equal(kbp_client_wire_reply(b, len, CLUSTER, 3, 64, &out), -KBP_WIRE_COUNT);
	m.count = UINT32_MAX;
	len = (uint32_t)kbp_client_wire_encode(b, sizeof(b), CLUSTER, &m);
	assert_int_equal(kbp_client_wire_reply(b, len, CLUSTER, 3, 64, &out), -KBP_WIRE_COUNT_MAX);
	m.count = 1;
	m.to = 0;
	len = (uint32_t)kbp_client_wire_encode(b, sizeof(b), CLUSTER, &m);
	assert_int_equal(kbp_client_wire_reply(b, len, CLUSTER, 3, 64, &out), -KBP_WIRE_TARGET);
	m.to = KBP_NODE_CLIENT;
	uint8_t longer[256];
	memcpy(longer, good + KBP_WIRE_HDR_SIZE, m.len);
	memset(longer + m.len, 0, 8);
	m.payload = longer;
	m.len += 8;
	len = (uint32_t)kbp_client_wire_encode(b, sizeof(b), CLUSTER, &m);
	assert_int_equal(kbp_client_wire_reply(b, len, CLUSTER, 3, 64, &out), -KBP_WIRE_PAYLOAD);
}

/* ---- the client against three fake nodes on 127.0.0.1..3 ---- */

/*
 * FAKE_LEADER registers sessions (ids 100, 101, ...) and answers OK; FAKE_EXPIRE registers
 * too but answers every write SESSION_EXPIRED, FAKE_STALE answers writes STALE.
 */
enum fake_mode { FAKE_SILENT, FAKE_HINT, FAKE_UNKNOWN, FAKE_LEADER, FAKE_DROP_FIRST, FAKE_EXPIRE, FAKE_STALE };

struct fake {
	int fd[3];
	enum fake_mode mode[3];
	uint64_t seen_seq[3][8];
	uint64_t seen_id[3][8];
	uint8_t seen_op[3][8];
	unsigned seen[3];
	uint64_t next_id;
	uint8_t hint;
	volatile int stop;
	pthread_t thread;
};

static struct fake fake;
static char cfg_path[64];
static uint16_t cfg_port;

static void *fake_main(void *arg)
{
	struct fake *f = arg;
	uint8_t buf[2048], out[512];
	while (!f->stop) {
		struct pollfd p[3];
		for (int i = 0; i < 3; i++)
			p[i] = (struct pollfd){ .fd = f->fd[i], .events = POLLIN };
		if (poll(p, 3, 20) <= 0)
			continue;
		for (int i = 0; i < 3; i++) {
			if (!(p[i].revents & POLLIN))
				continue;
			struct sockaddr_in sa;
			socklen_t sl = sizeof(sa);
			ssize_t n = recvfrom(f->fd[i], buf, sizeof(buf), 0, (struct sockaddr *)&sa, &sl);
			if (n < (ssize_t)KBP_WIRE_HDR_SIZE)
				continue;
			struct kbp_cmd c;
			if (kbp_cmd_decode(&c, buf + KBP_WIRE_HDR_SIZE, (uint32_t)n - KBP_WIRE_HDR_SIZE) < 0)
				continue;
			unsigned k = f->seen[i]++;
			if (k < 8) {
				f->seen_seq[i][k] = c.seq;
				f->seen_id[i][k] = c.client_id;
				f->seen_op[i][k] = c.op;
			}
			uint32_t len;
			uint8_t id[8];
			bool write = c.op == KBP_OP_PUT || c.op == KBP_OP_CAS;
			switch (f->mode[i]) {
			case FAKE_SILENT:
				continue;
			case FAKE_HINT:
				len = make_reply(out, sizeof(out), (uint8_t)i, c.client_id, c.seq, KBP_ST_NOT_LEADER,
						 f->hint, NULL);
				break;
			case FAKE_UNKNOWN:
				len = make_reply(out, sizeof(out), (uint8_t)i, c.client_id, c.seq, KBP_ST_NOT_LEADER,
						 KBP_LEADER_UNKNOWN, NULL);
				break;
			case FAKE_DROP_FIRST:
				if (k == 0)
					continue;
				/* fall through */
			case FAKE_LEADER:
			case FAKE_EXPIRE:
			case FAKE_STALE:
			default:
				if (c.op == KBP_OP_REGISTER) {
					kbp_le64_store(id, f->next_id++);
					len = make_reply_bin(out, sizeof(out), (uint8_t)i, c.client_id, c.seq, id, 8);
				} else if (write && f->mode[i] != FAKE_LEADER && f->mode[i] != FAKE_DROP_FIRST) {
					len = make_reply(out, sizeof(out), (uint8_t)i, c.client_id, c.seq,
							 f->mode[i] == FAKE_EXPIRE ? KBP_ST_SESSION_EXPIRED : KBP_ST_STALE,
							 (uint8_t)i, NULL);
				} else {
					len = make_reply(out, sizeof(out), (uint8_t)i, c.client_id, c.seq, KBP_ST_OK,
							 (uint8_t)i, c.op == KBP_OP_GET ? "fake" : NULL);
				}
				break;
			}
			sendto(f->fd[i], out, len, 0, (struct sockaddr *)&sa, sl);
		}
	}
	return NULL;
}

static int fake_setup(void **state)
{
	(void)state;
	memset(&fake, 0, sizeof(fake));
	/* One port free on all three loopback addresses. */
	for (int tries = 0; tries < 50; tries++) {
		cfg_port = (uint16_t)(20000 + ((unsigned)getpid() * 7u + (unsigned)tries * 13u) % 30000u);
		int ok = 1;
		for (int i = 0; i < 3; i++) {
			fake.fd[i] = socket(AF_INET, SOCK_DGRAM, 0);
			struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(cfg_port),
						  .sin_addr.s_addr = htonl(0x7f000001u + (uint32_t)i) };
			if (bind(fake.fd[i], (struct sockaddr *)&sa, sizeof(sa)) != 0) {
				ok = 0;
				for (int j = 0; j <= i; j++)
					close(fake.fd[j]);
				break;
			}
		}
		if (ok)
			break;
		cfg_port = 0;
	}
	if (cfg_port == 0)
		return -1;

	snprintf(cfg_path, sizeof(cfg_path), "/tmp/kbp_client_test_%d.ini", (int)getpid());
	FILE *f = fopen(cfg_path, "w");
	if (f == NULL)
		return -1;
	fprintf(f, "[cluster]\nid = %u\nnodes = 3\n", CLUSTER);
	for (int i = 0; i < 3; i++)
		fprintf(f, "[node.%d]\nmac = 02:00:00:00:00:0%d\nip = 127.0.0.%d\nclient_port = %u\n"
			   "lcores = 0\nlog_dir = /tmp/n%d\nvdev.a = net_ring%d\n",
			i, i + 1, i + 1, cfg_port, i, i);
	fclose(f);
	pthread_create(&fake.thread, NULL, fake_main, &fake);
	return 0;
}

static int fake_teardown(void **state)
{
	(void)state;
	fake.stop = 1;
	pthread_join(fake.thread, NULL);
	for (int i = 0; i < 3; i++)
		close(fake.fd[i]);
	unlink(cfg_path);
	return 0;
}

static struct kbp_client *new_client(uint32_t timeout_ms)
{
	struct kbp_client_opts o;
	kbp_client_opts_default(&o);
	o.timeout_ms = timeout_ms;
	o.retry_ms = 50;
	o.first_node = 0;
	o.verbose = getenv("KBP_CLIENT_VERBOSE") != NULL;
	struct kbp_client *c = NULL;
	char err[512];
	int r = kbp_client_new(cfg_path, &o, &c, err, sizeof(err));
	if (r != 0)
		print_error("kbp_client_new: %s\n", err);
	assert_int_equal(r, 0);
	assert_int_equal(kbp_client_id(c), 0);     /* no session until the first write */
	return c;
}

static void follows_hints_and_retries_same_seq(void **state)
{
	(void)state;
	memset(fake.seen, 0, sizeof(fake.seen));
	fake.next_id = 100;
	fake.mode[0] = FAKE_HINT;
	fake.hint = 2;
	fake.mode[1] = FAKE_UNKNOWN;
	fake.mode[2] = FAKE_DROP_FIRST;
	struct kbp_client *c = new_client(3000);
	struct kbp_client_result res;

	/* A read needs no session: it goes out under the client's nonce.
	 * node 0 -> hint 2 -> (dropped, 50 ms) -> node 0 again -> hint 2 -> answered. */
	assert_int_equal(kbp_client_get(c, "k", 1, &res), 0);
	assert_int_equal(res.status, KBP_ST_OK);
	assert_int_equal(res.outcome, KBP_CLIENT_DONE);
	assert_int_equal(res.node, 2);
	assert_int_equal(res.attempts, 4);
	assert_int_equal(fake.seen[2], 2);
	assert_int_equal(fake.seen_seq[2][0], res.seq);
	assert_int_equal(fake.seen_seq[2][1], res.seq);
	assert_int_equal(fake.seen_seq[0][0], res.seq);
	assert_true(kbp_client_is_nonce(fake.seen_id[2][0]));
	assert_int_equal(kbp_client_leader(c), 2);
	assert_int_equal(kbp_client_id(c), 0);
	assert_int_equal(res.val_len, 4);
	assert_memory_equal(res.val, "fake", 4);

	/* The first write registers a session (the cluster names the id), then runs under it;
	 * both go straight to the leader. */
	assert_int_equal(kbp_client_put(c, "k", 1, "v", 1, &res), 0);
	assert_int_equal(res.status, KBP_ST_OK);
	assert_int_equal(res.attempts, 1);
	assert_int_equal(kbp_client_id(c), 100);
	assert_int_equal(fake.seen[2], 4);
	assert_int_equal(fake.seen_op[2][2], KBP_OP_REGISTER);
	assert_true(kbp_client_is_nonce(fake.seen_id[2][2]));
	assert_int_equal(fake.seen_op[2][3], KBP_OP_PUT);
	assert_int_equal(fake.seen_id[2][3], 100);
	assert_int_equal(fake.seen_seq[2][3], 1);
	assert_int_equal(res.seq, 1);

	/* The next request, with the next seq, under the session. */
	assert_int_equal(kbp_client_get(c, "k", 1, &res), 0);
	assert_int_equal(res.attempts, 1);
	assert_int_equal(res.seq, 2);
	assert_int_equal(fake.seen_id[2][4], 100);

	/* Sizes are checked before anything is sent. */
	char big[KBP_VAL_MAX + 1] = { 0 };
	assert_int_equal(kbp_client_put(c, "", 0, "v", 1, &res), -EINVAL);
	assert_int_equal(kbp_client_put(c, "k", 1, big, sizeof(big), &res), -EMSGSIZE);
	assert_int_equal(fake.seen[2], 5);
	kbp_client_free(c);
}

/*
 * SESSION_EXPIRED: the outcome is unknown (the write may have run before the session was
 * evicted), so the library says so and does not resend it under a new session; the next
 * write registers a new one.  STALE likewise.
 */
static void session_expired_is_unknown_and_not_retried(void **state)
{
	(void)state;
	memset(fake.seen, 0, sizeof(fake.seen));
	fake.next_id = 200;
	fake.mode[0] = FAKE_EXPIRE;
	fake.mode[1] = FAKE_SILENT;
	fake.mode[2] = FAKE_SILENT;
	struct kbp_client *c = new_client(2000);
	struct kbp_client_result res;

	assert_int_equal(kbp_client_put(c, "k", 1, "v", 1, &res), 0);
	assert_int_equal(res.status, KBP_ST_SESSION_EXPIRED);
	assert_int_equal(res.outcome, KBP_CLIENT_UNKNOWN);
	print_message("error: %s\n", kbp_client_error(c));
	assert_non_null(strstr(kbp_client_error(c), "may or may not have run"));
	assert_int_equal(fake.seen[0], 2);                    /* REGISTER, then the put once */
	assert_int_equal(fake.seen_op[0][1], KBP_OP_PUT);
	assert_int_equal(fake.seen_id[0][1], 200);
	assert_int_equal(kbp_client_id(c), 0);
	uint64_t first_nonce = fake.seen_id[0][0];

	/* A fresh request: a new session (a new nonce), and it runs. */
	fake.mode[0] = FAKE_LEADER;
	assert_int_equal(kbp_client_put(c, "k", 1, "w", 1, &res), 0);
	assert_int_equal(res.status, KBP_ST_OK);
	assert_int_equal(res.outcome, KBP_CLIENT_DONE);
	assert_int_equal(fake.seen[0], 4);
	assert_int_equal(fake.seen_op[0][2], KBP_OP_REGISTER);
	assert_true(kbp_client_is_nonce(fake.seen_id[0][2]));
	assert_int_not_equal(fake.seen_id[0][2], first_nonce);
	assert_int_equal(fake.seen_id[0][3], 201);
	assert_int_equal(fake.seen_seq[0][3], 1);
	assert_int_equal(kbp_client_id(c), 201);

	/* STALE for the request in flight: someone else moved the session on. Unknown too. */
	fake.mode[0] = FAKE_STALE;
	assert_int_equal(kbp_client_cas(c, "k", 1, "w", 1, "x", 1, &res), 0);
	assert_int_equal(res.status, KBP_ST_STALE);
	assert_int_equal(res.outcome, KBP_CLIENT_UNKNOWN);
	assert_int_equal(fake.seen[0], 5);
	assert_int_equal(kbp_client_id(c), 0);
	kbp_client_free(c);
}

static void timeout_names_silent_nodes(void **state)
{
	(void)state;
	fake.mode[0] = FAKE_SILENT;
	fake.mode[1] = FAKE_UNKNOWN;
	fake.mode[2] = FAKE_SILENT;
	struct kbp_client *c = new_client(400);
	struct kbp_client_result res;
	assert_int_equal(kbp_client_put(c, "k", 1, "v", 1, &res), -ETIMEDOUT);
	const char *e = kbp_client_error(c);
	print_message("error: %s\n", e);
	assert_non_null(strstr(e, "node 0 (127.0.0.1:"));
	assert_non_null(strstr(e, "node 2 (127.0.0.3:"));
	assert_non_null(strstr(e, "did not answer"));
	assert_non_null(strstr(e, "node 1 (127.0.0.2:"));
	assert_non_null(strstr(e, "NOT_LEADER (leader unknown)"));
	kbp_client_free(c);
}

static void bad_config_is_reported(void **state)
{
	(void)state;
	struct kbp_client *c = NULL;
	char err[512];
	assert_int_equal(kbp_client_new("/nonexistent/kbp.ini", NULL, &c, err, sizeof(err)), -EINVAL);
	assert_null(c);
	assert_non_null(strstr(err, "/nonexistent/kbp.ini"));
}

int main(void)
{
	const struct CMUnitTest wire[] = {
		cmocka_unit_test(request_is_frame_payload),
		cmocka_unit_test(reply_matches_frame_encoder),
		cmocka_unit_test(bad_replies_are_refused),
	};
	const struct CMUnitTest client[] = {
		cmocka_unit_test(follows_hints_and_retries_same_seq),
		cmocka_unit_test(session_expired_is_unknown_and_not_retried),
		cmocka_unit_test(timeout_names_silent_nodes),
		cmocka_unit_test(bad_config_is_reported),
	};
	int r = cmocka_run_group_tests_name("client_wire", wire, NULL, NULL);
	r += cmocka_run_group_tests_name("client", client, fake_setup, fake_teardown);
	return r;
}
