/* Discovery from the device tree (riscv64, aarch64, and the host's --dtb): one walk collects
 * the cpus, the memory banks, every device node with a compatible and the windows to probe;
 * then each virtio-mmio slot is probed (empty slots are dropped) and PCI is enumerated through
 * the ECAM window of each pci-host-ecam-generic node. Nothing points into the blob afterwards. */
#include "fdt.h"
#include "fmt.h"
#include "hw.h"
#include "kernel.h"

#define MAX_PCI_HOSTS      4
#define VIRTIO_MMIO_MAGIC  0x74726976 /* "virt" */
#define VIRTIO_MMIO_WINDOW 0x200

struct dt_ctx {
    struct pci_host pci[MAX_PCI_HOSTS];
    int npci;
};

static const struct {
    const char *compatible;
    uint8_t kind;
} dt_kinds[] = {
    {"ns16550a", HW_SERIAL},
    {"ns16550", HW_SERIAL},
    {"ns8250", HW_SERIAL},
    {"arm,pl011", HW_SERIAL},
    {"arm,sbsa-uart", HW_SERIAL},
    {"snps,dw-apb-uart", HW_SERIAL},
    {"sifive,uart0", HW_SERIAL},
    {"pci-host-ecam-generic", HW_BRIDGE},
    {"pci-host-cam-generic", HW_BRIDGE},
};

static int under_cpus(const struct fdt_node *n)
{
    for (; n; n = n->parent)
        if (n->depth == 1 && fdt_name_is(n, "cpus"))
            return 1;
    return 0;
}

static void add_cpu(const struct fdt_node *node)
{
    char type[8];
    uint32_t len;
    const uint8_t *v;
    fdt_prop_str(node, "device_type", type, sizeof type);
    if (node->depth != 2 || strncmp(type, "cpu", 4) != 0)
        return;
    if (hw_cpu.count++ == 0) {
        fdt_prop_str(node, "riscv,isa", hw_cpu.isa, sizeof hw_cpu.isa);
        fdt_prop_str(node, "compatible", hw_cpu.model, sizeof hw_cpu.model);
        char mmu[24];
        if (fdt_prop_str(node, "mmu-type", mmu, sizeof mmu))
            slm_snprintf(hw_cpu.extra, sizeof hw_cpu.extra, "mmu:       %s", mmu);
    }
    if (!hw_cpu.timer_hz && (v = fdt_prop(node, "timebase-frequency", &len)) && (len == 4 || len == 8))
        hw_cpu.timer_hz = fdt_cells(v, len / 4);
}

static void add_pci_host(struct dt_ctx *c, const struct fdt_node *node)
{
    uint64_t base, size;
    uint32_t len;
    if (c->npci >= MAX_PCI_HOSTS || fdt_reg(node, 0, &base, &size) != 0 || size < (1u << 20))
        return;
    struct pci_host *h = &c->pci[c->npci++];
    h->ecam_base = base;
    h->ecam_size = size;
    const uint8_t *r = fdt_prop(node, "bus-range", &len);
    h->bus_start = r && len == 8 ? (uint32_t)fdt_cells(r, 1) : 0;
    h->bus_end = r && len == 8 ? (uint32_t)fdt_cells(r + 4, 1) : h->bus_start + (uint32_t)(size >> 20) - 1;
    if (h->bus_end > 255)
        h->bus_end = 255;
    if (h->bus_start > h->bus_end || ((uint64_t)(h->bus_end - h->bus_start + 1) << 20) > size)
        c->npci--; /* a window too small for its buses: not probed */
}

