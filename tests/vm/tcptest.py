#!/usr/bin/env python3
"""Bulk TCP through QEMU's user networking: boot TcpEcho (blocking sockets, e1000), then per
connection send N bytes of pseudo-random data while reading the echo back, and compare SHA-256
of what was sent and what came back; close; finally the guest reports its heap in use before
and after (no memory may be left behind) and exits 0.

Usage: tcptest.py TORO BUILD_DIR ELF MEGABYTES CONNECTIONS (the first moves MEGABYTES, the others 1000 bytes)"""
import hashlib
import os
import random
import re
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402


def transfer(port, size, seed, quiet=False):
    data = random.Random(seed).randbytes(size)
    s = socket.create_connection(("127.0.0.1", port), timeout=60)
    got = bytearray()

    def reader():
        while len(got) < size:
            chunk = s.recv(65536)
            if not chunk:
                break
            got.extend(chunk)

    t = threading.Thread(target=reader)
    t.start()
    start = time.monotonic()
    s.sendall(data)
    t.join(120)
    elapsed = time.monotonic() - start
    s.shutdown(socket.SHUT_WR)
    rest = s.recv(10)  # the server closes after our FIN: end of stream
    s.close()
    same = hashlib.sha256(data).hexdigest() == hashlib.sha256(bytes(got)).hexdigest()
    if not quiet or not same or rest != b"":
        print(f"connection {seed}: {size} bytes out, {len(got)} back in {elapsed:.2f} s "
              f"({2 * size / elapsed / 1e6:.1f} MB/s both ways), sha256 {'equal' if same else 'DIFFERENT'}, "
              f"end of stream {'ok' if rest == b'' else 'MISSING'}", flush=True)
    return same and rest == b""


def main():
    toro, build_dir, elf, megabytes, connections = sys.argv[1:6]
    port = harness.free_port()
    vm = harness.Vm.toro(toro, build_dir, "TcpEcho", elf,
                         ["--nic", "e1000", "--fwd", f"tcp:{port}:7", "--timeout", "240", "--append", connections])
    ok = True
    try:
        vm.wait_for("listening on port 7", 240)
        for i in range(int(connections)):
            ok = transfer(port, int(float(megabytes) * 1e6) if i == 0 else 1000, i, quiet=i > 0) and ok
        code = vm.wait(60)
    finally:
        vm.stop()
    text = vm.text()
    print(text[-2000:])
    m = re.search(r"bytes in use before (\d+), after (\d+)", text)
    return harness.report({
        "every transfer came back identical, then end of stream": ok,
        f"served {connections} connections": f"served {connections} connections" in text,
        "no memory left behind": m is not None and m.group(1) == m.group(2),
        "exit code 0": code == 0,
    })


if __name__ == "__main__":
    sys.exit(main())
