// libFuzzer target: the GDB remote protocol session (src/lib/gdb_rsp.cpp) fed hostile bytes.
// Input: byte 0 chooses the mode; the rest is split at '\n' into pieces. Mode bit 0 set: each
// piece is sent as a packet with a correct checksum (so the fuzzer reaches the commands), else
// the bytes go in raw (framing, escapes, Ctrl-C). Between pieces a resumed target stops again.
#include <cstddef>
#include <cstdint>

#include "../unit/lib/gdb_fake_target.h"

namespace {

void count(void* ctx, char) { ++*static_cast<size_t*>(ctx); }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static gdbtest::FakeTarget target;  // large: kept out of the fuzzer's stack
  target = gdbtest::FakeTarget();
  size_t written = 0;
  static klib::gdb::Session* session = nullptr;
  alignas(klib::gdb::Session) static unsigned char storage[sizeof(klib::gdb::Session)];
  session = new (storage) klib::gdb::Session(target, klib::Sink{count, &written, nullptr});
  session->stopped({5, 1});
  const bool framed = data[0] & 1;
  size_t start = 1;
  for (size_t i = 1; i <= size; ++i) {
    if (i < size && data[i] != '\n') continue;
    if (framed) {
      uint8_t sum = 0;
      session->feed('$');
      for (size_t k = start; k < i; ++k) {
        session->feed(char(data[k]));
        sum = uint8_t(sum + data[k]);
      }
      const char hex[] = "0123456789abcdef";
      session->feed('#');
      session->feed(hex[sum >> 4]);
      session->feed(hex[sum & 15]);
    } else {
      for (size_t k = start; k < i; ++k) session->feed(char(data[k]));
    }
    if (!session->waiting()) session->stopped({uint8_t(i & 1 ? 5 : 2), klib::gdb::ThreadId(1 + i % 3)});
    start = i + 1;
  }
  session->~Session();
  return 0;
}
