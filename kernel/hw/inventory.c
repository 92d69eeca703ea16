/* The inventory tables and the coarse device kinds a person asks about. */
#include "hw.h"
#include "fmt.h"
#include "kernel.h"

struct hw_inventory hw_inv;
struct hw_cpu hw_cpu;
struct hw_memory hw_mem;

static const char *const kind_names[HW_KINDS] = {
    [HW_OTHER] = "other",     [HW_NETWORK] = "network", [HW_STORAGE] = "storage",
    [HW_DISPLAY] = "display", [HW_SERIAL] = "serial",   [HW_INPUT] = "input",
    [HW_RNG] = "rng",         [HW_BRIDGE] = "bridge",   [HW_USB] = "usb",
};

struct hw_device *hw_add(void)
{
    if (hw_inv.n >= HW_MAX_DEVICES) {
        hw_inv.truncated = 1;
        return NULL;
    }
    struct hw_device *d = &hw_inv.dev[hw_inv.n++];
    memset(d, 0, sizeof *d);
    return d;
}

void hw_add_bank(uint64_t base, uint64_t size)
{
    if (!size || hw_mem.n >= HW_MAX_BANKS)
        return;
    hw_mem.bank[hw_mem.n++] = (struct hw_bank){base, size};
    hw_mem.total += size;
}

const char *hw_kind_name(int kind)
{
    return kind >= 0 && kind < HW_KINDS ? kind_names[kind] : "other";
}

int hw_kind_from_name(const char *s, size_t len)
{
    for (int k = 0; k < HW_KINDS; k++)
        if (strlen(kind_names[k]) == len && !strncmp(kind_names[k], s, len))
            return k;
    return -1;
}

int hw_kind_of_pci_class(uint32_t class_code)
{
    switch (class_code >> 16) {
    case 0x01:
        return HW_STORAGE;
    case 0x02:
        return HW_NETWORK;
    case 0x03:
        return HW_DISPLAY;
    case 0x06:
        return HW_BRIDGE;
    case 0x07:
        return HW_SERIAL;
    case 0x09:
        return HW_INPUT;
    case 0x0c:
        return (class_code >> 8) == 0x0c03 ? HW_USB : HW_OTHER;
    default:
        return HW_OTHER;
    }
}

/* Virtio device ids (the virtio spec, "Device Types"): kind, PCI-equivalent class, name. */
static const struct {
    uint32_t id;
    uint8_t kind;
    uint32_t class_code;
    const char *name;
} virtio_types[] = {
    {1, HW_NETWORK, 0x020000, "Virtio network device"}, {2, HW_STORAGE, 0x010000, "Virtio block device"},
    {3, HW_SERIAL, 0x078000, "Virtio console"},         {4, HW_RNG, 0x00ff00, "Virtio RNG"},
    {5, HW_OTHER, 0x00ff00, "Virtio memory balloon"},   {8, HW_STORAGE, 0x010000, "Virtio SCSI"},
    {9, HW_OTHER, 0x000200, "Virtio filesystem (9P)"},  {16, HW_DISPLAY, 0x038000, "Virtio GPU"},
    {18, HW_INPUT, 0x098000, "Virtio input"},           {19, HW_OTHER, 0x00ff00, "Virtio socket"},
    {20, HW_OTHER, 0x100000, "Virtio crypto"},          {26, HW_STORAGE, 0x018000, "Virtio file system"},
};

#define VIRTIO_TYPES (sizeof virtio_types / sizeof virtio_types[0])

static int virtio_index(uint32_t id)
{
    for (size_t i = 0; i < VIRTIO_TYPES; i++)
        if (virtio_types[i].id == id)
            return (int)i;
    return -1;
}

int hw_kind_of_virtio(uint32_t virtio_id)
{
    int i = virtio_index(virtio_id);
    return i < 0 ? HW_OTHER : virtio_types[i].kind;
}

uint32_t hw_class_of_virtio(uint32_t virtio_id)
{
    int i = virtio_index(virtio_id);
    return i < 0 ? 0x00ff00 : virtio_types[i].class_code;
}

const char *hw_virtio_name(uint32_t virtio_id)
{
    int i = virtio_index(virtio_id);
    return i < 0 ? "Virtio device" : virtio_types[i].name;
}

void hw_copy(char *dst, size_t cap, const void *src, size_t len)
{
    if (!cap)
        return;
    if (len >= cap)
        len = cap - 1;
    memcpy(dst, src, len);
    dst[len] = '\0';
    hw_clean(dst, len);
}

void hw_clean(char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] && ((uint8_t)s[i] <= ' ' || s[i] == '"' || s[i] == 0x7f))
            s[i] = '?';
}

void hw_cpu_online(const char *label, uint32_t online, int listed, const char *how)
{
    size_t len = strlen(hw_cpu.extra);
    slm_snprintf(hw_cpu.extra + len, sizeof hw_cpu.extra - len, "%s%-11s%u online of %d (%s)", len ? "\n" : "", label,
                 (unsigned)online, listed, how);
}
