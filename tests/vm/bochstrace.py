#!/usr/bin/env python3
"""`tools/toro bochs --trace` writes a per-instruction trace with registers for a symbol window:
trace HelloWorld from long_mode_entry to arch::init_descriptor_tables and require the
instructions of that window (the CR4 write, the call to kernel_entry) and register dumps.

Usage: bochstrace.py TORO BUILD_DIR IMAGE"""
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402


def main():
    toro, build_dir, _image = sys.argv[1:4]
    elf = os.path.join(build_dir, "apps", "HelloWorld", "HelloWorld.elf")
    nm = subprocess.run(["nm", elf], capture_output=True, text=True, check=True).stdout
    kernel_entry = int(next(l.split()[0] for l in nm.splitlines() if l.endswith(" kernel_entry")), 16)
    with tempfile.TemporaryDirectory() as tmp:
        trace = os.path.join(tmp, "trace.txt")
        r = harness.run(harness.toro_command(toro, build_dir, "bochs", "HelloWorld", options=[
            "--trace", trace, "--trace-from", "long_mode_entry", "--trace-to", "arch::init_descriptor_tables"]),
            merge_stderr=False)
        print(r.out[-500:])
        text = open(trace, errors="replace").read() if os.path.exists(trace) else ""
        checks = {
            "exit code 0": r.code == 0,
            "trace written": len(text) > 0,
            "CR4 write traced": re.search(r"mov cr4, rax", text) is not None,
            "call to kernel_entry traced": f"(0x{kernel_entry:08x})" in text,
            "registers dumped": re.search(r"rax: [0-9a-f]{8}_[0-9a-f]{8}", text, re.I) is not None,
            "window respected (< 2 MB)": len(text) < 2_000_000,
        }
        return harness.report(checks)


if __name__ == "__main__":
    sys.exit(main())
