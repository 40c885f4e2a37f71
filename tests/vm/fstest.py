#!/usr/bin/env python3
"""Disks and files end to end: images made on the host (tools/diskimage.py), a Toro program
reading and writing them in a VM (tools/toro run --disk), and the host's tools judging the
image afterwards (fsck.fat -n / e2fsck -fn, the files' bytes).

Usage: fstest.py TORO BUILD_DIR ELF MODE FS IFACE [MACHINE]
  MODE   toro   TestFilesystem (Toro 2019): FAT on virtioblk minor 0, the PASSED set 0..13 on the
                debug device (WriteDebug, tools/toro --debug-log), exactly and in order
         vvfat  the same on QEMU's fat:rw:DIR, as Toro ran it
         head   TestFilesystemHead (Toro HEAD): `-append FS,DEVICE,MINOR`, PASSED 0..14, and /test
                on the host afterwards holds the 34 bytes it wrote
         write  FileIo write: twelve files written, each closed; QEMU is killed (SIGKILL) at
                `FileIo: all closed`; then the volume must be clean and every file byte-exact
         read   FileIo read: a 3 MiB random file put on the volume by the host; the guest's SHA-1
                of it (read forward, and back to front through seeks) must be the host's
         bochs  FileIo without parameters on Bochs' ATA0 slave: writes, closes, ends; the host
                checks the volume and the files
         wsdisk WebSocketServer `-append virtionet,disk`: its page and icon from FAT on ATA0's slave
  FS     fat12, fat16, fat32, ext2 (ext2-1k, ext2-2k, ext2-4k: the block size; ext2-r0: revision 0)
  IFACE  virtio (legacy PCI), virtio-modern, ide (primary slave: ATA0, minors 6..9)
"""
import hashlib
import os
import random
import re
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cases  # noqa: E402
import harness  # noqa: E402

sys.path.insert(0, os.path.join(harness.ROOT, "tools"))
import diskimage  # noqa: E402

TEST_TEXT = b"abcdefeedfegghkkgiugjfhuiifjijefij"
FILEIO_SIZES = [0, 1, 511, 512, 513, 4096, 4097, 65536, 100000, 333333, 1048576 + 7, 2048]
PASSED_2019 = ["TestOpen-%d" % i for i in range(7)] + ["TestStat-%d" % i for i in range(7, 12)] + \
              ["TestRead-12", "TestRead-13"]
PASSED_HEAD = ["TestOpen-%d" % i for i in range(7)] + ["TestStat-%d" % i for i in range(7, 12)] + \
              ["TestRead-12", "TestCreate-13", "TestWrite-14"]


def fileio_pattern(file, size):
    """What FileIo writes into /out/fFILE.bin (its Pattern())."""
    return bytes((file * 131 + o * 7 + (o >> 9)) & 0xFF for o in range(size))


def make_image(path, fs, folder):
    kw = {"fs": "ext2" if fs.startswith("ext2") else "fat"}
    if fs.startswith("fat"):
        kw["fat"] = int(fs[3:])
        if kw["fat"] == 12:
            kw["size_mb"] = 8
    if fs in ("ext2-1k", "ext2-2k", "ext2-4k"):
        kw["block_size"] = int(fs[5]) * 1024
    if fs == "ext2-r0":
        kw["revision"] = 0
    diskimage.make(path, folder=folder, **kw)


def device_and_minor(iface):
    # An image is one MBR partition: virtio-blk's minor 0 is slot 0; ATA's primary slave (tools/toro
    # --disk-if ide) is minor 5 whole and 6 for its first partition.
    return ("ATA0", 6) if iface == "ide" else ("virtioblk", 0)


def passed_lines(text):
    return [m.group(1) for m in re.finditer(r"^(Test\w+-\d+): PASSED\r?$", text, re.M)]


def run_with_debug(toro, build_dir, app, elf, options, tmp):
    """run_to_end with the debug device (WriteDebug's lines) in a file: the exit code, the console,
    and the debug device's text with Toro's prefix taken off every line."""
    log = os.path.join(tmp, "debug.log")
    code, text = run_to_end(toro, build_dir, app, elf, options + ["--debug-log", log])
    with open(log, "rb") as f:
        debug = f.read().decode(errors="replace").replace("\r\n", "\n")
    print("--- debug device (COM2) ---\n" + debug)
    return code, text, "\n".join(cases.DEBUG_PREFIX.sub("", line) for line in debug.split("\n"))


