// SPDX-License-Identifier: GPL-2.0
/*
 * epoll_batch: run a batch of epoll_ctl operations, and optionally one
 * epoll wait, in a single ioctl on the misc device /dev/epoll_batch.
 *
 * The ABI is include/uapi/epoll_batch.h.  The kernel exports nothing of
 * epoll to modules, so the two functions used here are found at load time:
 *
 *   do_epoll_ctl()           the body of epoll_ctl(2), declared in
 *                            linux/eventpoll.h for io_uring; takes a kernel
 *                            struct epoll_event.
 *   __x64_sys_epoll_pwait()  the epoll_pwait(2) syscall entry; called with a
 *                            pt_regs built here, it does the sigmask swap,
 *                            the wait and the copy-out exactly as the
 *                            syscall does.
 *
 * Each is found by registering a kprobe on its name and reading the address
 * the kprobe was placed at (then unregistering it), or taken from a module
 * parameter where kprobes are not available.  Either way the address is
 * checked with sprint_symbol() before it is used, and on a kernel that
 * enforces IBT refused unless it starts with a live ENDBR.  See docs/kmod.md.
 *
 * Least privilege: the device node is 0660 (dev_mode, never accessible to
 * "other"), and a caller under seccomp is refused (EPERM) unless the
 * administrator sets allow_seccomp: the ioctl must not be a way around a
 * filter that governs epoll_ctl(2) and the epoll waits.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/compat.h>
#include <linux/fs.h>
#include <linux/eventpoll.h>
#include <linux/kallsyms.h>
#include <linux/kernel.h>
#include <linux/kprobes.h>
#include <linux/math.h>
#include <linux/ktime.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/ptrace.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/seccomp.h>
#include <linux/signal.h>
#include <linux/stat.h>
#include <linux/string.h>
#include <linux/time64.h>
#include <linux/uaccess.h>
#include <asm/cpufeature.h>
#include <asm/ibt.h>
#include <asm/syscall.h>

#include "epoll_batch.h"
#include "epb_logic.h"

#ifndef CONFIG_X86_64
#error "epoll_batch builds the epoll_pwait pt_regs for x86_64 only"
#endif

#define EPB_CTL_NAME	"do_epoll_ctl"
#define EPB_PWAIT_NAME	"__x64_sys_epoll_pwait"

static unsigned long do_epoll_ctl_addr;
module_param(do_epoll_ctl_addr, ulong, 0400);
MODULE_PARM_DESC(do_epoll_ctl_addr,
		 "address of do_epoll_ctl (from /proc/kallsyms) where kprobes are off");

static unsigned long sys_epoll_pwait_addr;
module_param(sys_epoll_pwait_addr, ulong, 0400);
MODULE_PARM_DESC(sys_epoll_pwait_addr,
		 "address of __x64_sys_epoll_pwait (from /proc/kallsyms) where kprobes are off");

static bool allow_seccomp;
module_param(allow_seccomp, bool, 0644);
MODULE_PARM_DESC(allow_seccomp,
		 "let callers under seccomp use the ioctl, which their filter does not see (default: EPERM)");

static ushort dev_mode = 0660;
module_param(dev_mode, ushort, 0444);
MODULE_PARM_DESC(dev_mode,
		 "mode of /dev/epoll_batch (default 0660; no permission for others is accepted)");

/*
 * The kernel's own prototypes: a change of do_epoll_ctl() in
 * linux/eventpoll.h, or of the x86 syscall entry convention, is a build
 * error here, not a wrong call.
 */
static typeof(do_epoll_ctl) *epb_do_epoll_ctl __ro_after_init;
static sys_call_ptr_t epb_sys_epoll_pwait __ro_after_init;

/* The 4 bytes at @addr, classified (EPB_ENTRY_OTHER if unreadable). */
static enum epb_entry __init epb_entry_at(unsigned long addr)
{
	unsigned char insn[4];

	if (copy_from_kernel_nofault(insn, (void *)addr, sizeof(insn)))
		return EPB_ENTRY_OTHER;
	return epb_entry_kind(insn);
}

/*
 * Resolve @name to the address of its first instruction: @given (a module
 * parameter) if non-zero, else the address a kprobe on @name is placed at.
 * The result must be exactly the start of @name in the kernel's symbol
 * table, so that a wrong parameter or a renamed function fails the load
 * instead of jumping into the middle of something else.
 */
