/* The hardware commands: devices, device, driver, cpu, memory, uptime (docs/console.md). */
#include "console.h"
#include "fmt.h"
#include "hw.h"
#include "kernel.h"
#include "names.h"
#include "platform.h"

static const char *const bus_names[] = {"pci", "virtio", "dt"};

static void print_id(const struct hw_device *d, char *buf, size_t cap)
{
    if (d->bus == HW_BUS_DT)
        slm_snprintf(buf, cap, "-");
    else
        slm_snprintf(buf, cap, "%04x:%04x", d->vendor, d->device);
}

static size_t driver_of(const struct hw_device *d, const char **s)
{
    *s = d->driver ? d->driver : "-";
    return d->driver ? d->driver_len : 1;
}

/* The kind filter of `devices`/`driver`: HW_KINDS for all, -1 if `w` is not a class name. */
static int kind_filter(const char *w)
{
    if (!w || !strncmp(w, "all", 4))
        return HW_KINDS;
    return hw_kind_from_name(w, strlen(w));
}

static const char CLASSES[] = "all, network, storage, display, serial, input, rng, bridge, usb or other";

int cmd_devices(struct shell *sh, struct words *a)
{
    int kind = a->n > 1 ? kind_filter(a->w[1]) : HW_KINDS;
    if (a->n > 2)
        return con_error("devices", "devices takes at most one class");
    if (kind < 0)
        return con_error("devices", "unknown device class '%.64s' (%s)", a->w[1], CLASSES);
    int count = 0;
    for (int i = 0; i < hw_inv.n; i++)
        count += kind == HW_KINDS || hw_inv.dev[i].kind == kind;
    kprintf("auton: devices class=%s count=%d\n", kind == HW_KINDS ? "all" : hw_kind_name(kind), count);
    kputs("ADDRESS           BUS     ID         CLASS    DRIVER      NAME\n");
    for (int i = 0; i < hw_inv.n; i++) {
        const struct hw_device *d = &hw_inv.dev[i];
        if (kind != HW_KINDS && d->kind != kind)
            continue;
        char id[16], name[160];
        const char *drv;
        size_t dn = driver_of(d, &drv);
        print_id(d, id, sizeof id);
        names_device_name(&sh->kb, d, name, sizeof name);
        con_column(d->addr, strlen(d->addr), 18);
        con_column(bus_names[d->bus], strlen(bus_names[d->bus]), 8);
        con_column(id, strlen(id), 11);
        con_column(hw_kind_name(d->kind), strlen(hw_kind_name(d->kind)), 9);
        con_column(drv, dn, 12);
        kprintf("%s\n", name);
    }
    if (hw_inv.truncated)
        kprintf("(the table is full: only the first %d devices were recorded)\n", HW_MAX_DEVICES);
    return con_end("devices", 0);
}

/* The device at address `w` (case-insensitive), or NULL. */
static const struct hw_device *find_device(const char *w)
{
    size_t n = strlen(w);
    for (int i = 0; i < hw_inv.n; i++) {
        const char *addr = hw_inv.dev[i].addr;
        size_t j = 0;
        while (j < n && addr[j] && (addr[j] | 0x20) == (w[j] | 0x20))
            j++;
        if (j == n && !addr[j])
            return &hw_inv.dev[i];
    }
    return NULL;
}

