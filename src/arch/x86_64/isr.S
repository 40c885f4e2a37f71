/*
 * Interrupt and exception entry stubs: one per vector, all funnelled into trap_common, which
 * saves the general registers into a TrapFrame (trap.h) and calls trap_dispatch(TrapFrame*).
 * Vectors without a CPU-pushed error code push a 0 so every frame has the same shape.
 * Stack at the call: CPU frame (40 bytes) + error + vector (16) + 15 GPRs (120) = 176 bytes from
 * the 16-byte boundary the CPU aligned to, so the SysV call alignment holds.
 */
        .code64
        .section .text

.macro ISR_NOERR vec
        .balign 16
isr_\vec:
        pushq $0
        pushq $\vec
  .if \vec == 2
        jmp nmi_common  /* trap_common, unless nmi.S is linked (weak below) */
  .else
        jmp trap_common
  .endif
.endm

.macro ISR_ERR vec
        .balign 16
isr_\vec:
        pushq $\vec
        jmp trap_common
.endm

/* Exceptions that push an error code: #DF 8, #TS 10, #NP 11, #SS 12, #GP 13, #PF 14, #AC 17,
 * #CP 21, #VC 29, #SX 30 (Intel SDM vol. 3, table 6-1; AMD APM vol. 2, 8.2). */
.altmacro
.macro ISR_ANY vec
  .if (\vec == 8) || (\vec == 10) || (\vec == 11) || (\vec == 12) || (\vec == 13) || (\vec == 14) || (\vec == 17) || (\vec == 21) || (\vec == 29) || (\vec == 30)
        ISR_ERR %vec
  .else
        ISR_NOERR %vec
  .endif
.endm

        .globl isr_stubs_start
isr_stubs_start:
.set vec, 0
.rept 256
        ISR_ANY %vec
.set vec, vec + 1
.endr

/* An NMI is an exception like the others (a fault report) unless the program names
 * ShutdownProcedure: src/api/shutdown.cpp then links nmi.S, whose nmi_common shuts down. */
        .weak nmi_common
        .set nmi_common, trap_common

        .type trap_common, @function
trap_common:
        pushq %rax
        pushq %rbx
        pushq %rcx
        pushq %rdx
        pushq %rsi
        pushq %rdi
        pushq %rbp
        pushq %r8
        pushq %r9
        pushq %r10
        pushq %r11
        pushq %r12
        pushq %r13
        pushq %r14
        pushq %r15
        cld
        movq %rsp, %rdi
        call trap_dispatch
        popq %r15
        popq %r14
        popq %r13
        popq %r12
        popq %r11
        popq %r10
        popq %r9
        popq %r8
        popq %rbp
        popq %rdi
        popq %rsi
        popq %rdx
        popq %rcx
        popq %rbx
        popq %rax
        addq $16, %rsp
        iretq

/* Table of the 256 stub addresses for idt.cpp (each stub is 16-byte aligned). */
        .section .rodata
        .balign 8
        .globl isr_stub_table
.macro ISR_ADDR vec
        .quad isr_\vec
.endm
isr_stub_table:
.set vec, 0
.rept 256
        ISR_ADDR %vec
.set vec, vec + 1
.endr

        .section .note.GNU-stack, "", @progbits
