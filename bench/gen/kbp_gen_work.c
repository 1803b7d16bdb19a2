/* SPDX-License-Identifier: MIT */
/* The generator's options and workload: key distribution, op mix, command encoding. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kbp_check.h"
#include "kbp_gen_work.h"

void kbp_gen_opts_default(struct kbp_gen_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->config = "conf/local.ini";
	o->rate = 0;
	o->outstanding = 32;
	o->sessions = 1024;
	o->duration_s = 10;
	o->warmup_s = 1;
	o->value_size = 64;
	o->key_size = 16;
	o->keys = 10000;
	o->zipf_s = 0;
	o->mix[KBP_OP_PUT] = 100;
	o->target = KBP_GEN_TARGET_DISCOVER;
	o->timeout_ms = 200;
	o->retries = 5;
	o->busy_backoff_us = 200;
	o->seed = 1;
	o->label = "run";
	o->check_ops = 1000000;
	o->check_time_s = 60;
}

void kbp_gen_usage(const char *prog)
{
	printf("usage: %s [options]\n"
	       "  --config FILE        cluster config with a [generator] section (conf/local.ini)\n"
	       "  --rate R             open loop: R requests/s paced by the TSC; latency counts\n"
	       "                       from each request's intended send time\n"
	       "  --outstanding N      closed loop: N requests in flight, one per client id (32)\n"
	       "  --sessions N         open loop: client ids, i.e. requests in flight at most (1024)\n"
	       "  --duration S         measured seconds (10)\n"
	       "  --warmup S           seconds run first and not measured (1)\n"
	       "  --value-size B       PUT/CAS value bytes (64)\n"
	       "  --key-size B         key bytes, 8..64 (16)\n"
	       "  --keys N             distinct keys (10000)\n"
	       "  --dist D             uniform | zipf:S (uniform)\n"
	       "  --mix M              e.g. put=80,get=15,cas=5 (put=100)\n"
	       "  --target N           send every request to node N (default: find the leader,\n"
	       "                       following NOT_LEADER hints)\n"
	       "  --timeout MS         resend with the same seq after MS ms without a reply (200)\n"
	       "  --retries N          resends before a request counts as timed out (5)\n"
	       "  --busy-backoff US    wait before resending after BUSY (200)\n"
	       "  --batch N            commands per frame at most (the config's batch_cmds_max)\n"
	       "  --seed N             workload seed (1)\n"
	       "  --out DIR            write summary.json, latency .hgrm, timeseries.csv and plots\n"
	       "  --label NAME         run name in output files (run)\n"
	       "  --no-plots           do not call bench/plot.sh\n"
	       "  --quiet              no per-second lines\n"
	       "  --check              record every put/get/cas and check the history for\n"
	       "                       linearizability at the end: prints linearizable=yes|no|unknown\n"
	       "                       (exit status 1 on no); values become unique per write\n"
	       "                       (--value-size >= %u) and keys unique per run\n"
	       "  --check-ops N        records at most, %u bytes each; at N the run stops\n"
	       "                       issuing and drains (1000000)\n"
	       "  --check-time S       give up the check after S seconds: unknown (60)\n",
	       prog, KBP_GEN_CHECK_VALUE_MIN, KBP_CHECK_REC_BYTES);
}

static int fail(char *err, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return -1;
}

static bool parse_double(const char *s, double lo, double hi, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= lo && v <= hi))
		return false;
	*out = v;
	return true;
}

static bool parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
	char *end;
	errno = 0;
	if (*s == '-' || *s == '\0')
		return false;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || *end || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

int kbp_gen_parse_mix(const char *s, uint32_t mix[KBP_OP_COUNT])
{
	uint32_t m[KBP_OP_COUNT] = { 0 };
	char buf[128];
	char *save = NULL;

	if (strlen(s) >= sizeof(buf))
		return -1;
	snprintf(buf, sizeof(buf), "%s", s);
	for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');
		uint64_t w;
		unsigned op;
		if (!eq)
			return -1;
		*eq = '\0';
		for (op = KBP_OP_PUT; op < KBP_GEN_OPS; op++)
			if (!strcmp(tok, kbp_op_name(op)))
				break;
		if (op == KBP_GEN_OPS || !parse_u64(eq + 1, 0, 1000000, &w))
			return -1;
		m[op] = (uint32_t)w;
	}
	if (m[KBP_OP_PUT] + m[KBP_OP_GET] + m[KBP_OP_CAS] == 0)
		return -1;
	memcpy(mix, m, sizeof(m));
	return 0;
}

int kbp_gen_parse_dist(const char *s, double *zipf_s)
{
	if (!strcmp(s, "uniform")) {
		*zipf_s = 0;
		return 0;
	}
	if (!strncmp(s, "zipf:", 5) && parse_double(s + 5, 1e-6, 100, zipf_s))
		return 0;
	return -1;
}

enum {
	OPT_CONFIG = 256, OPT_RATE, OPT_OUTSTANDING, OPT_SESSIONS, OPT_DURATION, OPT_WARMUP,
	OPT_VALUE_SIZE, OPT_KEY_SIZE, OPT_KEYS, OPT_DIST, OPT_MIX, OPT_TARGET, OPT_TIMEOUT,
	OPT_RETRIES, OPT_BUSY_BACKOFF, OPT_BATCH, OPT_SEED, OPT_OUT, OPT_LABEL, OPT_QUIET,
	OPT_NO_PLOTS, OPT_CHECK, OPT_CHECK_OPS, OPT_CHECK_TIME, OPT_HELP,
};

/* --check: values that hold an id and a nonce, and room for a fresh key range per run. */
static int check_opts(const struct kbp_gen_opts *o, uint64_t room, char *err, size_t err_len)
{
	if (o->value_size < KBP_GEN_CHECK_VALUE_MIN)
		return fail(err, err_len, "--check needs --value-size >= %u (each value carries its "
			    "write's id)", KBP_GEN_CHECK_VALUE_MIN);
	if (o->keys > KBP_GEN_CHECK_KEYS_MAX)
		return fail(err, err_len, "--check takes --keys up to %u", KBP_GEN_CHECK_KEYS_MAX);
	if (o->key_size - 1 < 20 && room / o->keys < KBP_GEN_CHECK_KEY_SPACES)
		return fail(err, err_len, "--check needs --key-size long enough for %u x --keys "
			    "(a fresh key range per run)", KBP_GEN_CHECK_KEY_SPACES);
	return 0;
}

