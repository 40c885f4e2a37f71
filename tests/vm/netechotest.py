#!/usr/bin/env python3
"""TestNetworking (toro-spec §3.5) over TCP through QEMU's user networking instead of vsock.

server: the guest listens on port 80 (forwarded from a free host port); for 2, 4, ..., 512 KiB
one connection each sends random bytes, keeps the connection open while the guest reads until
1 s without data, then reads the echo until the guest closes; every echo must be byte-exact.
client: the host listens on a free port of 127.0.0.1 (the guest reaches it as 10.0.2.2) and
echoes what it reads in 256-byte chunks; the guest prints TestClient-0: PASSED.

Usage: netechotest.py TORO BUILD_DIR ELF server|client"""
import os
import random
import socket
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

SIZES = [2048 << k for k in range(9)]  # 2 KiB .. 512 KiB


def echo_once(port, size, seed):
    data = random.Random(seed).randbytes(size)
    with socket.create_connection(("127.0.0.1", port), timeout=60) as s:
        s.sendall(data)
        got = bytearray()
        while True:  # the guest echoes after 1 s without data, then closes
            chunk = s.recv(65536)
            if not chunk:
                break
            got.extend(chunk)
    same = bytes(got) == data
    print(f"{size} bytes sent, {len(got)} back, {'identical' if same else 'DIFFERENT'}", flush=True)
    return same


def server(toro, build_dir, elf):
    port = harness.free_port()
    vm = harness.Vm.toro(toro, build_dir, "TestNetworking", elf,
                         ["--nic", "e1000", "--fwd", f"tcp:{port}:80", "--timeout", "200",
                          "--append", f"server,{len(SIZES)}"])
    try:
        vm.wait_for("listening on port 80", 120)
        results = [echo_once(port, size, k) for k, size in enumerate(SIZES)]
        code = vm.wait(60)
    finally:
        vm.stop()
    text = vm.text()
    print(text[-1500:])
    return harness.report({
        "TestIPStrtoArray-0: PASSED": "TestIPStrtoArray-0: PASSED" in text,
        "TestGetMacAddress-0: PASSED": "TestGetMacAddress-0: PASSED" in text,
        "TestSocketLifetime-0: PASSED (UserDefined read after close, a second close harmless)":
            "TestSocketLifetime-0: PASSED" in text,
        "every payload (2 KiB .. 512 KiB) echoed byte-exact": len(results) == len(SIZES) and all(results),
        "exit code 0": code == 0,
    })


def client(toro, build_dir, elf):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    port = listener.getsockname()[1]
    served = []

    def echo():
        c, _ = listener.accept()
        with c:
            c.settimeout(30)
            total = 0
            while True:
                chunk = c.recv(256)
                if not chunk:
                    break
                c.sendall(chunk)
                total += len(chunk)
            served.append(total)

    t = threading.Thread(target=echo, daemon=True)
    t.start()
    vm = harness.Vm.toro(toro, build_dir, "TestNetworking", elf,
                         ["--nic", "e1000", "--timeout", "120", "--append", f"client,{port}"])
    try:
        code = vm.wait(150)
    finally:
        vm.stop()
        listener.close()
    t.join(5)
    text = vm.text()
    print(text[-1500:])
    return harness.report({
        "TestIPStrtoArray-0: PASSED": "TestIPStrtoArray-0: PASSED" in text,
        "TestGetMacAddress-0: PASSED": "TestGetMacAddress-0: PASSED" in text,
        "TestClient-0: PASSED": "TestClient-0: PASSED" in text,
        "the host echoed 261 bytes, then saw the guest close": served == [261],
        "exit code 0": code == 0,
    })


def main():
    toro, build_dir, elf, mode = sys.argv[1:5]
    return server(toro, build_dir, elf) if mode == "server" else client(toro, build_dir, elf)


if __name__ == "__main__":
    sys.exit(main())
