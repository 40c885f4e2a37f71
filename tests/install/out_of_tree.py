#!/usr/bin/env python3
"""An application outside the tree builds against the *installed* Toro (meson install ->
pkg-config toro -> c++), exactly as the README's "Out of tree" section says, and boots; and a
second one built with C++ exceptions (pkg-config toro-eh: libtoro_eh.a, linker-eh.ld) catches
a division by zero as EDivByZero.

Usage: out_of_tree.py TORO BUILD_DIR"""
import glob
import os
import shlex
import subprocess
import sys
import tempfile

APP = r'''
#include <toro.h>

[[gnu::noinline]] static void ReportFromOutside(LongInt value) {
  WriteConsoleF("Out of tree app: value %d, first param %p\n", value, GetKernelParam(0));
}

int main() {
  ReportFromOutside(41 + 1);
  Panic(GetKernelParam(1) != nullptr, "out-of-tree panic\n");
  return 3;
}
'''

APP_EH = r'''
#include <toro.h>

volatile LongInt g_zero = 0;
[[gnu::noinline]] static LongInt Divide(LongInt a, LongInt b) { return a / b; }

int main() {
  try {
    WriteConsoleF("Out of tree eh app: %d\n", Divide(1, g_zero));
  } catch (const EDivByZero& E) {
    WriteConsoleF("Out of tree eh app caught: %p\n", E.Message);
    return 4;
  }
  return 5;
}
'''


def run(cmd, **kw):
    print("$ " + " ".join(shlex.quote(c) for c in cmd), flush=True)
    return subprocess.run(cmd, check=True, **kw)


def main():
    toro, build_dir = sys.argv[1], sys.argv[2]
    with tempfile.TemporaryDirectory(prefix="toro-oot-") as tmp:
        dest = os.path.join(tmp, "dest")
        run(["meson", "install", "-C", build_dir, "--destdir", dest, "--quiet"])
        pcs = glob.glob(os.path.join(dest, "**", "pkgconfig", "toro.pc"), recursive=True)
        if not pcs:
            print("FAIL: no toro.pc installed")
            return 1
        pc_dir = os.path.dirname(pcs[0])
        if not os.path.isfile(os.path.join(pc_dir, "toro-gdb.py")):
            print("FAIL: the gdb extension toro-gdb.py is not installed beside toro.pc")
            return 1
        prefix_line = [l for l in open(pcs[0]) if l.startswith("prefix=")][0].strip()
        prefix = dest + prefix_line.split("=", 1)[1]
        env = dict(os.environ, PKG_CONFIG_PATH=pc_dir)
        ksyms = glob.glob(os.path.join(dest, "**", "bin", "toro-ksyms"), recursive=True)[0]

        def build(name, source, package):
            """The README's steps: compile, link, embed the symbol table, link again."""
            pc = ["pkg-config", f"--define-variable=prefix={prefix}", package]
            cflags = shlex.split(run(pc + ["--cflags"], env=env, capture_output=True, text=True).stdout)
            libs = shlex.split(run(pc + ["--libs"], env=env, capture_output=True, text=True).stdout)
            app = os.path.join(tmp, name)
            os.makedirs(app)
            with open(os.path.join(app, "main.cpp"), "w") as f:
                f.write(source)
            os.chdir(app)
            run(["c++"] + cflags + ["-O2", "-c", "main.cpp", "-o", "main.o"])
            run(["c++", "main.o"] + libs + ["-o", "app.pass1.elf"])
            run([ksyms, "app.pass1.elf", "app.ksyms.o"])
            run(["c++", "main.o", "app.ksyms.o"] + libs + ["-o", "app.elf"])
            return os.path.join(app, "app.elf")

        elf = build("app", APP, "toro")
        elf_eh = build("app-eh", APP_EH, "toro-eh")

        ok = True
        for image, append, code, expect in [
                (elf, "hello", 3, "Out of tree app: value 42, first param hello"),
                (elf, "hello panic", 121, "] main+0x"),
                (elf_eh, "eh", 4, "Out of tree eh app caught: Division by Zero")]:
            r = subprocess.run([sys.executable, toro, "run", "outside", "--elf", image, "--append", append],
                               capture_output=True, text=True)
            print(r.stdout)
            if r.returncode != code or expect not in r.stdout:
                print(f"FAIL: -append '{append}': exit {r.returncode} (want {code}), '{expect}' "
                      f"{'found' if expect in r.stdout else 'missing'}")
                ok = False
        print("PASS" if ok else "FAILED")
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
