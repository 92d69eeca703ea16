#include "gic.h"

#define GICD            0x08000000UL /* distributor */
#define GICC            0x08010000UL /* CPU interface (banked per CPU) */
#define GICD_CTLR       0x000
#define GICD_ISENABLER0 0x100 /* SGIs and PPIs: banked per CPU */
#define GICD_IPRIORITYR 0x400
#define GICD_SGIR       0xf00
#define GICC_CTLR       0x000
#define GICC_PMR        0x004
#define GICC_IAR        0x00c
#define GICC_EOIR       0x010
#define SGIR_ALL_BUT_ME (1u << 24) /* TargetListFilter 0b01 */
#define IAR_SPURIOUS    1023

static void mmio_write32(uintptr_t addr, uint32_t v)
{
    *(volatile uint32_t *)addr = v;
}

void gic_dist_init(void)
{
    mmio_write32(GICD + GICD_CTLR, 1);
}

void gic_cpu_init(uint32_t irq)
{
    *(volatile uint8_t *)(GICD + GICD_IPRIORITYR + irq) = 0x80;
    mmio_write32(GICD + GICD_ISENABLER0, 1u << irq);
    mmio_write32(GICC + GICC_PMR, 0xf0);
    mmio_write32(GICC + GICC_CTLR, 1);
}

void gic_wake_others(void)
{
    /* The stores the woken CPUs will look for are visible before they see the interrupt. */
    __asm__ volatile("dsb ishst" ::: "memory");
    mmio_write32(GICD + GICD_SGIR, SGIR_ALL_BUT_ME | GIC_WAKE_SGI);
}

void gic_ack(void)
{
    uint32_t iar = *(volatile uint32_t *)(GICC + GICC_IAR);
    if ((iar & 0x3ff) != IAR_SPURIOUS)
        mmio_write32(GICC + GICC_EOIR, iar);
}
