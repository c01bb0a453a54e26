/* SPDX-License-Identifier: MIT */
#include "transcript.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

/* Longer than any healthy scenario by far; the runner's own timeout is the
 * primary guard, this one also covers a scenario started by hand. */
#define T_ALARM_SECONDS 30

static __thread int hold_on;
static __thread size_t hold_len;
static __thread char hold_buf[16384];

static void write_all(const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(STDOUT_FILENO, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			_exit(3);
		p += w;
		n -= (size_t)w;
	}
}

void t_begin(const char *name)
{
	alarm(T_ALARM_SECONDS);
	t_log("# scenario %s", name);
}

static void emit(const char *line, size_t n)
{
	if (hold_on && hold_len + n <= sizeof(hold_buf)) {
		memcpy(hold_buf + hold_len, line, n);
		hold_len += n;
		return;
	}
	write_all(line, n);
}

void t_log(const char *fmt, ...)
{
	char line[8192];
	va_list ap;
	int saved = errno;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n > sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	emit(line, (size_t)n);
	errno = saved;
}

void t_hold(int on)
{
	if (!on && hold_len > 0) {
		write_all(hold_buf, hold_len);
		hold_len = 0;
	}
	hold_on = on;
}

const char *t_errname(int e)
{
	const char *s = strerrorname_np(e);

	return s ? s : "E?";
}

long t_res(const char *what, long rc)
{
	int e = errno;

	if (rc == -1)
		t_log("%s = -1 %s", what, t_errname(e));
	else
		t_log("%s = %ld", what, rc);
	errno = e;
	return rc;
}

static const struct {
	uint32_t bit;
	const char *name;
} mask_names[] = {
	{ EPOLLIN, "IN" }, { EPOLLPRI, "PRI" }, { EPOLLOUT, "OUT" },
	{ EPOLLERR, "ERR" }, { EPOLLHUP, "HUP" }, { EPOLLRDNORM, "RDNORM" },
	{ EPOLLRDBAND, "RDBAND" }, { EPOLLWRNORM, "WRNORM" },
	{ EPOLLWRBAND, "WRBAND" }, { EPOLLMSG, "MSG" }, { EPOLLRDHUP, "RDHUP" },
	{ EPOLLEXCLUSIVE, "EXCLUSIVE" }, { EPOLLWAKEUP, "WAKEUP" },
	{ EPOLLONESHOT, "ONESHOT" }, { EPOLLET, "ET" },
};

const char *t_mask(uint32_t events, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(mask_names) / sizeof(mask_names[0]); i++) {
		if (!(events & mask_names[i].bit))
			continue;
		events &= ~mask_names[i].bit;
		off += (size_t)snprintf(buf + off, len - off, "%s%s",
					off ? "|" : "", mask_names[i].name);
		if (off >= len)
			return buf;
	}
	if (events || off == 0)
		snprintf(buf + off, len - off, "%s0x%x", off ? "|" : "", events);
	return buf;
}

static const char *op_name(int op)
{
	switch (op) {
	case EPOLL_CTL_ADD: return "ADD";
	case EPOLL_CTL_MOD: return "MOD";
	case EPOLL_CTL_DEL: return "DEL";
	default: return "OP?";
	}
}

int t_ctl_quiet(int ep, int op, int fd, uint32_t events, uint64_t data)
{
	struct epoll_event ev = { .events = events, .data.u64 = data };

	return epoll_ctl(ep, op, fd, &ev);
}

int t_ctl(int ep, const char *epname, int op, int fd, const char *fdname,
	  uint32_t events, uint64_t data)
{
	char m[128];
	char what[256];
	int rc = t_ctl_quiet(ep, op, fd, events, data);
	int e = errno;

	snprintf(what, sizeof(what), "epoll_ctl(%s, %s, %s, %s, %llu)", epname,
		 op_name(op), fdname, t_mask(events, m, sizeof(m)),
		 (unsigned long long)data);
	errno = e;
	return (int)t_res(what, rc);
}

static int cmp_event(const void *a, const void *b)
{
	const struct epoll_event *x = a, *y = b;

	if (x->data.u64 != y->data.u64)
		return x->data.u64 < y->data.u64 ? -1 : 1;
	if (x->events != y->events)
		return x->events < y->events ? -1 : 1;
	return 0;
}

/* Events per transcript line: a short wait stays on one line, a long one
 * wraps so that a diff points at the events that differ. */
#define EVENTS_PER_LINE 8

