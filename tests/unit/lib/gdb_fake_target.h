// A Target for the GDB protocol tests and fuzzer: three threads with their registers, 4 KiB of
// memory at 0x1000 and a record of what gdb asked for.
#pragma once

#include <lib/gdb_rsp.h>

#include <cstring>
#include <string>
#include <vector>

namespace gdbtest {

using namespace klib::gdb;

class FakeTarget : public Target {
 public:
  static constexpr uint64_t kMemoryBase = 0x1000;
  static constexpr size_t kThreads = 3;  // ids 1..3

  struct Breakpoint {
    BreakKind kind;
    uint64_t address;
    size_t length;
  };

  FakeTarget() {
    for (size_t t = 0; t < kThreads; ++t) {
      for (unsigned r = 0; r < kProvidedRegisters; ++r) regs[t].value[r] = (t + 1) * 0x1000 + r;
    }
    for (size_t i = 0; i < sizeof memory; ++i) memory[i] = uint8_t(i);
  }

  bool read_registers(ThreadId thread, RegisterFile* out) override {
    if (!thread_alive(thread)) return false;
    *out = regs[thread - 1];
    return true;
  }
  bool write_register(ThreadId thread, unsigned index, uint64_t value) override {
    if (!thread_alive(thread) || index >= kProvidedRegisters) return false;
    regs[thread - 1].value[index] = value;
    return true;
  }
  size_t read_memory(uint64_t address, uint8_t* out, size_t length) override {
    const size_t n = accessible(address, length);
    if (n != 0) memcpy(out, memory + (address - kMemoryBase), n);
    return n;
  }
  size_t write_memory(uint64_t address, const uint8_t* in, size_t length) override {
    const size_t n = accessible(address, length);
    if (n != 0) memcpy(memory + (address - kMemoryBase), in, n);
    return n;
  }
  Status set_breakpoint(BreakKind kind, uint64_t address, size_t length, bool insert) override {
    if (kind == BreakKind::kRead) return Status::kUnsupported;  // as x86 debug registers: no read-only watch
    if (address >= 0xdead0000) return Status::kError;
    if (insert) {
      breakpoints.push_back({kind, address, length});
      return Status::kOk;
    }
    for (size_t i = 0; i < breakpoints.size(); ++i) {
      if (breakpoints[i].kind == kind && breakpoints[i].address == address) {
        breakpoints.erase(breakpoints.begin() + long(i));
        return Status::kOk;
      }
    }
    return Status::kError;
  }
  size_t list_threads(size_t first, ThreadId* out, size_t max) override {
    size_t n = 0;
    for (size_t t = first; t < thread_count && n < max && n < list_page; ++t) out[n++] = ThreadId(t + 1);
    return n;
  }
  bool thread_alive(ThreadId thread) override { return thread >= 1 && size_t(thread) <= kThreads; }
  size_t describe_thread(ThreadId thread, char* out, size_t max) override {
    const std::string s = "Core " + std::to_string(thread - 1) + ", ready";
    const size_t n = s.size() < max ? s.size() : max;
    memcpy(out, s.data(), n);
    return n;
  }
  void resume(const ResumeRequest& request) override { resumes.push_back(request); }
  void interrupt() override { ++interrupts; }
  void detach() override { ++detaches; }
  void kill() override { ++kills; }

  RegisterFile regs[kThreads];
  uint8_t memory[4096];
  std::vector<Breakpoint> breakpoints;
  std::vector<ResumeRequest> resumes;
  size_t thread_count = kThreads;  // what list_threads walks (more than alive ones: paging tests)
  size_t list_page = 64;
  int interrupts = 0, detaches = 0, kills = 0;

 private:
  static size_t accessible(uint64_t address, size_t length) {
    if (address < kMemoryBase || address >= kMemoryBase + 4096) return 0;
    const uint64_t left = kMemoryBase + 4096 - address;
    return length < left ? length : size_t(left);
  }
};

}  // namespace gdbtest
