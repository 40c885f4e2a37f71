#!/usr/bin/env python3
"""TCP over a lossy, reordering link, driven by the host's own TCP stack: in a network
namespace of its own, a tap device (10.0.2.2/24) and a seeded userspace wire to the guest
(netwire.py) that loses LOSS of the TCP frames and holds back REORDER of them for 2-6 ms (so
later frames overtake them), independently in both directions.

1. TcpEcho (10.0.2.15, e1000): one connection sends MEGABYTES of pseudo-random data while
   reading the echo back, SHA-256 of both must be equal and the stream must end after our FIN;
   then SMALL more connections of 1000 bytes each (30 s in all); the guest then reports that it
   served them all and exits 0 (its heap in use before and after is printed, not judged: over
   a lossy link the last connection may still be closing when TcpEcho measures).
2. HelloWorldMicroservice over the same wire: sequential and parallel HTTP requests, each
   answered with the exact bytes of toro-spec §3 and closed by the server.

Usage: losstest.py TORO BUILD_DIR TCPECHO_ELF HWM_ELF MEGABYTES SMALL [LOSS REORDER SEED]"""
import concurrent.futures
import hashlib
import os
import random
import re
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import netwire  # noqa: E402

GUEST = "10.0.2.15"
EXPECTED = harness.HELLO


def transfer(size, seed, timeout):
    """Sends `size` bytes to the echo port while reading them back; (ok, message)."""
    data = random.Random(seed).randbytes(size)
    got = bytearray()
    start = time.monotonic()
    try:
        s = socket.create_connection((GUEST, 7), timeout=timeout)
    except OSError as e:
        return False, f"connection {seed}: connect: {type(e).__name__}: {e}"

    def reader():
        try:
            while len(got) < size:
                chunk = s.recv(65536)
                if not chunk:
                    break
                got.extend(chunk)
        except OSError:
            pass

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    rest = None
    err = ""
    try:
        s.sendall(data)
        t.join(timeout)
        s.shutdown(socket.SHUT_WR)
        rest = s.recv(10)  # the server closes after our FIN: end of stream
    except OSError as e:
        err = f" ({type(e).__name__}: {e})"
    finally:
        if len(got) < size:  # the host's view of the stalled connection: rto, backoff, retrans
            print(subprocess.run(["ss", "-tin", "dst", GUEST], capture_output=True, text=True).stdout, flush=True)
        s.close()
    elapsed = time.monotonic() - start
    same = hashlib.sha256(data).hexdigest() == hashlib.sha256(bytes(got)).hexdigest()
    ok = same and rest == b""
    return ok, (f"connection {seed}: {size} bytes out, {len(got)} back in {elapsed:.2f} s "
                f"({2 * size / elapsed / 1e6:.2f} MB/s both ways), sha256 {'equal' if same else 'DIFFERENT'}, "
                f"end of stream {'ok' if rest == b'' else 'MISSING'}{err}")


def fetch(path, timeout=15):
    try:
        return harness.http_get(GUEST, 8080, path, timeout)
    except OSError as e:
        print(f"  {path}: {type(e).__name__}: {e}", flush=True)
        return None


def echo_phase(toro, build_dir, elf, wire, megabytes, small, checks):
    vm = harness.Vm.toro(toro, build_dir, "TcpEcho", elf,
                         ["--nic", "e1000", "--netdev", wire.netdev, "--append", str(1 + small), "--timeout", "150"])
    try:
        if not vm.wait_for("listening on port 7", 30):
            checks["TcpEcho came up"] = False
            return vm
        ok, msg = transfer(int(megabytes * 1e6), 0, 60)
        print(msg, flush=True)
        checks[f"{megabytes} MB echoed over the lossy link, SHA-256 equal both ways, then end of stream"] = ok
        print(wire.stats(), flush=True)
        bad = 0
        start = time.monotonic()
        for i in range(1, 1 + small):
            if time.monotonic() > start + 30:  # bounded: the rest count as failed
                bad += 1 + small - i
                print(f"connections {i}-{small}: not tried, 30 s are up", flush=True)
                break
            ok, msg = transfer(1000, i, 15)
            if not ok:
                bad += 1
                print(msg, flush=True)
        print(f"{small} short connections in {time.monotonic() - start:.1f} s, {bad} bad", flush=True)
        checks[f"{small} short connections echoed exactly"] = bad == 0
        code = vm.wait(15)
        text = vm.text()
        m = re.search(r"bytes in use before (\d+), after (\d+)", text)
        checks[f"TcpEcho served {1 + small} connections"] = f"served {1 + small} connections" in text
        # Informational only: TcpEcho measures 500 ms after the last close, and over a lossy link
        # that connection (or a stalled one the client gave up on) may still be closing.
        print("TcpEcho heap in use: " + (f"before {m.group(1)}, after {m.group(2)}" if m else "not reported"))
        checks["TcpEcho exit code 0"] = code == 0
    finally:
        vm.stop()
    return vm


