#!/usr/bin/env python3
"""bench/mpi: VirtIOBus messages and ToroMPI's operations (issue 14), in the VM and beside two
baselines measured in the same run, on the same host CPUs:

  Toro VM       bench/vm/MpiBench: one rank per vCPU over VirtIOBus (QEMU TCG unless --accel kvm)
  host threads  bench/mpi/host_threads.cpp: the same algorithms (src/sched/collectives.h) and the
                same body (bench/mpi/bench_body.h), one host thread per rank over sched::Channel
  Open MPI      bench/mpi/openmpi.c (Debian's openmpi-bin: mpicc, mpirun --oversubscribe, shared
                memory transport 'vader'), Open MPI's own algorithms

  python3 bench/mpi/run.py [--build-dir build] [--ranks 2,4,8] [--runs 3] [--accel tcg|kvm]

What each row is (rank 0's view; cycles of the time stamp counter, the host's under TCG too, so
all columns are host time; µs beside them):
  rtt SIZE        a round trip of SIZE bytes between ranks 0 and 1 (one way is about half)
  stream 64       per 64-byte message, 20000 sent back to back from rank 0 to rank 1
  barrier, reduce 4, allreduce 4|1024, bcast 1024|65536   one operation over all ranks
Comparable: the algorithms in the first two columns are the same code, so their difference is
the emulated CPU (TCG translates every guest instruction) and the wake-ups (the VM's ranks sleep
and are woken by IPIs, the threads yield). Open MPI busy-polls shared memory with its own
algorithms. With more ranks than the host's CPUs (4 and 8 ranks here on 2 CPUs) every column
takes turns on them. Each cell is the median of --runs runs."""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
LINE = re.compile(r"^mpibench (\w+) (\d+)(?: (\d+))?", re.M)
ROWS = [("rtt", s) for s in (16, 64, 256, 1024, 4096, 16384, 65536)] + [
    ("stream", 64), ("barrier", 0), ("reduce", 4), ("allreduce", 4), ("allreduce", 1024), ("bcast", 1024),
    ("bcast", 65536)]


def parse(text):
    mhz, values = None, {}
    for m in LINE.finditer(text):
        if m.group(1) == "tsc_mhz":
            mhz = int(m.group(2))
        else:
            values[(m.group(1), int(m.group(2)))] = int(m.group(3))
    return mhz, values


def median_runs(cmd, runs, timeout):
    mhz, cells = None, {}
    for _ in range(runs):
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        m, values = parse(p.stdout)
        if p.returncode != 0 or not values:
            print(f"  {' '.join(cmd[:4])}...: exit {p.returncode}, no results\n{p.stdout[-800:]}{p.stderr[-800:]}")
            return None, {}
        mhz = mhz or m
        for k, v in values.items():
            cells.setdefault(k, []).append(v)
    return mhz, {k: statistics.median(v) for k, v in cells.items()}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build-dir", default=os.path.join(ROOT, "build"))
    ap.add_argument("--ranks", default="2,4,8")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--accel", default="tcg")
    args = ap.parse_args()
    build = os.path.abspath(args.build_dir)
    subprocess.run(["ninja", "-C", build, "bench/vm/MpiBench/MpiBench.elf", "bench/mpi_host_threads"], check=True,
                   stdout=subprocess.DEVNULL)
    ompi = None
    if shutil.which("mpicc") and shutil.which("mpirun"):
        ompi = os.path.join(build, "bench", "mpi_openmpi")
        subprocess.run(["mpicc", "-O2", os.path.join(HERE, "openmpi.c"), "-o", ompi], check=True)
    else:
        print("Open MPI: mpicc/mpirun not found (tools/setup --bench installs openmpi-bin libopenmpi-dev)")
    toro = [sys.executable, os.path.join(ROOT, "tools", "toro"), "--build-dir", build]
    print(f"bench/mpi: {os.cpu_count()} host CPUs, VM accel {args.accel}, median of {args.runs} runs")
    for n in [int(x) for x in args.ranks.split(",")]:
        cols = []
        cols.append(("Toro VM", *median_runs(toro + ["run", "MpiBench", "--no-build", "--smp", str(n), "--mem", "512",
                                                     "--accel", args.accel, "--timeout", "300"], args.runs, 330)))
        cols.append(("host threads", *median_runs([os.path.join(build, "bench", "mpi_host_threads"), str(n)],
                                                  args.runs, 300)))
        if ompi:
            mpirun = ["mpirun", "--oversubscribe", "-np", str(n), "--mca", "btl", "self,vader"]
            if os.geteuid() == 0:
                mpirun.insert(1, "--allow-run-as-root")
            cols.append(("Open MPI", *median_runs(mpirun + [ompi], args.runs, 300)))
        print(f"\n{n} ranks: cycles (µs)")
        print(f"{'':18}" + "".join(f"{name:>24}" for name, _, _ in cols))
        for key in ROWS:
            if key[0] in ("rtt", "stream") and n > 2 and key != ("rtt", 16):
                continue  # point to point is between ranks 0 and 1: shown at 2 ranks (and rtt 16 for load)
            cells = []
            for name, mhz, values in cols:
                v = values.get(key)
                cells.append("-" if v is None else f"{v:,.0f} ({v / mhz:.1f})" if mhz else f"{v:,.0f}")
            print(f"{key[0] + ' ' + str(key[1]):18}" + "".join(f"{c:>24}" for c in cells))
    return 0


if __name__ == "__main__":
    sys.exit(main())
