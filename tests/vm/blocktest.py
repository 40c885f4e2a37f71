#!/usr/bin/env python3
"""Boot tests/vm/BlockDevice with a disk made here and check the console and the disk.

The disk: 16 MiB, an MBR with two partitions (0x83 at LBA 2048, 16384 sectors; 0x0C at LBA
18432, 14336 sectors) and every other sector filled with the pattern BlockDevice checks: word i
(of 64) of sector LBA is 0x544F524F00000000 | LBA << 8 | i. After the run, the sectors the guest
wrote (300 from LBA 2148, and LBA 32767) must hold the pattern's complement, and every other
sector must be as it was; with --disk-readonly in the case's `run` line, nothing may change. An
IDE disk is made sparse to 2^28 + 2048 sectors: 4 sectors from LBA 2^28 - 2 are written too.
`{spare}` in the case's run line stands for an empty 1 MiB image (a disk ahead of the test's).

Usage: blocktest.py TORO BUILD_DIR IMAGE --case FILE NAME (the case's run/exit/expect/reject lines
as vmtest.py reads them; the disk is added with --disk, to tools/toro run, or to tools/toro bochs
when the case says `image bochs`)."""
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
# IDE disks (--disk-if ide, Bochs) are made sparse to 2^28 + 2048 sectors, so that the guest
# also writes across the boundary of 28-bit LBA (48-bit commands).
BOUNDARY = 1 << 28
BIG_SECTORS = BOUNDARY + 2048


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
        data = f.read(SECTORS * 512)
        far = os.path.getsize(path) >= (BOUNDARY + 8) * 512
        if far:  # an IDE disk made big (sparse): 4 sectors written across LBA 2^28
            f.seek((BOUNDARY - 3) * 512)
            beyond = f.read(6 * 512)
    for lba in range(1, SECTORS):
        want = complement(lba) if lba in WRITTEN and not readonly else pattern(lba)
        if data[lba * 512:(lba + 1) * 512] != want:
            wrong.append(lba)
    if far:
        for k, lba in enumerate(range(BOUNDARY - 3, BOUNDARY + 3)):
            want = complement(lba) if BOUNDARY - 2 <= lba < BOUNDARY + 2 and not readonly else bytes(512)
            if beyond[k * 512:(k + 1) * 512] != want:
                wrong.append(lba)
    return wrong


def main():
    args, case = cases.driver_arguments("BlockDevice.elf")
    harness.exit_on_signals()
    readonly = "--disk-readonly" in case.run
    with tempfile.TemporaryDirectory(prefix="toro-blocktest-") as tmp:
        disk = os.path.join(tmp, "disk.img")
        make_disk(disk)
        if case.image == "bochs" or "ide" in case.run:
            os.truncate(disk, BIG_SECTORS * 512)
        # {spare} in the run line: an empty 1 MiB image (a disk before the test's on the bus).
        spare = os.path.join(tmp, "spare.img")
        with open(spare, "wb") as f:
            f.truncate(1 << 20)
        case.run = [spare if option == "{spare}" else option for option in case.run]
        if case.image == "bochs":  # the disk on ATA0's slave (tools/toro bochs --disk)
            cmd = harness.toro_command(args.toro, args.build_dir, "bochs", "BlockDevice",
                                       options=case.run + ["--disk", disk])
        else:
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
