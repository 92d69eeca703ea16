/* The ARM PL011 UART driver (drivers/pl011.c), polled. */
#ifndef AUTON_PL011_H
#define AUTON_PL011_H

#include <stdint.h>

void pl011_init(uintptr_t base);
void pl011_putc(int c);
int pl011_poll(void); /* the next received byte, or -1 if none has arrived */

#endif
