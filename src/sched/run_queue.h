// One core's threads: a circular doubly linked ring, and Toro's choice of the next thread
// (toro-spec §2.6.3): round-robin starting after the current thread, the current one last.
// Portable and owner-only (no locks): other cores only change Thread::state, atomically.
//
//   sched::RunQueue q;
//   q.insert(t);                                  // at the tail (just before the current)
//   sched::Thread* next = q.pick(current, now);   // nullptr when nothing can run
#pragma once

#include <sched/thread.h>

#include <cstdint>

namespace sched {

class RunQueue {
 public:
  void insert(Thread* t);
  void remove(Thread* t);
  bool empty() const { return head_ == nullptr; }
  size_t size() const { return size_; }
  Thread* head() const { return head_; }

  // The first runnable thread after `current` (or from the head if current is null or not in
  // the ring), current itself last. A sleeper whose deadline passed becomes ready here.
  Thread* pick(Thread* current, uint64_t now);
  // The earliest wake-up deadline of a sleeping thread, or 0 if none sleeps.
  uint64_t next_deadline() const;

 private:
  static bool runnable(Thread* t, uint64_t now);
  Thread* head_ = nullptr;
  size_t size_ = 0;
};

}  // namespace sched
