// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Addresses to names (symbolize.h).  Each ELF file is read once: its PT_LOAD
 * segments (a file offset becomes the address the symbol table uses) and its
 * function symbols, sorted.  Mappings are per process, replaced at each
 * read, kept after the process exits.
 */
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "symbolize.h"
#include "ksyms.h"

struct fsym {
	uint64_t addr, size;
	char *name;
};

struct seg {
	uint64_t off, vaddr, filesz;
};

struct elf_file {
	char *path;
	bool ok;			/* opened and read as ELF */
	struct fsym *syms;
	size_t nr_syms;
	struct seg *segs;
	size_t nr_segs;
};

struct mapping {
	uint64_t start, end, off;
	char *path;			/* "" for anonymous, "[vdso]" ... */
};

struct proc_maps {
	pid_t pid;
	struct mapping *m;
	size_t n;
};

struct symbolizer {
	struct elf_file *files;
	size_t nr_files;
	struct proc_maps *procs;
	size_t nr_procs;
	struct ksyms *ks;
	bool ks_tried;
};

struct symbolizer *sym_open(void)
{
	if (elf_version(EV_CURRENT) == EV_NONE)
		return NULL;
	return calloc(1, sizeof(struct symbolizer));
}

static void maps_free(struct proc_maps *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->m[i].path);
	free(p->m);
	p->m = NULL;
	p->n = 0;
}

void sym_close(struct symbolizer *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nr_files; i++) {
		for (size_t j = 0; j < s->files[i].nr_syms; j++)
			free(s->files[i].syms[j].name);
		free(s->files[i].syms);
		free(s->files[i].segs);
		free(s->files[i].path);
	}
	free(s->files);
	for (size_t i = 0; i < s->nr_procs; i++)
		maps_free(&s->procs[i]);
	free(s->procs);
	ksyms_free(s->ks);
	free(s);
}

static struct proc_maps *find_proc(const struct symbolizer *s, pid_t pid)
{
	for (size_t i = 0; i < s->nr_procs; i++)
		if (s->procs[i].pid == pid)
			return &s->procs[i];
	return NULL;
}

int sym_maps_read(struct symbolizer *s, pid_t pid)
{
	struct proc_maps *p = find_proc(s, pid), fresh = { .pid = pid };
	char path[64], line[4096 + 128];
	size_t cap = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;	/* gone: the last read stays */
	while (fgets(line, sizeof(line), f)) {
		unsigned long long start, end, off;
		char perms[8];
		int n = 0;

		/* "55d0c0a00000-55d0c0a21000 r-xp 00002000 fd:01 1234   /usr/bin/x" */
		if (sscanf(line, "%llx-%llx %7s %llx %*s %*s %n", &start, &end, perms, &off, &n) < 4 ||
		    !strchr(perms, 'x'))
			continue;
		line[strcspn(line, "\n")] = 0;
		if (fresh.n == cap) {
			struct mapping *m = realloc(fresh.m, (cap = cap ? cap * 2 : 32) * sizeof(*m));

			if (!m)
				break;
			fresh.m = m;
		}
		fresh.m[fresh.n] = (struct mapping){ start, end, off, strdup(n ? line + n : "") };
		if (!fresh.m[fresh.n].path)
			break;
		fresh.n++;
	}
	fclose(f);
	if (!fresh.n) {		/* a zombie has no maps: keep what was read */
		maps_free(&fresh);
		return -1;
	}
	if (!p) {
		p = realloc(s->procs, (s->nr_procs + 1) * sizeof(*p));
		if (!p) {
			maps_free(&fresh);
			return -1;
		}
		s->procs = p;
		p = &s->procs[s->nr_procs++];
		p->m = NULL;
		p->n = 0;
	}
	maps_free(p);
	*p = fresh;
	return 0;
}

bool sym_maps_known(const struct symbolizer *s, pid_t pid)
{
	return find_proc(s, pid) != NULL;
}

static const struct mapping *find_mapping(const struct symbolizer *s, pid_t pid, uint64_t addr)
{
	const struct proc_maps *p = find_proc(s, pid);

	for (size_t i = 0; p && i < p->n; i++)
		if (addr >= p->m[i].start && addr < p->m[i].end)
			return &p->m[i];
	return NULL;
}

bool sym_user_exec(struct symbolizer *s, pid_t pid, uint64_t addr)
{
	return find_mapping(s, pid, addr) != NULL;
}

static int cmp_fsym(const void *a, const void *b)
{
	uint64_t x = ((const struct fsym *)a)->addr, y = ((const struct fsym *)b)->addr;

	return x < y ? -1 : x > y;
}

/* The function symbols of one table (SHT_SYMTAB or SHT_DYNSYM). */
static void read_symtab(Elf *e, Elf_Scn *scn, const GElf_Shdr *sh, struct elf_file *ef)
{
	Elf_Data *d = elf_getdata(scn, NULL);
	size_t n = sh->sh_entsize ? sh->sh_size / sh->sh_entsize : 0;
	struct fsym *syms;

	if (!d || !n)
		return;
	syms = realloc(ef->syms, (ef->nr_syms + n) * sizeof(*syms));
	if (!syms)
		return;
	ef->syms = syms;
	for (size_t i = 0; i < n; i++) {
		GElf_Sym sym;
		const char *name;
		int type;

		if (!gelf_getsym(d, (int)i, &sym))
			continue;
		type = GELF_ST_TYPE(sym.st_info);
		if ((type != STT_FUNC && type != STT_GNU_IFUNC) || sym.st_shndx == SHN_UNDEF ||
		    !sym.st_value)
			continue;
		name = elf_strptr(e, sh->sh_link, sym.st_name);
		if (!name || !*name || !(syms[ef->nr_syms].name = strdup(name)))
			continue;
		syms[ef->nr_syms].addr = sym.st_value;
		syms[ef->nr_syms].size = sym.st_size;
		ef->nr_syms++;
	}
}

