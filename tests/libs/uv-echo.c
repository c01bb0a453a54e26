/* SPDX-License-Identifier: MIT */
/*
 * A TCP echo server and its clients on one libuv loop, 127.0.0.1 only (port
 * chosen by the kernel), run natively and under libepbatch.so by
 * tests/libs/t-libs.sh, which compares the transcripts.  libuv closes every
 * fd with syscall(SYS_close) (uv__close_nocancel), after an EPOLL_CTL_DEL
 * made through libc's epoll_ctl; it spawns children with uv_spawn.
 *
 * Phases, each run to completion before the next (uv_stop):
 *   echo   ROUNDS rounds of NCONN concurrent connections: connect, write a
 *          message of a per-connection size, read the echo back, verify,
 *          close; the server echoes, shuts down on EOF and closes.
 *   dup    a client dups its socket and closes the handle (DEL, raw close);
 *          the server then writes to the connection, so the dup'd file is
 *          readable: natively the loop stays quiet for the idle window
 *          (the registration went with the DEL), a stale registration
 *          would make it report the closed fd on every iteration.
 *   spawn  uv_spawn of /bin/echo with a stdout pipe, of `sh -c 'exit 3'`,
 *          of a program that does not exist, and SPAWNS runs of /bin/true
 *          while connections are open.
 * Only totals are printed: the transcript does not depend on scheduling.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#define ROUNDS 4
#define NCONN 64
#define SPAWNS 8
#define IDLE_MS 200
#define IDLE_MAX_ITER 20
#define GUARD_MS 30000

static uv_loop_t *loop;
static uv_tcp_t server;
static int port;
static const char *phase = "start";

static long srv_accepted, srv_closed, srv_bytes;
static long cli_done, cli_ok, cli_bad, cli_bytes, cli_closed;

static void die(const char *what, int err)
{
	fprintf(stderr, "uv-echo: %s: %s (phase %s)\n", what, uv_strerror(err), phase);
	exit(2);
}
#define CHECK(expr) do { int r_ = (expr); if (r_ < 0) die(#expr, r_); } while (0)

static void alloc_cb(uv_handle_t *h, size_t sz, uv_buf_t *buf)
{
	(void)h;
	buf->base = malloc(sz);
	buf->len = buf->base ? sz : 0;
}

static void free_cb(uv_handle_t *h)
{
	free(h);
}

/* ---- server ---- */

struct wreq {
	uv_write_t req;
	uv_buf_t buf;
};

static void maybe_phase_done(void);

static void srv_closed_cb(uv_handle_t *h)
{
	srv_closed++;
	free(h);
	maybe_phase_done();
}

static void srv_write_cb(uv_write_t *req, int status)
{
	struct wreq *w = (struct wreq *)req;

	if (status < 0 && status != UV_ECANCELED && status != UV_EPIPE &&
	    status != UV_ECONNRESET)
		die("server write", status);
	free(w->buf.base);
	free(w);
}

static void srv_shutdown_cb(uv_shutdown_t *req, int status)
{
	(void)status;
	uv_close((uv_handle_t *)req->handle, srv_closed_cb);
	free(req);
}

static void srv_read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	if (n > 0) {
		struct wreq *w = malloc(sizeof(*w));

		if (!w)
			die("malloc", UV_ENOMEM);
		srv_bytes += n;
		w->buf = uv_buf_init(buf->base, (unsigned int)n);
		CHECK(uv_write(&w->req, s, &w->buf, 1, srv_write_cb));
		return;
	}
	free(buf->base);
	if (n == UV_EOF) {
		uv_shutdown_t *req = malloc(sizeof(*req));

		uv_read_stop(s);
		if (!req)
			die("malloc", UV_ENOMEM);
		if (uv_shutdown(req, s, srv_shutdown_cb) < 0) {
			free(req);
			uv_close((uv_handle_t *)s, srv_closed_cb);
		}
	} else if (n < 0) {
		uv_read_stop(s);
		uv_close((uv_handle_t *)s, srv_closed_cb);
	}
}

static uv_tcp_t *last_server_conn;

