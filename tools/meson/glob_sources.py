#!/usr/bin/env python3
"""Print the source files (.cpp .cc .c .S) of a Toro program folder, one per line, sorted.

Used by tools/meson/program.meson at configure time: after adding a source file to a program
folder, run `meson setup --reconfigure build` (tools/toro does it for you when it builds)."""
import os
import sys

folder = sys.argv[1]
for name in sorted(os.listdir(folder)):
    if name.endswith(('.cpp', '.cc', '.c', '.S')):
        print(name)
