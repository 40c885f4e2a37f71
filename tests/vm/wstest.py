#!/usr/bin/env python3
"""WebSocketServer over QEMU user networking: boot it with host ports forwarded to the guest's
880 (WebSocket) and 80 (HTTP), then talk RFC 6455 from a plain socket client (the handshake and
the framing are written out here, independently of the guest's code):
the exact 101 reply and accept key (RFC 6455 §1.3 sample key too), a text echo, Toro's counter
protocol ("0" to the sender, "2" broadcast to two clients), a binary frame, a 70 000-byte frame
(64-bit length) and a 1 MiB one both ways, 200 pipelined messages, a fragmented message with a
ping inside, ping/pong, a clean close (Close 1000 echoed, then the server closes TCP), and the
refusals: an unmasked frame, a reserved opcode or RSV bit and a long ping get Close 1002, text
that is not UTF-8 gets 1007, a frame claiming 2^40 bytes gets 1009, each followed by the server
closing the connection; a request without a key, or without an end after 8 KiB, gets 400
(--slow-reader: a client that reads nothing of 8 MiB of echo is dropped). The page on port 80,
the favicon 404, a connection still served at the end, every connection gone from the list,
and no fault.

--tap: the same over a tap device in a network namespace of its own (host 10.0.2.2, guest
10.0.2.15 set with -append), so the host's TCP talks to the guest's directly: under QEMU's user
networking libslirp reads everything the guest sends into its own buffers, and a client that
stops reading never shuts the guest's window, so the slow-reader drop cannot happen there.

Usage: wstest.py TORO BUILD_DIR ELF NIC [MACHINE] [--slow-reader] [--tap]"""
import base64
import hashlib
import json
import os
import socket
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import netwire  # noqa: E402

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
TIMEOUT = 30
HOST = "127.0.0.1"  # the guest's ports: forwarded to 127.0.0.1, or the guest itself (--tap)


def recv_exact(s, n):
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            raise ConnectionError(f"closed after {len(data)} of {n} bytes")
        data += chunk
    return data


def expected_reply(key):
    accept = base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()
    return (f"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Accept: {accept}\r\n\r\n").encode()