int kbp_gen_opts_parse(struct kbp_gen_opts *o, int argc, char **argv, char *err, size_t err_len)
{
	static const struct option longs[] = {
		{ "config", required_argument, NULL, OPT_CONFIG },
		{ "rate", required_argument, NULL, OPT_RATE },
		{ "outstanding", required_argument, NULL, OPT_OUTSTANDING },
		{ "sessions", required_argument, NULL, OPT_SESSIONS },
		{ "duration", required_argument, NULL, OPT_DURATION },
		{ "warmup", required_argument, NULL, OPT_WARMUP },
		{ "value-size", required_argument, NULL, OPT_VALUE_SIZE },
		{ "key-size", required_argument, NULL, OPT_KEY_SIZE },
		{ "keys", required_argument, NULL, OPT_KEYS },
		{ "dist", required_argument, NULL, OPT_DIST },
		{ "mix", required_argument, NULL, OPT_MIX },
		{ "target", required_argument, NULL, OPT_TARGET },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "retries", required_argument, NULL, OPT_RETRIES },
		{ "busy-backoff", required_argument, NULL, OPT_BUSY_BACKOFF },
		{ "batch", required_argument, NULL, OPT_BATCH },
		{ "seed", required_argument, NULL, OPT_SEED },
		{ "out", required_argument, NULL, OPT_OUT },
		{ "label", required_argument, NULL, OPT_LABEL },
		{ "quiet", no_argument, NULL, OPT_QUIET },
		{ "no-plots", no_argument, NULL, OPT_NO_PLOTS },
		{ "check", no_argument, NULL, OPT_CHECK },
		{ "check-ops", required_argument, NULL, OPT_CHECK_OPS },
		{ "check-time", required_argument, NULL, OPT_CHECK_TIME },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	bool closed_set = false;
	uint64_t u;
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
		const char *a = optarg;
		switch (c) {
		case OPT_CONFIG: o->config = a; break;
		case OPT_RATE:
			if (!parse_double(a, 1, 1e9, &o->rate))
				return fail(err, err_len, "--rate '%s': expected requests/s in 1..1e9", a);
			break;
		case OPT_OUTSTANDING:
			if (!parse_u64(a, 1, KBP_GEN_SESSIONS_MAX, &u))
				return fail(err, err_len, "--outstanding '%s': expected 1..%u", a,
					    KBP_GEN_SESSIONS_MAX);
			o->outstanding = (uint32_t)u;
			closed_set = true;
			break;
		case OPT_SESSIONS:
			if (!parse_u64(a, 1, KBP_GEN_SESSIONS_MAX, &u))
				return fail(err, err_len, "--sessions '%s': expected 1..%u", a,
					    KBP_GEN_SESSIONS_MAX);
			o->sessions = (uint32_t)u;
			break;
		case OPT_DURATION:
			if (!parse_double(a, 0.1, 86400, &o->duration_s))
				return fail(err, err_len, "--duration '%s': expected seconds in 0.1..86400", a);
			break;
		case OPT_WARMUP:
			if (!parse_double(a, 0, 3600, &o->warmup_s))
				return fail(err, err_len, "--warmup '%s': expected seconds in 0..3600", a);
			break;
		case OPT_VALUE_SIZE:
			if (!parse_u64(a, 0, KBP_VAL_MAX, &u))
				return fail(err, err_len, "--value-size '%s': expected bytes in 0..%u", a,
					    KBP_VAL_MAX);
			o->value_size = (uint32_t)u;
			break;
		case OPT_KEY_SIZE:
			if (!parse_u64(a, KBP_GEN_KEY_SIZE_MIN, KBP_KEY_MAX, &u))
				return fail(err, err_len, "--key-size '%s': expected bytes in %u..%u", a,
					    KBP_GEN_KEY_SIZE_MIN, KBP_KEY_MAX);
			o->key_size = (uint32_t)u;
			break;
		case OPT_KEYS:
			if (!parse_u64(a, 1, UINT64_C(1) << 40, &u))
				return fail(err, err_len, "--keys '%s': expected 1..2^40", a);
			o->keys = u;
			break;
		case OPT_DIST:
			if (kbp_gen_parse_dist(a, &o->zipf_s) < 0)
				return fail(err, err_len, "--dist '%s': expected uniform or zipf:S with S > 0 "
					    "(e.g. zipf:0.99)", a);
			break;
		case OPT_MIX:
			if (kbp_gen_parse_mix(a, o->mix) < 0)
				return fail(err, err_len, "--mix '%s': expected weights such as "
					    "put=80,get=15,cas=5", a);
			break;
		case OPT_TARGET:
			if (!parse_u64(a, 0, KBP_NODES_MAX - 1, &u))
				return fail(err, err_len, "--target '%s': expected a node id 0..%d", a,
					    KBP_NODES_MAX - 1);
			o->target = (int)u;
			break;
		case OPT_TIMEOUT:
			if (!parse_double(a, 0.01, 600000, &o->timeout_ms))
				return fail(err, err_len, "--timeout '%s': expected ms in 0.01..600000", a);
			break;
		case OPT_RETRIES:
			if (!parse_u64(a, 0, 1000, &u))
				return fail(err, err_len, "--retries '%s': expected 0..1000", a);
			o->retries = (uint32_t)u;
			break;
		case OPT_BUSY_BACKOFF:
			if (!parse_double(a, 0, 1e7, &o->busy_backoff_us))
				return fail(err, err_len, "--busy-backoff '%s': expected us in 0..1e7", a);
			break;
		case OPT_BATCH:
			if (!parse_u64(a, 1, 65536, &u))
				return fail(err, err_len, "--batch '%s': expected 1..65536", a);
			o->batch = (uint32_t)u;
			break;
		case OPT_SEED:
			if (!parse_u64(a, 0, UINT64_MAX, &o->seed))
				return fail(err, err_len, "--seed '%s': expected an integer", a);
			break;
		case OPT_OUT: o->out_dir = a; break;
		case OPT_LABEL:
			if (!*a || strpbrk(a, "/ \t'\"="))
				return fail(err, err_len, "--label '%s': expected a name without / = quotes "
					    "or spaces", a);
			o->label = a;
			break;
		case OPT_QUIET: o->quiet = true; break;
		case OPT_NO_PLOTS: o->no_plots = true; break;
		case OPT_CHECK: o->check = true; break;
		case OPT_CHECK_OPS:
			if (!parse_u64(a, 1, KBP_GEN_CHECK_OPS_MAX, &u))
				return fail(err, err_len, "--check-ops '%s': expected 1..%u", a,
					    KBP_GEN_CHECK_OPS_MAX);
			o->check_ops = (uint32_t)u;
			break;
		case OPT_CHECK_TIME:
			if (!parse_double(a, 0.001, 86400, &o->check_time_s))
				return fail(err, err_len, "--check-time '%s': expected seconds in 0.001..86400", a);
			break;
		case OPT_HELP:
		case 'h':
			kbp_gen_usage(argv[0]);
			return 1;
		default:
			return fail(err, err_len, "unknown or incomplete option '%s' (--help lists them)",
				    argv[optind - 1]);
		}
	}
	if (optind < argc)
		return fail(err, err_len, "unexpected argument '%s'", argv[optind]);
	if (o->rate > 0 && closed_set)
		return fail(err, err_len, "--rate (open loop) and --outstanding (closed loop) exclude "
			    "each other");
	/* Key indexes are written as key_size-1 decimal digits after the 'k'. */
	uint64_t room = 1;
	for (uint32_t i = 1; i < o->key_size && i < 20; i++)
		room *= 10;
	if (o->key_size - 1 < 20 && o->keys > room)
		return fail(err, err_len, "--keys %" PRIu64 " needs keys longer than --key-size %u",
			    o->keys, o->key_size);
	return o->check ? check_opts(o, room, err, err_len) : 0;
}

