#!/usr/bin/env python3
"""bench/ab/pair.py: two servers up at the same time, measured in short alternating bursts, so
that both see the same machine (an A/B for a machine whose speed drifts by ±20 % within minutes,
where booting one after the other compares two different moments).

  python3 bench/ab/pair.py A B [--pairs 24] [--boots 4] [--elf-a ELF] [--elf-b ELF]
  python3 bench/ab/pair.py A B --timeline [-n 2000]

A and B: hello (HelloWorldMicroservice's '/'), sws (StaticWebServer's /small.html from bench/fs's
image: run bench/fs once first), mem-service or mem-threads (bench/vm/MemoryAnswer, the same
answer from memory by a service or by a thread per connection). --elf-a/--elf-b take another
image of the same program (a kernel change against the tree's). The VMs are bench/fs's: TCG,
q35, qboot, virtio-net, user networking, the backlog shim.

Pairs: --boots times, both VMs booted afresh (the first booted in turn) and warmed with 1000
requests at c=10; then for c = 1, 10 and 100 their share of the --pairs pairs of ab runs (-n 500
at c=1, 1000 otherwise), A then B, then B then A, and so on. Printed per c: each one's median
req/s and range, and B/A per pair: median and quartiles. A pair's two runs are about a second
apart, so the ratio sees less of the machine's drift than medians of separate boots do; the
boots average out how one boot of a VM sits on the host (the same image against itself, on one
boot of each, measured 0.88-1.06 at c=10 and one thread's CPU 20 % apart). Run the same image
as A and B (--elf-a X --elf-b X) to see what this machine can resolve today.
Across the c=10 runs, the host CPU per 1000 requests of each: QEMU's I/O thread (slirp, the
devices, and the host's loopback TCP that its sendto runs), its vCPU thread, and ab. With both
host cores busy, req/s follows the inverse of their sum; so "B with A's vCPU" (B's I/O thread and
ab, A's vCPU thread) bounds what B could reach if its guest cost no more than A's: the part of
the gap that is not the guest's to win.

--timeline: instead, each server's frames at its netdev (QEMU's filter-dump) over ab -n N -c 1,
and per step of a connection (the most common sequence of frames) the median time since the
frame before, side by side: where a connection's time goes, the guest's turns (> a frame it
sent) apart from the host's (< a frame it got).
"""
import argparse
import collections
import importlib.util
import os
import resource
import statistics
import struct
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TARGETS = ("hello", "sws", "mem-service", "mem-threads")
GUEST_IP = bytes([10, 0, 2, 15])


def load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def summarize(a, b):
    """Two equal-length lists of req/s, pair by pair: the medians, ranges, and B/A per pair
    (median and quartiles). Pairs where either run measured nothing are left out of the ratio."""
    ratios = [y / x for x, y in zip(a, b) if x and y]
    out = {"a": statistics.median(a), "b": statistics.median(b), "a_range": (min(a), max(a)),
           "b_range": (min(b), max(b)), "pairs": len(ratios)}
    if ratios:
        out["ratio"] = statistics.median(ratios)
        q = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else [ratios[0]] * 3
        out["q1"], out["q3"] = q[0], q[2]
    return out


def tcp_frames(data):
    """(seconds, client port, step) for every IPv4/TCP frame of a pcap; a step is '>' for a frame
    the guest sent, '<' for one it got, the flags (F S R P A) and the payload's length if any."""
    off = 24
    while off + 16 <= len(data):
        sec, usec, incl, _ = struct.unpack("<IIII", data[off:off + 16])
        p = data[off + 16:off + 16 + incl]
        off += 16 + incl
        if len(p) < 54 or p[12:14] != b"\x08\x00" or p[23] != 6:
            continue
        ihl = (p[14] & 15) * 4
        t = 14 + ihl
        if len(p) < t + 20:
            continue
        sport, dport = struct.unpack(">HH", p[t:t + 4])
        flags = p[t + 13]
        payload = struct.unpack(">H", p[16:18])[0] - ihl - (p[t + 12] >> 4) * 4
        out = p[26:30] == GUEST_IP
        name = "".join(c for c, bit in zip("FSRPA", (1, 2, 4, 8, 16)) if flags & bit)
        yield sec + usec / 1e6, dport if out else sport, (">" if out else "<") + name + (str(payload) if payload > 0 else "")


