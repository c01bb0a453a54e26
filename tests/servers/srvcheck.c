// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * srvcheck: an integrity client for the real-server scenarios.
 *
 *   srvcheck --proto redis|memcached --port P [--conns N] [--keys K]
 *            [--mode keepalive|close] [--value-max B] [--timeout S] [--max-time S]
 *   srvcheck --proto http --port P [--conns N] [--requests K] [--path /x]
 *            (--expect-body TEXT | --expect-file F) [--mode ...]
 *
 * redis / memcached: each of N threads writes K/N distinct keys (values of
 * pseudo-random length and content, derived from the key and a per-run
 * seed), then reads every one back and compares it byte for byte, then asks
 * for one key nobody wrote and expects a miss.  http: each thread sends its
 * share of K GETs and checks the status (200) and the body byte for byte.
 * --mode close opens a new connection per request (connection-per-request
 * traffic, which is where servers call epoll_ctl); keepalive keeps one
 * connection per thread.
 *
 * Talks to 127.0.0.1 only; every operation has a timeout (--timeout, 2 s)
 * and the whole run a deadline (--max-time, 60 s).  Prints one JSON object
 * in epbatch-load's shape (requests, errors, duration_s, rps) plus
 * "mismatches" and the first problem seen, and exits 0 only when there were
 * no errors and no mismatches (1 otherwise, 2 for bad usage).
 *
 * --duration S makes it a load generator instead: each thread sets, gets and
 * compares key after key (HTTP: GETs) until S seconds have passed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 64
#define MAX_KEYS 10000000L
#define MAX_VALUE (1 << 20)
#define MAX_BODY (64 << 20)
#define BUF_SIZE 65536

enum proto { P_REDIS, P_MEMCACHED, P_HTTP };

static struct {
	enum proto proto;
	int port, conns;
	long keys;
	int close_mode;
	size_t value_max;
	double timeout, max_time;
	const char *path;
	char *body;
	size_t body_len;
	uint64_t seed;
} opt = { .conns = 4, .keys = 2000, .value_max = 2048, .timeout = 2, .max_time = 60, .path = "/" };

static atomic_long n_requests, n_errors, n_mismatches;
static pthread_mutex_t first_lock = PTHREAD_MUTEX_INITIALIZER;
static char first_problem[256];
static double deadline, load_until;	/* load_until: --duration (0: none) */

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Counts a problem (an error or a mismatch) and keeps the first one's text. */
static void problem(atomic_long *counter, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void problem(atomic_long *counter, const char *fmt, ...)
{
	va_list ap;

	atomic_fetch_add(counter, 1);
	pthread_mutex_lock(&first_lock);
	if (!first_problem[0]) {
		va_start(ap, fmt);
		vsnprintf(first_problem, sizeof(first_problem), fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&first_lock);
}

struct conn {
	int fd;
	size_t off, len;	/* unread bytes: buf[off, len) */
	char buf[BUF_SIZE];
	char why[96];		/* what failed last */
};

static int conn_open(struct conn *c)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(opt.port) };
	struct timeval tv = { .tv_sec = (time_t)opt.timeout,
			      .tv_usec = (suseconds_t)((opt.timeout - (time_t)opt.timeout) * 1e6) };
	int one = 1;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	c->off = c->len = 0;
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0 ||
	    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	    setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) ||
	    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) ||
	    connect(c->fd, (struct sockaddr *)&sa, sizeof(sa))) {
		snprintf(c->why, sizeof(c->why), "connect: %s", strerror(errno));
		if (c->fd >= 0)
			close(c->fd);
		c->fd = -1;
		return -1;
	}
	return 0;
}

static void conn_close(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

static int send_all(struct conn *c, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			snprintf(c->why, sizeof(c->why), "send: %s", w < 0 ? strerror(errno) : "closed");
			return -1;
		}
		p += w;
		n -= w;
	}
	return 0;
}

