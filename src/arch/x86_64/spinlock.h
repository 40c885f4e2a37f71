// A test-and-test-and-set spin lock and an interrupt-saving guard for it.
//
//   arch::SpinLock lock;
//   { arch::IrqSaveGuard g(lock); ... }   // interrupts off and lock held inside the braces
#pragma once

#include <arch/x86_64/cpu.h>

#include <atomic>

namespace arch {

class SpinLock {
 public:
  void lock() {
    // acquire: everything the previous holder wrote before its release store is visible to us.
    while (locked_.exchange(true, std::memory_order_acquire)) {
      while (locked_.load(std::memory_order_relaxed)) cpu_relax();
    }
  }
  // release: our writes inside the critical section happen-before the next acquire.
  void unlock() { locked_.store(false, std::memory_order_release); }

 private:
  std::atomic<bool> locked_{false};
};

class IrqSaveGuard {
 public:
  explicit IrqSaveGuard(SpinLock& lock) : lock_(lock) { lock_.lock(); }
  ~IrqSaveGuard() { lock_.unlock(); }
  IrqSaveGuard(const IrqSaveGuard&) = delete;
  IrqSaveGuard& operator=(const IrqSaveGuard&) = delete;

 private:
  InterruptGuard irq_;  // constructed first: interrupts are off before the lock is taken
  SpinLock& lock_;
};

}  // namespace arch