static void elf_read(struct elf_file *ef)
{
	int fd = open(ef->path, O_RDONLY | O_CLOEXEC);
	Elf *e = fd >= 0 ? elf_begin(fd, ELF_C_READ, NULL) : NULL;
	Elf_Scn *scn = NULL, *dynsym = NULL;
	GElf_Shdr sh, dynsh;
	size_t nph = 0;
	bool have_symtab = false;

	if (!e || elf_kind(e) != ELF_K_ELF || elf_getphdrnum(e, &nph))
		goto out;
	ef->segs = calloc(nph ? nph : 1, sizeof(*ef->segs));
	if (!ef->segs)
		goto out;
	for (size_t i = 0; i < nph; i++) {
		GElf_Phdr ph;

		if (gelf_getphdr(e, (int)i, &ph) && ph.p_type == PT_LOAD)
			ef->segs[ef->nr_segs++] = (struct seg){ ph.p_offset, ph.p_vaddr, ph.p_filesz };
	}
	while ((scn = elf_nextscn(e, scn))) {
		if (!gelf_getshdr(scn, &sh))
			continue;
		if (sh.sh_type == SHT_SYMTAB) {
			read_symtab(e, scn, &sh, ef);
			have_symtab = true;
		} else if (sh.sh_type == SHT_DYNSYM) {
			dynsym = scn;
			dynsh = sh;
		}
	}
	/* a stripped file keeps .dynsym: its exported functions */
	if (!have_symtab && dynsym)
		read_symtab(e, dynsym, &dynsh, ef);
	qsort(ef->syms, ef->nr_syms, sizeof(*ef->syms), cmp_fsym);
	ef->ok = true;
out:
	if (e)
		elf_end(e);
	if (fd >= 0)
		close(fd);
}

static struct elf_file *get_file(struct symbolizer *s, const char *path)
{
	struct elf_file *f;

	for (size_t i = 0; i < s->nr_files; i++)
		if (!strcmp(s->files[i].path, path))
			return &s->files[i];
	f = realloc(s->files, (s->nr_files + 1) * sizeof(*f));
	if (!f)
		return NULL;
	s->files = f;
	f = &s->files[s->nr_files];
	memset(f, 0, sizeof(*f));
	f->path = strdup(path);
	if (!f->path)
		return NULL;
	s->nr_files++;
	elf_read(f);
	return f;
}

/* The symbol covering VADDR; one without a size covers up to the next one. */
static const char *lookup(const struct elf_file *ef, uint64_t vaddr)
{
	size_t lo = 0, hi = ef->nr_syms;
	const struct fsym *y;

	while (lo < hi) {	/* first symbol above vaddr */
		size_t mid = lo + (hi - lo) / 2;

		if (ef->syms[mid].addr <= vaddr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return NULL;
	y = &ef->syms[lo - 1];
	if (vaddr < y->addr + y->size || (!y->size && lo < ef->nr_syms))
		return y->name;
	/* aliases share an address: one of them may carry the size */
	for (size_t i = lo - 1; i-- > 0 && ef->syms[i].addr == y->addr;)
		if (vaddr < ef->syms[i].addr + ef->syms[i].size)
			return ef->syms[i].name;
	return NULL;
}

static const char *base_name(const char *path)
{
	const char *b = strrchr(path, '/');

	return b ? b + 1 : path;
}

bool sym_file(struct symbolizer *s, const char *path, uint64_t off, char *buf, size_t len)
{
	const struct elf_file *ef = get_file(s, path);
	const char *name = NULL;

	for (size_t i = 0; ef && ef->ok && i < ef->nr_segs && !name; i++) {
		const struct seg *g = &ef->segs[i];

		if (off >= g->off && off < g->off + g->filesz)
			name = lookup(ef, off - g->off + g->vaddr);
	}
	if (name) {
		snprintf(buf, len, "%s", name);
		return true;
	}
	snprintf(buf, len, "[unknown] in %s+0x%" PRIx64, base_name(path), off);
	return false;
}

bool sym_user(struct symbolizer *s, pid_t pid, uint64_t addr, char *buf, size_t len)
{
	const struct mapping *m = find_mapping(s, pid, addr);
	char path[4200];

	if (!m) {
		snprintf(buf, len, "[unknown] 0x%" PRIx64 "%s", addr,
			 sym_maps_known(s, pid) ? "" : " (process exited)");
		return false;
	}
	if (m->path[0] != '/') {	/* [vdso], anonymous (JIT) code */
		snprintf(buf, len, "[unknown] in %s+0x%" PRIx64, m->path[0] ? m->path : "[anon]",
			 addr - m->start + m->off);
		return false;
	}
	snprintf(path, sizeof(path), "%s", m->path);
	if (strlen(path) > 10 && !strcmp(path + strlen(path) - 10, " (deleted)"))
		path[strlen(path) - 10] = 0;
	return sym_file(s, path, addr - m->start + m->off, buf, len);
}

bool sym_kernel(struct symbolizer *s, uint64_t addr, char *buf, size_t len)
{
	const char *name;

	if (!s->ks_tried) {
		s->ks_tried = true;
		s->ks = ksyms_load("/proc/kallsyms", NULL, 0);
	}
	name = s->ks ? ksyms_name(s->ks, addr) : NULL;
	if (name)
		snprintf(buf, len, "%s", name);
	else
		snprintf(buf, len, "[unknown] 0x%" PRIx64, addr);
	return name != NULL;
}
