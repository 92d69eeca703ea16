/* x86_64's other CPUs (smp.c), shared by C and entry.S: the application processors start in
 * entry.S's real-mode trampoline, copied to SMP_TRAMPOLINE, and each takes one of the
 * SMP_STACK_SIZE stacks of ap_stacks in the order they arrive. */
#ifndef AUTON_X86_64_SMP_H
#define AUTON_X86_64_SMP_H

#define SMP_MAX_CPUS        8
#define SMP_STACK_SIZE      (64 * 1024)
#define SMP_TRAMPOLINE      0x8000 /* a free page below 1 MiB; the SIPI vector is its page number */
#define SMP_WAKE_VECTOR     0x30   /* the fixed IPI that ends a sleeping worker's hlt */
#define SMP_SPURIOUS_VECTOR 0x3f   /* the local APIC's spurious interrupt */

#ifndef __ASSEMBLER__
#include <stdint.h>

extern uint8_t ap_stacks[SMP_MAX_CPUS - 1][SMP_STACK_SIZE];
extern volatile uint32_t *lapic_eoi; /* entry.S's wake_irq writes it */

/* Load the boot CPU's IDT on this CPU (arch.c). */
void x86_idt_load(void);

/* Start every other CPU that the ACPI MADT lists as enabled with INIT-SIPI-SIPI and make them
 * the runtime's workers (before slm_load); notes the count in hw_cpu.extra and hw_cpu.count. */
void smp_start(void);
#endif

#endif
