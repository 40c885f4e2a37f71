// Kernel-level calls: command-line parameters, the time-stamp counter, Panic.
//
//   for (LongInt i = 0; i < KernelParamCount(); ++i) WriteConsoleF("%p\n", GetKernelParam(i));
//   Panic(ptr == nullptr, "no buffer for core %d\n", core);
#pragma once

#include <lib/format.h>
#include <toro/types.h>

#include <type_traits>

// The I-th kernel parameter (0-based; the command line is split on ' ' and ','), or nullptr if
// there are fewer. With QEMU -kernel, parameter 0 is the first word of -append.
const char* GetKernelParam(LongInt I);
// Number of kernel parameters (Toro's KernelParamCount variable).
LongInt KernelParamCount();
// The CPU's time-stamp counter.
QWord read_rdtsc();
// The TSC's rate in MHz, measured at boot (Toro's LocalCpuSpeed): ms = cycles / (LocalCpuSpeed * 1000).
extern const Int64& LocalCpuSpeed;

namespace toro::detail {
[[noreturn]] void panic(const char* fmt, const klib::Arg* args, size_t count);
}  // namespace toro::detail

// If Cond holds: prints "Panic: " and the message, a backtrace, and stops the VM with exit
// code 121. Otherwise does nothing.
template <typename... Args>
inline void Panic(bool Cond, klib::FormatString<std::type_identity_t<Args>...> Format, const Args&... args) {
  if (!Cond) return;
  const klib::Arg packed[] = {klib::make_arg(args)..., klib::Arg()};
  toro::detail::panic(Format.str, packed, sizeof...(Args));
}
