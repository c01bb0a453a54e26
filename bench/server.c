/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * epbatch-bench-server: the reference workload's server.
 *
 * A multi-threaded epoll HTTP/1.1 server whose only job is to make the epoll
 * patterns real servers make, in exact and documented numbers, so that the
 * tracer and the shim can be measured against it (docs/bench.md):
 *
 *   oneshot  keep-alive; every connection is EPOLLONESHOT and re-armed with
 *            one EPOLL_CTL_MOD after each request it answers.
 *   flip     level-triggered; interest goes EPOLLIN -> EPOLLOUT (MOD) when a
 *            request is complete, the response is written when EPOLLOUT
 *            fires, then back to EPOLLIN (MOD): two MODs per request.
 *   conn     a connection per request: ADD on accept, answer with
 *            "Connection: close", DEL, close (--no-del: close only).
 *   churn    conn, and each request also allocates and frees --churn N
 *            descriptors (default 256): the fd-table traffic of an
 *            accept-heavy server (accept4 + close per connection) at a
 *            request rate the slow test guest can reach.  --churn-op dup
 *            (default) takes them with F_DUPFD_CLOEXEC, i.e. exactly the
 *            two file_lock sections of an accept4() + close() (alloc_fd,
 *            close_fd) without the socket set-up between them; --churn-op
 *            socket uses socket() + close().  With a shared table each of
 *            them takes the process's files_struct->file_lock, so the
 *            workers contend on it; with --unshare each has its own.
 *
 * Every worker thread owns an epoll fd and accepts for itself: on its own
 * SO_REUSEPORT listener (--reuseport) or on one shared listener registered
 * with EPOLLEXCLUSIVE in every worker's epoll.  The main thread only sets up,
 * waits for SIGTERM/SIGINT (or --max-seconds), wakes the workers through an
 * eventfd, joins them and prints the summary.
 *
 * All epoll calls go through libc's epoll_ctl/epoll_wait so that an
 * LD_PRELOAD shim sees them.  Each thread counts its own calls; the counts
 * are in the summary so a tracer can be checked against them.
 */
#include "common.h"
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

enum mode { MODE_ONESHOT, MODE_FLIP, MODE_CONN, MODE_CHURN };
static const char *const mode_names[] = { "oneshot", "flip", "conn", "churn" };
#define NR_MODES 4
#define CHURN_DEFAULT 256

#define MAX_THREADS 256
#define MAX_EVENTS 64
/*
 * Accepts per listener wake-up.  On a shared listener one: the fd stays
 * readable while connections wait, and taking them one at a time gives
 * the other workers a chance at the rest (as nginx does with multi_accept
 * off).  It is only a chance: EPOLLEXCLUSIVE does not balance, and a burst
 * of connects (wrk, epbatch-load) often all land on the worker that woke
 * first; an edge-triggered listener drained to EAGAIN did no better
 * (measured).  Own SO_REUSEPORT listeners are spread by the kernel's hash,
 * so take a burst there.
 */
#define ACCEPT_BATCH_SHARED 1
#define ACCEPT_BATCH_REUSEPORT 16

struct options {
	int port;
	struct in_addr bind;
	const char *bind_str;
	int threads;
	enum mode mode;
	int no_del;
	int reuseport;
	int unshare;
	int churn;		/* churn mode: fds allocated and freed per request */
	int churn_socket;	/* ... with socket() rather than F_DUPFD */
	const char *ready_file;
	const char *stats_file;
	double max_seconds;
};

/* One client connection; owned by the worker that accepted it. */
struct conn {
	int fd;
	int closing;		/* the last response ends the connection */
	uint32_t events;	/* interest currently registered */
	size_t in_len;
	size_t out_len, out_off;
	struct conn *prev, *next;	/* the worker's list, to free all at stop */
	char in[HTTP_MAX_HEADER];
	char out[2048];
};

struct worker {
	int id;
	pid_t tid;
	int epfd;
	int listen_fd;
	pthread_t thread;
	const struct options *opt;
	struct conn *conns;	/* live connections */
	/* Tags for epoll_event.data.ptr: which of the two non-connection fds fired. */
	char listen_tag, stop_tag;
	/* Counters, read by the main thread only after join. */
	uint64_t requests, accepts, bad_requests, io_errors;
	uint64_t ctl_add, ctl_mod, ctl_del, ctl_errors, waits;
	uint64_t churned;	/* churn mode: fds allocated and freed */
	int setup_err;		/* errno of a failed set-up step, 0 if fine */
	const char *setup_what;
};

