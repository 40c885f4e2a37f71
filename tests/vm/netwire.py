"""Shared by the network VM tests (lossy link, SYN flood, hostile clients, WebSocket over a tap):
a network namespace of their own, a tap device in it for the host's real TCP/IP stack, a
userspace "wire" that carries the guest's Ethernet frames between QEMU and that tap and can
lose, delay and reorder them, and hosts that exist only as raw frames behind it. The VM itself
is started with harness.Vm (harness.py).

Why a userspace wire and not `tc qdisc ... netem`: the kernel the tests run on may lack
sch_netem (this project's CI machines are built without CONFIG_NET_SCH_NETEM and without
loadable modules), and a seeded wire gives the same impairment every run, in both directions.

  if (code := netwire.enter_netns("torofoo")) is not None: sys.exit(code)   # now inside it
  tap = netwire.Tap("wire0", "10.0.2.2/24")
  wire = netwire.Wire(tap, loss=0.05, reorder=0.05, seed=1); wire.start()
  vm = harness.Vm.toro(toro, build_dir, "TcpEcho", elf, ["--netdev", wire.netdev, ...])
"""
import fcntl
import heapq
import os
import random
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

INSIDE = "TORO_NETWIRE_NETNS"


def enter_netns(prefix):
    """Runs this script again inside a new network namespace and deletes the namespace (and
    ends whatever still runs in it) when that finishes, also on SIGTERM/SIGINT. Returns the
    exit code to exit with, or None in the copy that runs inside."""
    if os.environ.get(INSIDE):
        return None
    if os.geteuid() != 0:
        print("FAIL: needs root (ip netns, tap devices, raw sockets)")
        return 1
    ns = f"{prefix}{os.getpid()}"
    r = subprocess.run(["ip", "netns", "add", ns], capture_output=True, text=True)
    if r.returncode != 0:
        print(f"FAIL: ip netns add {ns}: {r.stderr.strip()}")
        return 1
    inner = None
    harness.exit_on_signals()
    try:
        env = dict(os.environ, **{INSIDE: ns})
        inner = subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, os.path.abspath(sys.argv[0])] + sys.argv[1:],
                                 env=env, start_new_session=True)
        return inner.wait()
    finally:
        if inner is not None and inner.poll() is None:
            inner.send_signal(signal.SIGTERM)  # it stops its VM (tools/toro kills QEMU on SIGTERM)
            try:
                inner.wait(20)
            except subprocess.TimeoutExpired:
                pass
        # Anything still in the namespace was started by us: end it, by pid.
        pids = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True).stdout.split()
        for pid in pids:
            try:
                os.kill(int(pid), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def sh(*cmd):
    subprocess.run(list(cmd), check=True, capture_output=True)


class Tap:
    """A tap device that lives as long as this process holds it (not persistent), with the
    host's address on it; read() gives a frame the host sends, write() delivers one to it."""

    def __init__(self, name, address):
        TUNSETIFF, IFF_TAP, IFF_NO_PI = 0x400454CA, 0x0002, 0x1000
        self.fd = os.open("/dev/net/tun", os.O_RDWR)
        fcntl.ioctl(self.fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TAP | IFF_NO_PI))
        self.name = name
        sh("ip", "link", "set", "lo", "up")
        sh("ip", "addr", "add", address, "dev", name)
        sh("ip", "link", "set", name, "up")


def persistent_tap(name, address):
    """A tap device for QEMU's own tap backend (-netdev tap,ifname=NAME)."""
    sh("ip", "link", "set", "lo", "up")
    sh("ip", "tuntap", "add", "dev", name, "mode", "tap")
    sh("ip", "addr", "add", address, "dev", name)
    sh("ip", "link", "set", name, "up")


def is_tcp(frame):
    return len(frame) >= 34 and frame[12:14] == b"\x08\x00" and frame[23] == 6


class Direction:
    """One direction of the wire: every TCP frame is lost with probability `loss`, or held back
    for `delay` seconds with probability `reorder` (the frames behind it overtake it);
    other frames (ARP) pass untouched."""

    def __init__(self, rng, loss, reorder, delay, send):
        self.rng, self.loss, self.reorder, self.delay, self.send = rng, loss, reorder, delay, send
        self.held = []  # (release time, frame)
        self.frames = self.lost = self.reordered = 0

    def push(self, frame, now):
        self.frames += 1
        if is_tcp(frame):
            x = self.rng.random()
            if x < self.loss:
                self.lost += 1
                return
            if x < self.loss + self.reorder:
                self.reordered += 1
                self.held.append((now + self.delay * (0.5 + self.rng.random()), frame))
                return
        self.send(frame)

    def release(self, now):
        due = [f for t, f in self.held if t <= now]
        if due:
            self.held = [(t, f) for t, f in self.held if t > now]
            for f in due:
                self.send(f)

    def next_due(self):
        return min((t for t, _ in self.held), default=None)

    def stats(self):
        return f"{self.frames} frames, {self.lost} lost, {self.reordered} reordered"


