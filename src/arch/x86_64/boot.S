/*
 * Boot entry points of a Toro C++ image (one ELF64, three ways in):
 *   _start_pvh  QEMU -kernel (PVH ELF note, Xen ELFNOTE_PHYS32_ENTRY): EBX = hvm_start_info.
 *   _start32    multiboot2 (GRUB, EAX = 0x36d76289, EBX = info) and the ELF e_entry.
 *   _bootvec    exactly at 1 MiB: the Bochs boot sector (tools/bochs/bootsect.S) jumps here with
 *               EAX = 0xB0C45000 and EBX = its E820 table.
 * All arrive in 32-bit protected mode, flat segments, paging off. We zero .bss, check for long
 * mode, identity-map the first 4 GiB with 2 MiB pages (enough for the kernel, low RAM and the
 * APIC/PCI holes), enter long mode and call kernel_entry(magic, info). kernel_entry replaces these
 * temporary tables with a map of all reported RAM (paging.cpp).
 */
#include <arch/x86_64/boot_protocol.h>

        .section .bootvec, "ax"
        .code32
        .globl _bootvec
_bootvec:
        jmp _start32

/* PVH note: QEMU reads it from PT_NOTE; a 64-bit descriptor for an ELF64 image. */
        .section .note.Xen, "a", @note
        .balign 4
        .long 4, 8, 18
        .asciz "Xen"
        .balign 4
        .quad _start_pvh

/* Multiboot2 header for GRUB (QEMU -kernel ignores it and takes the PVH note). */
        .section .multiboot2, "a"
        .balign 8
mb2_header:
        .long 0xE85250D6, 0, mb2_header_end - mb2_header
        .long 0x100000000 - (0xE85250D6 + (mb2_header_end - mb2_header))
        .word 0, 0
        .long 8
mb2_header_end:

        .section .boot.text, "ax"
        .code32
        .globl _start_pvh
        .type _start_pvh, @function
_start_pvh:
        movl $BOOT_MAGIC_PVH, %eax
        .globl _start32
        .type _start32, @function
_start32:
        cli
        cld
        movl %eax, %esi                 /* magic: survives rep stosb (edi, ecx, eax) */
        movl %ebx, %edx                 /* info */
        movl $__bss_start, %edi
        movl $__bss_end, %ecx
        subl %edi, %ecx
        xorl %eax, %eax
        rep stosb
        movl %esi, boot_magic
        movl %edx, boot_info
        movl $boot_stack_top, %esp

        /* Long mode available? (CPUID 0x80000001 EDX bit 29) */
        movl $0x80000000, %eax
        cpuid
        cmpl $0x80000001, %eax
        jb no_long_mode
        movl $0x80000001, %eax
        cpuid
        btl $29, %edx
        jnc no_long_mode

        /* PML4[0] -> PDPT, PDPT[0..3] -> PD0..3, PDn[i] -> 2 MiB page (present, writable, PS). */
        movl $boot_pdpt, %eax
        orl $0x3, %eax
        movl %eax, boot_pml4
        xorl %ecx, %ecx
1:      movl %ecx, %eax
        shll $12, %eax
        addl $boot_pd, %eax
        orl $0x3, %eax
        movl %eax, boot_pdpt(,%ecx,8)
        incl %ecx
        cmpl $4, %ecx
        jne 1b
        xorl %ecx, %ecx
2:      movl %ecx, %eax
        shll $21, %eax
        orl $0x83, %eax
        movl %eax, boot_pd(,%ecx,8)
        movl %ecx, %eax
        shrl $11, %eax                  /* bits 32.. of the physical address: i * 2 MiB >> 32 */
        movl %eax, boot_pd+4(,%ecx,8)
        incl %ecx
        cmpl $2048, %ecx
        jne 2b

        movl %cr4, %eax
        orl $(1 << 5), %eax             /* PAE */
        movl %eax, %cr4
        movl $boot_pml4, %eax
        movl %eax, %cr3
        movl $0xC0000080, %ecx          /* EFER.LME */
        rdmsr
        orl $(1 << 8), %eax
        wrmsr
        movl %cr0, %eax
        orl $((1 << 31) | (1 << 16) | 1), %eax  /* PG, WP, PE */
        andl $~((1 << 30) | (1 << 29)), %eax    /* caches on: CD = NW = 0 */
        movl %eax, %cr0
        lgdt boot_gdt_ptr
        ljmp $0x08, $long_mode_entry

no_long_mode:
        movl $no_long_mode_msg, %esi
3:      lodsb
        testb %al, %al
        jz 4f
        movw $0x3F8, %dx
        outb %al, %dx
        jmp 3b
4:      hlt
        jmp 4b

        .code64
long_mode_entry:
        movw $0x10, %ax
        movw %ax, %ds
        movw %ax, %es
        movw %ax, %ss
        xorw %ax, %ax
        movw %ax, %fs
        movw %ax, %gs
        movq $boot_stack_top, %rsp
        /* SSE for application code: CR0.EM = 0, CR0.MP = 1, CR4.OSFXSR | OSXMMEXCPT. The kernel
         * itself is built with -mgeneral-regs-only and never touches x87/SSE state. */
        movq %cr0, %rax
        andq $~((1 << 2) | (1 << 3)), %rax      /* EM = 0, TS = 0 */
        orq $((1 << 1) | (1 << 5)), %rax        /* MP = 1, NE = 1: x87 errors raise #MF */
        movq %rax, %cr0
        movq %cr4, %rax
        orq $((1 << 9) | (1 << 10)), %rax
        movq %rax, %cr4
        fninit                                  /* firmware may leave the x87 dirty (Bochs does) */
        /* MXCSR keeps its reset value 0x1F80 (SDM vol. 1 §10.2.3.1): no ldmxcsr, which kvm_pvm
         * cannot execute in ring 0. */
        xorl %ebp, %ebp                 /* end of the frame-pointer chain for backtraces */
        movl boot_magic, %edi
        movl boot_info, %esi
        call kernel_entry
5:      cli
        hlt
        jmp 5b

        .section .rodata
no_long_mode_msg:
        .asciz "Toro: this CPU has no long mode (x86-64); cannot boot.\r\n"
        .balign 8
boot_gdt:
        .quad 0
        .quad 0x00AF9A000000FFFF        /* 0x08: 64-bit code */
        .quad 0x00CF92000000FFFF        /* 0x10: data */
boot_gdt_end:
boot_gdt_ptr:
        .word boot_gdt_end - boot_gdt - 1
        .long boot_gdt

        .section .data
        .balign 8
        .globl boot_magic, boot_info
boot_magic: .long 0
boot_info:  .long 0

        .section .bss
        .balign 4096
boot_pml4:  .skip 4096
boot_pdpt:  .skip 4096
boot_pd:    .skip 4 * 4096
        .balign 16
        .globl boot_stack_top
boot_stack: .skip 32768
boot_stack_top:

        .section .note.GNU-stack, "", @progbits
