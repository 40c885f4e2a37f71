/* Faults for TestExceptions-kinds, with the unwind information an exception thrown from inside
 * them needs (.cfi_*); in assembly so the compiler cannot take the calls for non-throwing.
 *   void InvalidOpcode(): ud2: #UD (6).
 *   void SimdDivideByZero(): unmasks MXCSR.ZM and divides 1.0 by 0.0 with divss: #XM (19).
 *   void X87DivideByZero(): unmasks the x87 control word's ZM, divides 1 by 0 with fdivp and
 *     waits: #MF (16) on the fwait (CR0.NE is set at boot).
 *   void RestoreFpuDefaults(): fninit and MXCSR 0x1F80 (every exception masked again). */
        .text
        .globl InvalidOpcode
        .type InvalidOpcode, @function
InvalidOpcode:
        .cfi_startproc
        ud2
        ret
        .cfi_endproc
        .size InvalidOpcode, . - InvalidOpcode

        .globl SimdDivideByZero
        .type SimdDivideByZero, @function
SimdDivideByZero:
        .cfi_startproc
        subq $8, %rsp
        .cfi_adjust_cfa_offset 8
        stmxcsr (%rsp)
        andl $~(1 << 9), (%rsp)         /* ZM: divide-by-zero exceptions raise #XM */
        ldmxcsr (%rsp)
        movl $1, %eax
        cvtsi2ss %eax, %xmm0
        xorps %xmm1, %xmm1
        divss %xmm1, %xmm0              /* #XM here */
        addq $8, %rsp
        .cfi_adjust_cfa_offset -8
        ret
        .cfi_endproc
        .size SimdDivideByZero, . - SimdDivideByZero

        .globl X87DivideByZero
        .type X87DivideByZero, @function
X87DivideByZero:
        .cfi_startproc
        subq $8, %rsp
        .cfi_adjust_cfa_offset 8
        fninit
        fnstcw (%rsp)
        andw $~(1 << 2), (%rsp)         /* ZM: divide-by-zero exceptions are unmasked */
        fldcw (%rsp)
        fld1
        fldz
        fdivrp %st, %st(1)              /* st(1) / st(0) = 1 / 0: the exception is pending */
        fwait                           /* #MF here */
        addq $8, %rsp
        .cfi_adjust_cfa_offset -8
        ret
        .cfi_endproc
        .size X87DivideByZero, . - X87DivideByZero

        .globl RestoreFpuDefaults
        .type RestoreFpuDefaults, @function
RestoreFpuDefaults:
        .cfi_startproc
        subq $8, %rsp
        .cfi_adjust_cfa_offset 8
        fninit
        movl $0x1F80, (%rsp)
        ldmxcsr (%rsp)
        addq $8, %rsp
        .cfi_adjust_cfa_offset -8
        ret
        .cfi_endproc
        .size RestoreFpuDefaults, . - RestoreFpuDefaults

        .section .note.GNU-stack, "", @progbits
