/* libFuzzer target over device-tree discovery (lib/fdt.c, hw/dt.c): the input is a DTB, copied
 * to a buffer of exactly its size (ASan sees any overread). Whatever the walk records is then
 * named, matched against the aliases and printed (fuzz_common.h). PCI hosts the tree names are
 * enumerated over the input itself as garbage config space (host/hwsim.c). The /cpus nodes the
 * riscv64 and aarch64 starts read are found as they find them (lib/fdt_boot.c fdt_cpu_id). */
#include "fdt.h"
#include "fuzz_common.h"
#include "hwsim.h"
#include "kernel.h"

char _kernel_start[1], _kernel_end[1]; /* lib/fdt_boot.c's fdt_boot_info reads them (not run here) */

static int cpu_visit(const struct fdt_node *node, void *ctx)
{
    uint64_t id;
    *(int *)ctx += fdt_cpu_id(node, &id) == 0;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_setup();
    fuzz_reset_tables();
    uint8_t *blob = malloc(size ? size : 1);
    if (!blob)
        abort();
    memcpy(blob, data, size);
    hwsim_flat(blob, size);
    if (hw_dt_discover(blob, size) == 0)
        fuzz_show_inventory();
    int cpus = 0;
    (void)fdt_walk(blob, size, cpu_visit, &cpus);
    if (hw_inv.n > HW_MAX_DEVICES || hw_mem.n > HW_MAX_BANKS)
        abort();
    hwsim_reset();
    free(blob);
    return 0;
}
