#include "stacks.h"

uint8_t boot_stack[BOOT_STACK_SIZE] __attribute__((aligned(16)));
uint8_t trap_stack[TRAP_STACK_SIZE] __attribute__((aligned(16)));
