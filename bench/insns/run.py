#!/usr/bin/env python3
"""bench/insns: where the guest's instructions go per HTTP request, by function (a profile of
the kernel and the app under QEMU's TCG, where the vCPU thread's time follows the guest's
instruction count closely, and exits aside).

  python3 bench/insns/run.py [--app hello|sws] [--elf ELF] [-n 200] [-c 1] [--top 30] [--callers memcpy]

One VM (bench/http's HelloWorldMicroservice, or StaticWebServer's /small.html from bench/fs's
image: run bench/fs once first) started with `-d nochain` (every translated block entered from
QEMU's loop, so each one can be logged); after a warm-up of 50 requests the monitor turns on
`log exec` for exactly the ab run of N requests at C connections, then off. Every executed
block in that window is counted as the instructions from its start to the first control transfer
(jump, call, return, hlt, I/O, MSR, a `rep`/`lock` prefix), read from the ELF with objdump: TCG
ends its blocks there (and at page ends, which this leaves out). A `rep movs` or `rep stos` is
one block per iteration, so memcpy and memset count their iterations. Prints the instructions and
blocks per request and the functions by share; --callers SYMBOL lists who entered SYMBOL (block
executions of SYMBOL by the function that ran just before).

Numbers in bench/RESULTS.md ("Guest instructions per request") came from this procedure.
"""
import argparse
import bisect
import collections
import importlib.util
import os
import re
import socket
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# Instructions after which TCG ends a translated block (mnemonics as objdump prints them).
ENDS_PREFIXES = ("j", "call", "ret", "lret", "iret", "rep", "lock", "sysret", "syscall")
ENDS = {"hlt", "sti", "cli", "wrmsr", "rdmsr", "out", "in", "int3", "ud2", "pause"}
TRACE = re.compile(r"Trace \d+: \S+ \[[0-9a-f]+/([0-9a-f]+)/")


def load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