static int stop_fd = -1;	/* eventfd: readable once the workers must stop */

/* Set-up hand-shake: the ready file is written only after every worker has
 * finished its set-up, so a tracer attached then sees only per-connection
 * and per-request calls. */
static pthread_mutex_t setup_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t setup_cond = PTHREAD_COND_INITIALIZER;
static int setup_done;

static void usage(FILE *f)
{
	fprintf(f,
		"usage: epbatch-bench-server [--mode oneshot|flip|conn|churn] [--threads N] [--port P]\n"
		"                            [--bind ADDR] [--reuseport] [--unshare] [--no-del]\n"
		"                            [--churn N] [--churn-op dup|socket]\n"
		"                            [--ready-file PATH] [--stats FILE] [--max-seconds S]\n"
		"  --mode M         epoll pattern: oneshot (1 MOD/request), flip (2 MOD/request),\n"
		"                   conn (1 ADD + 1 DEL/request), churn (conn + --churn N\n"
		"                   fds allocated and freed per request); default oneshot\n"
		"  --churn N        churn mode: fds per request (default 256)\n"
		"  --churn-op OP    churn mode: dup (F_DUPFD + close, default) or socket\n"
		"                   (socket() + close())\n"
		"  --threads N      worker threads, each with its own epoll loop (default: CPUs)\n"
		"  --port P         TCP port, 0 = pick a free one (default 0)\n"
		"  --bind ADDR      IPv4 address to listen on (default 127.0.0.1)\n"
		"  --reuseport      a SO_REUSEPORT listener per worker (default: one shared\n"
		"                   listener, EPOLLEXCLUSIVE in every worker's epoll)\n"
		"  --unshare        each worker calls unshare(CLONE_FILES) after its set-up\n"
		"                   (needs --reuseport)\n"
		"  --no-del         close connections without EPOLL_CTL_DEL (as nginx does)\n"
		"  --ready-file F   write the port to F once every worker is ready\n"
		"  --stats F        write the JSON summary to F at exit (default stderr)\n"
		"  --max-seconds S  stop by itself after S seconds (default 600)\n");
}

