/*
 * Toro HEAD's NMI shutdown (toro-spec §2.16): the NMI stub of isr.S jumps here when this file is
 * linked (src/api/shutdown.cpp pulls it in through nmi_common; otherwise isr.S's weak
 * nmi_common is trap_common and an NMI is reported as an exception). It never returns: on the
 * NMI's own IST stack, aligned for the call, it calls kernel_nmi_shutdown.
 */
        .code64
        .section .text.nmi_common, "ax", @progbits
        .globl nmi_common, nmi_shutdown_entry
        .type nmi_common, @function
nmi_common:
nmi_shutdown_entry:
        cld
        andq $-16, %rsp
        call kernel_nmi_shutdown
1:      cli
        hlt
        jmp 1b
        .size nmi_common, . - nmi_common
        .section .note.GNU-stack, "", @progbits
