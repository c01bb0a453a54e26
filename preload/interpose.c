/* SPDX-License-Identifier: MIT */
/*
 * The functions libepbatch.so interposes.  Each one does the libc call (found
 * with dlsym(RTLD_NEXT)) plus what the shim must do around it: learn which
 * fds are pollable or epoll fds, flush before a queued op could become wrong
 * (close, dup2 over it, fork, exec, spawn, poll on an epoll fd), and route
 * epoll_ctl/epoll_wait through ctl.c and wait.c.
 */
#include "shim.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <spawn.h>
#include <stdarg.h>
#include <string.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/select.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define EXPORT __attribute__((visibility("default")))

/* Look the libc function up once; the pointer is then read without a lock
 * (a racing second lookup stores the same value). */
#define REAL(name)                                                           \
	static typeof(&name) real_fn;                                        \
	if (unlikely(!real_fn))                                              \
		real_fn = (typeof(&name))dlsym(RTLD_NEXT, #name);            \
	shim_init()

/* ---- epoll ---- */

EXPORT int epoll_create(int size)
{
	REAL(epoll_create);
	int fd;

	shim_backend_init();
	fd = real_fn(size);

	if (fd >= 0)
		note_epoll(fd, 0);
	return fd;
}

EXPORT int epoll_create1(int flags)
{
	REAL(epoll_create1);
	int fd;

	shim_backend_init();
	fd = real_fn(flags);

	if (fd >= 0)
		note_epoll(fd, flags);
	return fd;
}

/* Until the shim is set up, ctl_careful holds CAREFUL_INIT: shim_ctl's
 * careful way (ctl_passthrough) sets it up first. */
EXPORT HOT int epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
	return shim_ctl(epfd, op, fd, ev);
}

/* The first wait of a process whose shim is not set up yet, or any wait
 * but the common one below. */
static __attribute__((noinline)) int
wait_slow(int epfd, struct epoll_event *evs, int maxevents, long wk, const struct timespec *ts,
	  const sigset_t *sigmask)
{
	shim_init();
	return shim_wait(epfd, evs, maxevents, wk_ms(wk), ts, sigmask, wk_kind(wk));
}

/* The common wait below, at an iteration whose policy must be decided: a
 * batched one past a block of quiet ones, or a direct one
 * policy_count_wait() could not answer. */
static HOT __attribute__((noinline)) int
wait_decide(int epfd, struct epoll_event *evs, int maxevents, int ms, const struct timespec *ts,
	    const sigset_t *sigmask, enum epbatch_wait_kind kind)
{
	policy_decide(thr.q, wait_fused_poll(epfd, ms, ts, kind));
	return shim_wait_flush(epfd, evs, maxevents, ms, ts, sigmask, kind);
}

/* Whether epfd is the instance this thread last waited on as its owner
 * (thr.owned, set by shim_wait once the thread has a queue; OWNED_NONE
 * matches no slot).  A match says the shim is set up: this thread's own
 * shim_wait saw it so before it set thr.owned (before that, main_tab's
 * size is 0 and thr.owned OWNED_NONE). */
static inline __attribute__((always_inline)) int wait_on_owned(int epfd)
{
	struct fdtab *t = thr.tab;

	return (unsigned)epfd < (unsigned)t->size &&
	       atomic_load_explicit(&t->slot[epfd], memory_order_acquire) == thr.owned;
}

/* The common wait below, when the calling thread is inside the shim (a
 * signal handler's wait) or batches this iteration (lp.batch: on the
 * instance it owns, a batched iteration's wait is only counted inside a
 * block, else decided as in wait_decide). */
