/* Shared set-up of the discovery and console fuzz targets (fuzz_fdt.c, fuzz_pci.c,
 * fuzz_console.c): console output to /dev/null, the discovery tables cleared per input, and a kb
 * blob: the file named by $AUTON_FUZZ_KB (bench/fuzz.py passes the real one), else a small
 * built-in one. After each input the device table is printed with every command that reads it,
 * so names, drivers and columns are exercised on whatever discovery produced. */
#ifndef AUTON_FUZZ_COMMON_H
#define AUTON_FUZZ_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "console.h"
#include "hw.h"
#include "names.h"

static const char small_kb[] = "AUTONKB 1\n"
                               "@section pci_vendor 2 42\n"
                               "1af4\tRed Hat, Inc.\n8086\tIntel Corporation\n"
                               "@section pci_device 2 76\n"
                               "1af41000\tVirtio network device\n8086100e\t82540EM Gigabit Ethernet Controller\n"
                               "@section pci_class 3 57\n"
                               "02\tNetwork controller\n0200\tEthernet controller\n06\tBridge\n"
                               "@section alias 4 130\n"
                               "pci:v00008086d0000100Esv*sd*bc*sc*i*\te1000\nvirtio:d00000001v*\tvirtio_net\nof:N*T*"
                               "Cns16550a*\t8250_of\npci:v*d*sv*sd*bc02sc[0-8]i*\tx[\n"
                               "@section pkg 2 67\n"
                               "bind9-dnsutils\tClients provided with BIND 9\nnginx\tsmall web server\n"
                               "@section cmd 2 42\n"
                               "dig\tbind9-dnsutils\nnginx\tnginx,nginx-full\n"
                               "@section whatis 1 32\n"
                               "gzip\t1\tcompress or expand files\n"
                               "@section word 4 33\n"
                               "bind9\t0\nserver\t1\nsmall\t1\nweb\t0,1\n"
                               "@end\n";

static struct shell fuzz_shell;

static inline void fuzz_setup(void)
{
    static int done;
    if (done)
        return;
    done = 1;
    if (!freopen("/dev/null", "w", stdout))
        abort();
    const char *path = getenv("AUTON_FUZZ_KB");
    const void *blob = small_kb;
    size_t size = sizeof small_kb - 1;
    if (path && *path) {
        FILE *f = fopen(path, "rb");
        static char *buf;
        if (!f || fseek(f, 0, SEEK_END) != 0 || (size = (size_t)ftell(f)) == 0 || fseek(f, 0, SEEK_SET) != 0 ||
            !(buf = malloc(size)) || fread(buf, 1, size, f) != size) {
            fprintf(stderr, "fuzz: cannot read AUTON_FUZZ_KB=%s\n", path);
            abort();
        }
        fclose(f);
        blob = buf;
    }
    char err[128];
    if (kb_open(&fuzz_shell.kb, blob, size, err, sizeof err) != 0) {
        fprintf(stderr, "fuzz: kb: %s\n", err);
        abort();
    }
    fuzz_shell.kb_bytes = size;
    fuzz_shell.st.max_tokens = 1;
}

static inline void fuzz_reset_tables(void)
{
    memset(&hw_inv, 0, sizeof hw_inv);
    memset(&hw_cpu, 0, sizeof hw_cpu);
    memset(&hw_mem, 0, sizeof hw_mem);
}

/* Run one console line (a copy: commands cut it in place). */
static inline void fuzz_command(const char *text)
{
    char line[CONSOLE_LINE_MAX];
    snprintf(line, sizeof line, "%s", text);
    console_command(&fuzz_shell, line);
}

/* Name and print everything discovery found. */
static inline void fuzz_show_inventory(void)
{
    char line[CONSOLE_LINE_MAX];
    names_resolve(&fuzz_shell.kb);
    fuzz_command("devices");
    fuzz_command("driver all");
    fuzz_command("cpu");
    fuzz_command("memory");
    for (int i = 0; i < hw_inv.n && i < 8; i++) {
        snprintf(line, sizeof line, "device %s", hw_inv.dev[i].addr);
        fuzz_command(line);
    }
}

#endif