def upgrade_request(key, path="/Smiley"):
    return (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode()


def read_head(s):
    """Bytes up to the empty line (the HTTP header) and what came after it."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            raise ConnectionError(f"closed during the handshake: {data!r}")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return head + b"\r\n\r\n", rest


class Client:
    """One WebSocket connection; `head` is the server's handshake reply."""

    def __init__(self, port, key=None, request=None, rcvbuf=None):
        self.key = key or base64.b64encode(os.urandom(16)).decode()
        self.sock = socket.socket()
        self.sock.settimeout(TIMEOUT)
        if rcvbuf is not None:  # before connecting: it bounds the window the host offers
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.connect((HOST, port))
        self.sock.sendall(request if request is not None else upgrade_request(self.key))
        self.head, self.pending = read_head(self.sock)

    def send_frame(self, opcode, payload=b"", fin=True, masked=True, first=None):
        b0 = first if first is not None else (0x80 if fin else 0) | opcode
        n = len(payload)
        m = 0x80 if masked else 0
        if n < 126:
            header = struct.pack("!BB", b0, m | n)
        elif n < 65536:
            header = struct.pack("!BBH", b0, m | 126, n)
        else:
            header = struct.pack("!BBQ", b0, m | 127, n)
        if masked:
            mask = os.urandom(4)
            payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
            header += mask
        self.sock.sendall(header + payload)

    def send_in_background(self, frames):
        """Sends (opcode, payload) frames from a thread while the caller reads the echo, so that
        neither side's window stays shut (see check_slow_reader)."""
        t = threading.Thread(target=lambda: [self.send_frame(op, p) for op, p in frames], daemon=True)
        t.start()
        return t

    def _read(self, n):
        if len(self.pending) >= n:
            data, self.pending = self.pending[:n], self.pending[n:]
            return data
        data, self.pending = self.pending, b""
        return data + recv_exact(self.sock, n - len(data))

    def recv_frame(self):
        """(fin, opcode, payload, header length); a server frame must not be masked (§5.1)."""
        b0, b1 = self._read(2)
        if b1 & 0x80:
            raise ValueError("the server masked a frame")
        n, hlen = b1 & 0x7F, 2
        if n == 126:
            n, hlen = struct.unpack("!H", self._read(2))[0], 4
        elif n == 127:
            n, hlen = struct.unpack("!Q", self._read(8))[0], 10
        return bool(b0 & 0x80), b0 & 0x0F, self._read(n), hlen

    def closed_by_server(self):
        """True when the server closes TCP (EOF) with nothing more sent."""
        try:
            return self.pending == b"" and self.sock.recv(1) == b""
        except OSError:
            return False

    def close(self):
        self.sock.close()


def counters_json(c1, c2, c3):
    return (f'{{\r\n  "Action": "Update",\r\n  "Counter1": "{c1}",\r\n  "Counter2": "{c2}",\r\n'
            f'  "Counter3": "{c3}"\r\n}}').encode()


def http_get(port, path):
    with socket.create_connection((HOST, port), timeout=TIMEOUT) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: toro\r\n\r\n".encode())
        data = b""
        while chunk := s.recv(4096):
            data += chunk
        return data


def check_slow_reader(ws_port, check, console_shows):
    """A client that sends 8 MiB of messages and reads none of the echo: dropped once 4 MiB wait
    for it (the stream ends early), while the others go on. Not run by default: while the
    client's window is shut the guest's TCP probes it and its ACKs then carry SND.UNA + 1,
    which a receiver with a zero window drops (RFC 9293 §3.10.7.4), so the client's data stalls
    on its retransmission back-off in some runs (see src/net/tcp/connection.cpp retransmit())."""
    hog = Client(ws_port, rcvbuf=4096)  # so that the host's kernel does not buffer it all
    for _ in range(8):
        hog.send_frame(0x2, bytes(1 << 20))
    # Read nothing until the guest says it gave up (reading earlier races with its input).
    check("console: the hog was dropped", console_shows("WebSockets: dropping a client that does not read", 60))
    hog.sock.settimeout(60)
    received = 0
    try:
        while chunk := hog.sock.recv(1 << 16):
            received += len(chunk)
    except OSError as e:
        print(f"  hog: {type(e).__name__}: {e}", flush=True)
    check("a client that does not read is dropped", 0 < received < 8 << 20, received)
    hog.close()


def run_checks(ws_port, http_port, checks, console_shows, slow_reader):
    def check(name, cond, detail=""):
        checks[name] = bool(cond)
        if not cond:
            print(f"  {name}: {detail}", flush=True)

    # QEMU's forwarder accepts before the guest listens: retry the first handshake.
    first = None
    for _ in range(50):
        try:
            first = Client(ws_port)
            break
        except (OSError, ConnectionError):
            time.sleep(0.1)
    if first is None:
        check("handshake", False, "no connection")
        return
    check("101 reply and accept key, exact bytes", first.head == expected_reply(first.key), first.head)

    # RFC 6455 §1.3's sample key, answered with the RFC's accept value.
    rfc = Client(ws_port, key="dGhlIHNhbXBsZSBub25jZQ==")
    check("RFC 6455 sample key", b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n" in rfc.head, rfc.head)
    rfc.close()

    first.send_frame(0x1, b"Hello Toro")
    check("text echo", first.recv_frame() == (True, 0x1, b"Hello Toro", 2))

    # Toro's counters: "0" answers the sender only; "2" goes to every connection.
    first.send_frame(0x1, b"0")
    check("'0' sends the counters to the sender", first.recv_frame()[1:3] == (0x1, counters_json(0, 0, 0)))
    second = Client(ws_port)
    first.send_frame(0x1, b"2")
    want = (True, 0x1, counters_json(0, 1, 0), 2)
    a, b = first.recv_frame(), second.recv_frame()
    check("'2' is broadcast to both clients", a == want and b == want, (a, b))
    json.loads(a[2])  # the body is JSON

    blob = bytes(range(256))
    first.send_frame(0x2, blob)
    check("binary echo (16-bit length)", first.recv_frame() == (True, 0x2, blob, 4))

    big = os.urandom(70000)
    sending = first.send_in_background([(0x2, big)])
    got = first.recv_frame()
    sending.join()
    check("70000-byte frame echoed (64-bit length)", got == (True, 0x2, big, 10), (got[0], got[1], len(got[2]), got[3]))

    # The largest message accepted (1 MiB) and 200 frames in one write: the echo outgrows the
    # connection's 16 KiB TCP buffer and goes out from the service's pending output.
    big = os.urandom(1 << 20)
    sending = first.send_in_background([(0x2, big)])
    got = first.recv_frame()
    sending.join()
    check("1 MiB frame echoed", got == (True, 0x2, big, 10), (got[0], got[1], len(got[2]), got[3]))
    burst = [f"message {i} ".encode() * 20 for i in range(200)]
    sending = first.send_in_background([(0x1, m) for m in burst])
    got = [first.recv_frame()[2] for _ in burst]
    sending.join()
    check("200 pipelined messages echoed in order", got == burst)

    first.send_frame(0x9, b"are you there")
    check("ping -> pong with the payload", first.recv_frame() == (True, 0xA, b"are you there", 2))

    # A fragmented message with a ping between the fragments (§5.4): pong first, then the message.
    first.send_frame(0x1, b"Hel", fin=False)
    first.send_frame(0x9, b"mid")
    first.send_frame(0x0, b"lo frag")
    p, m = first.recv_frame(), first.recv_frame()
    check("fragments joined around a ping", p[1:3] == (0xA, b"mid") and m[1:3] == (0x1, b"Hello frag"), (p, m))

    # Clean close: Close 1000 comes back, then the server closes TCP.
    first.send_frame(0x8, struct.pack("!H", 1000) + b"bye")
    c = first.recv_frame()
    check("close 1000 echoed", c[1:3] == (0x8, struct.pack("!H", 1000)), c)
    check("server closes TCP after the close handshake", first.closed_by_server())
    first.close()

    # Refusals: Close with the code, then the connection ends (never a hang).
    for name, kwargs, code in [("unmasked frame", {"opcode": 0x1, "payload": b"nope", "masked": False}, 1002),
                               ("reserved opcode 3", {"opcode": 0x3, "payload": b"x"}, 1002),
                               ("RSV1 without an extension", {"opcode": 0x1, "first": 0xC1}, 1002),
                               ("ping of 126 bytes", {"opcode": 0x9, "payload": b"p" * 126}, 1002),
                               ("text that is not UTF-8", {"opcode": 0x1, "payload": b"\xff\xfe"}, 1007)]:
        cl = Client(ws_port)
        cl.send_frame(**kwargs)
        c = cl.recv_frame()
        check(f"{name} -> close {code}", c[1:3] == (0x8, struct.pack("!H", code)), c)
        check(f"{name} -> connection closed", cl.closed_by_server())
        cl.close()
    cl = Client(ws_port)
    cl.sock.sendall(struct.pack("!BBQ", 0x82, 0xFF, 1 << 40) + os.urandom(4))  # only the header
    c = cl.recv_frame()
    check("2^40-byte frame -> close 1009", c[1:3] == (0x8, struct.pack("!H", 1009)), c)
    check("2^40-byte frame -> connection closed", cl.closed_by_server())
    cl.close()

    if slow_reader:
        check_slow_reader(ws_port, check, console_shows)

    bad = Client(ws_port, request=b"GET /Smiley HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                                  b"Sec-WebSocket-Version: 13\r\n\r\n")
    check("no key -> 400 and close", bad.head.startswith(b"HTTP/1.1 400 Bad Request\r\n") and bad.closed_by_server(),
          bad.head)
    bad.close()
    long = Client(ws_port, request=b"GET /Smiley HTTP/1.1\r\nX-Pad: " + b"a" * 9000)  # no end after 8 KiB
    check("endless request -> 400 and close", long.head.startswith(b"HTTP/1.1 400 Bad Request\r\n") and
          long.closed_by_server(), long.head)
    long.close()

    # The second client still works after all that, then leaves without a close frame.
    second.send_frame(0x1, "żółw 🐢".encode())
    check("still serving (UTF-8 echo)", second.recv_frame() == (True, 0x1, "żółw 🐢".encode(), 2))
    second.close()

    page = http_get(http_port, "/")
    head, _, body = page.partition(b"\r\n\r\n")
    check("page on port 80", head.startswith(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n") and
          f"Content-Length: {len(body)}\r\n".encode() in head + b"\r\n" and b"new WebSocket(" in body, page[:200])
    fav = http_get(http_port, "/favicon.ico")
    check("favicon 404 (no disk)", fav == b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n"
          b"Server: ToroMicroserver\r\n\r\n", fav)


def main():
    global HOST
    tap = "--tap" in sys.argv
    if tap and (code := netwire.enter_netns("torows")) is not None:
        return code
    args = [a for a in sys.argv[1:] if a not in ("--slow-reader", "--tap")]
    toro, build_dir, elf, nic = args[:4]
    machine = args[4] if len(args) > 4 else "pc"
    card = "e1000" if nic == "e1000" else "virtionet"
    if tap:
        netwire.persistent_tap("tap0", "10.0.2.2/24")
        HOST = "10.0.2.15"
        ws_port, http_port = 880, 80
        network = ["--netdev", "tap,ifname=tap0,script=no,downscript=no", "--append", f"{card},10.0.2.15"]
    else:
        ws_port, http_port = harness.free_port(), harness.free_port()
        network = ["--fwd", f"tcp:{ws_port}:880", "--fwd", f"tcp:{http_port}:80", "--append", card]
    vm = harness.Vm.toro(toro, build_dir, "WebSocketServer", elf,
                         ["--machine", machine, "--nic", nic, "--timeout", "150"] + network)
    checks = {}
    try:
        if not vm.wait_for("WebSockets: listening on port 880", 60):
            checks["the VM came up"] = False
        else:
            try:
                run_checks(ws_port, http_port, checks, vm.wait_for, "--slow-reader" in sys.argv)
            except (OSError, ConnectionError, ValueError, struct.error) as e:
                print(f"  client error: {type(e).__name__}: {e}", flush=True)
                checks["client finished"] = False
            time.sleep(1)  # the last CloseWebSocket line
    finally:
        vm.stop()
    text = vm.text()
    print(text[-4000:])
    lines = text.splitlines()
    checks["console: services listening"] = ("WebServer: listening on port 80 ..." in text and
                                             "WebSockets: listening on port 880 ..." in text)
    checks["console: Toro's message lines"] = ("WebSocketsReceive - DoMessageReceived Hello Toro" in text and
                                               "Invalid index: Hello Toro" in text and
                                               "WebSocketsAccept - ListWebSockets.Count: 2" in text)
    closes = [l for l in lines if "CloseWebSocket - ListWebSockets.Count:" in l]
    checks["every connection left the list"] = bool(closes) and closes[-1].endswith("Count: 0")
    checks["no fault"] = ("Exception" not in text and "killed by" not in text and "PANIC" not in text.upper() and
                          "out of memory" not in text)
    return harness.report(checks)


if __name__ == "__main__":
    sys.exit(main())
