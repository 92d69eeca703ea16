/* libFuzzer target over PCI enumeration (hw/pci.c): the input is a simulated hardware file
 * (host/hwsim.c records); when it is not one, the raw bytes are every function's config space,
 * repeated (garbage: every slot answers, bridges point anywhere). Enumeration must stay bounded
 * (each bus once, at most HW_MAX_DEVICES functions) and everything it records is printed. */
#include "fuzz_common.h"
#include "hwsim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct pci_host all = {.bus_start = 0, .bus_end = 255};
    char err[128];
    fuzz_setup();
    fuzz_reset_tables();
    uint8_t *hw = malloc(size ? size : 1);
    if (!hw)
        abort();
    memcpy(hw, data, size);
    if (hwsim_load(hw, size, err, sizeof err) != 0)
        hwsim_flat(hw, size);
    pci_enumerate(&all);
    if (hw_inv.n > HW_MAX_DEVICES)
        abort();
    fuzz_show_inventory();
    hwsim_reset();
    free(hw);
    return 0;
}
