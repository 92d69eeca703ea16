/* platform.h for the host build: the console is stdin/stdout, time is CLOCK_MONOTONIC. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "platform.h"

void plat_putc(int c)
{
    putchar(c);
}

int plat_getc(void)
{
    return getchar();
}

uint64_t plat_time_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void plat_exit(int code)
{
    fflush(stdout);
    exit(code);
}

const char *plat_arch_name(void)
{
#if defined(__x86_64__)
    return "host-x86_64";
#elif defined(__aarch64__)
    return "host-aarch64";
#elif defined(__riscv)
    return "host-riscv64";
#else
    return "host";
#endif
}
