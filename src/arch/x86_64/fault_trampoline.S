/*
 * Faults thrown as C++ exceptions (src/kernel/exceptions.cpp; linked only into programs built
 * with exceptions). When a fault in app code is to be thrown, the trap handler leaves the
 * interrupted rsp alone and "returns" (iretq) into toro_fault_trampoline instead of the
 * faulting instruction. The trampoline makes room below the faulting rsp, has the trap frame
 * copied there (toro_take_fault_frame: the core's slot) and calls toro_raise_fault, which throws.
 *
 * Its CFI describes a signal frame: the caller's registers are the saved ones in that
 * FaultFrame (arch/x86_64/trap.h), the CFA is the faulting rsp, and the return address is the
 * faulting rip itself. `.cfi_signal_frame` tells the unwinder that this return address is not
 * after a call, so it looks up the faulting instruction itself (no "ra - 1"): with
 * -fnon-call-exceptions that instruction lies in its function's call-site range, and a
 * try/catch around it catches the exception.
 * The CFI is exact from the `andq` on; nothing unwinds through the two instructions before.
 */
        .code64
        .section .text.toro_fault_trampoline, "ax", @progbits

/* DW_CFA_expression reg, {DW_OP_breg7 (rsp) off}: register `reg` saved at rsp + off. */
.macro SAVED reg, off
  .if \off < 64
        .cfi_escape 0x10, \reg, 2, 0x77, \off
  .else
        .cfi_escape 0x10, \reg, 3, 0x77, (\off & 0x7f) | 0x80, \off >> 7
  .endif
.endm

        .globl toro_fault_trampoline
        .type toro_fault_trampoline, @function
toro_fault_trampoline:
        .cfi_startproc simple
        .cfi_signal_frame
        /* DW_CFA_def_cfa_expression {DW_OP_breg7 160, DW_OP_deref}: CFA = the saved rsp. */
        .cfi_escape 0x0f, 4, 0x77, 0xa0, 0x01, 0x06
        SAVED 16, 136   /* return address: the faulting rip */
        SAVED 0, 112    /* rax */
        SAVED 1, 88     /* rdx */
        SAVED 2, 96     /* rcx */
        SAVED 3, 104    /* rbx */
        SAVED 4, 80     /* rsi */
        SAVED 5, 72     /* rdi */
        SAVED 6, 64     /* rbp */
        SAVED 8, 56     /* r8 */
        SAVED 9, 48
        SAVED 10, 40
        SAVED 11, 32
        SAVED 12, 24
        SAVED 13, 16
        SAVED 14, 8
        SAVED 15, 0     /* r15 */
        subq $192, %rsp         /* sizeof(FaultFrame); no red zone below rsp in Toro code */
        andq $-16, %rsp
        movq %rsp, %rdi
        call toro_take_fault_frame
        movq %rsp, %rdi
        call toro_raise_fault   /* never returns */
        ud2
        .cfi_endproc
        .size toro_fault_trampoline, . - toro_fault_trampoline

        .section .note.GNU-stack, "", @progbits