def print_connection(pcap, path):
    """The frames the guest's card saw of the request for `path` (a failed one), from QEMU's
    record: on the guest's side of the wire, so what the wire lost towards the guest is missing
    and what it lost from the guest is shown."""
    try:
        segments = harness.tcp_segments(pcap)
    except (OSError, ValueError) as e:
        print(f"  {path}: no frames ({e})")
        return
    ports = {g["sport"] for g in segments if g["dport"] == 8080 and g["payload"].startswith(f"GET {path} ".encode())}
    if not ports:
        print(f"  {path}: its request never reached the guest")
    for port in ports:
        print(f"  {path}: the frames of client port {port}, as the guest's card saw them:")
        for g in segments:
            if port in (g["sport"], g["dport"]):
                way = "in " if g["dport"] == 8080 else "out"
                print(f"    {way} flags 0x{g['flags']:02x} seq {g['seq']} len {len(g['payload'])}")


def http_phase(toro, build_dir, elf, wire, checks):
    # The card's frames are recorded (QEMU filter-dump), so that a failed request can be shown.
    pcap = f"{os.environ['TORO_PCAP']}-HelloWorldMicroservice.pcap" if os.environ.get("TORO_PCAP") else \
        os.path.join(build_dir, "losstest-http.pcap")
    options = [] if os.environ.get("TORO_PCAP") else ["--pcap", pcap]
    if os.path.exists(pcap):
        os.unlink(pcap)
    vm = harness.Vm.toro(toro, build_dir, "HelloWorldMicroservice", elf,
                         ["--nic", "e1000", "--netdev", wire.netdev, "--append", f"{GUEST},e1000", "--timeout", "150"]
                         + options)
    failed = []
    try:
        if not vm.wait_for("listening on port 8080", 30):
            checks["HelloWorldMicroservice came up"] = False
            return vm
        start = time.monotonic()
        seq = [fetch(f"/seq{i}") for i in range(20)]
        print(f"20 sequential requests in {time.monotonic() - start:.1f} s", flush=True)
        for i, r in enumerate(seq):
            if r != EXPECTED:
                print("  got:", r)
                failed.append(f"/seq{i}")
        checks["20 sequential HTTP requests over the lossy link, exact bytes"] = all(r == EXPECTED for r in seq)
        start = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(max_workers=20) as pool:
            par = list(pool.map(lambda i: fetch(f"/par{i}"), range(20)))
        print(f"20 parallel requests in {time.monotonic() - start:.1f} s", flush=True)
        for i, r in enumerate(par):
            if r != EXPECTED:
                print("  got:", r)
                failed.append(f"/par{i}")
        checks["20 parallel HTTP requests over the lossy link, exact bytes"] = all(r == EXPECTED for r in par)
        checks["service still answers"] = fetch("/last") == EXPECTED
    finally:
        vm.stop()
    for path in failed:
        print_connection(pcap, path)
    return vm


def main():
    if (code := netwire.enter_netns("torologe")) is not None:
        return code
    harness.exit_on_signals()
    toro, build_dir, echo_elf, hwm_elf, megabytes, small = sys.argv[1:7]
    loss = float(sys.argv[7]) if len(sys.argv) > 7 else 0.05
    reorder = float(sys.argv[8]) if len(sys.argv) > 8 else 0.05
    seed = int(sys.argv[9]) if len(sys.argv) > 9 else 1
    tap = netwire.Tap("wire0", "10.0.2.2/24")
    wire = netwire.Wire(tap, loss=loss, reorder=reorder, delay=0.004, seed=seed)
    wire.start()
    print(f"wire: {loss:.0%} loss and {reorder:.0%} reordering of TCP frames in each direction, seed {seed}",
          flush=True)
    checks = {}
    start = time.monotonic()
    vms = []
    try:
        vms.append(echo_phase(toro, build_dir, echo_elf, wire, float(megabytes), int(small), checks))
        print(f"echo phase: {time.monotonic() - start:.1f} s; {wire.stats()}", flush=True)
        vms.append(http_phase(toro, build_dir, hwm_elf, wire, checks))
        print(f"both phases: {time.monotonic() - start:.1f} s; {wire.stats()}", flush=True)
    finally:
        for vm in vms:
            text = vm.text()
            print("---- console ----\n" + text[-2500:])
            checks.setdefault("no fault or panic", True)
            if "Exception" in text or "Panic" in text or "killed by the exception" in text:
                checks["no fault or panic"] = False
    checks["the wire lost and reordered frames both ways"] = (wire.to_guest.lost > 0 and wire.to_host.lost > 0 and
                                                          wire.to_guest.reordered > 0 and wire.to_host.reordered > 0)
    return harness.report(checks)


if __name__ == "__main__":
    sys.exit(main())
