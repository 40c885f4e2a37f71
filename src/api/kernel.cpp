#include <arch/x86_64/cpu.h>
#include <kernel/boot.h>
#include <kernel/shutdown.h>
#include <toro/kernel.h>

const char* GetKernelParam(LongInt I) {
  if (I < 0) return nullptr;
  return kernel::kernel_params().get(size_t(I));
}

LongInt KernelParamCount() { return LongInt(kernel::kernel_params().count()); }

QWord read_rdtsc() { return arch::rdtsc(); }

namespace {
Int64 g_local_cpu_speed = 0;
}  // namespace
const Int64& LocalCpuSpeed = g_local_cpu_speed;

namespace toro::detail {
void set_local_cpu_speed(Int64 mhz) { g_local_cpu_speed = mhz; }
}  // namespace toro::detail

namespace toro::detail {
void panic(const char* fmt, const klib::Arg* args, size_t count) {
  kernel::panic_message(fmt, args, count, reinterpret_cast<uint64_t>(__builtin_frame_address(0)));
}
}  // namespace toro::detail