/* ---- Zipf by rejection-inversion ------------------------------------------------ */

/* log1p(x)/x and expm1(x)/x, continuous at 0. */
static double helper1(double x)
{
	return fabs(x) > 1e-8 ? log1p(x) / x : 1 - x * (0.5 - x * (1.0 / 3 - 0.25 * x));
}
static double helper2(double x)
{
	return fabs(x) > 1e-8 ? expm1(x) / x : 1 + x * 0.5 * (1 + x / 3 * (1 + 0.25 * x));
}

/* h(x) = x^-s and its integral H(x) = (x^(1-s) - 1) / (1 - s) (log x when s = 1). */
static double zh(double s, double x) { return exp(-s * log(x)); }
static double zH(double s, double x)
{
	double lx = log(x);
	return helper2((1 - s) * lx) * lx;
}
static double zH_inv(double s, double y)
{
	double t = y * (1 - s);
	if (t < -1)
		t = -1;   /* rounding near the left end */
	return exp(helper1(t) * y);
}

void kbp_zipf_init(struct kbp_zipf *z, uint64_t n, double s)
{
	z->n = n;
	z->s = s;
	z->h_x1 = zH(s, 1.5) - 1;
	z->h_n = zH(s, (double)n + 0.5);
	z->cut = 2 - zH_inv(s, zH(s, 2.5) - zh(s, 2));
}

