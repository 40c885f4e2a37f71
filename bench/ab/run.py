#!/usr/bin/env python3
"""bench/ab: two images of one program against each other, in alternation (an A/B of a kernel
change), with QEMU's CPU per thread. For each round and each image in turn: one fresh VM,
ab -n 1000 -c 10 to warm it, then ab at 1, 10 and 100 connections; across the c=10 run, the
utime + stime of each QEMU thread (the I/O thread, which runs slirp and the devices, and the
vCPU thread) per 1000 requests, from /proc/PID/task/*/stat.

  python3 bench/ab/run.py OLD.elf NEW.elf [--app hello|sws] [--nic virtio|e1000] [--rounds 3] [--machine q35|pc]
                         [--append-new PARAMS]

hello: HelloWorldMicroservice's '/' (bench/http's VM); sws: StaticWebServer's /small.html from
bench/fs's image (build/bench-fs/site.img: run bench/fs once first). Copy the two ELFs out of the
build folder before building the other one. --append-new adds kernel parameters to the second
image's boots only (HelloWorldMicroservice), so one image can be measured against itself with a
setting: `bench/ab/run.py X.elf X.elf --append-new busypoll=200`. Numbers in bench/RESULTS.md ("The doorbell left to
the packet thread", "Busy polling the receive ring") came from this procedure.
"""
import argparse
import importlib.util
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def thread_ticks(pid):
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        out[tid] = int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("elfs", nargs=2)
    p.add_argument("--app", choices=["hello", "sws"], default="hello")
    p.add_argument("--nic", choices=["virtio", "e1000"], default="virtio")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--machine", choices=["q35", "pc"], default="q35")
    p.add_argument("--append-new", default="", metavar="PARAMS",
                   help="kernel parameters for the second image's boots (comma list; hello only)")
    p.add_argument("--build-dir", default=os.path.join(ROOT, "build"))
    args = p.parse_args()
    if args.append_new and args.app != "hello":
        p.error("--append-new is for --app hello")
    fs = load("bench_fs", os.path.join(ROOT, "bench", "fs", "run.py"))
    http = fs.http
    http.Toro.machine = args.machine  # StaticWebServer's target is a Toro too
    outdir = fs.borrowed_by(args.build_dir, "bench-ab")
    hz = os.sysconf("SC_CLK_TCK")
    try:
        for k in range(args.rounds):
            for i, elf in enumerate(args.elfs):
                http.TORO_APPEND[0] = "," + args.append_new if i == 1 and args.append_new else ""
                if args.app == "sws":
                    t = fs.StaticWebServer(outdir, False, elf, os.path.join(args.build_dir, "bench-fs", "site.img"), 256)
                    path = "/small.html"
                else:
                    t = http.Toro(outdir, False, elf, args.nic, 256)
                    path = "/"
                if not t.start(60):
                    print(f"round {k + 1} {os.path.basename(elf)}{http.TORO_APPEND[0]}: no answer (see {outdir})")
                    continue
                try:
                    port = t.ports[0]
                    http.ab_one(port, 1000, 10, 10, 60, path)
                    rps = {1: http.ab_one(port, 3000, 1, 10, 120, path).get("rps")}
                    before = thread_ticks(t.proc.pid)
                    rps[10] = http.ab_one(port, 10000, 10, 10, 120, path).get("rps")
                    after = thread_ticks(t.proc.pid)
                    rps[100] = http.ab_one(port, 10000, 100, 10, 120, path).get("rps")
                finally:
                    t.stop()
                cpu = [(after[tid] - before.get(tid, 0)) * 1000 / hz / 10 for tid in sorted(after, key=int)]
                print(f"round {k + 1} {os.path.basename(elf)}{http.TORO_APPEND[0]}: req/s c=1 {http.fmt(rps[1])} c=10 {http.fmt(rps[10])} "
                      f"c=100 {http.fmt(rps[100])}; QEMU threads at c=10, ms per 1000 requests: "
                      + " ".join(f"{c:.0f}" for c in cpu if c >= 1), flush=True)
    finally:
        http.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
