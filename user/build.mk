# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# user/: three layers (docs/architecture.md).
#   user/base/   libepbatch-base.a: files, time, numbers, JSON, /proc, statistics.
#                No libbpf: the results commands' unit tests and bench/ can use it.
#   user/*.c     the tracer and the results commands, linked with libbpf.
BASE_SRCS  := $(wildcard user/base/*.c)
BASE_OBJS  := $(patsubst user/%.c,$(BUILD)/user/%.o,$(BASE_SRCS))
BASE_LIB   := $(BUILD)/libepbatch-base.a
BASE_LIBS  := -ljansson -lm
TRACE_SRCS := $(filter-out user/main.c,$(wildcard user/*.c))
# what unit tests link: the results layer and the tracer's libbpf-free parts
RESULTS_OBJS := $(patsubst %,$(BUILD)/user/%.o,summary compare compare_cmd verdicts html gate loadgen)
TRACER_CORE_OBJS := $(patsubst %,$(BUILD)/user/%.o,aggregate report opts costmodel whatif streams hist \
	ksyms symbolize stackset flame)
UNIT_OBJS  := $(RESULTS_OBJS) $(TRACER_CORE_OBJS)
TRACE_OBJS := $(patsubst user/%.c,$(BUILD)/user/%.o,$(TRACE_SRCS))
TRACE_LIBS := -lbpf -lelf -lz -luring -ljansson -lm -lpthread
# libbpf-free too: threads summed into processes (the whole machine, issue 13)
UNIT_OBJS  += $(BUILD)/user/procs.o

ALL += $(BUILD)/epbatch-trace

$(BUILD)/user/base/%.o: user/base/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(DEPFLAGS) -c $< -o $@

$(BASE_LIB): $(BASE_OBJS)
	rm -f $@
	$(AR) rcs $@ $(filter %.o,$^)

# where an installed `run` finds the reference programs and the shim
INSTALL_PATHS := -DEPBATCH_BINDIR='"$(BINDIR)"' -DEPBATCH_LIBDIR='"$(LIBDIR)"' \
	-DEPBATCH_LIBEXECDIR='"$(LIBEXECDIR)"'

# headers are found by the -MMD dependency files; the skeletons must exist
# before the first compile (they are generated)
$(BUILD)/user/%.o: user/%.c | $(BPF_SKELS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(DEPFLAGS) $(INSTALL_PATHS) -Ibpf -c $< -o $@

$(BUILD)/epbatch-trace: $(BUILD)/user/main.o $(TRACE_OBJS) $(BASE_LIB)
	$(CC) $(LDFLAGS) -o $@ $(filter %.o %.a,$^) $(TRACE_LIBS)

# unit tests of the base layer link it alone (no libbpf, no skeletons)
$(BUILD)/tests/test-base-%: tests/unit/test-base-%.c $(BASE_LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Iuser $< $(BASE_LIB) -o $@ $(LDFLAGS) $(BASE_LIBS) -lcmocka

# the other unit tests link the results layer and the tracer's libbpf-free
# parts (tables, JSON, deltas, options): no libbpf, no skeletons
$(BUILD)/tests/test-%: tests/unit/test-%.c $(UNIT_OBJS) $(BASE_LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Ibpf -Iuser $< $(UNIT_OBJS) $(BASE_LIB) -o $@ $(LDFLAGS) $(BASE_LIBS) -lelf -lcmocka

TESTBINS += $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(wildcard tests/unit/test-*.c))

# Static builds for the qemu test guest (no userland there): the tracer and
# its contention workload, so the fentry and kprobe rungs run on 6.1.
VM_TRACE := $(BUILD)/vm/epbatch-trace $(BUILD)/vm/ctlgen
ifeq ($(SAN),)
TESTBINS += $(VM_TRACE)
endif

$(BUILD)/vm/epbatch-trace: $(BUILD)/user/main.o $(TRACE_OBJS) $(BASE_LIB)
	@mkdir -p $(@D)
	$(CC) -static $(LDFLAGS) -o $@ $(filter %.o %.a,$^) -lbpf -lelf -lz -luring -ljansson -lm -lpthread

$(BUILD)/vm/ctlgen: tests/workloads/ctlgen.c
	@mkdir -p $(@D)
	$(CC) -static $(CFLAGS) $< -o $@ -lpthread
