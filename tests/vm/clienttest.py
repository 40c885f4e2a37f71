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
import socket
import subprocess
import sys
import tempfile
import threading


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def boot(toro, build_dir, elf, append):
    cmd = [sys.executable, toro, "--build-dir", build_dir, "run", "HttpClient", "--no-build", "--elf", elf,
           "--nic", "e1000", "--timeout", "60", "--append", append]
    print("$ " + " ".join(cmd), flush=True)
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    print(r.stdout[-3000:] + r.stderr[-1000:])
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
    out = r.stdout.replace("\r\n", "\n")
    checks["connected and got 200"] = "HTTP/1.0 200" in out
    checks["the whole page arrived"] = page in out
    checks["exit code 0"] = r.returncode == 0
    r = boot(toro, build_dir, elf, str(free_port()))
    checks["closed port: connection refused, exit code 1"] = "connection refused" in r.stdout and r.returncode == 1
    for name, good in checks.items():
        print(("ok   " if good else "FAIL ") + name)
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