uint64_t kbp_zipf_next(const struct kbp_zipf *z, struct kbp_rng *r)
{
	for (;;) {
		double u = z->h_n + kbp_rng_unit(r) * (z->h_x1 - z->h_n);
		double x = zH_inv(z->s, u);
		double kd = floor(x + 0.5);
		uint64_t k;
		if (kd < 1)
			k = 1;
		else if (kd > (double)z->n)
			k = z->n;
		else
			k = (uint64_t)kd;
		if ((double)k - x <= z->cut || u >= zH(z->s, (double)k + 0.5) - zh(z->s, (double)k))
			return k;
	}
}

/* ---- Workload ----------------------------------------------------------------- */

int kbp_gen_work_init(struct kbp_gen_work *w, const struct kbp_gen_opts *o)
{
	memset(w, 0, sizeof(*w));
	w->keys = o->keys;
	w->key_size = o->key_size;
	w->value_size = o->value_size;
	w->zipf = o->zipf_s > 0;
	if (w->zipf)
		kbp_zipf_init(&w->z, o->keys, o->zipf_s);
	for (unsigned op = 0; op < KBP_OP_COUNT; op++) {
		w->mix_total += op == KBP_OP_NOOP ? 0 : o->mix[op];
		w->mix_cum[op] = w->mix_total;
	}
	w->rng.state = o->seed * UINT64_C(0x2545F4914F6CDD1D) + 1;
	w->check = o->check;
	return w->mix_total > 0 ? 0 : -EINVAL;
}

