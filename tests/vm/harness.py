"""The VM test harness that every script in tests/vm (and bench/soak, bench/http) uses: start a
VM through tools/toro or QEMU directly, wait for a console line with a timeout, stop it (and
never leave one behind), a free host port, QEMU's isa-debug-exit status, the guest's HTTP
answer, tests/vm/loadgen, and the check list a script prints at its end.

  port = harness.free_port()
  vm = harness.Vm.toro(toro, build_dir, "TcpEcho", elf, ["--nic", "e1000", "--fwd", f"tcp:{port}:7"])
  try:
      if vm.wait_for("listening on port 7", 60): ...   # talk to 127.0.0.1:port
      code = vm.wait(60)                                # None: still running
  finally:
      vm.stop()
  print(vm.text()[-2000:])
  return harness.report({"echoed": ok, "exit code 0": code == 0})

Raw frames, tap devices and network namespaces are in netwire.py.
"""
import argparse
import atexit
import functools
import importlib.machinery
import importlib.util
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
TORO = os.path.join(ROOT, "tools", "toro")
QBOOT = "/usr/share/qemu/qboot.rom"

# QEMU options every VM that a script starts without tools/toro gets: the serial console on
# stdout, no display, and the guest's exit code through isa-debug-exit (see qemu_status).
QEMU_CONSOLE = ["-display", "none", "-monitor", "none", "-serial", "stdio", "-no-reboot",
                "-device", "isa-debug-exit,iobase=0xf4,iosize=4"]

# What HelloWorldMicroservice answers every GET with (toro-spec §3).
HELLO = (b"HTTP/1.0 200\r\nContent-type: Text/Html\r\nContent-length:24\r\nConnection: close\r\n"
         b"Server: ToroMicroserver\r\n\r\nHello World I am Toro!\r\n")


def qemu_status(code):
    """The status QEMU exits with when the guest writes exit code `code` to isa-debug-exit."""
    return (code << 1) | 1


