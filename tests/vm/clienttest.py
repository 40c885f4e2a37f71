#!/usr/bin/env python3
"""HttpClient against a server on the host: serve a generated page from a temporary folder
with Python's http.server on a free 127.0.0.1 port, boot HttpClient (it connects to 10.0.2.2,
QEMU's alias for the host), and require the page in the guest's output, exit code 0; then
boot it against a port nobody listens on and require "connection refused" and exit code 1.

Usage: clienttest.py TORO BUILD_DIR ELF"""
import functools
import http.server
import os
import random
import sys
import tempfile
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402


def boot(toro, build_dir, elf, append):
    r = harness.run(harness.toro_command(toro, build_dir, "run", "HttpClient", elf,
                                         ["--nic", "e1000", "--timeout", "60", "--append", append]),
                    timeout=120, merge_stderr=False)
    print(r.out[-3000:] + r.err[-1000:])
    return r


def main():
    toro, build_dir, elf = sys.argv[1:4]
    rng = random.Random(7)
    page = "".join(f"line {i}: {rng.randrange(10**12)}\n" for i in range(300))  # ~6 KB: several segments
    checks = {}
    with tempfile.TemporaryDirectory() as root:
        with open(os.path.join(root, "page.txt"), "w") as f:
            f.write(page)
        handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=root)
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        port = server.server_address[1]
        r = boot(toro, build_dir, elf, f"{port},page.txt")
        server.shutdown()
    out = r.out.replace("\r\n", "\n")
    checks["connected and got 200"] = "HTTP/1.0 200" in out
    checks["the whole page arrived"] = page in out
    checks["exit code 0"] = r.code == 0
    r = boot(toro, build_dir, elf, str(harness.free_port()))
    checks["closed port: connection refused, exit code 1"] = "connection refused" in r.out and r.code == 1
    return harness.report(checks)


if __name__ == "__main__":
    sys.exit(main())
