/* ACPI on a PC: the RSDP in the first KiB of the EBDA or the BIOS area 0xE0000-0xFFFFF, the
 * RSDT (or XSDT from revision 2) it points to, and the MADT ("APIC") among their tables. Every
 * structure's checksum is verified; the tables lie in the identity-mapped first 4 GiB. */
#include "acpi.h"

#include "kernel.h"

#define EBDA_SEGMENT_PTR 0x40e /* BIOS data area: the EBDA's real-mode segment */
#define BIOS_AREA        0xe0000
#define BIOS_AREA_END    0x100000
#define RSDP_V1_LEN      20
#define RSDP_MAX_LEN     1024 /* revision 2's is 36; a longer one is not an RSDP */
#define MADT_LAPIC       0    /* processor local APIC entry */
#define MADT_LAPIC_ADDR  5    /* local APIC address override */
#define MADT_ENABLED     1u

struct rsdp {
    char signature[8];
    uint8_t checksum;
    char oem[6];
    uint8_t revision;
    uint32_t rsdt;
    uint32_t length; /* revision 2 on */
    uint64_t xsdt;
    uint8_t extended_checksum, reserved[3];
} __attribute__((packed));

struct sdt {
    char signature[4];
    uint32_t length;
    uint8_t revision, checksum;
    char oem[6], oem_table[8];
    uint32_t oem_revision, creator, creator_revision;
} __attribute__((packed));

/* The tables lie in the identity-mapped first ACPI_MEMORY bytes. The host fuzz target
 * (host/fuzz_acpi.c) defines ACPI_MEMORY and phys() over a buffer before including this file. */
#ifndef ACPI_MEMORY
#define ACPI_MEMORY (4ull << 30)

/* A physical address as a pointer. The empty asm hides the constant from GCC, which would
 * otherwise take a low address for an offset from a null pointer. */
static const uint8_t *phys(uint64_t addr)
{
    uintptr_t p = (uintptr_t)addr;
    __asm__("" : "+r"(p));
    return (const uint8_t *)p;
}
#endif

static int sums_to_zero(const uint8_t *p, uint32_t len)
{
    uint8_t s = 0;
    while (len--)
        s = (uint8_t)(s + *p++);
    return s == 0;
}

static const struct rsdp *scan_rsdp(uint64_t start, uint64_t end)
{
    for (uint64_t a = start; a + sizeof(struct rsdp) <= end; a += 16) {
        const struct rsdp *r = (const void *)phys(a);
        if (memcmp(r->signature, "RSD PTR ", 8) == 0 && sums_to_zero((const uint8_t *)r, RSDP_V1_LEN))
            return r;
    }
    return NULL;
}

static const struct rsdp *find_rsdp(void)
{
    uint64_t ebda = (uint64_t) * (const uint16_t *)phys(EBDA_SEGMENT_PTR) << 4;
    const struct rsdp *r = ebda >= 0x400 && ebda < BIOS_AREA ? scan_rsdp(ebda, ebda + 1024) : NULL;
    return r ? r : scan_rsdp(BIOS_AREA, BIOS_AREA_END);
}

/* The table at addr if it is whole in ACPI_MEMORY and its checksum holds (no sum wraps). */
static const struct sdt *sdt_at(uint64_t addr)
{
    if (addr == 0 || addr > ACPI_MEMORY - sizeof(struct sdt))
        return NULL;
    const struct sdt *t = (const void *)phys(addr);
    if (t->length < sizeof *t || t->length > ACPI_MEMORY - addr || !sums_to_zero((const uint8_t *)t, t->length))
        return NULL;
    return t;
}

/* The RSDT's or XSDT's table with this signature. */
static const struct sdt *find_table(const char sig[4])
{
    const struct rsdp *r = find_rsdp();
    if (!r)
        return NULL;
    int wide = r->revision >= 2 && r->xsdt && r->length >= sizeof *r && r->length <= RSDP_MAX_LEN &&
               sums_to_zero((const uint8_t *)r, r->length);
    const struct sdt *root = sdt_at(wide ? r->xsdt : r->rsdt);
    if (!root)
        return NULL;
    uint32_t entry = wide ? 8 : 4;
    const uint8_t *p = (const uint8_t *)(root + 1), *end = (const uint8_t *)root + root->length;
    for (; p + entry <= end; p += entry) {
        uint64_t addr = 0;
        memcpy(&addr, p, entry);
        const struct sdt *t = sdt_at(addr);
        if (t && memcmp(t->signature, sig, 4) == 0)
            return t;
    }
    return NULL;
}

int acpi_madt_cpus(struct acpi_cpus *out)
{
    const struct sdt *madt = find_table("APIC");
    if (!madt || madt->length < sizeof *madt + 8)
        return -1;
    const uint8_t *p = (const uint8_t *)(madt + 1), *end = (const uint8_t *)madt + madt->length;
    uint32_t lapic32;
    memcpy(&lapic32, p, 4);
    out->lapic_base = lapic32;
    out->n = 0;
    for (p += 8; p + 2 <= end && p[1] >= 2 && p + p[1] <= end; p += p[1]) {
        uint32_t flags;
        if (p[0] == MADT_LAPIC && p[1] >= 8) {
            memcpy(&flags, p + 4, 4);
            if ((flags & MADT_ENABLED) && out->n < ACPI_MAX_CPUS)
                out->apic_id[out->n++] = p[3];
        } else if (p[0] == MADT_LAPIC_ADDR && p[1] >= 12) {
            memcpy(&out->lapic_base, p + 4, 8);
        }
    }
    return 0;
}
