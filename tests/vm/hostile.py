#!/usr/bin/env python3
"""HelloWorldMicroservice (128 MiB, virtio-net) against thousands of hostile connections from
fake hosts on its subnet (netwire.FakeHosts: raw frames from twenty addresses that exist only in
this process, behind a userspace wire to the guest, in a network namespace of its own; the
host itself, 10.0.2.2 on a tap device, is the normal client):

  zero       COUNT connections that advertise a shut window, send a request and answer every
             segment with the window still shut: the answers can never leave (issue #10: each
             used to pin 34 KiB for good);
  idle       COUNT connections that complete the handshake and never send;
  slowloris  COUNT connections that send "GET /" and then one more byte every 5 s, which keeps
             restarting the service's 20 s timeout.

Meanwhile the host fetches a page every 0.2 s: every answer must be the exact bytes of toro-spec
§3 within 100 ms. After the attacker has opened everything and held it HOLD seconds it vanishes
(no segment, no ARP answer). The guest prints its memory every second (kernel parameter
netstat=1); its heap in use, less the TIME-WAIT records of the normal client's own requests,
must come back to what it was before the attack within the service's part plus 60 s of the
attacker's going: a connection the service closes lives on as an orphan for at most 60 s (the
kernel's kOrphanLifetimeUs, Linux's tcp_fin_timeout), and the service closes an idle connection
20 s after its last byte, so idle ones opened until the attacker's HOLD before it went may close
20 - HOLD s after it went, slowloris ones 20 s after it.

Usage: hostile.py TORO BUILD_DIR HWM_ELF MODE COUNT RATE HOLD"""
import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import netwire  # noqa: E402

GUEST = "10.0.2.15"
PORT = 8080
LATENCY = 0.1
ORPHAN_LIFETIME = 60
SERVICE_TIMEOUT = 20
REQUESTS = {"zero": b"GET / HTTP/1.0\r\n\r\n", "idle": b"", "slowloris": b"GET /" + b"a" * 190}
NETSTAT = re.compile(rb"netstat: Core#0 heap in use (\d+) free (\d+); tcp (\d+) of (\d+) bytes \(buffers (\d+)\), "
                     rb"(\d+) connections, (\d+) orphans, (\d+) time-wait, pressure (\d)")
RECORD = re.compile(rb"(\d+) bytes a connection")


class Probe:
    """A GET every 0.2 s from the host until stopped, in a process of its own (so the wire's
    thread and this one do not share an interpreter lock): results are (seconds since start,
    latency, exact?, answer)."""

    def __init__(self):
        self.proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--probe"], stdout=subprocess.PIPE,
                                     text=True)
        self.results = []

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        out, _ = self.proc.communicate(timeout=20)
        for line in out.splitlines():
            t, latency, ok, answer = line.split(" ", 3)
            self.results.append((float(t), float(latency), ok == "1", answer))


def probe_main():
    signal.signal(signal.SIGTERM, lambda signum, _f: sys.exit(0))
    start_time = time.monotonic()
    i = 0
    while True:
        start = time.monotonic()
        try:
            answer = harness.http_get(GUEST, PORT, f"/probe{i}", 10)
        except OSError as e:
            answer = f"{type(e).__name__}: {e}"
        ok = answer == harness.HELLO
        print(f"{start - start_time:.3f} {time.monotonic() - start:.4f} {1 if ok else 0} {repr(answer)[:100]}", flush=True)
        i += 1
        time.sleep(max(0.0, start + 0.2 - time.monotonic()))


def samples(vm, record):
    """(heap in use less TIME-WAIT records, tcp bytes, connections, orphans, time-wait) of every
    netstat line so far."""
    out = []
    for m in NETSTAT.finditer(vm.out):
        heap, tcp, conns, orphans, tw = int(m[1]), int(m[3]), int(m[6]), int(m[7]), int(m[8])
        out.append((heap - tw * record, tcp, conns, orphans, tw))
    return out


