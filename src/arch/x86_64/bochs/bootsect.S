/*
 * Boot sector for Bochs (tools/toro bochs): Bochs' BIOS loads it at 0x7C00 from a floppy, and
 * `optramimage1` has already put the flat kernel image (objcopy -O binary NAME.elf) at 1 MiB.
 * We collect the BIOS E820 memory map (INT 15h, AX=E820h; ACPI spec "INT 15H, E820H") into
 * BOCHS_E820_TABLE, open A20, enter 32-bit protected mode with flat segments and jump to the
 * image's .bootvec at 1 MiB with EAX = BOOT_MAGIC_BOCHS and EBX = the table.
 */
#include <arch/x86_64/boot_protocol.h>

        .code16
        .section .text
        .globl start
start:
        cli
        xorw %ax, %ax
        movw %ax, %ds
        movw %ax, %es
        movw %ax, %ss
        movw $0x7C00, %sp
        sti

        movw $(BOCHS_E820_TABLE + 8), %di
        xorl %ebx, %ebx
        xorw %bp, %bp
e820_next:
        movl $0xE820, %eax
        movl $0x534D4150, %edx          /* 'SMAP' */
        movl $24, %ecx
        movl $1, %es:20(%di)            /* ACPI 3.0 extended attributes: valid */
        int $0x15
        jc e820_done
        cmpl $0x534D4150, %eax
        jne e820_done
        incw %bp
        addw $24, %di
        cmpw $BOCHS_E820_MAX, %bp
        jae e820_done
        testl %ebx, %ebx
        jnz e820_next
e820_done:
        movzwl %bp, %eax
        movl %eax, BOCHS_E820_TABLE
        movl $0, BOCHS_E820_TABLE + 4

        inb $0x92, %al                  /* fast A20 */
        orb $2, %al
        andb $0xFE, %al
        outb %al, $0x92

        cli
        lgdtl gdt_ptr
        movl %cr0, %eax
        orl $1, %eax
        movl %eax, %cr0
        ljmpl $0x08, $pm32

        .code32
pm32:
        movw $0x10, %ax
        movw %ax, %ds
        movw %ax, %es
        movw %ax, %ss
        movw %ax, %fs
        movw %ax, %gs
        movl $0x7C00, %esp
        movl $BOOT_MAGIC_BOCHS, %eax
        movl $BOCHS_E820_TABLE, %ebx
        movl $0x100000, %ecx
        jmp *%ecx

        .balign 8
gdt:
        .quad 0
        .quad 0x00CF9A000000FFFF        /* 0x08: 32-bit code, flat */
        .quad 0x00CF92000000FFFF        /* 0x10: data, flat */
gdt_ptr:
        .word gdt_ptr - gdt - 1
        .long gdt

        .org 510
        .word 0xAA55
