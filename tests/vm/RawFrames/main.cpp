// Raw Ethernet frames (SysNetworkRead, SysNetworkSend, AllocatePacket) against a peer on the
// host that writes and reads frames itself (tests/vm/rawtest.py, over QEMU's -netdev socket).
// The peer's frames carry EtherType 0x88B5 (IEEE 802 local experimental) and a payload of
//   command (1 byte), sequence (2, big-endian), length (2), length bytes of data.
// Commands: 'E' echo: the frame comes back to its sender with the data inverted (every byte
// XOR 0xFF); even sequences reuse the received packet (Delete set: the kernel frees it), odd
// ones a new one from AllocatePacket (freed here after the send). 'H' hold: no reading for 2 s
// (the peer fills the queue meanwhile). 'Q' quit: exit code 0.
// Bad arguments are checked first (TestRawBadArgs-0), and with a second core the calls there,
// where no card is dedicated. -append CARD (e1000 or virtionet).
#include <toro.h>

#include <atomic>
#include <cstring>

namespace {

constexpr Word kType = 0x88B5;
constexpr LongInt kHeader = 14 + 5;

bool check(bool ok, const char* what) {
  if (!ok) WriteConsoleF("RawFrames: FAILED %p\n", what);
  return ok;
}

bool bad_arguments() {
  bool ok = check(SysNetworkRead() == nullptr, "read with nothing waiting gives nil");
  ok &= check(!SysNetworkSend(nullptr), "nil packet");
  ok &= check(AllocatePacket(-1) == nullptr && AllocatePacket(1515) == nullptr, "AllocatePacket out of range");
  PPacket p = AllocatePacket(1514);
  if (!check(p != nullptr && p->Size == 1514 && p->Data == p + 1 && !p->Delete && p->Next == nullptr,
             "AllocatePacket(1514)"))
    return false;
  memset(p->Data, 0xFF, 1514);
  const LongInt sizes[] = {0, 13, 1515, -1};
  for (LongInt size : sizes) {
    p->Size = size;
    p->Ready = false;
    p->Status = true;
    ok &= check(!SysNetworkSend(p) && p->Ready && !p->Status, "a size outside 14..1514 is refused");
  }
  p->Size = 60;
  Pointer data = p->Data;
  p->Data = nullptr;
  ok &= check(!SysNetworkSend(p) && p->Ready && !p->Status, "nil Data is refused");
  p->Data = data;
  // Refused with Delete set: the kernel frees it all the same.
  p->Size = 2000;
  p->Delete = true;
  ok &= check(!SysNetworkSend(p), "a refused packet with Delete");
  return ok;
}

// On a core without a card (core 1 at -smp 2): nil and false, and a Delete packet still freed.
std::atomic<int> g_other_core{-1};
PtrInt NoCardHere(void*) {
  PPacket p = AllocatePacket(60);
  bool ok = p != nullptr && SysNetworkRead() == nullptr;
  if (p != nullptr) {
    memset(p->Data, 0, 60);
    ok = ok && !SysNetworkSend(p) && p->Ready && !p->Status;
    p->Delete = true;
    ok = ok && !SysNetworkSend(p);
  }
  g_other_core = ok ? 1 : 0;
  return 0;
}

void echo(PPacket in, const Byte* data, LongInt length, Word seq) {
  const LongInt size = kHeader + length;
  PPacket out = (seq & 1) == 0 ? in : AllocatePacket(size);
  if (out == nullptr) return;
  auto* o = static_cast<Byte*>(out->Data);
  const auto* i = static_cast<const Byte*>(in->Data);
  const THardwareAddress mine = GetLocalMAC();  // the request may have gone to broadcast
  memmove(o, i + 6, 6);
  memcpy(o + 6, mine.b, 6);
  o[12] = Byte(kType >> 8);
  o[13] = Byte(kType);
  if (out != in) memcpy(o + 14, i + 14, 5);
  for (LongInt k = 0; k < length; ++k) o[kHeader + k] = Byte(data[k] ^ 0xFF);
  out->Size = size;
  out->Delete = out == in;
  if (out == in) {
    SysNetworkSend(out);  // freed by the kernel
    return;
  }
  if (!SysNetworkSend(out) || !out->Ready || !out->Status) WriteConsoleF("RawFrames: echo %d not sent\n", seq);
  ToroFreeMem(out);
  ToroFreeMem(in);
}

}  // namespace

int main() {
  const char* card = GetKernelParam(0) != nullptr ? GetKernelParam(0) : "e1000";
  const Byte ip[4] = {10, 0, 2, 15}, gw[4] = {10, 0, 2, 2}, mask[4] = {255, 255, 255, 0};
  if (!DedicateNetwork(card, ip, gw, mask, nullptr)) return 2;
  if (!bad_arguments()) return 3;
  if (CPU_COUNT > 1) {
    SysCreateThread(0, 1, NoCardHere, nullptr);
    while (g_other_core < 0) SysThreadSwitch();
    if (!check(g_other_core == 1, "no card on core 1: nil and false")) return 3;
  }
  WriteConsoleF("TestRawBadArgs-0: PASSED\n");
  WriteConsoleF("RawFrames: ready\n");
  LongInt echoed = 0;
  for (;;) {
    PPacket p = SysNetworkRead();
    if (p == nullptr) {
      SysThreadSwitch();
      continue;
    }
    const auto* f = static_cast<const Byte*>(p->Data);
    const Word type = Word(f[12] << 8 | f[13]);
    if (p->Size < kHeader || type != kType || p->Next != nullptr || p->Delete) {
      // QEMU's e1000 pads a runt to 60 bytes: a 10-byte frame arrives as an 802.3 one (type 0).
      WriteConsoleF("RawFrames: not a request, %d bytes, type %h\n", p->Size, type);
      ToroFreeMem(p);
      continue;
    }
    const Byte command = f[14];
    const Word seq = Word(f[15] << 8 | f[16]);
    const LongInt length = f[17] << 8 | f[18];
    if (command == 'Q') {
      ToroFreeMem(p);
      break;
    }
    if (command == 'H') {
      ToroFreeMem(p);
      WriteConsoleF("RawFrames: holding\n");
      Sleep(2000);
      continue;
    }
    if (command != 'E' || kHeader + length > p->Size) {
      WriteConsoleF("RawFrames: bad request %d, %d bytes\n", seq, p->Size);
      ToroFreeMem(p);
      continue;
    }
    echo(p, f + kHeader, length, seq);
    ++echoed;
  }
  WriteConsoleF("RawFrames: %d frames echoed\n", echoed);
  return 0;
}