class Wire(threading.Thread):
    """Relays frames between QEMU (-netdev socket over UDP on 127.0.0.1) and a Tap, impaired
    by two seeded Directions. `netdev` is the backend to give tools/toro --netdev. With `hosts`
    (a FakeHosts), frames for the fake hosts go to it instead of the tap, and what they send goes
    to the guest."""

    QEMU_PORT, WIRE_PORT = 10001, 10002

    def __init__(self, tap, loss=0.0, reorder=0.0, delay=0.004, seed=1, hosts=None):
        super().__init__(daemon=True)
        self.tap = tap
        self.hosts = hosts
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", self.WIRE_PORT))
        self.udp.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.netdev = f"socket,udp=127.0.0.1:{self.WIRE_PORT},localaddr=127.0.0.1:{self.QEMU_PORT}"
        rng = random.Random(seed)
        self.to_guest = Direction(rng, loss, reorder, delay, self._to_guest)
        self.to_host = Direction(rng, loss, reorder, delay, self._to_host)
        self.running = True

    def _to_guest(self, frame):
        try:
            self.udp.sendto(frame, ("127.0.0.1", self.QEMU_PORT))
        except OSError:
            pass  # QEMU not up yet (or gone): a lost frame

    def _to_host(self, frame):
        try:
            os.write(self.tap.fd, frame)
        except OSError:
            pass

    def run(self):
        while self.running:
            now = time.monotonic()
            dues = [t for t in (self.to_guest.next_due(), self.to_host.next_due()) if t is not None]
            if self.hosts is not None and (due := self.hosts.next_due()) is not None:
                dues.append(due)
            timeout = max(0.0, min(dues) - now) if dues else 0.2
            readable, _, _ = select.select([self.tap.fd, self.udp], [], [], min(timeout, 0.2))
            now = time.monotonic()
            if self.tap.fd in readable:
                self.to_guest.push(os.read(self.tap.fd, 65536), now)
            if self.udp in readable:
                # Whatever else is waiting too, before the next select: a burst from the guest.
                for _ in range(256):
                    try:
                        frame = self.udp.recv(65536, socket.MSG_DONTWAIT)
                    except BlockingIOError:
                        break
                    if self.hosts is None or not self.hosts.take(frame, now):
                        self.to_host.push(frame, now)
            if self.hosts is not None:
                for frame in self.hosts.poll(now):
                    self._to_guest(frame)
            self.to_guest.release(now)
            self.to_host.release(now)

    def stats(self):
        return f"wire host->guest: {self.to_guest.stats()}; guest->host: {self.to_host.stats()}"


# ------------------------------------------------------------------------------------------------
# Raw frames, and hosts that exist only in this process.

GUEST_MAC = bytes.fromhex("525400123456")  # tools/toro's card


def checksum(data):
    """The Internet checksum (RFC 1071)."""
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10


def tcp_segment(src, sport, dst, dport, seq, ack, flags, window, payload=b"", mss=None):
    """An IPv4 packet (header and TCP segment, checksums filled in); src, dst dotted strings."""
    options = struct.pack("!BBH", 2, 4, mss) if mss else b""
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, (5 + len(options) // 4) << 4,
                      flags, window, 0, 0) + options + payload
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 6, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", checksum(pseudo + tcp)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), random.getrandbits(16), 0, 64, 6, 0,
                     socket.inet_aton(src), socket.inet_aton(dst))
    return ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:] + tcp