static void parse_args(int argc, char **argv, struct options *o)
{
	enum { O_PORT = 256, O_BIND, O_THREADS, O_MODE, O_NODEL, O_REUSEPORT, O_UNSHARE,
	       O_READY, O_STATS, O_MAXSEC, O_CHURN, O_CHURN_OP, O_HELP };
	static const struct option longopts[] = {
		{ "port", required_argument, NULL, O_PORT },
		{ "bind", required_argument, NULL, O_BIND },
		{ "threads", required_argument, NULL, O_THREADS },
		{ "mode", required_argument, NULL, O_MODE },
		{ "no-del", no_argument, NULL, O_NODEL },
		{ "reuseport", no_argument, NULL, O_REUSEPORT },
		{ "unshare", no_argument, NULL, O_UNSHARE },
		{ "ready-file", required_argument, NULL, O_READY },
		{ "stats", required_argument, NULL, O_STATS },
		{ "max-seconds", required_argument, NULL, O_MAXSEC },
		{ "churn", required_argument, NULL, O_CHURN },
		{ "churn-op", required_argument, NULL, O_CHURN_OP },
		{ "help", no_argument, NULL, O_HELP },
		{ NULL, 0, NULL, 0 }
	};
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	int c;

	memset(o, 0, sizeof(*o));
	o->bind_str = "127.0.0.1";
	o->threads = cpus < 1 ? 1 : cpus > MAX_THREADS ? MAX_THREADS : (int)cpus;
	o->mode = MODE_ONESHOT;
	o->max_seconds = 600;
	o->churn = -1;
	o->churn_socket = -1;

	/* ":" first and opterr 0: our own one-line messages, not getopt's. */
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (c) {
		case O_PORT:
			o->port = (int)bench_parse_long("--port", optarg, 0, 65535);
			break;
		case O_BIND:
			o->bind_str = optarg;
			break;
		case O_THREADS:
			o->threads = (int)bench_parse_long("--threads", optarg, 1, MAX_THREADS);
			break;
		case O_MODE:
			for (c = 0; c < NR_MODES; c++)
				if (strcmp(optarg, mode_names[c]) == 0)
					break;
			if (c == NR_MODES)
				bench_die("invalid --mode '%s': expected oneshot, flip, conn or churn",
					  optarg);
			o->mode = (enum mode)c;
			break;
		case O_NODEL:
			o->no_del = 1;
			break;
		case O_REUSEPORT:
			o->reuseport = 1;
			break;
		case O_UNSHARE:
			o->unshare = 1;
			break;
		case O_READY:
			o->ready_file = optarg;
			break;
		case O_STATS:
			o->stats_file = optarg;
			break;
		case O_CHURN:
			o->churn = (int)bench_parse_long("--churn", optarg, 0, 100000);
			break;
		case O_CHURN_OP:
			if (strcmp(optarg, "dup") && strcmp(optarg, "socket"))
				bench_die("invalid --churn-op '%s': expected dup or socket", optarg);
			o->churn_socket = !strcmp(optarg, "socket");
			break;
		case O_MAXSEC:
			o->max_seconds = bench_parse_seconds("--max-seconds", optarg, 0.1, 86400);
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
	if (inet_pton(AF_INET, o->bind_str, &o->bind) != 1)
		bench_die("invalid --bind '%s': expected an IPv4 address", o->bind_str);
	if ((o->churn >= 0 || o->churn_socket >= 0) && o->mode != MODE_CHURN)
		bench_die("--churn and --churn-op are for --mode churn");
	if (o->churn < 0)
		o->churn = CHURN_DEFAULT;
	if (o->churn_socket < 0)
		o->churn_socket = 0;
	if (o->unshare && !o->reuseport)
		bench_die("--unshare needs --reuseport: each worker must own its listener "
			  "before it unshares its fd table");
}

/* ---- epoll, counted: every call the workers make goes through these ---- */

static int ctl(struct worker *w, int op, int fd, uint32_t events, void *ptr)
{
	struct epoll_event ev = { .events = events, .data.ptr = ptr };
	int r = epoll_ctl(w->epfd, op, fd, op == EPOLL_CTL_DEL ? NULL : &ev);

	if (op == EPOLL_CTL_ADD)
		w->ctl_add++;
	else if (op == EPOLL_CTL_MOD)
		w->ctl_mod++;
	else
		w->ctl_del++;
	if (r < 0)
		w->ctl_errors++;
	return r;
}

/* Change a connection's interest; a no-op (and no syscall) when unchanged,
 * except in oneshot mode where the MOD is what re-arms it. */
static void set_interest(struct worker *w, struct conn *c, uint32_t events)
{
	if (events == c->events && w->opt->mode != MODE_ONESHOT)
		return;
	c->events = events;
	ctl(w, EPOLL_CTL_MOD, c->fd, events, c);
}

/* ---- connections ---- */

static void conn_close(struct worker *w, struct conn *c)
{
	/* close() alone removes the fd from the epoll set (no other reference to
	 * the file exists); the DEL is what conn mode is about. */
	if (!w->opt->no_del)
		ctl(w, EPOLL_CTL_DEL, c->fd, 0, NULL);
	close(c->fd);
	if (c->prev)
		c->prev->next = c->next;
	else
		w->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	free(c);
}

static void do_accept(struct worker *w)
{
	uint32_t events = EPOLLIN;

	if (w->opt->mode == MODE_ONESHOT)
		events |= EPOLLONESHOT;
	int batch = w->opt->reuseport ? ACCEPT_BATCH_REUSEPORT : ACCEPT_BATCH_SHARED;

	for (int i = 0; i < batch; i++) {
		int fd = accept4(w->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			/* EAGAIN: another worker took it, or the queue is empty.
			 * Anything else (ECONNABORTED, EMFILE) drops this one try. */
			if (errno != EAGAIN && errno != EINTR)
				w->io_errors++;
			return;
		}
		struct conn *c = malloc(sizeof(*c));
		if (!c) {
			close(fd);
			w->io_errors++;
			return;
		}
		c->fd = fd;
		c->closing = 0;
		c->events = events;
		c->in_len = c->out_len = c->out_off = 0;
		c->prev = NULL;
		c->next = w->conns;
		if (w->conns)
			w->conns->prev = c;
		w->conns = c;
		w->accepts++;
		if (ctl(w, EPOLL_CTL_ADD, fd, events, c) < 0) {
			w->io_errors++;
			conn_close(w, c);
		}
	}
}

/*
 * Read once (a level-triggered or re-armed fd fires again if more is
 * there, so looping to EAGAIN would only add a syscall).
 * Returns 0 if the connection is still usable, -1 if it is gone.
 */
static int conn_read(struct worker *w, struct conn *c)
{
	ssize_t n;

	/* A full buffer always holds a complete or an invalid request (the
	 * parser gives up at HTTP_MAX_HEADER): answer that first. */
	if (c->in_len == sizeof(c->in))
		return 0;
	n = read(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len);
	if (n > 0) {
		c->in_len += (size_t)n;
		return 0;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n < 0)
		w->io_errors++;
	/* n == 0: the client closed; nothing is owed to it. */
	return -1;
}

/*
 * Queue responses for the complete requests in the input buffer: all of
 * them (pipelining), or only the first (conn mode and flip mode, which
 * answer one request per EPOLLOUT).  Stops after a request that ends the
 * connection.  Returns how many were queued.
 */
static int conn_respond(struct worker *w, struct conn *c, int max)
{
	int done = 0;

	/* Stop while the output buffer could not take the largest response:
	 * the remaining requests stay buffered for the next round. */
	while (done < max && !c->closing && sizeof(c->out) - c->out_len >= HTTP_MAX_RESPONSE) {
		struct http_msg m;
		const char *resp;
		size_t rlen;
		int r = http_parse_request(c->in, c->in_len, &m);

		if (r == 0)
			break;
		if (r < 0) {
			w->bad_requests++;
			resp = http_bad_request(&rlen);
			c->closing = 1;
			c->in_len = 0;
		} else {
			int keep = m.keep_alive && w->opt->mode != MODE_CONN &&
				   w->opt->mode != MODE_CHURN;

			resp = http_response(keep, &rlen);
			c->closing = !keep;
			c->in_len -= m.length;
			memmove(c->in, c->in + m.length, c->in_len);
			w->requests++;
		}
		memcpy(c->out + c->out_len, resp, rlen);
		c->out_len += rlen;
		done++;
	}
	return done;
}

/* Write what is queued.  1: all written, 0: the socket is full, -1: gone. */
static int conn_flush(struct worker *w, struct conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);

		if (n < 0) {
			if (errno == EAGAIN)
				return 0;
			if (errno == EINTR)
				continue;
			w->io_errors++;
			return -1;
		}
		c->out_off += (size_t)n;
	}
	c->out_len = c->out_off = 0;
	return 1;
}

