#!/usr/bin/env python3
"""The layout check: every C and C++ file of the tree is laid out as .clang-format says
(clang-format from Debian's clang-format package). Fails with the list of files and the first
lines that differ; `tools/toro format` (or clang-format -i FILE) fixes them.

Usage: format_check.py SOURCE_ROOT [--fix]   (--fix: rewrite the files that differ)"""
import difflib
import os
import shutil
import subprocess
import sys

FOLDERS = ["src", "apps", "tests", "bench"]
SUFFIXES = (".cpp", ".cc", ".h", ".c")


def files(root):
    for folder in FOLDERS:
        for dirpath, dirnames, names in os.walk(os.path.join(root, folder)):
            dirnames[:] = [d for d in dirnames if not d.startswith(".") and d != "__pycache__"]
            for n in sorted(names):
                if n.endswith(SUFFIXES):
                    yield os.path.join(dirpath, n)


def main():
    root = sys.argv[1]
    fix = "--fix" in sys.argv[2:]
    tool = shutil.which("clang-format") or shutil.which("clang-format-14")
    if tool is None:
        print("FAIL: clang-format not installed (tools/setup installs it)")
        return 1
    bad = 0
    checked = 0
    for path in files(root):
        with open(path, encoding="utf-8") as f:
            text = f.read()
        r = subprocess.run([tool, "--style=file:" + os.path.join(root, ".clang-format"),
                            "--assume-filename=" + path], input=text, capture_output=True, text=True)
        if r.returncode != 0:
            print(f"FAIL: clang-format could not read {path}: {r.stderr.strip()}")
            return 1
        checked += 1
        if r.stdout != text and fix:
            with open(path, "w", encoding="utf-8") as f:
                f.write(r.stdout)
            print("formatted " + os.path.relpath(path, root))
        elif r.stdout != text:
            bad += 1
            rel = os.path.relpath(path, root)
            diff = list(difflib.unified_diff(text.splitlines(), r.stdout.splitlines(), rel, rel + " (formatted)",
                                             n=0, lineterm=""))
            print("\n".join(diff[:12]))
    print(f"{checked} files checked, {bad} not formatted" + ("" if bad == 0 else
          " (fix: tools/toro format, or clang-format -i FILE)"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
