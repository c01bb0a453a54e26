/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * epbatch-load: the reference workload's load generator.
 *
 * Opens --connections connections to 127.0.0.1 (nothing else, ever), spread
 * over --threads threads that each run their own epoll loop, and keeps one
 * request in flight on each: keep-alive (the next request as soon as the
 * answer is in) or close (a new connection per request, "Connection:
 * close").  It stops at --duration or after --requests, whichever comes
 * first, and writes one JSON object: requests, errors by kind, rps, latency
 * percentiles from a log-bucketed histogram, and its own CPU time, because
 * it shares the machine with the server it measures.
 *
 * Cheap by design, so the server stays the bottleneck: each connection is
 * registered once (edge-triggered EPOLLIN|EPOLLOUT: no MOD ever), a
 * response is normally one read, and the clock is read twice per request.
 */
#include "common.h"
#include "hist.h"
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_CONNECTIONS 20000
#define MAX_THREADS 64
#define MAX_DURATION 600.0	/* seconds: no run is unbounded */
#define MAX_EVENTS 256
#define SCAN_NS 10000000u	/* timeouts and retries are checked every 10 ms */
#define RETRY_NS 10000000u	/* wait after a failed connect before the next */

enum load_mode { LOAD_KEEPALIVE, LOAD_CLOSE };
static const char *const load_mode_names[] = { "keepalive", "close" };

/* What went wrong with a request; the JSON's "error_kinds" keys. */
enum err_kind { E_CONNECT, E_RESET, E_SHORT, E_INVALID, E_STATUS, E_TIMEOUT, E_KINDS };
static const char *const err_names[] = { "connect", "reset", "short", "invalid", "status", "timeout" };

struct options {
	int port;
	int connections;
	int threads;
	double duration;
	long long max_requests;	/* 0: no cap */
	double timeout;
	enum load_mode mode;
	const char *out;
};

enum conn_state { C_IDLE, C_CONNECTING, C_WAITING, C_DONE };

struct lconn {
	int fd;
	enum conn_state state;
	uint64_t start_ns;	/* when the request in flight began */
	uint64_t retry_ns;	/* C_IDLE: when to try again */
	size_t in_len;
	char in[HTTP_MAX_HEADER + 512];
};

struct lthread {
	pthread_t thread;
	int epfd;
	int nconns;
	int done;		/* connections in C_DONE: the budget is spent for them */
	struct lconn *conns;
	struct hist hist;
	uint64_t requests;
	uint64_t errors[E_KINDS];
	int failed_errno;	/* a set-up failure (epoll_create1), 0 if none */
};

static struct options opt;
static struct sockaddr_in target;
static char request[256];
static size_t request_len;
static uint64_t deadline_ns, timeout_ns;
static atomic_llong claimed;	/* requests handed out, against --requests */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: epbatch-load --port P [--host 127.0.0.1] [--connections N] [--threads M]\n"
		"                    [--duration S] [--requests N] [--mode keepalive|close]\n"
		"                    [--timeout S] [--out FILE|-]\n"
		"  --port P         server port on 127.0.0.1 (required)\n"
		"  --host H         127.0.0.1 or localhost; any other address is refused\n"
		"  --connections N  concurrent connections, one request in flight each (default 32)\n"
		"  --threads M      load threads, each with its own epoll loop (default 1)\n"
		"  --duration S     run time in seconds, at most 600 (default 5)\n"
		"  --requests N     stop after N requests in all (the duration still bounds it)\n"
		"  --mode M         keepalive (default) or close: a new connection per request\n"
		"  --timeout S      per-request timeout, counted as an error (default 2)\n"
		"  --out FILE       where the JSON goes, - for stdout (default -)\n");
}

