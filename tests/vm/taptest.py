#!/usr/bin/env python3
"""The host pings the guest through a tap device in a network namespace (tools/toro run
--net tap): boot NetIdle with 10.0.3.2, ping it from the namespace's 10.0.3.1, require replies.

Usage: taptest.py TORO BUILD_DIR ELF CARD"""
import os
import subprocess
import sys
import time


def main():
    toro, build_dir, elf, card = sys.argv[1:5]
    if os.geteuid() != 0:
        print("FAIL: needs root for ip netns")
        return 1
    ns = f"torotest{os.getpid()}"
    nic = "e1000" if card == "e1000" else "virtio"
    cmd = [sys.executable, toro, "--build-dir", build_dir, "run", "NetIdle", "--no-build", "--elf", elf,
           "--nic", nic, "--net", "tap", "--netns", ns, "--append", f"{card},10.0.3.2,10.0.3.1,15", "--timeout", "60"]
    print("$ " + " ".join(cmd), flush=True)
    vm = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    out = b""
    ping = None
    try:
        while b"NetIdle: up" not in out:
            line = vm.stdout.readline()
            if not line:
                break
            out += line
        ping = subprocess.run(["ip", "netns", "exec", ns, "ping", "-c", "3", "-i", "0.5", "-W", "2", "10.0.3.2"],
                              capture_output=True, text=True, timeout=30)
        print(ping.stdout + ping.stderr)
    finally:
        vm.terminate()  # tools/toro kills its QEMU on SIGTERM
        rest, _ = vm.communicate(timeout=30)
        out += rest
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)
    print(out.decode(errors="replace"))
    ok = ping is not None and ping.returncode == 0 and " 0% packet loss" in ping.stdout
    print("PASS" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
