# Test helpers (not tests themselves): workloads with known syscall counts.
TEST_HELPERS := $(BUILD)/tests/ctlgen
TESTBINS += $(TEST_HELPERS)

$(BUILD)/tests/ctlgen: tests/workloads/ctlgen.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $< -o $@ $(LDFLAGS) -lpthread