static void parse_args(int argc, char **argv)
{
	enum { O_PORT = 256, O_HOST, O_CONNS, O_THREADS, O_DURATION, O_REQUESTS, O_MODE,
	       O_TIMEOUT, O_OUT, O_HELP };
	static const struct option longopts[] = {
		{ "port", required_argument, NULL, O_PORT },
		{ "host", required_argument, NULL, O_HOST },
		{ "connections", required_argument, NULL, O_CONNS },
		{ "threads", required_argument, NULL, O_THREADS },
		{ "duration", required_argument, NULL, O_DURATION },
		{ "requests", required_argument, NULL, O_REQUESTS },
		{ "mode", required_argument, NULL, O_MODE },
		{ "timeout", required_argument, NULL, O_TIMEOUT },
		{ "out", required_argument, NULL, O_OUT },
		{ "help", no_argument, NULL, O_HELP },
		{ NULL, 0, NULL, 0 }
	};
	const char *host = "127.0.0.1";
	int c;

	opt.connections = 32;
	opt.threads = 1;
	opt.duration = 5;
	opt.timeout = 2;
	opt.mode = LOAD_KEEPALIVE;
	opt.out = "-";

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (c) {
		case O_PORT:
			opt.port = (int)bench_parse_long("--port", optarg, 1, 65535);
			break;
		case O_HOST:
			host = optarg;
			break;
		case O_CONNS:
			opt.connections = (int)bench_parse_long("--connections", optarg, 1, MAX_CONNECTIONS);
			break;
		case O_THREADS:
			opt.threads = (int)bench_parse_long("--threads", optarg, 1, MAX_THREADS);
			break;
		case O_DURATION:
			opt.duration = bench_parse_seconds("--duration", optarg, 0.01, MAX_DURATION);
			break;
		case O_REQUESTS:
			opt.max_requests = bench_parse_long("--requests", optarg, 1, 1000000000000L);
			break;
		case O_MODE:
			if (strcmp(optarg, "keepalive") == 0)
				opt.mode = LOAD_KEEPALIVE;
			else if (strcmp(optarg, "close") == 0)
				opt.mode = LOAD_CLOSE;
			else
				bench_die("invalid --mode '%s': expected keepalive or close", optarg);
			break;
		case O_TIMEOUT:
			opt.timeout = bench_parse_seconds("--timeout", optarg, 0.001, MAX_DURATION);
			break;
		case O_OUT:
			opt.out = optarg;
			break;
		case 'h':
		case O_HELP:
			usage(stdout);
			exit(0);
		case ':':
			bench_die("option '%s' needs a value (see --help)", argv[optind - 1]);
		default:
			bench_die("unknown option '%s' (see --help)", argv[optind - 1]);
		}
	}
	if (optind < argc)
		bench_die("unexpected argument '%s' (see --help)", argv[optind]);
	/* The load only ever goes to this machine's loopback: compare the text,
	 * not a resolved address, so nothing (no resolver, no 127.0.0.2) can
	 * widen it. */
	if (strcmp(host, "127.0.0.1") != 0 && strcmp(host, "localhost") != 0)
		bench_die("refusing to send load to '%s': only 127.0.0.1 (localhost) is allowed", host);
	if (opt.port == 0)
		bench_die("--port is required (see --help)");
	if (opt.threads > opt.connections)
		bench_die("--threads %d is more than --connections %d: every thread needs a connection",
			  opt.threads, opt.connections);
}

/* ---- one connection ---- */

/* Take one request from the --requests budget; 0 when it is spent. */
static int claim_request(void)
{
	if (opt.max_requests == 0)
		return 1;
	return atomic_fetch_add(&claimed, 1) < opt.max_requests;
}

static void conn_drop(struct lconn *c)
{
	/* close() takes the fd out of the epoll set: no DEL needed. */
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->in_len = 0;
}

static void send_request(struct lthread *t, struct lconn *c);
static void conn_fail(struct lthread *t, struct lconn *c, enum err_kind kind, uint64_t now);

/*
 * Start the next request on C: take one from the budget, connect first if
 * C has no open connection, then send.  The latency clock starts here, so a
 * request that needs a connection pays for it (as in close mode it must).
 */
