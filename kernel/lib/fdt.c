/* A minimal flattened device tree (DTB) reader for the boot code of riscv64 and aarch64.
 *
 * The blob comes from QEMU, but it is still read defensively: every offset is checked against
 * the header's sizes before it is dereferenced, so a damaged blob makes fdt_read fail instead
 * of faulting. Only the root node's #address-cells/#size-cells are honoured, which is how QEMU's
 * virt machines describe memory. */
#include "kernel.h"

enum { FDT_MAGIC = 0xd00dfeed, FDT_BEGIN_NODE = 1, FDT_END_NODE = 2, FDT_PROP = 3, FDT_NOP = 4, FDT_END = 9 };

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* A big-endian number of `cells` 32-bit cells (1 or 2). */
static uint64_t cells_value(const uint8_t *p, uint32_t cells)
{
    return cells == 2 ? (uint64_t)be32(p) << 32 | be32(p + 4) : be32(p);
}

static int name_is(const char *name, size_t len, const char *want)
{
    size_t n = strlen(want);
    return len >= n && strncmp(name, want, n) == 0 && (len == n || name[n] == '@');
}

int fdt_boot_info(const void *blob, struct boot_info *bi, uint64_t *timebase_hz)
{
    const uint8_t *b = blob;
    uintptr_t addr = (uintptr_t)_kernel_start;
    bi->ram_start = bi->ram_end = 0;
    bi->cmdline[0] = '\0';
    if (!b || ((uintptr_t)b & 3) || be32(b) != FDT_MAGIC)
        return -1;
    uint32_t total = be32(b + 4), off_struct = be32(b + 8), off_strings = be32(b + 12);
    uint32_t size_strings = be32(b + 32), size_struct = be32(b + 36);
    if (total < 40 || off_struct > total || size_struct > total - off_struct || off_strings > total ||
        size_strings > total - off_strings || (off_struct & 3))
        return -1;

    const uint8_t *p = b + off_struct, *end = p + size_struct;
    uint32_t addr_cells = 2, size_cells = 1;
    int depth = 0;
    enum { OTHER, MEMORY, CHOSEN, CPUS } node = OTHER;
    while (p + 4 <= end) {
        uint32_t tok = be32(p);
        p += 4;
        if (tok == FDT_BEGIN_NODE) {
            const char *name = (const char *)p;
            size_t len = 0;
            while (p + len < end && name[len])
                len++;
            if (p + len >= end)
                return -1;
            depth++;
            node = depth != 2                         ? OTHER
                   : name_is(name, len, "memory") ? MEMORY
                   : name_is(name, len, "chosen") ? CHOSEN
                   : name_is(name, len, "cpus")   ? CPUS
                                                  : OTHER;
            p += (len + 1 + 3) & ~(size_t)3;
        } else if (tok == FDT_END_NODE) {
            depth--;
            node = OTHER;
        } else if (tok == FDT_PROP) {
            if (end - p < 8)
                return -1;
            uint32_t len = be32(p), nameoff = be32(p + 4);
            p += 8;
            if (len > (size_t)(end - p) || nameoff >= size_strings)
                return -1;
            const char *pname = (const char *)b + off_strings + nameoff;
            size_t pmax = size_strings - nameoff;
            if (depth == 1 && len == 4 && strncmp(pname, "#address-cells", pmax) == 0)
                addr_cells = be32(p);
            else if (depth == 1 && len == 4 && strncmp(pname, "#size-cells", pmax) == 0)
                size_cells = be32(p);
            else if (node == MEMORY && strncmp(pname, "reg", pmax) == 0 && addr_cells - 1 < 2 &&
                     size_cells - 1 < 2) {
                uint32_t entry = 4 * (addr_cells + size_cells);
                for (uint32_t o = 0; o + entry <= len; o += entry) {
                    uint64_t base = cells_value(p + o, addr_cells);
                    uint64_t size = cells_value(p + o + 4 * addr_cells, size_cells);
                    if (addr >= base && addr - base < size) {
                        bi->ram_start = (uintptr_t)base;
                        bi->ram_end = (uintptr_t)(base + size);
                    }
                }
            } else if (node == CHOSEN && strncmp(pname, "bootargs", pmax) == 0 && len > 0) {
                size_t n = len < sizeof(bi->cmdline) ? len : sizeof(bi->cmdline) - 1;
                memcpy(bi->cmdline, p, n);
                bi->cmdline[n] = '\0';
            } else if (node == CPUS && strncmp(pname, "timebase-frequency", pmax) == 0 && (len == 4 || len == 8))
                *timebase_hz = cells_value(p, len / 4);
            p += (len + 3) & ~(uint32_t)3;
        } else if (tok == FDT_END) {
            break;
        } else if (tok != FDT_NOP) {
            return -1;
        }
    }
    return bi->ram_end > bi->ram_start ? 0 : -1;
}
