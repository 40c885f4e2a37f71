#!/usr/bin/env python3
"""Build the network stack's libFuzzer target with clang (Debian's libclang-rt-14-dev) and run
it for a bounded time from seed frames. Fails on any crash or sanitizer report.

Usage: run_fuzz.py SRC_DIR SECONDS SOURCE...  (the portable sources to fuzz, from meson)"""
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


def main():
    src, seconds, sources = sys.argv[1], sys.argv[2], sys.argv[3:]
    clang = shutil.which("clang++") or shutil.which("clang++-14")
    if clang is None:
        print("FAIL: clang++ not installed (tools/setup installs clang and libclang-rt-14-dev)")
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        exe = os.path.join(tmp, "stack_fuzz")
        subprocess.run([clang, "-std=c++20", "-g", "-O1", "-fsanitize=fuzzer,address,undefined",
                        "-fno-sanitize-recover=undefined", "-I", os.path.join(src, "src"),
                        os.path.join(src, "tests", "fuzz", "stack_fuzz.cpp")] + sources + ["-o", exe], check=True)
        corpus = os.path.join(tmp, "corpus")
        os.makedirs(corpus)
        for name, data in SEEDS.items():
            with open(os.path.join(corpus, name), "wb") as f:
                f.write(data)
        r = subprocess.run([exe, corpus, f"-max_total_time={seconds}", "-max_len=1518", "-print_final_stats=1"],
                           capture_output=True, text=True)
        print(r.stderr[-3000:])
        print("PASS" if r.returncode == 0 else "FAILED")
        return r.returncode


if __name__ == "__main__":
    sys.exit(main())