static void begin_request(struct lthread *t, struct lconn *c, uint64_t now)
{
	if (!claim_request()) {
		conn_drop(c);
		c->state = C_DONE;
		t->done++;
		return;
	}
	c->start_ns = now;
	if (c->fd >= 0) {
		send_request(t, c);
		return;
	}

	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		conn_fail(t, c, E_CONNECT, now);
		return;
	}
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLET, .data.ptr = c };
	if (epoll_ctl(t->epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
		conn_fail(t, c, E_CONNECT, now);
		return;
	}
	if (connect(c->fd, (struct sockaddr *)&target, sizeof(target)) == 0) {
		send_request(t, c);
	} else if (errno == EINPROGRESS) {
		c->state = C_CONNECTING;	/* EPOLLOUT says when it is done */
	} else {
		conn_fail(t, c, E_CONNECT, now);
	}
}

/*
 * Count an error, close, and leave the retry to the next scan: within
 * SCAN_NS, or after RETRY_NS for a failed connect so that a server that is
 * down is not hammered in a tight loop.  (Retrying from here could recurse
 * without bound against a server that resets every connection.)
 */
static void conn_fail(struct lthread *t, struct lconn *c, enum err_kind kind, uint64_t now)
{
	t->errors[kind]++;
	conn_drop(c);
	c->state = C_IDLE;
	c->retry_ns = now + (kind == E_CONNECT ? RETRY_NS : 0);
}

static void send_request(struct lthread *t, struct lconn *c)
{
	ssize_t n;

	c->state = C_WAITING;
	c->in_len = 0;
	do
		n = write(c->fd, request, request_len);
	while (n < 0 && errno == EINTR);
	/* A fresh or idle socket always takes a ~100-byte request whole. */
	if (n != (ssize_t)request_len)
		conn_fail(t, c, n < 0 && errno != EPIPE && errno != ECONNRESET ? E_CONNECT : E_RESET,
			  bench_now_ns());
}

/* A whole response is in: check it, record it, start the next request. */
static void complete(struct lthread *t, struct lconn *c, const struct http_msg *m, uint64_t now)
{
	if (m->length != c->in_len) {
		/* Bytes nobody asked for: the server is broken. */
		conn_fail(t, c, E_INVALID, now);
		return;
	}
	if (m->status < 200 || m->status > 299) {
		conn_fail(t, c, E_STATUS, now);
		return;
	}
	hist_add(&t->hist, now - c->start_ns);
	t->requests++;
	if (!m->keep_alive || opt.mode == LOAD_CLOSE)
		conn_drop(c);
	begin_request(t, c, now);
}

static void on_readable(struct lthread *t, struct lconn *c)
{
	for (;;) {
		size_t room = sizeof(c->in) - c->in_len;
		ssize_t n = read(c->fd, c->in + c->in_len, room);
		uint64_t now;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		now = bench_now_ns();
		if (n < 0) {
			conn_fail(t, c, E_RESET, now);
			return;
		}
		if (n == 0) {
			/* EOF before a whole response: cut short or closed unasked. */
			conn_fail(t, c, c->in_len ? E_SHORT : E_RESET, now);
			return;
		}
		c->in_len += (size_t)n;

		struct http_msg m;
		int r = http_parse_response(c->in, c->in_len, &m);
		if (r < 0 || (r == 0 && c->in_len == sizeof(c->in))) {
			conn_fail(t, c, E_INVALID, now);
			return;
		}
		if (r > 0) {
			complete(t, c, &m, now);
			return;
		}
		/*
		 * Partial: read again until EAGAIN.  Edge-triggered epoll
		 * reports an arrival once: when the peer's FIN came with the
		 * data, this edge was the last, and only another read sees the
		 * EOF (otherwise a cut-short response would end as a timeout).
		 */
	}
}