def main():
    if (code := netwire.enter_netns("torohost")) is not None:
        return code
    harness.exit_on_signals()
    toro, build_dir, elf, mode, count, rate, hold = sys.argv[1:8]
    count, rate, hold = int(count), float(rate), float(hold)
    # When the service has closed the attacker's last connection, counted from the attacker's going.
    closed_by = {"zero": 0, "idle": max(0.0, SERVICE_TIMEOUT - hold), "slowloris": SERVICE_TIMEOUT}[mode]
    recovery = ORPHAN_LIFETIME + closed_by
    tap = netwire.Tap("wire0", "10.0.2.2/24")
    hosts = netwire.FakeHosts(GUEST, PORT)
    wire = netwire.Wire(tap, hosts=hosts)
    wire.start()
    vm = harness.Vm.toro(toro, build_dir, "HelloWorldMicroservice", elf,
                         ["--nic", "virtio", "--netdev", wire.netdev, "--mem", "128",
                          "--append", f"{GUEST},virtionet,netstat=1", "--timeout", "400"])
    checks = {}
    probe = None
    try:
        if not vm.wait_for("listening on port 8080", 30):
            checks["HelloWorldMicroservice came up"] = False
            return 1
        record = int(RECORD.search(vm.out)[1])
        warm = [harness.http_get(GUEST, PORT, f"/warm{i}", 10) for i in range(20)]
        checks["20 requests before the attack, exact bytes"] = all(w == harness.HELLO for w in warm)
        time.sleep(2.5)
        before = samples(vm, record)[-1]
        print(f"before the attack: heap in use {before[0]} bytes (less TIME-WAIT records), tcp {before[1]} bytes, "
              f"{before[2]} connections", flush=True)
        probe = Probe()
        hosts.open(count, rate, mode, REQUESTS[mode])
        t0 = time.monotonic()
        time.sleep(count / rate + hold)
        stats, states = hosts.counts()
        peak = max(samples(vm, record), key=lambda s: s[0])
        print(f"attack ({mode}): {stats}; connection states {states}", flush=True)
        print(f"peak: heap in use {peak[0]} bytes, tcp {peak[1]} bytes, {peak[2]} connections, {peak[3]} orphans",
              flush=True)
        checks[f"{count} {mode} connections opened"] = stats["established"] == count
        hosts.stop()
        stopped = time.monotonic()
        print(f"attacker gone {stopped - t0:.1f} s after it began", flush=True)
        seen = len(samples(vm, record))
        recovered = None
        while time.monotonic() - stopped < recovery + 5:
            now = samples(vm, record)
            fresh = now[seen:]
            if fresh and fresh[-1][0] <= before[0] and fresh[-1][3] == 0:
                recovered = time.monotonic() - stopped
                break
            time.sleep(0.5)
        last = samples(vm, record)[-1]
        print(f"after: heap in use {last[0]} bytes, tcp {last[1]} bytes, {last[2]} connections, {last[3]} orphans, "
              f"{last[4]} time-wait; back to the level before " +
              (f"{recovered:.1f} s after the attacker went" if recovered is not None else "NOT within the limit"),
              flush=True)
        checks[f"heap in use back to its level before the attack within {recovery:.0f} s"] = (
            recovered is not None and recovered <= recovery)
        probe.stop()
        bad = [r for r in probe.results if not r[2] or r[1] > LATENCY]
        lat = sorted(r[1] for r in probe.results)
        if lat:
            print(f"{len(probe.results)} requests from the host: latency median {lat[len(lat) // 2] * 1000:.1f} ms, "
                  f"max {lat[-1] * 1000:.1f} ms", flush=True)
        for t, latency, ok, answer in bad[:10]:
            print(f"  at {t:.1f} s: {latency * 1000:.0f} ms, {'exact' if ok else repr(answer)[:100]}")
        checks[f"every request from the host answered with the exact bytes within {LATENCY * 1000:.0f} ms"] = (
            len(probe.results) > 10 and not bad)
        checks["service still answers"] = harness.http_get(GUEST, PORT, "/last", 10) == harness.HELLO
        checks["VM still running"] = vm.running()
    finally:
        if probe is not None and probe.proc.poll() is None:
            probe.proc.kill()
        hosts.stop()
        vm.stop()
        wire.running = False
        text = vm.text()
        tail = [line for line in text.splitlines() if not line.startswith("netstat:")]
        print("---- console (netstat lines left out) ----\n" + "\n".join(tail[-40:]))
        checks["no fault or panic"] = not any(w in text for w in ("Exception", "Panic", "killed by the exception"))
    return harness.report(checks)


if __name__ == "__main__":
    if sys.argv[1:] == ["--probe"]:
        probe_main()
    sys.exit(main())
