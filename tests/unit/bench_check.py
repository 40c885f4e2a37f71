#!/usr/bin/env python3
"""What the benchmarks' verdicts rest on, in bench/http/run.py (bench/fs uses the same):

- the count of exits per request (count_trace) from QEMU trace lines: every guest MMIO or
  I/O-port access, every interrupt delivered and every virtqueue kick count once, a device's own
  write (an MSI, cpu -1) not at all. A kick QEMU took through an ioeventfd is traced only as
  virtio_queue_notify; one it took through the memory ops (ioeventfd=off) as a write to the
  device's region and then virtio_queue_notify: both are one exit.
- the median of --rounds (median_cells): a real run, not an average; a round without an answer
  left out of the median but counted; failures added up; of two middle runs the lower for Toro,
  the higher for a baseline.
- bench/fs's report: the memory answers' '/' in the small-file rows beside StaticWebServer's
  /small.html, and the decomposition of StaticWebServer's ratio to HelloWorldMicroservice, each
  step its own pair of targets.
- bench/ab/pair.py: the ratio of a pair is B/A of that pair (not of the medians), and a pair with
  a run that measured nothing is left out; the timeline of a connection: its frames in the
  order seen, each step's median gap, connections of another shape and the first ones left out.

Usage: bench_check.py SOURCE_ROOT"""
import importlib.util
import os
import sys

MSI = "memory_region_ops_write cpu -1 mr 0x1 addr 0xfee00000 value 0x0 size 4 name 'apic-msi'"
IRQ = "apic_deliver_irq dest 0 dest_mode 0 delivery_mode 0 vector 0 trigger_mode 0"
EOI = "memory_region_ops_write cpu 0 mr 0x1 addr 0xfee000b0 value 0x0 size 4 name 'apic-msi'"
NOTIFY = "virtio_notify vdev 0x2 vq 0x3"
KICK = "virtio_queue_notify vdev 0x2 n 1 vq 0x4"
KICK_WRITE = "memory_region_ops_write cpu 0 mr 0x5 addr 0xc030 value 0x1 size 2 name 'virtio-pci'"
ISR_READ = "memory_region_ops_read cpu 0 mr 0x5 addr 0xc033 value 0x1 size 1 name 'virtio-pci'"


def main():
    root = sys.argv[1]
    spec = importlib.util.spec_from_file_location("bench_http", os.path.join(root, "bench", "http", "run.py"))
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    cases = [
        ("an interrupt (the MSI write is the device's) and its EOI", [MSI, IRQ, NOTIFY, EOI], 2),
        ("a kick through an ioeventfd", [KICK], 1),
        ("a kick through the memory ops (ioeventfd=off)", [KICK_WRITE, KICK], 1),
        ("a kick through an ioeventfd after an EOI", [EOI, KICK], 2),
        ("an ISR read, then a kick through an ioeventfd", [ISR_READ, KICK], 2),
        ("two kicks, the second through an ioeventfd", [KICK_WRITE, KICK, KICK], 2),
        ("a timestamped line (-trace with the pid@time prefix)", ["1234@1.5:" + KICK], 1),
    ]
    failed = 0
    for what, lines, want in cases:
        got = bench.count_trace(lines).get("exits", 0)
        ok = got == want
        failed += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {what}: {got} exits (want {want})")

    def cell(rps, **more):
        return dict({"c": 10, "rps": rps, "failed": 0, "stalled": 0}, **more)
    medians = [
        ("three rounds: the middle run", [[cell(10)], [cell(30)], [cell(20)]], False, {"rps": 20}),
        ("a round without an answer: left out, counted", [[cell(10)], [cell(0, stalled=5)], [cell(30)]], False,
         {"rps": 10, "stalled": 5, "rounds_without_answer": 1}),
        ("two middle runs, Toro: the lower", [[cell(10)], [cell(30)]], False, {"rps": 10}),
        ("two middle runs, a baseline: the higher", [[cell(10)], [cell(30)]], True, {"rps": 30}),
        ("failures of every round added up", [[cell(10, failed=1)], [cell(20, failed=2)], [cell(30)]], False,
         {"rps": 20, "failed": 3}),
        ("wrk's slowest answer: the largest of all rounds", [[cell(10, max_ms=5)], [cell(20, max_ms=900)],
                                                             [cell(30, max_ms=7)]], False, {"rps": 20, "max_ms": 900}),
    ]
    for what, rounds, high, want in medians:
        got = bench.median_cells(rounds, high)
        ok = len(got) == 1 and all(got[0].get(k) == v for k, v in want.items()) and \
            ("rounds_without_answer" in want or "rounds_without_answer" not in got[0])
        failed += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {what}: {got}")

    failed += check_fs_report(root)
    failed += check_pair(root)
    return 1 if failed else 0