static void on_event(struct lthread *t, struct lconn *c, uint32_t ev)
{
	if (c->state == C_CONNECTING) {
		int err = 0;
		socklen_t len = sizeof(err);

		if (!(ev & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
			return;
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err != 0) {
			conn_fail(t, c, E_CONNECT, bench_now_ns());
			return;
		}
		send_request(t, c);
		return;
	}
	if (c->state == C_WAITING && (ev & (EPOLLIN | EPOLLERR | EPOLLHUP)))
		on_readable(t, c);
}

/* Every SCAN_NS: time out requests that took too long, retry idle ones. */
static void scan(struct lthread *t, uint64_t now)
{
	for (int i = 0; i < t->nconns; i++) {
		struct lconn *c = &t->conns[i];

		if ((c->state == C_WAITING || c->state == C_CONNECTING) && now - c->start_ns > timeout_ns)
			conn_fail(t, c, E_TIMEOUT, now);
		else if (c->state == C_IDLE && now >= c->retry_ns)
			begin_request(t, c, now);
	}
}

static void *thread_main(void *arg)
{
	struct lthread *t = arg;
	struct epoll_event events[MAX_EVENTS];
	uint64_t now = bench_now_ns(), next_scan = now + SCAN_NS;

	t->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (t->epfd < 0) {
		t->failed_errno = errno;
		return NULL;
	}
	for (int i = 0; i < t->nconns; i++)
		begin_request(t, &t->conns[i], now);

	/* Until the deadline, or until the --requests budget is spent and
	 * every connection has its last answer. */
	while (now < deadline_ns && t->done < t->nconns) {
		uint64_t until = next_scan < deadline_ns ? next_scan : deadline_ns;
		int ms = (int)((until - now + 999999) / 1000000);
		int n = epoll_wait(t->epfd, events, MAX_EVENTS, ms);

		if (n < 0 && errno != EINTR) {
			t->failed_errno = errno;
			break;
		}
		for (int i = 0; i < n; i++)
			on_event(t, events[i].data.ptr, events[i].events);
		now = bench_now_ns();
		if (now >= next_scan) {
			scan(t, now);
			next_scan = now + SCAN_NS;
		}
	}
	/* Requests still in flight at the deadline are neither answers nor
	 * errors: they are simply not counted. */
	for (int i = 0; i < t->nconns; i++)
		conn_drop(&t->conns[i]);
	close(t->epfd);
	return NULL;
}

/* ---- results ---- */

static double tv_seconds(struct timeval a, struct timeval b)
{
	return (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_usec - a.tv_usec) / 1e6;
}

static void report(struct lthread *ts, double seconds, const struct rusage *ru0, const struct rusage *ru1)
{
	struct hist *h = malloc(sizeof(*h));
	uint64_t requests = 0, errors = 0, kinds[E_KINDS] = { 0 };
	struct bench_buf b = { 0 };

	if (!h)
		bench_die("out of memory");
	hist_init(h);
	for (int i = 0; i < opt.threads; i++) {
		hist_merge(h, &ts[i].hist);
		requests += ts[i].requests;
		for (int k = 0; k < E_KINDS; k++) {
			kinds[k] += ts[i].errors[k];
			errors += ts[i].errors[k];
		}
	}
	bench_buf_printf(&b,
			 "{\"requests\": %llu, \"errors\": %llu, \"duration_s\": %.3f, \"rps\": %.1f, "
			 "\"latency_us\": {\"p50\": %.1f, \"p90\": %.1f, \"p99\": %.1f, \"p999\": %.1f, "
			 "\"max\": %.1f, \"mean\": %.1f}, "
			 "\"cpu_s\": {\"user\": %.3f, \"sys\": %.3f}, "
			 "\"connections\": %d, \"threads\": %d, \"mode\": \"%s\", \"port\": %d, "
			 "\"error_kinds\": {",
			 (unsigned long long)requests, (unsigned long long)errors, seconds,
			 seconds > 0 ? (double)requests / seconds : 0.0,
			 hist_quantile(h, 0.50) / 1e3, hist_quantile(h, 0.90) / 1e3,
			 hist_quantile(h, 0.99) / 1e3, hist_quantile(h, 0.999) / 1e3,
			 h->max / 1e3, hist_mean(h) / 1e3,
			 tv_seconds(ru0->ru_utime, ru1->ru_utime), tv_seconds(ru0->ru_stime, ru1->ru_stime),
			 opt.connections, opt.threads, load_mode_names[opt.mode], opt.port);
	for (int k = 0; k < E_KINDS; k++)
		bench_buf_printf(&b, "%s\"%s\": %llu", k ? ", " : "", err_names[k],
				 (unsigned long long)kinds[k]);
	bench_buf_printf(&b, "}}\n");
	free(h);

	if (bench_write_file(opt.out, b.s, b.len) < 0) {
		fprintf(stderr, "%s: cannot write %s: %s\n", bench_prog, opt.out, strerror(errno));
		bench_buf_free(&b);
		exit(1);
	}
	bench_buf_free(&b);
	/* A run where nothing got through measured nothing: say so and fail,
	 * so a runner cannot mistake it for a slow server. */
	if (requests == 0) {
		int worst = 0;

		for (int k = 1; k < E_KINDS; k++)
			if (kinds[k] > kinds[worst])
				worst = k;
		if (errors)
			fprintf(stderr, "%s: no request succeeded (%llu errors, mostly %s) on 127.0.0.1:%d\n",
				bench_prog, (unsigned long long)errors, err_names[worst], opt.port);
		else
			fprintf(stderr, "%s: no request completed on 127.0.0.1:%d within %.3g s\n",
				bench_prog, opt.port, opt.duration);
		exit(1);
	}
}

/* Enough fds for every connection plus slack, if the hard limit allows. */
static void raise_fd_limit(void)
{
	struct rlimit rl;
	rlim_t want = (rlim_t)opt.connections + 64;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < want) {
		rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int main(int argc, char **argv)
{
	struct lthread *ts;
	struct lconn *conns;
	struct rusage ru0, ru1;

	bench_prog = "epbatch-load";
	parse_args(argc, argv);
	signal(SIGPIPE, SIG_IGN);
	raise_fd_limit();

	target.sin_family = AF_INET;
	target.sin_port = htons((uint16_t)opt.port);
	target.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	request_len = (size_t)snprintf(request, sizeof(request),
				       "GET / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUser-Agent: epbatch-load\r\n%s\r\n",
				       opt.port, opt.mode == LOAD_CLOSE ? "Connection: close\r\n" : "");
	timeout_ns = (uint64_t)(opt.timeout * 1e9);

	ts = calloc((size_t)opt.threads, sizeof(*ts));
	conns = calloc((size_t)opt.connections, sizeof(*conns));
	if (!ts || !conns)
		bench_die("out of memory");
	for (int i = 0, next = 0; i < opt.threads; i++) {
		/* Spread the connections evenly; the first threads take the rest. */
		ts[i].nconns = opt.connections / opt.threads + (i < opt.connections % opt.threads);
		ts[i].conns = conns + next;
		next += ts[i].nconns;
		hist_init(&ts[i].hist);
	}
	for (int i = 0; i < opt.connections; i++)
		conns[i].fd = -1;

	getrusage(RUSAGE_SELF, &ru0);
	uint64_t start = bench_now_ns();
	deadline_ns = start + (uint64_t)(opt.duration * 1e9);
	for (int i = 0; i < opt.threads; i++) {
		int err = pthread_create(&ts[i].thread, NULL, thread_main, &ts[i]);
		if (err)
			bench_die("pthread_create: %s", strerror(err));
	}
	for (int i = 0; i < opt.threads; i++)
		pthread_join(ts[i].thread, NULL);
	double seconds = (double)(bench_now_ns() - start) / 1e9;
	getrusage(RUSAGE_SELF, &ru1);

	for (int i = 0; i < opt.threads; i++)
		if (ts[i].failed_errno)
			bench_die("load thread %d: epoll: %s", i, strerror(ts[i].failed_errno));
	report(ts, seconds, &ru0, &ru1);
	free(conns);
	free(ts);
	return 0;
}