/* Is a complete (or invalid) request waiting in the input buffer? */
static int request_ready(const struct conn *c)
{
	struct http_msg m;

	return http_parse_request(c->in, c->in_len, &m) != 0;
}

/*
 * oneshot: the fd is disarmed when this runs.  Read, answer every complete
 * request, then exactly one MOD re-arms it: for EPOLLIN normally, for
 * EPOLLOUT when the socket could not take the whole answer.
 */
static void handle_oneshot(struct worker *w, struct conn *c, uint32_t ev)
{
	/* HUP/ERR come without EPOLLIN sometimes: the read reports them. */
	if ((ev & (EPOLLIN | EPOLLHUP | EPOLLERR)) && conn_read(w, c) < 0) {
		conn_close(w, c);
		return;
	}
	if (c->out_len == 0)
		conn_respond(w, c, INT32_MAX);
	int f = conn_flush(w, c);
	if (f < 0 || (f == 1 && c->closing)) {
		conn_close(w, c);
		return;
	}
	/* With the buffer full and requests still pending, go round again
	 * through EPOLLOUT so they are answered without new input. */
	int more = f == 0 || (request_ready(c) && !c->closing);
	set_interest(w, c, (more ? EPOLLOUT : EPOLLIN) | EPOLLONESHOT);
}

/*
 * flip: level-triggered.  EPOLLIN reads; a complete request flips the
 * interest to EPOLLOUT (MOD).  EPOLLOUT writes one response and, when no
 * further request is buffered, flips back to EPOLLIN (MOD).
 */