static HOT __attribute__((noinline)) int
wait_other(int epfd, struct epoll_event *evs, int maxevents, long wk, const struct timespec *ts,
	   const sigset_t *sigmask)
{
	int ms = wk_ms(wk);
	enum epbatch_wait_kind kind = wk_kind(wk);

	if (unlikely(thr.crit) || unlikely(!wait_on_owned(epfd)))
		return wait_slow(epfd, evs, maxevents, wk, ts, sigmask);
	if (likely(policy_batch_quiet(thr.q)))
		return shim_wait_flush(epfd, evs, maxevents, ms, ts, sigmask, kind);
	return wait_decide(epfd, evs, maxevents, ms, ts, sigmask, kind);
}

/* A direct iteration's wait with ops queued (a signal handler's, or left
 * from a batched iteration): the flush first. */
static __attribute__((noinline)) int
wait_queued(int epfd, struct epoll_event *evs, int maxevents, long wk, const struct timespec *ts,
	    const sigset_t *sigmask)
{
	return shim_wait_flush(epfd, evs, maxevents, wk_ms(wk), ts, sigmask, wk_kind(wk));
}

/* A direct iteration's wait, its policy done: the syscall, or libc's
 * wrapper (bare_wait), unless ops are queued. */
static inline __attribute__((always_inline)) int
wait_direct(int epfd, struct epoll_event *evs, int maxevents, int ms,
	    const struct timespec *ts, const sigset_t *sigmask, enum epbatch_wait_kind kind)
{
	struct tq *q = thr.q;	/* not NULL: thr.owned is set only then */

	if (unlikely(q->n | (unsigned)atomic_load_explicit(&thr.nsig, memory_order_relaxed)))
		return wait_queued(epfd, evs, maxevents, wk_pack(ms, kind), ts, sigmask);
	return bare_wait(epfd, evs, maxevents, ms, ts, sigmask, kind);
}

/* The common wait below at the last wait of a block (policy_wait_quiet):
 * the block counted, and the policy decided if it must. */
static HOT __attribute__((noinline)) int
wait_count(int epfd, struct epoll_event *evs, int maxevents, long wk, const struct timespec *ts,
	   const sigset_t *sigmask)
{
	int ms = wk_ms(wk);
	enum epbatch_wait_kind kind = wk_kind(wk);

	if (unlikely(!policy_count_wait(thr.q)))
		return wait_decide(epfd, evs, maxevents, ms, ts, sigmask, kind);
	return wait_direct(epfd, evs, maxevents, ms, ts, sigmask, kind);
}

/*
 * The common wait, inlined into each wrapper with its kind constant: a loop
 * thread that goes the direct way waits again on the instance it owns
 * (thr.owned, set by shim_wait), its iteration stays direct (a quiet wait,
 * else wait_count) and nothing is queued: the syscall itself.  A batched
 * iteration on it goes to wait_other.  The tests read thread locals and the
 * fd's slot only (crit and lp.batch in one test, the queue's length and the
 * signal side list's in another), and every other way is a jump with six
 * arguments (wk_pack), so the wrapper has no stack frame.
 */
static inline __attribute__((always_inline)) int
wait_common(int epfd, struct epoll_event *evs, int maxevents, int ms,
	    const struct timespec *ts, const sigset_t *sigmask, enum epbatch_wait_kind kind)
{
	if (unlikely(thr.crit | thr.lp.batch))
		return wait_other(epfd, evs, maxevents, wk_pack(ms, kind), ts, sigmask);
	if (unlikely(!wait_on_owned(epfd)))
		return wait_slow(epfd, evs, maxevents, wk_pack(ms, kind), ts, sigmask);
	if (unlikely(!policy_wait_quiet()))
		return wait_count(epfd, evs, maxevents, wk_pack(ms, kind), ts, sigmask);
	return wait_direct(epfd, evs, maxevents, ms, ts, sigmask, kind);
}

EXPORT HOT int epoll_wait(int epfd, struct epoll_event *evs, int maxevents, int timeout)
{
	return wait_common(epfd, evs, maxevents, timeout, NULL, NULL, EPB_WAIT);
}

EXPORT HOT int epoll_pwait(int epfd, struct epoll_event *evs, int maxevents, int timeout,
		       const sigset_t *sigmask)
{
	return wait_common(epfd, evs, maxevents, timeout, NULL, sigmask, EPB_PWAIT);
}

