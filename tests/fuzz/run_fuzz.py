#!/usr/bin/env python3
"""Build a libFuzzer target with clang (Debian's libclang-rt-14-dev) and run it for a bounded
time from its seeds. Fails on any crash or sanitizer report.

Usage: run_fuzz.py SRC_DIR SECONDS [--target net|fs|gdb] SOURCE...  (the portable sources to fuzz,
from meson). net (the default): the network stack (stack_fuzz.cpp) from seed frames. fs: the
filesystem drivers (fs_fuzz.cpp) from images that mkfs.fat and mtools make here, packed as
fs_fuzz.cpp reads them; skipped (exit 77) without those tools. gdb: the gdb stub's protocol
session (gdb_fuzz.cpp) from a session as gdb opens it."""
import os
import shutil
import subprocess
import sys
import tempfile

SEEDS = {
    # ARP request for 10.0.2.15 from 10.0.2.2
    "arp": b"\x01" + bytes.fromhex("ffffffffffff" "525500020202" "0806" "0001" "0800" "06" "04" "0001"
                         "525500020202" "0a000202" "000000000000" "0a00020f"),
    "short": b"\x00" * 13,
    # A UDP datagram to port 68 (the checksum byte 0 asks the harness to fix the IP checksum)
    "udp": b"\x01" + bytes.fromhex("525400123456" "525500020202" "0800"
                                  "4500002c00004000401100000a0002020a00020f"
                                  "00430044001800006c6f6f6b696e6720666f7220444843502121"),
    # A TCP SYN to port 80 with MSS, SACK-permitted and window scale (byte 3: fix both checksums)
    "tcp-syn": b"\x03" + bytes.fromhex("525400123456" "525500020202" "0800"
                                      "4500003400004000400600000a0002020a00020f"
                                      "c350005012345678000000008002faf000000000"
                                      "020405b40402010303070101"),
}


# Seed images: (fs_fuzz.cpp's kTypes index, size in KiB, the commands that make it; {img} is
# its path). Each is then populated by FS_POPULATE. A new driver adds its kTypes line there and
# its images here.
FS_IMAGES = [
    (0, 1024, ["/usr/sbin/mkfs.fat -F 12 -C {img} {kib}"]),
    (0, 16384, ["/usr/sbin/mkfs.fat -F 16 -C {img} {kib}"]),
    (0, 34000, ["/usr/sbin/mkfs.fat -F 32 -s 1 -C {img} {kib}"]),
]
# ext2 (kTypes index 1): made from a populated folder by mke2fs -d (mtools write only FAT).
EXT2_IMAGES = [
    (1, 2048, "/usr/sbin/mke2fs -q -F -t ext2 -b 1024 -d {tree} {img} {kib}k"),
    (1, 4096, "/usr/sbin/mke2fs -q -F -t ext2 -b 4096 -r 0 -d {tree} {img} {kib}k"),
]
FS_POPULATE = [
    "/usr/bin/mmd -i {img} ::/Documents ::/Documents/Deeper",
    "/usr/bin/mcopy -i {img} {small} '::/A long file name.txt'",
    "/usr/bin/mcopy -i {img} {small} ::/Documents/Deeper/SHORT.TXT",
    "/usr/bin/mcopy -i {img} {medium} '::/Documents/Medium sized file.bin'",
    "/usr/bin/mcopy -i {img} {empty} ::/EMPTY",
]


def pack_image(type_index, params, path):
    """A sparse image as fs_fuzz.cpp reads it: type, parameters, size, (sector, data) records."""
    with open(path, "rb") as f:
        image = f.read()
    sectors = len(image) // 512
    out = bytearray([type_index, params]) + sectors.to_bytes(4, "little")
    for s in range(sectors):
        block = image[s * 512:(s + 1) * 512]
        if any(block):
            out += s.to_bytes(4, "little") + block
    return bytes(out)


