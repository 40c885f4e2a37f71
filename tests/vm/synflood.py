#!/usr/bin/env python3
"""HelloWorldMicroservice under a SYN flood and idle connections, over a tap device in a
network namespace of its own (netwire.py; host 10.0.2.2, guest 10.0.2.15, QEMU's tap backend):

- SYNS spoofed SYNs (raw socket, IP_HDRINCL) from random source addresses and ports that
  never complete: most from outside 10.0.2.0/24 (the guest's SYN,ACKs go to the gateway
  10.0.2.2, whose kernel drops them), a tenth from absent hosts of 10.0.2.0/24 (ARP unanswered);
- IDLE real connections from the host that complete the handshake and never send a request
  (half-open from the service's point of view), held until the service's 20 s timeout;
- meanwhile a client fetches a page every 0.2 s, and after the flood sequential and parallel
  requests are made; every answer must be the exact bytes of toro-spec §3, each within 10 s
  (a refused or dropped SYN is retried by the host at 1 and 3 s);
- every idle connection must be closed by the service (end of stream) 15-45 s after it opened;
- the VM must not fault and must still run at the end.

Usage: synflood.py TORO BUILD_DIR HWM_ELF SYNS IDLE"""
import concurrent.futures
import os
import random
import selectors
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import netwire  # noqa: E402

GUEST = "10.0.2.15"
PORT = 8080
EXPECTED = harness.HELLO
PROBE_TIMEOUT = 10


def fetch(path, timeout=PROBE_TIMEOUT):
    """The whole answer up to the server's close, or a short description of what went wrong."""
    start = time.monotonic()
    try:
        return harness.http_get(GUEST, PORT, path, timeout)
    except OSError as e:
        return f"{type(e).__name__}: {e} after {time.monotonic() - start:.1f} s"


def syn_packet(src, sport, dst, dport, seq):
    return netwire.tcp_segment(src, sport, dst, dport, seq, 0, netwire.SYN, 64240, mss=1460)


def spoofed_source(rng):
    if rng.random() < 0.1:
        return f"10.0.2.{rng.randint(100, 250)}"  # on the guest's subnet, nobody there
    while True:
        a = rng.randint(1, 223)
        if a not in (10, 127):
            return f"{a}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"


def flood(count, rate, stats):
    rng = random.Random(7)
    raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)  # IP_HDRINCL implied
    start = time.monotonic()
    for i in range(count):
        pkt = syn_packet(spoofed_source(rng), rng.randint(1024, 65535), GUEST, PORT, rng.getrandbits(32))
        try:
            raw.sendto(pkt, (GUEST, 0))
            stats["sent"] += 1
        except OSError as e:
            stats["errors"] += 1
            stats["last_error"] = str(e)
        ahead = start + (i + 1) / rate - time.monotonic()
        if ahead > 0:
            time.sleep(ahead)
    raw.close()
    stats["seconds"] = time.monotonic() - start


class IdleConnections(threading.Thread):
    """Opens `count` connections that complete the handshake and say nothing, and watches each
    until the service closes it: `closed` maps a connection to (seconds it stayed open, what a
    read gave: b"" is end of stream)."""

    def __init__(self, count, deadline):
        super().__init__(daemon=True)
        self.count, self.deadline = count, deadline
        self.opened, self.failures, self.closed = [], [], {}
        self.sel = selectors.DefaultSelector()
        self.lock = threading.Lock()
        self.done_opening = threading.Event()
        self.opener = threading.Thread(target=self._open, daemon=True)

    def _open(self):
        for _ in range(self.count):
            try:
                s = socket.create_connection((GUEST, PORT), timeout=PROBE_TIMEOUT)
                s.setblocking(False)
                with self.lock:
                    self.opened.append(s)
                    self.sel.register(s, selectors.EVENT_READ, time.monotonic())
            except OSError as e:
                self.failures.append(f"{type(e).__name__}: {e}")
            time.sleep(0.01)
        self.done_opening.set()

    def run(self):
        self.opener.start()
        while time.monotonic() < self.deadline:
            with self.lock:
                if self.done_opening.is_set() and len(self.closed) == len(self.opened):
                    break
                events = self.sel.select(timeout=0) if self.sel.get_map() else []
                for key, _ in events:
                    try:
                        data = key.fileobj.recv(100)
                    except OSError as e:
                        data = type(e).__name__
                    self.closed[key.fileobj] = (time.monotonic() - key.data, data)
                    self.sel.unregister(key.fileobj)
            time.sleep(0.05)

    def results(self):
        with self.lock:
            out = [self.closed.get(s, (None, "still open")) for s in self.opened]
            for s in self.opened:
                s.close()
            self.opened = []
        return out


