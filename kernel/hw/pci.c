/* PCI enumeration over any configuration mechanism (plat_pci_read32: ECAM or the x86 ports).
 *
 * Depth-first from the host's first bus: every device and function whose vendor id is not
 * 0x0000/0xffff, and behind each PCI-PCI bridge its secondary bus (numbered here when no
 * firmware did), each bus number at most once (a bitmap), so a garbage or looping topology ends
 * after at most 256 buses. BARs are sized the usual way (decoding off, write all ones, read back,
 * restore). */
#include "fmt.h"
#include "hw.h"
#include "kernel.h"

#define PCI_VENDOR    0x00
#define PCI_COMMAND   0x04
#define PCI_CLASS     0x08 /* revision in the low byte */
#define PCI_HEADER    0x0c /* header type in bits 23:16 */
#define PCI_BAR0      0x10
#define PCI_BUSES     0x18 /* type 1: primary, secondary, subordinate */
#define PCI_SUBSYSTEM 0x2c
#define CMD_DECODE    0x3 /* I/O and memory space */

static void size_bars(const struct pci_host *h, unsigned bus, unsigned dev, unsigned fn, struct hw_device *d, int nbars)
{
    uint32_t cmd = plat_pci_read32(h, bus, dev, fn, PCI_COMMAND);
    plat_pci_write32(h, bus, dev, fn, PCI_COMMAND, cmd & ~(uint32_t)CMD_DECODE);
    for (int i = 0; i < nbars; i++) {
        unsigned off = PCI_BAR0 + 4 * (unsigned)i;
        uint32_t orig = plat_pci_read32(h, bus, dev, fn, off);
        plat_pci_write32(h, bus, dev, fn, off, 0xffffffff);
        uint32_t mask = plat_pci_read32(h, bus, dev, fn, off);
        plat_pci_write32(h, bus, dev, fn, off, orig);
        struct hw_bar *b = &d->bar[d->nbars];
        if (!mask || mask == 0xffffffff) /* unimplemented BAR (or nothing answers) */
            continue;
        b->io = orig & 1;
        uint64_t base = orig & (b->io ? ~3u : ~15u), sizemask = mask & (b->io ? ~3u : ~15u);
        if (!b->io && ((orig >> 1) & 3) == 2 && i + 1 < nbars) { /* 64-bit memory BAR */
            unsigned hi_off = off + 4;
            uint32_t orig_hi = plat_pci_read32(h, bus, dev, fn, hi_off);
            plat_pci_write32(h, bus, dev, fn, hi_off, 0xffffffff);
            uint32_t mask_hi = plat_pci_read32(h, bus, dev, fn, hi_off);
            plat_pci_write32(h, bus, dev, fn, hi_off, orig_hi);
            base |= (uint64_t)orig_hi << 32;
            sizemask |= (uint64_t)mask_hi << 32;
            b->is64 = 1;
            i++;
        } else if (!b->io) {
            sizemask |= 0xffffffff00000000ull;
        } else {
            sizemask |= 0xffffffffffff0000ull; /* I/O BARs decode 16 bits */
        }
        b->prefetch = !b->io && (orig & 8);
        b->base = base;
        b->size = ~sizemask + 1;
        d->nbars++;
    }
    plat_pci_write32(h, bus, dev, fn, PCI_COMMAND, cmd);
}

/* A virtio-pci function (vendor 1af4, device 1000-107f): its virtio device id, 0 if none. */
static uint32_t virtio_pci_id(const struct hw_device *d)
{
    if (d->vendor != 0x1af4 || d->device < 0x1000 || d->device > 0x107f)
        return 0;
    return d->device >= 0x1040 ? d->device - 0x1040u : d->subdevice; /* modern : transitional */
}

struct scan {
    const struct pci_host *h;
    uint8_t seen[32]; /* bus numbers already scanned */
    unsigned last;    /* the highest bus number in use */
};

static int first_visit(struct scan *s, unsigned bus)
{
    if (bus < s->h->bus_start || bus > s->h->bus_end || (s->seen[bus / 8] & (1u << (bus % 8))))
        return 0;
    s->seen[bus / 8] |= (uint8_t)(1u << (bus % 8));
    if (bus > s->last)
        s->last = bus;
    return 1;
}

static void scan_bus(struct scan *s, unsigned bus);

