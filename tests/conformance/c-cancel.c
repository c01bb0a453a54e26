/* SPDX-License-Identifier: MIT */
/*
 * The epoll waits are cancellation points.  A thread blocked in
 * epoll_wait, epoll_pwait or epoll_pwait2, an op queued before the wait,
 * ends there when another thread cancels it, and the op is in effect
 * afterwards.  One with cancellation disabled goes on waiting: it returns
 * the event that comes later, and is cancelled only when it enables
 * cancellation again.  A single-threaded process that cancels itself and then
 * waits ends in the wait too: glibc's wrapper, which the shim skips while
 * the process has one thread (preload/real.h), checks then.  This program
 * reads __libc_single_threaded, so it holds a copy of it (a copy
 * relocation), which glibc leaves at 1 when a thread cancels itself.
 * Each case with another thread runs twice: in a child whose cancel is its
 * process's first (the shim's waits are its own syscalls until then, marked
 * for pthread_cancel), and in this process after others (libc's wrappers).
 */
#include "transcript.h"

#include <pthread.h>
#include <signal.h>
#include <sys/single_threaded.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum kind { WAIT, PWAIT, PWAIT2 };
static const char *const names[] = { "epoll_wait", "epoll_pwait", "epoll_pwait2" };

struct job {
	enum kind kind;
	int ep, fd;
	pid_t tid;
	struct t_chan ready;
};

static int wait_kind(enum kind kind, int ep, struct epoll_event *evs, int timeout_ms)
{
	struct timespec ts = { timeout_ms / 1000, (long)(timeout_ms % 1000) * 1000000L };
	sigset_t none;

	sigemptyset(&none);
	if (kind == WAIT)
		return epoll_wait(ep, evs, 8, timeout_ms);
	if (kind == PWAIT)
		return epoll_pwait(ep, evs, 8, timeout_ms, &none);
	return epoll_pwait2(ep, evs, 8, timeout_ms < 0 ? NULL : &ts, &none);
}

static void *waiter(void *arg)
{
	struct job *j = arg;
	struct epoll_event evs[8];

	j->tid = (pid_t)syscall(SYS_gettid);
	PRIME(j->ep);
	/* an op the shim may hold until this thread's next wait: the one
	 * that is cancelled */
	CTL(j->ep, EPOLL_CTL_ADD, j->fd, EPOLLIN, 5);
	t_post(&j->ready);
	wait_kind(j->kind, j->ep, evs, -1);
	t_log("waiter: %s returned", names[j->kind]);
	return NULL;
}

/* A waiter with cancellation disabled: the request waits for it. */
static void *deaf_waiter(void *arg)
{
	struct job *j = arg;
	struct epoll_event evs[8];
	int rc;

	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
	j->tid = (pid_t)syscall(SYS_gettid);
	PRIME(j->ep);
	CTL(j->ep, EPOLL_CTL_ADD, j->fd, EPOLLIN, 6);
	t_post(&j->ready);
	rc = wait_kind(j->kind, j->ep, evs, -1);
	t_events("deaf waiter: the wait returned", rc, evs);
	pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, NULL);
	pthread_testcancel();
	t_log("deaf waiter: not cancelled");
	return NULL;
}

/* A thread running fn on a new instance and eventfd (j), asleep in its
 * wait when this returns, and cancelled (th) */
static void start_cancelled(struct job *j, void *(*fn)(void *), pthread_t *th)
{
	j->ep = t_epoll();
	j->fd = t_eventfd(0);
	t_chan_init(&j->ready);
	if (pthread_create(th, NULL, fn, j) != 0)
		t_die("pthread_create");
	t_take(&j->ready);
	t_wait_sleeping(j->tid);
	if (pthread_cancel(*th) != 0)
		t_die("pthread_cancel");
}

static void join_cancelled(pthread_t th)
{
	void *ret;

	if (pthread_join(th, &ret) != 0)
		t_die("pthread_join");
	t_log("main: joined, %s", ret == PTHREAD_CANCELED ? "cancelled" : "not cancelled");
}

static void end_job(struct job *j)
{
	close(j->fd);
	close(j->ep);
	close(j->ready.r);
	close(j->ready.w);
}

static void deaf(enum kind kind)
{
	struct job j = { .kind = kind };
	pthread_t th;

	t_log("## %s, cancellation disabled, cancelled by another thread", names[kind]);
	start_cancelled(&j, deaf_waiter, &th);
	/* still (or again) asleep in its wait: then an event */
	t_wait_sleeping(j.tid);
	t_eventfd_set(j.fd, 1);
	join_cancelled(th);
	end_job(&j);
}

/* Another thread cancels one blocked in a wait. */
static void cancelled(enum kind kind)
{
	struct job j = { .kind = kind };
	pthread_t th;

	t_log("## %s, cancelled by another thread", names[kind]);
	start_cancelled(&j, waiter, &th);
	join_cancelled(th);
	/* the waiter's ADD: in effect, so the fd is now reported */
	t_eventfd_set(j.fd, 1);
	WAIT(j.ep, 8, 0);
	CTL(j.ep, EPOLL_CTL_DEL, j.fd, 0, 0);
	end_job(&j);
}

/* fn(kind) in a child process, forked while this one has one thread */
static void in_child(void (*fn)(enum kind), enum kind kind)
{
	int status;
	pid_t pid;

	pid = fork();
	if (pid < 0)
		t_die("fork");
	if (pid == 0) {
		fn(kind);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid)
		t_die("waitpid");
	if (WIFEXITED(status))
		t_log("child: exit %d", WEXITSTATUS(status));
	else
		t_log("child: signal %d", WTERMSIG(status));
}

/* The single-threaded child cancels itself, then waits (0 timeout, one
 * event ready). */
static void cancel_self(enum kind kind)
{
	struct epoll_event evs[8];
	int ep = t_epoll(), fd = t_eventfd(1), rc;

	PRIME(ep);
	CTL(ep, EPOLL_CTL_ADD, fd, EPOLLIN, 3);
	t_log("child: one thread: %s", __libc_single_threaded ? "yes" : "no");
	if (pthread_cancel(pthread_self()) != 0)
		t_die("pthread_cancel");
	rc = wait_kind(kind, ep, evs, 0);
	/* the transcript's write(2) is a cancellation point too */
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
	t_events("child: the wait returned", rc, evs);
}

static void self_cancelled(enum kind kind)
{
	t_log("## %s after cancelling itself, single-threaded", names[kind]);
	in_child(cancel_self, kind);
}

/* fn(kind) where its pthread_cancel is the first in its process (the
 * shim's waits go another way after one: preload/cancel.c) */
static void first_cancel(void (*fn)(enum kind), enum kind kind)
{
	t_log("# the process's first cancel:");
	in_child(fn, kind);
}

int main(void)
{
	t_begin("cancel");
	/* first, while the process has one thread */
	self_cancelled(WAIT);
	self_cancelled(PWAIT);
	self_cancelled(PWAIT2);
	for (enum kind k = WAIT; k <= PWAIT2; k++) {
		first_cancel(cancelled, k);
		first_cancel(deaf, k);
	}
	cancelled(WAIT);
	cancelled(PWAIT);
	cancelled(PWAIT2);
	deaf(WAIT);
	deaf(PWAIT2);
	return 0;
}