EXPORT HOT int epoll_pwait2(int epfd, struct epoll_event *evs, int maxevents,
			const struct timespec *timeout, const sigset_t *sigmask)
{
	return wait_common(epfd, evs, maxevents, 0, timeout, sigmask, EPB_PWAIT2);
}

/* The waits stay cancellation points (cancel.c). */
EXPORT int pthread_cancel(pthread_t th)
{
	REAL(pthread_cancel);

	return shim_cancel(real_fn, th);
}

/* A signal handler may jump out of a wait, as natively (jump.c). */
#define JUMP(name, real)                                                       \
	EXPORT __attribute__((noreturn)) void name(struct __jmp_buf_tag env[1], int val) \
	{                                                                      \
		shim_jump(env);                                                \
		real(env, val);                                                \
		__builtin_unreachable();	/* glibc's jumps do not return */  \
	}
JUMP(longjmp, real_longjmp)
JUMP(_longjmp, real__longjmp)
JUMP(siglongjmp, real_siglongjmp)
JUMP(__longjmp_chk, real_longjmp_chk)

/* ---- fds the shim learns about ---- */

static inline int pollable(int fd)
{
	note_pollable(fd);	/* -1: beyond the table, like any fd it cannot hold */
	return fd;
}

static int unknown(int fd)
{
	/* A new file under this number: whatever the mirror said about the
	 * number belonged to a file that is gone. */
	if (fd >= 0)
		slot_reset(fd);
	return fd;
}

/*
 * A wrapper whose libc function returns one new pollable fd (or -1).  Its
 * common path is one test, the libc call and note_pollable(), with nothing
 * to keep across a call of the shim's: the lookup and the shim's set-up of
 * a first call (REAL) are a copy of the wrapper of their own, reached by a
 * jump with the arguments as they came.  real_<name> is stored (release)
 * only once the shim is set up, so a thread that loads it (acquire) sees
 * the mirror's tables too.
 */
