/* The AUTON kernel's portable part: carve the SLM arena out of RAM, load the embedded model,
 * open the embedded knowledge blob, name the devices discovery found (the boot code ran it
 * before the arena could overwrite the DTB), print the banner, then serve the console
 * (console/shell.c) until `poweroff`.
 *
 * Everything a program needs to parse starts with "auton: " and is a list of key=value fields
 * (docs/console.md; tools/kernel_console.py reads them):
 *   auton: boot arch=... machine="..." ram_start=0x... ram_bytes=N image_bytes=N
 *   auton: model name="..." params=N quant=Q8_0 tokenizer=gpt2 layers=N d_model=N heads=N
 *          kv_heads=N d_ff=N context=N vocab=N bytes=N sha256=HEX
 *   auton: arena bytes=N used=N peak=N kv_bytes=N
 *   auton: kb bytes=N pci_vendors=N ... whatis=N
 *   auton: inventory devices=N truncated=0|1
 *   auton: sampler max_tokens=N temperature=F top_p=F seed=N ids=0|1
 *   auton: ready
 * A fatal error prints "auton: error: message" and then "auton: exit code=N" (kernel.h); QEMU
 * then ends with that code. */
#include "console.h"
#include "kernel.h"
#include "names.h"
#include "platform.h"

/* kb.S: the knowledge blob linked into the image (empty when built without KB=). */
extern const uint8_t auton_kb_start[], auton_kb_end[];

void kpanic_trap(const char *what, uint64_t cause, uint64_t pc, uint64_t addr)
{
    kprintf("\nauton: error: %s: cause=0x%llx pc=0x%llx addr=0x%llx\n", what, (unsigned long long)cause,
            (unsigned long long)pc, (unsigned long long)addr);
    kexit(EXIT_TRAP);
}

void kmain(const struct boot_info *bi)
{
    static struct shell sh = {.st = {.max_tokens = 128, .sampler = {.temperature = 0, .top_p = 1, .seed = 0}}};
    uintptr_t image_end = (uintptr_t)_kernel_end;
    sh.boot_us = plat_time_us();
    sh.image_bytes = (size_t)(_kernel_end - _kernel_start);
    sh.model_bytes = (size_t)(auton_model_end - auton_model_start);
    sh.kb_bytes = (size_t)(auton_kb_end - auton_kb_start);
    sh.model_sha256 = auton_model_sha256;
    kprintf("\nAUTON kernel on %s (%s)\n", plat_arch_name(), bi->machine);
    kprintf("auton: boot arch=%s machine=", plat_arch_name());
    con_quoted(bi->machine, strlen(bi->machine));
    kprintf(" ram_start=0x%llx ram_bytes=%llu image_bytes=%zu\n", (unsigned long long)bi->ram_start,
            (unsigned long long)(bi->ram_end - bi->ram_start), sh.image_bytes);
    if (image_end < bi->ram_start || image_end >= bi->ram_end) {
        kprintf("auton: error: the kernel image does not lie in the RAM the firmware reports\n");
        kexit(EXIT_BOOT);
    }

    static slm_arena arena;
    slm_arena_init(&arena, (void *)image_end, bi->ram_end - image_end);
    sh.arena = &arena;
    char err[256];
    if (slm_load(&sh.model, auton_model_start, sh.model_bytes, &arena, err, sizeof err) != 0) {
        kprintf("auton: error: model (%zu bytes, sha256 %.16s...): %s\n", sh.model_bytes, auton_model_sha256, err);
        kexit(EXIT_MODEL);
    }
    static char cmdline[BOOT_CMDLINE_MAX]; /* before the model's info: isa=NAME spares the timing of "best" */
    memcpy(cmdline, bi->cmdline, sizeof cmdline);
    shell_apply_settings(&sh.st, cmdline);
    slm_get_info(sh.model, &sh.info);
    shell_print_model(&sh);
    kprintf("auton: arena bytes=%zu used=%zu peak=%zu kv_bytes=%llu\n", arena.size, arena.used, arena.peak,
            (unsigned long long)sh.info.kv_bytes);
    kprintf("auton: isa %s (this CPU runs: %s%s%s)\n", sh.info.isa, sh.info.isas,
            sh.info.isa_rates[0] ? "; weight MB/s " : "", sh.info.isa_rates);
    if (kb_open(&sh.kb, auton_kb_start, sh.kb_bytes, err, sizeof err) != 0)
        kprintf("auton: error: kb (%zu bytes): %s; the commands run without names and packages\n", sh.kb_bytes, err);
    names_resolve(&sh.kb);
    shell_print_tables(&sh);

    shell_print_settings(&sh.st);
    shell_run(&sh);
}
