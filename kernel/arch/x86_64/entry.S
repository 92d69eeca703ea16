/* x86_64 entry. QEMU's -kernel loads this image with its multiboot (v1) loader: the header
 * below uses the address fields (flag 16), so the image is a flat binary loaded at 1 MiB, and
 * _start32 runs in 32-bit protected mode, paging off, with eax = multiboot magic and
 * ebx = the multiboot info. It builds page tables that identity-map the first 4 GiB with
 * 2 MiB pages, turns on PAE, long mode, paging and SSE, and jumps to 64-bit code. Where the CPU
 * has XSAVE it also turns on the AVX state (CR4.OSXSAVE, XCR0), so the runtime's AVX2 kernels
 * can run; the runtime checks CPUID and XCR0 itself before choosing them. The other CPUs (smp.c)
 * come in through ap_trampoline and share the way into long mode from protected mode on. */

#include "smp.h"
#include "stacks.h"

#define MB_MAGIC 0x1BADB002
#define MB_FLAGS ((1 << 1) | (1 << 16)) /* memory info wanted; load addresses in the header */

#define CR0_PE (1 << 0)
#define CR0_MP (1 << 1)
#define CR0_EM (1 << 2)
#define CR0_NE (1 << 5)
#define CR0_NW (1 << 29)
#define CR0_CD (1 << 30)
#define CR0_PG (1 << 31)
#define CR4_PAE (1 << 5)
#define CR4_OSFXSR (1 << 9)
#define CR4_OSXMMEXCPT (1 << 10)
#define CR4_OSXSAVE (1 << 18)
#define CPUID1_XSAVE (1 << 26)      /* CPUID.1:ECX */
#define CPUID1_AVX (1 << 28)
#define XCR0_X87_SSE 0x3
#define XCR0_AVX 0x4
#define MSR_EFER 0xC0000080
#define EFER_LME (1 << 8)
#define PTE_P_RW 0x3
#define PDE_2M 0x83 /* present, writable, 2 MiB page */

    .section .text.entry, "ax"
    .code32
    .balign 4
multiboot_header:
    .long   MB_MAGIC
    .long   MB_FLAGS
    .long   -(MB_MAGIC + MB_FLAGS)
    .long   multiboot_header        /* header_addr */
    .long   _kernel_start           /* load_addr: the file's first byte */
    .long   _load_end               /* load_end_addr: end of the file's contents */
    .long   _bss_end                /* bss_end_addr: zeroed by the loader */
    .long   _start32                /* entry_addr */

    .globl  _start32
_start32:
    cli
    cld
    mov     %eax, mb_magic
    mov     %ebx, mb_info
    mov     $(boot_stack + BOOT_STACK_SIZE), %esp
    mov     $_bss_start, %edi       /* zero .bss (the page tables live there) */
    mov     $_bss_end, %ecx
    sub     %edi, %ecx
    xor     %eax, %eax
    rep stosb

    mov     $pdpt, %eax             /* PML4[0] -> PDPT */
    or      $PTE_P_RW, %eax
    mov     %eax, pml4
    mov     $page_dirs, %eax        /* PDPT[0..3] -> the four page directories */
    or      $PTE_P_RW, %eax
    xor     %ecx, %ecx
1:  mov     %eax, pdpt(,%ecx,8)
    add     $4096, %eax
    inc     %ecx
    cmp     $4, %ecx
    jne     1b
    xor     %ecx, %ecx              /* PD[i] = i * 2 MiB, for i < 2048 (4 GiB) */
2:  mov     %ecx, %eax
    shl     $21, %eax
    or      $PDE_2M, %eax
    mov     %eax, page_dirs(,%ecx,8)
    inc     %ecx
    cmp     $2048, %ecx
    jne     2b
    xor     %ebp, %ebp              /* the boot CPU (ebp = 1: another one, see ap_start32) */

/* From here on shared with the other CPUs: long mode with these page tables, in 32-bit code
 * with flat segments and ebp saying who runs it. */
long_mode:
    mov     %cr4, %eax
    or      $(CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT), %eax
    mov     %eax, %cr4
    mov     $pml4, %eax
    mov     %eax, %cr3
    mov     $MSR_EFER, %ecx
    rdmsr
    or      $EFER_LME, %eax
    wrmsr
    mov     %cr0, %eax
    and     $~(CR0_EM | CR0_NW | CR0_CD), %eax /* caches on (INIT leaves them off) */
    or      $(CR0_PE | CR0_MP | CR0_NE | CR0_PG), %eax
    mov     %eax, %cr0              /* long mode is active (in 32-bit compatibility mode) */
    lgdt    gdt_ptr
    ljmp    $0x08, $start64

    .code64
