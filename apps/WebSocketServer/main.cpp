// Port of Toro's WebSocketServer example (toro-spec §3): two non-blocking network services on
// one core. Port 80 serves the page (any request naming favicon.ico gets the 404 of an empty
// file: there is no disk, the page is built in), port 880 speaks WebSocket (RFC 6455):
//  - "0".."3" as a text message is Toro's counter protocol: "0" sends the three counters to the
//    sender, "1".."3" increment that counter and send the counters to every connection;
//  - any other text message is echoed back after Toro's `Invalid index: <msg>` line, and a
//    binary message is echoed back (Toro ignored both; the echo makes the port testable);
//  - Ping gets Pong with the same payload, Close gets Close with the same code, and a frame that
//    breaks the protocol (unmasked, reserved bits or opcodes, oversized) gets Close 1002 (1007
//    for text that is not UTF-8, 1009 for a message over 1 MiB) and the connection is closed;
//  - a bad upgrade request gets 400 (426 for another version), as does one still without its
//    empty line after 8 KiB; one not complete after 20 s is closed (Toro waited forever); a
//    client that leaves 4 MiB of output unread is dropped.
// With `disk` among the parameters the page and favicon come from a FAT disk as in Toro
// (DedicateBlockDriver('ATA0'), SysMount('fat', 'ATA0', 6): the primary slave's first partition,
// `tools/toro run WebSocketServer --disk DIR --disk-if ide --append virtionet,disk`).
// Network: `-append [CARD[,IP[,GATEWAY]]]` ("e1000" or "virtionet"; default: the one found),
// address by DHCP (10.0.2.15 under QEMU's user networking) unless IP is given (a /24; the tap
// tests use it). toro.defaults forwards 127.0.0.1:8080 to port 80 and 127.0.0.1:8880 to port
// 880; the page connects to its own port + 800.
#include <lib/websocket.h>
#include <toro.h>

#include <cstring>
#include <new>

namespace {

namespace ws = klib::ws;

constexpr LongInt kHttpPort = 80;
constexpr LongInt kHttpTimeout = 20000;  // ms
constexpr LongInt kWebSocketPort = 880;
constexpr LongInt kWebSocketTimeout = 0x7FFFFFFF;  // 2^31 - 1 ms: Toro's "never"
constexpr LongInt kHandshakeTimeout = 20000;       // ms to send the upgrade request (Toro: never)
constexpr LongInt kFlushInterval = 2;              // ms between attempts to send what the TCP buffer refused
constexpr DWORD kMaxRequest = 8192;                // an HTTP request or upgrade request longer than this is refused
constexpr DWORD kMaxMessage = 1 << 20;             // a longer WebSocket message closes the connection (1009)
constexpr DWORD kMaxPending = 4 << 20;             // output a client leaves unread before it is dropped
constexpr DWORD kPrintMax = 64;                    // characters of a message shown on the console

// The page (toro-spec: /web/index.htm from the FAT disk; here built into the image).
const char kIndexPage[] = R"html(<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Toro WebSockets</title></head>
<body style="font-family: sans-serif">
<h1>Toro WebSockets</h1>
<p>Each button increments a counter in the unikernel; every open page sees the new values.</p>
<p><button onclick="send('1')">Counter1</button> <span id="c1">?</span></p>
<p><button onclick="send('2')">Counter2</button> <span id="c2">?</span></p>
<p><button onclick="send('3')">Counter3</button> <span id="c3">?</span></p>
<p id="state">connecting...</p>
<script>
const port = location.port ? Number(location.port) + 800 : 880;
const sock = new WebSocket("ws://" + location.hostname + ":" + port + "/Smiley");
function send(m) { sock.send(m); }
sock.onopen = () => { document.getElementById("state").textContent = "connected"; send("0"); };
sock.onclose = () => { document.getElementById("state").textContent = "closed"; };
sock.onmessage = (e) => {
  const c = JSON.parse(e.data);
  for (const i of [1, 2, 3]) document.getElementById("c" + i).textContent = c["Counter" + i];
};
</script>
</body></html>
)html";

// ---- HTTP (port 80) -----------------------------------------------------------------------

