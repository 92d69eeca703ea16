/* The boot facts the boot code of riscv64 and aarch64 needs from the device tree
 * (fdt_boot_info, kernel.h): the RAM bank holding the kernel, /chosen bootargs, the timebase,
 * and the ids of the CPUs to start (fdt_cpu_id). */
#include "fdt.h"
#include "kernel.h"

struct boot_ctx {
    struct boot_info *bi;
    uint64_t *timebase_hz;
};

static int boot_visit(const struct fdt_node *node, void *ctx)
{
    struct boot_ctx *c = ctx;
    uint32_t len;
    const uint8_t *v;
    if (node->depth != 1)
        return 0;
    if (fdt_name_is(node, "memory")) {
        uintptr_t addr = (uintptr_t)_kernel_start;
        uint64_t base, size;
        for (uint32_t i = 0; fdt_reg(node, i, &base, &size) == 0; i++)
            if (addr >= base && addr - base < size) {
                c->bi->ram_start = (uintptr_t)base;
                c->bi->ram_end = (uintptr_t)(base + size);
            }
    } else if (fdt_name_is(node, "chosen") && (v = fdt_prop(node, "bootargs", &len)) && len > 0) {
        size_t n = len < sizeof(c->bi->cmdline) ? len : sizeof(c->bi->cmdline) - 1;
        memcpy(c->bi->cmdline, v, n);
        c->bi->cmdline[n] = '\0';
    } else if (fdt_name_is(node, "cpus") && (v = fdt_prop(node, "timebase-frequency", &len)) &&
               (len == 4 || len == 8)) {
        *c->timebase_hz = fdt_cells(v, len / 4);
    }
    return 0;
}

int fdt_boot_info(const void *blob, struct boot_info *bi, uint64_t *timebase_hz)
{
    struct boot_ctx c = {bi, timebase_hz};
    bi->ram_start = bi->ram_end = 0;
    bi->cmdline[0] = '\0';
    if (fdt_walk(blob, 64u << 20, boot_visit, &c) != 0)
        return -1;
    return bi->ram_end > bi->ram_start ? 0 : -1;
}

int fdt_cpu_id(const struct fdt_node *node, uint64_t *id)
{
    char str[12];
    uint64_t size;
    if (node->depth != 2 || !fdt_name_is(node->parent, "cpus"))
        return -1;
    fdt_prop_str(node, "device_type", str, sizeof str);
    if (strncmp(str, "cpu", 4) != 0 || fdt_reg(node, 0, id, &size) != 0)
        return -1;
    if (fdt_prop_str(node, "status", str, sizeof str) && strncmp(str, "okay", 5) && strncmp(str, "ok", 3))
        return -1;
    return 0;
}