start64:
    mov     $0x10, %ax
    mov     %ax, %ds
    mov     %ax, %es
    mov     %ax, %ss
    mov     %ax, %fs
    mov     %ax, %gs
    fninit
    mov     $1, %eax                /* XSAVE: enable the x87, SSE and (if present) AVX state */
    cpuid
    test    $CPUID1_XSAVE, %ecx
    jz      1f
    mov     %ecx, %esi
    mov     %cr4, %rax
    or      $CR4_OSXSAVE, %rax
    mov     %rax, %cr4
    mov     $XCR0_X87_SSE, %eax
    test    $CPUID1_AVX, %esi
    jz      2f
    or      $XCR0_AVX, %eax
2:  xor     %edx, %edx
    xor     %ecx, %ecx
    xsetbv
1:
    test    %ebp, %ebp
    jnz     ap_start64
    mov     $(boot_stack + BOOT_STACK_SIZE), %rsp
    mov     mb_magic, %edi
    mov     mb_info, %esi
    call    arch_start              /* arch_start(magic, info) does not return */
hang:
    cli
    hlt
    jmp     hang

/* Another CPU: the next free stack of ap_stacks (none left: it stays halted), then
 * arch_secondary (smp.c). */
ap_start64:
    mov     $1, %eax
    lock xadd %eax, ap_arrived
    cmp     $(SMP_MAX_CPUS - 1), %eax
    jae     hang
    inc     %eax
    imul    $SMP_STACK_SIZE, %eax
    lea     ap_stacks(%rax), %rsp
    call    arch_secondary          /* does not return */
    jmp     hang

/* A CPU started by SIPI (vector SMP_TRAMPOLINE >> 12) runs this copy at SMP_TRAMPOLINE in real
 * mode, CS:IP = the page:0 and interrupts off: load the kernel's GDT (its base is beyond what
 * a real-mode lgdt reads, hence lgdtl and the pointer kept in the page), protected mode, and
 * on to ap_start32 in the kernel with the 32-bit code segment. */
    .code16
    .globl  ap_trampoline, ap_trampoline_end
ap_trampoline:
    cli
    cld
    xor     %ax, %ax
    mov     %ax, %ds
    lgdtl   SMP_TRAMPOLINE + (ap_gdt_ptr - ap_trampoline)
    mov     %cr0, %eax
    or      $CR0_PE, %eax
    mov     %eax, %cr0
    ljmpl   $0x18, $ap_start32
    .balign 4
ap_gdt_ptr:
    .word   gdt_end - gdt - 1
    .long   gdt
ap_trampoline_end:

    .code32
ap_start32:
    mov     $0x10, %ax
    mov     %ax, %ds
    mov     %ax, %es
    mov     %ax, %ss
    mov     $1, %ebp
    jmp     long_mode

    .code64

/* Exception stubs, 16 bytes apart (arch.c points the IDT at isr_stubs + 16 * vector). None
 * returns: isr_common hands the vector and the faulting stack to the C handler on a fresh
 * stack. */
    .balign 16
    .globl  isr_stubs
isr_stubs:
    .set    vec, 0
    .rept   32
    .balign 16
    mov     $vec, %edi
    jmp     isr_common
    .set    vec, vec + 1
    .endr

isr_common:
    mov     %rsp, %rsi
    mov     $(trap_stack + TRAP_STACK_SIZE), %rsp
    call    x86_trap

/* SMP_WAKE_VECTOR, the boot CPU's IPI: its only job is to end a worker's hlt (smp.c). */
    .globl  wake_irq
wake_irq:
    push    %rax
    mov     lapic_eoi, %rax
    movl    $0, (%rax)              /* end of interrupt to the local APIC */
    pop     %rax
    iretq

/* The local APIC's spurious interrupt: nothing to acknowledge. */
    .globl  spurious_irq
spurious_irq:
    iretq

/* IRQ 0 (the PIT, vector 32): its only job is to end the hlt in arch.c's idle(). */
    .globl  timer_irq
timer_irq:
    push    %rax
    mov     $0x20, %al              /* end of interrupt to the master PIC */
    out     %al, $0x20
    pop     %rax
    iretq

    .section .rodata
    .balign 8
gdt:
    .quad   0
    .quad   0x00af9a000000ffff      /* 0x08: 64-bit code, ring 0 */
    .quad   0x00cf92000000ffff      /* 0x10: data, ring 0 */
    .quad   0x00cf9a000000ffff      /* 0x18: 32-bit code, ring 0 (ap_trampoline) */
gdt_end:
gdt_ptr:
    .word   gdt_end - gdt - 1
    .quad   gdt

    .section .data
mb_magic:
    .long   0
mb_info:
    .long   0
ap_arrived:                         /* the other CPUs that took a stack, or tried */
    .long   0

    .section .bss.pagetables, "aw", @nobits
    .balign 4096
pml4:
    .space  4096
pdpt:
    .space  4096
    .globl  page_dirs
page_dirs:
    .space  4 * 4096
