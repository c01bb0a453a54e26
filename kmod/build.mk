# SPDX-License-Identifier: GPL-2.0
# kmod/build.mk: the epoll_batch module and the qemu test guest.
#   make kmod      $(BUILD)/kmod/epoll_batch.ko against KDIR
#   make vmcheck   the module for the guest's kernel, the guest test
#                  programs, then scripts/vm-test (the guest suite)
#
# KDIR default: the running kernel's headers if installed, else the newest
# Debian linux-headers-<ver>-<flavour> under /usr/src (the ABI number is read
# from what is installed, never written here).
KDIR_RUNNING := /lib/modules/$(shell uname -r)/build
KDIR_DEBIAN   = $(lastword $(sort $(wildcard /usr/src/linux-headers-*-amd64)))
KDIR ?= $(if $(wildcard $(KDIR_RUNNING)/Makefile),$(KDIR_RUNNING),$(KDIR_DEBIAN))
# The guest boots the newest Debian kernel image: build against its headers.
VM_KVER = $(shell scripts/vm-test --print-kernel-version 2>/dev/null)
VM_KDIR ?= /usr/src/linux-headers-$(VM_KVER)

KMOD_SRC := kmod/epoll_batch.c kmod/epb_logic.h kmod/Kbuild include/uapi/epoll_batch.h

# $(call kmod-build,OUTDIR,KDIR)
define kmod-build
	@if [ ! -f "$(2)/Makefile" ]; then \
		echo "kmod: no kernel headers at '$(2)' (install linux-headers-amd64: scripts/deps.sh --vm, or pass KDIR=)" >&2; exit 1; fi
	mkdir -p $(1)
	cp kmod/epoll_batch.c kmod/epb_logic.h kmod/Kbuild $(1)/
	$(MAKE) -C $(2) M=$(abspath $(1)) EPB_INC=$(abspath include/uapi) modules
endef

kmod: $(BUILD)/kmod/epoll_batch.ko

# Rebuild when KDIR changes, not only when the sources do.
$(BUILD)/kmod/.kdir: FORCE
	@mkdir -p $(@D)
	@[ "$$(cat $@ 2>/dev/null)" = "$(abspath $(KDIR))" ] || echo "$(abspath $(KDIR))" >$@

$(BUILD)/kmod/epoll_batch.ko: $(KMOD_SRC) $(BUILD)/kmod/.kdir
	$(call kmod-build,$(BUILD)/kmod,$(KDIR))

vm-kmod: $(BUILD)/vm/kmod/epoll_batch.ko

$(BUILD)/vm/kmod/epoll_batch.ko: $(KMOD_SRC) $(wildcard /boot/vmlinuz-*-amd64)
	@[ -n "$(VM_KVER)" ] || { echo "vmcheck: no Debian kernel image found (scripts/deps.sh --vm)" >&2; exit 1; }
	$(call kmod-build,$(BUILD)/vm/kmod,$(VM_KDIR))

# Guest test programs: static, so the guest needs no userland.  Not named
# $(BUILD)/tests/test-* (those run on the host).
VM_CFLAGS = $(filter-out -fsanitize=% -fno-sanitize-recover=%,$(CFLAGS)) -static
VM_PROGS := $(BUILD)/vm/kmod-test $(BUILD)/vm/kmod-fuzz

$(BUILD)/vm/%: tests/vm/%.c tests/vm/vmtest.h include/uapi/epoll_batch.h
	@mkdir -p $(@D)
	$(CC) $(VM_CFLAGS) -Itests/vm -o $@ $< -static

# The same programs under ASan+UBSan (dynamic: scripts/vm-test copies
# libasan/libubsan into the guest); the guest suite runs both.
VM_SAN := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
VM_PROGS += $(BUILD)/vm/kmod-test-asan $(BUILD)/vm/kmod-fuzz-asan

$(BUILD)/vm/%-asan: tests/vm/%.c tests/vm/vmtest.h include/uapi/epoll_batch.h
	@mkdir -p $(@D)
	$(CC) $(filter-out -fsanitize=% -fno-sanitize-recover=% -O%,$(CFLAGS)) -O1 $(VM_SAN) -Itests/vm -o $@ $< -lpthread

vm-progs: $(VM_PROGS)

vmcheck: $(BUILD)/vm/kmod/epoll_batch.ko $(VM_PROGS)
	scripts/vm-test

TESTBINS += $(VM_PROGS)
.PHONY: vm-progs vm-kmod FORCE
FORCE:

# `make install` also installs the udev rule that gives /dev/epoll_batch to
# the group epoll-batch (mode 0660, as the module's own default).  udev reads
# /etc/udev/rules.d and /usr/lib/udev/rules.d, not $(PREFIX)/lib: the rule
# goes to /usr/lib/udev/rules.d when PREFIX is /usr, else /etc/udev/rules.d.
UDEVRULESDIR ?= $(if $(filter /usr,$(PREFIX)),/usr/lib/udev/rules.d,/etc/udev/rules.d)
install: install-kmod-udev
install-kmod-udev:
	install -d $(DESTDIR)$(UDEVRULESDIR)
	install -m 0644 kmod/60-epoll-batch.rules $(DESTDIR)$(UDEVRULESDIR)/
	@getent group epoll-batch >/dev/null || \
		echo "install: no group epoll-batch yet: groupadd --system epoll-batch, then add the server's user to it"
uninstall: uninstall-kmod-udev
uninstall-kmod-udev:
	rm -f $(DESTDIR)$(UDEVRULESDIR)/60-epoll-batch.rules
.PHONY: install-kmod-udev uninstall-kmod-udev