/* Follow a PCI-PCI bridge to its secondary bus. A bridge no firmware configured (secondary bus
 * 0: riscv64 and aarch64 boot with none) gets the next free bus number and, once its side is
 * scanned, the last number used there as its subordinate bus, as Linux assigns them. */
static void scan_bridge(struct scan *s, unsigned bus, unsigned dev, unsigned fn, struct hw_device *d)
{
    const struct pci_host *h = s->h;
    uint32_t buses = plat_pci_read32(h, bus, dev, fn, PCI_BUSES);
    unsigned sec = (buses >> 8) & 0xff;
    if (sec == 0 && s->last < h->bus_end) {
        sec = s->last + 1;
        buses = (buses & 0xff000000u) | 0xffu << 16 | sec << 8 | bus;
        plat_pci_write32(h, bus, dev, fn, PCI_BUSES, buses);
        if (first_visit(s, sec))
            scan_bus(s, sec);
        buses = (buses & 0xff00ffffu) | (s->last & 0xff) << 16;
        plat_pci_write32(h, bus, dev, fn, PCI_BUSES, buses);
    } else if (first_visit(s, sec)) {
        if (((buses >> 16) & 0xff) > s->last && ((buses >> 16) & 0xff) <= h->bus_end)
            s->last = (buses >> 16) & 0xff; /* firmware's range: not handed out again */
        scan_bus(s, sec);
    }
    if (d) {
        d->sec_bus = (uint8_t)sec;
        d->sub_bus = (uint8_t)(buses >> 16);
    }
}

/* Record one function (and scan behind it if it is a bridge); returns its header type, or -1 if
 * nothing answers there. */
static int add_function(struct scan *s, unsigned bus, unsigned dev, unsigned fn)
{
    const struct pci_host *h = s->h;
    uint32_t id = plat_pci_read32(h, bus, dev, fn, PCI_VENDOR);
    if ((id & 0xffff) == 0xffff || (id & 0xffff) == 0)
        return -1;
    uint32_t hdr = (plat_pci_read32(h, bus, dev, fn, PCI_HEADER) >> 16) & 0xff;
    struct hw_device *d = hw_add();
    if (!d)
        return (int)hdr;
    d->bus = HW_BUS_PCI;
    d->vendor = (uint16_t)id;
    d->device = (uint16_t)(id >> 16);
    d->class_code = plat_pci_read32(h, bus, dev, fn, PCI_CLASS) >> 8;
    d->header_type = (uint8_t)hdr;
    d->kind = (uint8_t)hw_kind_of_pci_class(d->class_code);
    slm_snprintf(d->addr, sizeof d->addr, "%02x:%02x.%x", bus, dev, fn);
    if ((hdr & 0x7f) == 0) {
        uint32_t sub = plat_pci_read32(h, bus, dev, fn, PCI_SUBSYSTEM);
        d->subvendor = (uint16_t)sub;
        d->subdevice = (uint16_t)(sub >> 16);
        size_bars(h, bus, dev, fn, d, 6);
        if ((d->virtio_id = virtio_pci_id(d)) != 0) {
            d->virtio_vendor = d->subvendor;
            d->kind = (uint8_t)hw_kind_of_virtio(d->virtio_id);
        }
    } else if ((hdr & 0x7f) == 1) {
        size_bars(h, bus, dev, fn, d, 2);
        scan_bridge(s, bus, dev, fn, d);
    }
    return (int)hdr;
}

static void scan_bus(struct scan *s, unsigned bus)
{
    for (unsigned dev = 0; dev < 32 && !hw_inv.truncated; dev++) {
        int hdr = add_function(s, bus, dev, 0);
        for (unsigned fn = 1; hdr >= 0 && (hdr & 0x80) && fn < 8; fn++)
            add_function(s, bus, dev, fn);
    }
}

/* Depth-first from the host's first bus, each bus number at most once: a garbage or looping
 * topology ends after at most 256 buses, and the recursion is at most that deep. */
int pci_enumerate(const struct pci_host *h)
{
    static struct scan s;
    int found = hw_inv.n;
    if (h->bus_start > 255 || h->bus_end > 255 || h->bus_start > h->bus_end)
        return 0;
    memset(&s, 0, sizeof s);
    s.h = h;
    s.last = h->bus_start;
    if (first_visit(&s, h->bus_start))
        scan_bus(&s, h->bus_start);
    return hw_inv.n - found;
}