static int __init epb_resolve(const char *name, unsigned long given,
			      unsigned long *out)
{
	char sym[KSYM_SYMBOL_LEN];
	char want[KSYM_NAME_LEN + 8];
	unsigned long addr = given;
	int ret;

	if (!addr) {
		struct kprobe kp = { .symbol_name = name };

		ret = register_kprobe(&kp);
		if (ret) {
			pr_err("cannot find %s with a kprobe (error %d); load with %s_addr=0x... from /proc/kallsyms\n",
			       name, ret,
			       strcmp(name, EPB_CTL_NAME) ? "sys_epoll_pwait" : "do_epoll_ctl");
			return ret;
		}
		addr = (unsigned long)kp.addr;
		unregister_kprobe(&kp);
		/*
		 * On IBT kernels x86 places a function-entry kprobe after the
		 * ENDBR, live or sealed: step back over either.
		 */
		if (ENDBR_INSN_SIZE) {
			unsigned char insn[4];

			if (!copy_from_kernel_nofault(insn,
						      (void *)(addr - ENDBR_INSN_SIZE),
						      sizeof(insn)) &&
			    epb_entry_is_endbr_site(insn))
				addr -= ENDBR_INSN_SIZE;
		}
	}

	sprint_symbol(sym, addr);
	snprintf(want, sizeof(want), "%s+0x0/", name);
	if (strncmp(sym, want, strlen(want))) {
		pr_err("the address given is %s, not the start of %s\n", sym,
		       name);
		return -EINVAL;
	}

	/*
	 * With IBT enforced an indirect call must land on a live ENDBR.
	 * Functions the kernel only calls directly (do_epoll_ctl() is one)
	 * have theirs sealed at boot, i.e. overwritten with a 4-byte NOP that
	 * the kernel's is_endbr() still accepts: check the bytes ourselves.
	 */
	if (!epb_entry_callable(epb_entry_at(addr),
				cpu_feature_enabled(X86_FEATURE_IBT))) {
		pr_err("%s has no ENDBR (IBT sealed it): it cannot be called from a module on this kernel\n",
		       name);
		return -EOPNOTSUPP;
	}
	*out = addr;
	return 0;
}

static int epb_ctl(int epfd, int op, int fd, u32 events, u64 data)
{
	struct epoll_event ev = {
		.events = (__force __poll_t)events,
		.data = data,
	};

	return epb_do_epoll_ctl(epfd, op, fd, &ev, false);
}

/* Run one op: its result is 0 or a negative errno, as epoll_ctl(2) gives. */
static int epb_run_op(const struct epoll_batch_op *op)
{
	u32 fl = op->flags;
	int ret;

	if (fl & ~EPOLL_BATCH_F_ALL)
		return -EINVAL;
	if ((fl & EPOLL_BATCH_F_ADD_OR_MOD) && op->op != EPOLL_CTL_ADD)
		return -EINVAL;
	if ((fl & EPOLL_BATCH_F_MOD_OR_ADD) && op->op != EPOLL_CTL_MOD)
		return -EINVAL;

	ret = epb_ctl(op->epfd, op->op, op->fd, op->events, op->data);
	if (ret == -EEXIST && (fl & EPOLL_BATCH_F_ADD_OR_MOD))
		ret = epb_ctl(op->epfd, EPOLL_CTL_MOD, op->fd, op->events,
			      op->data);
	else if (ret == -ENOENT && (fl & EPOLL_BATCH_F_MOD_OR_ADD))
		ret = epb_ctl(op->epfd, EPOLL_CTL_ADD, op->fd, op->events,
			      op->data);
	return ret;
}

struct epb_waiter {
	const struct epoll_batch *b;
	ktime_t deadline;
};

/*
 * One epoll_pwait(2) through its syscall entry, so the sigmask is installed
 * and restored (or left for signal delivery on -EINTR) exactly as the
 * syscall does.
 */
static long epb_pwait(void *ctx, int ms)
{
	const struct epoll_batch *b = ((struct epb_waiter *)ctx)->b;
	struct pt_regs regs = {};

	regs.di = (unsigned long)b->wait_epfd;
	regs.si = (unsigned long)b->wait_events;
	regs.dx = (unsigned long)b->wait_maxevents;
	regs.r10 = (unsigned long)ms;
	regs.r8 = (unsigned long)b->wait_sigmask;
	regs.r9 = (unsigned long)b->wait_sigsetsize;
	return epb_sys_epoll_pwait(&regs);
}

static long long epb_left_ns(void *ctx)
{
	return ktime_to_ns(ktime_sub(((struct epb_waiter *)ctx)->deadline,
				     ktime_get()));
}

/*
 * The fused wait.  epoll_pwait() takes an int of milliseconds: a positive
 * timeout in nanoseconds is rounded up, and one longer than INT_MAX ms
 * (24.8 days) is waited in several calls to one deadline, so the wait
 * never ends early.
 */
static long epb_wait(const struct epoll_batch *b)
{
	struct epb_waiter w = { .b = b };
	s64 ns = b->wait_timeout_ns;

	if (ns <= 0)
		return epb_pwait(&w, ns < 0 ? -1 : 0);
	w.deadline = ktime_add_safe(ktime_get(), ns_to_ktime(ns));
	return epb_wait_ns(ns, epb_pwait, epb_left_ns, &w);
}

/*
 * A caller under seccomp (strict or filter) has a sandbox that decides
 * about epoll_ctl(2) and the epoll waits, and it cannot see inside this
 * ioctl: refuse unless the administrator opted in.
 */
static bool epb_seccomp_refused(void)
{
#ifdef CONFIG_SECCOMP
	if (READ_ONCE(current->seccomp.mode) != SECCOMP_MODE_DISABLED &&
	    !READ_ONCE(allow_seccomp))
		return true;
#endif
	return false;
}

