#!/usr/bin/env python3
"""UDP echo through QEMU's user networking: boot UdpEcho (address from DHCP) with a host UDP
port forwarded to the guest's port 7, send datagrams from the host, require each echo, then
"quit" and exit code 0.

Usage: udptest.py TORO BUILD_DIR ELF [CARD [MACHINE [core1]]]"""
import os
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402


def main():
    toro, build_dir, elf = sys.argv[1:4]
    card = sys.argv[4] if len(sys.argv) > 4 else "e1000"
    machine = sys.argv[5] if len(sys.argv) > 5 else "pc"
    on_core1 = len(sys.argv) > 6 and sys.argv[6] == "core1"
    port = harness.free_port(udp=True)
    nic = "e1000" if card == "e1000" else "virtio"
    vm = harness.Vm.toro(toro, build_dir, "UdpEcho", elf,
                         ["--machine", machine, "--nic", nic, "--fwd", f"udp:{port}:7",
                          "--append", card + (",core1" if on_core1 else ""), "--timeout", "60"] +
                         (["--smp", "2"] if on_core1 else []))
    ok = True
    try:
        vm.wait_for("UdpEcho: listening", 60)
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.settimeout(5)
        for i, payload in enumerate([b"hello toro", b"x" * 1000, b"y" * 1472, b"\x00\x01\x02"]):  # 1472: a full MTU
            got = None
            for attempt in range(5):  # the very first datagram may wait for ARP on the guest side
                sock.sendto(payload, ("127.0.0.1", port))
                try:
                    got, _ = sock.recvfrom(2048)
                    break
                except socket.timeout:
                    continue
            print(f"datagram {i}: sent {len(payload)} bytes, echo {'ok' if got == payload else 'MISSING or wrong'}")
            ok = ok and got == payload
        sock.sendto(b"quit", ("127.0.0.1", port))
        code = vm.wait(60)
    finally:
        vm.stop()
    text = vm.text()
    print(text)
    checks = {
        "echoes": ok,
        "DHCP address": "DHCP: address 10.0.2.15 from server 10.0.2.2" in text and "Local IP: 10.0.2.15" in text,
        "exit code 0": code == 0,
        "served on the expected core": f"listening on port 7 on Core#{1 if on_core1 else 0}" in text,
        "card on that core": f"on Core#{1 if on_core1 else 0}, MAC" in text,
        # On the i440FX (pc) the card's interrupt goes to the serving core; microvm polls.
        "interrupt routed": machine != "pc" or f"interrupt 11 routed to Core#{1 if on_core1 else 0}" in text,
    }
    return harness.report(checks)


if __name__ == "__main__":
    sys.exit(main())
