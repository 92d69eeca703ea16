/* riscv64's other harts (smp.c). */
#ifndef AUTON_RISCV64_SMP_H
#define AUTON_RISCV64_SMP_H

#include <stdint.h>

/* Start every other hart of the device tree's /cpus and make them the runtime's workers (before
 * slm_load); notes the count in hw_cpu.extra. */
void smp_start(uint64_t boot_hart, const void *dtb);

#endif
