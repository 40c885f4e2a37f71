#!/usr/bin/env python3
"""bench/fs: disks and files (issue #12), StaticWebServer against nginx on the host and a Linux
guest serving the same files, in one run.

  python3 bench/fs/run.py [--build-dir build] [--quick] [--only toro,hello,answer,nginx,linux,disk,mem] [--rounds N]

The site: a folder generated here (small.html 4 KiB, big.html 1 MiB, disk.bin 64 MiB, fixed
pseudo-random contents) made into one partitioned FAT image by tools/diskimage.py. Every VM:
QEMU TCG, `-M q35 -bios qboot.rom` as tools/toro builds it (each device on a line of its own;
--machine pc puts the disk on the card's line), 1 vCPU, the image as a virtio-blk disk
(snapshot=on: nothing is written to it), user networking with a forwarded port (bench/http's
command lines, backlog shim and load generators, imported from bench/http/run.py).

  toro-fs      apps/StaticWebServer (-append 10.0.2.15,virtionet,fat,virtioblk,0,quiet)
  toro-hello   apps/HelloWorldMicroservice, virtio-net (the "80 % of HelloWorldMicroservice" goal)
  mem-service  bench/vm/MemoryAnswer: StaticWebServer's /small.html answer (the same header and
               4096 bytes) from memory, by a network service (HelloWorldMicroservice's model)
  mem-threads  the same with blocking sockets and a thread per connection (StaticWebServer's
               model); with toro-hello and toro-fs they split StaticWebServer's gap to
               HelloWorldMicroservice into its three parts: 4 KiB more to send, a thread per
               connection, the files (the "decomposition" lines of the report)
  nginx-host   nginx on the host, 1 worker, bench/fs/nginx.conf with root = the site folder
  linux-fs     bench/http's Linux guest (Debian's cloud kernel + nginx in an initramfs) with
               virtio_blk and vfat, the image's partition mounted read-only, nginx serving it

HTTP: ab -n N -c C (C = 1, 10, 100 and 1000; failed, non-2xx and stalled requests counted) and
wrk at 1, 10, 100 connections, for /small.html and /big.html (every answer's body is checked once
before the load); before them, requests one at a time for /small.html and /missing.html (a lookup
and a 404, no data read), which tells the disk's share of a request from the rest. In the guest: bench/vm/DiskSpeed (the 64 MiB file in 1 MiB SysReadFile calls,
then 2000 random 4 KiB SysSeekFile + SysReadFile) against the Linux guest's `dd bs=1M` of the same
file after `echo 3 > /proc/sys/vm/drop_caches` and bench/fs/fsbench.c's same random reads
(buffered and O_DIRECT). Memory: the block cache's bound (src/fs/mount.cpp's rule on the core's
memory that DiskSpeed prints) and the smallest -m at which StaticWebServer serves big.html.
Numbers are printed beside their baselines, with the goals' verdicts; results.json and
table.txt go to --out. On a noisy machine `--rounds 3` runs the HTTP targets in turn three times
and keeps each cell's median run (merge_rounds). Everything started runs in its own process group and is killed on exit.
"""
import argparse
import array
import functools
import importlib.util
import json
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HERE = os.path.join(ROOT, "bench", "fs")
sys.path.insert(0, os.path.join(ROOT, "tools"))
import diskimage  # noqa: E402


