/* The GGUF model, linked into the image at a page boundary (so every tensor keeps the
 * alignment GGUF promises relative to the file start), and its sha256. The Makefile defines
 * MODEL_FILE (path) and MODEL_SHA256 (hex string). */
    .section .model, "a"
    .balign 4096
    .globl auton_model_start
auton_model_start:
    .incbin MODEL_FILE
    .globl auton_model_end
auton_model_end:

    .section .rodata
    .globl auton_model_sha256
auton_model_sha256:
    .asciz MODEL_SHA256
