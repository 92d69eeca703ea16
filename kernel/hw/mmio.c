/* The hardware accessors of the device-tree machines (riscv64, aarch64): MMIO and PCI ECAM.
 * Accesses outside the host's ECAM window read as all ones and write nothing. */
#include "hw.h"

uint32_t plat_mmio_read32(uint64_t addr)
{
    return *(volatile uint32_t *)(uintptr_t)addr;
}

/* The ECAM address of a config register, or 0 when it lies outside the window. */
static uintptr_t ecam_addr(const struct pci_host *h, unsigned bus, unsigned dev, unsigned fn, unsigned off)
{
    if (bus < h->bus_start || bus > h->bus_end || dev > 31 || fn > 7 || off > 0xffc)
        return 0;
    uint64_t o = (uint64_t)(bus - h->bus_start) << 20 | dev << 15 | fn << 12 | (off & ~3u);
    return o < h->ecam_size ? (uintptr_t)(h->ecam_base + o) : 0;
}

uint32_t plat_pci_read32(const struct pci_host *h, unsigned bus, unsigned dev, unsigned fn, unsigned off)
{
    uintptr_t a = ecam_addr(h, bus, dev, fn, off);
    return a ? *(volatile uint32_t *)a : 0xffffffff;
}

void plat_pci_write32(const struct pci_host *h, unsigned bus, unsigned dev, unsigned fn, unsigned off, uint32_t v)
{
    uintptr_t a = ecam_addr(h, bus, dev, fn, off);
    if (a)
        *(volatile uint32_t *)a = v;
}
