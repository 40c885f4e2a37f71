// Port of Toro 2019's StaticWebServer (toro-spec §3.2): files from a FAT volume on virtio-blk
// served over HTTP/1.0 with blocking sockets and a thread per connection.
// Kernel parameters (all optional, in order): the address (dotted; QEMU user networking's
// 10.0.2.15 by default), the card (default: e1000, else virtionet), the filesystem ("fat"),
// the block device ("virtioblk") and its minor (0), and `quiet` anywhere to leave out the
// per-connection console lines (for benchmarks).
//   tools/toro run StaticWebServer            serves apps/StaticWebServer/site on 127.0.0.1:8080
#include <toro.h>

#include <cstring>

namespace {

constexpr LongInt kPort = 80;
constexpr LongInt kTimeout = 20000;  // ms without the request line: the connection is closed
constexpr DWORD kMaxPath = 200;
constexpr SizeUInt kConnectionStack = 32 * 1024;

bool g_quiet = false;

struct TRequest {
  PSocket Socket;
  char Path[kMaxPath + 1];
  DWORD Length;
};
using PRequest = TRequest*;

// Toro prints the remote address as one decimal DWORD (its byte order).
void Say(const char* what, PSocket s) {
  if (!g_quiet) WriteConsoleF("\t Http Server: %p from %d:%d\n", what, s->DestIp, s->DestPort);
}

// Toro's content types by suffix; nullptr for a suffix it does not serve.
const char* ContentType(const char* path) {
  const char* dot = nullptr;
  for (const char* p = path; *p != '\0'; ++p) {
    if (*p == '.') dot = p;
  }
  if (dot == nullptr) return nullptr;
  static const char* const kTypes[][2] = {{"html", "Text/html"}, {"json", "Text/json"},     {"htm", "Text/htm"},
                                          {"css", "Text/css"},   {"js", "Text/javascript"}, {"md", "Text/markdown"},
                                          {"png", "Image/png"}};
  for (const auto& t : kTypes) {
    if (strcmp(dot + 1, t[0]) == 0) return t[1];
  }
  return nullptr;
}

// Reads the path: the characters after "GET " up to the next space (at most kMaxPath). The
// request is taken in pieces as it arrives (not a byte per call); what follows the path (the
// rest of an HTTP/1.0 request) is not needed. False when the connection closed or timed out
// before the path was complete.
bool ReadPath(PRequest r) {
  DWORD seen = 0;  // bytes of the request so far
  char piece[256];
  for (;;) {
    LongInt n;
    while ((n = SysSocketRecv(r->Socket, piece, sizeof piece, 0)) > 0) {
      for (LongInt i = 0; i < n; ++i) {
        const char c = piece[i];
        if (++seen <= 4) continue;  // "GET "
        if (c == ' ' || c == '\r' || c == '\n' || r->Length == kMaxPath) {
          r->Path[r->Length] = '\0';
          return true;
        }
        r->Path[r->Length++] = c;
      }
    }
    if (n < 0 || !SysSocketSelect(r->Socket, kTimeout)) return false;
  }
}

// Opens a regular file and gives its size; 0 if there is none. (Toro loaded the whole file in
// memory per request; this port sends it in pieces of kChunk, so that a thousand connections
// asking for a megabyte do not need a gigabyte.)
constexpr LongInt kChunk = 64 * 1024;
constexpr LongInt kHeaderMax = 256;

THandle OpenFile(const char* path, Int64* size) {
  TInode inode;
  if (SysStatFile(path, &inode) == 0 || inode.Mode != INODE_REG || inode.Size > (Int64(1) << 30)) return 0;
  *size = inode.Size;
  return SysOpenFile(path, O_RDONLY);
}

void SendAll(PSocket s, const char* data, LongInt size) {
  while (size > 0) {
    LongInt n = SysSocketSend(s, const_cast<char*>(data), DWORD(size), 0);
    if (n <= 0) return;  // the connection ended
    data += n;
    size -= n;
  }
}

PtrInt ProcessesSocket(void* param) {
  auto* r = static_cast<PRequest>(param);
  PSocket s = r->Socket;
  if (!ReadPath(r)) {
    Say("closing for timeout", s);
    SysSocketClose(s);
    ToroFreeMem(r);
    return 0;
  }
  const char* type = ContentType(r->Path);
  Int64 size = 0;
  THandle file = type != nullptr ? OpenFile(r->Path, &size) : 0;
  // The header and the file's first piece go out in one send (one segment for a small file,
  // as HelloWorldMicroservice's answer), so the buffer holds both.
  const LongInt piece = LongInt(size < kChunk ? size : kChunk);
  char* buffer = file != 0 ? static_cast<char*>(ToroGetMem(kHeaderMax + piece)) : nullptr;
  if (type == nullptr) {
    if (!g_quiet) WriteConsoleF("\t Http Server: file format not found\n");
  } else if (buffer == nullptr) {
    if (!g_quiet) WriteConsoleF("\t Http Server: %p not found\n", r->Path);
    static const char kNotFound[] = "HTTP/1.0 404\r\n";
    SendAll(s, kNotFound, sizeof kNotFound - 1);
  } else {
    if (!g_quiet) WriteConsoleF("\t Http Server: %p loaded, size: %d bytes\n", r->Path, size);
    LongInt h = 0;
    auto put = [&](const char* t) {
      while (*t != '\0' && h < kHeaderMax) buffer[h++] = *t++;
    };
    char digits[20];
    LongInt d = 0;
    for (Int64 v = size;; v /= 10) {
      digits[d++] = char('0' + v % 10);
      if (v < 10) break;
    }
    put("HTTP/1.0 200\r\nContent-type: ");
    put(type);
    put("\r\nContent-length: ");
    while (d > 0 && h < kHeaderMax) buffer[h++] = digits[--d];
    put("\r\nConnection: close\r\nServer: ToroHttpServer\r\n\r\n");
    char* data = buffer + h;  // the first piece after the header, the others from the start
    LongInt room = piece;
    for (Int64 sent = 0;;) {
      LongInt n = 0;
      if (sent < size) {
        n = SysReadFile(file, LongInt(size - sent < room ? size - sent : room), data);
        if (n <= 0) n = 0;  // the disk failed: the answer stays short, the client sees it
      }
      SendAll(s, buffer, LongInt(data - buffer) + n);
      sent += n;
      if (n == 0 || sent >= size) break;
      data = buffer;
      room = kHeaderMax + piece;
    }
  }
  if (file != 0) SysCloseFile(file);
  ToroFreeMem(buffer);
  Say("closing", s);
  SysSocketClose(s);
  ToroFreeMem(r);
  return 0;
}

bool ParseIp(const char* s, Byte ip[4]) {
  for (int i = 0; i < 4; ++i) {
    int v = 0, digits = 0;
    while (*s >= '0' && *s <= '9' && digits < 3) v = v * 10 + (*s++ - '0'), ++digits;
    if (digits == 0 || v > 255 || (i < 3 && *s++ != '.')) return false;
    ip[i] = Byte(v);
  }
  return *s == '\0';
}

// The positional parameters, with `quiet` taken out wherever it is.
const char* Param(LongInt index) {
  LongInt seen = 0;
  for (LongInt i = 0; i < KernelParamCount(); ++i) {
    const char* p = GetKernelParam(i);
    if (strcmp(p, "quiet") == 0) continue;
    if (seen++ == index) return p;
  }
  return nullptr;
}

}  // namespace