def run_to_end(toro, build_dir, app, elf, options, timeout=240):
    vm = harness.Vm.toro(toro, build_dir, app, elf, options + ["--timeout", str(timeout)])
    try:
        code = vm.wait(timeout + 30)
    finally:
        vm.stop()
    return code, vm.text()


def main():
    toro, build_dir, elf, mode, fs, iface = sys.argv[1:7]
    machine = sys.argv[7] if len(sys.argv) > 7 else "pc"
    checks = {}
    tmp = tempfile.mkdtemp(prefix="toro-fstest-", dir=build_dir)
    img = os.path.join(tmp, "disk.img")
    disk_if = ["--disk-if", iface]
    common = ["--machine", machine, "--nic", "none"]
    device, minor = device_and_minor(iface)

    if mode in ("toro", "vvfat"):
        files = diskimage.toro_testfiles(os.path.join(tmp, "testfiles"))
        disk = "fat:rw:" + files if mode == "vvfat" else img
        if mode == "toro":
            make_image(img, fs, files)
        code, text, debug = run_with_debug(toro, build_dir, "TestFilesystem", elf,
                                           common + ["--disk", disk] + disk_if, tmp)
        print(text[-4000:])
        checks["exit code 0"] = code == 0
        checks["the debug device's PASSED set TestOpen-0 .. TestRead-13, in order"] = \
            passed_lines(debug) == PASSED_2019
        checks["no FAILED line"] = "FAILED" not in text + debug
        checks["mount line"] = "SysMount: Filesystem mounted on CPU#0" in text
        if mode == "toro":
            clean, out = diskimage.fsck(img)
            checks["the volume is clean afterwards"] = clean
            if not clean:
                print(out)

    elif mode == "bochs":
        # FileIo without parameters on Bochs' ATA0 slave (Bochs has no kernel command line): it
        # writes the twelve files, closes each, and ends; then the host judges the image.
        make_image(img, fs, None)
        r = harness.run(harness.toro_command(toro, build_dir, "bochs", "FileIo", None,
                                             ["--disk", img, "--timeout", "600"]), timeout=660)
        text = r.out
        print(text[-3000:])
        checks["exit code 0"] = r.code == 0
        checks["the guest closed every file"] = "FileIo: all closed" in text
        checks["no FAILED line"] = "FAILED" not in text
        clean, out = diskimage.fsck(img)
        checks["the volume is clean afterwards (fsck)"] = clean
        if not clean:
            print(out)
        bad = [i for i, size in enumerate(FILEIO_SIZES)
               if diskimage.read_file(img, f"/out/f{i}.bin") != fileio_pattern(i, size)]
        checks["every file byte-exact on the host"] = not bad

    elif mode == "head":
        files = diskimage.toro_testfiles(os.path.join(tmp, "testfiles"))
        make_image(img, fs, files)
        fsname = "ext2" if fs.startswith("ext2") else "fat"
        append = f"{fsname},{device},{minor}"
        code, text, debug = run_with_debug(toro, build_dir, "TestFilesystemHead", elf,
                                           common + ["--disk", img, "--append", append] + disk_if, tmp)
        print(text[-4000:])
        checks["exit code 0"] = code == 0
        checks["the debug device's PASSED set TestOpen-0 .. TestWrite-14, in order"] = \
            passed_lines(debug) == PASSED_HEAD
        checks["no FAILED line"] = "FAILED" not in text + debug
        clean, out = diskimage.fsck(img)
        checks["the volume is clean afterwards (fsck)"] = clean
        if not clean:
            print(out)
        checks["/test on the host holds what the guest wrote"] = diskimage.read_file(img, "/test") == TEST_TEXT
        checks["/1Mfile untouched"] = diskimage.read_file(img, "/1Mfile") == bytes(1048576)

    elif mode == "write":
        make_image(img, fs, None)
        fsname = "ext2" if fs.startswith("ext2") else "fat"
        vm = harness.Vm.toro(toro, build_dir, "FileIo", elf,
                             common + ["--disk", img, "--append", f"{fsname},{device},{minor},write", "--timeout",
                                       "300"] + disk_if)
        try:
            reached = vm.wait_for("FileIo: all closed", 300)
        finally:
            vm.kill()  # SIGKILL: nothing after the last close may help the disk
        text = vm.text()
        print(text[-3000:])
        checks["the guest closed every file"] = reached
        checks["no FAILED line"] = "FAILED" not in text
        clean, out = diskimage.fsck(img)
        checks["the volume is clean after SIGKILL (fsck)"] = clean
        if not clean:
            print(out)
        bad = []
        for i, size in enumerate(FILEIO_SIZES):
            got = diskimage.read_file(img, f"/out/f{i}.bin")
            if got != fileio_pattern(i, size):
                bad.append(f"f{i}.bin: {None if got is None else len(got)} bytes, want {size}")
        for b in bad:
            print("  " + b)
        checks["every closed file byte-exact on the host"] = reached and not bad

    elif mode == "read":
        folder = os.path.join(tmp, "in-files")
        os.makedirs(os.path.join(folder, "in"))
        data = random.Random(1234).randbytes(3 * 1048576 + 1234)
        with open(os.path.join(folder, "in", "data.bin"), "wb") as f:
            f.write(data)
        make_image(img, fs, folder)
        fsname = "ext2" if fs.startswith("ext2") else "fat"
        code, text = run_to_end(toro, build_dir, "FileIo", elf,
                                common + ["--disk", img, "--append", f"{fsname},{device},{minor},read"] + disk_if)
        print(text[-3000:])
        want = hashlib.sha1(data).hexdigest()
        checks["exit code 0"] = code == 0
        checks["the guest read the host's bytes (SHA-1)"] = \
            f"FileIo: read /in/data.bin size {len(data)} sha1 {want}" in text
        checks["reads through seeks match"] = f"FileIo: seek reads match, sha1 {want}" in text
    elif mode == "wsdisk":
        # WebSocketServer with Toro's disk: the page and icon from FAT on ATA0's slave (minor 6).
        folder = os.path.join(tmp, "ws-files")
        os.makedirs(os.path.join(folder, "web"))
        rnd = random.Random(99)
        page = b"<!DOCTYPE html><html><body>" + bytes(rnd.choice(b"abcdefgh ") for _ in range(11400)) + \
            b"</body></html>\n"
        icon = rnd.randbytes(1150)
        for name, data in (("index.htm", page), ("favicon.ico", icon)):
            with open(os.path.join(folder, "web", name), "wb") as f:
                f.write(data)
        make_image(img, fs, folder)
        port = harness.free_port()
        vm = harness.Vm.toro(toro, build_dir, "WebSocketServer", elf,
                             ["--machine", machine, "--nic", "virtio", "--fwd", f"tcp:{port}:80", "--disk", img,
                              "--disk-if", "ide", "--append", "virtionet,disk", "--timeout", "120"])
        try:
            checks["listening"] = vm.wait_for("WebServer: listening on port 80", 90)

            def body(path):
                try:
                    answer = harness.http_get("127.0.0.1", port, path, 30)
                except OSError:
                    return None
                head, _, rest = answer.partition(b"\r\n\r\n")
                return head, rest

            got = body("/")
            checks["/ is /web/index.htm from the disk"] = got is not None and got[1] == page and \
                b"Content-Type: text/html" in got[0]
            got = body("/favicon.ico")
            checks["/favicon.ico from the disk, image/x-icon"] = got is not None and got[1] == icon and \
                b"Content-Type: image/x-icon" in got[0]
        finally:
            vm.stop()
        text = vm.text()
        print(text[-2500:])
        checks["Toro's loaded lines"] = f"ToroWebSockets: loaded, Size: {len(page)} bytes" in text and \
            f"ToroWebSockets: loaded, Size: {len(icon)} bytes" in text
    else:
        print(f"unknown mode {mode}")
        return 2

    if all(checks.values()):
        harness.run(["rm", "-rf", tmp])
    return harness.report(checks)


if __name__ == "__main__":
    harness.exit_on_signals()
    sys.exit(main())