#define POLLABLE_WRAPPER(name, params, args)                                         \
	static _Atomic(typeof(&name)) real_##name;                                   \
	static __attribute__((noinline, cold)) int first_##name params               \
	{                                                                            \
		REAL(name);                                                          \
		if (atomic_load(&shim_inited))                                       \
			atomic_store_explicit(&real_##name, real_fn, memory_order_release); \
		return pollable(real_fn args);                                       \
	}                                                                            \
	EXPORT int name params                                                       \
	{                                                                            \
		typeof(&name) fn = atomic_load_explicit(&real_##name, memory_order_acquire); \
                                                                                     \
		if (unlikely(!fn))                                                   \
			return first_##name args;                                    \
		return pollable(fn args);                                            \
	}

POLLABLE_WRAPPER(socket, (int domain, int type, int protocol), (domain, type, protocol))
POLLABLE_WRAPPER(accept, (int fd, struct sockaddr *addr, socklen_t *len), (fd, addr, len))
POLLABLE_WRAPPER(accept4, (int fd, struct sockaddr *addr, socklen_t *len, int flags),
		 (fd, addr, len, flags))
POLLABLE_WRAPPER(eventfd, (unsigned int initval, int flags), (initval, flags))
POLLABLE_WRAPPER(timerfd_create, (int clockid, int flags), (clockid, flags))
POLLABLE_WRAPPER(inotify_init, (void), ())
POLLABLE_WRAPPER(inotify_init1, (int flags), (flags))

EXPORT int socketpair(int domain, int type, int protocol, int sv[2])
{
	REAL(socketpair);
	int ret = real_fn(domain, type, protocol, sv);

	if (ret == 0) {
		pollable(sv[0]);
		pollable(sv[1]);
	}
	return ret;
}

EXPORT int pipe(int fds[2])
{
	REAL(pipe);
	int ret = real_fn(fds);

	if (ret == 0) {
		pollable(fds[0]);
		pollable(fds[1]);
	}
	return ret;
}

EXPORT int pipe2(int fds[2], int flags)
{
	REAL(pipe2);
	int ret = real_fn(fds, flags);

	if (ret == 0) {
		pollable(fds[0]);
		pollable(fds[1]);
	}
	return ret;
}

EXPORT int signalfd(int fd, const sigset_t *mask, int flags)
{
	REAL(signalfd);
	int ret = real_fn(fd, mask, flags);

	return fd == -1 ? pollable(ret) : ret;
}

static mode_t open_mode(int flags, va_list ap)
{
	return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ? va_arg(ap, mode_t) : 0;
}

EXPORT int open(const char *path, int flags, ...)
{
	REAL(open);
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = open_mode(flags, ap);
	va_end(ap);
	return unknown(real_fn(path, flags, mode));
}

EXPORT int open64(const char *path, int flags, ...)
{
	REAL(open64);
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = open_mode(flags, ap);
	va_end(ap);
	return unknown(real_fn(path, flags, mode));
}

EXPORT int openat(int dirfd, const char *path, int flags, ...)
{
	REAL(openat);
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = open_mode(flags, ap);
	va_end(ap);
	return unknown(real_fn(dirfd, path, flags, mode));
}

EXPORT int openat64(int dirfd, const char *path, int flags, ...)
{
	REAL(openat64);
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = open_mode(flags, ap);
	va_end(ap);
	return unknown(real_fn(dirfd, path, flags, mode));
}

EXPORT int creat(const char *path, mode_t mode)
{
	REAL(creat);
	return unknown(real_fn(path, mode));
}

EXPORT ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
	REAL(recvmsg);
	ssize_t ret = real_fn(fd, msg, flags);

	if (ret >= 0 && msg && msg->msg_controllen) {
		for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
			if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
				continue;
			for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
				int rfd;

				memcpy(&rfd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
				unknown(rfd);
			}
		}
	}
	return ret;
}

/* ---- close and dup: an fd number must never carry a queued op over to
 * another open file ---- */

/* close() past close_quick(), or before the shim is set up. */
static __attribute__((noinline)) int close_slow(int fd)
{
	int rc;

	shim_init();
	if (shim_close(fd, &rc))
		return rc;
	return real_close(fd);
}

/* close_quick() says yes only to an fd below the mirror's size, which is
 * not 0 once the shim is set up: real_close is resolved by then. */
EXPORT int close(int fd)
{
	if (likely(close_quick(fd)))
		return real_close(fd);
	return close_slow(fd);
}


static void before_close_range(unsigned first, unsigned last, int flags)
{
	if (first <= last && !(flags & CLOSE_RANGE_CLOEXEC)) {
		/* The kernel unshares first, then closes: mirror that (the
		 * queued ops name files of the table being left: flush them). */
		if (flags & CLOSE_RANGE_UNSHARE) {
			flush_all(0);
			shim_unshare_tab();
		}
		shim_close_span(first, last);
	}
}

EXPORT int close_range(unsigned first, unsigned last, int flags)
{
	REAL(close_range);
	before_close_range(first, last, flags);
	return real_fn(first, last, flags);
}

EXPORT void closefrom(int lowfd)
{
	REAL(closefrom);

	if (lowfd >= 0)
		shim_close_span((unsigned)lowfd, ~0U);
	real_fn(lowfd);
}

/* dup2/dup3 replace newfd's file (dup2 onto itself changes nothing). */
static void before_dup2(int oldfd, int newfd)
{
	if (oldfd != newfd)
		shim_close_prepare(newfd);
}

/* A new number for oldfd's file.  dup2(fd, fd) returns fd and changes
 * nothing: fd's slot stays as it is (its Q bit too, which the next close
 * of fd must see to flush what is queued on it first). */
static int after_dup(int oldfd, int ret)
{
	if (ret >= 0 && ret != oldfd)
		note_dup(oldfd, ret);
	return ret;
}