def fs_seeds(tmp):
    tools = ["/usr/sbin/mkfs.fat", "/usr/bin/mcopy", "/usr/bin/mmd"]
    if not all(os.access(t, os.X_OK) for t in tools):
        return None
    small, medium, empty = (os.path.join(tmp, n) for n in ("small", "medium", "empty"))
    with open(small, "wb") as f:
        f.write(b"hello, fuzzer\n" * 5)
    with open(medium, "wb") as f:
        f.write(bytes((i * 7) & 0xFF for i in range(5000)))
    open(empty, "wb").close()
    seeds = {}
    env = dict(os.environ, MTOOLS_SKIP_CHECK="1")
    for i, (type_index, kib, commands) in enumerate(FS_IMAGES):
        img = os.path.join(tmp, f"seed{i}.img")
        for c in commands + FS_POPULATE:
            subprocess.run(c.format(img=img, kib=kib, small=small, medium=medium, empty=empty), shell=True,
                           check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for params in (0x00, 0x5A, 0xC7):
            seeds[f"image{i}-{params:02x}"] = pack_image(type_index, params, img)
        os.unlink(img)
    if os.access("/usr/sbin/mke2fs", os.X_OK):
        tree = os.path.join(tmp, "tree")
        os.makedirs(os.path.join(tree, "Documents", "Deeper"))
        for src, dst in ((small, "A long file name.txt"), (small, "Documents/Deeper/short.txt"),
                         (medium, "Documents/Medium sized file.bin"), (empty, "empty")):
            shutil.copy(src, os.path.join(tree, dst))
        for i, (type_index, kib, command) in enumerate(EXT2_IMAGES):
            img = os.path.join(tmp, f"ext2-seed{i}.img")
            subprocess.run(command.format(img=img, kib=kib, tree=tree), shell=True, check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for params in (0x00, 0x5A, 0xC7):
                seeds[f"ext2-image{i}-{params:02x}"] = pack_image(type_index, params, img)
            os.unlink(img)
    return seeds


# The gdb session (gdb_fuzz.cpp): byte 0 odd = each line sent as a packet with its checksum; a
# session as gdb opens it, and raw framing with escapes, a bad checksum and Ctrl-C.
GDB_SEEDS = {
    "session": b"\x01" + b"\n".join([
        b"qSupported:multiprocess+;swbreak+;hwbreak+;qRelocInsn+;xmlRegisters=i386",
        b"vMustReplyEmpty", b"QStartNoAckMode", b"Hg0", b"qXfer:features:read:target.xml:0,ffb",
        b"qTStatus", b"?", b"qfThreadInfo", b"qsThreadInfo", b"qAttached", b"Hc-1", b"qC",
        b"qThreadExtraInfo,2", b"g", b"p10", b"P10=0010400000000000", b"m1000,40", b"M1010,2:abcd",
        b"X1020,3:a}\x03b", b"Z0,401000,1", b"Z2,1008,8", b"z0,401000,1", b"vCont?", b"vCont;s:2;c",
        b"c", b"s", b"T2", b"D", b"k"]),
    "raw": b"\x00$qSupported#37+$g#67$m1000,4#8d$?#00-\x03$vCont;c#a8\x03$X1000,2:}]}\x03#00",
}

TARGETS = {
    # name: (source file, seeds (a dict, or a function of a temporary directory), -max_len)
    "net": ("stack_fuzz.cpp", SEEDS, 1518),
    "gdb": ("gdb_fuzz.cpp", GDB_SEEDS, 16384),
    "fs": ("fs_fuzz.cpp", fs_seeds, 65536),
}


def main():
    src, seconds, sources = sys.argv[1], sys.argv[2], sys.argv[3:]
    target = "net"
    if sources[:1] == ["--target"]:
        target, sources = sources[1], sources[2:]
    source, seeds, max_len = TARGETS[target]
    clang = shutil.which("clang++") or shutil.which("clang++-14")
    if clang is None:
        print("FAIL: clang++ not installed (tools/setup installs clang and libclang-rt-14-dev)")
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        if callable(seeds):
            seeds = seeds(tmp)
            if seeds is None:
                print("SKIP: the tools that make the seeds are not installed")
                return 77
        exe = os.path.join(tmp, target + "_fuzz")
        subprocess.run([clang, "-std=c++20", "-g", "-O1", "-fsanitize=fuzzer,address,undefined",
                        "-fno-sanitize-recover=undefined", "-I", os.path.join(src, "src"),
                        os.path.join(src, "tests", "fuzz", source)] + sources + ["-o", exe], check=True)
        corpus = os.path.join(tmp, "corpus")
        os.makedirs(corpus)
        for name, data in seeds.items():
            with open(os.path.join(corpus, name), "wb") as f:
                f.write(data)
        r = subprocess.run([exe, corpus, f"-max_total_time={seconds}", f"-max_len={max_len}", "-print_final_stats=1"],
                           capture_output=True, text=True)
        print(r.stderr[-3000:])
        print("PASS" if r.returncode == 0 else "FAILED")
        return r.returncode


if __name__ == "__main__":
    sys.exit(main())
