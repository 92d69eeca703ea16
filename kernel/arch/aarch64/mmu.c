/* aarch64 identity map, so RAM is Normal cacheable memory: with the MMU off every access is
 * Device memory, where unaligned loads fault and exclusives misbehave. One level-1 table of
 * 1 GiB blocks covers 512 GiB: the first GiB (QEMU virt's MMIO: GIC, PL011, virtio, PCIe
 * window) as Device-nGnRnE, the rest as Normal write-back. Discovery later turns the blocks of
 * the device windows the device tree names above the first GiB (the high PCIe ECAM at 256 GiB)
 * into Device memory (plat_map_device).
 *
 * This runs before the MMU is on, so the file is built with -mstrict-align. */
#include <stdint.h>

#include "hw.h"

extern char _kernel_start[];

#define DESC_BLOCK    0x1ull
#define DESC_ATTR(i)  ((uint64_t)(i) << 2) /* index into MAIR_EL1 */
#define DESC_SH_INNER (3ull << 8)
#define DESC_AF       (1ull << 10)
#define DESC_PXN      (1ull << 53)
#define DESC_UXN      (1ull << 54)

#define MAIR_DEVICE_nGnRnE 0x00ull /* attr 0 */
#define MAIR_NORMAL_WB     0xffull /* attr 1: inner/outer write-back, read/write allocate */

#define TCR_T0SZ(bits) (64ull - (bits))
#define TCR_IRGN0_WB   (1ull << 8)
#define TCR_ORGN0_WB   (1ull << 10)
#define TCR_SH0_INNER  (3ull << 12)
#define TCR_TG0_4K     (0ull << 14)
#define TCR_EPD1       (1ull << 23) /* no TTBR1 walks */
#define TCR_IPS_40BIT  (2ull << 32)

#define BLOCK_SHIFT  30
#define DEVICE_BLOCK (DESC_ATTR(0) | DESC_PXN | DESC_UXN | DESC_AF | DESC_BLOCK)

#define SCTLR_M   (1ull << 0)
#define SCTLR_A   (1ull << 1)
#define SCTLR_C   (1ull << 2)
#define SCTLR_I   (1ull << 12)
#define SCTLR_WXN (1ull << 19)

static uint64_t l1_table[512] __attribute__((aligned(4096)));

void mmu_enable(void);
void mmu_on(void);

void mmu_enable(void)
{
    for (uint64_t i = 0; i < 512; i++) {
        l1_table[i] =
            (i << BLOCK_SHIFT) | (i == 0 ? DEVICE_BLOCK : DESC_ATTR(1) | DESC_SH_INNER | DESC_AF | DESC_BLOCK);
    }
    mmu_on();
}

/* The calling CPU walks l1_table from now on (the boot CPU once it is built, each other CPU as
 * it starts), with caches on. */
void mmu_on(void)
{
    uint64_t mair = MAIR_DEVICE_nGnRnE | MAIR_NORMAL_WB << 8;
    uint64_t tcr = TCR_T0SZ(39) | TCR_IRGN0_WB | TCR_ORGN0_WB | TCR_SH0_INNER | TCR_TG0_4K | TCR_EPD1 | TCR_IPS_40BIT;
    __asm__ volatile("msr mair_el1, %0\n"
                     "msr tcr_el1, %1\n"
                     "msr ttbr0_el1, %2\n"
                     "dsb ish\n"
                     "isb\n"
                     "tlbi vmalle1\n"
                     "dsb ish\n"
                     "isb\n"
                     :
                     : "r"(mair), "r"(tcr), "r"((uint64_t)(uintptr_t)l1_table)
                     : "memory");
    uint64_t sctlr;
    __asm__ volatile("mrs %0, sctlr_el1" : "=r"(sctlr));
    sctlr = (sctlr | SCTLR_M | SCTLR_C | SCTLR_I) & ~(SCTLR_A | SCTLR_WXN);
    __asm__ volatile("msr sctlr_el1, %0\n"
                     "isb\n"
                     :
                     : "r"(sctlr)
                     : "memory");
}

/* Remap the 1 GiB blocks covering [base, base+size) as Device-nGnRnE (break-before-make: the
 * old entry is invalidated and flushed first). The block holding the kernel is never remapped,
 * nor anything past the 512 GiB the table covers. */
int plat_map_device(uint64_t base, uint64_t size)
{
    uint64_t last = base + size - 1, kernel = (uint64_t)(uintptr_t)_kernel_start >> BLOCK_SHIFT;
    if (!size || last < base || last >> BLOCK_SHIFT >= 512)
        return -1;
    for (uint64_t i = base >> BLOCK_SHIFT; i <= last >> BLOCK_SHIFT; i++) {
        uint64_t want = (i << BLOCK_SHIFT) | DEVICE_BLOCK;
        if (l1_table[i] == want)
            continue;
        if (i == kernel)
            return -1;
        l1_table[i] = 0;
        __asm__ volatile("dsb ishst\ntlbi vmalle1\ndsb ish\nisb" ::: "memory");
        l1_table[i] = want;
        __asm__ volatile("dsb ishst\nisb" ::: "memory");
    }
    return 0;
}