static void handle_flip(struct worker *w, struct conn *c, uint32_t ev)
{
	if (c->events & EPOLLIN) {
		if (!(ev & (EPOLLIN | EPOLLHUP | EPOLLERR)))
			return;
		if (conn_read(w, c) < 0) {
			conn_close(w, c);
			return;
		}
		if (request_ready(c))
			set_interest(w, c, EPOLLOUT);
		return;
	}
	if (ev & (EPOLLHUP | EPOLLERR)) {
		conn_close(w, c);
		return;
	}
	if (c->out_len == 0)
		conn_respond(w, c, 1);
	int f = conn_flush(w, c);
	if (f < 0 || (f == 1 && c->closing)) {
		conn_close(w, c);
		return;
	}
	if (f == 1 && !request_ready(c))
		set_interest(w, c, EPOLLIN);
}

/*
 * churn: what a request costs the fd table besides its own connection.
 * Allocating a descriptor (alloc_fd) and freeing it (close_fd) each take
 * the fd table's file_lock, as the accept4() and close() of a connection do.
 */
static void churn_fds(struct worker *w)
{
	for (int i = 0; i < w->opt->churn; i++) {
		int fd = w->opt->churn_socket ? socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)
					      : fcntl(w->epfd, F_DUPFD_CLOEXEC, 0);

		if (fd < 0) {
			w->io_errors++;
			return;
		}
		close(fd);
		w->churned++;
	}
}

/*
 * conn: answer the first request with "Connection: close" and end the
 * connection (DEL + close).  Only a full socket buffer costs a MOD (to wait
 * for EPOLLOUT), which the bench's small responses never meet.
 */
static void handle_conn(struct worker *w, struct conn *c, uint32_t ev)
{
	if (c->out_len == 0) {
		if ((ev & (EPOLLIN | EPOLLHUP | EPOLLERR)) && conn_read(w, c) < 0) {
			conn_close(w, c);
			return;
		}
		if (conn_respond(w, c, 1) == 0)
			return;	/* partial request: wait for the rest */
		if (w->opt->mode == MODE_CHURN)
			churn_fds(w);
	}
	int f = conn_flush(w, c);
	if (f != 0)
		conn_close(w, c);
	else
		set_interest(w, c, EPOLLOUT);
}

/* ---- the worker thread ---- */

static int worker_setup(struct worker *w)
{
	char name[16];

	w->tid = (pid_t)syscall(SYS_gettid);
	snprintf(name, sizeof(name), "worker-%d", w->id);
	pthread_setname_np(pthread_self(), name);

	w->setup_what = "epoll_create1";
	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (w->epfd < 0)
		return -1;
	/* The stop eventfd is never read: once written it stays readable, so
	 * every worker's level-triggered registration sees it. */
	w->setup_what = "epoll_ctl(ADD stop eventfd)";
	if (ctl(w, EPOLL_CTL_ADD, stop_fd, EPOLLIN, &w->stop_tag) < 0)
		return -1;
	/* A shared listener is in every worker's epoll: EPOLLEXCLUSIVE wakes one
	 * (or a few) of them per connection instead of all. */
	w->setup_what = "epoll_ctl(ADD listener)";
	if (ctl(w, EPOLL_CTL_ADD, w->listen_fd, EPOLLIN | (w->opt->reuseport ? 0 : EPOLLEXCLUSIVE),
		&w->listen_tag) < 0)
		return -1;
	/* From here this thread's fds (and all it accepts) live in a table of
	 * its own: accept4/close no longer take the process-wide file_lock. */
	w->setup_what = "unshare(CLONE_FILES)";
	if (w->opt->unshare && unshare(CLONE_FILES) < 0)
		return -1;
	return 0;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct epoll_event events[MAX_EVENTS];
	int running;

	if (worker_setup(w) < 0)
		w->setup_err = errno ? errno : EINVAL;
	pthread_mutex_lock(&setup_lock);
	setup_done++;
	pthread_cond_broadcast(&setup_cond);
	pthread_mutex_unlock(&setup_lock);
	running = !w->setup_err;

	while (running) {
		int n = epoll_wait(w->epfd, events, MAX_EVENTS, -1);

		w->waits++;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			w->io_errors++;
			break;
		}
		for (int i = 0; i < n; i++) {
			void *p = events[i].data.ptr;

			if (p == &w->stop_tag) {
				running = 0;
			} else if (p == &w->listen_tag) {
				do_accept(w);
			} else if (w->opt->mode == MODE_ONESHOT) {
				handle_oneshot(w, p, events[i].events);
			} else if (w->opt->mode == MODE_FLIP) {
				handle_flip(w, p, events[i].events);
			} else {
				handle_conn(w, p, events[i].events);
			}
		}
	}

	/* Stopping: drop the connections without DEL (not part of any
	 * per-request count) and without answering. */
	while (w->conns) {
		struct conn *c = w->conns;

		w->conns = c->next;
		close(c->fd);
		free(c);
	}
	if (w->epfd >= 0)
		close(w->epfd);
	/* With --unshare this thread's table also holds copies of the
	 * listeners; they go with the table when the thread exits. */
	return NULL;
}

