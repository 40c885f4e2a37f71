#!/usr/bin/env python3
"""Raw Ethernet frames with RawFrames (SysNetworkRead, SysNetworkSend): this script is the
guest's only neighbour, on the other end of QEMU's `-netdev socket` over UDP on 127.0.0.1 (one
datagram a frame), and exchanges whole frames with it:

  echo      frames of EtherType 0x88B5 (command 'E', a sequence, a length, data) of every size
            from the smallest to a full 1514-byte frame, to the guest's MAC and to broadcast:
            each comes back from the guest's MAC with the data inverted, byte-exact, padded
            with zeros to 60 bytes when shorter;
  ignored   frames the guest must not echo: 0x88B5 to another MAC, a frame longer than 1514
            bytes, one of 10 bytes (virtio-net delivers it and the stack drops it as too short;
            QEMU's e1000 pads it to 60 bytes, an 802.3 frame that RawFrames reads and drops);
  stack     an ARP request for the guest's address still gets the stack's answer (IPv4 and ARP
            are not raw frames);
  bound     'H' makes the guest stop reading for 2 s while 100 frames arrive: exactly the first
            64 come back (the queue's bound), the rest were dropped, and the guest goes on.

At -smp 2, RawFrames also checks the calls on core 1, which has no card. Then 'Q': exit code 0.
Usage: rawtest.py TORO BUILD_DIR ELF CARD (e1000 or virtionet)"""
import os
import re
import select
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

TYPE = 0x88B5
PEER = bytes.fromhex("020000aabbcc")  # a locally administered address
BROADCAST = b"\xff" * 6


class Wire:
    """The peer's end of -netdev socket,udp=...: a UDP socket that QEMU sends every frame to."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self.qemu_port = harness.free_port(udp=True)
        self.netdev = f"socket,udp=127.0.0.1:{self.sock.getsockname()[1]},localaddr=127.0.0.1:{self.qemu_port}"

    def send(self, frame):
        self.sock.sendto(frame, ("127.0.0.1", self.qemu_port))

    def frames(self, timeout):
        """Every frame that arrives within `timeout` s."""
        out, deadline = [], time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            if select.select([self.sock], [], [], left)[0]:
                out.append(self.sock.recv(65536))
        return out


def request(to, command, seq, data):
    return to + PEER + struct.pack("!HBHH", TYPE, ord(command), seq, len(data)) + data


def expected_echo(guest, seq, data):
    frame = PEER + guest + struct.pack("!HBHH", TYPE, ord("E"), seq, len(data)) + bytes(b ^ 0xFF for b in data)
    return frame + b"\0" * max(0, 60 - len(frame))


def echoes(frames):
    """{sequence: frame} of the guest's 0x88B5 frames."""
    return {struct.unpack("!H", f[15:17])[0]: f for f in frames if len(f) >= 19 and f[12:14] == b"\x88\xb5"}


def arp_request(target_ip):
    arp = struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + PEER + socket.inet_aton("10.0.2.2") + b"\0" * 6 + \
        socket.inet_aton(target_ip)
    return BROADCAST + PEER + b"\x08\x06" + arp


def main():
    toro, build_dir, elf, card = sys.argv[1:5]
    wire = Wire()
    vm = harness.Vm.toro(toro, build_dir, "RawFrames", elf,
                         ["--nic", "e1000" if card == "e1000" else "virtio", "--netdev", wire.netdev,
                          "--append", card, "--smp", "2", "--timeout", "120"])
    checks = {}
    code = None
    try:
        up = vm.wait_for("RawFrames: ready", 60)
        checks["the guest came up, bad arguments refused"] = up and "TestRawBadArgs-0: PASSED" in vm.text()
        if not up:
            return harness.report(checks)
        guest = bytes.fromhex(re.search(r"MAC ([0-9a-f:]{17})", vm.text())[1].replace(":", ""))
        wire.frames(1)  # what the guest sent on its own (its ARP announcement)

        sizes = [0, 1, 27, 40, 41, 42, 100, 1000, 1494, 1495]  # 41: a 60-byte frame; 1495: 1514
        sent = {}
        for seq, n in enumerate(sizes):
            data = bytes((seq * 7 + k) & 0xFF for k in range(n))
            sent[seq] = data
            wire.send(request(BROADCAST if seq == 3 else guest, "E", seq, data))
            time.sleep(0.02)
        got = echoes(wire.frames(3))
        exact = [seq for seq, data in sent.items() if got.get(seq) == expected_echo(guest, seq, data)]
        print(f"echo: {len(exact)} of {len(sent)} exact; sizes back {sorted(len(f) for f in got.values())}")
        for seq in sorted(set(sent) - set(exact)):
            print(f"  {seq}: sent {len(sent[seq])} data bytes, got {got.get(seq, b'').hex()[:80]}...")
        checks["echo of every size, byte-exact, padded to 60 (unicast and broadcast)"] = len(exact) == len(sent)

        wire.send(request(bytes.fromhex("020000123456"), "E", 100, b"not for you"))
        wire.send(request(guest, "E", 101, b"o" * 1600))  # a 1619-byte frame
        wire.send(request(guest, "E", 102, b"")[:10])
        wire.send(request(guest, "E", 103, b"after"))
        got = echoes(wire.frames(2))
        print(f"ignored: echoes {sorted(got)}")
        checks["frames to another MAC, too long or too short are not delivered; the next one is"] = \
            sorted(got) == [103] and got[103] == expected_echo(guest, 103, b"after")

        wire.send(arp_request("10.0.2.15"))
        answers = [f for f in wire.frames(2) if f[12:14] == b"\x08\x06" and f[20:22] == b"\x00\x02"]
        checks["the stack still answers ARP"] = any(f[22:28] == guest and f[28:32] == socket.inet_aton("10.0.2.15")
                                                   for f in answers)

        wire.send(request(guest, "H", 0, b""))
        vm.wait_for("RawFrames: holding", 10)
        burst = {1000 + k: bytes([k]) * 50 for k in range(100)}
        for seq, data in burst.items():
            wire.send(request(guest, "E", seq, data))
            time.sleep(0.002)
        got = echoes(wire.frames(6))
        back = sorted(got)
        print(f"bound: {len(back)} of {len(burst)} echoed: {back[:3]}...{back[-3:]}")
        checks["a full queue keeps the first 64 frames and drops the rest"] = \
            back == list(range(1000, 1064)) and all(got[s] == expected_echo(guest, s, burst[s]) for s in back)
        wire.send(request(guest, "E", 2000, b"still here"))
        got = echoes(wire.frames(2))
        checks["frames are delivered again after the drops"] = got.get(2000) == expected_echo(guest, 2000,
                                                                                               b"still here")
        wire.send(request(guest, "Q", 0, b""))
        code = vm.wait(30)
    finally:
        vm.stop()
    print(vm.text())
    checks["exit code 0"] = code == 0
    checks["no failure line"] = "FAILED" not in vm.text() and "bad request" not in vm.text()
    return harness.report(checks)


if __name__ == "__main__":
    sys.exit(main())
