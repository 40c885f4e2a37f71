#!/usr/bin/env python3
"""docs/API.md against tests/api/api_names.cpp: every name whose row says same, differs or
extension must be used in the compile test (as a whole word), and every name the compile test
checks with SIG(...) must have such a row. Prints what is wrong; exit status 1 if anything is.

Usage: check_inventory.py API.md COMPILE_TEST.cpp..."""
import re
import sys

ROW = re.compile(r"^\| `([^`]+)` \| ([^|]+) \| (same|differs|extension|absent) \|")


def main():
    doc, tests = sys.argv[1], sys.argv[2:]
    test = " + ".join(tests)
    present, absent, problems = set(), set(), []
    for n, line in enumerate(open(doc, encoding="utf-8"), 1):
        if line.startswith("| `"):
            m = ROW.match(line)
            if not m:
                problems.append(f"{doc}:{n}: a row without a known status: {line.strip()}")
                continue
            name, status = m.group(1), m.group(3)
            if name in present or name in absent:
                problems.append(f"{doc}:{n}: {name} is listed twice")
            (absent if status == "absent" else present).add(name)
    source = "\n".join(open(t, encoding="utf-8").read() for t in tests)
    code = re.sub(r"//[^\n]*|#define[^\n]*", "", source)
    words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", code))
    for name in sorted(present - words):
        problems.append(f"{test}: {name} is listed as present in {doc} but the compile test does not use it")
    for name in sorted(set(re.findall(r"\bSIG\((\w+),", code)) - present):
        problems.append(f"{doc}: {name} is checked by the compile test but has no same/differs/extension row")
    for name in sorted(absent & set(re.findall(r"\bSIG\((\w+),", code))):
        problems.append(f"{doc}: {name} is listed as absent but the compile test uses it")
    for p in problems:
        print(p)
    print(f"{len(present)} names present, {len(absent)} absent: {'FAILED' if problems else 'PASS'}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