static long epb_submit(struct epoll_batch __user *ub)
{
	struct epoll_batch_op __user *uops;
	struct epoll_batch_op op;
	struct epoll_batch b;
	bool stopped = false;
	u32 i, done = 0;
	long ret = 0;
	long wres;
	int res;

	if (copy_from_user(&b, ub, sizeof(b)))
		return -EFAULT;
	/*
	 * From here on nr_done is valid whatever is returned.  Proving it
	 * (and wait_result) writable before anything runs also means no op
	 * or event is consumed without the caller being told.
	 */
	if (put_user(0U, &ub->nr_done))
		return -EFAULT;
	if ((b.flags & ~EPOLL_BATCH_FLAGS_ALL) || b.reserved)
		return -EINVAL;
	if (b.nr_ops > EPOLL_BATCH_MAX_OPS)
		return -E2BIG;
	if (b.flags & EPOLL_BATCH_WAIT) {
		if (b.wait_maxevents <= 0 ||
		    b.wait_maxevents > EPOLL_BATCH_MAX_EVENTS)
			return -EINVAL;
		if (b.wait_sigmask && b.wait_sigsetsize != sizeof(sigset_t))
			return -EINVAL;
	}
	uops = u64_to_user_ptr(b.ops);
	if (b.nr_ops && !access_ok(uops, (size_t)b.nr_ops * sizeof(op)))
		return -EFAULT;

	if ((b.flags & EPOLL_BATCH_WAIT) && put_user(0, &ub->wait_result))
		return -EFAULT;

	for (i = 0; i < b.nr_ops; i++) {
		/*
		 * A signal (not io_uring task work or other TIF_NOTIFY_SIGNAL
		 * work, which waits the few microseconds to the end of the
		 * batch) ends the batch after at least one op.
		 */
		if (i && task_sigpending(current)) {
			ret = -EINTR;
			break;
		}
		if (copy_from_user(&op, &uops[i], sizeof(op))) {
			ret = -EFAULT;
			break;
		}
		/* Write back what is there: faults now, before the op runs. */
		if (put_user(op.result, &uops[i].result)) {
			ret = -EFAULT;
			break;
		}
		res = epb_run_op(&op);
		done = i + 1;
		if (put_user(res, &uops[i].result)) {
			/* Only if another thread unmapped it meanwhile. */
			ret = -EFAULT;
			break;
		}
		if (res && (b.flags & EPOLL_BATCH_STOP_ON_ERROR)) {
			stopped = true;
			break;
		}
		cond_resched();
	}

	if (put_user(done, &ub->nr_done))
		return -EFAULT;
	if (ret)
		return ret;

	if (b.flags & EPOLL_BATCH_WAIT) {
		/* Any op failed under STOP_ON_ERROR, the last one too. */
		wres = stopped ? -ECANCELED : epb_wait(&b);
		if (put_user((s32)wres, &ub->wait_result))
			return -EFAULT;
	}
	return 0;
}

static long epb_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	if (cmd != EPOLL_BATCH_IOC_SUBMIT)
		return -ENOTTY;
	if (epb_seccomp_refused())
		return -EPERM;
	return epb_submit((struct epoll_batch __user *)arg);
}

static const struct file_operations epb_fops = {
	.owner		= THIS_MODULE,
	.unlocked_ioctl	= epb_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.llseek		= noop_llseek,
};

static struct miscdevice epb_misc = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= "epoll_batch",
	.fops	= &epb_fops,
};

static int __init epb_init(void)
{
	unsigned long addr;
	int ret;

	/*
	 * ioctl() needs only an open file, read-only will do: any permission
	 * bit for others would open the device to every local user.
	 */
	if (dev_mode & ~(umode_t)(0660)) {
		pr_err("dev_mode=%#o refused: only bits of 0660 are allowed\n",
		       dev_mode);
		return -EINVAL;
	}
	epb_misc.mode = dev_mode;

	ret = epb_resolve(EPB_CTL_NAME, do_epoll_ctl_addr, &addr);
	if (ret)
		return ret;
	epb_do_epoll_ctl = (typeof(epb_do_epoll_ctl))addr;

	ret = epb_resolve(EPB_PWAIT_NAME, sys_epoll_pwait_addr, &addr);
	if (ret)
		return ret;
	epb_sys_epoll_pwait = (sys_call_ptr_t)addr;

	ret = misc_register(&epb_misc);
	if (ret) {
		pr_err("misc_register failed: %d\n", ret);
		return ret;
	}
	pr_info("ready: /dev/%s, %d ops per batch\n", epb_misc.name,
		EPOLL_BATCH_MAX_OPS);
	return 0;
}

static void __exit epb_exit(void)
{
	misc_deregister(&epb_misc);
}

module_init(epb_init);
module_exit(epb_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("epbatch developers");
MODULE_DESCRIPTION("Batch epoll_ctl operations and an epoll wait in one ioctl");