def free_port(udp=False):
    """A port on 127.0.0.1 that nothing uses now (for a forwarded guest port): TCP, or UDP."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM if udp else socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def exit_on_signals():
    """SIGTERM and SIGINT (meson's timeout, ^C) raise SystemExit, so that `finally` blocks and
    the harness's exit handler stop the VMs."""
    def stop(signum, _frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)


def toro_command(toro, build_dir, verb, app, elf=None, options=()):
    """`tools/toro VERB APP --no-build [--elf ELF] OPTIONS...` (run, debug or bochs)."""
    cmd = [sys.executable, toro, "--build-dir", build_dir, verb, app, "--no-build"]
    if elf is not None:
        cmd += ["--elf", elf]
    return cmd + list(options)


@functools.lru_cache(maxsize=None)
def load_toro(path=TORO):
    """tools/toro as a module (its qemu_command, backlog_shim, ...)."""
    loader = importlib.machinery.SourceFileLoader("toro_tool", path)
    spec = importlib.util.spec_from_loader("toro_tool", loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


def qemu_command(elf, build_dir, machine="pc", smp=1, mem=128, append="", toro=TORO):
    """QEMU's command line exactly as tools/toro run builds it (qboot, TCG), without a card: the
    caller adds its own -netdev/-device pairs."""
    ns = argparse.Namespace(machine=machine, bios="qboot", accel="tcg", smp=smp, mem=mem, append=append,
                            nic="none", net="user", fwd=[], build_dir=build_dir, no_build=True)
    cmd = load_toro(toro).qemu_command(ns, elf)
    i = cmd.index("-nic")
    del cmd[i:i + 2]
    return cmd


def gdb_stub_boot(elf, build_dir, link="com2", machine="pc", smp=1, append="", toro=TORO):
    """QEMU's command line for a program that waits for gdb on the in-guest stub, the stub's line
    on a free TCP port: (cmd, port, where). `link` is "com2" (token `gdb`, COM2 on the port),
    "virtio" (token `gdb=virtio`, a virtio-console of its own on the port: virtio-serial-pci,
    or virtio-serial-device on microvm) or "virtio-missing" (token `gdb=virtio` without the
    device: the stub falls back to COM2). `where` is the end of the kernel's line "... waits for
    gdb on WHERE"."""
    port = free_port()
    token = "gdb" if link == "com2" else "gdb=virtio"
    cmd = qemu_command(elf, build_dir, machine=machine, smp=smp, append=(append + " " + token).strip(), toro=toro)
    if link == "virtio":
        cmd += load_toro(toro).virtio_console_options(
            machine, f"socket,host=127.0.0.1,port={port},server=on,wait=off", "gdb")
        return cmd, port, "VirtIOConsole"
    if machine == "microvm":  # microvm makes only COM1 from -serial
        cmd += ["-chardev", f"socket,id=gdbdev,host=127.0.0.1,port={port},server=on,wait=off",
                "-device", "isa-serial,chardev=gdbdev,iobase=0x2f8,irq=3"]
    else:
        cmd += ["-serial", f"tcp:127.0.0.1:{port},server=on,wait=off"]
    return cmd, port, "COM2"


class Run:
    """What a command that ran to its end left: `code` (None after a timeout), `out` and `err` (text;
    `err` is empty when stderr went to `out`)."""

    def __init__(self, code, out, err):
        self.code, self.out, self.err = code, out, err


def run(cmd, timeout=None, merge_stderr=True):
    """Runs a VM (or gdb, or QEMU) to its end and returns a Run; prints the command first. The
    command runs in a process group of its own, killed whole on a timeout."""
    print("$ " + " ".join(cmd), flush=True)
    proc = _start(cmd, stderr=subprocess.STDOUT if merge_stderr else subprocess.PIPE)
    try:
        out, err = proc.communicate(timeout=timeout)
        code = proc.returncode
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        out, err = proc.communicate()
        code = None
    finally:
        _live.discard(proc)
    return Run(code, out.decode(errors="replace"), (err or b"").decode(errors="replace"))


class Vm:
    """A VM (tools/toro run, or a QEMU command) running in its own process group while the
    script talks to it; its console (stdout and stderr) is collected in `out` by a thread.
    A Vm still running when the script exits is killed."""

    def __init__(self, cmd):
        print("$ " + " ".join(cmd), flush=True)
        self.proc = _start(cmd, stderr=subprocess.STDOUT)
        self.pid = self.proc.pid
        self.out = b""
        self._more = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    @classmethod
    def toro(cls, toro, build_dir, app, elf, options):
        """tools/toro run APP --elf ELF OPTIONS (TORO_PCAP=/tmp/x: the card's frames in /tmp/x-APP.pcap)."""
        options = list(options)
        if os.environ.get("TORO_PCAP"):
            options += ["--pcap", f"{os.environ['TORO_PCAP']}-{app}.pcap"]
        return cls(toro_command(toro, build_dir, "run", app, elf, options))

    def _read(self):
        for line in self.proc.stdout:
            with self._more:
                self.out += line
                self._more.notify_all()

    def wait_for(self, text, timeout):
        """True as soon as `text` is in the console; False if the VM ends or `timeout` s pass
        first. (It does not reap the VM: /proc/PID of an ended one stays readable until stop().)"""
        want = text.encode()
        deadline = time.monotonic() + timeout
        with self._more:
            while want not in self.out:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                if self._ended():
                    break
                self._more.wait(min(left, 0.05))
            else:
                return True
        self._reader.join(5)  # what it printed last
        return want in self.out

    def _ended(self):
        if self.proc.returncode is not None:
            return True
        try:
            return os.waitid(os.P_PID, self.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
        except ChildProcessError:
            return True

    def wait(self, timeout):
        """The exit status once the VM ends by itself, None if it runs on past `timeout` s."""
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        self._reader.join(5)
        _live.discard(self.proc)
        return self.proc.returncode

    def running(self):
        return self.proc.poll() is None

    def stop(self):
        """SIGTERM (tools/toro kills its QEMU and exits), the whole group killed after 30 s."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                _kill_group(self.proc)
        self._reader.join(5)
        _live.discard(self.proc)

    def kill(self):
        """SIGKILL to the whole group at once."""
        _kill_group(self.proc)
        self._reader.join(5)
        _live.discard(self.proc)

    def text(self):
        return self.out.decode(errors="replace")


def cpu_seconds(pid):
    """utime + stime of process `pid` so far, in seconds (/proc/PID/stat)."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def report(checks):
    """Prints one line per check, `ok   NAME` or `FAIL NAME`; 0 when there are checks and all
    passed, else 1 (the script's exit code)."""
    for name, good in checks.items():
        print(("ok   " if good else "FAIL ") + name)
    return 0 if checks and all(checks.values()) else 1


def verdict(ok):
    """PASS or FAILED as the last line; the script's exit code."""
    print("PASS" if ok else "FAILED")
    return 0 if ok else 1


# -------------------------------------------------------------------------------------------
# The guest's services, from the host.

def first_hello(port, path="/first", timeout=10):
    """HelloWorldMicroservice's first answer on 127.0.0.1:port, asked up to 50 times 0.1 s apart
    (QEMU's forwarder may accept before the guest's service is up): HELLO, or the last answer
    (None after an error)."""
    answer = None
    for _ in range(50):
        try:
            answer = http_get("127.0.0.1", port, path, timeout)
        except OSError:
            answer = None
        if answer == HELLO:
            break
        time.sleep(0.1)
    return answer


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


LOADGEN = re.compile(r"loadgen: requests (\d+) ok (\d+) failed (\d+) \((.*?)\) seconds ([\d.]+) rps (\d+) "
                     r"longest_ms ([\d.]+) max_gap_ms ([\d.]+) .*? loaded_gap_ms ([\d.]+) in_flight_in_max_gap (\d+)")


def tcp_segments(pcap):
    """The IPv4 TCP segments of a pcap file (Ethernet frames, as QEMU's filter-dump writes them),
    in order: dicts with sport, dport, seq, flags (the TCP flag byte: FIN 0x01, SYN 0x02, RST 0x04,
    PSH 0x08, ACK 0x10) and payload."""
    import struct
    with open(pcap, "rb") as f:
        data = f.read()
    if len(data) < 24 or data[:4] not in (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4"):
        raise ValueError(f"{pcap}: not a pcap file")
    endian = "<" if data[:4] == b"\xd4\xc3\xb2\xa1" else ">"
    out, at = [], 24
    while at + 16 <= len(data):
        caplen = struct.unpack(endian + "I", data[at + 8:at + 12])[0]
        frame = data[at + 16:at + 16 + caplen]
        at += 16 + caplen
        if len(frame) < 34 or frame[12:14] != b"\x08\x00" or frame[23] != 6:
            continue
        ihl = (frame[14] & 0x0F) * 4
        total = struct.unpack(">H", frame[16:18])[0]
        tcp = frame[14 + ihl:14 + total]
        if len(tcp) < 20:
            continue
        sport, dport, seq = struct.unpack(">HHI", tcp[:8])
        doff = (tcp[12] >> 4) * 4
        out.append({"sport": sport, "dport": dport, "seq": seq, "flags": tcp[13], "payload": bytes(tcp[doff:])})
    return out


def run_loadgen(loadgen, port, requests, concurrency, timeout=600):
    """tests/vm/loadgen against 127.0.0.1:port, every answer compared with HELLO: a dict of its
    numbers (requests, ok, failed, kinds, seconds, rps, longest_ms, max_gap_ms, loaded_gap_ms:
    the longest gap while every slot was busy, gap_in_flight: requests waiting across the longest
    gap), None if it printed none, and what it printed."""
    with tempfile.NamedTemporaryFile() as expect:
        expect.write(HELLO)
        expect.flush()
        r = subprocess.run([loadgen, "127.0.0.1", str(port), str(requests), str(concurrency), "10000", expect.name],
                           capture_output=True, text=True, timeout=timeout)
    text = (r.stdout + r.stderr).strip()
    m = LOADGEN.search(r.stdout)
    if m is None:
        return None, text
    return {"requests": int(m[1]), "ok": int(m[2]), "failed": int(m[3]), "kinds": m[4], "seconds": float(m[5]),
            "rps": int(m[6]), "longest_ms": float(m[7]), "max_gap_ms": float(m[8]),
            "loaded_gap_ms": float(m[9]), "gap_in_flight": int(m[10])}, text


# -------------------------------------------------------------------------------------------
# Process groups: every VM is the leader of its own, and none outlives the script.

_live = set()


def _start(cmd, stderr):
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL and threading.current_thread() is threading.main_thread():
        exit_on_signals()  # so that a script that meson times out still stops its VMs
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=stderr, stdin=subprocess.DEVNULL,
                            start_new_session=True)
    _live.add(proc)
    return proc


def _kill_group(proc):
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.wait()


@atexit.register
def _kill_all():
    for proc in list(_live):
        _kill_group(proc)
