/*
 * Application-processor start-up (Intel SDM vol. 3 §8.4.4, MP initialization): the BSP copies
 * this code to SMP_TRAMPOLINE (a page below 1 MiB), fills the parameter block at its end and
 * sends INIT-SIPI-SIPI with vector SMP_TRAMPOLINE >> 12. The AP wakes in real mode at
 * SMP_TRAMPOLINE, goes through protected mode to long mode on the kernel's own page tables,
 * sets up x87/SSE like the BSP (boot.S) and calls entry(core) on the stack it was given.
 * All addresses are taken relative to the copy: TR(x) is x's address in the copy.
 */
#include <arch/x86_64/smp.h>

#define TR(x) (SMP_TRAMPOLINE + (x) - smp_trampoline_start)

        .section .text
        .code16
        .globl smp_trampoline_start, smp_trampoline_end
smp_trampoline_start:
        cli
        cld
        xorw %ax, %ax
        movw %ax, %ds
        lgdtl TR(tr_gdt_ptr)
        movl %cr0, %eax
        orl $1, %eax
        movl %eax, %cr0
        ljmpl $0x18, $TR(tr_pm32)

        .code32
tr_pm32:
        movw $0x10, %ax
        movw %ax, %ds
        movw %ax, %es
        movw %ax, %ss
        movl %cr4, %eax
        orl $((1 << 5) | (1 << 9) | (1 << 10)), %eax   /* PAE, OSFXSR, OSXMMEXCPT */
        movl %eax, %cr4
        movl TR(tr_cr3), %eax
        movl %eax, %cr3
        movl $0xC0000080, %ecx                          /* EFER.LME */
        rdmsr
        orl $(1 << 8), %eax
        wrmsr
        movl %cr0, %eax
        orl $((1 << 31) | (1 << 16) | (1 << 5) | (1 << 1) | 1), %eax  /* PG, WP, NE, MP, PE */
        andl $~((1 << 30) | (1 << 29) | (1 << 3) | (1 << 2)), %eax   /* CD, NW, TS, EM off */
        movl %eax, %cr0
        ljmpl $0x08, $TR(tr_lm64)

        .code64
tr_lm64:
        movw $0x10, %ax
        movw %ax, %ds
        movw %ax, %es
        movw %ax, %ss
        xorw %ax, %ax
        movw %ax, %fs
        movw %ax, %gs
        movq TR(tr_stack), %rsp
        fninit                          /* MXCSR keeps its reset value 0x1F80 */
        xorl %ebp, %ebp
        movq TR(tr_core), %rdi
        movq TR(tr_entry), %rax
        call *%rax
1:      cli
        hlt
        jmp 1b

        .balign 8
tr_gdt:
        .quad 0
        .quad 0x00AF9A000000FFFF        /* 0x08: 64-bit code */
        .quad 0x00CF92000000FFFF        /* 0x10: data */
        .quad 0x00CF9A000000FFFF        /* 0x18: 32-bit code */
tr_gdt_ptr:
        .word tr_gdt_ptr - tr_gdt - 1
        .long TR(tr_gdt)
        .balign 8
        .globl smp_trampoline_params
smp_trampoline_params:                  /* struct arch::TrampolineParams */
tr_cr3:   .quad 0
tr_stack: .quad 0
tr_entry: .quad 0
tr_core:  .quad 0
smp_trampoline_end:

        .section .note.GNU-stack, "", @progbits
