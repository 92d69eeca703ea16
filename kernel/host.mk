# Host builds of the SLM runtime (included by kernel/Makefile; standalone: make -f host.mk ...):
#   make -C kernel host       build/host/slm-run       the runtime as a command-line program, and
#                                                      the console over a dtb / simulated PCI file
#   make -C kernel host-test  build/host/test-runtime  unit checks of math, fp16, fmt, unicode
#   make -C kernel fuzz       build/host/fuzz-gguf     libFuzzer + ASan + UBSan over slm_load,
#                             build/host/fuzz-fdt      ... the device-tree discovery,
#                             build/host/fuzz-pci      ... PCI enumeration over garbage config space,
#                             build/host/fuzz-console  ... the console commands over a kb blob
#                             build/host/fuzz-request  ... request words, command grammar, answer checks
#                             build/host/fuzz-acpi     ... x86_64's RSDP, RSDT/XSDT and MADT reading
# The runtime objects get the same RUNTIME_CFLAGS as in the kernel, so the host computes what
# the kernel computes. HOST_CFLAGS may add e.g. -march=native for benchmarks (the numerics stay
# the same: the flags forbid contraction and reassociation).
include runtime/runtime.mk

HOST_CC ?= cc
FUZZ_CC ?= clang
HOST_CFLAGS ?= -g
HOST_BASE := -std=gnu11 -O2 -Wall -Wextra
HOST_DIR := build/host
HOST_OBJS := $(patsubst runtime/%.c,$(HOST_DIR)/obj/%.o,$(RUNTIME_SRCS))
FUZZ_OBJS := $(patsubst runtime/%.c,$(HOST_DIR)/fuzz-obj/%.o,$(RUNTIME_SRCS))
# the console and discovery, with the simulated hardware of host/hwsim.c
HOST_KSRCS := $(CONSOLE_SRCS) hw/dt.c lib/fdt.c lib/console.c host/hwsim.c
HOST_KOBJS := $(patsubst %.c,$(HOST_DIR)/kobj/%.o,$(HOST_KSRCS))
FUZZ_KOBJS := $(patsubst %.c,$(HOST_DIR)/fuzz-kobj/%.o,$(HOST_KSRCS))
HOST_INC := -Iinclude -Iruntime $(CONSOLE_CFLAGS) -Ihost
FUZZ_FLAGS := -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined

.PHONY: host host-test fuzz

host: $(HOST_DIR)/slm-run
host-test: $(HOST_DIR)/test-runtime
fuzz: $(HOST_DIR)/fuzz-gguf $(HOST_DIR)/fuzz-fdt $(HOST_DIR)/fuzz-pci $(HOST_DIR)/fuzz-console $(HOST_DIR)/fuzz-request $(HOST_DIR)/fuzz-acpi

$(HOST_DIR)/obj/%.o: runtime/%.c $(RUNTIME_HDRS) runtime/runtime.mk
	@mkdir -p $(@D)
	$(HOST_CC) $(HOST_BASE) $(RUNTIME_CFLAGS) $(HOST_CFLAGS) -c $< -o $@

$(HOST_DIR)/fuzz-obj/%.o: runtime/%.c $(RUNTIME_HDRS) runtime/runtime.mk
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) $(RUNTIME_CFLAGS) -c $< -o $@

$(HOST_DIR)/kobj/%.o: %.c $(RUNTIME_HDRS) $(CONSOLE_HDRS) host/hwsim.h runtime/runtime.mk
	@mkdir -p $(@D)
	$(HOST_CC) $(HOST_BASE) $(HOST_CFLAGS) $(HOST_INC) -c $< -o $@

$(HOST_DIR)/fuzz-kobj/%.o: %.c $(RUNTIME_HDRS) $(CONSOLE_HDRS) host/hwsim.h runtime/runtime.mk
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) $(HOST_INC) -c $< -o $@

$(HOST_DIR)/slm-run: host/slm_run.c host/platform_host.c host/pool.c host/pool.h $(HOST_KOBJS) $(HOST_OBJS)
	$(HOST_CC) $(HOST_BASE) $(HOST_CFLAGS) $(HOST_INC) $(filter %.c %.o,$^) -pthread -o $@

$(HOST_DIR)/test-runtime: host/test_runtime.c host/platform_host.c $(HOST_OBJS)
	$(HOST_CC) $(HOST_BASE) $(HOST_CFLAGS) -Iinclude -Iruntime $^ -lm -o $@

$(HOST_DIR)/fuzz-gguf: host/fuzz_gguf.c host/platform_host.c $(FUZZ_OBJS)
	$(FUZZ_CC) $(FUZZ_FLAGS) -Iinclude -Iruntime $^ -o $@

# request.c is compiled into the target itself (it reaches the file's static parts)
$(HOST_DIR)/fuzz-request: host/fuzz_request.c host/fuzz_common.h host/platform_host.c console/request.c $(FUZZ_KOBJS) $(FUZZ_OBJS)
	$(FUZZ_CC) $(FUZZ_FLAGS) $(HOST_INC) host/fuzz_request.c host/platform_host.c \
		$(filter-out $(HOST_DIR)/fuzz-kobj/console/request.o,$(FUZZ_KOBJS)) $(FUZZ_OBJS) -o $@

$(HOST_DIR)/fuzz-fdt: lib/fdt_boot.c

# acpi.c is compiled into the target itself, over a buffer as physical memory
$(HOST_DIR)/fuzz-acpi: host/fuzz_acpi.c arch/x86_64/acpi.c arch/x86_64/acpi.h
	$(FUZZ_CC) $(FUZZ_FLAGS) -Iinclude host/fuzz_acpi.c -o $@

$(HOST_DIR)/fuzz-%: host/fuzz_%.c host/fuzz_common.h host/platform_host.c $(FUZZ_KOBJS) $(FUZZ_OBJS)
	$(FUZZ_CC) $(FUZZ_FLAGS) $(HOST_INC) $(filter %.c %.o,$^) -o $@
