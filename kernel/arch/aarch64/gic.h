/* QEMU virt's GICv2 (gic.c): interrupts are never taken (PSTATE.I stays masked), a pending one
 * only ends a wfi: the virtual timer's on the boot CPU, a software-generated one on the others. */
#ifndef AUTON_AARCH64_GIC_H
#define AUTON_AARCH64_GIC_H

#include <stdint.h>

#define GIC_WAKE_SGI   0  /* what cpupool_arch_wake sends */
#define GIC_VTIMER_PPI 27 /* the EL1 virtual timer's interrupt */

/* Turn the distributor on (once, on the boot CPU). */
void gic_dist_init(void);

/* On the calling CPU: let interrupt `irq` (an SGI or PPI, banked per CPU) reach its CPU
 * interface, and turn that interface on. */
void gic_cpu_init(uint32_t irq);

/* Send GIC_WAKE_SGI to every CPU but the caller, after the caller's earlier stores. */
void gic_wake_others(void);

/* Acknowledge and end the calling CPU's highest pending interrupt, if any. */
void gic_ack(void);

#endif
