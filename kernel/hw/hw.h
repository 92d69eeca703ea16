/* Hardware discovery: what the machine holds, found at boot and copied into static tables
 * (the DTB and the multiboot info may lie in RAM that becomes the arena).
 *
 *   riscv64, aarch64: hw_dt_discover() walks the whole device tree (lib/fdt.c): every node with
 *     a compatible, the cpus, the memory banks; probes each virtio-mmio slot; enumerates PCI
 *     through the ECAM window of the pci-host-ecam-generic node.
 *   x86_64: arch.c reads CPUID and the multiboot memory map and calls pci_enumerate() over
 *     0xCF8/0xCFC.
 *   host (slm-run --dtb/--pci): the same code over a file (host/hwsim.c).
 *
 * Everything is bounded: at most HW_MAX_DEVICES devices (then `truncated` is set), every bus
 * number visited once, fixed-size strings. Nothing here allocates. */
#ifndef AUTON_HW_H
#define AUTON_HW_H

#include <stddef.h>
#include <stdint.h>

#define HW_MAX_DEVICES 128
#define HW_MAX_BANKS   16
#define HW_COMPAT_MAX  128 /* a node's compatible list, NUL-separated as in the DTB */

enum hw_bus { HW_BUS_PCI, HW_BUS_VIRTIO, HW_BUS_DT };

enum hw_kind { HW_OTHER, HW_NETWORK, HW_STORAGE, HW_DISPLAY, HW_SERIAL, HW_INPUT, HW_RNG, HW_BRIDGE, HW_USB, HW_KINDS };

struct hw_bar {
    uint64_t base, size;
    uint8_t io, is64, prefetch;
};

struct hw_device {
    char addr[40]; /* as `devices` prints it: 00:02.0, virtio@10008000, serial@10000000 */
    uint8_t bus, kind;
    uint16_t vendor, device, subvendor, subdevice;     /* PCI; virtio: 1af4 and the virtio id */
    uint32_t class_code;                               /* 24-bit PCI class (virtio: the PCI equivalent) */
    uint8_t header_type, sec_bus, sub_bus;             /* PCI; bridges' bus numbers */
    uint32_t virtio_id, virtio_vendor, virtio_version; /* virtio-mmio, and virtio-pci functions */
    uint64_t base, size;                               /* the first reg entry (DT, virtio-mmio) */
    struct hw_bar bar[6];
    uint8_t nbars;
    char compat[HW_COMPAT_MAX]; /* DT: compatible strings, NUL-separated */
    uint16_t compat_len;
    char dt_name[32]; /* DT: the node name without its unit address */
    char dt_type[24]; /* DT: device_type, "" if none */
    char status[16];  /* DT: status, "" if none */
    /* resolved from the kb blob at boot (console/names.c): pointers into the blob */
    const char *driver, *alias;
    uint16_t driver_len, alias_len;
};

struct hw_inventory {
    struct hw_device dev[HW_MAX_DEVICES];
    int n;
    int truncated;
};

struct hw_cpu {
    int count;
    char isa[160], model[64], vendor[48];
    char extra[160]; /* one more "key: value" line for people (midr, mmu, features) */
    uint64_t timer_hz;
};

struct hw_bank {
    uint64_t base, size;
};

struct hw_memory {
    struct hw_bank bank[HW_MAX_BANKS];
    int n;
    uint64_t total;
};

/* The tables discovery fills (hw/inventory.c). */
extern struct hw_inventory hw_inv;
extern struct hw_cpu hw_cpu;
extern struct hw_memory hw_mem;

/* Add the cpu command's line "<label> <online> online of <listed> (<how>)" to hw_cpu.extra. */
void hw_cpu_online(const char *label, uint32_t online, int listed, const char *how);

/* A new zeroed device, or NULL (and hw_inv.truncated set) when the table is full. */
struct hw_device *hw_add(void);
void hw_add_bank(uint64_t base, uint64_t size);
const char *hw_kind_name(int kind);
int hw_kind_from_name(const char *s, size_t len); /* -1 if not a kind name */
int hw_kind_of_pci_class(uint32_t class_code);
int hw_kind_of_virtio(uint32_t virtio_id);
uint32_t hw_class_of_virtio(uint32_t virtio_id);
const char *hw_virtio_name(uint32_t virtio_id);
/* Bounded, NUL-terminated copy of a string from the hardware, cleaned (hw_clean). */
void hw_copy(char *dst, size_t cap, const void *src, size_t len);
/* Replace spaces, quotes and control bytes (not NULs) with '?': what a device tree names can
 * neither break a column nor a key=value line. */
void hw_clean(char *s, size_t len);

/* PCI through ECAM (ecam_size > 0) or the x86 configuration ports (ecam_size == 0). */
struct pci_host {
    uint64_t ecam_base, ecam_size;
    uint32_t bus_start, bus_end;
};

/* Enumerate every function reachable from bus_start (bridges' secondary buses included, each
 * bus once), appending to hw_inv. Returns the number of functions found. */
int pci_enumerate(const struct pci_host *host);

/* Walk the device tree at `blob` (at most `max_bytes`): cpus, memory, devices, virtio-mmio
 * probes, PCI. Returns 0, or -1 if the blob is not a valid FDT. */
int hw_dt_discover(const void *blob, size_t max_bytes);

/* Platform hooks (hw/mmio.c in the kernel on riscv64/aarch64, arch/x86_64/arch.c for the
 * config ports, host/hwsim.c on the host). Reads of absent hardware return all ones. */
uint32_t plat_pci_read32(const struct pci_host *h, unsigned bus, unsigned dev, unsigned fn, unsigned off);
void plat_pci_write32(const struct pci_host *h, unsigned bus, unsigned dev, unsigned fn, unsigned off, uint32_t v);
uint32_t plat_mmio_read32(uint64_t addr);
/* Make [base, base+size) accessible as device memory; -1 if it cannot be (then it is not probed). */
int plat_map_device(uint64_t base, uint64_t size);

#endif