EXPORT int dup(int fd)
{
	REAL(dup);
	return after_dup(fd, real_fn(fd));
}

EXPORT int dup2(int oldfd, int newfd)
{
	REAL(dup2);
	before_dup2(oldfd, newfd);
	return after_dup(oldfd, real_fn(oldfd, newfd));
}

EXPORT int dup3(int oldfd, int newfd, int flags)
{
	REAL(dup3);
	before_dup2(oldfd, newfd);
	return after_dup(oldfd, real_fn(oldfd, newfd, flags));
}

static int fcntl_common(int (*fn)(int, int, ...), int fd, int cmd, void *arg)
{
	int ret = fn(fd, cmd, arg);

	if (ret >= 0 && (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC))
		note_dup(fd, ret);
	return ret;
}

EXPORT int fcntl(int fd, int cmd, ...)
{
	REAL(fcntl);
	va_list ap;
	void *arg;

	va_start(ap, cmd);
	arg = va_arg(ap, void *);
	va_end(ap);
	return fcntl_common(real_fn, fd, cmd, arg);
}

int fcntl64(int fd, int cmd, ...);
EXPORT int fcntl64(int fd, int cmd, ...)
{
	REAL(fcntl64);
	va_list ap;
	void *arg;

	va_start(ap, cmd);
	arg = va_arg(ap, void *);
	va_end(ap);
	return fcntl_common(real_fn, fd, cmd, arg);
}

/* ---- poll/select on an epoll fd is a wait the shim must see ---- */

EXPORT int poll(struct pollfd *fds, nfds_t n, int timeout)
{
	REAL(poll);
	for (nfds_t i = 0; i < n; i++)
		shim_poll_epfd(fds[i].fd);
	return real_fn(fds, n, timeout);
}

EXPORT int ppoll(struct pollfd *fds, nfds_t n, const struct timespec *ts, const sigset_t *mask)
{
	REAL(ppoll);
	for (nfds_t i = 0; i < n; i++)
		shim_poll_epfd(fds[i].fd);
	return real_fn(fds, n, ts, mask);
}

static void select_sets(int n, fd_set *r, fd_set *w, fd_set *e)
{
	for (int fd = 0; fd < n && fd < FD_SETSIZE; fd++)
		if ((r && FD_ISSET(fd, r)) || (w && FD_ISSET(fd, w)) || (e && FD_ISSET(fd, e)))
			shim_poll_epfd(fd);
}

EXPORT int select(int n, fd_set *r, fd_set *w, fd_set *e, struct timeval *tv)
{
	REAL(select);
	select_sets(n, r, w, e);
	return real_fn(n, r, w, e, tv);
}

EXPORT int pselect(int n, fd_set *r, fd_set *w, fd_set *e, const struct timespec *ts,
		   const sigset_t *mask)
{
	REAL(pselect);
	select_sets(n, r, w, e);
	return real_fn(n, r, w, e, ts, mask);
}

/* ---- new processes and exec: nothing queued may be lost or run twice ---- */

/*
 * A thread that unshares its fd table itself (a server's own --unshare, as
 * the reference server and Apache Traffic Server do): from then on its fd
 * numbers mean other files than the other threads' do, so it needs its own
 * mirror, exactly as with EPBATCH_UNSHARE.  Without this, every thread kept
 * writing the one shared mirror: a worker's accept of fd N reset the slot
 * another worker's fd N was registered through, and most ops passed
 * through (or, worse, were deferred on a prediction made from the other
 * table's state).
 */
EXPORT int unshare(int flags)
{
	REAL(unshare);
	int ret;

	if (!(flags & CLONE_FILES))
		return real_fn(flags);
	flush_all(0);	/* queued ops name files of the table we leave */
	ret = real_fn(flags);
	if (ret == 0)
		shim_unshare_tab();
	return ret;
}

EXPORT pid_t fork(void)
{
	REAL(fork);
	pid_t pid = real_fn();

	if (pid != 0)
		fork_parent(pid);
	return pid;
}