def timeline(frames, skip=50):
    """The connections (from the client's SYN) of the most common shape, the first `skip` left
    out: (shape, how many, total, per step the median microseconds since the step before, the
    median from one SYN to the next)."""
    conns = collections.OrderedDict()
    for t, port, step in frames:
        if step == "<S":
            conns[port] = []
        if port in conns:
            conns[port].append((t, step))
    if not conns:
        return None
    shapes = collections.Counter(tuple(s for _, s in v) for v in conns.values())
    shape, count = shapes.most_common(1)[0]
    chosen = [v for v in conns.values() if tuple(s for _, s in v) == shape][skip:] or \
        [v for v in conns.values() if tuple(s for _, s in v) == shape]
    gaps = [0.0] + [statistics.median((v[i][0] - v[i - 1][0]) * 1e6 for v in chosen) for i in range(1, len(shape))]
    firsts = [v[0][0] for v in conns.values()]
    syn_to_syn = statistics.median((b - a) * 1e6 for a, b in zip(firsts, firsts[1:])) if len(firsts) > 1 else None
    return {"shape": shape, "count": count, "total": len(conns), "gaps_us": gaps, "syn_to_syn_us": syn_to_syn}


def make_target(fs, kind, elf, outdir, tag):
    http = fs.http
    build = http.ARGS_BUILD_DIR[0]
    if kind == "hello":
        t = http.Toro(outdir, False, elf or os.path.join(build, "apps", "HelloWorldMicroservice",
                                                         "HelloWorldMicroservice.elf"), "virtio", 256)
        path = "/"
    elif kind == "sws":
        t = fs.StaticWebServer(outdir, False, elf or os.path.join(build, "apps", "StaticWebServer", "StaticWebServer.elf"),
                               os.path.join(build, "bench-fs", "site.img"), 256)
        path = "/small.html"
    else:
        t = fs.MemoryAnswer(outdir, False, elf or os.path.join(build, "bench", "vm", "MemoryAnswer", "MemoryAnswer.elf"),
                            256, kind == "mem-threads")
        path = "/"
    t.name = f"{kind}-{tag}"  # its console log's name: two of one kind do not share it
    return t, path


CONC = {1: 500, 10: 1000, 100: 1000}  # connections: requests per ab run


def rps(http, port, n, c, path):
    return http.ab_one(port, n, c, 10, 120, path).get("rps") or 0.0


def qemu_ticks(pid):
    """(I/O thread, vCPU threads) utime + stime ticks of a QEMU: the main thread is the I/O
    thread, the others are its vCPU (and idle helper) threads."""
    io = vcpu = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        ticks = int(fields[11]) + int(fields[12])
        if int(tid) == pid:
            io += ticks
        else:
            vcpu += ticks
    return io, vcpu


