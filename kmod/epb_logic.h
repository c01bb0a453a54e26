/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The parts of epoll_batch.ko that are pure logic, so that user space can
 * test them (tests/unit/test-kmod-logic.c): no kernel header, only C types.
 *
 *   epb_entry_kind()      what the first bytes of a function are, for an
 *                         indirect call under IBT
 *   epb_wait_ns()         a relative timeout of any length in nanoseconds,
 *                         waited with epoll_pwait()'s int milliseconds
 */
#ifndef EPB_LOGIC_H
#define EPB_LOGIC_H

/* What an indirect call would land on. */
enum epb_entry {
	EPB_ENTRY_ENDBR64,	/* f3 0f 1e fa: endbr64, a valid landing */
	EPB_ENTRY_ENDBR32,	/* f3 0f 1e fb: endbr32, not one in 64-bit mode */
	/*
	 * 66 0f 1f 00: the 4-byte NOP "osp nopl (%rax)" that
	 * apply_ibt_endbr() writes over the ENDBR of a sealed function
	 */
	EPB_ENTRY_SEALED,
	EPB_ENTRY_OTHER,	/* any other instruction */
};

static inline enum epb_entry epb_entry_kind(const unsigned char *p)
{
	if (p[0] == 0xf3 && p[1] == 0x0f && p[2] == 0x1e && p[3] == 0xfa)
		return EPB_ENTRY_ENDBR64;
	if (p[0] == 0xf3 && p[1] == 0x0f && p[2] == 0x1e && p[3] == 0xfb)
		return EPB_ENTRY_ENDBR32;
	if (p[0] == 0x66 && p[1] == 0x0f && p[2] == 0x1f && p[3] == 0x00)
		return EPB_ENTRY_SEALED;
	return EPB_ENTRY_OTHER;
}

/*
 * Whether the 4 bytes before a kprobe's address are an ENDBR (live or
 * sealed) that x86 stepped over when it placed an entry kprobe (the
 * kernel's is_endbr() accepts all three patterns).
 */
static inline int epb_entry_is_endbr_site(const unsigned char *p)
{
	return epb_entry_kind(p) != EPB_ENTRY_OTHER;
}

/*
 * May the module call a function whose entry is @kind through a pointer?
 * With IBT enforced only a live endbr64 is a valid landing: the sealed
 * poison (what the kernel's own is_endbr() also accepts) is a "Missing
 * ENDBR" BUG at the first call.  Without IBT anything is.
 */
static inline int epb_entry_callable(enum epb_entry kind, int ibt_enforced)
{
	return !ibt_enforced || kind == EPB_ENTRY_ENDBR64;
}

/* epoll_pwait()'s timeout is an int of milliseconds. */
#define EPB_MS_MAX	2147483647LL
#define EPB_NS_PER_MS	1000000LL

/* One epoll_pwait() of what is left (@left_ns > 0), rounded up. */
static inline int epb_chunk_ms(long long left_ns)
{
	long long ms = left_ns / EPB_NS_PER_MS + (left_ns % EPB_NS_PER_MS != 0);

	return ms > EPB_MS_MAX ? (int)EPB_MS_MAX : (int)ms;
}

/*
 * Wait @ns nanoseconds (> 0) relative to the start, however long: calls of
 * at most EPB_MS_MAX ms, each rounded up so the whole never ends early,
 * until one returns non-zero (events or -errno, e.g. -EINTR), or a call
 * shorter than EPB_MS_MAX times out, or nothing is left.  @wait(ctx, ms) is
 * one epoll_pwait(); @left(ctx) gives the ns left to the deadline.
 */
static inline long epb_wait_ns(long long ns, long (*wait)(void *ctx, int ms),
			       long long (*left)(void *ctx), void *ctx)
{
	long ret;
	int ms;

	for (;;) {
		ms = epb_chunk_ms(ns);
		ret = wait(ctx, ms);
		if (ret || ms < EPB_MS_MAX)
			return ret;
		ns = left(ctx);
		if (ns <= 0)
			return 0;
	}
}

#endif /* EPB_LOGIC_H */
