/* The host's simulated hardware (hwsim.h): records of configuration space and MMIO windows.
 *
 * A record is a 16-byte header, then `length` bytes:
 *   byte 0 kind: 'P' a PCI function's configuration space (length 256 or 4096), 'M' an MMIO
 *          window (length 4..4096, a multiple of 4)
 *   bytes 1-3: bus, device (0-31), function (0-7) for 'P'; 0 for 'M'
 *   bytes 4-7: length, little-endian
 *   bytes 8-15: the window's physical address for 'M' (little-endian), 0 for 'P'
 * Reads of absent functions or addresses return all ones; writes are ignored (so BAR sizes are
 * not simulated: sizing reads the BAR's own value back). */
#include "hwsim.h"

#include <stdio.h>
#include <string.h>

#include "hw.h"

#define MAX_RECORDS 1024

struct record {
    char kind;
    uint8_t bus, dev, fn;
    uint32_t len;
    uint64_t base;
    const uint8_t *data;
};

static struct record records[MAX_RECORDS];
static int nrecords;
static const uint8_t *flat;
static size_t flat_len;

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

void hwsim_reset(void)
{
    nrecords = 0;
    flat = NULL;
    flat_len = 0;
}

int hwsim_load(const uint8_t *data, size_t len, char *err, size_t errlen)
{
    hwsim_reset();
    for (size_t off = 0; off < len;) {
        if (len - off < 16) {
            snprintf(err, errlen, "truncated record header at byte %zu", off);
            return -1;
        }
        const uint8_t *h = data + off;
        struct record r = {
            (char)h[0], h[1], h[2], h[3], le32(h + 4), (uint64_t)le32(h + 8) | (uint64_t)le32(h + 12) << 32, h + 16};
        int ok = r.kind == 'P'   ? (r.len == 256 || r.len == 4096) && r.dev < 32 && r.fn < 8
                 : r.kind == 'M' ? r.len >= 4 && r.len <= 4096 && r.len % 4 == 0 && !r.bus && !r.dev && !r.fn
                                 : 0;
        if (!ok) {
            snprintf(err, errlen, "bad record at byte %zu (kind 'P' bus dev fn + 256/4096 bytes, or 'M' + address)",
                     off);
            return -1;
        }
        if (r.len > len - off - 16) {
            snprintf(err, errlen, "record at byte %zu wants %u bytes, the file has %zu", off, r.len, len - off - 16);
            return -1;
        }
        if (nrecords == MAX_RECORDS) {
            snprintf(err, errlen, "more than %d records", MAX_RECORDS);
            return -1;
        }
        records[nrecords++] = r;
        off += 16 + r.len;
    }
    return 0;
}

void hwsim_flat(const uint8_t *data, size_t len)
{
    hwsim_reset();
    if (len >= 4) {
        flat = data;
        flat_len = len;
    }
}

uint32_t plat_pci_read32(const struct pci_host *h, unsigned bus, unsigned dev, unsigned fn, unsigned off)
{
    if (bus < h->bus_start || bus > h->bus_end || dev > 31 || fn > 7 || off > 0xffc)
        return 0xffffffff;
    off &= ~3u;
    if (flat) {
        size_t at = ((((size_t)bus * 32 + dev) * 8 + fn) * 256 + off) % (flat_len - 3);
        return le32(flat + at);
    }
    for (int i = 0; i < nrecords; i++) {
        const struct record *r = &records[i];
        if (r->kind == 'P' && r->bus == bus && r->dev == dev && r->fn == fn)
            return off + 4 <= r->len ? le32(r->data + off) : 0xffffffff;
    }
    return 0xffffffff;
}

void plat_pci_write32(const struct pci_host *h, unsigned bus, unsigned dev, unsigned fn, unsigned off, uint32_t v)
{
    (void)h, (void)bus, (void)dev, (void)fn, (void)off, (void)v;
}

uint32_t plat_mmio_read32(uint64_t addr)
{
    for (int i = 0; i < nrecords; i++) {
        const struct record *r = &records[i];
        if (r->kind == 'M' && addr >= r->base && addr - r->base <= r->len - 4)
            return le32(r->data + (addr - r->base));
    }
    return 0xffffffff;
}

int plat_map_device(uint64_t base, uint64_t size)
{
    (void)base, (void)size;
    return 0;
}
