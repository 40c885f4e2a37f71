// The kernel's side of the socket module (not portable): kKernel (the heap and the scheduler,
// kernel.cpp), the calling core's sockets, and the threads that run services.
//
//   net::socket::Sockets* here = net::socket::local();       // nullptr: no card on this core
//   Service* sv = Service::create(here, &handler, sizeof handler).value();
//   if (!net::socket::run_service<Api>(*sv)) sv->destroy();   // its thread, woken by the packets
#pragma once

#include <kernel/percpu.h>
#include <net/interface.h>
#include <net/socket/stream.h>
#include <sched/scheduler.h>

namespace net::socket {

// The sockets of the calling core's interface (DedicateNetwork), or nullptr.
inline Sockets* local() {
  Interface* i = net::local();
  return i == nullptr ? nullptr : &i->sockets;
}

// A service's thread: start(), then dispatcher passes.
template <class Up>
intptr_t service_main(void* service) {
  auto* sv = static_cast<Service*>(service);
  sv->start<Up>();
  for (;;) {
    // A pass that ran callbacks yields and goes again; an idle one sleeps so the core can halt.
    // The packet thread wakes it when frames arrive or TCP's timers ran (wake_services); the
    // sleep lasts until the next DoTimeOut is due, 50 ms at most (what nothing wakes). It slept
    // 5 ms each time, a timer interrupt every 5 ms for an idle service.
    if (sv->dispatch<Up>()) {
      sched::yield();
    } else {
      const uint64_t now = sched::now_ms(), next = sv->next_deadline_ms();
      const uint64_t ms = next <= now ? 1 : next - now;
      sched::sleep_ms(ms < detail::kWaitBoundMs ? ms : detail::kWaitBoundMs);
    }
  }
}

// Starts the service's thread on the calling core (40 KiB stack, toro-spec §1.10) and lists it
// to be woken by the packet thread. Errors: kNoMemory (no thread).
template <class Up>
klib::Status run_service(Service& sv) {
  sched::Thread* t = sched::create_thread(kernel::current_core(), 40 * 1024, service_main<Up>, &sv);
  if (t == nullptr) return klib::Error::kNoMemory;
  Sockets& here = *sv.sockets();
  here.service_threads[here.service_count++] = t;  // woken by the packet thread
  return {};
}

// The packet thread, after a batch of frames: every service of `here` runs before the next one.
inline void wake_services(Sockets& here) {
  for (int k = 0; k < here.service_count; ++k) sched::resume(static_cast<sched::Thread*>(here.service_threads[k]));
  // Waiters take the first free places, so the scan ends soon after the last listed one.
  int left = here.blocked_count;
  for (Sockets::Blocked& b : here.blocked) {
    if (left == 0) break;
    if (b.thread == 0) continue;
    --left;
    sched::Thread* t = sched::from_id(b.thread);
    if (t == nullptr) {
      // A waiter that died waiting (SysKillThread ends a sleeping thread when it next runs):
      // its place is freed here, news or not (the rest is read only while thread is set).
      b.thread = 0;
      --here.blocked_count;
    } else if (b.has_news()) {
      sched::resume(t);
    }
  }
}

}  // namespace net::socket
