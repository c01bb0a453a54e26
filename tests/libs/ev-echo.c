/* SPDX-License-Identifier: MIT */
/*
 * A TCP echo server and its clients on one libevent base (epoll backend),
 * 127.0.0.1 only (port chosen by the kernel), run natively and under
 * libepbatch.so by tests/libs/t-libs.sh, which compares the transcripts.
 * `ev-echo --changelist` turns on libevent's own epoll changelist
 * (EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST: it coalesces changes itself and
 * applies them just before epoll_wait, the pattern the shim batches).
 *
 * Phases, each run to completion before the next (event_base_loopbreak):
 *   echo   ROUNDS rounds of NCONN concurrent bufferevent connections:
 *          connect, write a message, read the echo, verify, free (close);
 *          the server echoes and frees its side on EOF once drained.
 *   dup    a client dups its socket and frees its bufferevent (event_del,
 *          close); the server writes to the connection; after a timer the
 *          dup is read directly (the data is there) and closed, and the
 *          server sees EOF.
 *   spawn  fork + execve of /bin/true, vfork + execve of /bin/true,
 *          posix_spawn of /bin/echo with its stdout on a pipe watched by
 *          an event, posix_spawn of a missing program; children reaped
 *          from a SIGCHLD event; more fork + exec while connections run.
 * Only totals are printed: the transcript does not depend on scheduling.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define ROUNDS 4
#define NCONN 64
#define SPAWNS 8
#define GUARD_S 30

extern char **environ;

static struct event_base *base;
static struct sockaddr_in addr;
static const char *phase = "start";

static long srv_accepted, srv_closed, srv_bytes;
static long cli_done, cli_ok, cli_bad, cli_closed;
static long want_done = -1, want_srv_closed = -1;
static int reaped, reap_status_sum;

static void die(const char *what)
{
	fprintf(stderr, "ev-echo: %s: %s (phase %s)\n", what, strerror(errno), phase);
	exit(2);
}

static void maybe_phase_done(void)
{
	if (want_done >= 0 && cli_done >= want_done && cli_closed >= want_done &&
	    srv_closed >= want_srv_closed)
		event_base_loopbreak(base);
}

/* ---- server ---- */

struct sconn {
	struct bufferevent *bev;
	int eof;
};

static struct sconn *last_server_conn;

static void srv_free(struct sconn *s)
{
	bufferevent_free(s->bev);
	if (last_server_conn == s)
		last_server_conn = NULL;
	free(s);
	srv_closed++;
	maybe_phase_done();
}

static void srv_read(struct bufferevent *bev, void *arg)
{
	(void)arg;
	srv_bytes += (long)evbuffer_get_length(bufferevent_get_input(bev));
	bufferevent_write_buffer(bev, bufferevent_get_input(bev));
}

static void srv_write(struct bufferevent *bev, void *arg)
{
	struct sconn *s = arg;

	if (s->eof && evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		srv_free(s);
}

static void srv_event(struct bufferevent *bev, short what, void *arg)
{
	struct sconn *s = arg;

	if (what & BEV_EVENT_EOF) {
		s->eof = 1;
		if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
			srv_free(s);
	} else if (what & BEV_EVENT_ERROR) {
		srv_free(s);
	}
}

static void accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
		      int salen, void *arg)
{
	struct sconn *s = calloc(1, sizeof(*s));

	(void)l, (void)sa, (void)salen, (void)arg;
	if (!s)
		die("calloc");
	s->bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (!s->bev)
		die("bufferevent_socket_new");
	bufferevent_setcb(s->bev, srv_read, srv_write, srv_event, s);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
	srv_accepted++;
	last_server_conn = s;
}

/* ---- clients ---- */

struct client {
	struct bufferevent *bev;
	char *msg;
	size_t len, got;
	int bad, keep_open;
};

static size_t msg_len(int i)
{
	return 1 + ((size_t)i * 7919u) % 48000u;
}

static void cli_finish(struct client *c, int ok)
{
	cli_done++;
	if (ok)
		cli_ok++;
	else
		cli_bad++;
	if (!c->keep_open) {
		bufferevent_free(c->bev);
		free(c->msg);
		free(c);
		cli_closed++;
	}
	maybe_phase_done();
}

static void cli_read(struct bufferevent *bev, void *arg)
{
	struct client *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	char buf[16384];
	size_t n;

	while ((n = evbuffer_remove(in, buf, sizeof(buf))) > 0 && n != (size_t)-1) {
		if (c->got + n > c->len || memcmp(buf, c->msg + c->got, n))
			c->bad = 1;
		c->got += n;
	}
	if (c->got >= c->len) {
		bufferevent_disable(bev, EV_READ);
		cli_finish(c, !c->bad && c->got == c->len);
	}
}

