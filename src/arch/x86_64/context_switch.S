/*
 * void arch_switch(uint64_t* save_rsp, uint64_t next_rsp)
 * Cooperative context switch (System V: only callee-saved registers survive a call, so they are
 * all that needs saving): push them, store RSP in *save_rsp, load next_rsp, pop, return into
 * the next thread. A new thread's stack is prepared by sched::prepare_stack() so that the
 * first switch "returns" into thread_trampoline with the Thread* in r12.
 */
        .code64
        .section .text
        .globl arch_switch
        .type arch_switch, @function
arch_switch:
        pushq %rbp
        pushq %rbx
        pushq %r12
        pushq %r13
        pushq %r14
        pushq %r15
        movq %rsp, (%rdi)
        movq %rsi, %rsp
        popq %r15
        popq %r14
        popq %r13
        popq %r12
        popq %rbx
        popq %rbp
        ret
        .size arch_switch, . - arch_switch

        .globl thread_trampoline
        .type thread_trampoline, @function
thread_trampoline:
        movq %r12, %rdi
        xorl %ebp, %ebp                 /* the thread's frame chain ends here */
        pushq $0                        /* no return address: a clean end for backtraces */
        jmp thread_main                 /* [[noreturn]] void thread_main(Thread*) */
        .size thread_trampoline, . - thread_trampoline

        .section .note.GNU-stack, "", @progbits
