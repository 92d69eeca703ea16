/* riscv64 entry on QEMU virt. OpenSBI (-bios default) runs in M-mode and jumps here in S-mode
 * with a0 = hart id and a1 = the device tree. Only the boot hart comes here: the others stay
 * parked in OpenSBI's hart state management until arch.c starts them (SBI HSM) at
 * secondary_entry. */

#include "stacks.h"

#define SSTATUS_FS_INITIAL (1 << 13)

    .section .text.entry, "ax"
    .globl _start
_start:
    la      sp, boot_stack + BOOT_STACK_SIZE
    li      t0, SSTATUS_FS_INITIAL  /* the FPU is off until FS != Off: float code would trap */
    csrs    sstatus, t0
    csrw    sie, zero               /* polled kernel: no interrupts */
    la      t0, trap_entry
    csrw    stvec, t0
    la      t0, _bss_start          /* zero .bss (a0/a1 are kept for arch_start) */
    la      t1, _bss_end
1:  bgeu    t0, t1, 2f
    sd      zero, 0(t0)
    addi    t0, t0, 8
    j       1b
2:  call    arch_start              /* arch_start(hartid, dtb) does not return */
3:  wfi
    j       3b

/* A hart started by sbi_hart_start(hart, secondary_entry, opaque), in S-mode with a0 = its id
 * and a1 = opaque = the top of its own stack: FP on, no interrupts, then arch_secondary(hart). */
    .globl secondary_entry
secondary_entry:
    mv      sp, a1
    li      t0, SSTATUS_FS_INITIAL
    csrs    sstatus, t0
    csrw    sie, zero
    la      t0, trap_entry
    csrw    stvec, t0
    call    arch_secondary          /* does not return */
4:  wfi
    j       4b

/* Any trap is unexpected (no interrupts are enabled): report it on a fresh stack, since the
 * fault may be a stack overflow, and end QEMU. */
    .balign 4
trap_entry:
    la      sp, trap_stack + TRAP_STACK_SIZE
    la      a0, trap_name
    csrr    a1, scause
    csrr    a2, sepc
    csrr    a3, stval
    call    kpanic_trap

    .section .rodata
trap_name:
    .asciz  "riscv64 trap (scause, sepc, stval)"
