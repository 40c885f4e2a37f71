#!/usr/bin/env python3
"""bench/soak: HelloWorldMicroservice under steady load for a long time (issue #10), to see
whether anything grows: the guest's heap in use and TCP state at the start and at the end, and
requests/s, failures and the slowest answer in every slice of the run.

  python3 bench/soak/run.py [--build-dir build] [--minutes 30] [--concurrency 100] [--mem 128]
                            [--nic virtio|e1000] [--slice 60]

The load is tests/vm/loadgen (every answer checked byte for byte), one run per --slice seconds
back to back, through QEMU's user networking and a forwarded port; the guest prints its memory
every 10 s (kernel parameter netstat=10). Not a test: it takes the time it is given."""
import argparse
import os
import re
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "vm"))
import harness  # noqa: E402

NETSTAT = re.compile(r"netstat: Core#0 heap in use (\d+) free (\d+); tcp (\d+) of (\d+) bytes \(buffers (\d+)\), "
                     r"(\d+) connections, (\d+) orphans, (\d+) time-wait")


def netstat(text):
    m = list(NETSTAT.finditer(text))
    return m[-1] if m else None


def describe(m):
    return (f"heap in use {int(m[1]):,} B, free {int(m[2]):,} B; TCP {int(m[3]):,} of {int(m[4]):,} B, "
            f"{m[6]} connections ({m[7]} orphans, {m[8]} TIME-WAIT)")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--build-dir", default=os.path.join(ROOT, "build"))
    p.add_argument("--minutes", type=float, default=30)
    p.add_argument("--concurrency", type=int, default=100)
    p.add_argument("--mem", type=int, default=128)
    p.add_argument("--nic", default="virtio", choices=["virtio", "e1000"])
    p.add_argument("--slice", type=float, default=60, help="seconds per loadgen run")
    args = p.parse_args()
    build = os.path.abspath(args.build_dir)
    subprocess.run(["ninja", "-C", build], check=True, stdout=subprocess.DEVNULL)
    loadgen = os.path.join(build, "tests", "vm", "loadgen")
    elf = os.path.join(build, "apps", "HelloWorldMicroservice", "HelloWorldMicroservice.elf")
    port = harness.free_port()
    card = "e1000" if args.nic == "e1000" else "virtionet"
    vm = harness.Vm.toro(os.path.join(ROOT, "tools", "toro"), build, "HelloWorldMicroservice", elf,
                         ["--nic", args.nic, "--mem", str(args.mem), "--fwd", f"tcp:{port}:8080",
                          "--timeout", str(int(args.minutes * 60 + 300)), "--append", f"10.0.2.15,{card},netstat=10"])
    text = vm.text
    try:
        vm.wait_for("listening on port 8080", 60)
        for _ in range(50):
            try:
                if harness.http_get("127.0.0.1", port, "/warm", 10) == harness.HELLO:
                    break
            except OSError:
                time.sleep(0.1)
        time.sleep(11)  # a netstat line after the warm-up
        start = netstat(text())
        print(f"start: {describe(start)}", flush=True)
        totals = {"requests": 0, "ok": 0, "failed": 0}
        worst_latency = worst_gap = 0.0
        slices = []
        began = time.monotonic()
        while time.monotonic() - began < args.minutes * 60:
            # Requests for about one slice at the rate of the previous one.
            rate = slices[-1][1] if slices else 3000
            r, printed = harness.run_loadgen(loadgen, port, max(1000, int(rate * args.slice)), args.concurrency,
                                             timeout=args.slice * 20)
            if r is None:
                print("loadgen: " + printed, flush=True)
                break
            for k in totals:
                totals[k] += r[k]
            worst_latency = max(worst_latency, r["longest_ms"])
            worst_gap = max(worst_gap, r["max_gap_ms"])
            slices.append((time.monotonic() - began, r["rps"], r["failed"], r["longest_ms"]))
            ns = netstat(text())
            print(f"{slices[-1][0] / 60:5.1f} min: {r['rps']} req/s, {r['failed']} failed, slowest "
                  f"{r['longest_ms']:.0f} ms; guest {describe(ns) if ns else '?'}", flush=True)
        elapsed = time.monotonic() - began
        time.sleep(75)  # the last TIME-WAIT records expire (2*MSL = 60 s)
        end = netstat(text())
        rates = [s[1] for s in slices]
        print("\n== bench/soak ==")
        print(f"HelloWorldMicroservice, {args.nic}, -m {args.mem}, c={args.concurrency}, {elapsed / 60:.1f} minutes, "
              f"{len(slices)} slices of about {args.slice:.0f} s")
        print(f"requests {totals['requests']:,}, answered exactly {totals['ok']:,}, failed {totals['failed']:,}; "
              f"req/s per slice min {min(rates)} median {sorted(rates)[len(rates) // 2]} max {max(rates)}; "
              f"slowest answer {worst_latency:.0f} ms; longest time without an answer {worst_gap:.0f} ms")
        print(f"guest at the start: {describe(start)}")
        print(f"guest at the end (75 s after the load): {describe(end)}")
        print(f"heap in use: {int(end[1]) - int(start[1]):+,} bytes from start to end")
        faults = [w for w in ("Exception", "Panic", "killed by the exception") if w in text()]
        print("no fault or panic" if not faults else f"FAULT: {faults}")
        return 0 if not faults else 1
    finally:
        vm.stop()


if __name__ == "__main__":
    sys.exit(main())
