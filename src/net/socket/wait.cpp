// The waits of blocking socket calls (socket.h says what they do). A file of their own so that
// libtoro.a compiles them for size (src/meson.build's cold list): every image carries them, and
// the thread that runs them goes to sleep next, so their speed does not show.
#include <net/socket/stream.h>

namespace net::socket {

void detail::wait_for_network(Sockets* here, const uint32_t* events, uint64_t max_ms) {
  const uint64_t self = kKernel.current_thread != nullptr ? kKernel.current_thread() : 0;
  Sockets::Blocked* mine = here->blocked;
  Sockets::Blocked* const end = mine + Sockets::kMaxBlocked;
  while (mine != end && mine->thread != 0) ++mine;
  if (self == 0 || mine == end) {
    kKernel.sleep_ms(1);  // no place on the list: nobody wakes it, it looks every millisecond
    return;
  }
  mine->thread = self;
  mine->events = events;
  mine->seen = events != nullptr ? *events : 0;
  ++here->blocked_count;
  kKernel.sleep_ms(max_ms == 0 ? 1 : max_ms < detail::kWaitBoundMs ? max_ms : detail::kWaitBoundMs);
  // Its place is still its own: the wake frees only the places of threads that no longer exist.
  mine->thread = 0;  // the rest of the place is read only while thread is set
  --here->blocked_count;
}

void UdpSocket::wait(uint64_t max_ms) {
  if (owner_ != nullptr) {
    detail::wait_for_network(owner_, nullptr, max_ms);  // a datagram comes in a batch of frames
  } else {
    kKernel.sleep_ms(1);  // not bound: nothing comes, the wait is the caller's to end
  }
}

}  // namespace net::socket