struct THttpRequest {
  char Buffer[kMaxRequest];
  DWORD Length;
};

TNetworkHandler g_http;

void Append(char* out, DWORD& n, const char* s) {
  while (*s != '\0') out[n++] = *s++;
}

void AppendNumber(char* out, DWORD& n, DWORD v) {
  char digits[10];
  int k = 0;
  do {
    digits[k++] = char('0' + v % 10);
    v /= 10;
  } while (v != 0);
  while (k > 0) out[n++] = digits[--k];
}

bool Contains(const char* text, DWORD length, const char* word) {
  const DWORD w = DWORD(strlen(word));
  for (DWORD i = 0; i + w <= length; ++i) {
    if (memcmp(text + i, word, w) == 0) return true;
  }
  return false;
}

// A service's listening socket (called from its DoInit).
void Listen(LongInt Port, LongInt Backlog, const char* Name) {
  PSocket s = SysSocket(SOCKET_STREAM);
  if (s != nullptr) {
    s->SourcePort = DWORD(Port);
    s->Blocking = false;
    if (SysSocketListen(s, Backlog)) return;
  }
  WriteConsoleF("\t %s: cannot listen on port %d\n", Name, Port);
}

void HttpInit() { Listen(kHttpPort, 50, "WebServer"); }

LongInt HttpAccept(PSocket Socket) {
  auto* req = static_cast<THttpRequest*>(ToroGetMem(sizeof(THttpRequest)));
  if (req == nullptr) {
    SysSocketClose(Socket);
    return 0;
  }
  req->Length = 0;
  Socket->UserDefined = req;
  SysSocketSelect(Socket, kHttpTimeout);
  return 0;
}

LongInt HttpClose(PSocket Socket) {
  ToroFreeMem(Socket->UserDefined);
  Socket->UserDefined = nullptr;
  SysSocketClose(Socket);
  return 0;
}

// The page and the icon: built in, or Toro's /web/index.htm and /web/favicon.ico from a disk.
const char* g_page = kIndexPage;
DWORD g_page_size = DWORD(sizeof kIndexPage - 1);
const char* g_icon = nullptr;
DWORD g_icon_size = 0;

// A page from disk may not fit the connection's send buffer at once: the rest is queued as room
// appears (the non-blocking send takes what fits; a short wait lets the stack drain it).
void SendAll(PSocket Socket, const char* data, DWORD size) {
  for (int idle = 0; size > 0 && idle < 2000;) {
    const LongInt n = SysSocketSend(Socket, const_cast<char*>(data), size, 0);
    if (n > 0) {
      data += n;
      size -= DWORD(n);
      idle = 0;
    } else {
      ++idle;
      Sleep(1);
    }
  }
}

// Toro's preload (DedicateBlockDriver('ATA0', 0); SysMount('fat', 'ATA0', 6)): the whole file
// in memory and its console line; false if it is not there.
bool Preload(const char* path, const char** data, DWORD* size) {
  TInode inode;
  if (SysStatFile(path, &inode) == 0 || inode.Mode != INODE_REG || inode.Size > (Int64(16) << 20)) return false;
  THandle f = SysOpenFile(path, O_RDONLY);
  if (f == 0) return false;
  char* buffer = static_cast<char*>(ToroGetMem(PtrUInt(inode.Size) + 1));
  const LongInt n = buffer != nullptr ? SysReadFile(f, LongInt(inode.Size), buffer) : -1;
  SysCloseFile(f);
  if (n != inode.Size) {
    ToroFreeMem(buffer);
    return false;
  }
  *data = buffer;
  *size = DWORD(n);
  WriteConsoleF("\t ToroWebSockets: loaded, Size: %d bytes\n", *size);
  return true;
}

