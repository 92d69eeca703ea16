/* riscv64's V extension. S-mode cannot read misa, so the device tree says whether the harts
 * have V: the first cpu's riscv,isa ("rv64imafdcvh_zicsr_...", QEMU's harts are alike) lists it
 * among its single-letter extensions, before the first '_'. With VS Off a vector instruction
 * traps; Initial lets it run (no context is ever switched, so the state is never saved). QEMU's
 * OpenSBI already sets VS on a hart with V; the kernel does not rely on that. The runtime's rvv
 * path is available when VS is on (quant_rvv.c). */
#include "vector.h"

#include "hw.h"
#include "kernel.h"

#define SSTATUS_VS_INITIAL (1ul << 9)

static int harts_have_v;

static int isa_has_v(const char *isa)
{
    if (strncmp(isa, "rv64", 4) != 0)
        return 0;
    for (isa += 4; *isa && *isa != '_'; isa++)
        if (*isa == 'v')
            return 1;
    return 0;
}

void vector_probe(void)
{
    harts_have_v = isa_has_v(hw_cpu.isa);
    vector_on();
}

void vector_on(void)
{
    if (harts_have_v)
        __asm__ volatile("csrs sstatus, %0" : : "r"(SSTATUS_VS_INITIAL));
}
