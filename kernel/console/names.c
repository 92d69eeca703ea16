/* Names and drivers (names.h). */
#include "names.h"
#include "fmt.h"
#include "glob.h"
#include "kernel.h"

size_t names_pci_modalias(const struct hw_device *d, char *buf, size_t cap)
{
    return slm_snprintf(buf, cap, "pci:v%08Xd%08Xsv%08Xsd%08Xbc%02Xsc%02Xi%02X", d->vendor, d->device, d->subvendor,
                        d->subdevice, (unsigned)(d->class_code >> 16) & 0xff, (unsigned)(d->class_code >> 8) & 0xff,
                        (unsigned)d->class_code & 0xff);
}

/* of:N<name>T<type>C<compatible>... as of_device_uevent_modalias writes it (spaces become _). */
static size_t of_modalias(const struct hw_device *d, char *buf, size_t cap)
{
    size_t n = slm_snprintf(buf, cap, "of:N%sT%s", d->dt_name, d->dt_type[0] ? d->dt_type : "<NULL>");
    for (size_t i = 0; i < d->compat_len && n + 2 < cap;) {
        size_t j = i;
        while (j < d->compat_len && d->compat[j])
            j++;
        buf[n++] = 'C';
        for (; i < j && n + 1 < cap; i++)
            buf[n++] = d->compat[i] == ' ' ? '_' : d->compat[i];
        i = j + 1;
    }
    if (n >= cap)
        n = cap - 1;
    buf[n] = '\0';
    return n;
}

size_t names_modalias(const struct hw_device *d, char *buf, size_t cap)
{
    if (d->bus == HW_BUS_VIRTIO || (d->bus == HW_BUS_PCI && d->virtio_id))
        return slm_snprintf(buf, cap, "virtio:d%08Xv%08X", d->virtio_id, d->virtio_vendor);
    if (d->bus == HW_BUS_PCI)
        return names_pci_modalias(d, buf, cap);
    return of_modalias(d, buf, cap);
}

/* The first alias whose pattern matches `modalias`: 0 with driver/alias set, or -1. */
static int match_alias(const struct kb_section *sec, const char *modalias, size_t n, struct hw_device *d)
{
    struct kb_line l;
    for (size_t off = 0; kb_next(sec, &off, &l) == 0;)
        if (l.nf >= 2 && l.flen[1] && glob_match(l.f[0], l.flen[0], modalias, n)) {
            d->alias = l.f[0];
            d->alias_len = (uint16_t)(l.flen[0] < 0xffff ? l.flen[0] : 0xffff);
            d->driver = l.f[1];
            d->driver_len = (uint16_t)(l.flen[1] < 0xffff ? l.flen[1] : 0xffff);
            return 0;
        }
    return -1;
}

void names_resolve(const struct kb *kb)
{
    const struct kb_section *sec = kb_section(kb, "alias");
    char m[MODALIAS_MAX];
    for (int i = 0; i < hw_inv.n; i++) {
        struct hw_device *d = &hw_inv.dev[i];
        d->driver = d->alias = NULL;
        d->driver_len = d->alias_len = 0;
        if (!sec)
            continue;
        size_t n = names_modalias(d, m, sizeof m);
        if (match_alias(sec, m, n < sizeof m ? n : sizeof m - 1, d) != 0 && d->bus == HW_BUS_PCI && d->virtio_id) {
            n = names_pci_modalias(d, m, sizeof m);
            match_alias(sec, m, n < sizeof m ? n : sizeof m - 1, d);
        }
    }
}

static int lookup(const struct kb *kb, const char *section, const char *key, const char **s, size_t *n)
{
    struct kb_line l;
    if (kb_find(kb, section, key, strlen(key), &l) != 0 || l.nf < 2)
        return -1;
    *s = l.f[1];
    *n = l.flen[1];
    return 0;
}

int names_vendor(const struct kb *kb, unsigned vendor, const char **s, size_t *n)
{
    char key[8];
    slm_snprintf(key, sizeof key, "%04x", vendor & 0xffff);
    return lookup(kb, "pci_vendor", key, s, n);
}

int names_device(const struct kb *kb, unsigned vendor, unsigned device, const char **s, size_t *n)
{
    char key[12];
    slm_snprintf(key, sizeof key, "%04x%04x", vendor & 0xffff, device & 0xffff);
    return lookup(kb, "pci_device", key, s, n);
}

int names_class(const struct kb *kb, uint32_t class_code, const char **s, size_t *n)
{
    char key[8];
    for (int digits = 6; digits >= 2; digits -= 2) {
        slm_snprintf(key, sizeof key, "%06x", class_code & 0xffffff);
        key[digits] = '\0';
        if (lookup(kb, "pci_class", key, s, n) == 0)
            return 0;
    }
    return -1;
}

void names_device_name(const struct kb *kb, const struct hw_device *d, char *buf, size_t cap)
{
    const char *v, *dv;
    size_t vn, dn;
    if (d->bus == HW_BUS_VIRTIO) {
        slm_snprintf(buf, cap, "%s", hw_virtio_name(d->virtio_id));
    } else if (d->bus == HW_BUS_DT) {
        slm_snprintf(buf, cap, "%s", d->compat);
    } else if (names_vendor(kb, d->vendor, &v, &vn) == 0) {
        if (names_device(kb, d->vendor, d->device, &dv, &dn) == 0)
            slm_snprintf(buf, cap, "%.*s %.*s", (int)vn, v, (int)dn, dv);
        else if (names_class(kb, d->class_code, &dv, &dn) == 0)
            slm_snprintf(buf, cap, "%.*s %.*s", (int)vn, v, (int)dn, dv);
        else
            slm_snprintf(buf, cap, "%.*s device %04x", (int)vn, v, d->device);
    } else if (names_class(kb, d->class_code, &dv, &dn) == 0) {
        slm_snprintf(buf, cap, "%.*s", (int)dn, dv);
    } else {
        slm_snprintf(buf, cap, "PCI device %04x:%04x", d->vendor, d->device);
    }
}