class Image:
    """The ELF's functions and its instructions, for naming and sizing executed blocks."""

    def __init__(self, elf):
        self.syms = []
        out = subprocess.run(["nm", "-n", "-C", elf], capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            p = line.split(None, 2)
            if len(p) == 3 and p[1] in "tTwW":
                self.syms.append((int(p[0], 16), p[2]))
        self.sym_addrs = [a for a, _ in self.syms]
        self.insns = []  # (address, ends a block)
        out = subprocess.run(["objdump", "-d", "--no-show-raw-insn", elf], capture_output=True, text=True,
                             check=True).stdout
        for line in out.splitlines():
            m = re.match(r"\s*([0-9a-f]+):\s+(\S+)", line)
            if m:
                op = m.group(2)
                self.insns.append((int(m.group(1), 16), op.startswith(ENDS_PREFIXES) or op in ENDS))
        self.insn_addrs = [a for a, _ in self.insns]
        self.sizes = {}

    def name(self, pc):
        i = bisect.bisect_right(self.sym_addrs, pc) - 1
        return self.syms[i][1] if i >= 0 else "?"

    def block_size(self, pc):
        """Instructions from pc to the first that ends a block (at most TCG's 512)."""
        if pc not in self.sizes:
            i, n = bisect.bisect_left(self.insn_addrs, pc), 0
            while i < len(self.insns) and n < 512:
                n += 1
                if self.insns[i][1]:
                    break
                i += 1
            self.sizes[pc] = max(n, 1)
        return self.sizes[pc]


def profile(image, log_text, callers_of=None):
    """(instructions, blocks, Counter of instructions by function, Counter of callers_of's
    block executions by the function that ran before it)."""
    by_function, callers = collections.Counter(), collections.Counter()
    total = blocks = 0
    previous, caller = None, None
    for m in TRACE.finditer(log_text):
        pc = int(m.group(1), 16)
        name = image.name(pc)
        n = image.block_size(pc)
        by_function[name] += n
        total += n
        blocks += 1
        if callers_of is not None and name == callers_of:
            if previous != callers_of:
                caller = previous
            callers[caller] += 1
        previous = name
    return total, blocks, by_function, callers


class Monitor:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX)
        for _ in range(50):
            try:
                self.s.connect(path)
                break
            except OSError:
                time.sleep(0.1)
        self.s.settimeout(10)
        self.cmd("")

    def cmd(self, line):
        self.s.sendall(line.encode() + b"\n")
        buf = b""
        while b"(qemu)" not in buf[-16:]:
            chunk = self.s.recv(65536)
            if not chunk:
                raise RuntimeError("QEMU's monitor closed")
            buf += chunk
        return buf.decode(errors="replace")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--app", choices=["hello", "sws"], default="hello")
    p.add_argument("--elf", help="the image (default: the build folder's)")
    p.add_argument("-n", type=int, default=200, help="requests in the logged window")
    p.add_argument("-c", type=int, default=1, help="ab's concurrency")
    p.add_argument("--top", type=int, default=30)
    p.add_argument("--callers", metavar="SYMBOL", help="also list who entered this function (e.g. memcpy)")
    p.add_argument("--build-dir", default=os.path.join(ROOT, "build"))
    args = p.parse_args()
    if args.n < 1 or args.c < 1:
        p.error("-n and -c must be at least 1")
    fs = load("bench_fs", os.path.join(ROOT, "bench", "fs", "run.py"))
    http = fs.http
    outdir = fs.borrowed_by(args.build_dir, "bench-insns")
    if args.app == "sws":
        elf = args.elf or os.path.join(args.build_dir, "apps", "StaticWebServer", "StaticWebServer.elf")
        t = fs.StaticWebServer(outdir, False, elf, os.path.join(args.build_dir, "bench-fs", "site.img"), 256)
        path = "/small.html"
    else:
        elf = args.elf or os.path.join(args.build_dir, "apps", "HelloWorldMicroservice", "HelloWorldMicroservice.elf")
        t = http.Toro(outdir, False, elf, "virtio", 256)
        t.machine = "q35"
        path = "/"
    log, mon = os.path.join(outdir, "exec.log"), os.path.join(outdir, "monitor.sock")
    for f in (log, mon):
        if os.path.exists(f):
            os.unlink(f)
    t.extra_qemu = ["-d", "nochain", "-D", log, "-monitor", f"unix:{mon},server,nowait"]
    if not t.start(120):
        sys.exit(f"bench/insns: the VM did not answer (see {outdir})")
    try:
        m = Monitor(mon)
        http.ab_one(t.ports[0], 50, args.c, 10, 120, path)  # warm: ARP, caches, buffers
        start = os.path.getsize(log)
        m.cmd("log exec,nochain")
        r = http.ab_one(t.ports[0], args.n, args.c, 10, 600, path)
        m.cmd("log nochain")
        end = os.path.getsize(log)
    finally:
        t.stop()
    if r.get("done") != args.n or r.get("failed") or r.get("non2xx"):
        sys.exit(f"bench/insns: ab did not complete {args.n} good answers: {r}")
    with open(log, errors="replace") as f:
        f.seek(start)
        text = f.read(end - start)
    os.unlink(log)  # gigabytes for a long window
    image = Image(elf)
    total, blocks, by_function, callers = profile(image, text, args.callers)
    print(f"bench/insns: {os.path.basename(elf)}, {path}, ab -n {args.n} -c {args.c} ({r.get('rps')} req/s under the log)")
    print(f"guest instructions per request: {total / args.n:.0f} ({blocks / args.n:.0f} translated blocks)")
    for name, n in by_function.most_common(args.top):
        print(f"{n / args.n:9.0f} {n * 100 / total:5.1f}%  {name[:110]}")
    if args.callers:
        print(f"\nblock executions of {args.callers} per request, by the function that entered it:")
        for name, n in callers.most_common(12):
            print(f"{n / args.n:9.0f}  {str(name)[:110]}")


if __name__ == "__main__":
    main()
