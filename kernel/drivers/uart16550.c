/* 16550 UART, polled: no interrupts, 8N1. QEMU ignores the baud divisor but it is programmed
 * anyway (38400) so the driver is right on real hardware too. The FIFOs stay as the firmware
 * left them: switching them on or off discards what they hold, which loses input typed ahead. */
#include "uart16550.h"

enum {
    RBR = 0,
    THR = 0,
    DLL = 0, /* receive / transmit holding, divisor latch low (DLAB=1) */
    IER = 1,
    DLM = 1, /* interrupt enable, divisor latch high (DLAB=1) */
    LCR = 3, /* line control */
    LSR = 5, /* line status */
};
#define LCR_8N1        0x03
#define LCR_DLAB       0x80
#define LSR_DATA_READY 0x01
#define LSR_THR_EMPTY  0x20

void uart16550_init(void)
{
    uart16550_reg_write(IER, 0x00);
    uart16550_reg_write(LCR, LCR_DLAB);
    uart16550_reg_write(DLL, 3); /* 115200 / 3 = 38400 baud */
    uart16550_reg_write(DLM, 0);
    uart16550_reg_write(LCR, LCR_8N1);
}

void uart16550_putc(int c)
{
    while (!(uart16550_reg_read(LSR) & LSR_THR_EMPTY))
        ;
    uart16550_reg_write(THR, (uint8_t)c);
}

int uart16550_poll(void)
{
    return (uart16550_reg_read(LSR) & LSR_DATA_READY) ? uart16550_reg_read(RBR) : -1;
}