static void cli_event(struct bufferevent *bev, short what, void *arg)
{
	struct client *c = arg;

	if (what & BEV_EVENT_CONNECTED) {
		bufferevent_write(bev, c->msg, c->len);
		return;
	}
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		cli_finish(c, 0);
}

static struct client *start_client(int i, int keep_open)
{
	struct client *c = calloc(1, sizeof(*c));

	if (!c)
		die("calloc");
	c->len = msg_len(i);
	c->msg = malloc(c->len);
	if (!c->msg)
		die("malloc");
	for (size_t k = 0; k < c->len; k++)
		c->msg[k] = (char)('a' + (k * 31 + (size_t)i) % 26);
	c->keep_open = keep_open;
	c->bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (!c->bev)
		die("bufferevent_socket_new");
	bufferevent_setcb(c->bev, cli_read, NULL, cli_event, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	if (bufferevent_socket_connect(c->bev, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		die("bufferevent_socket_connect");
	return c;
}

/* ---- misc events ---- */

static void guard_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what, (void)arg;
	printf("TIMEOUT in phase %s: clients done %ld, server closed %ld\n", phase, cli_done,
	       srv_closed);
	fflush(stdout);
	exit(1);
}

static void break_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what, (void)arg;
	event_base_loopbreak(base);
}

static void sigchld_cb(evutil_socket_t fd, short what, void *arg)
{
	int st;
	pid_t p;

	(void)fd, (void)what, (void)arg;
	while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
		reaped++;
		reap_status_sum += WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	}
}

static char child_out[256];
static size_t child_out_len;
static int pipe_eof;

static void pipe_cb(evutil_socket_t fd, short what, void *arg)
{
	ssize_t n;

	(void)what, (void)arg;
	n = read(fd, child_out + child_out_len, sizeof(child_out) - 1 - child_out_len);
	if (n > 0)
		child_out_len += (size_t)n;
	else if (n == 0 || (errno != EAGAIN && errno != EINTR))
		pipe_eof = 1;
}

static void run_until(const int *flag, int value)
{
	for (int i = 0; i < 100000 && *flag < value; i++)
		event_base_loop(base, EVLOOP_ONCE);
}

static void wait_reaped(int n)
{
	run_until(&reaped, n);
}

static pid_t fork_exec_true(void)
{
	pid_t p = fork();

	if (p < 0)
		die("fork");
	if (p == 0) {
		char *argv[] = { "true", NULL };

		execve("/bin/true", argv, environ);
		_exit(127);
	}
	return p;
}

