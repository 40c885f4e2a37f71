// The kernel's side of the socket module (kernel.h): its heap and scheduler behind kKernel.
#include <kernel/memory.h>
#include <net/socket/kernel.h>

namespace net::socket {
namespace {
// Held only by a thread of the sockets' own core: its slot is the one that core's threads flush
// (a use from another core sends at once).
bool hold(void (*fn)(void*), void* ctx) {
  return static_cast<Sockets*>(ctx)->core == kernel::current_core() && sched::run_before_yield(fn, ctx);
}
}  // namespace

const Kernel kKernel = {kernel::allocate,
                        kernel::release,
                        sched::now_ms,
                        sched::sleep_ms,
                        [] { return sched::thread_id(sched::current()); },
                        hold};

}  // namespace net::socket
