/* SPDX-License-Identifier: MIT */
/*
 * An fd closed with libc's syscall(SYS_close, fd) instead of close(): libuv
 * does this (uv__close_nocancel), so every Node program does.  The
 * application's EPOLL_CTL_DEL (or MOD) came first and had succeeded; natively
 * the kernel applied it before the close.  The file stays open elsewhere --
 * a dup, a fork child, an fd in flight in a unix socket -- so the
 * registration (which belongs to the file) would survive the close if the
 * DEL had not been applied, and epoll would keep reporting the closed fd.
 */
#include "transcript.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static long raw_close(int fd)
{
	return syscall(SYS_close, fd);
}

/* A one-byte message over a unix socket with room for one fd (SCM_RIGHTS). */
struct fd_msg {
	char byte;
	struct iovec iov;
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	struct msghdr mh;
};

static struct msghdr *fd_msg_init(struct fd_msg *m)
{
	memset(m, 0, sizeof(*m));
	m->byte = 'x';
	m->iov.iov_base = &m->byte;
	m->iov.iov_len = 1;
	m->mh.msg_iov = &m->iov;
	m->mh.msg_iovlen = 1;
	m->mh.msg_control = m->u.buf;
	m->mh.msg_controllen = sizeof(m->u.buf);
	return &m->mh;
}

/* Send fd over a unix socket and keep it there (in flight). */
static void send_fd(int sock, int fd)
{
	struct fd_msg m;
	struct msghdr *mh = fd_msg_init(&m);
	struct cmsghdr *cm = CMSG_FIRSTHDR(mh);

	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	if (sendmsg(sock, mh, 0) != 1)
		t_die("sendmsg");
}

