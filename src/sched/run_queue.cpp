#include <sched/run_queue.h>

namespace sched {

void RunQueue::insert(Thread* t) {
  if (head_ == nullptr) {
    t->next = t->prev = t;
    head_ = t;
  } else {
    // Tail = just before head: new threads run after everyone already waiting.
    t->next = head_;
    t->prev = head_->prev;
    head_->prev->next = t;
    head_->prev = t;
  }
  ++size_;
}

void RunQueue::remove(Thread* t) {
  if (t->next == t) {
    head_ = nullptr;
  } else {
    t->prev->next = t->next;
    t->next->prev = t->prev;
    if (head_ == t) head_ = t->next;
  }
  t->next = t->prev = nullptr;
  --size_;
}

bool RunQueue::runnable(Thread* t, uint64_t now) {
  // acquire: a thread resumed by another core must be seen with everything written before it.
  const ThreadState s = t->state.load(std::memory_order_acquire);
  if (s == ThreadState::kReady) return true;
  if (s == ThreadState::kSleeping && now >= t->wake_tsc) {
    // Only the owner moves its threads out of kSleeping; a concurrent SysResumeThread (ready) or
    // SysSuspendThread wins, which the compare-exchange respects.
    ThreadState expected = ThreadState::kSleeping;
    return t->state.compare_exchange_strong(expected, ThreadState::kReady, std::memory_order_acq_rel) ||
           expected == ThreadState::kReady;
  }
  return false;
}

Thread* RunQueue::pick(Thread* current, uint64_t now) {
  if (head_ == nullptr) return nullptr;
  const bool in_ring = current != nullptr && current->next != nullptr;
  Thread* start = in_ring ? current->next : head_;
  Thread* t = start;
  do {
    if (t != current && runnable(t, now)) return t;
    t = t->next;
  } while (t != start);
  if (in_ring && runnable(current, now)) return current;
  return nullptr;
}

uint64_t RunQueue::next_deadline() const {
  uint64_t best = 0;
  if (head_ == nullptr) return 0;
  const Thread* t = head_;
  do {
    if (t->state.load(std::memory_order_relaxed) == ThreadState::kSleeping && (best == 0 || t->wake_tsc < best)) {
      best = t->wake_tsc;
    }
    t = t->next;
  } while (t != head_);
  return best;
}

}  // namespace sched
