// The GDB remote serial protocol (gdb manual, appendix "Remote Protocol"): the portable half of
// the in-guest gdb stub. A Session frames and checks gdb's packets (acknowledgements, checksums,
// escapes, Ctrl-C) and answers them against a Target: the kernel's view of threads, registers,
// memory and breakpoints (a fake one in tests/unit/lib/gdb_rsp_test.cpp, fuzzed by
// tests/fuzz/gdb_fuzz.cpp).
//
//   klib::gdb::Session session(target, sink);        // replies go to sink (the debug port)
//   while (session.waiting()) session.feed(read_byte()); // until gdb resumes the target
//   ...                                              // the target runs; when it stops again:
//   session.stopped({5, thread});                    // the stop reply gdb is waiting for
#pragma once

#include <lib/format.h>

#include <cstddef>
#include <cstdint>

namespace klib::gdb {

// gdb's thread ids: a thread is > 0; 0 means "any thread" and -1 "all threads" in H and vCont.
using ThreadId = int64_t;

// The registers, in the order of the target description's org.gnu.gdb.i386.core feature (the
// order of gdb's 'g' packet for amd64): rax rbx rcx rdx rsi rdi rbp rsp r8-r15, rip, eflags,
// cs ss ds es fs gs, then the x87 registers, which the target never provides (sent as "xx").
enum Register : unsigned {
  kRax,
  kRbx,
  kRcx,
  kRdx,
  kRsi,
  kRdi,
  kRbp,
  kRsp,
  kR8,
  kR9,
  kR10,
  kR11,
  kR12,
  kR13,
  kR14,
  kR15,
  kRip,
  kEflags,
  kCs,
  kSs,
  kDs,
  kEs,
  kFs,
  kGs,
  kProvidedRegisters,                        // the registers a Target reads and writes
  kRegisterCount = kProvidedRegisters + 16,  // st0-st7 (10 bytes), fctrl..fop (4 bytes)
};
// The size of register `r` in bytes in the 'g' and 'p' packets.
size_t register_size(unsigned r);

struct RegisterFile {
  uint64_t value[kProvidedRegisters] = {};
};

enum class BreakKind : uint8_t { kSoftware = 0, kHardware = 1, kWrite = 2, kRead = 3, kAccess = 4 };
enum class Status : uint8_t { kOk, kUnsupported, kError };

// Why the target stopped, for the stop reply ("T" packet).
struct StopReason {
  uint8_t signal;      // 5 (SIGTRAP) after a breakpoint or a step, 2 (SIGINT) after Ctrl-C
  ThreadId thread;     // the thread that stopped (gdb selects it)
  bool watch = false;  // a watchpoint fired: its kind (kWrite, kRead, kAccess) and address
  BreakKind watch_kind = BreakKind::kWrite;
  uint64_t watch_address = 0;
};

// What gdb asked the stopped target to do (c, s, C, S, vCont): `step` steps one instruction (0:
// no thread steps); the other threads run when `others_run`, else they stay stopped; `signal`:
// gdb passes the stop's signal on (after a fault: let the fault take its course).
struct ResumeRequest {
  ThreadId step = 0;
  bool others_run = true;
  uint8_t signal = 0;  // C/S SIG: the signal to deliver to the stopped thread (0: none)
};

// The kernel side. Every call but interrupt() comes while the target is stopped (all cores).
class Target {
 public:
  // False: no such thread.
  virtual bool read_registers(ThreadId thread, RegisterFile* out) = 0;
  virtual bool write_register(ThreadId thread, unsigned index, uint64_t value) = 0;
  // The bytes read or written from the start: fewer where the memory stops being accessible.
  virtual size_t read_memory(uint64_t address, uint8_t* out, size_t length) = 0;
  virtual size_t write_memory(uint64_t address, const uint8_t* in, size_t length) = 0;
  virtual Status set_breakpoint(BreakKind kind, uint64_t address, size_t length, bool insert) = 0;
  // Fills `out` with up to `max` thread ids from the `first`-th on; returns how many.
  virtual size_t list_threads(size_t first, ThreadId* out, size_t max) = 0;
  virtual bool thread_alive(ThreadId thread) = 0;
  // A short description ("Core 1, ready"); returns its length (at most max).
  virtual size_t describe_thread(ThreadId thread, char* out, size_t max) = 0;
  virtual void resume(const ResumeRequest& request) = 0;
  virtual void interrupt() = 0;  // Ctrl-C while running: stop, then Session::stopped()
  virtual void detach() = 0;     // gdb leaves: breakpoints gone, the target runs on
  virtual void kill() = 0;       // gdb ends the program

 protected:
  ~Target() = default;
};

class Session {
 public:
  // The largest packet gdb may send (its data, unescaped), told to gdb in qSupported.
  static constexpr size_t kMaxPacket = 4096;

  Session(Target& target, const Sink& out) : target_(target), out_(out) {}

  // The target is stopped at `reason`: sends the stop reply when gdb waits for one (after a
  // resume or Ctrl-C), and keeps it for '?'.
  void stopped(const StopReason& reason);
  // One byte from gdb. Packets are answered at once; a resume is passed to the target.
  void feed(char c);
  // True while the target is stopped under gdb (from stopped() to a resume, detach or kill).
  bool waiting() const { return stopped_; }

  // Counters for tests and the stub's report.
  uint64_t bad_checksums() const { return bad_checksums_; }
  uint64_t packets() const { return packets_; }

 private:
  enum class Framing : uint8_t { kIdle, kData, kEscape, kSum1, kSum2 };

  void on_packet();
  void reply(const char* data, size_t length);
  void reply(const char* text);
  void reply_error(int code);
  void send_stop_reply();
  void read_registers(char* out, size_t* length);
  void query(const char* q, size_t length);
  void resume(const ResumeRequest& request);
  void vcont(const char* p, const char* end);
  void thread_list(bool first);
  void features(const char* args, const char* end);

  Target& target_;
  Sink out_;
  Framing framing_ = Framing::kIdle;
  uint8_t sum_ = 0;        // of the packet's bytes as sent (escapes included)
  uint8_t sent_sum_ = 0;   // the checksum gdb sent
  bool too_long_ = false;  // the packet did not fit: answered with an error
  bool no_ack_ = false;    // QStartNoAckMode
  bool stopped_ = false;
  bool stop_pending_ = false;  // gdb waits for a stop reply
  StopReason stop_{5, 1};
  ThreadId g_thread_ = 0;  // Hg: the thread g/G/p/P/m read (0: the stopped one)
  ThreadId c_thread_ = 0;  // Hc: the thread s steps (0: the stopped one)
  size_t thread_cursor_ = 0;
  size_t length_ = 0;
  uint64_t bad_checksums_ = 0;
  uint64_t packets_ = 0;
  char packet_[kMaxPacket + 1];
  size_t last_length_ = 0;  // the last reply's data, sent again after a '-'
  char last_[kMaxPacket + 1];
};

}  // namespace klib::gdb