def check_fs_report(root):
    spec = importlib.util.spec_from_file_location("bench_fs", os.path.join(root, "bench", "fs", "run.py"))
    fs = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fs)

    def served(name, rps):
        return {name: {"ab": [{"c": 10, "rps": rps, "failed": 0, "non2xx": 0, "stalled": 0}], "wrk": []}}
    res = {"toro-fs": served("small", 6000), "toro-hello": served("hello", 10000),
           "mem-service": served("answer", 7000), "mem-threads": served("answer", 6300)}
    args = type("Args", (), {"ab_conc": [10], "big_ab_conc": [10], "wrk_conc": [], "mem": 256})()
    text = fs.report(res, {}, args)
    want = ["/small.html ab c=10 req/s".ljust(34) + "".join(str(x).rjust(13) for x in (6000, 10000, 7000, 6300)),
            "4 KiB more to send (mem-service / toro-hello): ab c=10 0.70x",
            "a thread per connection (mem-threads / mem-service): ab c=10 0.90x",
            "the files (toro-fs / mem-threads): ab c=10 0.95x",
            "small files >= 80 % of HelloWorldMicroservice's req/s: ab c=10 0.60x"]
    failed = 0
    for line in want:
        ok = any(line in x for x in text.splitlines())
        failed += not ok
        print(f"{'ok  ' if ok else 'FAIL'} bench/fs report: {line!r}")
    if failed:
        print(text)
    return failed


def frame(out, sport, dport, flags, payload):
    """An Ethernet/IPv4/TCP frame between the guest (10.0.2.15) and the host (10.0.2.2)."""
    import struct
    guest, host = bytes([10, 0, 2, 15]), bytes([10, 0, 2, 2])
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 40 + payload, 0, 0, 64, 6, 0, guest if out else host,
                     host if out else guest)
    tcp = struct.pack(">HHIIBBHHH", sport, dport, 0, 0, 5 << 4, flags, 1000, 0, 0)
    return b"\0" * 12 + b"\x08\x00" + ip + tcp + b"x" * payload


def pcap(frames):
    import struct
    out = struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1)
    for usec, data in frames:
        out += struct.pack("<IIII", usec // 1000000, usec % 1000000, len(data), len(data)) + data
    return out


def check_pair(root):
    spec = importlib.util.spec_from_file_location("bench_pair", os.path.join(root, "bench", "ab", "pair.py"))
    pair = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(pair)
    failed = 0

    def verdict(ok, what, got):
        print(f"{'ok  ' if ok else 'FAIL'} bench/ab/pair.py: {what}: {got}")
        return not ok
    # B/A of each pair: 3.0, 0.5, 1.0 -> median 1.0, where the medians' ratio would say 30/20 = 1.5
    # (without the fourth pair, which measured nothing: left out of the ratio, not of the medians).
    s = pair.summarize([10, 20, 30, 25], [30, 10, 30, 0])
    failed += verdict(s["ratio"] == 1.0 and s["pairs"] == 3 and s["a"] == 22.5 and s["b"] == 20,
                      "per-pair ratio, a pair without a run left out", s)
    s = pair.summarize([100, 100, 100, 100], [50, 60, 70, 80])
    failed += verdict(abs(s["ratio"] - 0.65) < 1e-9 and s["q1"] < s["ratio"] < s["q3"], "quartiles around the median", s)
    # Three connections of one shape (SYN in, SYN-ACK out, 5 bytes in, answer and FIN out), one
    # of another (a reset); the gaps of the second step: 10, 30, 20 us -> median 20.
    frames = []
    for k, (syn, sa_gap) in enumerate([(0, 10), (1000, 30), (2000, 20)]):
        port = 40000 + k
        frames += [(syn, frame(False, port, 80, 2, 0)), (syn + sa_gap, frame(True, 80, port, 18, 0)),
                   (syn + sa_gap + 5, frame(False, port, 80, 24, 5)), (syn + sa_gap + 105, frame(True, 80, port, 25, 7))]
    frames += [(3000, frame(False, 50000, 80, 2, 0)), (3001, frame(True, 80, 50000, 4, 0))]
    tl = pair.timeline(pair.tcp_frames(pcap(frames)), skip=0)
    want = ("<S", ">SA", "<PA5", ">FPA7")
    failed += verdict(tl is not None and tl["shape"] == want and tl["count"] == 3 and tl["total"] == 4
                      and [round(g, 6) for g in tl["gaps_us"]] == [0, 20, 5, 100] and round(tl["syn_to_syn_us"]) == 1000,
                      "a connection's steps, their median gaps, another shape left out", tl)
    tl = pair.timeline(pair.tcp_frames(pcap(frames)), skip=1)
    failed += verdict(tl is not None and round(tl["gaps_us"][1], 6) == 25, "the first connections skipped", tl)
    return failed


if __name__ == "__main__":
    sys.exit(main())
