/* libFuzzer target over device-tree discovery (lib/fdt.c, hw/dt.c): the input is a DTB, copied
 * to a buffer of exactly its size (ASan sees any overread). Whatever the walk records is then
 * named, matched against the aliases and printed (fuzz_common.h). PCI hosts the tree names are
 * enumerated over the input itself as garbage config space (host/hwsim.c). */
#include "fuzz_common.h"
#include "hwsim.h"

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
    if (hw_inv.n > HW_MAX_DEVICES || hw_mem.n > HW_MAX_BANKS)
        abort();
    hwsim_reset();
    free(blob);
    return 0;
}
