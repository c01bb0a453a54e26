/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Addresses to names for --stacks, without libbpf: user frames from
 * /proc/PID/maps and the ELF symbol tables (.symtab, else .dynsym) of the
 * mapped files (PIE and shared libraries: file offset -> symbol), kernel
 * frames from /proc/kallsyms (ksyms.c).  A frame that cannot be named says
 * why: "[unknown] in libfoo.so+0x1234" (no symbol there: a stripped file),
 * "[unknown] 0x7f..." (in no mapping), "[unknown] 0x... (process exited)".
 */
#ifndef EPBATCH_SYMBOLIZE_H
#define EPBATCH_SYMBOLIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct symbolizer;
struct symbolizer *sym_open(void);
void sym_close(struct symbolizer *s);
/*
 * Read /proc/PID/maps now (a process must be read while it lives: call it
 * every interval and at the end).  The last read is kept when PID is gone;
 * -1 then.
 */
int sym_maps_read(struct symbolizer *s, pid_t pid);
/* Has PID's map ever been read? */
bool sym_maps_known(const struct symbolizer *s, pid_t pid);
/* Is ADDR in an executable mapping of PID (per the last read)? */
bool sym_user_exec(struct symbolizer *s, pid_t pid, uint64_t addr);
/* The name of a user address in PID into buf; true when named. */
bool sym_user(struct symbolizer *s, pid_t pid, uint64_t addr, char *buf, size_t len);
/* The function at file offset OFF of the ELF file PATH; true when named. */
bool sym_file(struct symbolizer *s, const char *path, uint64_t off, char *buf, size_t len);
/* A kernel address (/proc/kallsyms, read on first use). */
bool sym_kernel(struct symbolizer *s, uint64_t addr, char *buf, size_t len);
#endif
