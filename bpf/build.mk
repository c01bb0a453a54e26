# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# BPF objects and their skeletons: bpf/X.bpf.c -> $(BUILD)/bpf/X.bpf.o -> $(BUILD)/X.skel.h
BPF_SRCS    := $(wildcard bpf/*.bpf.c)
BPF_OBJS    := $(patsubst bpf/%.bpf.c,$(BUILD)/bpf/%.bpf.o,$(BPF_SRCS))
BPF_SKELS   := $(patsubst bpf/%.bpf.c,$(BUILD)/%.skel.h,$(BPF_SRCS))
VMLINUX_H   := $(BUILD)/vmlinux.h
BPF_CFLAGS  := -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) -Wall -Werror \
               -I$(BUILD) -Ibpf -Iinclude -idirafter /usr/include/$(shell $(CC) -dumpmachine)

# vmlinux.h from the build host's BTF; the committed x86_64 copy only when
# the host has none (CO-RE relocates either to the running kernel).
$(VMLINUX_H): | $(BUILD)
	@if [ -r /sys/kernel/btf/vmlinux ]; then \
		$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@.tmp && mv $@.tmp $@; \
	else \
		echo "no /sys/kernel/btf/vmlinux: using bpf/vmlinux-x86_64.h"; \
		xz -dc bpf/vmlinux-x86_64.h.xz > $@; \
	fi

$(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c $(VMLINUX_H)
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) -MMD -MP -c $< -o $@
	llvm-strip -g $@

$(BUILD)/%.skel.h: $(BUILD)/bpf/%.bpf.o
	$(BPFTOOL) gen skeleton $< name $*_bpf > $@.tmp && mv $@.tmp $@

CLEAN += 
