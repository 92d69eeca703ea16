/* The serial console on top of plat_putc/plat_getc: newline translation for terminals and a
 * line editor for the prompt loop. */
#include "fmt.h"
#include "kernel.h"
#include "platform.h"

#define KPRINTF_MAX 512 /* longer output is cut; long text goes through kwrite */

static char *capture_buf;
static size_t capture_size, *capture_len;

void kcapture(char *buf, size_t size, size_t *len)
{
    capture_buf = buf;
    capture_size = size;
    capture_len = len;
    if (len)
        *len = 0;
}

void kwrite(const char *s, size_t len)
{
    for (size_t i = 0; capture_len && i < len; i++, ++*capture_len)
        if (*capture_len < capture_size)
            capture_buf[*capture_len] = s[i];
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '\n')
            plat_putc('\r');
        plat_putc((uint8_t)s[i]);
    }
}

void kputs(const char *s)
{
    kwrite(s, strlen(s));
}

int kprintf(const char *fmt, ...)
{
    char buf[KPRINTF_MAX];
    va_list ap;
    va_start(ap, fmt);
    size_t n = slm_vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    kwrite(buf, n < sizeof buf ? n : sizeof buf - 1);
    return (int)n;
}

int kreadline(char *buf, size_t size)
{
    size_t n = 0;
    for (;;) {
        int c = plat_getc();
        if (c < 0)
            return -1;
        if (c == '\r' || c == '\n') {
            kputs("\n");
            buf[n] = '\0';
            return (int)n;
        }
        if (c == 0x7f || c == '\b') { /* backspace / DEL: erase one character */
            if (n) {
                n--;
                kputs("\b \b");
            }
            continue;
        }
        if (c < 0x20 && c != '\t')
            continue; /* other control characters (escape sequences' ESC) are dropped */
        if (n + 1 < size) {
            buf[n++] = (char)c;
            plat_putc(c);
        }
    }
}
