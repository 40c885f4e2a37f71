// libFuzzer target: arbitrary bytes as a received Ethernet frame. The stack must neither crash
// nor read out of bounds (built with AddressSanitizer and UBSan), whatever the frame says.
#include <net/stack.h>

#include <cstddef>
#include <cstdint>

namespace {
bool drop(void*, const uint8_t*, size_t) { return true; }
uint64_t clock_ms() { return 1; }
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static net::Stack stack;
  static bool configured = false;
  if (!configured) {
    const net::Mac mac{{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}};
    stack.configure(mac, net::Ipv4::from_bytes(10, 0, 2, 15), net::Ipv4::from_bytes(10, 0, 2, 2),
                    net::Ipv4::from_bytes(255, 255, 255, 0), {drop, nullptr}, clock_ms);
    configured = true;
  }
  if (size > net::Stack::kMaxFrame) size = net::Stack::kMaxFrame;
  stack.receive_frame(data, size);
  net::EchoReply r;
  while (stack.pop_echo_reply(&r)) {
  }
  return 0;
}
