# SPDX-License-Identifier: MIT
# libepbatch.so, the LD_PRELOAD shim that batches epoll_ctl (preload/).
# Top-level sources only: preload/bench/ holds the shim's benchmark.
PRELOAD_SRCS := $(wildcard preload/*.c)
PRELOAD_OBJS := $(patsubst preload/%.c,$(BUILD)/preload/%.o,$(PRELOAD_SRCS))
# vfork with vfork's semantics needs an assembly entry point (x86_64 only;
# elsewhere proc.c gives fork semantics)
ifeq ($(shell uname -m),x86_64)
PRELOAD_OBJS += $(BUILD)/preload/vfork.o
endif
PRELOAD_HDRS := $(wildcard preload/*.h) include/uapi/epoll_batch.h include/epbatch/shim_probes.h

# USDT arguments as immediates or registers only (sys/sdt.h's default "nor"
# also allows memory operands, and a RIP-relative one, "-4@be_kind(%rip)",
# is what libbpf 1.1 cannot read: epbatch-trace --shim-probes failed on it).
SDT_FLAGS := -DSTAP_SDT_ARG_CONSTRAINT=nr

# No SLP vectorizing: it turns two adjacent counter increments on the
# wrappers' common path into six SSE instructions (a load, a shuffle, an
# add, a store ...) where two adds do.
PRELOAD_CFLAGS := -fPIC -fvisibility=hidden -fno-tree-slp-vectorize

$(BUILD)/preload/%.o: preload/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(DEPFLAGS) $(SDT_FLAGS) $(PRELOAD_CFLAGS) -c -o $@ $<

$(BUILD)/preload/vfork.o: preload/vfork.S
	@mkdir -p $(dir $@)
	$(CC) $(SAN) -fPIC -c -o $@ $<

$(BUILD)/libepbatch.so: $(PRELOAD_OBJS)
	@mkdir -p $(dir $@)
	$(CC) -shared -Wl,-z,defs -o $@ $^ $(LDFLAGS) -luring -ldl -lpthread

ALL += $(BUILD)/libepbatch.so
CLEAN +=

# The shim's benchmark loop and its test helper (tests/shim/*.sh run them).
$(BUILD)/shim/epbatch-rearm: preload/bench/rearm.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -pthread -o $@ $< $(LDFLAGS) -ldl

$(BUILD)/shim/shim-check: tests/shim/shim-check.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -pthread -o $@ $< $(LDFLAGS)

# A library whose constructor calls into the shim before the shim's own
# (tests/shim/t-shim-early.sh).
$(BUILD)/shim/libearly.so: tests/shim/early.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -fPIC -shared -o $@ $< $(LDFLAGS)

# An interposer after the shim, which must still see its epoll calls
# (tests/shim/t-shim-libc.sh).
$(BUILD)/shim/libspy.so: tests/shim/spy.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -fPIC -shared -o $@ $< $(LDFLAGS) -ldl

# What the operations the shim chooses between cost here (make bench).
$(BUILD)/shim/epbatch-costs: preload/bench/costs.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(LDFLAGS) -luring

# The least a deferral over liburing's public API costs, counted beside the
# shim by scripts/bench-shim-instr.sh (variant floor; not a shim).
$(BUILD)/shim/libepbatch-floor.so: preload/bench/floor.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -fPIC -shared -o $@ $< $(LDFLAGS) -luring -ldl

# The least any interposer of the epoll calls costs, timed beside the shim
# by scripts/bench-shim.sh (variant null; not a shim).
$(BUILD)/shim/libepbatch-null.so: preload/bench/null.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -fPIC -shared -o $@ $< $(LDFLAGS) -ldl

# The shim with its waits' cancellation window held open (wait.c,
# EPBATCH_TEST_WINDOW) and the program that cancels a thread there
# (tests/shim/t-shim-cancel-window.sh): wait.c built apart, the rest shared.
$(BUILD)/preload-window/wait.o: preload/wait.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(DEPFLAGS) $(SDT_FLAGS) $(PRELOAD_CFLAGS) -DEPBATCH_TEST_WINDOW -c -o $@ $<

$(BUILD)/shim/libepbatch-window.so: $(filter-out $(BUILD)/preload/wait.o,$(PRELOAD_OBJS)) \
				   $(BUILD)/preload-window/wait.o
	@mkdir -p $(dir $@)
	$(CC) -shared -Wl,-z,defs -o $@ $(filter %.o,$^) $(LDFLAGS) -luring -ldl -lpthread

$(BUILD)/shim/cancel-window: tests/shim/cancel-window.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -pthread -o $@ $< $(LDFLAGS)

TESTBINS += $(BUILD)/shim/epbatch-rearm $(BUILD)/shim/shim-check $(BUILD)/shim/epbatch-costs \
	$(BUILD)/shim/libearly.so $(BUILD)/shim/libepbatch-floor.so $(BUILD)/shim/libepbatch-null.so \
	$(BUILD)/shim/libspy.so $(BUILD)/shim/libepbatch-window.so $(BUILD)/shim/cancel-window
