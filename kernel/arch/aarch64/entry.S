/* aarch64 entry on QEMU virt. QEMU loads the ELF and jumps here at EL1 (or at EL2 with
 * -machine virtualization=on, which is dropped to EL1 below), MMU off, x0 = 0: a bare ELF gets
 * no DTB pointer, and QEMU puts the DTB at the base of RAM instead (arch.c). */

#include "stacks.h"

#define CPACR_FPEN_ON (3 << 20)   /* no FP/SIMD traps at EL1/EL0: gcc uses NEON everywhere */
#define HCR_EL2_RW (1 << 31)      /* EL1 runs AArch64 */
#define CNTHCTL_EL1_ACCESS 3      /* EL1 may use the physical counter and timer */
#define CPTR_EL2_NO_TRAPS 0x33ff  /* RES1 bits only: FP/SIMD not trapped to EL2 */
#define SPSR_EL1H_MASKED 0x3c5    /* EL1h, D A I F masked */

    .section .text.entry, "ax"
    .globl _start
_start:
    mov     x19, x0
    mrs     x1, CurrentEL
    ubfx    x1, x1, #2, #2
    cmp     x1, #2
    b.hi    hang                    /* EL3 (secure=on) is not supported */
    b.lo    at_el1
    mov     x1, #HCR_EL2_RW
    msr     hcr_el2, x1
    mov     x1, #CNTHCTL_EL1_ACCESS
    msr     cnthctl_el2, x1
    msr     cntvoff_el2, xzr
    mov     x1, #CPTR_EL2_NO_TRAPS
    msr     cptr_el2, x1
    mov     x1, #SPSR_EL1H_MASKED
    msr     spsr_el2, x1
    adr     x1, at_el1
    msr     elr_el2, x1
    eret
at_el1:
    mov     x1, #CPACR_FPEN_ON
    msr     cpacr_el1, x1
    isb
    adrp    x1, boot_stack + BOOT_STACK_SIZE
    add     x1, x1, :lo12:boot_stack + BOOT_STACK_SIZE
    mov     sp, x1
    adrp    x1, vectors
    add     x1, x1, :lo12:vectors
    msr     vbar_el1, x1
    adrp    x1, _bss_start          /* zero .bss */
    add     x1, x1, :lo12:_bss_start
    adrp    x2, _bss_end
    add     x2, x2, :lo12:_bss_end
1:  cmp     x1, x2
    b.hs    2f
    str     xzr, [x1], #8
    b       1b
2:  bl      mmu_enable              /* identity map, caches on (mmu.c) */
    mov     x0, x19
    bl      arch_start              /* arch_start(x0 at entry) does not return */
hang:
    wfe
    b       hang

/* A CPU started by PSCI CPU_ON(mpidr, secondary_entry, context) (smp.c), at EL1 with the MMU
 * off and x0 = context = the top of its own stack: the boot CPU's EL1 state (FP/SIMD on, the
 * vectors, its page tables and caches: mmu_on reads no memory with the MMU off), then
 * arch_secondary. */
    .globl secondary_entry
secondary_entry:
    mov     x1, #CPACR_FPEN_ON
    msr     cpacr_el1, x1
    isb
    mov     sp, x0
    adrp    x1, vectors
    add     x1, x1, :lo12:vectors
    msr     vbar_el1, x1
    bl      mmu_on
    bl      arch_secondary          /* does not return */
    b       hang

/* Exception vectors: every exception is unexpected (interrupts stay masked). Each slot passes
 * its index (0-15: {sync, irq, fiq, serror} x {EL1t, EL1h, EL0 64, EL0 32}) to the C handler
 * on a fresh stack, since the fault may be a stack overflow. */
.macro vector idx
    .balign 0x80
    mov     x0, #\idx
    b       trap_common
.endm

    .balign 2048
vectors:
    vector 0
    vector 1
    vector 2
    vector 3
    vector 4
    vector 5
    vector 6
    vector 7
    vector 8
    vector 9
    vector 10
    vector 11
    vector 12
    vector 13
    vector 14
    vector 15

trap_common:
    adrp    x1, trap_stack + TRAP_STACK_SIZE
    add     x1, x1, :lo12:trap_stack + TRAP_STACK_SIZE
    mov     sp, x1
    mrs     x1, esr_el1
    mrs     x2, elr_el1
    mrs     x3, far_el1
    bl      aarch64_trap
