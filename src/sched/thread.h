// A thread: its saved context, its place in its core's ring, and what other cores may change
// (state and the kill flag, both atomics).
//
//   sched::Thread* t = ...;            // created by sched::create_thread()
//   t->state.store(sched::ThreadState::kReady, std::memory_order_release);
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace sched {

using ThreadFunc = intptr_t (*)(void* arg);

enum class ThreadState : uint8_t {
  kReady,      // runnable
  kSleeping,   // runnable again once the TSC reaches wake_tsc
  kSuspended,  // until SysResumeThread
  kDead,       // finished; its memory is reclaimed by its core
};

constexpr uint64_t kThreadMagic = 0x54484541444F524Full;  // "TOROHEAT": a live Thread

struct Thread {
  uint64_t saved_rsp = 0;  // arch_switch() saves the context on the stack and the stack here
  Thread* next = nullptr;  // the core's ring (RunQueue)
  Thread* prev = nullptr;
  uint64_t magic = kThreadMagic;
  uint32_t core = 0;
  bool is_main = false;
  bool is_idle = false;
  std::atomic<ThreadState> state{ThreadState::kReady};
  std::atomic<bool> kill{false};  // set by SysKillThread: the thread exits at its next yield
  // Thread records are reused (a core keeps its dead threads' records): the generation tells a
  // stale thread id from the thread that now lives in the same record.
  std::atomic<uint32_t> generation{0};
  uint64_t wake_tsc = 0;
  ThreadFunc func = nullptr;
  void* arg = nullptr;
  char* stack = nullptr;  // lowest usable byte (a guard page lies below)
  size_t stack_size = 0;
  char* tls = nullptr;  // thread-local storage block; fs_base points at its TCB
  uint64_t fs_base = 0;
  Thread* parent = nullptr;
  Thread* zombie_next = nullptr;
};

}  // namespace sched