static int fill(struct conn *c)
{
	ssize_t r;

	if (c->off == c->len)
		c->off = c->len = 0;
	if (c->len == sizeof(c->buf)) {
		memmove(c->buf, c->buf + c->off, c->len - c->off);
		c->len -= c->off;
		c->off = 0;
	}
	do
		r = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
	while (r < 0 && errno == EINTR);
	if (r <= 0) {
		snprintf(c->why, sizeof(c->why), "recv: %s",
			 r == 0 ? "connection closed" : errno == EAGAIN ? "timeout" : strerror(errno));
		return -1;
	}
	c->len += r;
	return 0;
}

/* One line without its CRLF into out (at most n - 1 bytes). */
static int read_line(struct conn *c, char *out, size_t n)
{
	for (;;) {
		char *nl = memchr(c->buf + c->off, '\n', c->len - c->off);

		if (nl) {
			size_t len = nl - (c->buf + c->off);

			if (len && nl[-1] == '\r')
				len--;
			if (len >= n) {
				snprintf(c->why, sizeof(c->why), "line longer than %zu bytes", n - 1);
				return -1;
			}
			memcpy(out, c->buf + c->off, len);
			out[len] = '\0';
			c->off = nl + 1 - c->buf;
			return 0;
		}
		if (c->off == 0 && c->len == sizeof(c->buf)) {
			snprintf(c->why, sizeof(c->why), "line longer than the buffer");
			return -1;
		}
		if (c->off) {
			memmove(c->buf, c->buf + c->off, c->len - c->off);
			c->len -= c->off;
			c->off = 0;
		}
		if (fill(c))
			return -1;
	}
}

/* Exactly n bytes into out. */
static int read_n(struct conn *c, char *out, size_t n)
{
	while (n) {
		size_t k;

		if (c->off == c->len && fill(c))
			return -1;
		k = c->len - c->off < n ? c->len - c->off : n;
		memcpy(out, c->buf + c->off, k);
		c->off += k;
		out += k;
		n -= k;
	}
	return 0;
}

/* splitmix64: the value of key i is a pure function of (seed, i). */
static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static size_t make_value(long i, char *out)
{
	uint64_t h = mix(opt.seed ^ (uint64_t)i);
	size_t len = 1 + h % opt.value_max;

	for (size_t k = 0; k < len; k++) {
		if (k % 8 == 0)
			h = mix(h);
		out[k] = 'a' + (h >> (8 * (k % 8))) % 26;
	}
	return len;
}

static int make_key(long i, char *out, size_t n)
{
	return snprintf(out, n, "epb:%llx:%ld", (unsigned long long)opt.seed, i);
}

/* Builds the request for a set (val != NULL) or a get of key into req. */
static size_t kv_request(char *req, size_t n, const char *key, const char *val, size_t vlen)
{
	size_t klen = strlen(key), len;

	if (!val)
		return opt.proto == P_REDIS ? snprintf(req, n, "*2\r\n$3\r\nGET\r\n$%zu\r\n%s\r\n", klen, key)
					    : snprintf(req, n, "get %s\r\n", key);
	if (opt.proto == P_REDIS)
		len = snprintf(req, n, "*3\r\n$3\r\nSET\r\n$%zu\r\n%s\r\n$%zu\r\n", klen, key, vlen);
	else
		len = snprintf(req, n, "set %s 0 0 %zu\r\n", key, vlen);
	memcpy(req + len, val, vlen);
	memcpy(req + len + vlen, "\r\n", 2);
	return len + vlen + 2;
}

/*
 * Reads a get's answer: 1 and the value in out (its length in *vlen) on a
 * hit, 0 on a miss, -1 on a protocol or I/O error.
 */