static int recv_fd(int sock)
{
	struct fd_msg m;
	struct msghdr *mh = fd_msg_init(&m);
	struct cmsghdr *cm;
	int fd;

	if (recvmsg(sock, mh, MSG_CMSG_CLOEXEC) != 1)
		t_die("recvmsg");
	cm = CMSG_FIRSTHDR(mh);
	if (!cm || cm->cmsg_type != SCM_RIGHTS)
		t_die("recvmsg: no fd");
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

int main(void)
{
	int ep = t_epoll(), ep2;
	int s, d, n, sv[2];
	struct t_chan to_child, to_parent;
	pid_t pid;
	int st;

	t_begin("syscall-close");
	PRIME(ep);

	t_log("## DEL, then syscall(SYS_close), the file kept open by a dup");
	s = t_eventfd(1);
	CTL(ep, EPOLL_CTL_ADD, s, EPOLLIN, 1);
	WAIT(ep, 8, 0);
	d = t_dup(s);
	CTL(ep, EPOLL_CTL_DEL, s, 0, 0);
	T(raw_close(s));
	WAIT(ep, 8, 0);
	t_log("the dup is not registered: DEL of it");
	CTL(ep, EPOLL_CTL_DEL, d, 0, 0);
	t_log("a new file takes the closed number and is added");
	n = t_eventfd(1);
	t_log("same number: %s", n == s ? "yes" : "no");
	CTL(ep, EPOLL_CTL_ADD, n, EPOLLIN, 2);
	WAIT(ep, 8, 0);
	CTL(ep, EPOLL_CTL_DEL, n, 0, 0);
	T(raw_close(n));
	WAIT(ep, 8, 0);
	T(close(d));

	t_log("## ADD+MOD then DEL, syscall(SYS_close) with a dup, all in one iteration");
	s = t_eventfd(1);
	d = t_dup(s);
	CTL(ep, EPOLL_CTL_ADD, s, EPOLLIN, 3);
	CTL(ep, EPOLL_CTL_MOD, s, EPOLLIN | EPOLLOUT, 4);
	WAIT(ep, 8, 0);
	CTL(ep, EPOLL_CTL_MOD, s, EPOLLOUT, 5);
	CTL(ep, EPOLL_CTL_DEL, s, 0, 0);
	T(raw_close(s));
	WAIT(ep, 8, 0);
	T(close(d));
	WAIT(ep, 8, 0);

	t_log("## MOD, then syscall(SYS_close) with a dup: the MOD was applied to the file");
	s = t_eventfd(1);
	CTL(ep, EPOLL_CTL_ADD, s, EPOLLIN, 6);
	WAIT(ep, 8, 0);
	d = t_dup(s);
	CTL(ep, EPOLL_CTL_MOD, s, EPOLLIN | EPOLLOUT, 7);
	T(raw_close(s));
	t_log("the registration survives the close (the file is open), with the MOD's events");
	WAIT(ep, 8, 0);
	T(close(d));
	WAIT(ep, 8, 0);

	t_log("## DEL, then syscall(SYS_close), the file kept open by a fork child");
	t_chan_init(&to_child);
	t_chan_init(&to_parent);
	s = t_eventfd(1);
	pid = fork();
	if (pid < 0)
		t_die("fork");
	if (pid == 0) {
		/* holds s until the parent is done */
		t_post(&to_parent);
		t_take(&to_child);
		_exit(0);
	}
	t_take(&to_parent);
	/* An epoll fd created after the fork is the parent's alone. */
	ep2 = t_epoll();
	PRIME(ep2);
	CTL(ep2, EPOLL_CTL_ADD, s, EPOLLIN, 8);
	WAIT(ep2, 8, 0);
	CTL(ep2, EPOLL_CTL_DEL, s, 0, 0);
	T(raw_close(s));
	WAIT(ep2, 8, 0);
	n = t_eventfd(1);
	t_log("same number: %s", n == s ? "yes" : "no");
	CTL(ep2, EPOLL_CTL_ADD, n, EPOLLIN, 9);
	WAIT(ep2, 8, 0);
	t_post(&to_child);
	if (waitpid(pid, &st, 0) != pid)
		t_die("waitpid");
	t_log("child exited: %d", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	WAIT(ep2, 8, 0);
	CTL(ep2, EPOLL_CTL_DEL, n, 0, 0);
	T(raw_close(n));

	t_log("## DEL, then syscall(SYS_close), the file in flight in a unix socket");
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		t_die("socketpair");
	s = t_eventfd(1);
	CTL(ep2, EPOLL_CTL_ADD, s, EPOLLIN, 10);
	WAIT(ep2, 8, 0);
	send_fd(sv[0], s);
	CTL(ep2, EPOLL_CTL_DEL, s, 0, 0);
	T(raw_close(s));
	WAIT(ep2, 8, 0);
	d = recv_fd(sv[1]);
	t_log("received the file back; it is not registered");
	WAIT(ep2, 8, 0);
	CTL(ep2, EPOLL_CTL_DEL, d, 0, 0);
	CTL(ep2, EPOLL_CTL_ADD, d, EPOLLIN, 11);
	WAIT(ep2, 8, 0);
	CTL(ep2, EPOLL_CTL_DEL, d, 0, 0);
	T(raw_close(d));
	WAIT(ep2, 8, 0);

	t_log("## many: 32 fds with dups, DEL + syscall(SYS_close) each, one wait");
	{
		int fds[32], dups[32];

		for (int i = 0; i < 32; i++) {
			fds[i] = t_eventfd(1);
			dups[i] = t_dup(fds[i]);
			t_ctl_quiet(ep2, EPOLL_CTL_ADD, fds[i], EPOLLIN, 100 + (uint64_t)i);
		}
		WAIT(ep2, 64, 0);
		for (int i = 0; i < 32; i++) {
			if (t_ctl_quiet(ep2, EPOLL_CTL_DEL, fds[i], 0, 0) != 0)
				t_log("DEL %d failed: %s", i, t_errname(errno));
			if (raw_close(fds[i]) != 0)
				t_log("close %d failed: %s", i, t_errname(errno));
		}
		WAIT(ep2, 64, 0);
		for (int i = 0; i < 32; i++)
			close(dups[i]);
		WAIT(ep2, 64, 0);
	}
	return 0;
}
