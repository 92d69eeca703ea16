/* Simulated hardware for the host build: the file slm-run --pci reads (docs/console.md,
 * "Simulated hardware"), serving the platform hooks of hw/hw.h. */
#ifndef AUTON_HWSIM_H
#define AUTON_HWSIM_H

#include <stddef.h>
#include <stdint.h>

/* Serve config space and MMIO from the records in data (kept, not copied). Returns 0, or -1
 * with a one-line message. */
int hwsim_load(const uint8_t *data, size_t len, char *err, size_t errlen);

/* Serve every function's config space from data, repeated (garbage for the fuzzer): offset
 * ((bus * 32 + dev) * 8 + fn) * 256 + reg, modulo len. */
void hwsim_flat(const uint8_t *data, size_t len);

/* No hardware: every read returns all ones. */
void hwsim_reset(void);

#endif
