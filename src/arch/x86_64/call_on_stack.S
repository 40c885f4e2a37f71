/* void arch_call_on_stack(void* arg, int (*fn)(void*), void* stack_top) -> int
 * Runs fn(arg) on a new stack and returns its result on the old one. The new stack starts with a
 * zero return address and RBP = 0 so backtraces end cleanly at fn. */
        .code64
        .section .text
        .globl arch_call_on_stack
        .type arch_call_on_stack, @function
arch_call_on_stack:
        pushq %rbp
        movq %rsp, %rbp
        pushq %rbx
        movq %rsp, %rbx                 /* old stack, callee-saved */
        andq $~0xF, %rdx
        movq %rdx, %rsp
        pushq $0                        /* fake return address: end of the chain */
        pushq $0                        /* fake saved RBP */
        movq %rsp, %rbp
        call *%rsi
        movq %rbx, %rsp
        popq %rbx
        popq %rbp
        ret
        .size arch_call_on_stack, . - arch_call_on_stack

        .section .note.GNU-stack, "", @progbits
