/* The kernel's two stacks (lib/stacks.c), shared by C and each arch's entry.S: the boot stack
 * that kmain runs on, and the trap stack the exception handlers switch to (the fault may be an
 * overflow of the first). */
#ifndef AUTON_STACKS_H
#define AUTON_STACKS_H

#define BOOT_STACK_SIZE (256 * 1024)
#define TRAP_STACK_SIZE (16 * 1024)

#ifndef __ASSEMBLER__
#include <stdint.h>
extern uint8_t boot_stack[BOOT_STACK_SIZE], trap_stack[TRAP_STACK_SIZE];
#endif

#endif
