/* libFuzzer target over x86_64's ACPI reading (arch/x86_64/acpi.c, included here with its
 * physical memory mapped onto a buffer): the input is the memory from the BIOS area 0xE0000 on,
 * where the RSDP is searched for and where the seeds (bench/fuzz.py) put an RSDT, an XSDT and a
 * MADT. So that mutations get past the checksums, every checksum of the RSDP and of the tables
 * its roots point at is fixed before the parse; lengths, pointers and entries stay as mutated.
 * The parse must stay inside the buffer (ASan) and keep at most ACPI_MAX_CPUS processors. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MEMORY_SIZE 0x110000u /* the first MiB, and 64 KiB above it for tables */
#define ACPI_MEMORY MEMORY_SIZE
#define INPUT_AT    0xe0000u

static uint8_t memory[MEMORY_SIZE];

static const uint8_t *phys(uint64_t addr)
{
    if (addr >= MEMORY_SIZE)
        abort(); /* acpi.c read outside the memory it was given */
    return memory + addr;
}

#include "../arch/x86_64/acpi.c"

/* Set byte `at` of memory[addr..addr+len) so that the bytes sum to zero (when they fit). */
static void fix_sum(uint64_t addr, uint64_t len, uint64_t at)
{
    if (len == 0 || addr >= MEMORY_SIZE || len > MEMORY_SIZE - addr || at >= len)
        return;
    uint8_t s = 0;
    memory[addr + at] = 0;
    for (uint64_t i = 0; i < len; i++)
        s = (uint8_t)(s + memory[addr + i]);
    memory[addr + at] = (uint8_t)-s;
}

static void fix_table(uint64_t addr)
{
    uint32_t len;
    if (addr == 0 || addr > MEMORY_SIZE - sizeof(struct sdt))
        return;
    memcpy(&len, memory + addr + 4, 4);
    fix_sum(addr, len, 9);
}

/* The tables a root at addr lists (entry: 4 bytes for the RSDT, 8 for the XSDT), then the root. */
static void fix_root(uint64_t addr, uint32_t entry)
{
    uint32_t len;
    if (addr == 0 || addr > MEMORY_SIZE - sizeof(struct sdt))
        return;
    memcpy(&len, memory + addr + 4, 4);
    for (uint64_t p = addr + sizeof(struct sdt); p + entry <= addr + len && p + entry <= MEMORY_SIZE; p += entry) {
        uint64_t t = 0;
        memcpy(&t, memory + p, entry);
        fix_table(t);
    }
    fix_table(addr);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    memset(memory, 0, sizeof memory);
    if (size > MEMORY_SIZE - INPUT_AT)
        size = MEMORY_SIZE - INPUT_AT;
    memcpy(memory + INPUT_AT, data, size);
    struct rsdp r;
    memcpy(&r, memory + INPUT_AT, sizeof r);
    fix_root(r.rsdt, 4);
    fix_root(r.xsdt, 8);
    fix_sum(INPUT_AT, RSDP_V1_LEN, 8);
    if (r.revision >= 2)
        fix_sum(INPUT_AT, r.length, 32);
    struct acpi_cpus cpus;
    if (acpi_madt_cpus(&cpus) == 0 && (cpus.n < 0 || cpus.n > ACPI_MAX_CPUS))
        abort();
    return 0;
}
