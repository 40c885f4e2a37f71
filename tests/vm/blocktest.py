#!/usr/bin/env python3
"""Boot tests/vm/BlockDevice with a disk made here and check the console and the disk.

The disk: 16 MiB, an MBR with two partitions (0x83 at LBA 2048, 16384 sectors; 0x0C at LBA
18432, 14336 sectors) and every other sector filled with the pattern BlockDevice checks: word i
(of 64) of sector LBA is 0x544F524F00000000 | LBA << 8 | i. After the run, the sectors the guest
wrote (300 from LBA 2148, and LBA 32767) must hold the pattern's complement, and every other
sector must be as it was; with --disk-readonly in the case's `run` line, nothing may change.

Usage: blocktest.py TORO BUILD_DIR ELF --case FILE NAME (the case's run/exit/expect/reject lines
as vmtest.py reads them; the disk is added with --disk)."""
import os
import struct
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cases  # noqa: E402
import harness  # noqa: E402

SECTORS = 32768
PARTITIONS = [(0x83, 2048, 16384), (0x0C, 18432, 14336)]
WRITTEN = set(range(2148, 2448)) | {SECTORS - 1}


def pattern(lba):
    return struct.pack("<64Q", *[0x544F524F00000000 | lba << 8 | i for i in range(64)])


def complement(lba):
    return struct.pack("<64Q", *[~(0x544F524F00000000 | lba << 8 | i) & (2**64 - 1) for i in range(64)])


def make_disk(path):
    mbr = bytearray(512)
    for k, (ptype, first, count) in enumerate(PARTITIONS):
        entry = struct.pack("<B3sB3sII", 0, b"\xfe\xff\xff", ptype, b"\xfe\xff\xff", first, count)
        mbr[446 + 16 * k:446 + 16 * (k + 1)] = entry
    mbr[510:512] = b"\x55\xaa"
    with open(path, "wb") as f:
        f.write(mbr)
        for lba in range(1, SECTORS):
            f.write(pattern(lba))


def check_disk(path, readonly):
    """The LBAs that do not hold what they should."""
    wrong = []
    with open(path, "rb") as f:
        data = f.read()
    for lba in range(1, SECTORS):
        want = complement(lba) if lba in WRITTEN and not readonly else pattern(lba)
        if data[lba * 512:(lba + 1) * 512] != want:
            wrong.append(lba)
    return wrong


def main():
    args, case = cases.driver_arguments("BlockDevice.elf")
    harness.exit_on_signals()
    readonly = "--disk-readonly" in case.run
    with tempfile.TemporaryDirectory(prefix="toro-blocktest-") as tmp:
        disk = os.path.join(tmp, "disk.img")
        make_disk(disk)
        cmd = harness.toro_command(args.toro, args.build_dir, "run", "BlockDevice", os.path.abspath(args.image),
                                   case.run + ["--disk", disk])
        r = harness.run(cmd)
        out = r.out.replace("\r\n", "\n")
        print(out)
        failures = case.check(out, r.code)
        wrong = check_disk(disk, readonly)
        if wrong:
            failures.append(f"{len(wrong)} sectors of the disk are not as expected, from LBA {wrong[0]}")
    for failure in failures:
        print(f"FAIL: {failure}")
    return harness.verdict(not failures)


if __name__ == "__main__":
    sys.exit(main())
