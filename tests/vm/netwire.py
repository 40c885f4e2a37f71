"""Shared by the network VM tests (HTTP, lossy link, SYN flood, WebSocket): a network namespace of their own, a tap
device in it for the host's real TCP/IP stack, a userspace "wire" that carries the guest's
Ethernet frames between QEMU and that tap and can lose, delay and reorder them, and a VM
started with tools/toro.

Why a userspace wire and not `tc qdisc ... netem`: the kernel the tests run on may lack
sch_netem (this project's CI machines are built without CONFIG_NET_SCH_NETEM and without
loadable modules), and a seeded wire gives the same impairment every run, in both directions.

  if (code := netwire.enter_netns("torofoo")) is not None: sys.exit(code)   # now inside it
  tap = netwire.Tap("wire0", "10.0.2.2/24")
  wire = netwire.Wire(tap, loss=0.05, reorder=0.05, seed=1); wire.start()
  vm = netwire.Vm(toro, build_dir, "TcpEcho", elf, ["--netdev", wire.netdev, ...])
"""
import fcntl
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

INSIDE = "TORO_NETWIRE_NETNS"

# What HelloWorldMicroservice answers every GET with (toro-spec §3).
HELLO = (b"HTTP/1.0 200\r\nContent-type: Text/Html\r\nContent-length:24\r\nConnection: close\r\n"
         b"Server: ToroMicroserver\r\n\r\nHello World I am Toro!\r\n")


def http_get(host, port, path, timeout, trickle=False):
    """GET `path` and return the whole answer up to the server's close; OSError on failure or
    when `timeout` (seconds, for the whole exchange) runs out. trickle: one byte per 10 ms."""
    start = time.monotonic()
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.settimeout(max(0.5, timeout - (time.monotonic() - start)))
        req = f"GET {path} HTTP/1.1\r\nHost: toro\r\n\r\n".encode()
        if trickle:
            for b in req:
                s.sendall(bytes([b]))
                time.sleep(0.01)
        else:
            s.sendall(req)
        data = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                return data
            data += chunk


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

    def stop(signum, _frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
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
    by two seeded Directions. `netdev` is the backend to give tools/toro --netdev."""

    QEMU_PORT, WIRE_PORT = 10001, 10002

    def __init__(self, tap, loss=0.0, reorder=0.0, delay=0.004, seed=1):
        super().__init__(daemon=True)
        self.tap = tap
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
            timeout = max(0.0, min(dues) - now) if dues else 0.2
            readable, _, _ = select.select([self.tap.fd, self.udp], [], [], timeout)
            now = time.monotonic()
            if self.tap.fd in readable:
                self.to_guest.push(os.read(self.tap.fd, 65536), now)
            if self.udp in readable:
                self.to_host.push(self.udp.recv(65536), now)
            self.to_guest.release(now)
            self.to_host.release(now)

    def stats(self):
        return f"wire host->guest: {self.to_guest.stats()}; guest->host: {self.to_host.stats()}"


class Vm:
    """tools/toro run with the given options; the console is collected in `out`."""

    def __init__(self, toro, build_dir, app, elf, options):
        cmd = [sys.executable, toro, "--build-dir", build_dir, "run", app, "--no-build", "--elf", elf] + options
        if os.environ.get("TORO_PCAP"):  # e.g. TORO_PCAP=/tmp/x: the card's frames in /tmp/x-APP.pcap
            cmd += ["--pcap", f"{os.environ['TORO_PCAP']}-{app}.pcap"]
        print("$ " + " ".join(cmd), flush=True)
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     start_new_session=True)
        self.out = b""
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.proc.stdout:
            self.out += line

    def wait_for(self, text, timeout):
        deadline = time.monotonic() + timeout
        while text.encode() not in self.out:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    def wait(self, timeout):
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        self._reader.join(5)
        return self.proc.returncode

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # tools/toro kills its QEMU and exits
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self._reader.join(5)

    def text(self):
        return self.out.decode(errors="replace")
