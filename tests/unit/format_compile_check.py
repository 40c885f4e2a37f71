#!/usr/bin/env python3
"""WriteConsoleF's format strings are checked at compile time: compile small programs against
the public header and require that mismatched ones fail (with the checker's message) and
matching ones build. Usage: format_compile_check.py CXX SRC_DIR"""
import os
import subprocess
import sys
import tempfile

CXX, SRC = sys.argv[1], sys.argv[2]

CASES = [
    # (body, expected error text or None for "must compile")
    ('WriteConsoleF("%d %p\\n", 1, "x");', None),
    ('WriteConsoleF("100%");', None),
    ('WriteConsoleF(RuntimeFormat{fmt}, 1);', None),
    ('WriteConsoleF("%d", "text");', "format_error_conversion_needs_an_integer_argument"),
    ('WriteConsoleF("%s", 5);', "format_error_conversion_needs_a_c_string_argument"),
    ('WriteConsoleF("%c", "s");', "format_error_conversion_needs_a_character_argument"),
    ('WriteConsoleF("%p", (const unsigned char*)fmt);', None),
    ('WriteConsoleF("%s", (const unsigned char*)fmt);', "format_error_conversion_needs_a_c_string_argument"),
    ('WriteConsoleF("x", 1);', "format_error_more_arguments_than_conversions"),
    ('WriteConsoleF("%d", 1.5);', "takes integers, enums, chars, pointers and C strings only"),
    ('WriteConsoleF(fmt);', "could not convert"),
]

failures = 0
with tempfile.TemporaryDirectory() as tmp:
    for i, (body, expected) in enumerate(CASES):
        path = os.path.join(tmp, f"case{i}.cpp")
        with open(path, "w") as f:
            f.write("#include <toro.h>\nvoid f(const char* fmt) { (void)fmt; %s }\n" % body)
        r = subprocess.run([CXX, "-std=c++20", "-fsyntax-only", "-ffreestanding",
                            "-I", SRC, "-I", os.path.join(SRC, "api"), path],
                           capture_output=True, text=True)
        if expected is None:
            ok = r.returncode == 0
        else:
            ok = r.returncode != 0 and expected in r.stderr
        print(("ok   " if ok else "FAIL ") + body)
        if not ok:
            failures += 1
            print(r.stderr[-2000:])
print(f"{len(CASES) - failures} passed, {failures} failed")
sys.exit(1 if failures else 0)