def _import(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# bench/http/run.py (processes, ab/wrk, the targets, the Linux guest), under a name of its own.
http = _import("bench_http", os.path.join(ROOT, "bench", "http", "run.py"))

# The site: name -> (path, size). small and big are served, disk is DiskSpeed's file.
FILES = {"small": ("/small.html", 4096), "big": ("/big.html", 1 << 20), "disk": ("/disk.bin", 64 << 20)}
# What is requested: the site's files, and HelloWorldMicroservice's "/".
SERVED = {"small": FILES["small"], "big": FILES["big"], "hello": ("/", len(http.BODY)), "answer": ("/", 4096)}
# The targets that answer "/" in the small-file rows, and what they answer.
OWN_ANSWER = {"toro-hello": "hello", "mem-service": "answer", "mem-threads": "answer"}
SEED = 0x9E3779B97F4A7C15  # DiskSpeed's and fsbench.c's xorshift64 seed
RANDOM_READS = 2000
MASK = (1 << 64) - 1

GOAL_VS_LINUX = 10.0   # small files: >= 10x the Linux guest's req/s
GOAL_VS_HELLO = 0.8    # small files: >= 80 % of HelloWorldMicroservice's req/s
TORO_APPEND = "10.0.2.15,virtionet,fat,virtioblk,0,quiet"
LINUX_MODULES = ["virtio_blk", "vfat", "nls_cp437", "nls_ascii", "nls_utf8", "nls_iso8859_1"]

# Init lines of the Linux guest (before nginx starts): mount the image's partition where nginx's
# root is; with `benchfs=disk` on the command line, the disk benchmark instead of nginx.
LINUX_SETUP = """/bin/busybox mkdir -p /srv/www
for i in 1 2 3 4 5 6 7 8 9 10; do [ -b /dev/vda1 ] && break; /bin/busybox sleep 0.2; done
/bin/busybox mount -t vfat -o ro /dev/vda1 /srv/www || echo "bench: mount /dev/vda1 failed"
case " $(/bin/busybox cat /proc/cmdline) " in
*" benchfs=disk "*)
  echo 3 > /proc/sys/vm/drop_caches
  /bin/busybox time /bin/busybox dd if=/srv/www/disk.bin of=/dev/null bs=1M 2>&1 | /bin/busybox sed 's/^/bench: dd: /'
  echo 3 > /proc/sys/vm/drop_caches
  /bin/fsbench /srv/www/disk.bin random
  /bin/fsbench /srv/www/disk.bin random-direct
  echo 3 > /proc/sys/vm/drop_caches
  /bin/fsbench /srv/www/disk.bin sequential
  echo "bench: disk done"
  /bin/busybox poweroff -f;;
esac"""


# --------------------------------------------------------------------------- the site and image

@functools.lru_cache(maxsize=None)
def file_bytes(name):
    """The contents of a site file: pseudo-random from a fixed seed (text for the served ones)."""
    _, size = FILES[name]
    data = random.Random(f"bench-fs-{name}").randbytes(size)
    if name == "disk":
        return data
    letters = bytes(range(0x30, 0x3A)) + bytes(range(0x41, 0x5B)) + bytes(range(0x61, 0x7B)) + b" \n"
    return data.translate(bytes(letters[i % len(letters)] for i in range(256)))


def make_site(folder, image, fat):
    """The site folder (world-readable: nginx runs as nobody) and its FAT image."""
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    os.chmod(folder, 0o755)
    for name, (path, _) in FILES.items():
        with open(os.path.join(folder, path.lstrip("/")), "wb") as f:
            f.write(file_bytes(name))
        os.chmod(os.path.join(folder, path.lstrip("/")), 0o644)
    diskimage.make(image, folder=folder, fs="fat", fat=fat)


def disk_args(image):
    return ["-drive", f"file={image},format=raw,if=none,id=disk0,snapshot=on", "-device", "virtio-blk-pci,drive=disk0"]


def checksums(data):
    """What DiskSpeed and fsbench print for `data`: the sequential checksum (1 MiB chunks) and the
    random reads' one."""
    def word_sum(b):
        return sum(array.array("Q", b)) & MASK
    seq = 0
    for i in range(0, len(data), 1 << 20):
        seq = (seq * 31 + word_sum(data[i:i + (1 << 20)])) & MASK
    rnd, s, blocks = 0, SEED, len(data) // 4096
    for _ in range(RANDOM_READS):
        s ^= (s << 13) & MASK
        s ^= s >> 7
        s ^= (s << 17) & MASK
        off = (s % blocks) * 4096
        rnd = (rnd * 31 + word_sum(data[off:off + 4096])) & MASK
    return seq, rnd


# --------------------------------------------------------------------------- targets

def good_file(data, body):
    """An HTTP 200 whose body is `body`."""
    if data is None:
        return False
    head, _, rest = data.partition(b"\r\n\r\n")
    return head.split(b"\r\n")[0].split(b" ")[1:2] == [b"200"] and rest == body


def borrowed_by(build_dir, outname):
    """For the tools that borrow these targets (bench/ab, bench/insns): bench/http's build folder
    and backlog shim set as bench/fs sets them, and an output folder of their own (its path)."""
    http.ARGS_BUILD_DIR[0] = os.path.abspath(build_dir)
    http.SHIM[:] = http.find_shim(build_dir, "auto")
    outdir = os.path.join(build_dir, outname)
    os.makedirs(outdir, exist_ok=True)
    return outdir


class ServesSite:
    """A target serving the site: probed on small.html, whose body must be exact."""
    path = FILES["small"][0]

    def good(self, data):
        return good_file(data, file_bytes("small"))


class StaticWebServer(ServesSite, http.Toro):
    """apps/StaticWebServer: serves the image's FAT volume on virtio-blk, virtio-net, port 80."""

    def __init__(self, outdir, verbose, elf, image, mem):
        super().__init__(outdir, verbose, elf, "virtio", mem)
        self.image = image
        self.name = "toro-fs"

    def command(self, ports):
        return http.vm_base(self.elf, 1, self.mem, machine=self.machine, append=TORO_APPEND) \
            + http.nic_args("virtio", ports, 80) + disk_args(self.image)


class MemoryAnswer(http.Toro):
    """bench/vm/MemoryAnswer: StaticWebServer's /small.html answer from memory on port 80, by a
    network service (mem-service) or by a thread per connection (mem-threads)."""
    exact = (b"HTTP/1.0 200\r\nContent-type: Text/html\r\nContent-length: 4096\r\nConnection: close\r\n"
             b"Server: ToroHttpServer\r\n\r\n" + bytes(ord("a") + i % 26 for i in range(4096)))

    def __init__(self, outdir, verbose, elf, mem, threads):
        super().__init__(outdir, verbose, elf, "virtio", mem)
        self.threads = threads
        self.name = "mem-threads" if threads else "mem-service"

    def command(self, ports):
        append = "virtionet" + (",threads" if self.threads else "")
        return http.vm_base(self.elf, 1, self.mem, machine=self.machine, append=append) \
            + http.nic_args("virtio", ports, 80)


class NginxFiles(ServesSite, http.NginxHost):
    def __init__(self, outdir, verbose, site):
        conf = open(os.path.join(HERE, "nginx.conf")).read().replace("@ROOT@", site)
        super().__init__(outdir, verbose, 1, conf)


class LinuxFiles(ServesSite, http.LinuxGuest):
    """bench/http's Linux guest, virtio-net, with the image as its virtio-blk disk."""

    def __init__(self, outdir, verbose, kernel, initrd, mem, image):
        super().__init__(outdir, verbose, kernel, initrd, "virtio", mem)
        self.image = image
        self.name = "linux-fs"

    def command(self, ports):
        return super().command(ports) + disk_args(self.image)


def linux_guest(cache, mem, image, outdir, verbose, fsbench):
    """The Linux guest's kernel and an initramfs of its own (bench/http's, plus the disk modules,
    fsbench and the mount), and the target; meta about them."""
    kroot = http.apt_fetch("linux-image-cloud-amd64", cache)
    kernel = sorted(x for x in os.listdir(os.path.join(kroot, "boot")) if x.startswith("vmlinuz"))[0]
    kernel = os.path.join(kroot, "boot", kernel)
    initrd = os.path.join(cache, "initramfs-fs.cpio")
    conf = open(os.path.join(HERE, "nginx.conf")).read().replace("@ROOT@", "/srv/www")
    mods = http.build_initrd(kroot, "virtio", initrd, extra_modules=LINUX_MODULES,
                             extra_entries=[("bin/fsbench", 0o100755, open(fsbench, "rb").read())],
                             setup=LINUX_SETUP, conf=conf)
    missing = [m for m in LINUX_MODULES[:2] if not any(x.startswith(m) for x in mods)]
    if missing:
        raise RuntimeError(f"no {', '.join(missing)} module in {kroot}")
    meta = {"kernel": os.path.basename(kernel), "modules": mods}
    return LinuxFiles(outdir, verbose, kernel, initrd, mem, image), meta


# --------------------------------------------------------------------------- HTTP

def check_files(target, names):
    """Every file's body once, exactly, before the load; the names that were wrong."""
    bad = []
    for name in names:
        if not good_file(http.fetch(target.ports[0], timeout=60, path=FILES[name][0]), file_bytes(name)):
            bad.append(name)
    return bad


def measure_http(target, names, args):
    """{file: {"ab": [...], "wrk": [...]}} for the running target: per file, ab up to 100
    connections and wrk; then ab above 100 connections (c=1000: for failures and stalls), last, so
    that a server that gives out there has its other numbers measured."""
    out = {name: {"ab": [], "wrk": []} for name in names}
    port = target.ports[0]
    def ab_conc(name):
        return args.big_ab_conc if name == "big" else args.ab_conc
    steps = [(name, "ab", c) for name in names for c in ab_conc(name) if c <= 100] + \
        [(name, "wrk", c) for name in names for c in args.wrk_conc]
    steps.sort(key=lambda s: names.index(s[0]))
    steps += [(name, "ab", c) for name in names for c in ab_conc(name) if c > 100]
    for name, tool, c in steps:
        path, size = SERVED[name]
        if tool == "ab":
            count = max(args.n_big if name == "big" else args.n, c)
            # A generous wall clock: 1 MiB answers through a TCG guest can be slow (ab -s still
            # says when one request stalls).
            a = http.ab_one(port, count, c, args.ab_timeout, max(60, args.ab_timeout * 3 + count * size / 4e6), path)
            out[name]["ab"].append(a)
            http.log(f"  {path} ab -n {count} -c {c}: {a.get('rps', 0):.0f} req/s, failed {a['failed']}, "
                     f"non-2xx {a['non2xx']}, stalled {a['stalled']}" + (f" ({a['note']})" if "note" in a else ""))
        else:
            w = http.wrk_run(target.ports, c, args.wrk_duration, path)
            out[name]["wrk"].append(w)
            http.log(f"  {path} wrk -c {c}: {w.get('rps', 0):.0f} req/s, p99 {w.get('p99_ms', 0):.1f} ms, "
                     f"max {w.get('max_ms', 0):.0f} ms, errors {w['errors']}, non-2xx {w['non2xx']}")
        if target.proc is not None and target.proc.poll() is not None:
            http.log(f"  {target.name} exited (status {target.proc.returncode}); see {target.name}.log")
            out["died"] = f"during {path} {tool} c={c}"
            break
    return out


def run_http(target, names, args, res):
    http.log(f"== {target.name}")
    r = res.setdefault(target.name, {})
    if not target.start(timeout=120 if isinstance(target, http.LinuxGuest) else 60):
        r["not_measured"] = f"no good answer for {target.path} (see {target.name}.log)"
        http.log(f"  {r['not_measured']}")
        return
    r["boot_s"] = target.boot_s
    try:
        bad = check_files(target, [n for n in names if n in FILES and n != "small"])
        if bad:
            r["not_measured"] = f"wrong answer for {', '.join(FILES[n][0] for n in bad)}"
            http.log(f"  {r['not_measured']}")
            return
        if "small" in names:
            r["sequential"] = {p: sequential_rate(target.ports[0], p, args.sequential) for p in DIAGNOSTIC_PATHS}
            http.log("  one request at a time: " + ", ".join(f"{p} {v:.0f} req/s" for p, v in r["sequential"].items()))
        r.update(measure_http(target, names, args))
    finally:
        target.stop()


def merge_rounds(rounds, high=False):
    """One target's results over --rounds runs (each a run_http result) as one: every ab/wrk cell
    by bench/http's median_cells (the median run among those that answered, failures of all
    added up; of two middle runs the lower, or with `high`, for the baselines, the higher); the
    boot time and one-at-a-time rates are medians. Runs that were not measured are left out and
    counted in "rounds_not_measured"."""
    good = [r for r in rounds if "not_measured" not in r]
    if not good:
        return rounds[-1]
    out = {}
    if len(good) < len(rounds):
        out["rounds_not_measured"] = [r["not_measured"] for r in rounds if "not_measured" in r]
    out["boot_s"] = statistics.median(r["boot_s"] for r in good)
    if any("sequential" in r for r in good):
        paths = {p for r in good for p in r.get("sequential", {})}
        out["sequential"] = {p: statistics.median(r["sequential"][p] for r in good if p in r.get("sequential", {}))
                             for p in paths}
    died = [r["died"] for r in good if "died" in r]
    if died:
        out["died"] = died[0]
    for name in {k for r in good for k, v in r.items() if isinstance(v, dict) and "ab" in v}:
        out[name] = {tool: http.median_cells([r.get(name, {}).get(tool, []) for r in good], high)
                     for tool in ("ab", "wrk")}
    return out


# One request at a time from a plain socket: the small file, and a file that does not exist
# (a directory lookup and a 404, no data read), to tell the disk's share of a request from the rest.
DIAGNOSTIC_PATHS = (FILES["small"][0], "/missing.html")


def sequential_rate(port, path, n):
    t0 = time.monotonic()
    for _ in range(n):
        http.fetch(port, timeout=10, path=path)
    return n / (time.monotonic() - t0)


# --------------------------------------------------------------------------- in the guest

DISKSPEED = {
    "file": re.compile(r"DiskSpeed: file \S+, (\d+) bytes; core memory (\d+) bytes, heap in use (\d+) before the "
                       r"mount, (\d+) after"),
    "seq": re.compile(r"DiskSpeed: sequential (\d+) bytes in (\d+) reads of \d+: (\d+) us, [\d.]+ MB/s, "
                      r"checksum (0x[0-9A-Fa-f]+)"),
    "rnd": re.compile(r"DiskSpeed: random (\d+) reads of \d+: (\d+) us, \d+ reads/s, checksum (0x[0-9A-Fa-f]+) "
                      r"\((\d+) us of it in SysSeekFile\)"),
    "heap": re.compile(r"DiskSpeed: heap in use (\d+) after the sequential read, (\d+) after the random reads"),
}
LINUX_DISK = {
    # busybox dd prints no time here: busybox time's "real" line (10 ms steps).
    "dd": re.compile(r"bench: dd: (\d+)\+(\d+) records out\s+bench: dd: real\s+(\d+)m ([\d.]+)s"),
    "seq": re.compile(r"bench: fsbench sequential (\d+) bytes in 1 MiB reads: (\d+) us, [\d.]+ MB/s, "
                      r"checksum (0x[0-9a-f]+)"),
    "random": re.compile(r"bench: fsbench random \d+ reads of \d+: (\d+) us, \d+ reads/s, checksum (0x[0-9a-f]+)"),
    "random-direct": re.compile(r"bench: fsbench random-direct \d+ reads of \d+: (\d+) us, \d+ reads/s, "
                                r"checksum (0x[0-9a-f]+)"),
}


def cache_bound(core_bytes):
    """src/fs/mount.cpp's block-cache bound: 1/16 of the core's memory, 1..64 MiB."""
    return min(max(core_bytes // 16, 1 << 20), 64 << 20)


def boot_and_read(cmd, done, outdir, name, timeout):
    """Boots cmd (bench/http's spawn: its own process group, killed on exit and on a signal) until
    `done` is in its console or it ends; the console text, also in OUT/name.log."""
    path = os.path.join(outdir, f"{name}.log")
    if verbose_commands[0]:
        http.log("$ " + " ".join(cmd))
    with open(path, "wb") as log:
        proc = http.spawn(cmd, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline and proc.poll() is None:
                with open(path, "rb") as f:
                    if done.encode() in f.read():
                        break
                time.sleep(0.2)
        finally:
            http.kill(proc)
    with open(path, errors="replace") as f:
        return f.read()


verbose_commands = [False]


def disk_toro(elf, image, args, outdir, want):
    cmd = http.vm_base(elf, 1, args.mem, machine=args.machine, append=FILES["disk"][0]) + ["-nic", "none"] \
        + disk_args(image)
    text = boot_and_read(cmd, "DiskSpeed: heap in use", outdir, "diskspeed-toro", args.disk_timeout)
    m = {k: p.search(text) for k, p in DISKSPEED.items()}
    if not all(m.values()):
        tail = " | ".join(text.strip().splitlines()[-3:])
        return {"not_measured": f"DiskSpeed did not finish (diskspeed-toro.log): {tail[-200:]}"}
    seq_us, rnd_us = int(m["seq"][3]), int(m["rnd"][2])
    r = {"seq_bytes": int(m["seq"][1]), "seq_us": seq_us, "seq_mbps": int(m["seq"][1]) / seq_us,
         "rnd_us": rnd_us, "rnd_per_s": RANDOM_READS * 1e6 / rnd_us, "rnd_seek_us": int(m["rnd"][4]),
         "seq_ok": int(m["seq"][4], 16) == want[0], "rnd_ok": int(m["rnd"][3], 16) == want[1],
         "core_bytes": int(m["file"][2]), "heap_before_mount": int(m["file"][3]),
         "heap_after_mount": int(m["file"][4]), "heap_after_seq": int(m["heap"][1]),
         "heap_after_rnd": int(m["heap"][2])}
    r["cache_bound"] = cache_bound(r["core_bytes"])
    return r


def disk_linux(target, args, outdir, want):
    cmd = http.vm_base(target.kernel, 1, args.mem, machine=args.machine) + ["-nic", "none", "-initrd", target.initrd,
                                                                            "-append", target.append + " benchfs=disk"] \
        + disk_args(target.image)
    text = boot_and_read(cmd, "bench: disk done", outdir, "diskspeed-linux", args.disk_timeout)
    m = {k: p.search(text) for k, p in LINUX_DISK.items()}
    r = {}
    if m["dd"]:
        seconds = int(m["dd"][3]) * 60 + float(m["dd"][4])
        if int(m["dd"][2]) == 0 and seconds > 0:  # whole 1 MiB records only: the file is 64 MiB
            r["dd_mbps"] = int(m["dd"][1]) * (1 << 20) / seconds / 1e6
            r["dd_s"] = seconds
    if m["seq"]:
        r["seq_mbps"] = int(m["seq"][1]) / int(m["seq"][2])
        r["seq_ok"] = int(m["seq"][3], 16) == want[0]
    for k in ("random", "random-direct"):
        if m[k]:
            r[f"{k}_per_s"] = RANDOM_READS * 1e6 / int(m[k][1])
            r[f"{k}_ok"] = int(m[k][2], 16) == want[1]
    if not r:
        tail = " | ".join(text.strip().splitlines()[-3:])
        r["not_measured"] = f"no numbers (diskspeed-linux.log): {tail[-200:]}"
    return r


def serves_big(elf, image, mem, outdir, verbose):
    """StaticWebServer at -m mem answers big.html five times, exactly."""
    t = StaticWebServer(outdir, verbose, elf, image, mem)
    t.name = f"toro-fs-mem{mem}"
    ok = t.start(timeout=20)
    if ok:
        body = file_bytes("big")
        ok = all(good_file(http.fetch(t.ports[0], timeout=30, path=FILES["big"][0]), body) for _ in range(5))
    t.stop()
    return ok


# --------------------------------------------------------------------------- report

def cell(res, target, name, tool, c):
    """The ab or wrk run of `target` for file `name` at concurrency c, or None."""
    return next((x for x in res.get(target, {}).get(name, {}).get(tool, []) if x["c"] == c), None)


def silent_rounds(x):
    n = x.get("rounds_without_answer")
    return f", no answer at all in {n} round(s)" if n else ""


def report(res, meta, args):
    names = [n for n in ["toro-fs", "nginx-host", "linux-fs", "toro-hello", "mem-service", "mem-threads"] if n in res]
    lines = []
    w0 = 34
    head = "".ljust(w0) + "".join(n.rjust(13) for n in names)
    lines += [head, "-" * len(head)]

    def row(label, cells):
        lines.append(label.ljust(w0) + "".join(str(x).rjust(13) for x in cells))

    for name in ("small", "big"):
        path, size = FILES[name]
        hello = name == "small"  # HelloWorldMicroservice's "/" beside the small file
        cols = [n for n in names if n not in OWN_ANSWER or hello]
        for tool, concs in (("ab", args.big_ab_conc if name == "big" else args.ab_conc), ("wrk", args.wrk_conc)):
            for c in concs:
                cs = [cell(res, n, OWN_ANSWER.get(n, name), tool, c) if n in cols else None
                      for n in names]
                row(f"{path} {tool} c={c} req/s", [http.fmt((x or {}).get("rps")) for x in cs])
                if name == "big":
                    row(f"{path} {tool} c={c} MB/s", [http.fmt((x or {}).get("rps") and x["rps"] * size / 1e6, "{:.1f}")
                                                     for x in cs])
                if tool == "ab":
                    row(f"{path} ab c={c} fail/stall", ["-" if x is None else
                                                        f"{x['failed'] + x['non2xx']}/{x['stalled']}" for x in cs])
                else:
                    row(f"{path} wrk c={c} p99 ms/err", ["-" if x is None else
                                                         f"{http.fmt(x.get('p99_ms'), '{:.1f}')}/{x['errors'] + x['non2xx']}"
                                                         for x in cs])
    for p in DIAGNOSTIC_PATHS:
        row(f"{p} one at a time req/s", [http.fmt(res[n].get("sequential", {}).get(p)) for n in names])
    row("first 200 s", [http.fmt(res[n].get("boot_s"), "{:.3f}") for n in names])
    lines.append("")
    spread = [(n, name, tool, x) for n in names for name in ("small", "hello", "answer") for tool in ("ab", "wrk")
              for x in res[n].get(name, {}).get(tool, []) if len(x.get("rounds_rps", [])) > 1 and x["c"] <= 100]
    if spread:
        lines.append("Every round's req/s of the small-file cells, in the order run (the table shows the median):")
        for n, name, tool, x in spread:
            lines.append(f"  {n:11} {SERVED[name][0]} {tool} c={x['c']}: " +
                         " ".join(http.fmt(v) for v in x["rounds_rps"]))
        lines.append("")

    d, dl = res.get("disk-toro", {}), res.get("disk-linux", {})
    if d or dl:
        lines.append("In the guest (64 MiB file, 1 MiB reads; 2000 random 4 KiB reads):")
        lines.append(f"  {'':40}{'toro-fs':>14}{'linux-fs':>14}")
        lines.append(f"  {'sequential MB/s (Linux: dd bs=1M)':40}{http.fmt(d.get('seq_mbps'), '{:.1f}'):>14}"
                     f"{http.fmt(dl.get('dd_mbps'), '{:.1f}'):>14}")
        lines.append(f"  {'sequential MB/s (Linux: fsbench read())':40}{'':>14}{http.fmt(dl.get('seq_mbps'), '{:.1f}'):>14}")
        lines.append(f"  {'random 4 KiB reads/s (Linux: buffered)':40}{http.fmt(d.get('rnd_per_s')):>14}"
                     f"{http.fmt(dl.get('random_per_s')):>14}")
        lines.append(f"  {'random 4 KiB reads/s (Linux: O_DIRECT)':40}{'':>14}{http.fmt(dl.get('random-direct_per_s')):>14}")
        if d.get("rnd_us"):
            lines.append(f"  {'  (toro: % of the time in SysSeekFile)':40}{d['rnd_seek_us'] / d['rnd_us'] * 100:>13.0f}%")
        checks = [f"{who} {k[:-3]} {'ok' if v else 'WRONG'}" for who, r in (("toro", d), ("linux", dl))
                  for k, v in r.items() if k.endswith("_ok")]
        if checks:
            lines.append("  checksums against the file on the host: " + ", ".join(checks))
        for k, x in (("toro-fs", d), ("linux-fs", dl)):
            if "not_measured" in x:
                lines.append(f"  {k}: not measured: {x['not_measured']}")
        lines.append("")
    if "core_bytes" in d:
        lines.append(f"Memory: block cache bound {d['cache_bound'] / 2**20:.1f} MiB (1/16 of the core's "
                     f"{d['core_bytes'] / 2**20:.1f} MiB, 1..64 MiB, src/fs/mount.cpp) at -m {args.mem}; DiskSpeed's "
                     f"heap in use {d['heap_before_mount']:,} B before the mount, {d['heap_after_mount']:,} after, "
                     f"{d['heap_after_seq']:,} after the sequential read, {d['heap_after_rnd']:,} after the random reads")
    if "min_mem_mb" in meta:
        lines.append(f"Memory: smallest -m at which StaticWebServer serves {FILES['big'][0]} (5 exact answers): "
                     f"{meta['min_mem_mb']} MiB (tried: " +
                     ", ".join(f"{k}:{'yes' if v else 'no'}" for k, v in sorted(meta['mem_tried'].items(),
                                                                               key=lambda kv: int(kv[0]))) + ")")
    lines.append("")

    goals = []

    def goal(text, cells):
        """cells: [(label, ok or None when not measured, detail)]."""
        if not cells or any(ok is None for _, ok, _ in cells):
            verdict = "NOT MEASURED"
        else:
            verdict = "MET    " if all(ok for _, ok, _ in cells) else "NOT MET"
        goals.append(f"{verdict} {text}: " + "; ".join(f"{lab} {det}" for lab, _, det in cells))

    def ratio_cells(name, other, other_name, want, per_mb=False, mine="toro-fs"):
        out = []
        for tool, concs in (("ab", args.big_ab_conc if name == "big" else args.ab_conc), ("wrk", args.wrk_conc)):
            for c in concs:
                if c > 100:
                    continue  # ab c=1000 is for failures and stalls only
                t, b = cell(res, mine, name, tool, c), cell(res, other, other_name, tool, c)
                if not t or not b or not t.get("rps") or not b.get("rps"):
                    out.append((f"{tool} c={c}", None, "-"))
                    continue
                r = t["rps"] / b["rps"]
                det = f"{r:.2f}x" if not per_mb else f"{t['rps'] * FILES[name][1] / 1e6:.1f}/{b['rps'] * FILES[name][1] / 1e6:.1f} MB/s"
                out.append((f"{tool} c={c}", r >= want, det))
        return out

    goal(f"small files >= {GOAL_VS_LINUX:.0f}x the Linux guest's req/s", ratio_cells("small", "linux-fs", "small",
                                                                                     GOAL_VS_LINUX))
    goal(f"small files >= {GOAL_VS_HELLO * 100:.0f} % of HelloWorldMicroservice's req/s",
         ratio_cells("small", "toro-hello", "hello", GOAL_VS_HELLO))
    goal("1 MiB file: MB/s >= the Linux guest's", ratio_cells("big", "linux-fs", "big", 1.0, per_mb=True))
    bad, seen = [], 0
    for name in ("small", "big"):
        r = res.get("toro-fs", {}).get(name, {})
        for a in r.get("ab", []):
            seen += 1
            if a["failed"] or a["non2xx"] or a["stalled"] or a.get("rounds_without_answer"):
                bad.append(f"{FILES[name][0]} ab c={a['c']}: {a['failed']} failed, {a['non2xx']} non-2xx, "
                           f"{a['stalled']} stalled" + silent_rounds(a))
        for w in r.get("wrk", []):
            # Stalled: slower than a second, and than three times an answer's fair share of the
            # run (c answers in flight at rps answers a second: c / rps each). 100 connections
            # sharing ~45 MB/s take ~2.3 s per 1 MiB answer however fair the server is.
            fair_ms = w["c"] / w["rps"] * 1000 if w.get("rps") else 0
            if w["errors"] or w["non2xx"] or w.get("max_ms", 0) >= max(http.STALL_MS, 3 * fair_ms) or not w.get("rps") \
                    or w.get("rounds_without_answer"):
                bad.append(f"{FILES[name][0]} wrk c={w['c']}: {w['errors']} errors, {w['non2xx']} non-2xx, "
                           f"max {http.fmt(w.get('max_ms'))} ms" + silent_rounds(w))
    if "died" in res.get("toro-fs", {}):
        bad.append(f"the VM ended {res['toro-fs']['died']}")
    bad += [f"a round not measured: {why}" for why in res.get("toro-fs", {}).get("rounds_not_measured", [])]
    complete = seen == len(args.ab_conc) + len(args.big_ab_conc)
    goals.append(("NOT MEASURED" if not seen else "MET    " if not bad and complete else "NOT MET") +
                 f" toro-fs: no failed or stalled request up to c={max(args.ab_conc + args.big_ab_conc)}: " +
                 ("; ".join(bad) or ("none" if complete else "not every cell ran")))
    lines.append("Goals (issue #12; baselines in the same run):")
    lines += ["  " + g for g in goals]
    # StaticWebServer's gap to HelloWorldMicroservice in its three parts, when the memory answers ran.
    steps = [("4 KiB more to send (mem-service / toro-hello)", "mem-service", "answer", "toro-hello", "hello"),
             ("a thread per connection (mem-threads / mem-service)", "mem-threads", "answer", "mem-service", "answer"),
             ("the files (toro-fs / mem-threads)", "toro-fs", "small", "mem-threads", "answer")]
    if any(n in res for n in ("mem-service", "mem-threads")):
        lines.append("Decomposition of the small-file ratio to HelloWorldMicroservice (req/s ratios; same run):")
        for label, mine, mine_name, other, other_name in steps:
            cells = ratio_cells(mine_name, other, other_name, 0, mine=mine)
            lines.append(f"  {label}: " + "; ".join(f"{lab} {det}" for lab, _, det in cells))
    if d.get("seq_mbps") and dl.get("dd_mbps"):
        lines.append(f"  (no goal) in-guest sequential read: toro {d['seq_mbps']:.1f} MB/s, Linux dd "
                     f"{dl['dd_mbps']:.1f} MB/s = {d['seq_mbps'] / dl['dd_mbps']:.2f}x")
    if d.get("rnd_per_s") and dl.get("random_per_s"):
        lines.append(f"  (no goal) in-guest random 4 KiB reads: toro {d['rnd_per_s']:.0f}/s, Linux "
                     f"{dl['random_per_s']:.0f}/s buffered = {d['rnd_per_s'] / dl['random_per_s']:.2f}x")
    return "\n".join(lines)


# --------------------------------------------------------------------------- main

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--build-dir", default=os.environ.get("TORO_BUILD_DIR", os.path.join(ROOT, "build")))
    p.add_argument("--out", help="results folder (default BUILD/bench-fs/results)")
    p.add_argument("--cache", help="kernel packages (default BUILD/bench-http/cache, shared with bench/http)")
    p.add_argument("--only", default="toro,hello,answer,nginx,linux,disk,mem",
                   help="comma list of toro (StaticWebServer), hello (HelloWorldMicroservice), answer (mem-service "
                        "and mem-threads: bench/vm/MemoryAnswer), nginx, linux, "
                        "disk (in-guest reads), mem (smallest -m)")
    p.add_argument("-n", type=int, default=2000, help="ab requests per concurrency, small file")
    p.add_argument("--n-big", type=int, default=200, help="ab requests per concurrency, 1 MiB file (at least c)")
    p.add_argument("--ab-conc", default="1,10,100,1000")
    p.add_argument("--big-ab-conc", help="ab concurrencies for the 1 MiB file (default: --ab-conc)")
    p.add_argument("--ab-timeout", type=int, default=10, help="ab -s: a request unanswered this long is stalled")
    p.add_argument("--wrk-conc", default="1,10,100")
    p.add_argument("--wrk-duration", type=int, default=5)
    p.add_argument("--sequential", type=int, default=200, help="requests one at a time per diagnostic path")
    p.add_argument("--rounds", type=http.positive, default=1,
                   help="HTTP runs of every target, taken in turn (toro, nginx, linux, hello, toro, ...): each "
                        "cell is the run with the median req/s, failures of all runs added up (a busy machine "
                        "moves one run by a third; taking the targets in turn lets each see the same drift)")
    p.add_argument("--mem", type=int, default=256, help="-m of the VMs")
    p.add_argument("--machine", choices=["q35", "pc"], default="q35",
                   help="QEMU machine of every VM (q35: each device has an interrupt line of its own; pc: the "
                        "disk shares the card's)")
    p.add_argument("--fat", type=int, choices=[16, 32], default=None, help="FAT width (default: by size, FAT16)")
    p.add_argument("--disk-timeout", type=int, default=600, help="seconds for each in-guest disk run")
    p.add_argument("--backlog-shim", choices=["auto", "on", "off"], default="auto")
    p.add_argument("--quick", action="store_true", help="-n 200, --n-big 50, ab c=1,10,100, wrk 1 s, no -m bisection")
    p.add_argument("--report", metavar="RESULTS_JSON", help="print the table of a saved run (merging its rounds "
                                                             "again), measure nothing; without the run's header")
    p.add_argument("-v", "--verbose", action="store_true")
    args = p.parse_args()
    if args.quick:
        for key, quick in (("n", 200), ("n_big", 50), ("ab_conc", "1,10,100"), ("wrk_duration", 1), ("sequential", 50)):
            if getattr(args, key) == p.get_default(key):
                setattr(args, key, quick)
    args.ab_conc = [int(x) for x in str(args.ab_conc).split(",")]
    args.big_ab_conc = [int(x) for x in str(args.big_ab_conc).split(",")] if args.big_ab_conc else args.ab_conc
    args.wrk_conc = [int(x) for x in str(args.wrk_conc).split(",")]
    only = set(args.only.split(","))
    if args.quick:
        only.discard("mem")
    if args.report:
        with open(args.report) as f:
            saved = json.load(f)
        if "rounds" in saved["meta"]:  # merged again: the rule may have changed since
            for name, rounds in saved["meta"]["rounds"].items():
                saved["results"][name] = merge_rounds(rounds, high=name != "toro-fs")
        saved_args = saved["meta"].get("args", {})
        for k, v in saved_args.items():
            setattr(args, k, v)
        args.big_ab_conc = saved_args.get("big_ab_conc", args.ab_conc)
        print(report(saved["results"], saved["meta"], args))
        return 0

    args.build_dir = os.path.abspath(args.build_dir)
    http.ARGS_BUILD_DIR[0] = args.build_dir
    http.Toro.machine = http.LinuxGuest.machine = args.machine  # every VM (bench_http is this script's copy)
    verbose_commands[0] = args.verbose
    base = os.path.join(args.build_dir, "bench-fs")
    outdir = os.path.abspath(args.out or os.path.join(base, "results"))
    cache = os.path.abspath(args.cache or os.path.join(args.build_dir, "bench-http", "cache"))
    os.makedirs(outdir, exist_ok=True)
    os.makedirs(cache, exist_ok=True)
    for tool in ["ab", "wrk", "nginx", "qemu-system-x86_64", "busybox", "setpriv", "gcc", "mcopy", "mkfs.fat"]:
        if shutil.which(tool) is None and not os.path.exists(os.path.join("/usr/sbin", tool)):
            sys.exit(f"bench/fs: {tool} is missing: tools/setup --bench installs what this needs")
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, http.on_signal)
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 65536)), hard))

    started = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    meta = {"started": started, "command": " ".join(sys.argv), "load_before": os.getloadavg(),
            "args": {k: getattr(args, k) for k in ("machine", "n", "n_big", "ab_conc", "big_ab_conc", "wrk_conc", "wrk_duration", "ab_timeout",
                                                   "mem", "rounds")},
            "tree": subprocess.run(["git", "-C", ROOT, "describe", "--always", "--dirty"], capture_output=True,
                                   text=True).stdout.strip()}
    others = subprocess.run(["pgrep", "-c", "qemu-system"], capture_output=True, text=True).stdout.strip()
    meta["other_qemus_at_start"] = int(others or 0)
    res = {}
    try:
        progs = {"swsrv": "apps/StaticWebServer/StaticWebServer.elf", "hello": "apps/HelloWorldMicroservice/"
                 "HelloWorldMicroservice.elf", "disk": "bench/vm/DiskSpeed/DiskSpeed.elf",
                 "answer": "bench/vm/MemoryAnswer/MemoryAnswer.elf"}
        need = [progs["swsrv"]] if only & {"toro", "mem"} else []
        need += [progs["hello"]] if "hello" in only else []
        need += [progs["disk"]] if "disk" in only else []
        need += [progs["answer"]] if "answer" in only else []
        if need:
            http.build(args.build_dir, need)
        elf = {k: os.path.join(args.build_dir, v) for k, v in progs.items()}
        http.SHIM[:] = http.find_shim(args.build_dir, args.backlog_shim)
        meta["backlog_shim"] = " ".join(http.SHIM) or "none"

        site, image = os.path.join(base, "site"), os.path.join(base, "site.img")
        http.log(f"bench/fs: the site ({', '.join(f'{p} {s} B' for p, s in FILES.values())}) and its FAT image")
        make_site(site, image, args.fat)
        meta["image"] = {"bytes": os.path.getsize(image), "fat": args.fat or diskimage.fat_bits_for(
            max(32, diskimage.folder_bytes(site) // (1 << 20) * 2 + 16))}
        want = checksums(file_bytes("disk"))

        linux = None
        if only & {"linux", "disk"}:
            fsbench = os.path.join(base, "fsbench")
            subprocess.run(["gcc", "-static", "-O2", "-o", fsbench, os.path.join(HERE, "fsbench.c")], check=True)
            try:
                linux, meta["linux"] = linux_guest(cache, args.mem, image, outdir, args.verbose, fsbench)
            except (RuntimeError, subprocess.CalledProcessError, OSError) as e:
                http.log(f"bench/fs: linux-fs: not measured: {e}")
                res["linux-fs"] = {"not_measured": str(e)}

        targets = []
        if "toro" in only:
            targets.append((StaticWebServer(outdir, args.verbose, elf["swsrv"], image, args.mem), ["small", "big"]))
        if "nginx" in only:
            targets.append((NginxFiles(outdir, args.verbose, site), ["small", "big"]))
        if "linux" in only and linux is not None:
            targets.append((linux, ["small", "big"]))
        if "hello" in only:
            hello = http.Toro(outdir, args.verbose, elf["hello"], "virtio", args.mem)
            hello.name = "toro-hello"
            targets.append((hello, ["hello"]))
        if "answer" in only:
            targets.append((MemoryAnswer(outdir, args.verbose, elf["answer"], args.mem, threads=False), ["answer"]))
            targets.append((MemoryAnswer(outdir, args.verbose, elf["answer"], args.mem, threads=True), ["answer"]))
        runs = {}
        for k in range(args.rounds):
            if args.rounds > 1:
                http.log(f"bench/fs: HTTP round {k + 1} of {args.rounds}")
            for target, names in targets:
                one = {}
                run_http(target, names, args, one)
                runs.setdefault(target.name, []).append(one[target.name])
        for name, rounds in runs.items():
            res[name] = rounds[0] if len(rounds) == 1 else merge_rounds(rounds, high=name != "toro-fs")
        if args.rounds > 1:
            meta["rounds"] = {name: rounds for name, rounds in runs.items()}
        if "disk" in only:
            http.log("== in the guest: DiskSpeed")
            res["disk-toro"] = disk_toro(elf["disk"], image, args, outdir, want)
            http.log(f"  {res['disk-toro']}")
            if linux is not None:
                http.log("== in the guest: Linux dd and fsbench")
                res["disk-linux"] = disk_linux(linux, args, outdir, want)
                http.log(f"  {res['disk-linux']}")
        if "mem" in only:
            http.log("== smallest -m at which StaticWebServer serves big.html")
            m, tried = http.bisect_mem(lambda mb: serves_big(elf["swsrv"], image, mb, outdir, args.verbose), 2, 256)
            meta["min_mem_mb"] = m
            meta["mem_tried"] = {str(k): v for k, v in tried.items()}
    finally:
        http.cleanup()

    meta["load_after"] = os.getloadavg()
    meta["finished"] = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    header = (f"bench/fs, {started} to {meta['finished']}, tree {meta['tree']}, {os.cpu_count()} host CPUs, load "
              f"average {meta['load_before'][0]:.2f} at the start and {meta['load_after'][0]:.2f} at the end, "
              f"{meta['other_qemus_at_start']} other QEMU(s) at the start; QEMU backlog shim: "
              f"{meta.get('backlog_shim', 'none')}\nimage: FAT{meta.get('image', {}).get('fat', '?')}, "
              f"{meta.get('image', {}).get('bytes', 0) // 2**20} MiB, virtio-blk (snapshot=on); VMs -M {args.machine} "
              f"-m {args.mem}, 1 vCPU, TCG\nab -r -s {args.ab_timeout} -n {args.n} (small, '/') / -n {args.n_big} (big), at least c; "
              f"wrk -t 1 -d {args.wrk_duration}s --latency -H 'Connection: close' --timeout 5s\n"
              f"fail/stall = failed + non-2xx / requests not completed because ab stopped after one went "
              f"unanswered {args.ab_timeout} s; toro-hello is HelloWorldMicroservice's '/' (in the small-file rows)" +
              (f"\n{args.rounds} rounds, the targets in turn: each cell is the run with the median req/s among "
               f"those that answered (of two middle ones, toro-fs the lower, the baselines the higher), failures "
               f"and stalls of all rounds added up, max ms the largest" if args.rounds > 1 else ""))
    notes = [f"{n}: not measured: {r['not_measured']}" for n, r in res.items()
             if "not_measured" in r and not n.startswith("disk-")]
    notes += [f"{n}: a round not measured: {why}" for n, r in res.items() for why in r.get("rounds_not_measured", [])]
    text = header + "\n\n" + report(res, meta, args) + ("\n" + "\n".join(notes) if notes else "") + "\n"
    print(text)
    with open(os.path.join(outdir, "table.txt"), "w") as f:
        f.write(text)
    with open(os.path.join(outdir, "results.json"), "w") as f:
        json.dump({"meta": meta, "results": res}, f, indent=1)
    print(f"results: {outdir}/results.json, table.txt")
    return 0


if __name__ == "__main__":
    sys.exit(main())
