#!/usr/bin/env python3
"""Bulk TCP through QEMU's user networking: boot TcpEcho (blocking sockets, e1000), then per
connection send N bytes of pseudo-random data while reading the echo back, and compare SHA-256
of what was sent and what came back; close; finally the guest reports its heap in use before
and after (no memory may be left behind) and exits 0.

Usage: tcptest.py TORO BUILD_DIR ELF MEGABYTES CONNECTIONS (the first moves MEGABYTES, the others 1000 bytes)"""
import hashlib
import random
import signal
import socket
import subprocess
import sys
import threading
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
    port = free_port()
    cmd = [sys.executable, toro, "--build-dir", build_dir, "run", "TcpEcho", "--no-build", "--elf", elf,
           "--nic", "e1000", "--fwd", f"tcp:{port}:7", "--timeout", "240", "--append", connections]
    print("$ " + " ".join(cmd), flush=True)
    vm = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    out = b""
    ok = True
    try:
        while b"listening on port 7" not in out:
            line = vm.stdout.readline()
            if not line:
                break
            out += line
        for i in range(int(connections)):
            ok = transfer(port, int(float(megabytes) * 1e6) if i == 0 else 1000, i, quiet=i > 0) and ok
        rest, _ = vm.communicate(timeout=60)
        out += rest
    finally:
        if vm.poll() is None:
            vm.send_signal(signal.SIGTERM)
            vm.wait(30)
    text = out.decode(errors="replace")
    print(text[-2000:])
    import re
    m = re.search(r"bytes in use before (\d+), after (\d+)", text)
    checks = {
        "every transfer came back identical, then end of stream": ok,
        f"served {connections} connections": f"served {connections} connections" in text,
        "no memory left behind": m is not None and m.group(1) == m.group(2),
        "exit code 0": vm.returncode == 0,
    }
    for name, good in checks.items():
        print(("ok   " if good else "FAIL ") + name)
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