static void print_pci_detail(struct shell *sh, const struct hw_device *d)
{
    const char *s;
    size_t n;
    char m[MODALIAS_MAX];
    int vendor_found = names_vendor(&sh->kb, d->vendor, &s, &n) == 0;
    kprintf("vendor:    %04x %.*s\n", d->vendor, vendor_found ? (int)n : 1, vendor_found ? s : "?");
    int dev_found = names_device(&sh->kb, d->vendor, d->device, &s, &n) == 0;
    kprintf("device:    %04x %.*s\n", d->device, dev_found ? (int)n : 1, dev_found ? s : "?");
    if ((d->header_type & 0x7f) == 0)
        kprintf("subsystem: %04x:%04x\n", d->subvendor, d->subdevice);
    int cls_found = names_class(&sh->kb, d->class_code, &s, &n) == 0;
    kprintf("class:     %06x %.*s (%s)\n", d->class_code, cls_found ? (int)n : 1, cls_found ? s : "?",
            hw_kind_name(d->kind));
    if ((d->header_type & 0x7f) == 1)
        kprintf("buses:     secondary %02x subordinate %02x\n", d->sec_bus, d->sub_bus);
    for (int i = 0; i < d->nbars; i++)
        kprintf("bar%d:      %s 0x%llx size 0x%llx%s%s\n", i, d->bar[i].io ? "io" : "mem",
                (unsigned long long)d->bar[i].base, (unsigned long long)d->bar[i].size, d->bar[i].is64 ? " 64-bit" : "",
                d->bar[i].prefetch ? " prefetchable" : "");
    if (d->virtio_id) {
        names_pci_modalias(d, m, sizeof m);
        kprintf("virtio:    device %u (%s), transport %s\n", d->virtio_id, hw_virtio_name(d->virtio_id), m);
    }
}

int cmd_device(struct shell *sh, struct words *a)
{
    if (a->n != 2)
        return con_error("device", "device takes one ADDRESS, as devices prints it");
    const struct hw_device *d = find_device(a->w[1]);
    if (!d) {
        kputs("auton: device addr=");
        con_quoted(a->w[1], strlen(a->w[1]));
        kputs(" found=0\nno such device (type 'devices' for the list)\n");
        return con_end("device", 1);
    }
    char id[16], m[MODALIAS_MAX];
    const char *drv;
    size_t dn = driver_of(d, &drv);
    print_id(d, id, sizeof id);
    kprintf("auton: device addr=%s bus=%s id=%s class=%06x kind=%s driver=%.*s\n", d->addr, bus_names[d->bus], id,
            d->class_code, hw_kind_name(d->kind), (int)dn, drv);
    kprintf("address:   %s\n", d->addr);
    if (d->bus == HW_BUS_PCI) {
        print_pci_detail(sh, d);
    } else {
        if (d->bus == HW_BUS_VIRTIO)
            kprintf("virtio:    device %u (%s), version %u, vendor 0x%08x\n", d->virtio_id,
                    hw_virtio_name(d->virtio_id), d->virtio_version, d->virtio_vendor);
        kputs("compatible:");
        for (size_t i = 0; i < d->compat_len; i += strlen(d->compat + i) + 1)
            kprintf(" %s", d->compat + i);
        kprintf("\nreg:       0x%llx size 0x%llx\n", (unsigned long long)d->base, (unsigned long long)d->size);
        if (d->status[0])
            kprintf("status:    %s\n", d->status);
    }
    kprintf("driver:    %.*s\n", (int)dn, drv);
    if (d->alias)
        kprintf("alias:     %.*s\n", (int)d->alias_len, d->alias);
    names_modalias(d, m, sizeof m);
    kprintf("modalias:  %s\n", m);
    return con_end("device", 0);
}

int cmd_driver(struct shell *sh, struct words *a)
{
    (void)sh;
    if (a->n != 2)
        return con_error("driver", "driver takes one ADDRESS or CLASS (%s)", CLASSES);
    int kind = kind_filter(a->w[1]);
    const struct hw_device *one = kind < 0 ? find_device(a->w[1]) : NULL;
    int count = 0;
    for (int i = 0; i < hw_inv.n; i++)
        count += one ? one == &hw_inv.dev[i] : kind == HW_KINDS || hw_inv.dev[i].kind == kind;
    kputs("auton: driver target=");
    con_quoted(a->w[1], strlen(a->w[1]));
    kprintf(" count=%d\n", count);
    if (!count)
        kputs(kind < 0 ? "no such device or class (type 'devices' for the list)\n" : "no device of that class\n");
    else
        kputs("ADDRESS           DRIVER      ALIAS\n");
    for (int i = 0; i < hw_inv.n; i++) {
        const struct hw_device *d = &hw_inv.dev[i];
        if (one ? one != d : kind != HW_KINDS && d->kind != kind)
            continue;
        const char *drv;
        size_t dn = driver_of(d, &drv);
        con_column(d->addr, strlen(d->addr), 18);
        con_column(drv, dn, 12);
        kprintf("%.*s\n", d->alias ? (int)d->alias_len : 1, d->alias ? d->alias : "-");
    }
    return con_end("driver", count ? 0 : 1);
}

