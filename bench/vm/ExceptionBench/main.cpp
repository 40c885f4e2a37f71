// In-VM benchmark of C++ exceptions (bench/RESULTS.md): TSC cycles per round of
//   - a call that reports failure as a return value (the baseline, the kernel's own style);
//   - a software `throw` caught one frame up (an Exception, as a ported `raise` would);
//   - a fault (division by zero) thrown as EDivByZero and caught one frame up;
//   - the same fault with a destructor to run on the way.
// Run with: tools/toro run ExceptionBench
#include <toro.h>

namespace {

constexpr int kRounds = 20000;
constexpr int kFaultRounds = 5000;

[[gnu::noinline]] LongInt ReturnsError(volatile LongInt* divisor) { return *divisor == 0 ? -1 : 10 / *divisor; }

[[gnu::noinline]] LongInt Throws(volatile LongInt* divisor) {
  if (*divisor == 0) throw Exception("Division by Zero");
  return 10 / *divisor;
}

[[gnu::noinline]] LongInt Faults(volatile LongInt* divisor) { return 10 / *divisor; }

int g_destroyed = 0;
volatile LongInt g_sink = 0;  // uses the results, so that the divisions are not dropped
struct Guard {
  ~Guard() { ++g_destroyed; }
};
[[gnu::noinline]] LongInt FaultsWithGuard(volatile LongInt* divisor) {
  Guard g;
  return 10 / *divisor;
}

template <typename F>
QWord PerRound(int rounds, F body) {
  const QWord start = read_rdtsc();
  for (int i = 0; i < rounds; ++i) body();
  return (read_rdtsc() - start) / QWord(rounds);
}

}  // namespace

int main() {
  volatile LongInt zero = 0;
  int caught = 0;
  const QWord plain = PerRound(kRounds, [&] { caught += ReturnsError(&zero) == -1; });
  const QWord thrown = PerRound(kRounds, [&] {
    try {
      g_sink = Throws(&zero);
    } catch (const Exception&) {
      ++caught;
    }
  });
  const QWord faulted = PerRound(kFaultRounds, [&] {
    try {
      g_sink = Faults(&zero);
    } catch (const EDivByZero&) {
      ++caught;
    }
  });
  const QWord guarded = PerRound(kFaultRounds, [&] {
    try {
      g_sink = FaultsWithGuard(&zero);
    } catch (const EDivByZero&) {
      ++caught;
    }
  });
  const bool ok = caught == 2 * kRounds + 2 * kFaultRounds && g_destroyed == kFaultRounds;
  WriteConsoleF(
      "ExceptionBench: error return %d cycles, throw/catch %d cycles, fault/catch %d cycles, "
      "fault/catch with a destructor %d cycles (%d caught: %s)\n",
      plain, thrown, faulted, guarded, caught, ok ? "all" : "MISSING");
  return ok ? 0 : 1;
}