void kbp_gen_work_set_nonce(struct kbp_gen_work *w, uint64_t nonce)
{
	uint64_t room = 1;                        /* 10^(key_size-1), at most 10^19 */
	for (uint32_t i = 1; i < w->key_size && i < 20; i++)
		room *= 10;
	uint64_t spaces = room / w->keys;

	w->nonce = nonce;
	/* Key range 1..spaces-1 of --keys each; range 0 is the one runs without --check use. */
	w->key_base = spaces > 1 ? (1 + nonce % (spaces - 1)) * w->keys : 0;
}

uint64_t kbp_gen_work_key(struct kbp_gen_work *w)
{
	if (w->zipf)
		return kbp_zipf_next(&w->z, &w->rng) - 1;
	/* Multiply-shift: uniform enough for any key count below 2^40. */
	return (uint64_t)(((unsigned __int128)kbp_rng_next(&w->rng) * w->keys) >> 64);
}

uint8_t kbp_gen_work_op(struct kbp_gen_work *w)
{
	uint32_t x = (uint32_t)(((kbp_rng_next(&w->rng) >> 32) * w->mix_total) >> 32);
	uint8_t op = KBP_OP_PUT;
	while (op < KBP_OP_CAS && x >= w->mix_cum[op])
		op++;
	return op;
}

uint32_t kbp_gen_cmd_size(const struct kbp_gen_work *w, uint8_t op)
{
	if (op == KBP_OP_REGISTER)
		return KBP_CMD_HDR_SIZE;
	uint32_t body = w->key_size;
	if (op == KBP_OP_PUT)
		body += w->value_size;
	else if (op == KBP_OP_CAS)
		body += 2 * w->value_size;
	return KBP_CMD_HDR_SIZE + kbp_pad8(body);
}

/* The value every PUT of key writes and every CAS expects (without --check). */
static void fill_value(uint8_t *p, uint32_t len, uint64_t key)
{
	uint64_t x = key * UINT64_C(0x9E3779B97F4A7C15) + 0x6b6270;
	for (uint32_t i = 0; i < len; i++)
		p[i] = (uint8_t)(x >> (8 * (i & 7))) ^ (uint8_t)i;
}

/* Byte i >= 16 of value id's bytes for key under --check. */
static inline uint8_t check_byte(uint64_t x, uint32_t i)
{
	return (uint8_t)(x >> (8 * (i & 7))) ^ (uint8_t)i;
}

