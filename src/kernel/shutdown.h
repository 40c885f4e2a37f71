// How the VM ends: a normal exit, a panic, and the exit codes tools/toro reports.
//
//   kernel::system_exit(0);                          // "System_Exit due to ExitCode: 0", power off
//   kernel::panic("no usable memory (map has %d entries)", n);
#pragma once

#include <arch/x86_64/power.h>
#include <kernel/console.h>
#include <lib/format.h>

#include <cstdint>
#include <type_traits>

namespace kernel {

// VM exit codes that are not the app's own (tools/toro and the tests know them).
constexpr int kExitCodeFault = 120;  // unhandled CPU exception
constexpr int kExitCodePanic = 121;  // kernel or app Panic()

// Prints "System_Exit due to ExitCode: N" and powers off with `code`. With ShutdownProcedure
// in the program (src/api/shutdown.cpp), that procedure runs first.
[[noreturn]] void system_exit(int code);
// What system_exit does after the ShutdownProcedure (inline: both definitions expand it).
[[noreturn]] inline void exit_with_line(int code) {
  printk("\nSystem_Exit due to ExitCode: %d\n", code);
  console_flush();
  arch::poweroff(uint32_t(code));
}
// The program's ShutdownProcedure (kernel/shutdown_hook.cpp; src/api names it).
extern void (*g_shutdown_hook)();

}  // namespace kernel
namespace arch {
struct TrapFrame;
}
namespace kernel {
// A C++ exception nobody catches (fault_report.cpp): prints `message` and, unless nullptr, the report
// of the fault it came from; then the main thread stops the VM with kExitCodeFault and any
// other thread ends alone.
[[noreturn]] void end_uncaught_exception(const char* message, const arch::TrapFrame* fault);
// The report of a fault (fault_report.cpp): exception name, registers, faulting function, backtrace.
void print_fault_report(const arch::TrapFrame& frame);
// The report, then the thread ends (not the main thread, with interrupts on when it faulted) or
// the VM stops with kExitCodeFault (trap_dispatch, for a fault nobody handles).
[[noreturn]] void report_fault(const arch::TrapFrame& frame);

[[noreturn]] void panic_message(const char* fmt, const klib::Arg* args, size_t count, uint64_t rbp);

template <typename... Args>
[[noreturn]] inline void panic(klib::FormatString<std::type_identity_t<Args>...> fmt, const Args&... args) {
  const klib::Arg packed[] = {klib::make_arg(args)..., klib::Arg()};
  panic_message(fmt.str, packed, sizeof...(Args), reinterpret_cast<uint64_t>(__builtin_frame_address(0)));
}

}  // namespace kernel
