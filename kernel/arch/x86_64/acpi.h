/* The ACPI tables the BIOS left in memory (acpi.c): only what x86_64's smp.c needs. */
#ifndef AUTON_X86_64_ACPI_H
#define AUTON_X86_64_ACPI_H

#include <stdint.h>

#define ACPI_MAX_CPUS 16

struct acpi_cpus {
    uint64_t lapic_base;            /* the local APICs' MMIO (each CPU sees its own there) */
    uint8_t apic_id[ACPI_MAX_CPUS]; /* the enabled processors' local APIC ids, MADT order */
    int n;
};

/* The MADT's enabled local APICs (type 0 entries, and a type 5 address override). Returns 0,
 * or -1 without an RSDP, RSDT/XSDT or MADT that checks out (then *out says nothing). */
int acpi_madt_cpus(struct acpi_cpus *out);

#endif
