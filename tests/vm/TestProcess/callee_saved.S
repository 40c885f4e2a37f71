/* bool CalleeSavedSurviveTwoSwitches(): loads patterns into every callee-saved register
 * (System V: rbx, rbp, r12-r15), calls SysThreadSwitch() twice while another thread of the
 * core runs, and returns 1 if all six still hold their pattern (toro-spec §3.3 TestThreadSwitch). */
        .text
        .globl CalleeSavedSurviveTwoSwitches
        .type CalleeSavedSurviveTwoSwitches, @function
CalleeSavedSurviveTwoSwitches:
        pushq %rbp
        movq %rsp, %rbp
        pushq %rbx
        pushq %r12
        pushq %r13
        pushq %r14
        pushq %r15
        pushq %rbp                      /* keep the frame pointer; rbp gets a pattern too */
        movabsq $0x1111111111111111, %rbx
        movabsq $0x2222222222222222, %r12
        movabsq $0x3333333333333333, %r13
        movabsq $0x4444444444444444, %r14
        movabsq $0x5555555555555555, %r15
        movabsq $0x6666666666666666, %rbp
        call _Z15SysThreadSwitchv
        call _Z15SysThreadSwitchv
        xorl %eax, %eax
        movabsq $0x1111111111111111, %rcx
        cmpq %rcx, %rbx
        jne 1f
        movabsq $0x2222222222222222, %rcx
        cmpq %rcx, %r12
        jne 1f
        movabsq $0x3333333333333333, %rcx
        cmpq %rcx, %r13
        jne 1f
        movabsq $0x4444444444444444, %rcx
        cmpq %rcx, %r14
        jne 1f
        movabsq $0x5555555555555555, %rcx
        cmpq %rcx, %r15
        jne 1f
        movabsq $0x6666666666666666, %rcx
        cmpq %rcx, %rbp
        jne 1f
        movl $1, %eax
1:      popq %rbp
        popq %r15
        popq %r14
        popq %r13
        popq %r12
        popq %rbx
        popq %rbp
        ret
        .size CalleeSavedSurviveTwoSwitches, . - CalleeSavedSurviveTwoSwitches
        .section .note.GNU-stack, "", @progbits