static int kv_get_reply(struct conn *c, char *out, size_t *vlen)
{
	char line[512], crlf[2];
	long len;
	unsigned flags;

	if (read_line(c, line, sizeof(line)))
		return -1;
	if (opt.proto == P_REDIS) {
		if (!strcmp(line, "$-1"))
			return 0;
		if (sscanf(line, "$%ld", &len) != 1 || len < 0 || len > MAX_VALUE)
			goto bad;
	} else {
		if (!strcmp(line, "END"))
			return 0;
		if (sscanf(line, "VALUE %*s %u %ld", &flags, &len) != 2 || len < 0 || len > MAX_VALUE)
			goto bad;
	}
	if (read_n(c, out, len) || read_n(c, crlf, 2))
		return -1;
	*vlen = len;
	if (memcmp(crlf, "\r\n", 2))
		goto bad;
	if (opt.proto == P_MEMCACHED) {
		if (read_line(c, line, sizeof(line)))
			return -1;
		if (strcmp(line, "END"))
			goto bad;
	}
	return 1;
bad:
	snprintf(c->why, sizeof(c->why), "unexpected reply '%.60s'", line);
	return -1;
}

/* One request on c (opened first in close mode); 0, or -1 counted as an error. */
static int kv_op(struct conn *c, long i, int set, char *val, char *got, char *req)
{
	char key[64], line[512];
	size_t vlen = make_value(i, val), glen = 0, rlen;
	int rc;

	make_key(i, key, sizeof(key));
	rlen = kv_request(req, MAX_VALUE + 256, key, set ? val : NULL, vlen);
	if ((c->fd < 0 && conn_open(c)) || send_all(c, req, rlen))
		goto err;
	if (set) {
		if (read_line(c, line, sizeof(line)))
			goto err;
		if (strcmp(line, opt.proto == P_REDIS ? "+OK" : "STORED")) {
			snprintf(c->why, sizeof(c->why), "set: unexpected reply '%.60s'", line);
			goto err;
		}
	} else {
		rc = kv_get_reply(c, got, &glen);
		if (rc < 0)
			goto err;
		if (i < 0 && rc)	/* the key nobody wrote */
			problem(&n_mismatches, "key %s: a value for a key never written", key);
		else if (i >= 0 && !rc)
			problem(&n_mismatches, "key %s: missing", key);
		else if (i >= 0 && (glen != vlen || memcmp(got, val, vlen)))
			problem(&n_mismatches, "key %s: %zu bytes back, %zu written, or different bytes",
				key, glen, vlen);
	}
	atomic_fetch_add(&n_requests, 1);
	if (opt.close_mode)
		conn_close(c);
	return 0;
err:
	problem(&n_errors, "%s key %s: %s", set ? "set" : "get", key, c->why);
	conn_close(c);
	return -1;
}

static int http_op(struct conn *c, char *got)
{
	char req[512], line[1024];
	int status = 0, chunked = 0;
	long clen = -1;
	size_t rlen;

	rlen = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s\r\n", opt.path,
			opt.close_mode ? "Connection: close\r\n" : "");
	if ((c->fd < 0 && conn_open(c)) || send_all(c, req, rlen) || read_line(c, line, sizeof(line)))
		goto err;
	if (sscanf(line, "HTTP/1.%*d %d", &status) != 1) {
		snprintf(c->why, sizeof(c->why), "bad status line '%.60s'", line);
		goto err;
	}
	for (;;) {
		if (read_line(c, line, sizeof(line)))
			goto err;
		if (!line[0])
			break;
		if (!strncasecmp(line, "Content-Length:", 15))
			clen = strtol(line + 15, NULL, 10);
		else if (!strncasecmp(line, "Transfer-Encoding:", 18) && strcasestr(line, "chunked"))
			chunked = 1;
	}
	if (chunked || clen < 0 || clen > MAX_BODY) {
		snprintf(c->why, sizeof(c->why), "status %d with no usable Content-Length", status);
		goto err;
	}
	if (read_n(c, got, clen))
		goto err;
	if (status != 200) {
		snprintf(c->why, sizeof(c->why), "status %d", status);
		goto err;
	}
	if ((size_t)clen != opt.body_len || memcmp(got, opt.body, clen))
		problem(&n_mismatches, "GET %s: a %ld-byte body that is not the expected %zu bytes",
			opt.path, clen, opt.body_len);
	atomic_fetch_add(&n_requests, 1);
	if (opt.close_mode)
		conn_close(c);
	return 0;
err:
	problem(&n_errors, "GET %s: %s", opt.path, c->why);
	conn_close(c);
	return -1;
}

