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
 * checked with sprint_symbol() before it is used.  See docs/kmod.md.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/compat.h>
#include <linux/fs.h>
#include <linux/eventpoll.h>
#include <linux/kallsyms.h>
#include <linux/kernel.h>
#include <linux/kprobes.h>
#include <linux/math.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/ptrace.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/signal.h>
#include <linux/string.h>
#include <linux/time64.h>
#include <linux/uaccess.h>
#ifdef CONFIG_X86_KERNEL_IBT
#include <asm/ibt.h>
#endif

#include "epoll_batch.h"

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

typedef int (*epb_ctl_fn)(int epfd, int op, int fd, struct epoll_event *epds,
			  bool nonblock);
typedef long (*epb_syscall_fn)(const struct pt_regs *regs);

static epb_ctl_fn epb_do_epoll_ctl __ro_after_init;
static epb_syscall_fn epb_sys_epoll_pwait __ro_after_init;

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
#ifdef CONFIG_X86_KERNEL_IBT
		/* x86 places a function-entry kprobe after the ENDBR. */
		if (is_endbr(*(u32 *)(addr - ENDBR_INSN_SIZE)))
			addr -= ENDBR_INSN_SIZE;
#endif
	}

	sprint_symbol(sym, addr);
	snprintf(want, sizeof(want), "%s+0x0/", name);
	if (strncmp(sym, want, strlen(want))) {
		pr_err("address 0x%lx is %s, not the start of %s\n", addr, sym,
		       name);
		return -EINVAL;
	}

#ifdef CONFIG_X86_KERNEL_IBT
	/*
	 * With IBT enforced, an indirect call must land on ENDBR; functions
	 * the kernel never calls indirectly have theirs sealed at boot.
	 */
	if (cpu_feature_enabled(X86_FEATURE_IBT) && !is_endbr(*(u32 *)addr)) {
		pr_err("%s has no ENDBR (IBT sealed it): it cannot be called from a module here\n",
		       name);
		return -EOPNOTSUPP;
	}
#endif
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

/*
 * The fused wait: epoll_pwait(2) itself, so the sigmask is installed and
 * restored (or left for signal delivery on -EINTR) exactly as the syscall
 * does.  Its timeout is in milliseconds: a positive timeout in nanoseconds
 * is rounded up, so the wait never ends early.
 */
static long epb_wait(const struct epoll_batch *b)
{
	struct pt_regs regs = {};
	s64 ns = b->wait_timeout_ns;
	long ms;

	if (ns < 0)
		ms = -1;
	else if (ns > (s64)INT_MAX * NSEC_PER_MSEC)
		ms = INT_MAX;
	else
		ms = DIV_ROUND_UP_ULL((u64)ns, NSEC_PER_MSEC);

	regs.di = (unsigned long)b->wait_epfd;
	regs.si = (unsigned long)b->wait_events;
	regs.dx = (unsigned long)b->wait_maxevents;
	regs.r10 = (unsigned long)ms;
	regs.r8 = (unsigned long)b->wait_sigmask;
	regs.r9 = (unsigned long)b->wait_sigsetsize;
	return epb_sys_epoll_pwait(&regs);
}

static long epb_submit(struct epoll_batch __user *ub)
{
	struct epoll_batch_op __user *uops;
	struct epoll_batch_op op;
	struct epoll_batch b;
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
		if (i && signal_pending(current)) {
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
		if (res && (b.flags & EPOLL_BATCH_STOP_ON_ERROR))
			break;
		cond_resched();
	}

	if (put_user(done, &ub->nr_done))
		return -EFAULT;
	if (ret)
		return ret;

	if (b.flags & EPOLL_BATCH_WAIT) {
		wres = done == b.nr_ops ? epb_wait(&b) : -ECANCELED;
		if (put_user((s32)wres, &ub->wait_result))
			return -EFAULT;
	}
	return 0;
}

static long epb_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	if (cmd != EPOLL_BATCH_IOC_SUBMIT)
		return -ENOTTY;
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
	.mode	= 0666,
};

static int __init epb_init(void)
{
	unsigned long addr;
	int ret;

	ret = epb_resolve(EPB_CTL_NAME, do_epoll_ctl_addr, &addr);
	if (ret)
		return ret;
	epb_do_epoll_ctl = (epb_ctl_fn)addr;

	ret = epb_resolve(EPB_PWAIT_NAME, sys_epoll_pwait_addr, &addr);
	if (ret)
		return ret;
	epb_sys_epoll_pwait = (epb_syscall_fn)addr;

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