LongInt HttpReceive(PSocket Socket) {
  auto* req = static_cast<THttpRequest*>(Socket->UserDefined);
  LongInt n;
  while (req->Length < kMaxRequest &&
         (n = SysSocketRecv(Socket, req->Buffer + req->Length, kMaxRequest - req->Length, 0)) > 0) {
    req->Length += DWORD(n);
  }
  // The whole header, or as much as fits: then answer (Toro looked only for "favicon.ico").
  if (req->Length < kMaxRequest && !Contains(req->Buffer, req->Length, "\r\n\r\n")) {
    SysSocketSelect(Socket, kHttpTimeout);
    return 0;
  }
  const bool favicon = Contains(req->Buffer, req->Length, "favicon.ico");
  WriteConsoleF("HttpServerReceive -> %s\n", favicon ? "favicon.ico" : "index.html");
  const char* body = favicon ? g_icon : g_page;
  const DWORD size = favicon ? g_icon_size : g_page_size;
  char header[256];
  DWORD h = 0;
  if (size == 0) {
    Append(header, h, "HTTP/1.1 404 Not Found\r\n");
  } else {
    Append(header, h,
           favicon ? "HTTP/1.1 200 OK\r\nContent-Type: image/x-icon\r\n"
                   : "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n");
  }
  Append(header, h, "Content-Length: ");
  AppendNumber(header, h, size);
  Append(header, h, "\r\nConnection: close\r\nServer: ToroMicroserver\r\n\r\n");
  // The page and the header fit the connection's send buffer, so nothing is left over.
  SysSocketSend(Socket, header, h, 0);
  if (size != 0) SendAll(Socket, body, size);
  return HttpClose(Socket);
}

// ---- WebSocket (port 880) -----------------------------------------------------------------

struct TWebSocket {
  PSocket Socket;
  TWebSocket* Next;  // ListWebSockets
  bool Upgraded;     // the 101 reply went out: frames from now on
  bool Closing;      // our last bytes are queued: close the socket once they are sent
  bool Drop;         // close at the next callback without waiting (the client stopped reading)
  ws::Receiver Rx{kMaxMessage};
  Byte* In = nullptr;  // received, not yet consumed
  DWORD InLength = 0, InCapacity = 0, InNeeded = 0;
  Byte* Out = nullptr;  // refused by the TCP send buffer so far: Out[OutStart..OutStart+OutLength)
  DWORD OutStart = 0, OutLength = 0, OutCapacity = 0;
};

TNetworkHandler g_websockets;
TWebSocket* g_list = nullptr;  // ListWebSockets (one service thread touches it)
DWORD g_count = 0;
DWORD g_counters[4] = {};  // [1..3]

// Grows `buf` to hold at least `want` bytes (doubling); false when out of memory.
bool Reserve(Byte*& buf, DWORD& capacity, DWORD want) {
  if (want <= capacity) return true;
  DWORD c = capacity < 4096 ? 4096 : capacity;
  while (c < want) c *= 2;
  auto* p = static_cast<Byte*>(ToroReAllocMem(buf, c));
  if (p == nullptr) return false;
  buf = p;
  capacity = c;
  return true;
}

void CloseWebSocket(TWebSocket* w) {
  for (TWebSocket** link = &g_list; *link != nullptr; link = &(*link)->Next) {
    if (*link == w) {
      *link = w->Next;
      --g_count;
      break;
    }
  }
  WriteConsoleF("CloseWebSocket - ListWebSockets.Count: %d\n", g_count);
  w->Socket->UserDefined = nullptr;
  SysSocketClose(w->Socket);
  ToroFreeMem(w->In);
  ToroFreeMem(w->Out);
  w->~TWebSocket();
  ToroFreeMem(w);
}

// Sends what the TCP buffer takes now.
void Flush(TWebSocket* w) {
  while (w->OutLength > 0) {
    const LongInt n = SysSocketSend(w->Socket, reinterpret_cast<PChar>(w->Out + w->OutStart), w->OutLength, 0);
    if (n <= 0) return;
    w->OutStart += DWORD(n);
    w->OutLength -= DWORD(n);
  }
  w->OutStart = 0;
}