int cmd_cpu(struct shell *sh, struct words *a)
{
    (void)sh;
    if (a->n != 1)
        return con_error("cpu", "cpu takes no arguments");
    kprintf("auton: cpu count=%d isa=", hw_cpu.count);
    con_quoted(hw_cpu.isa, strlen(hw_cpu.isa));
    kputs(" model=");
    con_quoted(hw_cpu.model, strlen(hw_cpu.model));
    kputs(" vendor=");
    con_quoted(hw_cpu.vendor, strlen(hw_cpu.vendor));
    kprintf(" timer_hz=%llu\n", (unsigned long long)hw_cpu.timer_hz);
    kprintf("arch:      %s\ncount:     %d\nisa:       %s\nmodel:     %s\nvendor:    %s\ntimer:     %llu Hz\n",
            plat_arch_name(), hw_cpu.count, hw_cpu.isa[0] ? hw_cpu.isa : "-", hw_cpu.model[0] ? hw_cpu.model : "-",
            hw_cpu.vendor[0] ? hw_cpu.vendor : "-", (unsigned long long)hw_cpu.timer_hz);
    if (hw_cpu.extra[0])
        kprintf("%s\n", hw_cpu.extra);
    return con_end("cpu", 0);
}

static void mib_line(const char *what, uint64_t bytes)
{
    kprintf("%-8s %6llu.%01llu MiB\n", what, (unsigned long long)(bytes >> 20),
            (unsigned long long)((bytes & 0xfffff) * 10 >> 20));
}

int cmd_memory(struct shell *sh, struct words *a)
{
    if (a->n != 1)
        return con_error("memory", "memory takes no arguments");
    uint64_t fixed = (uint64_t)sh->model_bytes + sh->kb_bytes;
    uint64_t kernel = sh->image_bytes > fixed ? sh->image_bytes - fixed : 0;
    uint64_t used = sh->arena ? sh->arena->used : 0, arena = sh->arena ? sh->arena->size : 0;
    uint64_t taken = sh->image_bytes + used, free = hw_mem.total > taken ? hw_mem.total - taken : 0;
    kprintf("auton: memory total=%llu kernel=%llu model=%zu kb=%zu arena=%llu used=%llu free=%llu\n",
            (unsigned long long)hw_mem.total, (unsigned long long)kernel, sh->model_bytes, sh->kb_bytes,
            (unsigned long long)arena, (unsigned long long)used, (unsigned long long)free);
    mib_line("total:", hw_mem.total);
    mib_line("kernel:", kernel);
    mib_line("model:", sh->model_bytes);
    mib_line("kb:", sh->kb_bytes);
    mib_line("arena:", arena);
    mib_line("used:", used);
    mib_line("free:", free);
    for (int i = 0; i < hw_mem.n; i++)
        kprintf("bank %d:   0x%llx-0x%llx\n", i, (unsigned long long)hw_mem.bank[i].base,
                (unsigned long long)(hw_mem.bank[i].base + hw_mem.bank[i].size - 1));
    return con_end("memory", 0);
}

int cmd_uptime(struct shell *sh, struct words *a)
{
    if (a->n != 1)
        return con_error("uptime", "uptime takes no arguments");
    uint64_t us = plat_time_us() - sh->boot_us, s = us / 1000000;
    kprintf("auton: uptime us=%llu\nup %llu:%02llu:%02llu\n", (unsigned long long)us, (unsigned long long)(s / 3600),
            (unsigned long long)(s / 60 % 60), (unsigned long long)(s % 60));
    return con_end("uptime", 0);
}