int main() {
  for (LongInt i = 0; i < KernelParamCount(); ++i) g_quiet = g_quiet || strcmp(GetKernelParam(i), "quiet") == 0;
  Byte ip[4] = {10, 0, 2, 15};
  const Byte gateway[4] = {10, 0, 2, 2}, mask[4] = {255, 255, 255, 0};
  if (const char* p = Param(0)) ParseIp(p, ip);
  const char* card = Param(1);
  Boolean up = DedicateNetwork(card != nullptr ? card : "e1000", ip, gateway, mask, nullptr);
  if (!up && card == nullptr) up = DedicateNetwork("virtionet", ip, gateway, mask, nullptr);
  if (!up) {
    WriteConsoleF("\t Http Server: no network card\n");
    return 1;
  }
  const char* filesystem = Param(2) != nullptr ? Param(2) : "fat";
  const char* device = Param(3) != nullptr ? Param(3) : "virtioblk";
  LongInt minor = 0;
  if (const char* m = Param(4)) {
    for (; *m >= '0' && *m <= '9'; ++m) minor = minor * 10 + (*m - '0');
  }
  DedicateBlockDriver(device, 0);
  if (!SysMount(filesystem, device, minor)) return 1;

  PSocket server = SysSocket(SOCKET_STREAM);
  if (server == nullptr) return 1;
  server->SourcePort = kPort;
  server->Blocking = true;
  if (!SysSocketListen(server, 50)) {
    WriteConsoleF("\t Http Server: cannot listen at %d\n", kPort);
    return 1;
  }
  WriteConsoleF("\t Http Server: listening at %d ..\n", kPort);
  for (;;) {
    PSocket client = SysSocketAccept(server);
    if (client == nullptr) continue;
    Say("new connection", client);
    auto* r = static_cast<PRequest>(ToroGetMem(sizeof(TRequest)));
    if (r == nullptr) {
      SysSocketClose(client);
      continue;
    }
    r->Socket = client;
    r->Length = 0;
    TThreadID tid;
    if (BeginThread(nullptr, kConnectionStack, ProcessesSocket, r, 0, tid) == 0) {
      // Said on the console (the first time, then every 1000th), not answered with silence only.
      static LongInt refused = 0;
      if (refused++ % 1000 == 0) {
        WriteConsoleF("StaticWebServer: no thread for a connection (%d so far): closed unanswered\n", refused);
      }
      SysSocketClose(client);
      ToroFreeMem(r);
    }
  }
}
