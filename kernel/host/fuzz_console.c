/* libFuzzer target over the console commands (console/): the input is console lines, each run
 * as a command (lines that are not commands would go to the model, which this target leaves
 * out). The inventory holds a few simulated PCI functions so the device commands have
 * something to find; the kb is the real blob when $AUTON_FUZZ_KB names one. */
#include "fuzz_common.h"
#include "hwsim.h"

static void make_inventory(void)
{
    static uint8_t hw[3 * (16 + 256)];
    static const struct {
        uint8_t dev;
        uint16_t vendor, device, subdevice;
        uint32_t class_code;
    } fns[3] = {
        {0, 0x8086, 0x1237, 0, 0x060000}, {2, 0x8086, 0x100e, 0x1100, 0x020000}, {3, 0x1af4, 0x1000, 1, 0x020000}};
    for (int i = 0; i < 3; i++) {
        uint8_t *r = hw + i * (16 + 256), *cfg = r + 16;
        r[0] = 'P';
        r[2] = fns[i].dev;
        r[5] = 1; /* length 256, little-endian */
        memcpy(cfg, &fns[i].vendor, 2);
        memcpy(cfg + 2, &fns[i].device, 2);
        uint32_t cls = fns[i].class_code << 8;
        memcpy(cfg + 8, &cls, 4);
        cfg[0x2c] = 0xf4, cfg[0x2d] = 0x1a;
        memcpy(cfg + 0x2e, &fns[i].subdevice, 2);
    }
    char err[128];
    static const struct pci_host all = {.bus_start = 0, .bus_end = 255};
    if (hwsim_load(hw, sizeof hw, err, sizeof err) != 0)
        abort();
    pci_enumerate(&all);
    names_resolve(&fuzz_shell.kb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char line[CONSOLE_LINE_MAX];
    fuzz_setup();
    if (!hw_inv.n)
        make_inventory();
    for (size_t i = 0; i < size;) {
        size_t n = 0;
        while (i < size && data[i] != '\n') {
            if (n + 1 < sizeof line && data[i]) /* as kreadline: cut at 1023 bytes, no NULs */
                line[n++] = (char)data[i];
            i++;
        }
        i++;
        line[n] = '\0';
        console_command(&fuzz_shell, line);
    }
    return 0;
}