/* ---- reaping a forked child: deferral may come back (fork_reaped) ---- */

EXPORT pid_t waitpid(pid_t pid, int *status, int options)
{
	REAL(waitpid);
	pid_t r = real_fn(pid, status, options);

	fork_reaped(r);
	return r;
}

EXPORT pid_t wait(int *status)
{
	REAL(wait);
	pid_t r = real_fn(status);

	fork_reaped(r);
	return r;
}

EXPORT pid_t wait3(int *status, int options, struct rusage *ru)
{
	REAL(wait3);
	pid_t r = real_fn(status, options, ru);

	fork_reaped(r);
	return r;
}

EXPORT pid_t wait4(pid_t pid, int *status, int options, struct rusage *ru)
{
	REAL(wait4);
	pid_t r = real_fn(pid, status, options, ru);

	fork_reaped(r);
	return r;
}

EXPORT int waitid(idtype_t idtype, id_t id, siginfo_t *info, int options)
{
	REAL(waitid);
	int r = real_fn(idtype, id, info, options);

	/* WNOWAIT leaves it waitable: not reaped yet */
	if (r == 0 && info && !(options & WNOWAIT) && (options & (WEXITED)))
		fork_reaped(info->si_pid);
	return r;
}

/* A clone that does not share the fd table and memory is a new process
 * holding every epoll instance: nothing more is deferred on them. */
static void before_clone(unsigned long flags)
{
	shim_init();
	if ((flags & CLONE_FILES) && (flags & CLONE_VM)) {
		flush_all(0);
	} else {
		flush_all(1);
		mark_all_epi(EPI_XPROC, 0);
	}
}

EXPORT int clone(int (*fn)(void *), void *stack, int flags, void *arg, ...)
{
	REAL(clone);
	va_list ap;
	void *ptid, *tls, *ctid;

	va_start(ap, arg);
	ptid = va_arg(ap, void *);
	tls = va_arg(ap, void *);
	ctid = va_arg(ap, void *);
	va_end(ap);
	before_clone((unsigned long)flags);
	return real_fn(fn, stack, flags, arg, ptid, tls, ctid);
}

EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
	REAL(execve);
	proc_before_exec();
	return real_fn(path, argv, envp);
}

EXPORT int execv(const char *path, char *const argv[])
{
	REAL(execv);
	proc_before_exec();
	return real_fn(path, argv);
}

EXPORT int execvp(const char *file, char *const argv[])
{
	REAL(execvp);
	proc_before_exec();
	return real_fn(file, argv);
}

EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
	REAL(execvpe);
	proc_before_exec();
	return real_fn(file, argv, envp);
}

EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
	REAL(fexecve);
	proc_before_exec();
	return real_fn(fd, argv, envp);
}

/* execl*: collect the variadic arguments, then take the execv* path. */
static size_t count_args(va_list ap)
{
	size_t n = 1;
	va_list c;

	va_copy(c, ap);
	while (va_arg(c, char *))
		n++;
	va_end(c);
	return n;
}

enum exec_form { EXEC_L, EXEC_LP, EXEC_LE };

/* argv from the list (arg, then ap up to its NULL), and for execle the envp
 * after it; then execv, execvp or execve. */
static int exec_list(enum exec_form form, const char *path, const char *arg, va_list *ap)
{
	size_t n = count_args(*ap);
	char *argv[n + 1];

	argv[0] = (char *)arg;
	for (size_t i = 1; i <= n; i++)
		argv[i] = va_arg(*ap, char *);
	if (form == EXEC_LE)
		return execve(path, argv, va_arg(*ap, char **));
	return form == EXEC_LP ? execvp(path, argv) : execv(path, argv);
}

/* execl, execlp, execle: exec_list() of the list */
#define EXEC_LIST_WRAPPER(name, form)                                        \
	EXPORT int name(const char *path, const char *arg, ...)              \
	{                                                                    \
		va_list ap;                                                  \
		int rc;                                                      \
                                                                             \
		va_start(ap, arg);                                           \
		rc = exec_list(form, path, arg, &ap);                        \
		va_end(ap);                                                  \
		return rc;                                                   \
	}