def main():
    if (code := netwire.enter_netns("torosyn")) is not None:
        return code
    harness.exit_on_signals()
    toro, build_dir, elf, syns, idle_count = sys.argv[1:6]
    syns, idle_count = int(syns), int(idle_count)
    netwire.persistent_tap("tap0", "10.0.2.2/24")
    vm = harness.Vm.toro(toro, build_dir, "HelloWorldMicroservice", elf,
                         ["--nic", "e1000", "--netdev", "tap,ifname=tap0,script=no,downscript=no",
                          "--append", f"{GUEST},e1000", "--timeout", "170"])
    checks = {}
    idle = None
    try:
        if not vm.wait_for("listening on port 8080", 30):
            checks["HelloWorldMicroservice came up"] = False
            return 1
        first = None
        for _ in range(20):
            first = fetch("/first")
            if first == EXPECTED:
                break
            time.sleep(0.2)
        checks["a request before the flood, exact bytes"] = first == EXPECTED

        stats = {"sent": 0, "errors": 0}
        flooder = threading.Thread(target=flood, args=(syns, 1000, stats))
        start = time.monotonic()
        idle = IdleConnections(idle_count, start + 120)
        flooder.start()
        idle.start()
        during = []
        i = 0
        while flooder.is_alive() or not idle.done_opening.is_set():
            t = time.monotonic() - start
            during.append((t, fetch(f"/during{i}")))
            i += 1
            time.sleep(0.2)
        flooder.join()
        print(f"flood: {stats['sent']} spoofed SYNs in {stats.get('seconds', 0):.1f} s, {stats['errors']} send errors "
              f"{stats.get('last_error', '')}; {len(idle.opened)} idle connections open, {len(idle.failures)} failed",
              flush=True)
        for f in idle.failures[:5]:
            print("  idle connection failed:", f)
        bad = [(t, r) for t, r in during if r != EXPECTED]
        print(f"{len(during)} requests during the flood, {len(during) - len(bad)} exact answers", flush=True)
        for t, r in bad[:10]:
            print(f"  at {t:.1f} s: {r!r}"[:200])
        checks["spoofed SYNs sent"] = stats["sent"] == syns
        checks[f"{idle_count} idle connections completed the handshake"] = len(idle.opened) == idle_count
        checks["every request during the flood answered with the exact bytes within 10 s"] = during and not bad

        after = [fetch(f"/after{i}") for i in range(10)]
        with concurrent.futures.ThreadPoolExecutor(max_workers=20) as pool:
            after += list(pool.map(lambda i: fetch(f"/par{i}"), range(20)))
        bad = [r for r in after if r != EXPECTED]
        print(f"after the flood: {len(after) - len(bad)} of {len(after)} exact answers "
              f"({time.monotonic() - start:.1f} s after it began)", flush=True)
        for r in bad[:5]:
            print(f"  got: {r!r}"[:200])
        checks["10 sequential and 20 parallel requests after the flood, exact bytes"] = not bad

        idle.join(max(0, start + 120 - time.monotonic()))
        closed = idle.results()
        spans = [c for c, data in closed if c is not None and data == b""]
        if spans:
            print(f"idle connections closed by the service after {min(spans):.1f}-{max(spans):.1f} s", flush=True)
        odd = [(c, d) for c, d in closed if c is None or d != b"" or not 15 <= c <= 45]
        for c, d in odd[:5]:
            print(f"  idle connection: {c} s, {d!r}")
        checks["every idle connection closed by the service after its 20 s timeout"] = len(closed) > 0 and not odd
        checks["service still answers at the end"] = fetch("/last") == EXPECTED
        checks["VM still running"] = vm.running()
    finally:
        if idle is not None:
            idle.results()
        vm.stop()
        text = vm.text()
        print("---- console ----\n" + text[-3000:])
        checks["no fault or panic"] = not any(w in text for w in ("Exception", "Panic", "killed by the exception"))
    return harness.report(checks)


if __name__ == "__main__":
    sys.exit(main())
