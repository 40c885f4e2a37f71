#!/usr/bin/env python3
"""What bench/insns/run.py's profile rests on: an executed block counts the instructions from its
start to the first that ends a TCG block (a jump, call, return, I/O, a `rep` prefix: a
`rep movs` counts once per iteration), it is named by the function that holds its start, and the
callers of a function are the functions that ran just before it was entered (its own blocks in
between, such as a rep's iterations, do not change the caller).

Usage: insns_check.py SOURCE_ROOT"""
import importlib.util
import os
import sys


def main():
    root = sys.argv[1]
    spec = importlib.util.spec_from_file_location("bench_insns", os.path.join(root, "bench", "insns", "run.py"))
    insns = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(insns)
    image = insns.Image.__new__(insns.Image)
    # Two functions: caller at 0x100 (3 instructions, then a call), memcpy at 0x200 (2, then rep).
    image.syms = [(0x100, "caller"), (0x200, "memcpy"), (0x300, "after")]
    image.sym_addrs = [a for a, _ in image.syms]
    ops = {0x100: "mov", 0x104: "add", 0x108: "call", 0x10d: "ret",
           0x200: "mov", 0x203: "shr", 0x207: "rep", 0x20a: "rep", 0x20d: "ret"}
    image.insns = [(a, op.startswith(insns.ENDS_PREFIXES) or op in insns.ENDS) for a, op in sorted(ops.items())]
    image.insn_addrs = [a for a, _ in image.insns]
    image.sizes = {}
    failures = 0

    def check(what, got, want):
        nonlocal failures
        ok = got == want
        failures += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {what}: {got}" + ("" if ok else f" (want {want})"))

    check("a block runs to its first call", image.block_size(0x100), 3)
    check("a block runs to its first rep", image.block_size(0x200), 3)
    check("a rep iteration is a block of one", image.block_size(0x207), 1)
    check("a block starting at a return", image.block_size(0x10d), 1)
    line = "Trace 0: 0x7f0000 [00000000/{:016x}/00000000/ff020000] \n"
    # caller's block, memcpy's entry, three iterations of its first rep, its second rep once,
    # then back in caller (the return block), and memcpy entered again from caller.
    trace = "".join(line.format(pc) for pc in [0x100, 0x200, 0x207, 0x207, 0x207, 0x20a, 0x10d, 0x200])
    total, blocks, by_function, callers = insns.profile(image, trace, "memcpy")
    check("instructions", total, 3 + 3 + 1 + 1 + 1 + 1 + 1 + 3)
    check("blocks", blocks, 8)
    check("memcpy's instructions", by_function["memcpy"], 3 + 1 + 1 + 1 + 1 + 3)
    check("caller's instructions", by_function["caller"], 3 + 1)
    check("memcpy's block executions by caller", callers["caller"], 6)
    check("nothing else entered memcpy", sorted(callers), ["caller"])
    print("all passed" if failures == 0 else f"{failures} failed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
