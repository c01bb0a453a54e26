# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Test helpers (not tests themselves): workloads with known syscall counts.
TEST_HELPERS := $(BUILD)/tests/ctlgen $(BUILD)/tests/rearm $(BUILD)/tests/rearm-stripped
TESTBINS += $(TEST_HELPERS)

# --stacks: a known caller of epoll_ctl, with frame pointers; and stripped
$(BUILD)/tests/rearm: tests/workloads/rearm.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -fno-omit-frame-pointer $< -o $@ $(LDFLAGS)

$(BUILD)/tests/rearm-stripped: tests/workloads/rearm.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -fno-omit-frame-pointer -s $< -o $@ $(LDFLAGS)

$(BUILD)/tests/ctlgen: tests/workloads/ctlgen.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $< -o $@ $(LDFLAGS) -lpthread

# Benchmark helpers (make bench): the epoll_ctl loop and the empty-program floor.
PERF_HELPERS := $(BUILD)/tests/ctl-loop $(BUILD)/tests/empty-load
TESTBINS += $(PERF_HELPERS)

$(BUILD)/tests/ctl-loop: tests/perf/ctl-loop.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $< -o $@ $(LDFLAGS)

$(BUILD)/bpf/epbatch_empty.bpf.o: bpf/epbatch.bpf.c bpf/common.bpf.h bpf/epbatch.h $(VMLINUX_H)
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) -DEPB_EMPTY -c $< -o $@

$(BUILD)/tests/empty-load: tests/perf/empty-load.c $(BUILD)/epbatch_empty.skel.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $< -o $@ $(LDFLAGS) -lbpf -lelf -lz