static int dt_visit(const struct fdt_node *node, void *ctx)
{
    struct dt_ctx *c = ctx;
    uint32_t clen = 0, len;
    char type[24];
    fdt_prop_str(node, "device_type", type, sizeof type);
    if (under_cpus(node)) {
        const uint8_t *v;
        if (node->depth == 1 && (v = fdt_prop(node, "timebase-frequency", &len)) && (len == 4 || len == 8))
            hw_cpu.timer_hz = fdt_cells(v, len / 4);
        add_cpu(node);
        return 0;
    }
    if (node->depth == 1 && (fdt_name_is(node, "memory") || !strncmp(type, "memory", 7))) {
        uint64_t base, size;
        for (uint32_t i = 0; fdt_reg(node, i, &base, &size) == 0; i++)
            hw_add_bank(base, size);
        return 0;
    }
    const uint8_t *compat = fdt_prop(node, "compatible", &clen);
    if (!compat || !clen || node->depth == 0 || fdt_list_has(compat, clen, "simple-bus"))
        return 0;
    struct hw_device *d = hw_add();
    if (!d)
        return 0;
    d->bus = HW_BUS_DT;
    d->kind = HW_OTHER;
    hw_copy(d->addr, sizeof d->addr, node->name, node->name_len);
    size_t base_len = 0;
    while (base_len < node->name_len && node->name[base_len] != '@')
        base_len++;
    hw_copy(d->dt_name, sizeof d->dt_name, node->name, base_len);
    hw_copy(d->dt_type, sizeof d->dt_type, type, strlen(type));
    fdt_prop_str(node, "status", d->status, sizeof d->status);
    hw_clean(d->status, strlen(d->status));
    d->compat_len = (uint16_t)(clen < HW_COMPAT_MAX ? clen : HW_COMPAT_MAX);
    memcpy(d->compat, compat, d->compat_len);
    d->compat[HW_COMPAT_MAX - 1] = '\0';
    hw_clean(d->compat, d->compat_len);
    fdt_reg(node, 0, &d->base, &d->size);
    for (size_t i = 0; i < sizeof dt_kinds / sizeof dt_kinds[0]; i++)
        if (fdt_list_has(compat, clen, dt_kinds[i].compatible))
            d->kind = dt_kinds[i].kind;
    if (fdt_list_has(compat, clen, "virtio,mmio")) {
        d->bus = HW_BUS_VIRTIO; /* probed after the walk */
        slm_snprintf(d->addr, sizeof d->addr, "virtio@%llx", (unsigned long long)d->base);
    }
    if (fdt_list_has(compat, clen, "pci-host-ecam-generic"))
        add_pci_host(c, node);
    return 0;
}

/* Does [base, base+size) overlap a RAM bank? Such a window is never probed. */
static int overlaps_ram(uint64_t base, uint64_t size)
{
    for (int i = 0; i < hw_mem.n; i++) {
        const struct hw_bank *b = &hw_mem.bank[i];
        if (base < b->base + b->size && b->base < base + size)
            return 1;
    }
    return 0;
}

/* Read a virtio-mmio slot's registers; 0 if it holds a device. */
static int probe_virtio(struct hw_device *d)
{
    if (d->size < 0x100 || overlaps_ram(d->base, VIRTIO_MMIO_WINDOW) ||
        plat_map_device(d->base, VIRTIO_MMIO_WINDOW) != 0 || plat_mmio_read32(d->base) != VIRTIO_MMIO_MAGIC)
        return -1;
    d->virtio_version = plat_mmio_read32(d->base + 4);
    d->virtio_id = plat_mmio_read32(d->base + 8);
    d->virtio_vendor = plat_mmio_read32(d->base + 12);
    if (d->virtio_id == 0 || d->virtio_id > 0xffff)
        return -1; /* an empty slot */
    d->vendor = 0x1af4;
    d->device = (uint16_t)d->virtio_id;
    d->kind = (uint8_t)hw_kind_of_virtio(d->virtio_id);
    d->class_code = hw_class_of_virtio(d->virtio_id);
    return 0;
}

int hw_dt_discover(const void *blob, size_t max_bytes)
{
    static struct dt_ctx c;
    memset(&c, 0, sizeof c);
    int first = hw_inv.n;
    if (fdt_walk(blob, max_bytes, dt_visit, &c) != 0)
        return -1;
    int kept = first;
    for (int i = first; i < hw_inv.n; i++) {
        struct hw_device *d = &hw_inv.dev[i];
        if (d->bus == HW_BUS_VIRTIO && probe_virtio(d) != 0)
            continue;
        if (kept != i)
            hw_inv.dev[kept] = *d;
        kept++;
    }
    hw_inv.n = kept;
    for (int i = 0; i < c.npci; i++)
        if (!overlaps_ram(c.pci[i].ecam_base, c.pci[i].ecam_size) &&
            plat_map_device(c.pci[i].ecam_base, c.pci[i].ecam_size) == 0)
            pci_enumerate(&c.pci[i]);
    return 0;
}
