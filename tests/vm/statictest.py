#!/usr/bin/env python3
"""StaticWebServer from the host: a site (apps/StaticWebServer/site plus generated files of 0,
4 KiB and 1 MiB + 3 bytes, a PNG, a file with an unknown suffix) made into an image, the server
booted with it, and every answer compared byte for byte with the file and Toro's headers; a
missing file gets `HTTP/1.0 404\\r\\n`, an unknown suffix nothing; 50 parallel requests for
the big file; the console lines Toro prints.

Usage: statictest.py TORO BUILD_DIR ELF NIC FS IFACE [MACHINE]"""
import concurrent.futures
import os
import random
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import fstest  # noqa: E402

SITE = os.path.join(harness.ROOT, "apps", "StaticWebServer", "site")
TYPES = {"html": "Text/html", "css": "Text/css", "png": "Image/png", "js": "Text/javascript"}


def expected(body, suffix):
    return (f"HTTP/1.0 200\r\nContent-type: {TYPES[suffix]}\r\nContent-length: {len(body)}\r\n"
            f"Connection: close\r\nServer: ToroHttpServer\r\n\r\n").encode() + body


def main():
    toro, build_dir, elf, nic, fs, iface = sys.argv[1:7]
    machine = sys.argv[7] if len(sys.argv) > 7 else "pc"
    tmp = tempfile.mkdtemp(prefix="toro-static-", dir=build_dir)
    site = os.path.join(tmp, "site")
    shutil.copytree(SITE, site)
    rnd = random.Random(7)
    files = {"/index.html": None, "/web/index.html": None, "/css/site.css": None,
             "/big/one-megabyte.js": rnd.randbytes(1048576 + 3), "/img/logo.png": rnd.randbytes(4096),
             "/empty.html": b"", "/Long Name With Spaces.html": b"<p>long names</p>\n"}
    for path, data in files.items():
        full = os.path.join(site, path.lstrip("/"))
        if data is None:
            with open(full, "rb") as f:
                files[path] = f.read()
        else:
            os.makedirs(os.path.dirname(full), exist_ok=True)
            with open(full, "wb") as f:
                f.write(data)
    with open(os.path.join(site, "notes.txt"), "w") as f:
        f.write("an unknown suffix\n")
    img = os.path.join(tmp, "site.img")
    fstest.make_image(img, fs, site)
    device, minor = fstest.device_and_minor(iface)
    fsname = "ext2" if fs.startswith("ext2") else "fat"
    card = "e1000" if nic == "e1000" else "virtionet"
    port = harness.free_port()
    vm = harness.Vm.toro(toro, build_dir, "StaticWebServer", elf,
                         ["--machine", machine, "--nic", nic, "--fwd", f"tcp:{port}:80", "--timeout", "240",
                          "--disk", img, "--disk-if", iface,
                          "--append", f"10.0.2.15,{card},{fsname},{device},{minor}"])
    checks = {}

    def get(path):
        try:
            return harness.http_get("127.0.0.1", port, path, 60)
        except OSError as e:
            print(f"  {path}: {type(e).__name__}: {e}", flush=True)
            return None

    try:
        checks["listening line"] = vm.wait_for("Http Server: listening at 80 ..", 120)
        for path, body in files.items():
            if " " in path:
                continue  # a request path ends at its first space (Toro's parser)
            checks[f"{path}: Toro's headers and the file's bytes"] = get(path) == expected(body, path.rsplit(".", 1)[1])
        checks["a missing file: HTTP/1.0 404"] = get("/nothing.html") == b"HTTP/1.0 404\r\n"
        checks["an unknown suffix: nothing"] = get("/notes.txt") == b""
        big = expected(files["/big/one-megabyte.js"], "js")
        with concurrent.futures.ThreadPoolExecutor(max_workers=50) as pool:
            answers = list(pool.map(lambda i: get("/big/one-megabyte.js"), range(50)))
        checks["50 parallel requests for 1 MiB, all exact"] = all(a == big for a in answers)
        checks["still serving"] = get("/index.html") == expected(files["/index.html"], "html")
    finally:
        vm.stop()
    text = vm.text()
    print(text[-3000:])
    checks["mount line"] = "SysMount: Filesystem mounted on CPU#0" in text
    checks["console: loaded line"] = "Http Server: /web/index.html loaded, size: %d bytes" % len(files["/web/index.html"]) in text
    checks["console: not found line"] = "Http Server: /nothing.html not found" in text
    checks["console: file format not found"] = "Http Server: file format not found" in text
    checks["console: new connection and closing lines"] = "Http Server: new connection from " in text and \
        "Http Server: closing from " in text
    checks["no fault"] = "killed by the exception" not in text and "PANIC" not in text.upper()
    if all(checks.values()):
        shutil.rmtree(tmp, ignore_errors=True)
    return harness.report(checks)


if __name__ == "__main__":
    harness.exit_on_signals()
    sys.exit(main())
