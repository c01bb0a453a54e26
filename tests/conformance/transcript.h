/* SPDX-License-Identifier: MIT */
/*
 * Shared transcript helpers for the epoll conformance scenarios.
 *
 * A scenario prints what the application can observe -- return values,
 * errno names, the events each wait returns -- and nothing that depends on
 * time or on where the kernel places things.  The runner diffs the transcript
 * of a native run against runs under LD_PRELOAD=libepbatch.so, so any line
 * that could differ between two native runs would be a false alarm: events
 * are sorted, fd numbers are printed only where the number itself is what the
 * scenario checks, and data fields carry small tags instead of fd numbers.
 */
#ifndef CONFORMANCE_TRANSCRIPT_H
#define CONFORMANCE_TRANSCRIPT_H

#include <stdint.h>
#include <sys/epoll.h>
#include <sys/types.h>

/* Largest number of events any single wait in a scenario asks for. */
#define T_MAX_EVENTS 2048

/* Start a scenario: unbuffered output, a hard time limit (a hang is a failure). */
void t_begin(const char *name);

/* One transcript line.  Written with a single write(2) so that lines from
 * forked children and threads never mix within a line. */
void t_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Hold this thread's lines in a buffer instead of writing them (on = 1) and
 * write them out (on = 0).  Used where two threads act concurrently: each
 * holds its lines and releases them at a point the scenario orders.
 */
void t_hold(int on);

/* Print "what = rc" or "what = -1 ENAME" and return rc with errno intact. */
long t_res(const char *what, long rc);
#define T(expr) t_res(#expr, (long)(expr))

/* epoll_ctl with a transcript line; fd and epoll fd are named, not numbered. */
int t_ctl(int ep, const char *epname, int op, int fd, const char *fdname,
	  uint32_t events, uint64_t data);
#define CTL(ep, op, fd, ev, data) t_ctl((ep), #ep, (op), (fd), #fd, (ev), (data))

/* epoll_ctl without a transcript line, for loops that print a summary. */
int t_ctl_quiet(int ep, int op, int fd, uint32_t events, uint64_t data);

/* Print the result of a wait that filled ev[] with rc events, in canonical
 * order (sorted by data, then mask), and return rc with errno intact. */
int t_events(const char *what, int rc, struct epoll_event *ev);

/* epoll_wait(ep, maxevents, timeout_ms) followed by t_events(). */
int t_wait(const char *what, int ep, int maxevents, int timeout_ms);
#define WAIT(ep, max, to) t_wait("epoll_wait(" #ep ", " #max ", " #to ")", (ep), (max), (to))

/* The first wait on an epoll fd from the calling thread: the shim defers
 * epoll_ctl only on an epoll fd the calling thread has waited on, so a
 * scenario primes before the sequence it means to test. */
#define PRIME(ep) WAIT(ep, 8, 0)

/* Format an events mask as "IN|OUT|..." into buf. */
const char *t_mask(uint32_t events, char *buf, size_t len);

/* errno as its symbolic name ("EEXIST"). */
const char *t_errname(int e);

/* Setup failure (not part of what is compared): one line on stderr, exit 2. */
void t_die(const char *what) __attribute__((noreturn));

/* Setup helpers that never fail silently. */
int t_eventfd(unsigned int initval);	/* initval > 0: readable at once */
int t_epoll(void);
int t_dup(int fd);
void t_pipe(int fds[2]);
void t_eventfd_set(int efd, int readable);	/* make an eventfd (un)readable */
/* A new eventfd that should land on the number just freed (logs whether it did). */
int t_reopen_on(int expected, unsigned int initval);

/* Wait (bounded) until thread or process tid sleeps, e.g. blocked in epoll_wait.
 * Only makes the interesting interleaving likely: a scenario's transcript
 * must not depend on whether it was reached. */
void t_wait_sleeping(pid_t tid);

/* A one-way hand-over between threads or processes (a pipe): the side
 * that takes blocks until the other posts.  Orders the transcript. */
struct t_chan {
	int r, w;
};
void t_chan_init(struct t_chan *c);
void t_post(struct t_chan *c);
void t_take(struct t_chan *c);

/* Print a list of integers compactly as ranges ("0-9 12 14-20"). */
void t_log_set(const char *what, const int *v, int n);

#endif