int main(int argc, char **argv)
{
	struct event_config *cfg = event_config_new();
	struct evconnlistener *lst;
	struct event *guard, *sigchld;
	struct timeval gtv = { GUARD_S, 0 };
	socklen_t alen = sizeof(addr);
	int changelist = argc > 1 && strcmp(argv[1], "--changelist") == 0;
	int spawned = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!cfg)
		die("event_config_new");
	event_config_require_features(cfg, EV_FEATURE_O1);
	if (changelist)
		event_config_set_flag(cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
	base = event_base_new_with_config(cfg);
	if (!base)
		die("event_base_new_with_config");
	event_config_free(cfg);
	printf("libevent %s: method %s\n", LIBEVENT_VERSION, event_base_get_method(base));

	guard = evtimer_new(base, guard_cb, NULL);
	evtimer_add(guard, &gtv);
	sigchld = evsignal_new(base, SIGCHLD, sigchld_cb, NULL);
	event_add(sigchld, NULL);

	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lst = evconnlistener_new_bind(base, accept_cb, NULL,
				      LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 256,
				      (struct sockaddr *)&addr, sizeof(addr));
	if (!lst)
		die("evconnlistener_new_bind");
	if (getsockname(evconnlistener_get_fd(lst), (struct sockaddr *)&addr, &alen) < 0)
		die("getsockname");
	printf("listening on 127.0.0.1\n");

	phase = "echo";
	for (int r = 0; r < ROUNDS; r++) {
		long done0 = cli_done, ok0 = cli_ok, bad0 = cli_bad, expect = 0;

		srv_bytes = 0;
		want_done = cli_done + NCONN;
		want_srv_closed = srv_closed + NCONN;
		for (int i = 0; i < NCONN; i++) {
			start_client(r * NCONN + i, 0);
			expect += (long)msg_len(r * NCONN + i);
		}
		event_base_dispatch(base);
		printf("round %d: %ld connections, %ld verified, %ld bad, %ld bytes echoed (expected %ld)\n",
		       r, cli_done - done0, cli_ok - ok0, cli_bad - bad0, srv_bytes, expect);
	}
	want_done = -1;
	printf("echo: accepted %ld, server closed %ld, verified %ld of %d\n", srv_accepted,
	       srv_closed, cli_ok, ROUNDS * NCONN);

	phase = "dup";
	{
		struct client *c = start_client(7, 1);
		struct event *t = evtimer_new(base, break_cb, NULL);
		struct timeval tv = { 0, 100000 };
		int done = (int)cli_done + 1, d, fl;
		char buf[16];
		ssize_t n;
		long closed0;

		for (int i = 0; i < 100000 && cli_done < done; i++)
			event_base_loop(base, EVLOOP_ONCE);
		d = dup(bufferevent_getfd(c->bev));
		if (d < 0)
			die("dup");
		bufferevent_free(c->bev);
		free(c->msg);
		free(c);
		cli_closed++;
		printf("dup: client bufferevent freed, its file kept open by a dup\n");
		if (!last_server_conn)
			die("no server connection");
		bufferevent_write(last_server_conn->bev, "ping", 4);
		evtimer_add(t, &tv);
		event_base_dispatch(base);
		event_free(t);
		fl = fcntl(d, F_GETFL);
		fcntl(d, F_SETFL, fl & ~O_NONBLOCK);
		n = read(d, buf, sizeof(buf));
		printf("dup: read from the dup: %.*s\n", n > 0 ? (int)n : 0, buf);
		closed0 = srv_closed;
		want_done = cli_done;
		want_srv_closed = closed0 + 1;
		close(d);
		event_base_dispatch(base);
		want_done = -1;
		printf("dup: server connection closed after the dup was closed: %s\n",
		       srv_closed > closed0 ? "yes" : "no");
	}

	phase = "spawn";
	{
		int pfd[2], err;
		pid_t pid;
		posix_spawn_file_actions_t fa;
		struct event *pev;
		char *echo_argv[] = { "echo", "hello", "from", "a", "child", NULL };
		char *none_argv[] = { "none", NULL };

		fork_exec_true();
		spawned++;
		wait_reaped(spawned);
		printf("fork + execve /bin/true: exit status %d\n", reap_status_sum);

		pid = vfork();
		if (pid < 0)
			die("vfork");
		if (pid == 0) {
			char *targv[] = { "true", NULL };

			execve("/bin/true", targv, environ);
			_exit(127);
		}
		spawned++;
		wait_reaped(spawned);
		printf("vfork + execve /bin/true: exit status %d\n", reap_status_sum);

		if (pipe2(pfd, O_CLOEXEC | O_NONBLOCK) < 0)
			die("pipe2");
		posix_spawn_file_actions_init(&fa);
		posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
		pev = event_new(base, pfd[0], EV_READ | EV_PERSIST, pipe_cb, NULL);
		event_add(pev, NULL);
		err = posix_spawn(&pid, "/bin/echo", &fa, NULL, echo_argv, environ);
		if (err)
			die("posix_spawn");
		posix_spawn_file_actions_destroy(&fa);
		close(pfd[1]);
		spawned++;
		run_until(&pipe_eof, 1);
		wait_reaped(spawned);
		event_free(pev);
		close(pfd[0]);
		printf("posix_spawn /bin/echo: exit status %d, output: %.*s", reap_status_sum,
		       (int)child_out_len, child_out);

		err = posix_spawn(&pid, "/nonexistent/epbatch-no-such-program", NULL, NULL,
				  none_argv, environ);
		printf("posix_spawn of a missing program: %s\n",
		       err ? strerrorname_np(err) : "started");
		if (!err)
			spawned++;
		wait_reaped(spawned);

		want_done = cli_done + NCONN;
		want_srv_closed = srv_closed + NCONN;
		for (int i = 0; i < NCONN; i++)
			start_client(1000 + i, 0);
		for (int i = 0; i < SPAWNS; i++) {
			fork_exec_true();
			spawned++;
		}
		event_base_dispatch(base);
		want_done = -1;
		wait_reaped(spawned);
		printf("spawn: %d children reaped, status sum %d; %ld clients verified of %ld\n",
		       reaped, reap_status_sum, cli_ok, cli_done);
	}

	phase = "end";
	evconnlistener_free(lst);
	event_free(guard);
	event_free(sigchld);
	event_base_free(base);
	printf("end: base freed\n");
	return cli_bad ? 1 : 0;
}
