/*
 * Boot sector for Bochs (tools/toro bochs). The disk image (tools/mkbochsdisk.py) is this
 * sector followed by the flat kernel image (objcopy -O binary NAME.elf, linked at 1 MiB); the
 * image's sector count is patched in at `kernel_sectors`.
 *
 * 1. Collect the BIOS E820 memory map (INT 15h AX=E820h, ACPI spec "INT 15H, E820H") into
 *    BOCHS_E820_TABLE.
 * 2. Open A20 and enter "unreal mode" (FS keeps a 4 GiB limit after returning to real mode).
 * 3. Read the kernel 32 KiB at a time with INT 13h extensions (AH=42h, LBA) into a bounce
 *    buffer below 1 MiB and copy each piece up to 1 MiB through FS. (Bochs' optramimage would
 *    avoid this, but it loads at most 128 KiB.)
 * 4. Enter 32-bit protected mode with flat segments and jump to the image's .bootvec at 1 MiB
 *    with EAX = BOOT_MAGIC_BOCHS and EBX = the E820 table, whose second word is the address of
 *    the kernel command line (`bochs_cmdline`, in this sector: Bochs has no other way to pass one).
 */
#include <arch/x86_64/boot_protocol.h>

#define BOUNCE_SEGMENT 0x1000           /* 0x10000 physical */
#define SECTORS_PER_READ 64

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
        movb %dl, boot_drive

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
        movl $bochs_cmdline, BOCHS_E820_TABLE + 4  /* the kernel command line's address */

        inb $0x92, %al                  /* fast A20 */
        orb $2, %al
        andb $0xFE, %al
        outb %al, $0x92

        movl $0x100000, %edi            /* where the next piece goes */
load_next:
        movl kernel_sectors, %eax
        testl %eax, %eax
        jz load_done
        movw $SECTORS_PER_READ, %cx
        cmpl $SECTORS_PER_READ, %eax
        jae 1f
        movw %ax, %cx
1:      movw %cx, dap_count
        movw $dap, %si
        movb boot_drive, %dl
        movb $0x42, %ah
        int $0x13
        jc disk_error
        /* Unreal mode: load FS with the flat data descriptor in protected mode, come back. */
        cli
        lgdtl gdt_ptr
        movl %cr0, %eax
        orb $1, %al
        movl %eax, %cr0
        movw $0x10, %bx
        movw %bx, %fs
        andb $0xFE, %al
        movl %eax, %cr0
        xorw %bx, %bx
        movw %bx, %fs
        sti
        movzwl dap_count, %ecx
        shll $7, %ecx                   /* dwords */
        movl $(BOUNCE_SEGMENT << 4), %esi
2:      movl %fs:(%esi), %eax
        movl %eax, %fs:(%edi)
        addl $4, %esi
        addl $4, %edi
        loopl 2b
        movzwl dap_count, %eax
        addl %eax, dap_lba
        subl %eax, kernel_sectors
        jmp load_next

load_done:
        cli
        lgdtl gdt_ptr
        movl %cr0, %eax
        orl $1, %eax
        movl %eax, %cr0
        ljmpl $0x08, $pm32

disk_error:
        movw $disk_error_msg, %si
3:      lodsb
        testb %al, %al
        jz 4f
        movw $0x3F8, %dx
        outb %al, %dx
        jmp 3b
4:      hlt
        jmp 4b

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

disk_error_msg:
        .asciz "Toro boot sector: disk read error\r\n"
boot_drive:
        .byte 0
        .balign 4
dap:                                    /* INT 13h extensions disk address packet */
        .byte 16, 0
dap_count:
        .word 0
        .word 0, BOUNCE_SEGMENT         /* buffer offset, segment */
dap_lba:
        .quad 1
        .balign 8
gdt:
        .quad 0
        .quad 0x00CF9A000000FFFF        /* 0x08: 32-bit code, flat */
        .quad 0x00CF92000000FFFF        /* 0x10: data, flat */
gdt_ptr:
        .word gdt_ptr - gdt - 1
        .long gdt

        .org BOCHS_CMDLINE_OFFSET
        .globl bochs_cmdline
bochs_cmdline:                          /* NUL-terminated; patched by tools/mkbochsdisk.py */
        .fill BOCHS_CMDLINE_SIZE, 1, 0
        .org 0x1F8
        .globl kernel_sectors
kernel_sectors:                         /* patched by tools/mkbochsdisk.py */
        .long 0
        .org 510
        .word 0xAA55