// Sends or keeps bytes for `w`. A client that leaves more than kMaxPending unread is dropped.
void Queue(TWebSocket* w, const void* data, DWORD n) {
  if (w->Closing || w->Drop) return;
  const auto* p = static_cast<const Byte*>(data);
  if (w->OutLength == 0) {
    const LongInt sent = SysSocketSend(w->Socket, const_cast<PChar>(reinterpret_cast<const char*>(p)), n, 0);
    if (sent > 0) p += sent, n -= DWORD(sent);
  }
  if (n == 0) return;
  if (w->OutStart != 0) {  // keep the pending bytes at the start
    memmove(w->Out, w->Out + w->OutStart, w->OutLength);
    w->OutStart = 0;
  }
  if (w->OutLength + n > kMaxPending || !Reserve(w->Out, w->OutCapacity, w->OutLength + n)) {
    WriteConsoleF("WebSockets: dropping a client that does not read (%d bytes pending)\n", w->OutLength + n);
    w->Drop = true;
    SysSocketSelect(w->Socket, 0);  // DoTimeOut at once closes it
    return;
  }
  memcpy(w->Out + w->OutLength, p, n);
  w->OutLength += n;
  SysSocketSelect(w->Socket, kFlushInterval);  // DoTimeOut sends the rest (or DoReceive first)
}

void SendFrame(TWebSocket* w, ws::Opcode op, const void* payload, DWORD n) {
  Byte header[ws::kMaxHeaderSize];
  Queue(w, header, DWORD(ws::encode_header(header, op, n)));
  Queue(w, payload, n);
}

// Our Close frame is the last thing sent; the socket closes once it is out (RFC 6455 §7.1.1:
// the server closes the TCP connection first).
void SendClose(TWebSocket* w, ws::CloseCode code) {
  Byte frame[4];
  Queue(w, frame, DWORD(ws::encode_close(frame, code)));
  w->Closing = true;
  w->InLength = 0;
}

DWORD CountersJson(char* out) {
  DWORD n = 0;
  Append(out, n, "{\r\n  \"Action\": \"Update\",\r\n");
  for (int i = 1; i <= 3; ++i) {
    Append(out, n, "  \"Counter");
    out[n++] = char('0' + i);
    Append(out, n, "\": \"");
    AppendNumber(out, n, g_counters[i]);
    Append(out, n, i < 3 ? "\",\r\n" : "\"\r\n}");
  }
  return n;
}

// The first kPrintMax characters of a message as a C string (control characters as '.').
void Printable(const Byte* p, size_t n, char (&out)[kPrintMax + 4]) {
  size_t i = 0;
  for (; i < n && i < kPrintMax; ++i) out[i] = p[i] < 0x20 || p[i] == 0x7F ? '.' : char(p[i]);
  if (n > kPrintMax) out[i++] = '.', out[i++] = '.', out[i++] = '.';
  out[i] = '\0';
}

void OnMessage(TWebSocket* w, const ws::Event& e) {
  if (e.opcode == ws::Opcode::kBinary) {
    WriteConsoleF("WebSocketsReceive - DoMessageReceived <%d bytes of binary>\n", e.length);
    SendFrame(w, ws::Opcode::kBinary, e.payload, DWORD(e.length));
    return;
  }
  char text[kPrintMax + 4];
  Printable(e.payload, e.length, text);
  WriteConsoleF("WebSocketsReceive - DoMessageReceived %s\n", static_cast<const char*>(text));
  const int index = e.length == 1 && e.payload[0] >= '0' && e.payload[0] <= '3' ? e.payload[0] - '0' : -1;
  if (index < 0) {
    WriteConsoleF("Invalid index: %s\n", static_cast<const char*>(text));
    SendFrame(w, ws::Opcode::kText, e.payload, DWORD(e.length));
    return;
  }
  char json[128];
  if (index == 0) {
    SendFrame(w, ws::Opcode::kText, json, CountersJson(json));
    return;
  }
  ++g_counters[index];
  const DWORD n = CountersJson(json);
  WriteConsoleF("WebSocketsBroadcast - Counter%d: %d to %d connections\n", index, g_counters[index], g_count);
  for (TWebSocket* other = g_list; other != nullptr; other = other->Next) {
    if (other->Upgraded) SendFrame(other, ws::Opcode::kText, json, n);
  }
}

