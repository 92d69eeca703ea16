# The SLM runtime: its sources and compiler flags, shared by the kernel build (kernel/Makefile)
# and the host build (host.mk). Paths are relative to kernel/.
#
# RUNTIME_CFLAGS go after a build's own -std/-O/-W flags. They fix the numerics: no FMA
# contraction and no reassociation, so the same C code gives bit-identical logits on riscv64,
# aarch64, x86_64 and the host. -ffreestanding: no libc (gcc may still emit calls to memcpy,
# memset and memcmp, which the kernel provides); -fno-math-errno lets __builtin_sqrtf become one
# instruction.
ifndef RUNTIME_SRCS
RUNTIME_SRCS := $(addprefix runtime/,arena.c bpe.c fmath.c fmt.c gguf.c model.c quant.c quant_arm.c quant_pick.c quant_rvv.c quant_swar.c quant_x86.c rt.c sampler.c \
	slm.c spm.c ugm.c unicode.c unicode_table.c vocab.c)
RUNTIME_HDRS := $(wildcard runtime/*.h) include/platform.h
RUNTIME_CFLAGS := -ffreestanding -fno-strict-aliasing -ffp-contract=off -fno-math-errno -Iinclude -Iruntime
# The console and the discovery code the kernel and the host build share (kernel/console/,
# kernel/hw/); CONSOLE_HDRS for the host build's dependencies.
CONSOLE_SRCS := $(addprefix console/,answer.c cmd_hw.c cmd_kb.c commands.c glob.c kb.c names.c request.c shell.c) \
	hw/inventory.c hw/pci.c
CONSOLE_HDRS := $(wildcard console/*.h hw/*.h) include/kernel.h
CONSOLE_CFLAGS := -Ihw -Iconsole
endif