static void on_connection(uv_stream_t *srv, int status)
{
	uv_tcp_t *c = malloc(sizeof(*c));

	CHECK(status);
	if (!c)
		die("malloc", UV_ENOMEM);
	CHECK(uv_tcp_init(loop, c));
	CHECK(uv_accept(srv, (uv_stream_t *)c));
	srv_accepted++;
	last_server_conn = c;
	CHECK(uv_read_start((uv_stream_t *)c, alloc_cb, srv_read_cb));
}

/* ---- clients ---- */

struct client {
	uv_tcp_t tcp;
	uv_connect_t creq;
	uv_write_t wreq;
	char *msg;
	size_t len, got;
	int bad;
	int keep_open;		/* dup phase: do not close when done */
};

static size_t msg_len(int i)
{
	return 1 + ((size_t)i * 7919u) % 48000u;
}

static void fill(char *p, size_t n, int i)
{
	for (size_t k = 0; k < n; k++)
		p[k] = (char)('a' + (k * 31 + (size_t)i) % 26);
}

static void cli_closed_cb(uv_handle_t *h)
{
	struct client *c = (struct client *)h;

	cli_closed++;
	free(c->msg);
	free(c);
	maybe_phase_done();
}

static void cli_read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct client *c = (struct client *)s;

	if (n > 0) {
		if (c->got + (size_t)n > c->len || memcmp(buf->base, c->msg + c->got, (size_t)n))
			c->bad = 1;
		c->got += (size_t)n;
		cli_bytes += n;
	}
	free(buf->base);
	if (n < 0 || c->got >= c->len) {
		uv_read_stop(s);
		cli_done++;
		if (n >= 0 && !c->bad && c->got == c->len)
			cli_ok++;
		else
			cli_bad++;
		if (!c->keep_open)
			uv_close((uv_handle_t *)s, cli_closed_cb);
		maybe_phase_done();
	}
}

static void cli_write_cb(uv_write_t *req, int status)
{
	(void)req;
	/* a client closed right after its echo may still have the write's
	 * callback pending: it is then cancelled, the data was sent */
	if (status != UV_ECANCELED)
		CHECK(status);
}

static void cli_connect_cb(uv_connect_t *req, int status)
{
	struct client *c = req->data;
	uv_buf_t b;

	CHECK(status);
	b = uv_buf_init(c->msg, (unsigned int)c->len);
	CHECK(uv_write(&c->wreq, (uv_stream_t *)&c->tcp, &b, 1, cli_write_cb));
	CHECK(uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, cli_read_cb));
}

static struct client *start_client(int i, int keep_open)
{
	struct client *c = calloc(1, sizeof(*c));
	struct sockaddr_in a;

	if (!c)
		die("calloc", UV_ENOMEM);
	c->len = msg_len(i);
	c->msg = malloc(c->len);
	if (!c->msg)
		die("malloc", UV_ENOMEM);
	fill(c->msg, c->len, i);
	c->keep_open = keep_open;
	c->creq.data = c;
	CHECK(uv_ip4_addr("127.0.0.1", port, &a));
	CHECK(uv_tcp_init(loop, &c->tcp));
	CHECK(uv_tcp_connect(&c->creq, &c->tcp, (struct sockaddr *)&a, cli_connect_cb));
	return c;
}

/* ---- phases ---- */

static long want_done, want_srv_closed;

static void maybe_phase_done(void)
{
	if (want_done && cli_done >= want_done && srv_closed >= want_srv_closed &&
	    cli_closed >= want_done)
		uv_stop(loop);
}

static void guard_cb(uv_timer_t *t)
{
	(void)t;
	printf("TIMEOUT in phase %s: clients done %ld, server closed %ld\n", phase, cli_done,
	       srv_closed);
	fflush(stdout);
	exit(1);
}

static void run_phase(void)
{
	uv_run(loop, UV_RUN_DEFAULT);
}

/* A check handle counts loop iterations during the idle window. */
static long iterations;
static int idle_over;

static void count_cb(uv_check_t *h)
{
	(void)h;
	iterations++;
}

static void idle_timer_cb(uv_timer_t *t)
{
	(void)t;
	idle_over = 1;
	uv_stop(loop);
}

static void ping_write_cb(uv_write_t *req, int status)
{
	CHECK(status);
	free(req);
}

/* spawn */
static int exits_seen;
static long exit_sum;
static char child_out[256];
static size_t child_out_len;
static int pipe_closed;