void ProcessFrames(TWebSocket* w) {
  size_t length = w->InLength;
  for (;;) {
    const ws::Event e = w->Rx.poll(w->In, &length);
    w->InLength = DWORD(length);
    switch (e.kind) {
      case ws::EventKind::kNeedMore:
        w->InNeeded = DWORD(e.needed);
        return;
      case ws::EventKind::kMessage:
        OnMessage(w, e);
        break;
      case ws::EventKind::kPing:
        SendFrame(w, ws::Opcode::kPong, e.payload, DWORD(e.length));
        break;
      case ws::EventKind::kPong:
        break;
      case ws::EventKind::kClose:
        WriteConsoleF("WebSocketsReceive - Close %d\n", DWORD(e.close_code));
        SendClose(w, e.close_code);
        return;
      case ws::EventKind::kError:
        WriteConsoleF("WebSocketsReceive - protocol error, closing with %d\n", DWORD(e.close_code));
        SendClose(w, e.close_code);
        return;
    }
  }
}

void Handshake(TWebSocket* w) {
  ws::Handshake hs;
  const ws::HandshakeStatus status = ws::parse_handshake(reinterpret_cast<const char*>(w->In), w->InLength, &hs);
  char reply[ws::kMaxReplySize];
  if (status == ws::HandshakeStatus::kIncomplete) {
    if (w->InLength < kMaxRequest) return;
    Queue(w, reply, DWORD(ws::handshake_error_reply(ws::HandshakeStatus::kBadRequest, reply)));
  } else if (status == ws::HandshakeStatus::kOk) {
    Queue(w, reply, DWORD(ws::handshake_reply(hs, reply)));
    w->Upgraded = true;
    w->InLength -= DWORD(hs.request_length);  // frames may follow at once
    memmove(w->In, w->In + hs.request_length, w->InLength);
    return;
  } else {
    Queue(w, reply, DWORD(ws::handshake_error_reply(status, reply)));
  }
  WriteConsoleF("WebSocketsAccept - bad handshake\n");
  w->Closing = true;
  w->InLength = 0;
}

// Moves the socket on (Toro's rule: every callback ends with Select or Close).
LongInt Continue(TWebSocket* w) {
  if (w->Drop || (w->Closing && w->OutLength == 0)) {
    CloseWebSocket(w);
  } else {
    SysSocketSelect(w->Socket, w->OutLength > 0 ? kFlushInterval : w->Upgraded ? kWebSocketTimeout : kHandshakeTimeout);
  }
  return 0;
}

void WebSocketsInit() { Listen(kWebSocketPort, 100, "WebSockets"); }

LongInt WebSocketsAccept(PSocket Socket) {
  auto* w = static_cast<TWebSocket*>(ToroGetMem(sizeof(TWebSocket)));
  if (w == nullptr) {
    SysSocketClose(Socket);
    return 0;
  }
  new (w) TWebSocket{};
  w->Socket = Socket;
  w->Next = g_list;
  g_list = w;
  ++g_count;
  Socket->UserDefined = w;
  WriteConsoleF("WebSocketsAccept - ListWebSockets.Count: %d\n", g_count);
  SysSocketSelect(Socket, kHandshakeTimeout);
  return 0;
}

LongInt WebSocketsReceive(PSocket Socket) {
  auto* w = static_cast<TWebSocket*>(Socket->UserDefined);
  Flush(w);
  for (;;) {
    if (w->Closing || w->Drop) {  // nothing more is read: discard what comes
      char sink[512];
      while (SysSocketRecv(Socket, sink, sizeof sink, 0) > 0) {
      }
      break;
    }
    // Room for what the receiver asked for, and at least 4 KiB more (bounded: the receiver
    // refuses frames over kMaxMessage before asking for their bytes).
    const DWORD want = (w->InNeeded > w->InLength ? w->InNeeded : w->InLength) + 4096;
    if (!Reserve(w->In, w->InCapacity, want)) {
      WriteConsoleF("WebSockets: out of memory\n");
      w->Drop = true;
      break;
    }
    const LongInt n =
        SysSocketRecv(Socket, reinterpret_cast<PChar>(w->In + w->InLength), w->InCapacity - w->InLength, 0);
    if (n <= 0) break;
    w->InLength += DWORD(n);
    if (!w->Upgraded) Handshake(w);
    if (w->Upgraded && !w->Closing) ProcessFrames(w);
  }
  return Continue(w);
}