def measured_rps(http, t, n, c, path, cpu):
    """One ab run; adds its QEMU's thread ticks and ab's own CPU seconds to cpu (a dict)."""
    q0, r0 = qemu_ticks(t.proc.pid), resource.getrusage(resource.RUSAGE_CHILDREN)
    r = rps(http, t.ports[0], n, c, path)
    q1, r1 = qemu_ticks(t.proc.pid), resource.getrusage(resource.RUSAGE_CHILDREN)
    hz = os.sysconf("SC_CLK_TCK")
    cpu["io"] = cpu.get("io", 0) + (q1[0] - q0[0]) / hz
    cpu["vcpu"] = cpu.get("vcpu", 0) + (q1[1] - q0[1]) / hz
    cpu["ab"] = cpu.get("ab", 0) + (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    cpu["requests"] = cpu.get("requests", 0) + (n if r else 0)
    return r


def cpu_per_1000(cpu):
    """ms per 1000 requests of each part, and their total."""
    k = 1e6 / cpu["requests"] if cpu.get("requests") else 0
    out = {x: cpu.get(x, 0) * k for x in ("io", "vcpu", "ab")}
    out["total"] = sum(out.values())
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("a", choices=TARGETS)
    p.add_argument("b", choices=TARGETS)
    p.add_argument("--elf-a")
    p.add_argument("--elf-b")
    p.add_argument("--pairs", type=int, default=24)
    p.add_argument("--boots", type=int, default=4, help="fresh VMs this many times, the pairs shared out")
    p.add_argument("--timeline", action="store_true")
    p.add_argument("-n", type=int, default=2000, help="--timeline: requests recorded")
    p.add_argument("--build-dir", default=os.path.join(ROOT, "build"))
    args = p.parse_args()
    if args.boots < 1 or args.pairs < args.boots:
        p.error("--boots must be at least 1 and at most --pairs")
    fs = load("bench_fs", os.path.join(ROOT, "bench", "fs", "run.py"))
    http = fs.http
    outdir = fs.borrowed_by(args.build_dir, "bench-ab")
    a, path_a = make_target(fs, args.a, args.elf_a, outdir, "a")
    b, path_b = make_target(fs, args.b, args.elf_b, outdir, "b")
    label_a, label_b = f"A={args.a}", f"B={args.b}"
    try:
        if args.timeline:
            return run_timeline(http, [(a, path_a, label_a), (b, path_b, label_b)], outdir, args.n)
        print(f"{label_a} {args.elf_a or ''}, {label_b} {args.elf_b or ''}; {args.pairs} pairs per c over {args.boots} "
              "boots of both, ab -n 500 at c=1, 1000 otherwise", flush=True)
        cpu = {"a": {}, "b": {}}
        runs = {c: ([], []) for c in CONC}
        for boot in range(args.boots):
            # A fresh pair of VMs, the first booted in turn: one boot's placement on the host
            # (which the same image measured against itself shows: up to 20 % in a thread's CPU)
            # is averaged over the boots, not taken for the images' difference.
            for t in ((a, b) if boot % 2 == 0 else (b, a)):
                if not t.start(60):
                    print(f"{t.name}: no answer (see {outdir}/{t.name}.log)")
                    return 1
            rps(http, a.ports[0], 1000, 10, path_a)
            rps(http, b.ports[0], 1000, 10, path_b)
            share = args.pairs // args.boots + (1 if boot < args.pairs % args.boots else 0)
            for c, n in CONC.items():
                ra, rb = runs[c]
                for i in range(share):
                    order = [(a, path_a, ra, cpu["a"]), (b, path_b, rb, cpu["b"])]
                    for t, path, into, used in (order if (len(ra) + i) % 2 == 0 else order[::-1]):
                        into.append(measured_rps(http, t, n, c, path, used if c == 10 else {}))
            for t in (a, b):
                t.stop()
        for c, (ra, rb) in runs.items():
            s = summarize(ra, rb)
            line = (f"c={c}: A median {s['a']:.0f} ({s['a_range'][0]:.0f}-{s['a_range'][1]:.0f}), "
                    f"B median {s['b']:.0f} ({s['b_range'][0]:.0f}-{s['b_range'][1]:.0f})")
            if "ratio" in s:
                line += f"; B/A per pair: median {s['ratio']:.3f}, quartiles {s['q1']:.3f}-{s['q3']:.3f} ({s['pairs']} pairs)"
            print(line, flush=True)
        ca, cb = cpu_per_1000(cpu["a"]), cpu_per_1000(cpu["b"])
        print("host CPU at c=10, ms per 1000 requests: I/O thread, vCPU thread, ab, total")
        for label, x in ((label_a, ca), (label_b, cb)):
            print(f"  {label:16} {x['io']:6.0f} {x['vcpu']:6.0f} {x['ab']:6.0f} {x['total']:6.0f}")
        if ca["total"] and cb["total"]:
            bound = cb["io"] + ca["vcpu"] + cb["ab"]
            print(f"  B with A's vCPU  {cb['io']:6.0f} {ca['vcpu']:6.0f} {cb['ab']:6.0f} {bound:6.0f}   "
                  f"-> B/A at most {ca['total'] / bound:.2f} (B/A by CPU as measured: {ca['total'] / cb['total']:.2f})")
        return 0
    finally:
        for t in (a, b):
            t.stop()
        http.cleanup()


def run_timeline(http, targets, outdir, n):
    results = []
    for t, path, label in targets:
        pcap = os.path.join(outdir, f"{t.name}.pcap")
        if os.path.exists(pcap):
            os.remove(pcap)
        t.extra_qemu = ["-object", f"filter-dump,id=dump0,netdev=n0,file={pcap}"]
        if not t.start(60):
            print(f"{t.name}: no answer (see {outdir}/{t.name}.log)")
            return 1
        try:
            rps(http, t.ports[0], 500, 1, path)
            r = rps(http, t.ports[0], n, 1, path)
        finally:
            t.stop()
        with open(pcap, "rb") as f:
            tl = timeline(tcp_frames(f.read()))
        if tl is None:
            print(f"{t.name}: no connection in {pcap}")
            return 1
        results.append((label, r, tl))
    print(f"ab -c 1 -n {n} (and the 500 before it), frames at the netdev; per step the median microseconds since the "
          "step before ('>' the guest sent, '<' it got)")
    for label, r, tl in results:
        print(f"\n{label}: {r:.0f} req/s; {tl['count']} of {tl['total']} connections of this shape; "
              f"from one SYN to the next: median {tl['syn_to_syn_us']:.0f} us")
        at = 0.0
        for step, gap in zip(tl["shape"], tl["gaps_us"]):
            at += gap
            print(f"  {step:10} +{gap:6.0f}   at {at:6.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
