/* The 16550 UART driver (drivers/uart16550.c), shared by riscv64 (MMIO on QEMU virt) and x86_64
 * (port I/O, COM1). The arch supplies the two register accessors. */
#ifndef AUTON_UART16550_H
#define AUTON_UART16550_H

#include <stdint.h>

uint8_t uart16550_reg_read(unsigned reg);
void uart16550_reg_write(unsigned reg, uint8_t value);

void uart16550_init(void);
void uart16550_putc(int c);
int uart16550_poll(void); /* the next received byte, or -1 if none has arrived */

#endif
