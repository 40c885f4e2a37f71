// The kernel's side of the socket module (kernel.h): its heap and scheduler behind kKernel.
#include <kernel/memory.h>
#include <net/socket/kernel.h>

namespace net::socket {

const Kernel kKernel = {kernel::allocate,
                        kernel::release,
                        sched::now_ms,
                        sched::sleep_ms,
                        [] { return sched::thread_id(sched::current()); },
                        sched::run_before_yield};

}  // namespace net::socket
