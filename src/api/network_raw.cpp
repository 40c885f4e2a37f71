// Raw Ethernet frames (toro-spec §1.10 SysNetworkRead/SysNetworkSend, §1.11 AllocatePacket;
// <toro/network.h>). Its own object file: a program that calls none of these links none of it;
// the stack only carries an empty hook (net::Stack::set_raw_sink) until the first call here
// installs the queue of the calling core's card (net::RawQueue, allocated then from the core's
// memory and kept for the card's life). Everything runs on the card's core (its packet thread
// fills the queue, its threads read it; the scheduler is cooperative), so nothing is locked.
#include <kernel/memory.h>
#include <net/ethernet.h>
#include <net/interface.h>
#include <net/raw_queue.h>
#include <net/stack.h>
#include <toro/network.h>

#include <cstring>
#include <new>

namespace {

using Queue = net::RawQueue<TPacket>;
constexpr size_t kMaxFrame = net::Stack::kMaxFrame;  // 1514: 14-byte header, 1500-byte MTU
constexpr size_t kMinFrame = 60;                     // Ethernet's minimum without FCS

PPacket new_packet(size_t size) {
  auto* p = static_cast<PPacket>(kernel::allocate(sizeof(TPacket) + size));
  if (p == nullptr) return nullptr;
  p->Size = LongInt(size);
  p->Data = p + 1;
  p->Status = false;
  p->Ready = false;
  p->Delete = false;
  p->Next = nullptr;
  return p;
}

// The stack's raw sink, on the packet thread: a copy of the frame (it lies in the card's
// buffer) into the queue.
void take(void* ctx, const uint8_t* frame, size_t length) {
  auto* q = static_cast<Queue*>(ctx);
  if (q->size() == Queue::kCapacity || length > kMaxFrame) {
    q->count_drop();
    return;
  }
  PPacket p = new_packet(length);
  if (p == nullptr) {
    q->count_drop();
    return;
  }
  memcpy(p->Data, frame, length);
  q->push(p);  // room checked above
}

// The calling core's queue, created at the first call; nullptr without a card (or memory).
Queue* local_queue(net::Interface* iface) {
  if (iface == nullptr) return nullptr;
  const net::Stack::RawSink& sink = iface->stack.raw_sink();
  if (sink.take == take) return static_cast<Queue*>(sink.ctx);
  void* memory = kernel::allocate(sizeof(Queue));
  if (memory == nullptr) return nullptr;
  auto* q = new (memory) Queue();
  iface->stack.set_raw_sink({take, q});
  return q;
}

}  // namespace

PPacket SysNetworkRead() {
  Queue* q = local_queue(net::local());
  return q == nullptr ? nullptr : q->pop();
}

Boolean SysNetworkSend(PPacket Packet) {
  if (Packet == nullptr) return false;
  net::Interface* iface = net::local();
  bool sent = false;
  if (iface != nullptr && Packet->Data != nullptr && Packet->Size >= LongInt(net::kEthHeader) &&
      Packet->Size <= LongInt(kMaxFrame)) {
    local_queue(iface);  // frames for this program are kept from now on
    const size_t size = size_t(Packet->Size);
    if (size < kMinFrame) {
      uint8_t padded[kMinFrame] = {};
      memcpy(padded, Packet->Data, size);
      sent = iface->stack.send_raw(padded, kMinFrame);
    } else {
      sent = iface->stack.send_raw(static_cast<const uint8_t*>(Packet->Data), size);
    }
  }
  if (Packet->Delete) {
    kernel::release(Packet);
  } else {
    Packet->Status = sent;
    Packet->Ready = true;
    Packet->Next = nullptr;
  }
  return sent;
}

PPacket AllocatePacket(LongInt Size) {
  if (Size < 0 || Size > LongInt(kMaxFrame)) return nullptr;
  return new_packet(size_t(Size));
}
