/* The knowledge blob (tools/kb/, docs/console.md), linked into the image next to the model.
 * The Makefile defines KB_FILE when built with KB=<file>; without it the blob is empty and the
 * console says the tables are missing. */
    .section .rodata.kb, "a"
    .globl auton_kb_start
auton_kb_start:
#ifdef KB_FILE
    .incbin KB_FILE
#endif
    .globl auton_kb_end
auton_kb_end:
