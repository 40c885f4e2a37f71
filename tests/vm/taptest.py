#!/usr/bin/env python3
"""The host pings the guest through a tap device in a network namespace (tools/toro run
--net tap): boot NetIdle with 10.0.3.2, ping it from the namespace's 10.0.3.1, require replies.

Usage: taptest.py TORO BUILD_DIR ELF CARD"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402


def main():
    toro, build_dir, elf, card = sys.argv[1:5]
    if os.geteuid() != 0:
        print("FAIL: needs root for ip netns")
        return 1
    ns = f"torotest{os.getpid()}"
    nic = "e1000" if card == "e1000" else "virtio"
    vm = harness.Vm.toro(toro, build_dir, "NetIdle", elf, ["--nic", nic, "--net", "tap", "--netns", ns, "--append",
                                                            f"{card},10.0.3.2,10.0.3.1,15", "--timeout", "60"])
    ping = None
    try:
        vm.wait_for("NetIdle: up", 60)
        ping = subprocess.run(["ip", "netns", "exec", ns, "ping", "-c", "3", "-i", "0.5", "-W", "2", "10.0.3.2"],
                              capture_output=True, text=True, timeout=30)
        print(ping.stdout + ping.stderr)
    finally:
        vm.stop()  # tools/toro kills its QEMU on SIGTERM
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)
    print(vm.text())
    return harness.verdict(ping is not None and ping.returncode == 0 and " 0% packet loss" in ping.stdout)


if __name__ == "__main__":
    sys.exit(main())