static void exit_cb(uv_process_t *p, int64_t status, int sig)
{
	exits_seen++;
	exit_sum += status * 100 + sig;
	uv_close((uv_handle_t *)p, free_cb);
}

static void pipe_closed_cb(uv_handle_t *h)
{
	(void)h;
	pipe_closed = 1;
}

static void pipe_read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	if (n > 0 && child_out_len + (size_t)n < sizeof(child_out)) {
		memcpy(child_out + child_out_len, buf->base, (size_t)n);
		child_out_len += (size_t)n;
	}
	free(buf->base);
	if (n < 0)
		uv_close((uv_handle_t *)s, pipe_closed_cb);
}

static int spawn(char **args, uv_pipe_t *out)
{
	uv_process_t *p = calloc(1, sizeof(*p));
	uv_process_options_t o;
	uv_stdio_container_t stdio[3];
	int r;

	if (!p)
		die("calloc", UV_ENOMEM);
	memset(&o, 0, sizeof(o));
	stdio[0].flags = UV_IGNORE;
	if (out) {
		stdio[1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
		stdio[1].data.stream = (uv_stream_t *)out;
	} else {
		stdio[1].flags = UV_IGNORE;
	}
	stdio[2].flags = UV_INHERIT_FD;
	stdio[2].data.fd = 2;
	o.file = args[0];
	o.args = args;
	o.exit_cb = exit_cb;
	o.stdio = stdio;
	o.stdio_count = 3;
	r = uv_spawn(loop, p, &o);
	if (r < 0) {
		/* the handle must still be closed */
		uv_close((uv_handle_t *)p, free_cb);
	}
	return r;
}

static void spawn_wait(int n)
{
	while (exits_seen < n) {
		if (uv_run(loop, UV_RUN_ONCE) == 0)
			break;
	}
}

int main(void)
{
	struct sockaddr_in a;
	struct sockaddr_storage ss;
	int sslen = sizeof(ss);
	uv_timer_t guard;

	setvbuf(stdout, NULL, _IOLBF, 0);
	loop = uv_default_loop();
	CHECK(uv_timer_init(loop, &guard));
	CHECK(uv_timer_start(&guard, guard_cb, GUARD_MS, 0));
	uv_unref((uv_handle_t *)&guard);

	CHECK(uv_ip4_addr("127.0.0.1", 0, &a));
	CHECK(uv_tcp_init(loop, &server));
	CHECK(uv_tcp_bind(&server, (struct sockaddr *)&a, 0));
	CHECK(uv_listen((uv_stream_t *)&server, 256, on_connection));
	CHECK(uv_tcp_getsockname(&server, (struct sockaddr *)&ss, &sslen));
	port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	printf("libuv %d.%d: listening on 127.0.0.1\n", UV_VERSION_MAJOR, UV_VERSION_MINOR);

	/* echo */
	phase = "echo";
	for (int r = 0; r < ROUNDS; r++) {
		long base = cli_done, ok0 = cli_ok, bad0 = cli_bad;
		long expect_bytes = 0;

		for (int i = 0; i < NCONN; i++) {
			start_client(r * NCONN + i, 0);
			expect_bytes += (long)msg_len(r * NCONN + i);
		}
		want_done = base + NCONN;
		want_srv_closed = srv_closed + NCONN;
		run_phase();
		printf("round %d: %ld connections, %ld verified, %ld bad, %ld bytes echoed (expected %ld)\n",
		       r, cli_done - base, cli_ok - ok0, cli_bad - bad0, srv_bytes, expect_bytes);
		srv_bytes = 0;
	}
	printf("echo: accepted %ld, server closed %ld, clients closed %ld, verified %ld of %d\n",
	       srv_accepted, srv_closed, cli_closed, cli_ok, ROUNDS * NCONN);

	/* dup */
	phase = "dup";
	{
		struct client *c = start_client(7, 1);
		uv_os_fd_t fd;
		int d;
		uv_check_t chk;
		uv_timer_t idle;
		uv_write_t *wr;
		uv_buf_t ping = uv_buf_init("ping", 4);
		uv_tcp_t *sc;
		long closed_before = cli_closed;

		/* the client stays open: wait for its echo, not its close */
		long target = cli_done + 1;

		want_done = 0;
		while (cli_done < target)
			if (uv_run(loop, UV_RUN_ONCE) == 0)
				break;
		sc = last_server_conn;
		CHECK(uv_fileno((uv_handle_t *)&c->tcp, &fd));
		d = dup(fd);
		if (d < 0)
			die("dup", -errno);
		uv_close((uv_handle_t *)&c->tcp, cli_closed_cb);
		while (cli_closed == closed_before)
			uv_run(loop, UV_RUN_ONCE);
		printf("dup: client handle closed, its file kept open by a dup\n");
		/* make the dup'd file readable */
		wr = malloc(sizeof(*wr));
		if (!wr)
			die("malloc", UV_ENOMEM);
		CHECK(uv_write(wr, (uv_stream_t *)sc, &ping, 1, ping_write_cb));
		CHECK(uv_check_init(loop, &chk));
		CHECK(uv_check_start(&chk, count_cb));
		CHECK(uv_timer_init(loop, &idle));
		CHECK(uv_timer_start(&idle, idle_timer_cb, IDLE_MS, 0));
		iterations = 0;
		while (!idle_over)
			uv_run(loop, UV_RUN_ONCE);
		uv_check_stop(&chk);
		printf("dup: loop iterations in the idle window: %s\n",
		       iterations <= IDLE_MAX_ITER ? "few (the closed fd is not reported)"
						   : "MANY (the closed fd keeps being reported)");
		if (iterations > IDLE_MAX_ITER)
			fprintf(stderr, "uv-echo: %ld loop iterations in %d ms\n", iterations, IDLE_MS);
		uv_close((uv_handle_t *)&chk, NULL);
		uv_close((uv_handle_t *)&idle, NULL);
		/* closing the dup ends the connection: the server sees EOF */
		want_srv_closed = srv_closed + 1;
		close(d);
		while (srv_closed < want_srv_closed)
			if (uv_run(loop, UV_RUN_ONCE) == 0)
				break;
		printf("dup: server connection closed after the dup was closed: %s\n",
		       srv_closed >= want_srv_closed ? "yes" : "no");
	}

	/* spawn */
	phase = "spawn";
	{
		uv_pipe_t out;
		char *echo_args[] = { "/bin/echo", "hello", "from", "a", "child", NULL };
		char *sh_args[] = { "/bin/sh", "-c", "exit 3", NULL };
		char *true_args[] = { "/bin/true", NULL };
		char *none_args[] = { "/nonexistent/epbatch-no-such-program", NULL };
		int r, n = 0;

		CHECK(uv_pipe_init(loop, &out, 0));
		CHECK(spawn(echo_args, &out));
		n++;
		CHECK(uv_read_start((uv_stream_t *)&out, alloc_cb, pipe_read_cb));
		spawn_wait(n);
		while (!pipe_closed)
			if (uv_run(loop, UV_RUN_ONCE) == 0)
				break;
		printf("spawn echo: exit %ld, output: %.*s", exit_sum, (int)child_out_len, child_out);
		exit_sum = 0;
		CHECK(spawn(sh_args, NULL));
		n++;
		spawn_wait(n);
		printf("spawn sh -c 'exit 3': exit %ld\n", exit_sum / 100);
		exit_sum = 0;
		r = spawn(none_args, NULL);
		printf("spawn of a missing program: %s\n", r < 0 ? uv_err_name(r) : "started");
		if (r >= 0)
			n++;
		spawn_wait(n);
		uv_run(loop, UV_RUN_NOWAIT);
		exit_sum = 0;

		/* spawns while connections are being served */
		want_done = cli_done + NCONN;
		want_srv_closed = srv_closed + NCONN;
		for (int i = 0; i < NCONN; i++)
			start_client(1000 + i, 0);
		for (int i = 0; i < SPAWNS; i++) {
			CHECK(spawn(true_args, NULL));
			n++;
		}
		run_phase();
		spawn_wait(n);
		printf("spawn: %d /bin/true exited, status sum %ld; %ld clients verified of %ld\n",
		       SPAWNS, exit_sum, cli_ok, cli_done);
	}

	phase = "end";
	uv_close((uv_handle_t *)&server, NULL);
	uv_close((uv_handle_t *)&guard, NULL);
	uv_run(loop, UV_RUN_DEFAULT);
	printf("end: loop closed: %s\n", uv_loop_close(loop) == 0 ? "yes" : "busy");
	return cli_bad ? 1 : 0;
}