struct worker {
	pthread_t tid;
	long first, last;	/* keys [first, last) or requests */
};

static void *run_worker(void *arg)
{
	struct worker *w = arg;
	struct conn *c = calloc(1, sizeof(*c));
	char *val = malloc(MAX_VALUE), *got = malloc(opt.proto == P_HTTP ? MAX_BODY : MAX_VALUE);
	char *req = malloc(MAX_VALUE + 256);

	if (!c || !val || !got || !req) {
		problem(&n_errors, "out of memory");
		goto out;
	}
	c->fd = -1;
	if (load_until) {
		/* --duration: a load generator; set, get and compare key after key */
		for (long i = w->first; now() < load_until; i = i + 1 < w->last ? i + 1 : w->first) {
			if (opt.proto == P_HTTP)
				http_op(c, got);
			else if (!kv_op(c, i, 1, val, got, req))
				kv_op(c, i, 0, val, got, req);
		}
		goto out;
	}
	for (long i = w->first; i < w->last && now() < deadline; i++) {
		if (opt.proto == P_HTTP)
			http_op(c, got);
		else
			kv_op(c, i, 1, val, got, req);
	}
	if (opt.proto != P_HTTP) {
		for (long i = w->first; i < w->last && now() < deadline; i++)
			kv_op(c, i, 0, val, got, req);
		kv_op(c, -1 - (w->first), 0, val, got, req);
	}
	if (now() >= deadline)
		problem(&n_errors, "--max-time %.0f s reached before the work was done", opt.max_time);
out:
	if (c)
		conn_close(c);
	free(c);
	free(val);
	free(got);
	free(req);
	return NULL;
}

static int load_body(const char *file)
{
	FILE *f = fopen(file, "r");
	long n;

	if (!f)
		return -1;
	if (fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || n > MAX_BODY || fseek(f, 0, SEEK_SET)) {
		fclose(f);
		return -1;
	}
	opt.body = malloc(n + 1);
	if (!opt.body || fread(opt.body, 1, n, f) != (size_t)n) {
		fclose(f);
		return -1;
	}
	opt.body_len = n;
	fclose(f);
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: srvcheck --proto redis|memcached|http --port P [--conns N] [--keys K|--requests K]\n"
		"                [--mode keepalive|close] [--value-max B] [--timeout S] [--max-time S]\n"
		"                [--duration S (a load generator: runs S seconds)]\n"
		"                [--path /x (--expect-body TEXT | --expect-file F)]\n");
}