/* ---- set-up and the main thread ---- */

static int make_listener(const struct options *o, int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				  .sin_addr = o->bind };
	int one = 1;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		bench_die("socket: %s", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (o->reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0)
		bench_die("SO_REUSEPORT: %s", strerror(errno));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		bench_die("cannot bind %s:%d: %s", o->bind_str, port, strerror(errno));
	if (listen(fd, 4096) < 0)
		bench_die("listen: %s", strerror(errno));
	return fd;
}

static int bound_port(int fd)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);

	if (getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
		bench_die("getsockname: %s", strerror(errno));
	return ntohs(sa.sin_port);
}

/* Sleep in sigtimedwait until SIGTERM/SIGINT or the deadline.  1 = signal. */
static int wait_for_stop(const sigset_t *set, double seconds)
{
	uint64_t deadline = bench_now_ns() + (uint64_t)(seconds * 1e9);

	for (;;) {
		uint64_t now = bench_now_ns();
		if (now >= deadline)
			return 0;
		uint64_t left = deadline - now;
		struct timespec ts = { (time_t)(left / 1000000000u), (long)(left % 1000000000u) };
		int sig = sigtimedwait(set, NULL, &ts);

		if (sig == SIGTERM || sig == SIGINT)
			return 1;
		if (sig < 0 && errno != EAGAIN && errno != EINTR)
			bench_die("sigtimedwait: %s", strerror(errno));
	}
}

static void write_summary(const struct options *o, struct worker *ws, int port,
			  double seconds, int by_signal)
{
	struct bench_buf b = { 0 };
	uint64_t total = 0, bad = 0;

	for (int i = 0; i < o->threads; i++) {
		total += ws[i].requests;
		bad += ws[i].bad_requests;
	}
	bench_buf_printf(&b,
			 "{\"requests\": %llu, \"bad_requests\": %llu, \"mode\": \"%s\", \"port\": %d, "
			 "\"reuseport\": %s, \"unshare\": %s, \"no_del\": %s, \"duration_s\": %.3f, "
			 "\"churn\": %d, \"churn_op\": \"%s\", \"stopped_by\": \"%s\", \"threads\": [",
			 (unsigned long long)total, (unsigned long long)bad, mode_names[o->mode], port,
			 o->reuseport ? "true" : "false", o->unshare ? "true" : "false",
			 o->no_del ? "true" : "false", seconds, o->mode == MODE_CHURN ? o->churn : 0,
			 o->churn_socket ? "socket" : "dup", by_signal ? "signal" : "max-seconds");
	for (int i = 0; i < o->threads; i++) {
		const struct worker *w = &ws[i];

		bench_buf_printf(&b,
				 "%s{\"id\": %d, \"tid\": %d, \"name\": \"worker-%d\", \"requests\": %llu, "
				 "\"accepts\": %llu, \"bad_requests\": %llu, \"io_errors\": %llu, "
				 "\"epoll_ctl\": {\"add\": %llu, \"mod\": %llu, \"del\": %llu, \"errors\": %llu}, "
				 "\"epoll_wait\": %llu, \"churned\": %llu}",
				 i ? ", " : "", w->id, (int)w->tid, w->id,
				 (unsigned long long)w->requests, (unsigned long long)w->accepts,
				 (unsigned long long)w->bad_requests, (unsigned long long)w->io_errors,
				 (unsigned long long)w->ctl_add, (unsigned long long)w->ctl_mod,
				 (unsigned long long)w->ctl_del, (unsigned long long)w->ctl_errors,
				 (unsigned long long)w->waits, (unsigned long long)w->churned);
	}
	bench_buf_printf(&b, "]}\n");
	if (o->stats_file) {
		if (bench_write_file(o->stats_file, b.s, b.len) < 0) {
			fprintf(stderr, "%s: cannot write --stats %s: %s\n", bench_prog,
				o->stats_file, strerror(errno));
			bench_buf_free(&b);
			exit(1);
		}
	} else {
		fputs(b.s, stderr);
	}
	bench_buf_free(&b);
}