class FakeHosts:
    """Hosts on the guest's subnet that exist only in this process, behind a Wire: they answer
    the guest's ARP requests for their addresses and play TCP clients of the guest with raw
    frames, thousands of connections at a time, as a hostile host would. Each connection, by
    `mode`:
      "idle"       completes the handshake and says nothing;
      "zero"       completes it advertising a shut window (0) and sends `request` with it, then
                   answers every segment with the window still shut: the answer cannot leave;
      "slowloris"  sends the first `trickle_start` bytes of `request`, then one more byte every
                   `trickle` seconds.
    Until stop(), every segment from the guest is acknowledged (in-order data and FIN taken,
    except in a shut window); after it, the hosts are gone: no ARP answer, no segment."""

    def __init__(self, guest, port, hosts=20, first=100, prefix="10.0.2."):
        self.guest, self.port = guest, port
        self.ips = [f"{prefix}{first + i}" for i in range(hosts)]
        self.macs = {ip: bytes([2, 0, 0, 0, 0, first + i]) for i, ip in enumerate(self.ips)}
        self.by_ip_bytes = {socket.inet_aton(ip): ip for ip in self.ips}
        self.conns = {}  # (ip, port) -> dict
        self.pending = []  # connections still to open: (due, key)
        self.out = []
        self.trickles = []  # heap of (due, key): slowloris connections' next byte
        self.silent = False
        self.lock = threading.Lock()
        self.stats = {"arp": 0, "syn": 0, "established": 0, "reset": 0, "fin": 0, "frames_in": 0, "frames_out": 0}
        self.rng = random.Random(11)

    def open(self, count, rate, mode, request=b"", trickle=5.0, trickle_start=5):
        """Schedules `count` connections, `rate` a second from now."""
        with self.lock:
            start = time.monotonic()
            base = len(self.conns)
            for i in range(count):
                n = base + i
                ip = self.ips[n % len(self.ips)]
                port = 20000 + n // len(self.ips)
                key = (ip, port)
                self.conns[key] = {"mode": mode, "state": "new", "iss": self.rng.getrandbits(32), "rcv": 0,
                                   "request": request, "sent": 0, "trickle": trickle, "trickle_start": trickle_start}
                self.pending.append((start + i / rate, key))

    def stop(self):
        with self.lock:
            self.silent = True
            self.pending.clear()

    def counts(self):
        with self.lock:
            states = {}
            for c in self.conns.values():
                states[c["state"]] = states.get(c["state"], 0) + 1
            return dict(self.stats), states

    # -- called by the Wire's thread

    def next_due(self):
        with self.lock:
            if self.silent:
                return None
            dues = [q[0][0] for q in (self.pending, self.trickles) if q]
            return min(dues) if dues else None

    def _frame(self, ip, packet):
        self.stats["frames_out"] += 1
        return GUEST_MAC + self.macs[ip] + b"\x08\x00" + packet

    def _segment(self, key, flags, seq, payload=b"", window=None):
        c = self.conns[key]
        if window is None:
            window = 0 if c["mode"] == "zero" else 64240
        ack = c["rcv"] if flags & ACK else 0
        return self._frame(key[0], tcp_segment(key[0], key[1], self.guest, self.port, seq, ack, flags, window,
                                               payload, 1460 if flags & SYN else None))

    def poll(self, now):
        with self.lock:
            out, self.out = self.out, []  # the answers take() made
            if self.silent:
                return []
            while self.pending and self.pending[0][0] <= now:
                _, key = self.pending.pop(0)
                c = self.conns[key]
                c["state"] = "syn-sent"
                self.stats["syn"] += 1
                out.append(self._segment(key, SYN, c["iss"]))
            while self.trickles and self.trickles[0][0] <= now:
                _, key = heapq.heappop(self.trickles)
                c = self.conns[key]
                if c["state"] != "established" or c["sent"] >= len(c["request"]):
                    continue
                out.append(self._segment(key, ACK | PSH, c["iss"] + 1 + c["sent"], c["request"][c["sent"]:c["sent"] + 1]))
                c["sent"] += 1
                heapq.heappush(self.trickles, (now + c["trickle"], key))
            return out

    def take(self, frame, now):
        """A frame from the guest: True if it was for a fake host (and answered)."""
        if len(frame) < 42:
            return False
        kind = frame[12:14]
        with self.lock:
            if kind == b"\x08\x06":  # ARP
                target = frame[38:42]
                ip = self.by_ip_bytes.get(target)
                if ip is None:
                    return False
                if not self.silent and frame[20:22] == b"\x00\x01":
                    self.stats["arp"] += 1
                    reply = (frame[6:12] + self.macs[ip] + b"\x08\x06" + b"\x00\x01\x08\x00\x06\x04\x00\x02" +
                             self.macs[ip] + target + frame[22:28] + frame[28:32])
                    self.out.append(reply)
                return True
            if kind != b"\x08\x00" or frame[23] != 6:
                return False
            ip = self.by_ip_bytes.get(frame[30:34])
            if ip is None:
                return False
            self.stats["frames_in"] += 1
            if self.silent:
                return True
            ihl = (frame[14] & 0x0F) * 4
            t = 14 + ihl
            total = struct.unpack("!H", frame[16:18])[0]
            sport, dport, seq, ack, off, flags = struct.unpack("!HHIIBB", frame[t:t + 14])
            payload_len = 14 + total - t - (off >> 4) * 4
            key = (ip, dport)
            c = self.conns.get(key)
            if c is None:
                return True
            if flags & RST:
                if c["state"] != "reset":
                    self.stats["reset"] += 1
                c["state"] = "reset"
                return True
            if flags & SYN and flags & ACK:
                if c["state"] == "syn-sent":
                    c["rcv"] = seq + 1
                    c["state"] = "established"
                    self.stats["established"] += 1
                    first = b""
                    if c["mode"] == "zero":
                        first = c["request"]
                    elif c["mode"] == "slowloris":
                        first = c["request"][:c["trickle_start"]]
                        heapq.heappush(self.trickles, (now + c["trickle"], key))
                    c["sent"] = len(first)
                    self.out.append(self._segment(key, ACK | (PSH if first else 0), c["iss"] + 1, first))
                else:
                    self.out.append(self._segment(key, ACK, c["iss"] + 1 + c["sent"]))
                return True
            length = payload_len + (1 if flags & FIN else 0)
            if length and seq == c["rcv"] and (c["mode"] != "zero" or payload_len == 0):
                c["rcv"] = (c["rcv"] + length) & 0xFFFFFFFF
                if flags & FIN:
                    self.stats["fin"] += 1
                    c["state"] = "closed-by-guest"
            if length or c["mode"] == "zero":
                self.out.append(self._segment(key, ACK, c["iss"] + 1 + c["sent"]))
            return True