static int bad(const char *what, const char *arg)
{
	fprintf(stderr, "srvcheck: bad %s '%s'\n", what, arg);
	return 2;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "proto", 1, 0, 'P' }, { "port", 1, 0, 'p' }, { "conns", 1, 0, 'c' },
		{ "keys", 1, 0, 'k' }, { "requests", 1, 0, 'k' }, { "mode", 1, 0, 'm' },
		{ "value-max", 1, 0, 'v' }, { "timeout", 1, 0, 't' }, { "max-time", 1, 0, 'T' },
		{ "path", 1, 0, 'u' }, { "expect-body", 1, 0, 'b' }, { "expect-file", 1, 0, 'f' },
		{ "duration", 1, 0, 'd' }, { "help", 0, 0, 'h' }, { 0, 0, 0, 0 }
	};
	struct worker w[MAX_CONNS];
	int ch, have_proto = 0;
	char *end;
	double t0, secs;

	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 'P':
			have_proto = 1;
			if (!strcmp(optarg, "redis"))
				opt.proto = P_REDIS;
			else if (!strcmp(optarg, "memcached"))
				opt.proto = P_MEMCACHED;
			else if (!strcmp(optarg, "http"))
				opt.proto = P_HTTP;
			else
				return bad("--proto", optarg);
			break;
		case 'p':
			opt.port = strtol(optarg, &end, 10);
			if (*end || opt.port < 1 || opt.port > 65535)
				return bad("--port", optarg);
			break;
		case 'c':
			opt.conns = strtol(optarg, &end, 10);
			if (*end || opt.conns < 1 || opt.conns > MAX_CONNS)
				return bad("--conns (1..64)", optarg);
			break;
		case 'k':
			opt.keys = strtol(optarg, &end, 10);
			if (*end || opt.keys < 1 || opt.keys > MAX_KEYS)
				return bad("--keys/--requests (1..10000000)", optarg);
			break;
		case 'm':
			if (strcmp(optarg, "keepalive") && strcmp(optarg, "close"))
				return bad("--mode (keepalive or close)", optarg);
			opt.close_mode = !strcmp(optarg, "close");
			break;
		case 'v':
			opt.value_max = strtoul(optarg, &end, 10);
			if (*end || opt.value_max < 1 || opt.value_max > MAX_VALUE)
				return bad("--value-max (1..1048576)", optarg);
			break;
		case 'd':
			load_until = strtod(optarg, &end);
			if (*end || !(load_until > 0 && load_until <= 600))
				return bad("--duration (0..600 s)", optarg);
			break;
		case 't':
		case 'T':
			secs = strtod(optarg, &end);
			if (*end || !(secs > 0 && secs <= 600))
				return bad(ch == 't' ? "--timeout (0..600 s)" : "--max-time (0..600 s)", optarg);
			*(ch == 't' ? &opt.timeout : &opt.max_time) = secs;
			break;
		case 'u':
			if (optarg[0] != '/' || strlen(optarg) > 256 || strpbrk(optarg, " \r\n"))
				return bad("--path", optarg);
			opt.path = optarg;
			break;
		case 'b':
			free(opt.body);
			opt.body = strdup(optarg);
			opt.body_len = strlen(optarg);
			break;
		case 'f':
			free(opt.body);
			opt.body = NULL;
			if (load_body(optarg))
				return bad("--expect-file (unreadable or over 64 MiB)", optarg);
			break;
		case 'h':
			usage();
			return 0;
		default:
			usage();
			return 2;
		}
	}
	if (optind < argc)
		return bad("argument", argv[optind]);
	if (!have_proto || !opt.port) {
		fprintf(stderr, "srvcheck: --proto and --port are required\n");
		return 2;
	}
	if (opt.proto == P_HTTP && !opt.body) {
		fprintf(stderr, "srvcheck: http needs --expect-body or --expect-file\n");
		return 2;
	}
	if (opt.conns > opt.keys)
		opt.conns = opt.keys;
	opt.seed = mix((uint64_t)getpid() << 32 ^ (uint64_t)time(NULL));
	t0 = now();
	deadline = t0 + opt.max_time;
	if (load_until)
		load_until += t0;
	for (int i = 0; i < opt.conns; i++) {
		w[i].first = opt.keys * i / opt.conns;
		w[i].last = opt.keys * (i + 1) / opt.conns;
		if (pthread_create(&w[i].tid, NULL, run_worker, &w[i])) {
			fprintf(stderr, "srvcheck: pthread_create failed\n");
			return 1;
		}
	}
	for (int i = 0; i < opt.conns; i++)
		pthread_join(w[i].tid, NULL);
	secs = now() - t0;
	printf("{\"requests\": %ld, \"errors\": %ld, \"mismatches\": %ld, \"duration_s\": %.3f, "
	       "\"rps\": %.1f, \"mode\": \"%s\", \"connections\": %d, \"port\": %d",
	       atomic_load(&n_requests), atomic_load(&n_errors), atomic_load(&n_mismatches), secs,
	       atomic_load(&n_requests) / secs, opt.close_mode ? "close" : "keepalive", opt.conns, opt.port);
	if (first_problem[0]) {
		printf(", \"first_problem\": \"");
		for (const char *p = first_problem; *p; p++) {
			if (*p == '"' || *p == '\\')
				putchar('\\');
			putchar((unsigned char)*p < 0x20 ? '?' : *p);
		}
		printf("\"");
	}
	printf("}\n");
	free(opt.body);
	return atomic_load(&n_errors) || atomic_load(&n_mismatches) ? 1 : 0;
}