int main(int argc, char **argv)
{
	struct options o;
	struct worker *ws;
	sigset_t set;
	int port, shared_fd = -1;
	char buf[32];

	bench_prog = "epbatch-bench-server";
	parse_args(argc, argv, &o);

	/* Signals are taken by sigtimedwait in the main thread only: block them
	 * before any thread exists so every worker inherits the mask. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (stop_fd < 0)
		bench_die("eventfd: %s", strerror(errno));

	ws = calloc((size_t)o.threads, sizeof(*ws));
	if (!ws)
		bench_die("out of memory");

	/* All listeners exist before any worker starts, so a bind error is
	 * reported before anything runs and port 0 resolves once. */
	port = o.port;
	for (int i = 0; i < o.threads; i++) {
		if (o.reuseport || i == 0) {
			ws[i].listen_fd = make_listener(&o, port);
			port = bound_port(ws[i].listen_fd);
		} else {
			ws[i].listen_fd = ws[0].listen_fd;
		}
		ws[i].id = i;
		ws[i].epfd = -1;
		ws[i].opt = &o;
	}
	shared_fd = o.reuseport ? -1 : ws[0].listen_fd;

	uint64_t start = bench_now_ns();
	for (int i = 0; i < o.threads; i++) {
		int err = pthread_create(&ws[i].thread, NULL, worker_main, &ws[i]);
		if (err)
			bench_die("pthread_create: %s", strerror(err));
	}
	pthread_mutex_lock(&setup_lock);
	while (setup_done < o.threads)
		pthread_cond_wait(&setup_cond, &setup_lock);
	pthread_mutex_unlock(&setup_lock);

	int failed = 0;
	for (int i = 0; i < o.threads; i++) {
		if (ws[i].setup_err && !failed) {
			fprintf(stderr, "%s: worker-%d: %s: %s\n", bench_prog, i, ws[i].setup_what,
				strerror(ws[i].setup_err));
			failed = 1;
		}
	}

	int by_signal = 0;
	if (!failed) {
		int n = snprintf(buf, sizeof(buf), "%d\n", port);
		if (o.ready_file && bench_write_file(o.ready_file, buf, (size_t)n) < 0) {
			fprintf(stderr, "%s: cannot write --ready-file %s: %s\n", bench_prog,
				o.ready_file, strerror(errno));
			failed = 1;
		} else {
			printf("listening on %s:%d (mode %s, %d threads%s%s)\n", o.bind_str, port,
			       mode_names[o.mode], o.threads, o.reuseport ? ", reuseport" : "",
			       o.unshare ? ", unshare" : "");
			fflush(stdout);
			by_signal = wait_for_stop(&set, o.max_seconds);
			if (!by_signal)
				fprintf(stderr, "%s: --max-seconds %g reached, stopping\n", bench_prog,
					o.max_seconds);
		}
	}

	uint64_t one = 1;
	if (write(stop_fd, &one, sizeof(one)) != sizeof(one))
		bench_die("eventfd write: %s", strerror(errno));
	for (int i = 0; i < o.threads; i++)
		pthread_join(ws[i].thread, NULL);
	double seconds = (double)(bench_now_ns() - start) / 1e9;

	if (!failed)
		write_summary(&o, ws, port, seconds, by_signal);
	for (int i = 0; i < o.threads; i++)
		if (ws[i].listen_fd != shared_fd || i == 0)
			close(ws[i].listen_fd);
	close(stop_fd);
	free(ws);
	return failed ? 1 : 0;
}
