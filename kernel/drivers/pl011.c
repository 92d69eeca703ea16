/* ARM PL011 UART, polled: 8N1 with FIFOs, no interrupts. The divisors assume the 24 MHz
 * UARTCLK of QEMU's virt machine; QEMU ignores them anyway. */
#include "pl011.h"

enum { DR = 0x00, FR = 0x18, IBRD = 0x24, FBRD = 0x28, LCR_H = 0x2c, CR = 0x30, IMSC = 0x38 };
#define FR_RXFE     (1u << 4)
#define FR_TXFF     (1u << 5)
#define LCR_H_FEN   (1u << 4)
#define LCR_H_WLEN8 (3u << 5)
#define CR_UARTEN   (1u << 0)
#define CR_TXE      (1u << 8)
#define CR_RXE      (1u << 9)

static uintptr_t uart;

static uint32_t reg_read(unsigned off)
{
    return *(volatile uint32_t *)(uart + off);
}

static void reg_write(unsigned off, uint32_t v)
{
    *(volatile uint32_t *)(uart + off) = v;
}

void pl011_init(uintptr_t base)
{
    uart = base;
    reg_write(CR, 0);
    reg_write(IBRD, 13); /* 24 MHz / (16 * 115200) = 13.02 */
    reg_write(FBRD, 1);
    reg_write(LCR_H, LCR_H_FEN | LCR_H_WLEN8);
    reg_write(IMSC, 0);
    reg_write(CR, CR_UARTEN | CR_TXE | CR_RXE);
}

void pl011_putc(int c)
{
    while (reg_read(FR) & FR_TXFF)
        ;
    reg_write(DR, (uint8_t)c);
}

int pl011_poll(void)
{
    return (reg_read(FR) & FR_RXFE) ? -1 : (int)(reg_read(DR) & 0xff);
}