static uint64_t check_mix(uint64_t key, uint64_t id)
{
	return (key + 1) * UINT64_C(0x9E3779B97F4A7C15) ^ id * UINT64_C(0xbf58476d1ce4e5b9);
}

/* --check: id, nonce, then a pattern of key and id. */
static void fill_check_value(const struct kbp_gen_work *w, uint8_t *p, uint32_t len, uint64_t key,
			     uint64_t id)
{
	uint64_t x = check_mix(key, id);
	kbp_le64_store(p, id);
	kbp_le64_store(p + 8, w->nonce);
	for (uint32_t i = KBP_GEN_CHECK_VALUE_MIN; i < len; i++)
		p[i] = check_byte(x, i);
}

uint64_t kbp_gen_value_id(const struct kbp_gen_work *w, uint64_t key, const uint8_t *v, uint32_t len)
{
	if (len != w->value_size || len < KBP_GEN_CHECK_VALUE_MIN || kbp_le64_load(v + 8) != w->nonce)
		return KBP_GEN_VALUE_FOREIGN;
	uint64_t id = kbp_le64_load(v), x = check_mix(key, id);
	for (uint32_t i = KBP_GEN_CHECK_VALUE_MIN; i < len; i++)
		if (v[i] != check_byte(x, i))
			return KBP_GEN_VALUE_FOREIGN;
	return id == 0 ? KBP_GEN_VALUE_FOREIGN : id;
}

static void key_digits(const struct kbp_gen_work *w, uint8_t *p, uint64_t key)
{
	uint64_t k = w->key_base + key;
	p[0] = 'k';
	for (uint32_t i = w->key_size - 1; i >= 1; i--) {
		p[i] = (uint8_t)('0' + k % 10);
		k /= 10;
	}
}

void kbp_gen_key_name(const struct kbp_gen_work *w, uint64_t key, char *buf, size_t len)
{
	uint8_t k[KBP_KEY_MAX];
	key_digits(w, k, key);
	snprintf(buf, len, "%.*s", (int)w->key_size, (const char *)k);
}

uint32_t kbp_gen_cmd_encode(const struct kbp_gen_work *w, uint8_t *buf, uint64_t client_id,
			    uint64_t seq, uint8_t op, uint64_t key, uint64_t exp, uint64_t val)
{
	uint32_t vlen = op == KBP_OP_GET ? 0 : w->value_size;
	uint32_t elen = op == KBP_OP_CAS ? w->value_size : 0;
	uint32_t body = w->key_size + elen + vlen;
	uint8_t *p = buf + KBP_CMD_HDR_SIZE;

	if (op == KBP_OP_REGISTER) {
		memset(buf, 0, KBP_CMD_HDR_SIZE);
		kbp_le64_store(buf, client_id);
		kbp_le64_store(buf + 8, seq);
		buf[16] = op;
		return KBP_CMD_HDR_SIZE;
	}
	kbp_le64_store(buf, client_id);
	kbp_le64_store(buf + 8, seq);
	buf[16] = op;
	buf[17] = (uint8_t)w->key_size;
	kbp_le16_store(buf + 18, (uint16_t)vlen);
	kbp_le16_store(buf + 20, (uint16_t)elen);
	kbp_le16_store(buf + 22, 0);
	/* Key: 'k' and key_size-1 decimal digits, most significant first. */
	key_digits(w, p, key);
	p += w->key_size;
	if (elen && w->check)
		fill_check_value(w, p, elen, key, exp);
	else if (elen)
		fill_value(p, elen, key);
	p += elen;
	if (vlen && w->check)
		fill_check_value(w, p, vlen, key, val);
	else if (vlen)
		fill_value(p, vlen, key);
	memset(buf + KBP_CMD_HDR_SIZE + body, 0, kbp_pad8(body) - body);
	return KBP_CMD_HDR_SIZE + kbp_pad8(body);
}
