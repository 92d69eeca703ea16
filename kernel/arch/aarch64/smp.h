/* aarch64's other CPUs (smp.c). */
#ifndef AUTON_AARCH64_SMP_H
#define AUTON_AARCH64_SMP_H

/* Start every other CPU of the device tree's /cpus with PSCI CPU_ON and make them the runtime's
 * workers (after discovery, which may still change the page tables, and before slm_load);
 * notes the count in hw_cpu.extra. */
void smp_start(const void *dtb);

#endif
