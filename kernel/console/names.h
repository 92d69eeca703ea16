/* Device names and drivers from the kb blob: pci.ids names, and the driver Linux would bind,
 * found by matching the device's modalias (built as Linux builds it) against the blob's alias
 * patterns in order, first match wins. */
#ifndef AUTON_NAMES_H
#define AUTON_NAMES_H

#include <stddef.h>

#include "hw.h"
#include "kb.h"

#define MODALIAS_MAX 256

/* The modalias drivers are matched on: virtio:... for virtio-mmio and virtio-pci functions,
 * pci:... for other PCI functions, of:N..T..C.. for device-tree nodes. */
size_t names_modalias(const struct hw_device *d, char *buf, size_t cap);
/* The PCI modalias of a PCI function (a virtio-pci function's transport). */
size_t names_pci_modalias(const struct hw_device *d, char *buf, size_t cap);

/* Fill each device's driver and alias from the kb's alias section (NULL when none matches). */
void names_resolve(const struct kb *kb);

/* pci.ids names: vendor, device, and the most specific class name; 0, or -1 if absent. */
int names_vendor(const struct kb *kb, unsigned vendor, const char **s, size_t *n);
int names_device(const struct kb *kb, unsigned vendor, unsigned device, const char **s, size_t *n);
int names_class(const struct kb *kb, uint32_t class_code, const char **s, size_t *n);

/* The NAME column: "Vendor Device" for PCI, the virtio name, the first compatible. */
void names_device_name(const struct kb *kb, const struct hw_device *d, char *buf, size_t cap);

#endif
