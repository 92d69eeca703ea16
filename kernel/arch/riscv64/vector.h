/* riscv64's vector unit (vector.c). */
#ifndef AUTON_RISCV64_VECTOR_H
#define AUTON_RISCV64_VECTOR_H

/* Whether the harts have V, from the device tree's riscv,isa (after hw_dt_discover), then V on
 * for this hart as vector_on does. */
void vector_probe(void);

/* Turn V on for the calling hart (sstatus.VS = Initial) when the harts have it: before its first
 * vector instruction, which would trap with VS Off. */
void vector_on(void);

#endif