int t_events(const char *what, int rc, struct epoll_event *ev)
{
	char line[1024];
	size_t off;
	int e = errno;

	if (rc < 0) {
		t_res(what, rc);
		errno = e;
		return rc;
	}
	qsort(ev, (size_t)rc, sizeof(*ev), cmp_event);
	off = (size_t)snprintf(line, sizeof(line), "%s = %d", what, rc);
	for (int i = 0; i < rc; i++) {
		char m[128];

		if (rc > EVENTS_PER_LINE && i % EVENTS_PER_LINE == 0) {
			t_log("%s", line);
			off = (size_t)snprintf(line, sizeof(line), " ");
		}
		off += (size_t)snprintf(line + off, sizeof(line) - off, " [%s %llu]",
					t_mask(ev[i].events, m, sizeof(m)),
					(unsigned long long)ev[i].data.u64);
		if (off >= sizeof(line))
			off = sizeof(line) - 1;
	}
	t_log("%s", line);
	errno = e;
	return rc;
}

int t_wait(const char *what, int ep, int maxevents, int timeout_ms)
{
	struct epoll_event ev[T_MAX_EVENTS];
	int rc;

	if (maxevents > T_MAX_EVENTS)
		t_die("t_wait: maxevents too large");
	rc = epoll_wait(ep, ev, maxevents, timeout_ms);
	return t_events(what, rc, ev);
}

void t_die(const char *what)
{
	fprintf(stderr, "conformance: setup failed: %s: %s\n", what, strerror(errno));
	exit(2);
}

int t_eventfd(unsigned int initval)
{
	int fd = eventfd(initval, EFD_NONBLOCK);

	if (fd < 0)
		t_die("eventfd");
	return fd;
}

int t_reopen_on(int expected, unsigned int initval)
{
	int fd = t_eventfd(initval);

	t_log("new fd takes the same number: %s", fd == expected ? "yes" : "no");
	return fd;
}

int t_epoll(void)
{
	int fd = epoll_create1(0);

	if (fd < 0)
		t_die("epoll_create1");
	return fd;
}

int t_dup(int fd)
{
	int d = dup(fd);

	if (d < 0)
		t_die("dup");
	return d;
}

void t_pipe(int fds[2])
{
	if (pipe2(fds, O_NONBLOCK) < 0)
		t_die("pipe2");
}

void t_eventfd_set(int efd, int readable)
{
	eventfd_t v;

	if (readable) {
		if (eventfd_write(efd, 1) < 0)
			t_die("eventfd_write");
	} else if (eventfd_read(efd, &v) < 0 && errno != EAGAIN) {
		t_die("eventfd_read");
	}
}

void t_wait_sleeping(pid_t tid)
{
	char path[64];
	struct timespec ms = { 0, 1000000 };

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)tid);
	for (int i = 0; i < 5000; i++) {
		char buf[512];
		FILE *f = fopen(path, "re");
		const char *p = NULL;
		size_t n = 0;

		if (f) {
			n = fread(buf, 1, sizeof(buf) - 1, f);
			fclose(f);
		}
		buf[n] = '\0';
		/* The state follows the last ')' (comm may contain one). */
		p = strrchr(buf, ')');
		if (p && p[1] == ' ' && p[2] == 'S')
			return;
		nanosleep(&ms, NULL);
	}
}

void t_log_set(const char *what, const int *v, int n)
{
	char line[8192];
	size_t off = (size_t)snprintf(line, sizeof(line), "%s: %d:", what, n);

	for (int i = 0; i < n && off < sizeof(line); ) {
		int j = i;

		while (j + 1 < n && v[j + 1] == v[j] + 1)
			j++;
		if (j == i)
			off += (size_t)snprintf(line + off, sizeof(line) - off, " %d", v[i]);
		else
			off += (size_t)snprintf(line + off, sizeof(line) - off, " %d-%d", v[i], v[j]);
		i = j + 1;
	}
	t_log("%s", line);
}

void t_chan_init(struct t_chan *c)
{
	int fds[2];

	if (pipe2(fds, O_CLOEXEC) < 0)
		t_die("pipe2");
	c->r = fds[0];
	c->w = fds[1];
}

void t_post(struct t_chan *c)
{
	if (write(c->w, "x", 1) != 1)
		t_die("hand-over write");
}

void t_take(struct t_chan *c)
{
	char x;
	ssize_t n;

	do
		n = read(c->r, &x, 1);
	while (n < 0 && errno == EINTR);
	if (n != 1)
		t_die("hand-over read");
}