LongInt WebSocketsTimeOut(PSocket Socket) {
  auto* w = static_cast<TWebSocket*>(Socket->UserDefined);
  if (w->OutLength == 0 && !w->Closing && !w->Drop) {  // idle for kWebSocketTimeout
    CloseWebSocket(w);
    return 0;
  }
  Flush(w);
  return Continue(w);
}

LongInt WebSocketsClose(PSocket Socket) {  // the client closed its side
  CloseWebSocket(static_cast<TWebSocket*>(Socket->UserDefined));
  return 0;
}

// "a.b.c.d" into `ip`; false (and `ip` untouched) if it is not one.
bool ParseIp(const char* s, Byte ip[4]) {
  Byte out[4];
  for (int i = 0; i < 4; ++i) {
    int v = 0, digits = 0;
    while (*s >= '0' && *s <= '9' && digits < 3) v = v * 10 + (*s++ - '0'), ++digits;
    if (digits == 0 || v > 255 || (i < 3 && *s++ != '.')) return false;
    out[i] = Byte(v);
  }
  if (*s != '\0') return false;
  memcpy(ip, out, 4);
  return true;
}

}  // namespace

// The positional parameters, `disk` left out wherever it is.
const char* Param(LongInt index) {
  LongInt seen = 0;
  for (LongInt i = 0; i < KernelParamCount(); ++i) {
    const char* p = GetKernelParam(i);
    if (strcmp(p, "disk") == 0) continue;
    if (seen++ == index) return p;
  }
  return nullptr;
}

int main() {
  Byte ip[4] = {0, 0, 0, 0}, gateway[4] = {0, 0, 0, 0}, mask[4] = {0, 0, 0, 0};  // all zero: DHCP
  bool disk = false;
  for (LongInt i = 0; i < KernelParamCount(); ++i) disk = disk || strcmp(GetKernelParam(i), "disk") == 0;
  const char* card = Param(0);
  if (Param(1) != nullptr) {
    if (!ParseIp(Param(1), ip)) {
      WriteConsoleF("\t ToroWebSockets: %p is not an IPv4 address\n", Param(1));
      return 1;
    }
    const Byte slash24[4] = {255, 255, 255, 0};
    memcpy(mask, slash24, 4);
    if (Param(2) != nullptr) ParseIp(Param(2), gateway);
  }
  Boolean up = DedicateNetwork(card != nullptr ? card : "e1000", ip, gateway, mask, nullptr);
  if (!up && card == nullptr) up = DedicateNetwork("virtionet", ip, gateway, mask, nullptr);  // no e1000
  if (!up) {
    WriteConsoleF("\t ToroWebSockets: no network card, the services cannot start\n");
    return 1;
  }
  if (disk) {
    // Toro's: the first partition of the primary slave (QEMU -hdb, tools/toro --disk-if ide).
    DedicateBlockDriver("ATA0", 0);
    if (!SysMount("fat", "ATA0", 6) || !Preload("/web/index.htm", &g_page, &g_page_size)) {
      WriteConsoleF("\t ToroWebSockets: no /web/index.htm on ATA0 minor 6\n");
      return 1;
    }
    Preload("/web/favicon.ico", &g_icon, &g_icon_size);
  } else {
    WriteConsoleF("\t ToroWebSockets: loaded, Size: %d bytes\n", DWORD(sizeof kIndexPage - 1));
  }

  g_http.DoInit = HttpInit;
  g_http.DoAccept = HttpAccept;
  g_http.DoReceive = HttpReceive;
  g_http.DoTimeOut = HttpClose;
  g_http.DoClose = HttpClose;
  if (!SysRegisterNetworkService(&g_http)) return 1;
  WriteConsoleF("\t WebServer: listening on port %d ...\n", kHttpPort);

  g_websockets.DoInit = WebSocketsInit;
  g_websockets.DoAccept = WebSocketsAccept;
  g_websockets.DoReceive = WebSocketsReceive;
  g_websockets.DoTimeOut = WebSocketsTimeOut;
  g_websockets.DoClose = WebSocketsClose;
  if (!SysRegisterNetworkService(&g_websockets)) return 1;
  WriteConsoleF("\t WebSockets: listening on port %d ...\n", kWebSocketPort);
  SysSuspendThread(0);
  return 0;
}