EXEC_LIST_WRAPPER(execl, EXEC_L)
EXEC_LIST_WRAPPER(execlp, EXEC_LP)
EXEC_LIST_WRAPPER(execle, EXEC_LE)

EXPORT int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
		       const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	REAL(posix_spawn);
	proc_before_spawn();
	return real_fn(pid, path, fa, attr, argv, envp);
}

EXPORT int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
			const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	REAL(posix_spawnp);
	proc_before_spawn();
	return real_fn(pid, file, fa, attr, argv, envp);
}

/* A clone through syscall(): as the clone wrapper, and a child with its own
 * memory starts as a fork child does (pthread_atfork does not run for it).
 * One with CLONE_VM returns into this frame on a stack it shares: only the
 * syscall itself is made then. */
static long raw_clone(long n, const long *a, unsigned long flags)
{
	long r;

	before_clone(flags);
	r = real_syscall(n, a[0], a[1], a[2], a[3], a[4], a[5]);
	if (r == 0 && !(flags & CLONE_VM))
		proc_atfork_child();
	return r;
}

/*
 * libc's syscall(): programs that bypass the libc wrappers this way (libuv
 * closes every fd with syscall(SYS_close) to avoid a cancellation point)
 * get what the wrappers do, for the numbers that can make a queued op wrong
 * or lost: close, close_range, dup2, dup3, epoll_ctl, the epoll waits and
 * process-creating clones.  The call itself stays a raw syscall.  A
 * `syscall` instruction of the program's own (Go's runtime) stays invisible
 * to any LD_PRELOAD library (docs/shim.md).
 */
EXPORT long syscall(long n, ...)
{
	long a[6];
	va_list ap;
	int rc;

	va_start(ap, n);
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	shim_init();
	switch (n) {
	case SYS_close:
		if (close_first((int)a[0], &rc))
			return rc;
		break;
	case SYS_close_range:
		before_close_range((unsigned)a[0], (unsigned)a[1], (int)a[2]);
		break;
	case SYS_dup:
		return after_dup((int)a[0], (int)real_syscall(n, a[0]));
	case SYS_dup2:
	case SYS_dup3:
		before_dup2((int)a[0], (int)a[1]);
		return after_dup((int)a[0], (int)real_syscall(n, a[0], a[1], a[2]));
	case SYS_epoll_ctl:
		return shim_ctl((int)a[0], (int)a[1], (int)a[2], (struct epoll_event *)a[3]);
	case SYS_epoll_wait:
		return shim_wait((int)a[0], (struct epoll_event *)a[1], (int)a[2], (int)a[3],
				 NULL, NULL, EPB_WAIT);
	case SYS_epoll_pwait:
		if (a[4] && a[5] != SIGSET_SZ)
			break;	/* the kernel's EINVAL */
		return shim_wait((int)a[0], (struct epoll_event *)a[1], (int)a[2], (int)a[3],
				 NULL, (const sigset_t *)a[4], EPB_PWAIT);
	case SYS_epoll_pwait2:
		if (a[4] && a[5] != SIGSET_SZ)
			break;
		return shim_wait((int)a[0], (struct epoll_event *)a[1], (int)a[2], 0,
				 (const struct timespec *)a[3], (const sigset_t *)a[4],
				 EPB_PWAIT2);
	case SYS_clone:
		return raw_clone(n, a, (unsigned long)a[0]);
	case SYS_clone3:
		return raw_clone(n, a, a[0] && (size_t)a[1] >= sizeof(uint64_t) ?
				       *(const uint64_t *)a[0] : 0);
	case SYS_fork:
		return raw_clone(n, a, 0);
	}
	return real_syscall(n, a[0], a[1], a[2], a[3], a[4], a[5]);
}
